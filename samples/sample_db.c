/*
 * samples/sample_db.c — see sample_db.h.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sample_db.h"
#include "sample_log.h"

#define START_BACKOFF_MIN_MS 200
#define START_BACKOFF_MAX_MS 2000
#define START_LOG_EVERY_MS   5000
#define LOST_BACKOFF_MIN_MS  100
#define LOST_BACKOFF_MAX_MS  5000

int64_t sample_db_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* text made safe for a key="value" field: first line, no quote,
 * backslash or control character. */
static const char *s_clean(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p && n + 1 < cap;
         p++) {
        if (*p == '\n' && p[1] == '\0')
            break;
        out[n++] = (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') ? ' ' : (char)*p;
    }
    out[n] = '\0';
    return out;
}

static void s_notice(void *arg, const char *message)
{
    char clean[512];
    sample_log_info("postgresql notice", "db=%s message=\"%s\"", (const char *)arg,
                    s_clean(message, clean, sizeof clean));
}

void sample_db_notices(PGconn *conn)
{
    if (conn)
        PQsetNoticeProcessor(conn, s_notice, (void *)"sample");
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int sample_db_connect(sample_db_t *db, const char *conninfo, const char *what,
                      volatile sig_atomic_t *stop)
{
    memset(db, 0, sizeof *db);
    db->what = what;
    int backoff = START_BACKOFF_MIN_MS;
    int64_t first = 0, logged = 0;
    for (;;) {
        db->conn = PQconnectdb(conninfo);
        if (db->conn && PQstatus(db->conn) == CONNECTION_OK) {
            PQsetNoticeProcessor(db->conn, s_notice, (void *)what);
            if (first)
                sample_log_info("database up", "db=%s waited_ms=%lld", what,
                                (long long)(sample_db_now_ms() - first));
            return 0;
        }
        int64_t now = sample_db_now_ms();
        if (!first || now - logged >= START_LOG_EVERY_MS) {
            char clean[512];
            sample_log_warn("database not reachable, retrying", "db=%s waited_ms=%lld error=\"%s\"",
                            what, (long long)(first ? now - first : 0),
                            s_clean(db->conn ? PQerrorMessage(db->conn) : "out of memory",
                                    clean, sizeof clean));
            logged = now;
            if (!first)
                first = now;
        }
        PQfinish(db->conn);
        db->conn = NULL;
        if (stop && *stop)
            return -1;
        s_sleep_ms(backoff);
        backoff = backoff * 2 > START_BACKOFF_MAX_MS ? START_BACKOFF_MAX_MS : backoff * 2;
    }
}

int sample_db_ready(sample_db_t *db)
{
    if (PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    int64_t now = sample_db_now_ms();
    if (!db->down_since_ms) {
        char clean[512];
        db->down_since_ms = now;
        db->retry_at_ms = now;
        db->backoff_ms = LOST_BACKOFF_MIN_MS;
        sample_log_warn("database connection lost; reconnecting with backoff",
                        "db=%s error=\"%s\"", db->what,
                        s_clean(PQerrorMessage(db->conn), clean, sizeof clean));
    }
    if (now < db->retry_at_ms)
        return -1;
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db->retry_at_ms = now + db->backoff_ms;
        db->backoff_ms = db->backoff_ms * 2 > LOST_BACKOFF_MAX_MS ? LOST_BACKOFF_MAX_MS
                                                                  : db->backoff_ms * 2;
        return -1;
    }
    sample_log_info("database connection back", "db=%s down_ms=%lld", db->what,
                    (long long)(now - db->down_since_ms));
    db->down_since_ms = 0;
    return 0;
}
