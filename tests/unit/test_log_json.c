/*
 * test_log_json.c — a log line as one JSON object (common/src/log_json.c,
 * dtx_log_json in dtx/logging.h): the members and their order, decoding
 * of quoted values, numbers, empty values, values with '=' or spaces,
 * repeated keys, control bytes and invalid UTF-8, cutting at the size
 * without breaking the object; the stderr JSON handler and --log-format.
 * Every result is also parsed with json-c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "dtx/log.h"
#include "unit.h"

#define T0 1738324800123LL                 /* 2025-01-31T12:00:00.123Z */
#define HEAD "{\"time\":\"2025-01-31T12:00:00.123Z\",\"level\":\"info\",\"component\":\"dtxd\""

static char s_out[8192];

/* dtx_log_json of line at info, component dtxd, no node, into s_out. */
static const char *s_json(const char *line)
{
    int n = dtx_log_json(s_out, sizeof s_out, T0, DTX_LOG_INFO, "dtxd", NULL, line);
    CU_ASSERT(n > 0 && (size_t)n == strlen(s_out));
    return s_out;
}

/* Parses text strictly (UTF-8 checked) as one whole object; NULL when it
 * is not one. Free with json_object_put. */
static json_object *s_parse(const char *text)
{
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    size_t len = strlen(text);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    if (o && (json_tokener_get_error(tok) != json_tokener_success ||
              json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* The string member key of the object text; NULL when absent or not a
 * string. Kept in a static buffer. */
static const char *s_member(const char *text, const char *key)
{
    static char value[4096];
    json_object *o = s_parse(text), *v;
    const char *r = NULL;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)) {
        snprintf(value, sizeof value, "%s", json_object_get_string(v));
        r = value;
    }
    json_object_put(o);
    return r;
}

static void test_members_in_order_integers_as_numbers(void)
{
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"coordinator lost\" gid=01JH2Z7Q5Y0ABCDEFGHJKMNPQR "
                                  "branch=7 code=21"),
                           HEAD ",\"msg\":\"coordinator lost\",\"gid\":\"01JH2Z7Q5Y0ABCDEFGHJKMNPQR\","
                                "\"branch\":7,\"code\":21}");
    char b[512];
    CU_ASSERT(dtx_log_json(b, sizeof b, T0, DTX_LOG_WARN, "dtxd", "node-1", "msg=\"x\"") > 0);
    CU_ASSERT_STRING_EQUAL(b, "{\"time\":\"2025-01-31T12:00:00.123Z\",\"level\":\"warn\","
                              "\"component\":\"dtxd\",\"node\":\"node-1\",\"msg\":\"x\"}");
    /* NULL component is "dtx"; NULL or "" node is left out; NULL line is empty */
    CU_ASSERT(dtx_log_json(b, sizeof b, 0, DTX_LOG_DEBUG, NULL, "", NULL) > 0);
    CU_ASSERT_STRING_EQUAL(b, "{\"time\":\"1970-01-01T00:00:00.000Z\",\"level\":\"debug\","
                              "\"component\":\"dtx\",\"msg\":\"\"}");
    CU_ASSERT(dtx_log_json(b, sizeof b, 0, 9, "c", NULL, "") > 0);
    CU_ASSERT_STRING_EQUAL(s_member(b, "level"), "unknown");
}

static void test_only_plain_short_integers_are_numbers(void)
{
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"n\" a=0 b=-12 c=123456789012345 d=1234567890123456 "
                                  "e=-0 f=007 g=1.5 h=1e3 i=\"12\" j=- k=12a l=+1"),
                           HEAD ",\"msg\":\"n\",\"a\":0,\"b\":-12,\"c\":123456789012345,"
                                "\"d\":\"1234567890123456\",\"e\":\"-0\",\"f\":\"007\",\"g\":\"1.5\","
                                "\"h\":\"1e3\",\"i\":\"12\",\"j\":\"-\",\"k\":\"12a\",\"l\":\"+1\"}");
}

