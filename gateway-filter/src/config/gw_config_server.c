/*
 * gw_config_server.c — the "server" section of the configuration: which
 * engine serves the proxy's connections ("native" or "mhd"; not given:
 * the server's default) and the native engine's limits. Defaults and meanings are in
 * docs/gateway.md; read at start (a live swap keeps what the gateway
 * started with).
 */
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_config_json.h"

int dtx_gw_cfg_server(dtx_gw_cfg_ctx_t *c, json_object *root, dtx_gw_config_t *cfg)
{
    static const char *const keys[] = { "engine", "header_timeout_ms", "body_timeout_ms",
                                        "idle_timeout_ms", "send_timeout_ms", "max_head", NULL };
    cfg->server_engine = DTX_GW_SERVER_ENGINE_DEFAULT;
    cfg->server_header_timeout_ms = 60000;
    cfg->server_body_timeout_ms = 60000;
    cfg->server_idle_timeout_ms = 120000;
    cfg->server_send_timeout_ms = 60000;
    cfg->server_max_head = 16 * 1024;
    json_object *o;
    if (!json_object_object_get_ex(root, "server", &o))
        return 0;
    char *engine = NULL;
    if (dtx_gw_cfg_object(c, o, "server") < 0 || dtx_gw_cfg_only(c, o, "server", keys) < 0 ||
        dtx_gw_cfg_str(c, o, "server", "engine", 0, NULL, &engine) < 0 ||
        dtx_gw_cfg_int(c, o, "server", "header_timeout_ms", 100, 3600000, 60000,
                       &cfg->server_header_timeout_ms) < 0 ||
        dtx_gw_cfg_int(c, o, "server", "body_timeout_ms", 100, 3600000, 60000,
                       &cfg->server_body_timeout_ms) < 0 ||
        dtx_gw_cfg_int(c, o, "server", "idle_timeout_ms", 100, 3600000, 120000,
                       &cfg->server_idle_timeout_ms) < 0 ||
        dtx_gw_cfg_int(c, o, "server", "send_timeout_ms", 100, 3600000, 60000,
                       &cfg->server_send_timeout_ms) < 0 ||
        dtx_gw_cfg_int(c, o, "server", "max_head", 1024, 1 << 20, 16 * 1024,
                       &cfg->server_max_head) < 0) {
        free(engine);
        return DTX_ECONFIG;
    }
    int rc = 0;
    if (!engine)
        return 0;
    if (strcmp(engine, "native") == 0)
        cfg->server_engine = DTX_GW_SERVER_ENGINE_NATIVE;
    else if (strcmp(engine, "mhd") == 0)
        cfg->server_engine = DTX_GW_SERVER_ENGINE_MHD;
    else
        rc = dtx_gw_cfg_fail(c, "server.engine", "must be \"native\" or \"mhd\" (got \"%.40s\")",
                             engine);
    free(engine);
    return rc;
}
