/*
 * batch.c — planning a batch's set-based statements, their array
 * parameters, and the split of their results (see batch.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "batch.h"

static uint32_t s_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int s_grow(dtx_batch_plan_t *self, int n)
{
    if (n <= self->cap)
        return 0;
    int cap = self->cap ? self->cap : 64;
    while (cap < n)
        cap *= 2;
    int **arrays[] = { &self->exec, &self->set_stmt, &self->set_from, &self->set_n,
                       &self->members, &self->slot, &self->key_set };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        int *a = realloc(*arrays[i], (size_t)cap * sizeof(int));
        if (!a)
            return DTX_ENOMEM;
        *arrays[i] = a;
    }
    int **tables[] = { &self->seen, &self->seen_set };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        int *t = realloc(*tables[i], (size_t)cap * 2 * sizeof(int));
        if (!t)
            return DTX_ENOMEM;
        *tables[i] = t;
    }
    self->seen_cap = cap * 2;
    self->cap = cap;
    return 0;
}

/* The first operation whose key is key[i] in table (open addressing,
 * operation indexes, -1 free): i itself when there was none (it is in the
 * table now). */
static int s_first_of(int *table, int cap, const char *const *key, int i)
{
    uint32_t mask = (uint32_t)cap - 1;
    for (uint32_t h = s_hash(key[i]) & mask;; h = (h + 1) & mask) {
        if (table[h] < 0) {
            table[h] = i;
            return i;
        }
        if (strcmp(key[table[h]], key[i]) == 0)
            return table[h];
    }
}

/* The set of statement st, made when there is none yet. */
static int s_set_of(dtx_batch_plan_t *self, int st)
{
    int s = 0;
    while (s < self->nsets && self->set_stmt[s] != st)
        s++;
    if (s == self->nsets) {
        self->set_stmt[s] = st;
        self->set_n[s] = 0;
        self->nsets++;
    }
    return s;
}

/* Two operations' keys, byte by byte (PostgreSQL's "C" collation). */
static int s_by_key(const void *a, const void *b, void *key)
{
    const char *const *k = key;
    return strcmp(k[*(const int *)a], k[*(const int *)b]);
}

int dtx_batch_plan(dtx_batch_plan_t *self, int n, const int *stmt, const char *const *key,
                   const char *const *setkey, const unsigned char *mode)
{
    if (s_grow(self, n) != 0)
        return DTX_ENOMEM;
    for (int i = 0; i < self->seen_cap; i++)
        self->seen[i] = self->seen_set[i] = -1;
    self->nsets = 0;
    /* Each operation's set (-1: alone); a set's statement and size. An
     * operation joins a set only when every earlier one of its key is in
     * that set (batch.h): key_set of its key's first operation says which
     * set that is, -1 once one of them runs alone. */
    for (int i = 0; i < n; i++) {
        self->slot[i] = -1;
        int first = s_first_of(self->seen, self->seen_cap, key, i);
        int m = mode[stmt[i]];
        int s;
        if (first == i) {
            s = m == DTX_BATCH_ALONE ? -1 : s_set_of(self, stmt[i]);
            self->key_set[i] = s;
        } else {
            s = self->key_set[first];
            if (m != DTX_BATCH_BY_SETKEY || s < 0 || self->set_stmt[s] != stmt[i])
                s = -1;
        }
        /* One operation per set key in a set (batch.h): one row each. */
        if (s >= 0 && m == DTX_BATCH_BY_SETKEY &&
            s_first_of(self->seen_set, self->seen_cap, setkey, i) != i)
            s = -1;
        if (s < 0) {
            self->key_set[first] = -1;
            continue;
        }
        self->slot[i] = s;
        self->set_n[s]++;
    }
    /* A set of one is an operation alone. */
    for (int i = 0; i < n; i++)
        if (self->slot[i] >= 0 && self->set_n[self->slot[i]] < 2)
            self->slot[i] = -1;
    int from = 0;
    for (int s = 0; s < self->nsets; s++) {
        self->set_from[s] = from;
        from += self->set_n[s] >= 2 ? self->set_n[s] : 0;
        self->set_n[s] = self->set_n[s] >= 2 ? 0 : -1; /* refilled below; -1: unused */
    }
    self->nexec = 0;
    for (int i = 0; i < n; i++) {
        int s = self->slot[i];
        if (s < 0) {
            self->exec[self->nexec++] = i;
            continue;
        }
        if (self->set_n[s] == 0)
            self->exec[self->nexec++] = -1 - s; /* runs where its first operation was */
        self->members[self->set_from[s] + self->set_n[s]++] = i;
    }
    for (int s = 0; s < self->nsets; s++)
        if (self->set_n[s] > 1)
            qsort_r(self->members + self->set_from[s], (size_t)self->set_n[s], sizeof(int),
                    s_by_key, (void *)setkey);
    return 0;
}

