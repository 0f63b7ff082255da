/* gw_cache_fresh.c — the cache filter's reading of an answer's freshness
 * (dtx_gw_cache_ttl, gw_cache_fresh.h): Cache-Control (no-store,
 * private, no-cache, s-maxage, max-age, stale-if-error), Expires against
 * Date, Age, Set-Cookie, bounded by the route's settings. Pure: no state,
 * the wall clock comes in. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filters/gw_cache_fresh.h"

/* An answer's own stale-if-error is held to the bound of the route's
 * stale_if_error_s (config/gw_config_cache.c): a year. */
#define S_MAX_STALE_S ((int64_t)365 * 86400)

/* The directive name=value of a Cache-Control list: -1 when absent,
 * else its integer value (0 when none or not a number); *present for a
 * name without value. */
static int64_t s_directive(const char *cc, const char *name, int *present)
{
    size_t nl = strlen(name);
    const char *p = cc;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p + strcspn(p, ",");
        if ((size_t)(end - p) >= nl && strncasecmp(p, name, nl) == 0 &&
            (p[nl] == '=' || p[nl] == ',' || p[nl] == ' ' || p[nl] == '\0' || p + nl == end)) {
            if (present)
                *present = 1;
            if (p[nl] == '=') {
                const char *v = p + nl + 1;
                if (*v == '"')
                    v++;
                if (!isdigit((unsigned char)*v))
                    return 0;
                long long x = strtoll(v, NULL, 10);
                return x < 0 ? 0 : (int64_t)x;
            }
            return 0;
        }
        p = *end ? end + 1 : end;
    }
    return -1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t s_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into seconds since
 * the epoch; -1 when it is not one (an invalid Expires means expired). */
static int64_t s_http_date(const char *s)
{
    static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    char wd[4], mn[4], tz[4];
    int d, y, hh, mm, ss;
    if (!s || sscanf(s, "%3s, %d %3s %d %d:%d:%d %3s", wd, &d, mn, &y, &hh, &mm, &ss, tz) != 8 ||
        strcmp(tz, "GMT") != 0 || d < 1 || d > 31 || y < 0 || y > 9999 || hh < 0 || hh > 23 ||
        mm < 0 || mm > 59 || ss < 0 || ss > 60)
        return -1;                      /* out of range: not a date (nor an int overflow) */
    for (int m = 0; m < 12; m++)
        if (strcmp(mn, mon[m]) == 0)
            return s_days(y, m + 1, d) * 86400 + hh * 3600 + mm * 60 + ss;
    return -1;
}

static const char *s_hdr(const dtx_gw_resp_header_t *h, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

int64_t dtx_gw_cache_ttl(const dtx_gw_cache_cfg_t *cfg, int status, const dtx_gw_resp_header_t *h,
                         int n, int64_t now_wall, int64_t *stale_s, int64_t *age_s)
{
    *stale_s = cfg->stale_if_error_s;
    *age_s = 0;
    if (!dtx_gw_statuses_has(&cfg->statuses, status))
        return 0;
    int64_t smax = -1, maxage = -1;
    for (int i = 0; i < n; i++) {
        if (strcasecmp(h[i].name, "Set-Cookie") == 0)
            return 0;
        if (strcasecmp(h[i].name, "Cache-Control") != 0)
            continue;
        const char *cc = h[i].value;
        int no = 0;
        s_directive(cc, "no-store", &no);
        s_directive(cc, "private", &no);
        s_directive(cc, "no-cache", &no);
        if (no)
            return 0;
        int64_t v;
        if ((v = s_directive(cc, "s-maxage", NULL)) >= 0)
            smax = v;
        if ((v = s_directive(cc, "max-age", NULL)) >= 0)
            maxage = v;
        if ((v = s_directive(cc, "stale-if-error", NULL)) >= 0)
            *stale_s = v < S_MAX_STALE_S ? v : S_MAX_STALE_S;   /* fits in µs */
    }
    int64_t ttl = smax >= 0 ? smax : maxage;   /* s-maxage wins in a shared cache */
    if (ttl < 0) {
        const char *exp = s_hdr(h, n, "Expires");
        if (exp) {
            int64_t e = s_http_date(exp);
            int64_t d = s_http_date(s_hdr(h, n, "Date"));
            if (d < 0)
                d = now_wall;
            ttl = e < 0 || e <= d ? 0 : e - d;
        } else {
            ttl = cfg->ttl_s;
        }
    }
    if (ttl > cfg->max_ttl_s)
        ttl = cfg->max_ttl_s;
    const char *age = s_hdr(h, n, "Age");
    if (age && isdigit((unsigned char)*age))
        *age_s = strtoll(age, NULL, 10);
    ttl -= *age_s;
    return ttl > 0 ? ttl : 0;
}
