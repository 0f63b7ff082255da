/*
 * gw_config_zmq.c — zmq+tcp:// targets (gw_config_zmq.h): the URL's
 * rules, then the host resolved by gw_addr.c as an http:// one would be.
 */
#include <stdio.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_config_zmq.h"

#define S_SCHEME "zmq+tcp://"

int dtx_gw_cfg_zmq_url(const char *url)
{
    return url && strncmp(url, S_SCHEME, sizeof S_SCHEME - 1) == 0;
}

int dtx_gw_cfg_zmq_target(dtx_gw_addr_t *addr, const char *url, char *err, size_t errlen)
{
    const char *h = url + sizeof S_SCHEME - 1;
    if (!dtx_gw_cfg_zmq_url(url)) {
        snprintf(err, errlen, "must start with zmq+tcp://");
        return DTX_EINVAL;
    }
    if (strpbrk(h, "/?#")) {
        snprintf(err, errlen, "must be zmq+tcp://host:port (no path, query or fragment)");
        return DTX_EINVAL;
    }
    const char *close = h[0] == '[' ? strchr(h, ']') : h;
    const char *colon = close ? strrchr(close, ':') : NULL;
    if (!colon || !colon[1]) {
        snprintf(err, errlen, "needs a port (zmq+tcp://host:port)");
        return DTX_EINVAL;
    }
    char http[300];
    if (snprintf(http, sizeof http, "http://%s", h) >= (int)sizeof http) {
        snprintf(err, errlen, "has no host or one too long");
        return DTX_EINVAL;
    }
    int rc = dtx_gw_addr_parse(addr, http, err, errlen);
    if (rc < 0)
        return rc;
    addr->base_off = strlen(url);    /* url + base_off: "" */
    return 0;
}
