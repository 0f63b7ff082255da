/* drill_saga.c — the drill's Saga plans (drill_saga.h). */
#include <stdio.h>

#include "drill_saga.h"

static int s_step(dtx_saga_t *s, const drill_saga_side_t *side, const char *action,
                  const char *undo, int64_t amount, unsigned flags)
{
    char pay[128];
    int n = snprintf(pay, sizeof pay, "{\"account\":\"%s\",\"amount\":%lld}", side->account,
                     (long long)amount);
    return dtx_saga_add_step(s, side->bank, action, undo, pay, (size_t)n, flags);
}

dtx_saga_t *drill_saga_plan(const drill_saga_transfer_t *t)
{
    dtx_saga_t *s = dtx_saga_new(NULL);
    if (!s)
        return NULL;
    int64_t first = t->shape == DRILL_SAGA_TAIL ? t->a1 + t->a2 : t->a1;
    int ok = s_step(s, &t->from, "debit", "refund", t->overdraw > 0 ? t->overdraw : first, 0) == 1;
    switch (t->shape) {
    case DRILL_SAGA_PAIR:
        ok = ok && s_step(s, &t->to, "credit", NULL, t->a1, DTX_STEP_PIVOT) == 2;
        break;
    case DRILL_SAGA_FANOUT:
        ok = ok && s_step(s, &t->from2, "debit", "refund", t->a2, 0) == 2 &&
             s_step(s, &t->to, "credit", NULL, t->a1 + t->a2, DTX_STEP_PIVOT) == 3 &&
             dtx_saga_add_dependency(s, 3, 1) == 0 && dtx_saga_add_dependency(s, 3, 2) == 0;
        break;
    case DRILL_SAGA_TAIL:
        ok = ok && s_step(s, &t->to, "credit", NULL, t->a1, DTX_STEP_PIVOT) == 2 &&
             s_step(s, &t->to2, "credit", "uncredit", t->a2, 0) == 3;
        break;
    default:
        ok = 0;
    }
    if (!ok)
        dtx_saga_destroy(&s);
    return s;
}

const char *drill_saga_shape_name(int shape)
{
    static const char *const names[DRILL_SAGA_SHAPES] = { "pair", "fanout", "tail" };
    return shape >= 0 && shape < DRILL_SAGA_SHAPES ? names[shape] : "?";
}
