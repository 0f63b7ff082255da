/*
 * fuzz_gwconfig.c — libFuzzer target for the gateway's JSON configuration
 * parser (gateway-filter/src/config/), fed the whole document as PUT
 * /config and POST /config/validate receive it (the admin API's only
 * request body), then the admin API's own checks of an accepted document:
 * the fields only a restart changes (against a fixed running
 * configuration) and the admin token's strength.
 *
 * Whatever the input: no crash, no leak, no read past the input (it is
 * not NUL-terminated), and either a configuration or an error message
 * that names something (never empty). An accepted document parses again
 * from its own text (cfg->text) to the same restart fields.
 *
 * Target URLs are resolved at parse time; getaddrinfo is replaced here by
 * a numeric-only one so that a run never waits on DNS and stays
 * deterministic.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/gw_config.h"
#include "config/gw_config_admin.h"
#include "config/gw_config_parse.h"

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_gwconfig: %s:%d: check failed: %s\n",     \
                    __FILE__, __LINE__, #cond);                             \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* Numeric hosts only (IPv4, IPv6); a name "does not resolve". */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    (void)hints;
    struct {
        struct addrinfo ai;
        struct sockaddr_storage sa;
    } *r = calloc(1, sizeof *r);
    if (!r)
        return EAI_MEMORY;
    int port = service ? atoi(service) : 0;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&r->sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&r->sa;
    if (node && inet_pton(AF_INET, node, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        r->ai.ai_addrlen = sizeof *v4;
    } else if (node && inet_pton(AF_INET6, node, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        r->ai.ai_addrlen = sizeof *v6;
    } else {
        free(r);
        return EAI_NONAME;
    }
    r->ai.ai_family = r->sa.ss_family;
    r->ai.ai_socktype = SOCK_STREAM;
    r->ai.ai_addr = (struct sockaddr *)&r->sa;
    *res = &r->ai;
    return 0;
}

void freeaddrinfo(struct addrinfo *res)
{
    free(res);
}

static dtx_gw_config_t *s_running;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[DTX_GW_ERR_SIZE];
    if (!s_running) {
        static const char doc[] =
            "{\"listen\":\"127.0.0.1:8080\",\"admin\":{\"token\":\"9f2c41d07be85a3e\"},"
            "\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
            "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}";
        s_running = dtx_gw_config_parse(doc, sizeof doc - 1, err, sizeof err);
        CHECK(s_running != NULL);
    }
    /* A copy of exactly size bytes: a read past the input is caught. */
    char *text = malloc(size ? size : 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    err[0] = '\0';
    dtx_gw_config_t *cfg = dtx_gw_config_parse(text, size, err, sizeof err);
    free(text);
    if (!cfg) {
        CHECK(err[0] != '\0');
        CHECK(memchr(err, '\0', sizeof err) != NULL);
        return 0;
    }
    const char *field = dtx_gw_config_restart_field(s_running, cfg);
    CHECK(!field || strcmp(field, "listen") == 0 || strcmp(field, "admin.listen") == 0);
    char why[160];
    if (cfg->admin_token)
        CHECK(dtx_gw_admin_token_check(cfg->admin_token, why, sizeof why) == 0);
    CHECK(cfg->text != NULL);
    dtx_gw_config_t *again = dtx_gw_config_parse(cfg->text, strlen(cfg->text), err, sizeof err);
    CHECK(again != NULL);
    CHECK(dtx_gw_config_restart_field(cfg, again) == NULL);
    CHECK(again->npools == cfg->npools && again->nroutes == cfg->nroutes &&
          again->nrules == cfg->nrules);
    dtx_gw_config_destroy(&again);
    dtx_gw_config_destroy(&cfg);
    return 0;
}
