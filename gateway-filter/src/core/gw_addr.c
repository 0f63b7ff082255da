/*
 * gw_addr.c — target URLs split and resolved, listen addresses parsed
 * (gw_addr.h). A port is decimal digits only and in range: strtol/atoi
 * would take " 80", "+80" or "95536" (which a 16-bit cast turns into
 * 30000), so every port goes through s_port.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "core/gw_addr.h"

/* "0".."65535" (lo..65535), digits only, at most 5 of them: the port or -1. */
static long s_port(const char *s, size_t n, long lo)
{
    if (n == 0 || n > 5)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= 65535 ? v : -1;
}

int dtx_gw_addr_parse(dtx_gw_addr_t *self, const char *url, char *err, size_t errlen)
{
    memset(self, 0, sizeof *self);
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "must start with http://");
        return DTX_EINVAL;
    }
    const char *h = url + 7;
    /* The base path is sent before every request path: a query or a
     * fragment in it would land in the middle of the request target. */
    if (strpbrk(h, "?#")) {
        snprintf(err, errlen, "must not carry a query or a fragment");
        return DTX_EINVAL;
    }
    for (const char *q = h; *q; q++)
        if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f) {
            snprintf(err, errlen, "must not hold spaces or control characters");
            return DTX_EINVAL;
        }
    size_t hl = strcspn(h, "/");
    if (memchr(h, '@', hl)) {
        snprintf(err, errlen, "must not carry user information");
        return DTX_EINVAL;
    }
    if (hl == 0 || hl >= sizeof self->host) {
        snprintf(err, errlen, "has no host or one too long");
        return DTX_EINVAL;
    }
    memcpy(self->host, h, hl);
    self->host[hl] = '\0';
    self->base_off = (size_t)(h + hl - url);
    char name[256], port[24] = "80";
    const char *colon;
    if (self->host[0] == '[') {
        const char *close = strchr(self->host, ']');
        if (!close || close == self->host + 1) {
            snprintf(err, errlen, "has a bad IPv6 address");
            return DTX_EINVAL;
        }
        memcpy(name, self->host + 1, (size_t)(close - self->host - 1));
        name[close - self->host - 1] = '\0';
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close[1] && !colon) {
            snprintf(err, errlen, "has a bad host");
            return DTX_EINVAL;
        }
    } else {
        colon = strchr(self->host, ':');
        size_t nl = colon ? (size_t)(colon - self->host) : hl;
        if (nl == 0 || nl >= sizeof name) {
            snprintf(err, errlen, "has no host");
            return DTX_EINVAL;
        }
        memcpy(name, self->host, nl);
        name[nl] = '\0';
    }
    if (colon) {
        long p = s_port(colon + 1, strlen(colon + 1), 1);
        if (p < 0) {
            snprintf(err, errlen, "has a bad port (1-65535)");
            return DTX_EINVAL;
        }
        snprintf(port, sizeof port, "%ld", p);
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV }, *res = NULL;
    int rc = getaddrinfo(name, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "host does not resolve (%s)", gai_strerror(rc));
        return DTX_EIO;
    }
    memcpy(&self->sa, res->ai_addr, res->ai_addrlen);
    self->salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int dtx_gw_listen_parse(const char *listen, struct sockaddr_in *out, char *err, size_t errlen)
{
    char host[64];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    memset(out, 0, sizeof *out);
    if (!colon) {
        if (err)
            snprintf(err, errlen, "must be HOST:PORT");
        return DTX_EINVAL;
    }
    long port = s_port(colon + 1, strlen(colon + 1), 0);
    if (port < 0) {
        if (err)
            snprintf(err, errlen, "has a bad port (0-65535, digits only)");
        return DTX_EINVAL;
    }
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof host) {
        if (err)
            snprintf(err, errlen, "has a bad host (an IPv4 address, localhost or *)");
        return DTX_EINVAL;
    }
    memcpy(host, listen, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (!*host || strcmp(host, "*") == 0)
        snprintf(host, sizeof host, "0.0.0.0");
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1) {
        if (err)
            snprintf(err, errlen, "has a bad host (an IPv4 address, localhost or *)");
        return DTX_EINVAL;
    }
    return 0;
}

int dtx_gw_addr_same(const dtx_gw_addr_t *a, const dtx_gw_addr_t *b)
{
    return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}

void dtx_gw_addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
    out[0] = '\0';
    if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
        return;
    }
    if (sa->sa_family != AF_INET || cap < INET_ADDRSTRLEN)
        return;
    const uint8_t *b =
        (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr;
    char *p = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
}
