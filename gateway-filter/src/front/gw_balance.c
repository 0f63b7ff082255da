/* gw_balance.c — the accept balance's decision (gw_balance.h). */
#include <assert.h>

#include "front/gw_balance.h"

int dtx_gw_balance_pick(const int *open, int n, int self, int slack)
{
    assert(open && self >= 0 && self < n);
    if (slack <= 0 || n < 2)
        return self;
    int least = 0;
    for (int i = 1; i < n; i++)
        if (open[i] < open[least])
            least = i;
    return open[self] - open[least] >= slack ? least : self;
}
