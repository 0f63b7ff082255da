/*
 * log_json.c — a log line as one JSON object (dtx_log_json), the stderr
 * handler that writes it (dtx_log_stderr_json), and the --log-format
 * choice between that and dtx_log_stderr (dtx/logging.h, dtx/log.h).
 *
 * The converter reads the text dtx_log builds, `msg="..." k=v k2="..."`,
 * in two steps: s_parse cuts the line into fields (a key [A-Za-z0-9_.-]+
 * and '=', then a value: "..." up to the first unescaped quote, or up to
 * the next space; words that are not key=value belong to the value before
 * them), recording where each value lies in the line, never copying it;
 * the writer then decodes each value as it goes (s_dec: the escapes
 * dtx_log_quote writes, inside the quotes only), checks it as UTF-8 (a
 * window of four decoded bytes) and escapes it for JSON.
 *
 * Invariants of what it writes, whatever the line and the size:
 *   - one JSON object, valid UTF-8, no byte below 0x20 (so one line);
 *   - time, level, component, msg first (node after component when set),
 *     present whenever size >= DTX_LOG_JSON_MIN: they come first, and
 *     component and node are cut at S_NAME_MAX bytes, so they fit;
 *   - no member name twice: the names written so far are in a table
 *     (s_names_t); a repeat with an equal value is dropped, with another
 *     value renamed name_N, N the first free from 2;
 *   - the writer keeps S_RESERVE bytes free until the end, for
 *     `,"truncated":true}` and the NUL; a member that does not fit is cut
 *     (a string, at a whole character, ending "...") or dropped (a
 *     number), and no member after it is written.
 *
 * Pure: no allocation, no global state but the node (dtx_log_set_node);
 * fields past S_FIELDS_MAX are dropped as if they did not fit.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dtx/hex.h"
#include "dtx/log.h"

#define S_NAME_MAX   64     /* longest component / node, in JSON bytes */
#define S_FIELDS_MAX 128    /* key=value fields taken from one line (stack: about 12 KB) */
#define S_RESERVE    19     /* ,"truncated":true} and the NUL */
#define S_OUT_SIZE   4096   /* dtx_log_stderr_json's buffer: 2 x 1024 + room */

/* ---------------------------------------------------------------- */
/* A value's text, and its decoding                                  */
/* ---------------------------------------------------------------- */

/* Where a value lies: raw[0..len) as in the line; quoted when it starts
 * with '"' and is to be decoded (a field's value; never the strings the
 * caller passes, which are taken literally). */
typedef struct s_text {
    const char *raw;
    size_t      len;
    bool        quoted;
} s_text_t;

/* Decoder state: the bytes the text stands for, one at a time. Inside
 * the leading quotes, \" \\ \n \r \t and \xNN are decoded (any other
 * backslash stays as it is); the closing quote ends them; whatever
 * follows it is taken as written. */
typedef struct s_dec {
    const unsigned char *p, *end;
    bool in_quotes;
} s_dec_t;

static void s_dec_init(s_dec_t *d, const s_text_t *t)
{
    d->p = (const unsigned char *)t->raw;
    d->end = d->p + t->len;
    d->in_quotes = false;
    if (t->quoted && d->p < d->end && *d->p == '"') {
        d->p++;
        d->in_quotes = true;
    }
}

/* The next decoded byte, or -1 at the end. */
static int s_dec_next(s_dec_t *d)
{
    if (d->in_quotes && d->p < d->end && *d->p == '"') {
        d->in_quotes = false;       /* the closing quote */
        d->p++;
    }
    if (d->p >= d->end)
        return -1;
    unsigned char c = *d->p++;
    if (!d->in_quotes || c != '\\' || d->p >= d->end)
        return c;
    unsigned char e = *d->p;
    switch (e) {
    case '"': case '\\': d->p++; return e;
    case 'n': d->p++; return '\n';
    case 'r': d->p++; return '\r';
    case 't': d->p++; return '\t';
    case 'x':
        if (d->end - d->p >= 3 && dtx_hex_digit(d->p[1]) >= 0 && dtx_hex_digit(d->p[2]) >= 0) {
            int v = dtx_hex_digit(d->p[1]) * 16 + dtx_hex_digit(d->p[2]);
            d->p += 3;
            return v;
        }
        return c;
    default:
        return c;                   /* an unknown escape stays as written */
    }
}

