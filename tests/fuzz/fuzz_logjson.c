/*
 * fuzz_logjson.c — libFuzzer target for the log line to JSON converter
 * (common/src/log_json.c, dtx_log_json in dtx/logging.h): a line carries
 * text from outside (a peer's ERROR, PostgreSQL's messages, names from
 * requests), and a host may hand it any line of its own.
 *
 * Input: byte 0 picks the level, byte 1 the buffer size (from the
 * smallest accepted to one that always suffices); the rest is the line,
 * and after a NUL the component, and after another the node.
 *
 * Whatever the input, nothing may crash or write past the buffer, and:
 *   - the answer is the length of a NUL-terminated text within the size;
 *   - it is one line: no byte below 0x20, and valid UTF-8;
 *   - json-c (strict, UTF-8 checked) parses all of it as one object;
 *   - no member name twice (the object has as many members as the text);
 *   - time (24 characters), level, component and msg are strings, node
 *     is one when a node was given; truncated, when there, is true;
 *   - with six times the line's length plus 512 bytes and fewer than 128
 *     '=' in the line, nothing is truncated.
 *
 *   make fuzz FUZZ_ONLY=logjson [FUZZ_SECONDS=60]
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "dtx/log.h"

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_logjson: %s:%d: check failed: %s\n",      \
                    __FILE__, __LINE__, #cond);                            \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* Members of a flat object: commas outside strings, plus one. */
static size_t s_members(const char *s)
{
    size_t n = 1;
    int in_string = 0;
    for (; *s; s++) {
        if (in_string) {
            if (*s == '\\')
                s++;
            else if (*s == '"')
                in_string = 0;
        } else if (*s == '"')
            in_string = 1;
        else if (*s == ',')
            n++;
    }
    return n;
}

static const char *s_string(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int level = (data[0] & 7) - 1;              /* -1 .. 6: out of range too */
    unsigned pick = data[1];
    char *text = malloc(size - 2 + 3);
    if (!text)
        return 0;
    memcpy(text, data + 2, size - 2);
    text[size - 2] = text[size - 1] = text[size] = '\0';
    const char *line = text, *component = NULL, *node = NULL;
    size_t at = strlen(text);
    if (at < size - 2) {
        component = text + at + 1;
        size_t at2 = at + 1 + strlen(component);
        if (at2 < size - 2)
            node = text + at2 + 1;
    }
    size_t len = strlen(line), equals = 0;
    for (size_t i = 0; i < len; i++)
        equals += line[i] == '=';
    size_t big = 6 * len + 512;
    size_t cap = pick < 64 ? DTX_LOG_JSON_MIN + pick : pick < 128 ? DTX_LOG_JSON_MIN + 4 * pick
                 : big;
    char *out = malloc(cap);
    CHECK(out);
    CHECK(dtx_log_json(out, DTX_LOG_JSON_MIN - 1, 0, level, component, node, line) == DTX_EINVAL);
    int n = dtx_log_json(out, cap, 1738324800123LL, level, component, node, line);
    CHECK(n > 0 && (size_t)n < cap && strlen(out) == (size_t)n);
    for (int i = 0; i < n;) {
        unsigned char c = (unsigned char)out[i];
        CHECK(c >= 0x20);
        size_t k = dtx_utf8_seq_len((const unsigned char *)out + i, (size_t)(n - i));
        CHECK(k > 0);
        i += (int)k;
    }

    json_tokener *tok = json_tokener_new();
    CHECK(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, out, n);
    CHECK(o && json_tokener_get_error(tok) == json_tokener_success);
    CHECK(json_tokener_get_parse_end(tok) == (size_t)n);
    CHECK(json_object_is_type(o, json_type_object));
    CHECK((size_t)json_object_object_length(o) == s_members(out));
    const char *t = s_string(o, "time");
    CHECK(t && strlen(t) == 24 && t[23] == 'Z');
    CHECK(s_string(o, "level") && s_string(o, "component") && s_string(o, "msg"));
    json_object *v;
    if (node && *node)
        CHECK(s_string(o, "node"));
    if (json_object_object_get_ex(o, "truncated", &v))
        CHECK(json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v));
    if (cap >= big && equals < 128)
        CHECK(!json_object_object_get_ex(o, "truncated", &v));
    json_object_put(o);
    json_tokener_free(tok);
    free(out);
    free(text);
    return 0;
}
