/*
 * gw_config_parse.h — reading a configuration document (gw_config_parse.c):
 * the one entry above the section parsers, so that they and the types
 * they fill (gw_config.h) never depend on each other in a circle.
 */
#ifndef DTX_GW_CONFIG_PARSE_H
#define DTX_GW_CONFIG_PARSE_H

#include <stddef.h>

#include "config/gw_config.h"

/* Parses and checks a document. Returns the config (free it with
 * dtx_gw_config_destroy) or NULL with the first problem in err. */
dtx_gw_config_t *dtx_gw_config_parse(const char *text, size_t len, char *err,
                                     size_t errlen);
/* Same, reading a file. */
dtx_gw_config_t *dtx_gw_config_load(const char *path, char *err, size_t errlen);

#endif