/* Two texts decode to the same bytes. */
static bool s_text_equal(const s_text_t *a, const s_text_t *b)
{
    s_dec_t da, db;
    s_dec_init(&da, a);
    s_dec_init(&db, b);
    for (;;) {
        int ca = s_dec_next(&da), cb = s_dec_next(&db);
        if (ca != cb)
            return false;
        if (ca < 0)
            return true;
    }
}

/* ---------------------------------------------------------------- */
/* JSON escaping, one character at a time                            */
/* ---------------------------------------------------------------- */

/* The decoded bytes of a text, checked as UTF-8 through a window of up
 * to four bytes. */
typedef struct s_chars {
    s_dec_t       dec;
    unsigned char win[4];
    size_t        n;
} s_chars_t;

static void s_chars_init(s_chars_t *c, const s_text_t *t)
{
    s_dec_init(&c->dec, t);
    c->n = 0;
}

static const char s_hex[] = "0123456789abcdef";

/* The JSON form of the next character into out (at most 6 bytes);
 * returns its length, 0 at the end. A byte that does not start a valid
 * UTF-8 sequence is U+FFFD. */
static size_t s_chars_next(s_chars_t *c, char out[6])
{
    while (c->n < 4) {
        int b = s_dec_next(&c->dec);
        if (b < 0)
            break;
        c->win[c->n++] = (unsigned char)b;
    }
    if (c->n == 0)
        return 0;
    unsigned char b = c->win[0];
    size_t take = 1, len;
    if (b == '"' || b == '\\') {
        out[0] = '\\';
        out[1] = (char)b;
        len = 2;
    } else if (b == '\n' || b == '\r' || b == '\t') {
        out[0] = '\\';
        out[1] = b == '\n' ? 'n' : b == '\r' ? 'r' : 't';
        len = 2;
    } else if (b < 0x20 || b == 0x7f) {
        memcpy(out, "\\u00", 4);
        out[4] = s_hex[b >> 4];
        out[5] = s_hex[b & 15];
        len = 6;
    } else if (b < 0x80) {
        out[0] = (char)b;
        len = 1;
    } else if ((take = dtx_utf8_seq_len(c->win, c->n)) > 0) {
        memcpy(out, c->win, take);
        len = take;
    } else {
        take = 1;
        memcpy(out, "\\ufffd", 6);
        len = 6;
    }
    memmove(c->win, c->win + take, c->n - take);
    c->n -= take;
    return len;
}

/* ---------------------------------------------------------------- */
/* The line's fields                                                 */
/* ---------------------------------------------------------------- */

typedef struct s_field {
    const char *key;
    size_t      klen;
    s_text_t    value;
} s_field_t;

typedef struct s_line {
    s_field_t fields[S_FIELDS_MAX];
    size_t    n;
    s_text_t  lead;             /* words before the first key=value */
    bool      more;             /* fields past S_FIELDS_MAX were dropped */
} s_line_t;

static bool s_keychar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

/* The length of the key at p when a key and '=' start there, else 0. */
static size_t s_key_at(const char *p)
{
    size_t n = 0;
    while (s_keychar(p[n]))
        n++;
    return n > 0 && p[n] == '=' ? n : 0;
}

/* The end of the value starting at p: a quoted value ends after its
 * closing quote (or at the end of the line when it has none), then runs
 * to the next space, as an unquoted one does. */
static const char *s_value_end(const char *p)
{
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            p++;
        }
        if (*p == '"')
            p++;
    }
    while (*p && *p != ' ')
        p++;
    return p;
}

