/*
 * auth.c — CurveZMQ server keys, the allow-list, the ZAP handler and the
 * identity of every message (auth.h states the contract).
 *
 * The ZAP handler runs on the loop thread: libzmq's I/O thread holds a
 * CURVE handshake until the loop answers the ZAP request, so a handshake
 * costs one loop turn and never a lock.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "dtx/curve.h"
#include "dtx/lineage.h"
#include "dtx/log.h"

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_BUCKETS      1024  /* allow-list hash buckets (a power of two) */

struct dtx_auth {
    int                curve;
    dtx_curve_keys_t   keys;            /* server key pair */
    char               allow_path[DTX_OPT_STRMAX];
    dtx_allow_entry_t *buckets[S_BUCKETS];
    int                nentries;
    void              *zap;             /* REP socket on S_ZAP_ENDPOINT */
    int                zap_fd;          /* its ZMQ_FD */
    int                zap_quiet;       /* 1: ZMQ_EVENTS last said nothing waits, and nothing
                                         * touched the socket since: until zap_fd wakes, no
                                         * request can wait (the ZMQ_FD rule of
                                         * zmq_getsockopt(3)), so the loop polls zap_fd as a
                                         * plain descriptor and skips a ZMQ_EVENTS a turn */
};

static uint32_t s_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

void dtx_auth_entries_free(dtx_allow_entry_t *list)
{
    while (list) {
        dtx_allow_entry_t *next = list->hnext;
        free(list->resources);
        free(list);
        list = next;
    }
}