static void test_quoted_values_are_decoded_then_escaped_for_json(void)
{
    /* \" \\ \n \r \t \xNN decoded; a quote and a backslash escaped again */
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" error=\"a \\\"q\\\" \\\\ b\\n\\r\\t\\x01\\x7f\""),
                           HEAD ",\"msg\":\"m\",\"error\":\"a \\\"q\\\" \\\\ b\\n\\r\\t\\u0001\\u007f\"}");
    CU_ASSERT_STRING_EQUAL(s_member(s_out, "error"), "a \"q\" \\ b\n\r\t\x01\x7f");
    /* escaped bytes that make UTF-8 together are one character again;
     * those that do not are U+FFFD */
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" name=\"caf\\xc3\\xa9 \\xff\\xc3\""),
                           HEAD ",\"msg\":\"m\",\"name\":\"caf\xc3\xa9 \\ufffd\\ufffd\"}");
    /* an unknown escape and a cut \x stay as written */
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" v=\"\\q\\x4\\xzz\""),
                           HEAD ",\"msg\":\"m\",\"v\":\"\\\\q\\\\x4\\\\xzz\"}");
    /* the quotes of a value are not part of it; an empty quoted value is "" */
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"\" v=\"\""), HEAD ",\"msg\":\"\",\"v\":\"\"}");
}

/* What DTX_Q wrote comes back as the very string it was given. */
static void test_quoted_values_round_trip_through_dtx_q(void)
{
    const char *values[] = {
        "plain", "with \"quotes\" and \\ backslash", "a=b c=d", "line\nbreak\r\tand tab",
        "\x01\x1f\x7f control", "caf\xc3\xa9 \xf0\x9f\x98\x80", "\\xff as text", "trailing \\",
        "msg=\"forged\" level=error", "",
    };
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char line[1024];
        snprintf(line, sizeof line, "msg=\"m\" v=\"%s\"", DTX_Q(values[i]));
        s_json(line);
        const char *got = s_member(s_out, "v");
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_STRING_EQUAL(got, values[i]);
    }
}

static void test_empty_values_and_values_with_equals_or_spaces(void)
{
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" a= b=x url=http://h/p?q=1&r=2 c="),
                           HEAD ",\"msg\":\"m\",\"a\":\"\",\"b\":\"x\","
                                "\"url\":\"http://h/p?q=1&r=2\",\"c\":\"\"}");
    /* words that are not key=value join the value before them, spaces and all */
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" reason=no route  to host k=1"),
                           HEAD ",\"msg\":\"m\",\"reason\":\"no route  to host\",\"k\":1}");
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" q=\"a b\" tail k=\"x\"y"),
                           HEAD ",\"msg\":\"m\",\"q\":\"a b tail\",\"k\":\"xy\"}");
    /* a value whose closing quote was cut off runs to the end of the line */
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" v=\"abc k=\\\"1"),
                           HEAD ",\"msg\":\"m\",\"v\":\"abc k=\\\"1\"}");
    /* spaces around, and keys of the characters keys are made of */
    CU_ASSERT_STRING_EQUAL(s_json("  msg=\"m\"   a.b-c_d=1  "),
                           HEAD ",\"msg\":\"m\",\"a.b-c_d\":1}");
}

static void test_lines_without_msg_keep_their_text(void)
{
    CU_ASSERT_STRING_EQUAL(s_json("hello world k=v"),
                           HEAD ",\"msg\":\"hello world\",\"k\":\"v\"}");
    CU_ASSERT_STRING_EQUAL(s_json("k=v"), HEAD ",\"msg\":\"\",\"k\":\"v\"}");
    CU_ASSERT_STRING_EQUAL(s_json(""), HEAD ",\"msg\":\"\"}");
    /* text before msg= is kept as "text"; msg= need not come first */
    CU_ASSERT_STRING_EQUAL(s_json("lead words k=1 msg=\"late\""),
                           HEAD ",\"msg\":\"late\",\"text\":\"lead words\",\"k\":1}");
    /* a quote opening the text is not a quoted value */
    CU_ASSERT_STRING_EQUAL(s_json("\"a b\""), HEAD ",\"msg\":\"\\\"a b\\\"\"}");
}

