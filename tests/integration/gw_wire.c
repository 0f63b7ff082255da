/* tests/integration/gw_wire.c — see gw_wire.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_raw.h"
#include "gw_util.h"
#include "gw_wire.h"
#include "integ.h"

gw_proc_t gww_gw;

int gww_start(const char *logname)
{
    if (h_init() < 0)
        return -1;
    if (gw_raw_start() < 0)
        return -1;
    static const char *const one[] = { "--workers", "1", NULL };
    return gw_gateway_start_args(&gww_gw, logname, one,
        "{\"pools\":[{\"name\":\"raw\",\"targets\":[\"http://127.0.0.1:%d/base\"],"
        "\"timeout_ms\":5000,\"ejection\":{\"consecutive_5xx\":0,\"consecutive_connect_errors\":0}}],"
        "\"routes\":[{\"name\":\"capped\",\"match\":{\"prefix\":\"/capped\"},\"pool\":\"raw\","
        "\"validate\":{\"max_body\":100000}},"
        "{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"raw\"}]}",
        gw_raw_port());
}

int gww_stop(void)
{
    int rc = h_stop(gww_gw.pid, SIGTERM, 10000) == 0 ? 0 : -1;
    gw_raw_stop();
    return rc;
}

int gww_get(gw_resp_t *r, const char *method, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", gww_gw.port, path);
    return gw_http(r, method, url, NULL, NULL);
}

gw_raw_act_t gww_ok(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .answer = GWW_OK, .close_after = 0 };
}

gw_raw_act_t gww_chunked(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Up: raw\r\n\r\n"
                      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", .close_after = 0 };
}

gw_raw_act_t gww_until_close(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", .close_after = 1 };
}

const char *gww_bad_answer;
gw_raw_act_t gww_bad(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .answer = gww_bad_answer, .close_after = 1 };
}

int gww_client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)gww_gw.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = { .tv_sec = 20 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Reads the answer until the gateway closes: its status, its body in
 * body (NUL-terminated, cut to cap). */
int gww_client_answer_keep(int fd, char *body, size_t cap)
{
    static char in[65536];
    size_t len = 0;
    for (;;) {
        ssize_t r = recv(fd, in + len, sizeof in - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    in[len] = '\0';
    char *b = strstr(in, "\r\n\r\n");
    snprintf(body, cap, "%s", b ? b + 4 : "");
    return len > 12 && strncmp(in, "HTTP/1.1 ", 9) == 0 ? atoi(in + 9) : 0;
}

int gww_client_answer(int fd, char *body, size_t cap)
{
    int st = gww_client_answer_keep(fd, body, cap);
    close(fd);
    return st;
}