static void s_parse(s_line_t *self, const char *line)
{
    self->n = 0;
    self->more = false;
    self->lead = (s_text_t){ NULL, 0, false };
    s_text_t *open = NULL;      /* the value later words join */
    const char *p = line;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t klen = s_key_at(p);
        if (klen == 0) {        /* a word: it joins what comes before it */
            const char *end = p;
            while (*end && *end != ' ')
                end++;
            if (!open) {
                open = &self->lead;
                open->raw = p;
            }
            open->len = (size_t)(end - open->raw);
            p = end;
            continue;
        }
        const char *v = p + klen + 1, *end = s_value_end(v);
        if (self->n == S_FIELDS_MAX) {
            self->more = true;
            break;
        }
        s_field_t *f = &self->fields[self->n++];
        f->key = p;
        f->klen = klen;
        f->value = (s_text_t){ v, (size_t)(end - v), true };
        open = &f->value;
        p = end;
    }
}

/* An unquoted value that is a plain decimal integer JSON readers keep
 * exact: -?(0|[1-9][0-9]{0,14}), and not -0. */
static bool s_is_integer(const s_text_t *t)
{
    const char *p = t->raw, *end = p + t->len;
    if (p < end && *p == '-')
        p++;
    size_t digits = (size_t)(end - p);
    if (digits == 0 || digits > 15)
        return false;
    if (*p == '0')
        return digits == 1 && p == t->raw;
    for (; p < end; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* ---------------------------------------------------------------- */
/* Member names                                                      */
/* ---------------------------------------------------------------- */

/* A name written: key, or key_N when suffix N >= 2; and its value, to
 * drop an equal repeat (no value: never equal). */
typedef struct s_name {
    const char *key;
    size_t      klen;
    unsigned    suffix;
    s_text_t    value;
    bool        has_value;
} s_name_t;

typedef struct s_names {
    s_name_t names[S_FIELDS_MAX + 8];
    size_t   n;
} s_names_t;

/* The length of name's text, and its i-th byte. */
static size_t s_name_len(const s_name_t *nm, char digits[16], size_t *dlen)
{
    *dlen = nm->suffix >= 2 ? (size_t)snprintf(digits, 16, "_%u", nm->suffix) : 0;
    return nm->klen + *dlen;
}

static bool s_name_same(const s_name_t *a, const s_name_t *b)
{
    char da[16], db[16];
    size_t la, lb;
    size_t na = s_name_len(a, da, &la), nb = s_name_len(b, db, &lb);
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        char ca = i < a->klen ? a->key[i] : da[i - a->klen];
        char cb = i < b->klen ? b->key[i] : db[i - b->klen];
        if (ca != cb)
            return false;
    }
    return true;
}

static bool s_names_taken(const s_names_t *self, const s_name_t *nm)
{
    for (size_t i = 0; i < self->n; i++)
        if (s_name_same(&self->names[i], nm))
            return true;
    return false;
}

static void s_names_add(s_names_t *self, const char *key, const s_text_t *value)
{
    s_name_t *nm = &self->names[self->n++];
    *nm = (s_name_t){ key, strlen(key), 0, { NULL, 0, false }, value != NULL };
    if (value)
        nm->value = *value;
}

/* Chooses the name of a field: false when a name with the same key
 * already holds an equal value (the field is then left out); else
 * *out is free, and added to the table. */
static bool s_names_choose(s_names_t *self, const s_field_t *f, s_name_t *out)
{
    unsigned highest = 0;
    bool seen = false;
    for (size_t i = 0; i < self->n; i++) {
        const s_name_t *nm = &self->names[i];
        if (nm->klen != f->klen || memcmp(nm->key, f->key, f->klen) != 0)
            continue;
        if (nm->has_value && s_text_equal(&nm->value, &f->value))
            return false;
        seen = true;
        if (nm->suffix > highest)
            highest = nm->suffix;
    }
    *out = (s_name_t){ f->key, f->klen, seen ? (highest < 2 ? 2 : highest + 1) : 0,
                       f->value, true };
    while (s_names_taken(self, out))
        out->suffix = out->suffix < 2 ? 2 : out->suffix + 1;
    self->names[self->n++] = *out;
    return true;
}

/* ---------------------------------------------------------------- */
/* The writer                                                        */
/* ---------------------------------------------------------------- */

typedef struct s_out {
    char  *buf;
    size_t cap;                 /* content ends here: S_RESERVE stays free */
    size_t len;
    bool   cut;                 /* something did not fit: nothing more goes in */
} s_out_t;

static bool s_put(s_out_t *w, const char *s, size_t n)
{
    if (w->len + n > w->cap)
        return false;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return true;
}

/* `,"name":` (no comma for the first member); false when it does not fit. */
static bool s_put_name(s_out_t *w, const s_name_t *nm, bool first)
{
    char digits[16];
    size_t dlen;
    s_name_len(nm, digits, &dlen);
    return s_put(w, first ? "\"" : ",\"", first ? 1 : 2) && s_put(w, nm->key, nm->klen) &&
           s_put(w, digits, dlen) && s_put(w, "\":", 2);
}

/* A string member: whole when it fits (and is at most max bytes between
 * its quotes), else cut at a whole character with "...", else left out. */
static void s_member_string(s_out_t *w, const s_name_t *nm, const s_text_t *value,
                            size_t max, bool first)
{
    if (w->cut)
        return;
    size_t start = w->len;
    if (!s_put_name(w, nm, first) || !s_put(w, "\"", 1) || w->len == w->cap) {
        w->len = start;                         /* no room for the closing quote */
        w->cut = true;
        return;
    }
    size_t room = w->cap - w->len - 1;          /* between the quotes */
    if (room > max)
        room = max;
    s_chars_t ch;
    char u[6];
    size_t total = 0, n;
    s_chars_init(&ch, value);
    while ((n = s_chars_next(&ch, u)) > 0 && total <= room)
        total += n;
    bool whole = total <= room;
    if (!whole && room < 3) {
        w->len = start;
        w->cut = true;
        return;
    }
    size_t limit = whole ? room : room - 3;
    s_chars_init(&ch, value);
    size_t used = 0;
    while ((n = s_chars_next(&ch, u)) > 0 && used + n <= limit) {
        memcpy(w->buf + w->len, u, n);
        w->len += n;
        used += n;
    }
    if (!whole) {
        memcpy(w->buf + w->len, "...", 3);
        w->len += 3;
        if (room < max)                         /* cut for room, not for the name limit */
            w->cut = true;
    }
    w->buf[w->len++] = '"';
}

static void s_member_number(s_out_t *w, const s_name_t *nm, const s_text_t *value)
{
    if (w->cut)
        return;
    size_t start = w->len;
    if (!s_put_name(w, nm, false) || !s_put(w, value->raw, value->len)) {
        w->len = start;
        w->cut = true;
    }
}

static s_text_t s_literal(const char *s)
{
    return (s_text_t){ s, strlen(s), false };
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 32 bytes); years kept
 * within 0000..9999. */
static void s_time(char *out, size_t size, int64_t unix_ms)
{
    const int64_t max_ms = 253402300799999LL;   /* 9999-12-31T23:59:59.999Z */
    if (unix_ms > max_ms)
        unix_ms = max_ms;
    time_t sec = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(unix_ms % 1000));
}