static const dtx_allow_entry_t *s_find(const dtx_auth_t *self, const char *key)
{
    for (const dtx_allow_entry_t *e = self->buckets[s_hash(key) & (S_BUCKETS - 1)]; e;
         e = e->hnext)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* Next whitespace-separated token of *p into out (cap bytes). Returns its
 * length, 0 at the end, DTX_EINVAL when longer than cap - 1. */
static int s_token(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = 0;
    while (s[n] && s[n] != ' ' && s[n] != '\t' && s[n] != '\n' && s[n] != '\r')
        n++;
    *p = s + n;
    if (n >= cap)
        return DTX_EINVAL;
    memcpy(out, s, n);
    out[n] = '\0';
    return (int)n;
}

int dtx_auth_parse_allow(const char *text, dtx_allow_entry_t **list, char *err, size_t errlen)
{
    int count = 0, lineno = 0;
    dtx_allow_entry_t *head = NULL;
    const char *line = text;
    while (line && *line) {
        const char *eol = strchr(line, '\n');
        lineno++;
        const char *p = line;
        line = eol ? eol + 1 : NULL;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        dtx_allow_entry_t *e = calloc(1, sizeof *e);
        if (!e) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        e->hnext = head;
        head = e;
        char tok[128];
        if (s_token(&p, e->key, sizeof e->key) != 40 || !dtx_curve_key_valid(e->key)) {
            snprintf(err, errlen, "line %d: the first field must be a Z85 public key "
                     "(40 characters, as dtxctl keygen prints)", lineno);
            goto fail;
        }
        for (dtx_allow_entry_t *o = head->hnext; o; o = o->hnext)
            if (strcmp(o->key, e->key) == 0) {
                snprintf(err, errlen, "line %d: key %.8s... is listed twice", lineno, e->key);
                goto fail;
            }
        if (s_token(&p, e->name, sizeof e->name) <= 0 || !dtx_name_valid(e->name)) {
            snprintf(err, errlen, "line %d: the second field must be a name "
                     "(1..63 of [A-Za-z0-9._:-])", lineno);
            goto fail;
        }
        int n;
        while ((n = s_token(&p, tok, sizeof tok)) != 0) {
            if (n < 0) {
                snprintf(err, errlen, "line %d: a role is too long", lineno);
                goto fail;
            }
            if (strcmp(tok, "initiator") == 0) {
                e->roles |= DTX_ROLE_INITIATOR;
            } else if (strcmp(tok, "operator") == 0) {
                e->roles |= DTX_ROLE_OPERATOR;
            } else if (strncmp(tok, "participant:", 12) == 0) {
                const char *res = tok + 12;
                e->roles |= DTX_ROLE_PARTICIPANT;
                if (strcmp(res, "*") == 0) {
                    e->any_resource = 1;
                    continue;
                }
                if (!dtx_name_valid(res)) {
                    snprintf(err, errlen, "line %d: '%.64s' is not a resource name", lineno, res);
                    goto fail;
                }
                void *r = realloc(e->resources, (size_t)(e->nresources + 1) * DTX_NAME_SIZE);
                if (!r) {
                    snprintf(err, errlen, "out of memory");
                    goto fail;
                }
                e->resources = r;
                strcpy(e->resources[e->nresources++], res);
            } else {
                snprintf(err, errlen, "line %d: unknown role '%.64s' (initiator, operator, "
                         "participant:RESOURCE)", lineno, tok);
                goto fail;
            }
        }
        if (!e->roles) {
            snprintf(err, errlen, "line %d: key %.8s... has no role", lineno, e->key);
            goto fail;
        }
        /* What identify() hands out for every message of this key. */
        snprintf(e->principal, sizeof e->principal, "id:%s", e->name);
        snprintf(e->owner, sizeof e->owner, "key:%s", e->key);
        count++;
    }
    /* Keep file order for the reader of the log lines. */
    dtx_allow_entry_t *rev = NULL;
    while (head) {
        dtx_allow_entry_t *next = head->hnext;
        head->hnext = rev;
        rev = head;
        head = next;
    }
    dtx_allow_entry_t **tail = list;
    while (*tail)
        tail = &(*tail)->hnext;
    *tail = rev;
    return count;
fail:
    dtx_auth_entries_free(head);
    return DTX_ECONFIG;
}

static int s_read_file(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %.200s: %s", path, strerror(errno));
        return DTX_ECONFIG;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (len < cap - 1)
            break;
        if (cap >= (16u << 20)) {
            free(buf);
            fclose(f);
            snprintf(err, errlen, "%.200s: larger than 16 MiB", path);
            return DTX_ECONFIG;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        snprintf(err, errlen, "cannot read %.200s", path);
        return DTX_ECONFIG;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        free(buf);
        snprintf(err, errlen, "%.200s: not a text file", path);
        return DTX_ECONFIG;
    }
    *out = buf;
    return 0;
}

static void s_free_buckets(dtx_auth_t *self);

/* Loads the allow-list file into self (replacing the list only on
 * success). Entries live in the hash chains, which own them. */
static int s_load_allow(dtx_auth_t *self, char *err, size_t errlen)
{
    char *text = NULL;
    char why[256] = "";
    int rc = s_read_file(self->allow_path, &text, why, sizeof why);
    dtx_allow_entry_t *list = NULL;
    int n = rc == 0 ? dtx_auth_parse_allow(text, &list, why, sizeof why) : rc;
    free(text);
    if (n < 0) {
        snprintf(err, errlen, "--curve-allow-file %s: %s", self->allow_path, why);
        return DTX_ECONFIG;
    }
    s_free_buckets(self);
    self->nentries = n;
    while (list) {
        dtx_allow_entry_t *next = list->hnext;
        uint32_t b = s_hash(list->key) & (S_BUCKETS - 1);
        list->hnext = self->buckets[b];
        self->buckets[b] = list;
        list = next;
    }
    return 0;
}

static void s_free_buckets(dtx_auth_t *self)
{
    for (int i = 0; i < S_BUCKETS; i++) {
        dtx_auth_entries_free(self->buckets[i]);
        self->buckets[i] = NULL;
    }
}

dtx_auth_t *dtx_auth_new(const dtx_coord_config_t *cfg, char *err, size_t errlen, int *rc)
{
    dtx_auth_t *self = calloc(1, sizeof *self);
    if (!self) {
        *rc = DTX_ENOMEM;
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    *rc = DTX_ECONFIG;
    if (!cfg->curve_secret_file[0]) {
        if (cfg->curve_allow_file[0]) {
            snprintf(err, errlen, "--curve-allow-file needs --curve-secret-file "
                     "(the coordinator's key pair, from dtxctl keygen)");
            goto fail;
        }
        if (!dtx_endpoint_is_local(cfg->listen)) {
            snprintf(err, errlen, "--listen %s is reachable from other hosts: give "
                     "--curve-secret-file and --curve-allow-file (docs/operations.md, "
                     "\"Keys\"), or listen on a loopback address", cfg->listen);
            goto fail;
        }
        *rc = 0;
        return self;
    }
    if (!cfg->curve_allow_file[0]) {
        snprintf(err, errlen, "--curve-secret-file needs --curve-allow-file "
                 "(the public keys allowed in, and their roles)");
        goto fail;
    }
    char why[256] = "";
    if (dtx_curve_keys_load(cfg->curve_secret_file, &self->keys, why, sizeof why) != 0) {
        snprintf(err, errlen, "--curve-secret-file %s: %s", cfg->curve_secret_file, why);
        goto fail;
    }
    snprintf(self->allow_path, sizeof self->allow_path, "%s", cfg->curve_allow_file);
    if (s_load_allow(self, err, errlen) != 0)
        goto fail;
    self->curve = 1;
    *rc = 0;
    return self;
fail:
    dtx_auth_destroy(&self);
    return NULL;
}

void dtx_auth_destroy(dtx_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_auth_t *self = *self_p;
    if (self->zap)
        zmq_close(self->zap);
    s_free_buckets(self);
    memset(&self->keys, 0, sizeof self->keys);
    free(self);
    *self_p = NULL;
}

int dtx_auth_curve(const dtx_auth_t *self)
{
    return self && self->curve;
}

int dtx_auth_attach(dtx_auth_t *self, void *zctx, void *router)
{
    if (!self->curve) {
        dtx_log_warn("curve off: peers are not authenticated",
                     "detail=\"every local process may begin and finish transactions and serve "
                     "resources; give --curve-secret-file and --curve-allow-file outside "
                     "development\"");
        return 0;
    }
    int zero = 0, one = 1;
    self->zap = zmq_socket(zctx, ZMQ_REP);
    if (!self->zap || zmq_setsockopt(self->zap, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(self->zap, S_ZAP_ENDPOINT) != 0) {
        dtx_log_error("cannot start the ZAP handler", "error=\"%s\"", zmq_strerror(errno));
        return DTX_EIO;
    }
    size_t fdlen = sizeof self->zap_fd;
    if (zmq_getsockopt(self->zap, ZMQ_FD, &self->zap_fd, &fdlen) != 0) {
        dtx_log_error("cannot start the ZAP handler", "error=\"%s\"", zmq_strerror(errno));
        return DTX_EIO;
    }
    self->zap_quiet = 0;
    if (zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, self->keys.secret_key, 40) != 0 ||
        zmq_setsockopt(router, ZMQ_ZAP_DOMAIN, "dtx", 3) != 0) {
        dtx_log_error("cannot set CURVE options", "error=\"%s\"", zmq_strerror(errno));
        return DTX_EIO;
    }
    dtx_log_info("curve on", "public_key=%s keys=%d", self->keys.public_key, self->nentries);
    return 0;
}

int dtx_auth_poll_items(dtx_auth_t *self, zmq_pollitem_t *items, int cap)
{
    if (!self || !self->zap || cap < 1)
        return 0;
    /* Quiet: a wake of its descriptor is the only news there can be. */
    items[0].socket = self->zap_quiet ? NULL : self->zap;
    items[0].fd = self->zap_quiet ? self->zap_fd : 0;
    items[0].events = ZMQ_POLLIN;
    items[0].revents = 0;
    return 1;
}

/* One ZAP request (RFC 27): version, request id, domain, address,
 * identity, mechanism, credentials... Answered 200 with the key as user
 * id, or 400. */
static void s_zap_one(dtx_auth_t *self, dtx_metrics_t *m)
{
    zmq_msg_t f[8];
    int n = 0, more = 1;
    while (more && n < 8) {
        zmq_msg_init(&f[n]);
        if (zmq_msg_recv(&f[n], self->zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&f[n]);
            break;
        }
        more = zmq_msg_more(&f[n]);
        n++;
    }
    while (more) { /* over-long request: drain it */
        zmq_msg_t x;
        zmq_msg_init(&x);
        if (zmq_msg_recv(&x, self->zap, 0) < 0) {
            zmq_msg_close(&x);
            break;
        }
        more = zmq_msg_more(&x);
        zmq_msg_close(&x);
    }
    if (n == 0)
        return;
    const char *status = "400", *text = "malformed request";
    char key[41] = "";
    if (n >= 7 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&f[6]) == 32) {
        zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
        const dtx_allow_entry_t *e = s_find(self, key);
        if (e) {
            status = "200";
            text = "OK";
        } else {
            text = "key not in the allow-list";
            dtx_metrics_denied(m, DTX_DENY_HANDSHAKE);
            char addr[64] = "";
            size_t al = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
            memcpy(addr, zmq_msg_data(&f[3]), al);
            for (size_t i = 0; i < al; i++)
                if (!isprint((unsigned char)addr[i]))
                    addr[i] = '?';
            dtx_log_warn("handshake refused: key not allowed", "key=%s address=%s", key, addr);
        }
    }
    /* Reply: version, request id, status code, status text, user id,
     * metadata. */
    const void *rid = n >= 2 ? zmq_msg_data(&f[1]) : "";
    size_t rid_len = n >= 2 ? zmq_msg_size(&f[1]) : 0;
    int ok = zmq_send(self->zap, "1.0", 3, ZMQ_SNDMORE) >= 0 &&
             zmq_send(self->zap, rid, rid_len, ZMQ_SNDMORE) >= 0 &&
             zmq_send(self->zap, status, 3, ZMQ_SNDMORE) >= 0 &&
             zmq_send(self->zap, text, strlen(text), ZMQ_SNDMORE) >= 0 &&
             zmq_send(self->zap, key, status[0] == '2' ? 40 : 0, ZMQ_SNDMORE) >= 0 &&
             zmq_send(self->zap, "", 0, 0) >= 0;
    if (!ok)
        dtx_log_warn("ZAP reply failed", "error=\"%s\"", zmq_strerror(errno));
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

void dtx_auth_process(dtx_auth_t *self, const zmq_pollitem_t *items, int n, dtx_metrics_t *m)
{
    if (n < 1)
        return;
    if (!(items[0].revents & ZMQ_POLLIN)) {
        /* The socket polled as a socket and found not ready (the poller
         * asked ZMQ_EVENTS, after every use of it), or quiet and not
         * woken: quiet now. */
        self->zap_quiet = 1;
        return;
    }
    int quiet = 0;
    for (int i = 0; i < 256; i++) {
        int events = 0;
        size_t sz = sizeof events;
        if (zmq_getsockopt(self->zap, ZMQ_EVENTS, &events, &sz) != 0)
            break;
        if (!(events & ZMQ_POLLIN)) {
            quiet = 1;
            break;
        }
        s_zap_one(self, m);
    }
    /* 256 answered and more may wait, or ZMQ_EVENTS failed: asked again
     * next turn, as a socket. */
    self->zap_quiet = quiet;
}

int dtx_auth_reload(dtx_auth_t *self, char *err, size_t errlen)
{
    if (!self->curve)
        return 0;
    return s_load_allow(self, err, errlen);
}

static void s_hex(char *out, const uint8_t *b, size_t n)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[b[i] >> 4];
        out[2 * i + 1] = h[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The lineage of a connection without CURVE: libdtx's routing id carries
 * its process's 16 random bytes at 2..17 (docs/protocol.md §1); any other
 * routing id is its own lineage (hashed when long). */
static void s_lineage(const uint8_t *rid, size_t len, char *out, size_t cap)
{
    char hex[2 * 16 + 1];
    uint8_t lineage[DTX_LINEAGE_LEN];
    if (dtx_lineage_parse(rid, len, lineage)) {
        s_hex(hex, lineage, DTX_LINEAGE_LEN);
    } else if (len <= 16) {
        s_hex(hex, rid, len);
    } else {
        uint64_t a = 1469598103934665603ull, b = 0x84222325cbf29ce4ull;
        for (size_t i = 0; i < len; i++) {
            a = (a ^ rid[i]) * 1099511628211ull;
            b = (b ^ rid[i]) * 0x100000001b3ull + 0x9E3779B97F4A7C15ull;
        }
        uint8_t x[16];
        for (int i = 0; i < 8; i++) {
            x[i] = (uint8_t)(a >> (8 * i));
            x[8 + i] = (uint8_t)(b >> (8 * i));
        }
        s_hex(hex, x, 16);
    }
    snprintf(out, cap, "conn:%s", hex);
}

int dtx_auth_identify(dtx_auth_t *self, zmq_msg_t *frame, const uint8_t *rid, size_t rid_len,
                      dtx_ident_t *out)
{
    memset(out, 0, sizeof *out);
    if (!self->curve) {
        out->roles = DTX_ROLE_INITIATOR | DTX_ROLE_PARTICIPANT;
        s_lineage(rid, rid_len, out->principal, sizeof out->principal);
        strcpy(out->owner, out->principal);
        return 0;
    }
    const char *key = zmq_msg_gets(frame, "User-Id");
    const dtx_allow_entry_t *e = key ? s_find(self, key) : NULL;
    if (!e)
        return DTX_EACCES;
    out->roles = e->roles;
    out->entry = e;
    _Static_assert(sizeof out->principal == sizeof e->principal, "one size of principal");
    _Static_assert(sizeof out->owner == sizeof e->owner, "one size of owner");
    strcpy(out->principal, e->principal);
    strcpy(out->owner, e->owner);
    return 0;
}

int dtx_auth_resource_ok(const dtx_ident_t *id, const char *resource)
{
    if (!(id->roles & DTX_ROLE_PARTICIPANT))
        return 0;
    const dtx_allow_entry_t *e = id->entry;
    if (!e || e->any_resource)
        return 1;
    for (int i = 0; i < e->nresources; i++)
        if (strcmp(e->resources[i], resource) == 0)
            return 1;
    return 0;
}

int dtx_auth_owner_may_serve(dtx_auth_t *self, const char *owner, const char *resource)
{
    if (!self->curve)
        return 1;
    if (strncmp(owner, "key:", 4) != 0)
        return 0;
    dtx_ident_t id = { 0 };
    id.entry = s_find(self, owner + 4);
    if (!id.entry)
        return 0;
    id.roles = id.entry->roles;
    return dtx_auth_resource_ok(&id, resource);
}

void dtx_auth_http_ident(dtx_ident_t *out)
{
    memset(out, 0, sizeof *out);
    out->roles = DTX_ROLE_INITIATOR | DTX_ROLE_OPERATOR;
    strcpy(out->principal, "http");
    strcpy(out->owner, "http");
}

int dtx_endpoint_is_local(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) == 0 || strncmp(endpoint, "inproc://", 9) == 0)
        return 1;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 0; /* pgm, epgm, udp, ...: a network */
    const char *host = endpoint + 6;
    const char *colon = strrchr(host, ':');
    size_t n = colon ? (size_t)(colon - host) : strlen(host);
    char h[128];
    if (n == 0 || n >= sizeof h)
        return 0;
    memcpy(h, host, n);
    h[n] = '\0';
    if (strcmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0 || strcmp(h, "::1") == 0)
        return 1;
    /* 127.0.0.0/8, written out in dotted digits. */
    int a, b, c, d;
    char tail;
    if (sscanf(h, "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b >= 0 &&
        b <= 255 && c >= 0 && c <= 255 && d >= 0 && d <= 255)
        return 1;
    return 0;
}
