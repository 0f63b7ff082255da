/*
 * tests/integration/gw_wire.h — the world of the gateway's wire suites
 * (test_gateway_wire.c: its upstream client; test_gateway_edges.c:
 * answers and requests it must not relay): a real dtx-gateway with one
 * worker in front of the raw upstream of gw_raw.h (pool "raw"; route
 * "/capped" with max_body 100000, route "/" for the rest), a raw client
 * socket, and the scripts both use.
 */
#ifndef DTX_TEST_GW_WIRE_H
#define DTX_TEST_GW_WIRE_H

#include <stddef.h>

#include "gw_raw.h"
#include "gw_util.h"

extern gw_proc_t gww_gw;   /* the gateway */

/* Starts the raw upstream and the gateway (log logname) in front of it;
 * 0 or -1. gww_stop stops both; 0 when the gateway exited 0. */
int gww_start(const char *logname);
int gww_stop(void);

/* A request through the gateway (no headers, no body); 0 when answered. */
int gww_get(gw_resp_t *r, const char *method, const char *path);

/* Scripts: 200 "ok" (GWW_OK); 200 "hello world" chunked with an
 * extension and a trailer; 200 "until the end" delimited by the close;
 * gww_bad_answer, then close. */
#define GWW_OK "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
gw_raw_act_t gww_ok(int conn, int nth);
gw_raw_act_t gww_chunked(int conn, int nth);
gw_raw_act_t gww_until_close(int conn, int nth);
extern const char *gww_bad_answer;
gw_raw_act_t gww_bad(int conn, int nth);

/* A socket connected to the gateway (receive timeout 20 s), or -1. */
int gww_client(void);
/* Reads the answer until the gateway closes: its status, its body in
 * body (NUL-terminated, cut to cap). _answer also closes fd. */
int gww_client_answer_keep(int fd, char *body, size_t cap);
int gww_client_answer(int fd, char *body, size_t cap);

#endif