int dtx_log_json(char *buf, size_t size, int64_t unix_ms, int level, const char *component,
                 const char *node, const char *line)
{
    if (!buf || size < DTX_LOG_JSON_MIN)
        return DTX_EINVAL;
    s_line_t parsed;
    s_names_t names;
    s_parse(&parsed, line ? line : "");
    names.n = 0;

    /* The header's values, and the table that keeps fields off its names
     * (node only when it is written). */
    char when[80];              /* 25 used; room for what gcc cannot rule out */
    s_time(when, sizeof when, unix_ms < 0 ? s_now_ms() : unix_ms);
    s_text_t t_time = s_literal(when), t_level = s_literal(dtx_log_level_name(level));
    s_text_t t_comp = s_literal(component ? component : "dtx");
    s_text_t t_node = s_literal(node ? node : "");
    const s_field_t *msg = NULL;
    for (size_t i = 0; i < parsed.n && !msg; i++)
        if (parsed.fields[i].klen == 3 && memcmp(parsed.fields[i].key, "msg", 3) == 0)
            msg = &parsed.fields[i];
    s_text_t t_msg = msg ? msg->value : parsed.lead.raw ? parsed.lead : s_literal("");
    s_names_add(&names, "truncated", NULL);
    s_names_add(&names, "time", NULL);
    s_names_add(&names, "level", &t_level);
    s_names_add(&names, "component", &t_comp);
    s_names_add(&names, "msg", &t_msg);
    if (t_node.len > 0)
        s_names_add(&names, "node", &t_node);

    s_out_t w = { buf, size - S_RESERVE, 0, false };
    w.buf[w.len++] = '{';
    s_member_string(&w, &names.names[1], &t_time, SIZE_MAX, true);
    s_member_string(&w, &names.names[2], &t_level, SIZE_MAX, false);
    s_member_string(&w, &names.names[3], &t_comp, S_NAME_MAX, false);
    if (t_node.len > 0)
        s_member_string(&w, &names.names[5], &t_node, S_NAME_MAX, false);
    s_member_string(&w, &names.names[4], &t_msg, SIZE_MAX, false);
    if (msg && parsed.lead.raw) {
        /* Words before msg=: kept, as "text". */
        s_field_t lead = { "text", 4, parsed.lead };
        s_name_t nm;
        if (s_names_choose(&names, &lead, &nm))
            s_member_string(&w, &nm, &lead.value, SIZE_MAX, false);
    }
    for (size_t i = 0; i < parsed.n && !w.cut; i++) {
        const s_field_t *f = &parsed.fields[i];
        s_name_t nm;
        if (f == msg || !s_names_choose(&names, f, &nm))
            continue;
        if (s_is_integer(&f->value))
            s_member_number(&w, &nm, &f->value);
        else
            s_member_string(&w, &nm, &f->value, SIZE_MAX, false);
    }
    if (parsed.more)
        w.cut = true;
    /* S_RESERVE bytes are still free: the end always fits. */
    w.cap = size - 1;
    if (w.cut)
        s_put(&w, ",\"truncated\":true", 17);
    s_put(&w, "}", 1);
    w.buf[w.len] = '\0';
    return (int)w.len;
}

/* ---------------------------------------------------------------- */
/* The stderr handler and --log-format                               */
/* ---------------------------------------------------------------- */

static char s_node[64];
static atomic_bool s_node_set;

void dtx_log_set_node(const char *node)
{
    snprintf(s_node, sizeof s_node, "%s", node ? node : "");
    atomic_store(&s_node_set, s_node[0] != '\0');
}

void dtx_log_stderr_json(int level, const char *line, void *arg)
{
    char out[S_OUT_SIZE];
    int n = dtx_log_json(out, sizeof out - 1, -1, level, arg ? (const char *)arg : "dtx",
                         atomic_load(&s_node_set) ? s_node : NULL, line);
    if (n < 0)
        return;
    out[n++] = '\n';
    ssize_t wr = write(STDERR_FILENO, out, (size_t)n);
    (void)wr;
}

dtx_log_fn dtx_log_format_handler(const char *name)
{
    if (name && strcasecmp(name, "text") == 0)
        return dtx_log_stderr;
    if (name && strcasecmp(name, "json") == 0)
        return dtx_log_stderr_json;
    return NULL;
}
