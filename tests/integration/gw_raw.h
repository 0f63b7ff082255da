/*
 * tests/integration/gw_raw.h — a raw HTTP upstream on a thread of the
 * test process, for the gateway's wire tests: it answers with exact bytes
 * a script chooses per request — chunked, until close, with an interim
 * 100, cut short, malformed — or closes the connection without an answer;
 * it reads request bodies by Content-Length or chunked and can answer
 * their length and hash, and can read slowly (16 KiB per ms) to hold a
 * sender back. It records what it saw: connections accepted, requests,
 * the last request head.
 */
#ifndef DTX_TEST_GW_RAW_H
#define DTX_TEST_GW_RAW_H

#include <stddef.h>
#include <stdint.h>

/* What the upstream does with one request. */
typedef struct {
    const char *answer;      /* bytes to write; NULL: close without answer */
    int         close_after; /* close once answered */
    int         echo_body;   /* answer "LENGTH HASH" of the request body instead */
} gw_raw_act_t;

/* The script: what to do with request `nth` (1-based) of connection
 * `conn` (1-based, in accept order since the last gw_raw_use). Runs on
 * the upstream's thread. */
typedef gw_raw_act_t (*gw_raw_script_fn)(int conn, int nth);

/* Listens on 127.0.0.1 (a free port) and starts the thread: the port, or
 * -1. One upstream per process. */
int  gw_raw_start(void);
void gw_raw_stop(void);
int  gw_raw_port(void);

/* Sets the script, closes every connection held and zeroes the counters. */
void gw_raw_use(gw_raw_script_fn script);
int  gw_raw_accepted(void);
int  gw_raw_requests(void);
/* The last request head seen (with its blank line), copied into out. */
void gw_raw_last_head(char *out, size_t cap);
/* Reads slowly (on) or as fast as it can. */
void gw_raw_set_slow(int on);

/* FNV-1a, the hash of echo_body answers (start with GW_RAW_FNV_START). */
#define GW_RAW_FNV_START 14695981039346656037ULL
uint64_t gw_raw_fnv(uint64_t h, const void *bytes, size_t n);
/* Writes all of p to fd (blocking), giving up on an error. */
void gw_raw_write_all(int fd, const char *p, size_t n);

#endif