/* No member name twice: an equal repeat is dropped, another value renamed. */
static void test_repeated_keys_are_dropped_or_renamed(void)
{
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" a=1 a=2 a=1 a_2=x a=3"),
                           HEAD ",\"msg\":\"m\",\"a\":1,\"a_2\":2,\"a_2_2\":\"x\",\"a_3\":3}");
    /* the header's names: an equal value is dropped, another renamed */
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" level=info level=warn component=dtxd "
                                  "component=coordinator time=t msg=\"m\" msg=\"n\" truncated=1"),
                           HEAD ",\"msg\":\"m\",\"level_2\":\"warn\",\"component_2\":\"coordinator\","
                                "\"time_2\":\"t\",\"msg_2\":\"n\",\"truncated_2\":1}");
    /* equal means equal once decoded */
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" a=x a=\"x\""), HEAD ",\"msg\":\"m\",\"a\":\"x\"}");
    /* node: the coordinator's own is dropped, another renamed; without a
     * node set, node= is an ordinary field */
    char b[512];
    dtx_log_json(b, sizeof b, T0, DTX_LOG_INFO, "dtxd", "n1", "msg=\"m\" node=n1 node=n2");
    CU_ASSERT_STRING_EQUAL(b, HEAD ",\"node\":\"n1\",\"msg\":\"m\",\"node_2\":\"n2\"}");
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" node=n2"), HEAD ",\"msg\":\"m\",\"node\":\"n2\"}");
    json_object *o = s_parse(s_json("msg=\"m\" a=1 a=2 a=3 a=4 a=5 a=6 a=7 a=8 a=9 a=10 a=11"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(json_object_object_length(o), 4 + 11);
    json_object_put(o);
}

/* A host's line may hold anything: raw control bytes and invalid UTF-8
 * still give valid JSON on one line. */
static void test_control_bytes_and_invalid_utf8_give_valid_json(void)
{
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"a\nb\" raw=\x01\x1b[2J\x7f"),
                           HEAD ",\"msg\":\"a\\nb\",\"raw\":\"\\u0001\\u001b[2J\\u007f\"}");
    CU_ASSERT_STRING_EQUAL(s_json("msg=\"m\" v=\xff\xc3(\xed\xa0\x80\xf0\x9f\x98\x80"),
                           HEAD ",\"msg\":\"m\",\"v\":\"\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd"
                                "\xf0\x9f\x98\x80\"}");
    json_object *o = s_parse(s_out);
    CU_ASSERT_PTR_NOT_NULL(o);
    json_object_put(o);
    char b[512];
    CU_ASSERT(dtx_log_json(b, sizeof b, T0, DTX_LOG_INFO, "bad\xff\"name", "n\n1", "msg=\"m\"") > 0);
    CU_ASSERT_STRING_EQUAL(s_member(b, "component"), "bad\xef\xbf\xbd\"name");
    CU_ASSERT_STRING_EQUAL(s_member(b, "node"), "n\n1");
}

static void test_time_is_rfc3339_utc_with_milliseconds(void)
{
    char b[512];
    dtx_log_json(b, sizeof b, 0, DTX_LOG_INFO, "c", NULL, "");
    CU_ASSERT_STRING_EQUAL(s_member(b, "time"), "1970-01-01T00:00:00.000Z");
    dtx_log_json(b, sizeof b, 951782400999LL, DTX_LOG_INFO, "c", NULL, "");
    CU_ASSERT_STRING_EQUAL(s_member(b, "time"), "2000-02-29T00:00:00.999Z");
    dtx_log_json(b, sizeof b, INT64_MAX, DTX_LOG_INFO, "c", NULL, "");
    CU_ASSERT_STRING_EQUAL(s_member(b, "time"), "9999-12-31T23:59:59.999Z");
    dtx_log_json(b, sizeof b, -1, DTX_LOG_INFO, "c", NULL, "");   /* now */
    const char *now = s_member(b, "time");
    CU_ASSERT_PTR_NOT_NULL_FATAL(now);
    CU_ASSERT(strlen(now) == 24 && now[23] == 'Z' && strncmp(now, "2025", 4) >= 0);
}

static void test_small_buffers_are_refused(void)
{
    char b[DTX_LOG_JSON_MIN];
    CU_ASSERT_EQUAL(dtx_log_json(NULL, sizeof b, T0, DTX_LOG_INFO, "c", NULL, "x"), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_log_json(b, sizeof b - 1, T0, DTX_LOG_INFO, "c", NULL, "x"), DTX_EINVAL);
    CU_ASSERT(dtx_log_json(b, sizeof b, T0, DTX_LOG_INFO, "c", NULL, "x") > 0);
}

/* Over-long: cut at a whole character (never inside an escape), "...",
 * nothing after it, "truncated":true, and still one whole object. */
