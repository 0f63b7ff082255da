/*
 * gw_addr.c — target URLs split and resolved (gw_addr.h).
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "core/gw_addr.h"

int dtx_gw_addr_parse(dtx_gw_addr_t *self, const char *url, char *err, size_t errlen)
{
    memset(self, 0, sizeof *self);
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "must start with http://");
        return DTX_EINVAL;
    }
    const char *h = url + 7;
    size_t hl = strcspn(h, "/?#");
    if (h[hl] == '?' || h[hl] == '#') {
        snprintf(err, errlen, "must not carry a query or a fragment");
        return DTX_EINVAL;
    }
    if (hl == 0 || hl >= sizeof self->host) {
        snprintf(err, errlen, "has no host or one too long");
        return DTX_EINVAL;
    }
    memcpy(self->host, h, hl);
    self->host[hl] = '\0';
    self->base_off = (size_t)(h + hl - url);
    char name[256], port[8] = "80";
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
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || end == colon + 1 || p < 1 || p > 65535) {
            snprintf(err, errlen, "has a bad port");
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

int dtx_gw_addr_same(const dtx_gw_addr_t *a, const dtx_gw_addr_t *b)
{
    return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}
