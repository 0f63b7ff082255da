/*
 * admin_series.c — GET /api/v1/series: the last hour of the coordinator as
 * arrays for the console's plots (core/series.h keeps them in memory).
 *
 * Counters are per second over the window (the second in progress is left
 * out: it is not over), null before the series began (this dtxd was not
 * running); gauges are null for a second without a sample;
 * latency quantiles are per DTX_SERIES_LAT_STEP_S step (the step in
 * progress included) and null for a step without a call. Times are wall
 * milliseconds, mapped from the monotonic clock the rings are kept in.
 */
#include "admin_internal.h"
#include "admin_query.h"
#include "dtx/clock.h"

static json_object *s_quantile(const uint32_t *counts, uint64_t n, double q)
{
    if (n == 0)
        return NULL;
    double v = dtx_series_quantile(counts, dtx_hist_bounds_ms, q);
    return json_object_new_double((double)(int64_t)(v * 10.0 + 0.5) / 10.0);
}

void dtx_admin_series(dtx_admin_req_t *r)
{
    const dtx_series_t *s = &r->admin->co->metrics.series;
    const char *w = dtx_admin_arg(r, "window");
    int64_t ms = w ? dtx_duration_parse_ms(w) : 3600000;
    if (ms < 60000 || ms > (int64_t)DTX_SERIES_SECONDS * 1000) {
        dtx_admin_respond_error(r, 400, "window: '%.32s' is not a duration from 1m to 1h",
                                w ? w : "");
        return;
    }
    int64_t mono = dtx_clock_mono_ms(), wall = dtx_clock_wall_ms();
    int64_t n = ms / 1000, last = mono / 1000 - 1, first = last - n + 1;
    json_object *commits = json_object_new_array(), *aborts = json_object_new_array();
    json_object *stuck = json_object_new_array(), *inflight = json_object_new_array();
    int64_t born = dtx_series_first_second(s);
    for (int64_t sec = first; sec <= last; sec++) {
        dtx_series_second_t p = dtx_series_second_at(s, sec);
        int known = born >= 0 && sec >= born;
        json_object_array_add(commits, known ? json_object_new_int64(p.commits) : NULL);
        json_object_array_add(aborts, known ? json_object_new_int64(p.aborts) : NULL);
        json_object_array_add(stuck, p.sampled ? json_object_new_int64(p.stuck) : NULL);
        json_object_array_add(inflight, p.sampled ? json_object_new_int64(p.in_flight) : NULL);
    }
    int64_t lstep = mono / 1000 / DTX_SERIES_LAT_STEP_S;
    int64_t nsteps = (n + DTX_SERIES_LAT_STEP_S - 1) / DTX_SERIES_LAT_STEP_S;
    int64_t fstep = lstep - nsteps + 1;
    json_object *p50 = json_object_new_array(), *p99 = json_object_new_array();
    json_object *calls = json_object_new_array();
    for (int64_t step = fstep; step <= lstep; step++) {
        uint32_t counts[DTX_SERIES_BUCKETS];
        uint64_t k = dtx_series_latency_at(s, step, counts);
        json_object_array_add(p50, s_quantile(counts, k, 0.5));
        json_object_array_add(p99, s_quantile(counts, k, 0.99));
        json_object_array_add(calls, json_object_new_int64((int64_t)k));
    }
    json_object *lat = json_object_new_object();
    json_object_object_add(lat, "step_s", json_object_new_int(DTX_SERIES_LAT_STEP_S));
    json_object_object_add(lat, "start_ms",
                           json_object_new_int64(wall - (mono - fstep * DTX_SERIES_LAT_STEP_S * 1000)));
    json_object_object_add(lat, "p50_ms", p50);
    json_object_object_add(lat, "p99_ms", p99);
    json_object_object_add(lat, "calls", calls);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "node", json_object_new_string(r->admin->co->cfg.node_id));
    json_object_object_add(o, "window_s", json_object_new_int64(n));
    json_object_object_add(o, "step_s", json_object_new_int(1));
    json_object_object_add(o, "start_ms", json_object_new_int64(wall - (mono - first * 1000)));
    json_object_object_add(o, "now_ms", json_object_new_int64(wall));
    json_object_object_add(o, "commits", commits);
    json_object_object_add(o, "aborts", aborts);
    json_object_object_add(o, "stuck", stuck);
    json_object_object_add(o, "in_flight", inflight);
    json_object_object_add(o, "latency", lat);
    dtx_admin_respond(r, 200, o);
}