static void test_long_lines_are_cut_into_a_whole_object(void)
{
    char line[4000], b[600];
    int n = snprintf(line, sizeof line, "msg=\"long\" first=1 v=\"");
    for (int i = 0; i < 300; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "\xc3\xa9\\\"\\n");
    snprintf(line + n, sizeof line - (size_t)n, "\" after=2");
    for (size_t size = DTX_LOG_JSON_MIN; size <= sizeof b; size++) {
        int len = dtx_log_json(b, size, T0, DTX_LOG_INFO, "dtxd", "node-1", line);
        CU_ASSERT_FATAL(len > 0 && (size_t)len < size);
        json_object *o = s_parse(b), *v;
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT(json_object_object_get_ex(o, "truncated", &v) && json_object_get_boolean(v));
        CU_ASSERT(json_object_object_get_ex(o, "msg", &v));
        CU_ASSERT(json_object_object_get_ex(o, "node", &v));
        CU_ASSERT_FALSE(json_object_object_get_ex(o, "after", &v));
        if (json_object_object_get_ex(o, "v", &v)) {
            const char *s = json_object_get_string(v);
            size_t sl = strlen(s);
            CU_ASSERT(sl >= 3 && strcmp(s + sl - 3, "...") == 0);
            /* whole units of é " \n only */
            /* a prefix of the value (json-c checked it is UTF-8: é whole) */
            for (size_t i = 0; i < sl - 3; i += 4)
                CU_ASSERT(memcmp(s + i, "\xc3\xa9\"\n", i + 4 <= sl - 3 ? 4 : sl - 3 - i) == 0);
        }
        json_object_put(o);
    }
    /* a line that needs n bytes is whole in n + 18 (the end's reserve), cut in n + 17 */
    const char *ok = "msg=\"fits\" a=1 b=\"two words, and enough of them to make the object "
                     "longer than the smallest buffer accepted, which is 256 bytes long, so that "
                     "the last bytes of the buffer decide\" c=3";
    char big[512], exact[512];
    int need = dtx_log_json(big, sizeof big, T0, DTX_LOG_INFO, "dtxd", NULL, ok);
    CU_ASSERT_FATAL(need > 0 && need + 18 >= DTX_LOG_JSON_MIN);
    CU_ASSERT_EQUAL(dtx_log_json(exact, (size_t)need + 18, T0, DTX_LOG_INFO, "dtxd", NULL, ok), need);
    CU_ASSERT_STRING_EQUAL(exact, big);
    dtx_log_json(exact, (size_t)need + 17, T0, DTX_LOG_INFO, "dtxd", NULL, ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(exact, "\"truncated\":true}"));
    /* a number that does not fit is left out, not cut */
    CU_ASSERT_PTR_NULL(strstr(exact, "\"c\":"));
}

/* At the smallest size, long names and a long message still leave every
 * required member; component and node stop at 64 bytes. */
static void test_required_members_fit_the_smallest_buffer(void)
{
    char name[200], msgline[400], b[DTX_LOG_JSON_MIN];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(msgline, sizeof msgline, "msg=\"%.300s\" k=1", name);
    CU_ASSERT(dtx_log_json(b, sizeof b, T0, DTX_LOG_INFO, name, name, msgline) > 0);
    json_object *o = s_parse(b), *v;
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const char *keys[] = { "time", "level", "component", "node", "msg", "truncated" };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        CU_ASSERT(json_object_object_get_ex(o, keys[i], &v));
    json_object_object_get_ex(o, "component", &v);
    CU_ASSERT_EQUAL(strlen(json_object_get_string(v)), 64);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v) + 61, "...");
    json_object_put(o);
    /* a long component alone is not a truncation */
    char big[1024];
    dtx_log_json(big, sizeof big, T0, DTX_LOG_INFO, name, NULL, "msg=\"m\" k=1");
    CU_ASSERT_PTR_NULL(strstr(big, "truncated"));
    CU_ASSERT_PTR_NOT_NULL(strstr(big, "\"k\":1}"));
}

/* Past 128 fields the rest is left out, and the object says so. */
static void test_fields_past_the_limit_are_left_out(void)
{
    char line[2048];
    int n = snprintf(line, sizeof line, "msg=\"many\"");
    for (int i = 0; i < 200; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " k%d=%d", i, i);
    s_json(line);
    json_object *o = s_parse(s_out), *v;
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT(json_object_object_get_ex(o, "k126", &v));
    CU_ASSERT_FALSE(json_object_object_get_ex(o, "k127", &v));   /* msg is the first field */
    CU_ASSERT(json_object_object_get_ex(o, "truncated", &v) && json_object_get_boolean(v));
    json_object_put(o);
}

