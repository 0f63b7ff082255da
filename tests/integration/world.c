/*
 * tests/integration/world.c — see world.h.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "world.h"

int u_world_up(u_world_t *w, const char *name, const char *const *dtxd_args,
               const char *const *pa_args, const char *const *pb_args)
{
    char n[64], log[H_CONNINFO_SIZE];
    memset(w, 0, sizeof *w);
    snprintf(n, sizeof n, "%s_log", name);
    if (h_db_create(n, log, sizeof log))
        return -1;
    w->log = h_db_connect(n);
    snprintf(n, sizeof n, "%s_a", name);
    if (h_db_create(n, w->da, sizeof w->da))
        return -1;
    snprintf(n, sizeof n, "%s_b", name);
    if (h_db_create(n, w->db, sizeof w->db))
        return -1;
    snprintf(w->dtxd.logname, sizeof w->dtxd.logname, "%s-dtxd", name);
    if (h_dtxd_start(&w->dtxd, log, dtxd_args) != 0)
        return -1;
    char inst[64];
    const char *ra[16] = { "--resource", "ra" }, *rb[16] = { "--resource", "rb" };
    for (int i = 0; pa_args && pa_args[i] && i < 12; i++)
        ra[2 + i] = pa_args[i];
    for (int i = 0; pb_args && pb_args[i] && i < 12; i++)
        rb[2 + i] = pb_args[i];
    snprintf(inst, sizeof inst, "%s-pa", name);
    w->pa = h_participant_start(inst, w->da, w->dtxd.endpoint, ra);
    snprintf(inst, sizeof inst, "%s-pb", name);
    w->pb = h_participant_start(inst, w->db, w->dtxd.endpoint, rb);
    snprintf(n, sizeof n, "%s_a", name);
    w->pa_db = h_db_connect(n);
    snprintf(n, sizeof n, "%s_b", name);
    w->pb_db = h_db_connect(n);
    int err = 0;
    w->c = dtx_client_new(w->dtxd.endpoint, &err);
    if (w->c)
        dtx_client_set_timeout(w->c, 10000);
    return (w->pa > 0 && w->pb > 0 && w->log && w->pa_db && w->pb_db && w->c) ? 0 : -1;
}

int u_world_stop(u_world_t *w)
{
    int bad = 0;
    dtx_client_destroy(&w->c);
    if (w->pa > 0)
        bad |= h_stop(w->pa, SIGTERM, 5000) != 0;
    if (w->pb > 0)
        bad |= h_stop(w->pb, SIGTERM, 5000) != 0;
    bad |= h_dtxd_stop(&w->dtxd) != 0;
    PQfinish(w->log);
    PQfinish(w->pa_db);
    PQfinish(w->pb_db);
    return bad ? -1 : 0;
}
