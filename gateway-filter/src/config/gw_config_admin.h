/*
 * gw_config_admin.h — the admin API's own settings: how strong its token
 * must be, where a token file is read, and which parts of a configuration
 * only a restart can change.
 *
 * The admin token guards PUT /config, i.e. every route, pool and rule, so
 * it must not be guessable: 16 to DTX_GW_ADMIN_TOKEN_MAX printable ASCII
 * characters without spaces, at least DTX_GW_ADMIN_TOKEN_DISTINCT distinct
 * ones, and not a placeholder from a sample or a how-to ("change-me",
 * "secret", "password", ...; compared without case, '-' and '_'). The
 * same check applies to admin.token, --admin-token and --admin-token-file.
 */
#ifndef DTX_GW_CONFIG_ADMIN_H
#define DTX_GW_CONFIG_ADMIN_H

#include <stddef.h>

#include "config/gw_config.h"

#define DTX_GW_ADMIN_TOKEN_MIN      16
#define DTX_GW_ADMIN_TOKEN_MAX      1000
#define DTX_GW_ADMIN_TOKEN_DISTINCT 5

/* 0 when token is strong enough (above), else DTX_EINVAL with the reason
 * in why (never the token itself). */
int dtx_gw_admin_token_check(const char *token, char *why, size_t whylen);

/* Reads the admin token from a file: the first line that is neither blank
 * nor a # comment, spaces around it dropped (the whole line is the token).
 * 0 with the token in out, or DTX_EIO (cannot read) / DTX_EINVAL (no token,
 * longer than cap - 1, or weak) with a message in err that never holds the
 * file's text. */
int dtx_gw_admin_token_load(const char *path, char *out, size_t cap, char *err, size_t errlen);

/* The first field of next that differs from running and that only a
 * restart applies ("listen", "admin.listen", "cluster", "server"), or
 * NULL. The gateway binds
 * its sockets once; a PUT /config or a reload that moves them would
 * otherwise answer "applied" while nothing moved. */
const char *dtx_gw_config_restart_field(const dtx_gw_config_t *running,
                                        const dtx_gw_config_t *next);

#endif
