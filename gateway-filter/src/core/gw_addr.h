/*
 * gw_addr.h — where an upstream target lives: its URL split and its
 * address resolved once, when the configuration is loaded.
 *
 * A target URL is `http://host[:port][/base]` (port 80 when absent; host
 * a name, an IPv4 address or a bracketed IPv6 address; port 1..65535 in
 * decimal digits only; no query, fragment or user info anywhere: the
 * gateway would not send them, so a URL carrying one is refused rather
 * than silently cut). The host is
 * resolved when the config is parsed (getaddrinfo, first address), so a
 * worker never blocks on DNS; a name that does not resolve refuses the
 * config with an error naming the target. A swap re-resolves.
 */
#ifndef DTX_GW_ADDR_H
#define DTX_GW_ADDR_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

typedef struct dtx_gw_addr {
    struct sockaddr_storage sa;      /* where to connect */
    socklen_t               salen;   /* 0: not resolved */
    char                    host[262]; /* host[:port] as written: the Host header's fallback */
    size_t                  base_off;  /* offset of the base path in the URL ("" when none) */
} dtx_gw_addr_t;

/* Splits and resolves url. Returns 0, or DTX_EINVAL (a bad
 * URL) / DTX_EIO (the host does not resolve) with a short reason in err. */
int dtx_gw_addr_parse(dtx_gw_addr_t *self, const char *url, char *err, size_t errlen);

/* Parses a listen address "HOST:PORT" (HOST an IPv4 address, "localhost",
 * "*" or empty for every address; PORT 0..65535 in decimal digits, 0
 * picks a free one) into out. Returns 0, or DTX_EINVAL with a short
 * reason in err (which may be NULL). */
int dtx_gw_listen_parse(const char *listen, struct sockaddr_in *out, char *err, size_t errlen);

/* 1 when both name the same socket address. */
/* sa's address as text into out (cap >= INET6_ADDRSTRLEN): IPv4 as a
 * dotted quad written by hand (inet_ntop's sprintf was a visible share
 * of a proxied request's CPU), IPv6 through inet_ntop; "" for another
 * family. */
void dtx_gw_addr_text(const struct sockaddr *sa, char *out, size_t cap);

int dtx_gw_addr_same(const dtx_gw_addr_t *a, const dtx_gw_addr_t *b);

#endif
