/*
 * dtx/lineage.h — the routing ids libdtx gives its ZeroMQ sockets.
 *
 * Every DEALER socket libdtx creates (a client, each link of a participant)
 * sets ZMQ_ROUTING_ID to DTX_LINEAGE_ID_LEN bytes:
 *
 *   offset size  value
 *   0      1     0xD7 (DTX_LINEAGE_MAGIC; never 0x00, which ZeroMQ reserves)
 *   1      1     0x01 (DTX_LINEAGE_VERSION, the layout's version)
 *   2      16    lineage: random, drawn once per process (again in a forked child)
 *   18     4     counter, big-endian: one per socket (unique within the process
 *                 for its first 2^32 sockets)
 *
 * Without CURVE the coordinator reads the lineage as "this process's
 * connections": what one process began, any client of that process may
 * finish, no other process may. The lineage is not a secret from the
 * process that owns it but it is 128 random bits nobody else learns except
 * over its own connections. docs/protocol.md §1 describes the same layout.
 * Internal: not installed.
 */
#ifndef DTX_LINEAGE_H
#define DTX_LINEAGE_H

#include <stddef.h>
#include <stdint.h>

#define DTX_LINEAGE_ID_LEN         22   /* bytes of a libdtx routing id */
#define DTX_LINEAGE_MAGIC          0xD7 /* byte 0 */
#define DTX_LINEAGE_VERSION        0x01 /* byte 1 */
#define DTX_LINEAGE_OFFSET         2    /* where the lineage starts */
#define DTX_LINEAGE_LEN            16   /* bytes of the lineage */
#define DTX_LINEAGE_COUNTER_OFFSET 18   /* where the per-socket counter starts */

/* Writes a new routing id into out: this process's lineage and the next
 * value of its counter. Thread-safe; a forked child gets a lineage of its
 * own on its first call. Returns 0, or DTX_EIO when the kernel gives no
 * randomness (getrandom). */
int dtx_lineage_routing_id(uint8_t out[DTX_LINEAGE_ID_LEN]);

/* Reads a routing id as received by a ROUTER (zmq_msg_data of the first
 * frame). Returns 1 and copies the lineage into lineage_out (may be NULL)
 * when id is a routing id of this layout and version; 0 for any other id
 * (ZeroMQ's generated ids, other peers). */
int dtx_lineage_parse(const void *id, size_t len, uint8_t lineage_out[DTX_LINEAGE_LEN]);

#endif
