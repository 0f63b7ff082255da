/*
 * auth.h — who is on the other end of the coordinator's socket.
 *
 * With CURVE (--curve-secret-file and --curve-allow-file): the ROUTER is a
 * CurveZMQ server, and a ZAP handler (RFC 27, served on the loop thread)
 * lets a handshake through only for a public key listed in the allow-list.
 * Every message then carries its key (ZeroMQ's "User-Id" property, set by
 * the handler), and identify() maps it to the key's allow-list entry on
 * every message, so a key removed by a reload (SIGHUP) is refused at its
 * next message even on a connection opened before. Allow-list lines:
 *
 *     # public key (Z85, 40 chars)              name       roles...
 *     rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7  bank-a-1   participant:bank-a
 *     Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID  shop       initiator
 *     JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6  alice      operator initiator
 *
 * roles: initiator, operator, participant:RESOURCE (repeatable; "*" for
 * any). The name is the principal: keys that share a name share their
 * transactions (a gateway and the services behind it, say).
 *
 * Without CURVE (development, loopback only): every peer is an initiator
 * and a participant, nobody an operator, and the principal is the
 * connection's lineage — the process behind it, read from the routing id
 * libdtx sets (docs/protocol.md §1), or the routing id itself for other
 * peers.
 *
 * States of a key: absent -> allowed (loaded) -> absent (reloaded without
 * it). Invariants: a message is identified against the allow-list in force
 * when it is read; a failed reload keeps the list in force.
 */
#ifndef DTX_COORD_AUTH_H
#define DTX_COORD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "coord.h"

typedef struct dtx_allow_entry {
    char     key[41];               /* Z85 public key */
    char     name[DTX_NAME_SIZE];   /* principal */
    char     principal[DTX_OWNER_SIZE]; /* "id:NAME": dtx_ident_t.principal, made once */
    char     owner[DTX_OWNER_SIZE];     /* "key:KEY": dtx_ident_t.owner, made once */
    unsigned roles;                 /* DTX_ROLE_* */
    int      any_resource;          /* participant:* */
    char   (*resources)[DTX_NAME_SIZE];
    int      nresources;
    struct dtx_allow_entry *hnext;
} dtx_allow_entry_t;

typedef struct dtx_auth dtx_auth_t;

/* Reads the server key pair and the allow-list named in cfg (nothing when
 * cfg has no --curve-secret-file: CURVE off). Validates only: no socket.
 * Returns NULL with a message in err on DTX_ECONFIG / DTX_ENOMEM (*rc). */
dtx_auth_t *dtx_auth_new(const dtx_coord_config_t *cfg, char *err, size_t errlen, int *rc);
void dtx_auth_destroy(dtx_auth_t **self_p);

/* 1 when CURVE is in force. */
int dtx_auth_curve(const dtx_auth_t *self);

/* Before the ROUTER binds: binds the ZAP handler in zctx and makes router
 * a CURVE server. No-op without CURVE. 0 or DTX_EIO. */
int dtx_auth_attach(dtx_auth_t *self, void *zctx, void *router);

/* ZAP requests: poll item (0 or 1) and its handling, every turn. The item
 * is the ZAP socket, or only its ZMQ_FD while no request can be waiting
 * (no ZMQ_EVENTS a turn while no handshake comes). */
int  dtx_auth_poll_items(dtx_auth_t *self, zmq_pollitem_t *items, int cap);
void dtx_auth_process(dtx_auth_t *self, const zmq_pollitem_t *items, int n, dtx_metrics_t *m);

/* Re-reads the allow-list file. 0, or DTX_ECONFIG with the old list kept
 * and a message in err. */
int dtx_auth_reload(dtx_auth_t *self, char *err, size_t errlen);

/* Who sent frame (a message read from the ROUTER) over the connection
 * rid. 0, or DTX_EACCES: its key is no longer in the allow-list. */
int dtx_auth_identify(dtx_auth_t *self, zmq_msg_t *frame, const uint8_t *rid, size_t rid_len,
                      dtx_ident_t *out);

/* May an identified participant serve resource? */
int dtx_auth_resource_ok(const dtx_ident_t *id, const char *resource);

/* May the owner of an instance (dtx_ident_t.owner of its REGISTER) still
 * serve resource under the allow-list in force? Always 1 without CURVE. */
int dtx_auth_owner_may_serve(dtx_auth_t *self, const char *owner, const char *resource);

/* The identity of the admin HTTP API's requests (its tokens already
 * decided): an operator. */
void dtx_auth_http_ident(dtx_ident_t *out);

/* Parses an allow-list text (for tests and the loader). Returns the
 * number of entries or DTX_ECONFIG with "line N: ..." in err. The entries
 * are appended to *list (caller frees with dtx_auth_entries_free). */
int dtx_auth_parse_allow(const char *text, dtx_allow_entry_t **list, char *err, size_t errlen);
void dtx_auth_entries_free(dtx_allow_entry_t *list);

/* 1 when a ZeroMQ endpoint only accepts local connections (tcp on a
 * loopback address, ipc, inproc). */
int dtx_endpoint_is_local(const char *endpoint);

#endif
