/*
 * gw_nout.c — an answer's head as the native engine writes it
 * (gw_nout.h). The framing:
 *
 *   1xx, 204, 304 ........................ no body, no length
 *   HEAD ................................. no body; Content-Length when known
 *   body from memory ..................... Content-Length
 *   read body, length known .............. Content-Length
 *   read body, length unknown, HTTP/1.1 .. Transfer-Encoding: chunked
 *   read body, length unknown, HTTP/1.0 .. until close
 *
 * "Connection: close" when the connection ends after the answer;
 * "Connection: keep-alive" to an HTTP/1.0 client that keeps it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dtx/decimal.h"
#include "front/gw_nout.h"

const char *dtx_gw_nout_date(char *buf, size_t cap, time_t *at)
{
    time_t now = time(NULL);
    if (now != *at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        *at = now;
    }
    return buf;
}

const char *dtx_gw_nout_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default:  return "";
    }
}

static int s_field(dtx_gw_buf_t *b, const char *name, const char *value)
{
    return dtx_gw_buf_field(b, name, strlen(name), value, strlen(value));
}

/* "HTTP/1.1 200 OK\r\n", made by hand: this runs for every answer, and
 * snprintf costs about a thousand instructions. */
static void s_status_line(dtx_gw_buf_t *b, int st)
{
    const char *reason = dtx_gw_nout_reason(st);
    char line[64];
    if (st < 0 || st > 999) {
        int n = snprintf(line, sizeof line, "HTTP/1.1 %03d %s\r\n", st, reason);
        dtx_gw_buf_add(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        return;
    }
    char *p = line;
    memcpy(p, "HTTP/1.1 ", 9);
    p += 9;
    *p++ = (char)('0' + st / 100);
    *p++ = (char)('0' + st / 10 % 10);
    *p++ = (char)('0' + st % 10);
    *p++ = ' ';
    size_t rl = strlen(reason);
    if (rl > sizeof line - 16)
        rl = sizeof line - 16;
    memcpy(p, reason, rl);
    p += rl;
    *p++ = '\r';
    *p++ = '\n';
    dtx_gw_buf_add(b, line, (size_t)(p - line));
}

int dtx_gw_nout_head(dtx_gw_buf_t *b, const dtx_gw_out_t *out, int minor, int head_method,
                     int *keep_alive, const char *date)
{
    int st = out->status;
    char line[64];
    s_status_line(b, st);
    int has_date = 0;
    size_t pos = 0, nl, vl;
    const char *name, *value;
    while (dtx_gw_out_next_n(out, &pos, &name, &nl, &value, &vl)) {
        /* The engine's own framing fields are left out; their lengths
         * first, so most names cost no comparison. */
        if (dtx_gw_http1_name_is(name, nl, "Content-Length") ||
            dtx_gw_http1_name_is(name, nl, "Connection") ||
            dtx_gw_http1_name_is(name, nl, "Transfer-Encoding"))
            continue;
        has_date |= dtx_gw_http1_name_is(name, nl, "Date");
        dtx_gw_buf_field(b, name, nl, value, vl);
    }
    if (!has_date && date)
        s_field(b, "Date", date);
    int kind;
    int64_t len = out->read ? out->length : (int64_t)out->body_len;
    if (st < 200 || st == 204 || st == 304) {
        kind = DTX_GW_NOUT_NONE;
        len = -1;
    } else if (head_method) {
        kind = DTX_GW_NOUT_NONE;
    } else if (!out->read) {
        kind = DTX_GW_NOUT_MEMORY;
    } else if (len >= 0) {
        kind = DTX_GW_NOUT_LENGTH;
    } else if (minor >= 1) {
        kind = DTX_GW_NOUT_CHUNKED;
    } else {
        kind = DTX_GW_NOUT_CLOSE;
        *keep_alive = 0;
    }
    if (len >= 0) {
        dtx_dec_i64(line, len);
        s_field(b, "Content-Length", line);
    } else if (kind == DTX_GW_NOUT_CHUNKED) {
        s_field(b, "Transfer-Encoding", "chunked");
    }
    if (!*keep_alive)
        s_field(b, "Connection", "close");
    else if (minor == 0)
        s_field(b, "Connection", "keep-alive");
    if (dtx_gw_buf_add(b, "\r\n", 2) < 0)
        return -1;
    return kind;
}
