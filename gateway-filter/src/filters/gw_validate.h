/*
 * gw_validate.h — the validation filter: a route's request checks.
 *
 *   413  body larger than max_body (declared Content-Length or actual)
 *   415  Content-Type (media type, parameters ignored) not in content_types
 *   400  a required header missing; body not a JSON object when
 *        json_fields are set; a field missing or of the wrong type
 * Each answer is a JSON body naming the problem:
 *   {"error":"missing required header","header":"X-User"}
 */
#ifndef DTX_GW_VALIDATE_H
#define DTX_GW_VALIDATE_H

#include "core/gw_chain.h"

int dtx_gw_validate_head(dtx_gw_req_t *req);
int dtx_gw_validate_body(dtx_gw_req_t *req);

#endif
