/*
 * gw_zmqmsg.c — the zmq request message as the gateway builds it
 * (gw_zmqmsg.h). Pure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "upstream/gw_zmqmsg.h"

void dtx_gw_zmqmsg_headers(dtx_gw_buf_t *b)
{
    if (!b->data) {
        b->len = 0;
        return;
    }
    char *end = b->data + b->len;
    char *line = memchr(b->data, '\n', b->len);
    if (!line) {
        b->len = 0;
        return;
    }
    char *r = line + 1, *w = b->data;
    while (r < end) {
        char *nl = memchr(r, '\n', (size_t)(end - r));
        size_t n = nl ? (size_t)(nl - r) + 1 : (size_t)(end - r);
        if (n <= 2)
            break;                   /* the empty line: end of the head */
        if (strncasecmp(r, "Content-Length:", 15) != 0 &&
            strncasecmp(r, "Transfer-Encoding:", 18) != 0) {
            memmove(w, r, n);
            w += n;
        }
        r += n;
    }
    b->len = (size_t)(w - b->data);
}

void dtx_gw_zmqmsg_id(char out[17], uint32_t slot, uint32_t serial)
{
    snprintf(out, 17, "%08" PRIx32 "%08" PRIx32, slot, serial);
}

int dtx_gw_zmqmsg_id_parse(const char *id, size_t len, uint32_t *slot, uint32_t *serial)
{
    if (len != 16)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < 16; i++) {
        char c = id[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *slot = (uint32_t)(v >> 32);
    *serial = (uint32_t)v;
    return 0;
}

void dtx_gw_zmqmsg_request(dtx_zgw_frame_t f[DTX_ZGW_REQUEST_FRAMES], const dtx_gw_req_t *req,
                           const char *id, const dtx_gw_buf_t *block, const char *body,
                           size_t body_len)
{
    dtx_zgw_request_t r = {
        .id = { id, strlen(id) },
        .method = { req->method, strlen(req->method) },
        .path = { req->path, strlen(req->path) },
        .query = { req->query ? req->query : "", req->query ? strlen(req->query) : 0 },
        .gid = { req->gid, req->txn_state == 1 ? strlen(req->gid) : 0 },
        .headers = { block->data ? block->data : "", block->data ? block->len : 0 },
        .body = { body ? body : "", body ? body_len : 0 },
    };
    dtx_zgw_request_frames(f, &r);
}