static void test_every_line_dtx_log_can_build_fits_the_handler(void)
{
    /* dtx_log's longest line, made of what widens most in JSON */
    char v[1100];
    memset(v, '"', sizeof v - 1);
    v[sizeof v - 1] = '\0';
    char line[1024];
    snprintf(line, sizeof line, "msg=\"m\" v=%.1013s", v);
    char b[4096];
    CU_ASSERT(dtx_log_json(b, sizeof b - 1, T0, DTX_LOG_INFO, "dtxd", "n", line) > 0);
    CU_ASSERT_PTR_NULL(strstr(b, "truncated"));
}

/* Runs fn with stderr going to a file; returns what was written. */
static char *s_stderr_of(void (*fn)(void))
{
    static char buf[8192];
    char path[] = "/tmp/dtx-log-json-test-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    int saved = dup(STDERR_FILENO);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void s_log_two_lines(void)
{
    dtx_log_set_handler(dtx_log_stderr_json, "unit");
    dtx_log_warn("hello", "gid=%s branch=%u text=\"%s\"", "G1", 3u, DTX_Q("a\"b\nc"));
    dtx_log_set_node("node-7");
    dtx_log_set_handler(dtx_log_stderr_json, NULL);
    dtx_log_error("again", NULL);
    dtx_log_set_node(NULL);
    dtx_log_set_handler(dtx_log_stderr, NULL);
}

/* dtx_log_stderr_json: one object and a newline per line, in one write. */
static void test_stderr_json_handler_writes_one_object_a_line(void)
{
    char *out = s_stderr_of(s_log_two_lines);
    char *second = strchr(out, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    *second++ = '\0';
    CU_ASSERT_STRING_EQUAL(s_member(out, "level"), "warn");
    CU_ASSERT_STRING_EQUAL(s_member(out, "component"), "unit");
    CU_ASSERT_STRING_EQUAL(s_member(out, "msg"), "hello");
    CU_ASSERT_STRING_EQUAL(s_member(out, "gid"), "G1");
    CU_ASSERT_STRING_EQUAL(s_member(out, "text"), "a\"b\nc");
    CU_ASSERT_PTR_NULL(s_member(out, "node"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"branch\":3"));
    char *end = strchr(second, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    CU_ASSERT_EQUAL(end[1], '\0');
    *end = '\0';
    CU_ASSERT_STRING_EQUAL(s_member(second, "component"), "dtx");
    CU_ASSERT_STRING_EQUAL(s_member(second, "node"), "node-7");
    CU_ASSERT_STRING_EQUAL(s_member(second, "level"), "error");
    CU_ASSERT_STRING_EQUAL(s_member(second, "msg"), "again");
}

static void test_log_format_names_a_handler(void)
{
    CU_ASSERT(dtx_log_format_handler("text") == dtx_log_stderr);
    CU_ASSERT(dtx_log_format_handler("json") == dtx_log_stderr_json);
    CU_ASSERT(dtx_log_format_handler("JSON") == dtx_log_stderr_json);
    CU_ASSERT_PTR_NULL(dtx_log_format_handler("xml"));
    CU_ASSERT_PTR_NULL(dtx_log_format_handler(""));
    CU_ASSERT_PTR_NULL(dtx_log_format_handler(NULL));
}

UNIT_SUITE(log_json)
{
    CU_pSuite s = CU_add_suite("log_json", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_members_in_order_integers_as_numbers);
    T(test_only_plain_short_integers_are_numbers);
    T(test_quoted_values_are_decoded_then_escaped_for_json);
    T(test_quoted_values_round_trip_through_dtx_q);
    T(test_empty_values_and_values_with_equals_or_spaces);
    T(test_lines_without_msg_keep_their_text);
    T(test_repeated_keys_are_dropped_or_renamed);
    T(test_control_bytes_and_invalid_utf8_give_valid_json);
    T(test_time_is_rfc3339_utc_with_milliseconds);
    T(test_small_buffers_are_refused);
    T(test_long_lines_are_cut_into_a_whole_object);
    T(test_required_members_fit_the_smallest_buffer);
    T(test_fields_past_the_limit_are_left_out);
    T(test_every_line_dtx_log_can_build_fits_the_handler);
    T(test_stderr_json_handler_writes_one_object_a_line);
    T(test_log_format_names_a_handler);
#undef T
}