void dtx_batch_plan_free(dtx_batch_plan_t *self)
{
    free(self->exec);
    free(self->set_stmt);
    free(self->set_from);
    free(self->set_n);
    free(self->members);
    free(self->slot);
    free(self->seen);
    free(self->seen_set);
    free(self->key_set);
    memset(self, 0, sizeof *self);
}

int dtx_batch_elem(dtx_text_t *buf, const char *value, int len, int binary, int first)
{
    static const char hex[] = "0123456789abcdef";
    if (!first)
        dtx_text_append(buf, ",", 1);
    if (!value) {
        dtx_text_append(buf, "NULL", 4);
        return buf->failed ? DTX_ENOMEM : 0;
    }
    /* Room for the longest form (every byte two characters, the quotes,
     * the hex prefix), then written in place. */
    size_t room = (size_t)len * 2 + 6;
    if (dtx_text_reserve(buf, room) != 0)
        return DTX_ENOMEM;
    char *out = buf->data + buf->len;
    *out++ = '"';
    if (binary) {
        memcpy(out, "\\\\x", 3);
        out += 3;
    }
    for (int i = 0; i < len; i++) {
        uint8_t c = (uint8_t)value[i];
        if (binary) {
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        } else {
            if (c == '"' || c == '\\')
                *out++ = '\\';
            *out++ = (char)c;
        }
    }
    *out++ = '"';
    *out = '\0';
    buf->len = (size_t)(out - buf->data);
    return 0;
}

/* Two rows of a set result by their first column, byte by byte; rows of
 * one key keep their order. */
static int s_by_row_key(const void *a, const void *b, void *set)
{
    int ra = *(const int *)a, rb = *(const int *)b;
    int c = strcmp(PQgetvalue(set, ra, 0), PQgetvalue(set, rb, 0));
    return c ? c : (ra > rb) - (ra < rb);
}

int *dtx_batch_order(const PGresult *set)
{
    int n = PQntuples(set);
    int *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (!order)
        return NULL;
    for (int i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, s_by_row_key, (void *)set);
    return order;
}

PGresult *dtx_batch_rows_at(PGconn *conn, const PGresult *set, const int *order, int *at,
                            const char *key)
{
    PGresult *r = PQmakeEmptyPGresult(conn, PGRES_TUPLES_OK);
    int ncols = PQnfields(set) - 1;
    if (!r || ncols < 1)
        goto err;
    PGresAttDesc attrs[8];
    if (ncols > (int)(sizeof attrs / sizeof attrs[0]))
        goto err;
    memset(attrs, 0, sizeof attrs);
    for (int c = 0; c < ncols; c++) {
        attrs[c].name = PQfname(set, c + 1);
        attrs[c].typid = PQftype(set, c + 1);
        attrs[c].typlen = PQfsize(set, c + 1);
        attrs[c].atttypmod = PQfmod(set, c + 1);
        attrs[c].format = PQfformat(set, c + 1);
    }
    if (!PQsetResultAttrs(r, ncols, attrs))
        goto err;
    int nrows = PQntuples(set), out = 0;
    /* Rows of keys asked before (or of none asked: never, a set returns
     * only its own operations' set keys) are behind; this key's rows are
     * next. */
    while (*at < nrows && strcmp(PQgetvalue(set, order[*at], 0), key) < 0)
        (*at)++;
    for (; *at < nrows && strcmp(PQgetvalue(set, order[*at], 0), key) == 0; (*at)++) {
        int row = order[*at];
        for (int c = 0; c < ncols; c++) {
            int null = PQgetisnull(set, row, c + 1);
            if (!PQsetvalue(r, out, c, null ? NULL : PQgetvalue(set, row, c + 1),
                            null ? -1 : PQgetlength(set, row, c + 1)))
                goto err;
        }
        out++;
    }
    return r;
err:
    PQclear(r);
    return NULL;
}
