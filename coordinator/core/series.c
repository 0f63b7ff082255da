/* series.c — the per-second rings of the last hour (series.h). */
#include <string.h>

#include "series.h"

static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t s_mod(int64_t a, int64_t b)
{
    int64_t m = a % b;
    return m < 0 ? m + b : m;
}

/* The slot for second, cleared when it held another second. */
static dtx_series_second_t *s_second(dtx_series_t *s, int64_t now_ms)
{
    int64_t second = s_floor_div(now_ms, 1000);
    if (s->first == 0 || second + 1 < s->first)
        s->first = second + 1;
    dtx_series_second_t *slot = &s->sec[s_mod(second, DTX_SERIES_SECONDS)];
    if (slot->second != second + 1) {
        memset(slot, 0, sizeof *slot);
        slot->second = second + 1;
    }
    return slot;
}

void dtx_series_finished(dtx_series_t *s, int64_t now_ms, int what)
{
    dtx_series_second_t *slot = s_second(s, now_ms);
    if (what == DTX_SERIES_COMMIT)
        slot->commits++;
    else if (what == DTX_SERIES_ABORT)
        slot->aborts++;
}

void dtx_series_sample(dtx_series_t *s, int64_t now_ms, uint32_t stuck, uint32_t in_flight)
{
    dtx_series_second_t *slot = s_second(s, now_ms);
    slot->stuck = stuck;
    slot->in_flight = in_flight;
    slot->sampled = 1;
}

void dtx_series_latency(dtx_series_t *s, int64_t now_ms, int bucket)
{
    if (bucket < 0 || bucket >= DTX_SERIES_BUCKETS)
        return;
    int64_t step = s_floor_div(s_floor_div(now_ms, 1000), DTX_SERIES_LAT_STEP_S);
    dtx_series_lat_t *slot = &s->lat[s_mod(step, DTX_SERIES_LAT_SLOTS)];
    if (slot->step != step + 1) {
        memset(slot, 0, sizeof *slot);
        slot->step = step + 1;
    }
    slot->counts[bucket]++;
}

int64_t dtx_series_first_second(const dtx_series_t *s)
{
    return s->first ? s->first - 1 : -1;
}

dtx_series_second_t dtx_series_second_at(const dtx_series_t *s, int64_t second)
{
    dtx_series_second_t out;
    const dtx_series_second_t *slot = &s->sec[s_mod(second, DTX_SERIES_SECONDS)];
    if (slot->second == second + 1)
        return *slot;
    memset(&out, 0, sizeof out);
    out.second = second + 1;
    return out;
}

uint64_t dtx_series_latency_at(const dtx_series_t *s, int64_t step,
                               uint32_t counts[DTX_SERIES_BUCKETS])
{
    const dtx_series_lat_t *slot = &s->lat[s_mod(step, DTX_SERIES_LAT_SLOTS)];
    uint64_t n = 0;
    for (int i = 0; i < DTX_SERIES_BUCKETS; i++) {
        counts[i] = slot->step == step + 1 ? slot->counts[i] : 0;
        n += counts[i];
    }
    return n;
}

double dtx_series_quantile(const uint32_t counts[DTX_SERIES_BUCKETS], const int64_t *bounds,
                           double q)
{
    uint64_t total = 0;
    for (int i = 0; i < DTX_SERIES_BUCKETS; i++)
        total += counts[i];
    if (total == 0)
        return -1;
    if (q <= 0)
        q = 0;
    if (q > 1)
        q = 1;
    double rank = q * (double)total;
    uint64_t below = 0;
    for (int i = 0; i < DTX_SERIES_BUCKETS - 1; i++) {
        if (counts[i] > 0 && (double)(below + counts[i]) >= rank) {
            double lo = i == 0 ? 0 : (double)bounds[i - 1];
            double hi = (double)bounds[i];
            return lo + (hi - lo) * ((rank - (double)below) / (double)counts[i]);
        }
        below += counts[i];
    }
    return (double)bounds[DTX_SERIES_BUCKETS - 2];
}
