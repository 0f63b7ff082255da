/*
 * tests/harness/harness.c — see harness.h.
 *
 * Children. Every process h_spawn() starts gets a slot in s_children
 * (never reused within a run), so its pid, log name and exit status stay
 * known after it is reaped. A slot is "live" from fork until waitpid()
 * returns its status; only live slots are signalled, so a pid recycled by
 * the kernel is never hit. The signal handler path (s_kill_live) only uses
 * async-signal-safe calls (kill, waitpid) and reads the table, which the
 * main thread updates before it could be needed (fork happens after the
 * slot's fields are written).
 *
 * Fork safety. A test may run ZeroMQ threads, so between fork and exec the
 * child only calls async-signal-safe functions: everything it needs (log
 * fd, /dev/null fd, error pipe) is prepared by the parent first.
 */
#include "harness.h"
#include "hcurve.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define H_MAX_CHILDREN   1024  /* children per run */
#define H_TAIL_LINES     60    /* lines h_file_tail prints */
#define H_TAIL_BYTES     (64 * 1024)
#define H_START_WAIT_MS  10000 /* dtxd / participant readiness */
#define H_STOP_WAIT_MS   10000 /* dtxd clean exit */
#define H_POLL_MS        20

typedef struct s_child {
    pid_t pid;                       /* its pid (and process-group id) */
    volatile sig_atomic_t live;      /* 1 until reaped */
    int   status;                    /* h_stop-style status once reaped */
    char  logname[H_LOGNAME_SIZE];   /* log name given to h_spawn */
} s_child_t;

static s_child_t s_children[H_MAX_CHILDREN];
static volatile sig_atomic_t s_nchildren;

static int  s_initialised;
static char s_pghost[512];
static int  s_pgport;
static char s_bindir[512];
static char s_testbindir[512];
static char s_testdir[512];
static int  s_dtxd_counter;

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

static int s_env_copy(const char *name, char *out, size_t cap)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "harness: %s is not set (run the tests through tests/run.sh)\n", name);
        return -1;
    }
    if (strlen(v) >= cap) {
        fprintf(stderr, "harness: %s is too long\n", name);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

static void s_kill_live(void)
{
    int n = s_nchildren;
    for (int i = 0; i < n; i++) {
        if (!s_children[i].live)
            continue;
        pid_t pid = s_children[i].pid;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    for (int i = 0; i < n; i++) {
        if (!s_children[i].live)
            continue;
        int st;
        pid_t r;
        do {
            r = waitpid(s_children[i].pid, &st, 0);
        } while (r < 0 && errno == EINTR);
        s_children[i].live = 0;
    }
}

static void s_on_signal(int sig)
{
    s_kill_live();
    signal(sig, SIG_DFL);
    raise(sig);
}

int h_init(void)
{
    if (s_initialised)
        return 0;
    char port[32];
    if (s_env_copy("DTX_TEST_PGHOST", s_pghost, sizeof s_pghost) < 0 ||
        s_env_copy("DTX_TEST_PGPORT", port, sizeof port) < 0 ||
        s_env_copy("DTX_TEST_BIN", s_bindir, sizeof s_bindir) < 0 ||
        s_env_copy("DTX_TEST_TESTBIN", s_testbindir, sizeof s_testbindir) < 0 ||
        s_env_copy("DTX_TEST_DIR", s_testdir, sizeof s_testdir) < 0)
        return -1;
    char *end;
    long p = strtol(port, &end, 10);
    if (*end || p <= 0 || p > 65535) {
        fprintf(stderr, "harness: DTX_TEST_PGPORT='%s' is not a port\n", port);
        return -1;
    }
    s_pgport = (int)p;
    if (mkdir(s_testdir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "harness: cannot create %s: %s\n", s_testdir, strerror(errno));
        return -1;
    }
    if (h_curve_setup(s_testdir) < 0)
        return -1;
    atexit(h_kill_all);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    s_initialised = 1;
    return 0;
}

const char *h_pghost(void)     { return s_pghost; }
int         h_pgport(void)     { return s_pgport; }
const char *h_bindir(void)     { return s_bindir; }
const char *h_testbindir(void) { return s_testbindir; }
const char *h_testdir(void)    { return s_testdir; }

static int s_join(const char *dir, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "harness: path %s/%s too long\n", dir, name);
        return -1;
    }
    return 0;
}

int h_bin_path(const char *name, char *out, size_t cap)
{
    return s_join(s_bindir, name, out, cap);
}

int h_testbin_path(const char *name, char *out, size_t cap)
{
    return s_join(s_testbindir, name, out, cap);
}

int h_scratch_path(const char *name, char *out, size_t cap)
{
    return s_join(s_testdir, name, out, cap);
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
    struct timespec req = { ms / 1000, (long)(ms % 1000) * 1000000L }, rem;
    while (nanosleep(&req, &rem) < 0 && errno == EINTR)
        req = rem;
}

int h_wait_until(int (*fn)(void *arg), void *arg, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        if (fn(arg))
            return 0;
        if (h_now_ms() >= deadline)
            return -1;
        h_sleep_ms(H_POLL_MS);
    }
}

/* ------------------------------------------------------------------ */
/* Databases                                                           */
/* ------------------------------------------------------------------ */

static int s_db_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return !(name[0] >= '0' && name[0] <= '9');
}

int h_db_name(const char *name, char *out, size_t cap)
{
    const char *prefix = getenv("DTX_TEST_DB_PREFIX");
    if (!prefix || strcmp(name, "postgres") == 0)
        prefix = "";
    int n = snprintf(out, cap, "%s%s", prefix, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "harness: database name %s%s is too long\n", prefix, name);
        return -1;
    }
    return 0;
}

int h_db_conninfo(const char *name, char *out, size_t cap)
{
    char real[64];
    if (h_db_name(name, real, sizeof real) < 0)
        return -1;
    int n = snprintf(out, cap, "host=%s port=%d user=postgres dbname=%s",
                     s_pghost, s_pgport, real);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "harness: conninfo for %s does not fit in %zu bytes\n", name, cap);
        return -1;
    }
    return 0;
}

static void s_quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *h_db_connect(const char *name)
{
    char ci[H_CONNINFO_SIZE];
    if (h_init() < 0 || h_db_conninfo(name, ci, sizeof ci) < 0)
        return NULL;
    PGconn *conn = PQconnectdb(ci);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "harness: cannot connect to %s: %s", ci, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static int s_admin_exec(const char *sql)
{
    PGconn *conn = h_db_connect("postgres");
    if (!conn)
        return -1;
    PQsetNoticeProcessor(conn, s_quiet_notice, NULL);
    PGresult *r = PQexec(conn, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(conn));
        rc = -1;
    }
    PQclear(r);
    PQfinish(conn);
    return rc;
}

int h_db_drop(const char *name)
{
    char sql[128], real[64];
    if (h_db_name(name, real, sizeof real) < 0 || !s_db_name_ok(real)) {
        fprintf(stderr, "harness: bad database name '%s' (use [a-z_][a-z0-9_]*)\n", name);
        return -1;
    }
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", real);
    return s_admin_exec(sql);
}

int h_db_create(const char *name, char *conninfo_out, size_t cap)
{
    char sql[128], real[64];
    if (h_init() < 0 || h_db_drop(name) < 0 || h_db_name(name, real, sizeof real) < 0)
        return -1;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", real);
    if (s_admin_exec(sql) < 0)
        return -1;
    if (conninfo_out)
        return h_db_conninfo(name, conninfo_out, cap);
    return 0;
}

/* Runs the formatted query; returns its result (caller clears) or NULL. */
static PGresult *s_query(PGconn *conn, const char *fmt, va_list ap,
                         ExecStatusType want)
{
    char *sql = NULL;
    if (vasprintf(&sql, fmt, ap) < 0) {
        fprintf(stderr, "harness: out of memory\n");
        return NULL;
    }
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != want && !(want == PGRES_COMMAND_OK && st == PGRES_TUPLES_OK)) {
        fprintf(stderr, "harness: query failed: %s\n  %s", sql, PQerrorMessage(conn));
        PQclear(r);
        r = NULL;
    }
    free(sql);
    return r;
}

int h_db_exec(PGconn *conn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = s_query(conn, fmt, ap, PGRES_COMMAND_OK);
    va_end(ap);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* The first value of r, or NULL (reported) when there is none. */
static const char *s_first_value(PGresult *r)
{
    if (PQntuples(r) < 1 || PQnfields(r) < 1) {
        fprintf(stderr, "harness: query returned no row\n");
        return NULL;
    }
    if (PQgetisnull(r, 0, 0)) {
        fprintf(stderr, "harness: query returned NULL\n");
        return NULL;
    }
    return PQgetvalue(r, 0, 0);
}

int64_t h_db_scalar(PGconn *conn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = s_query(conn, fmt, ap, PGRES_TUPLES_OK);
    va_end(ap);
    if (!r)
        return H_DB_ERROR;
    int64_t v = H_DB_ERROR;
    const char *s = s_first_value(r);
    if (s) {
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (errno || end == s || *end)
            fprintf(stderr, "harness: '%s' is not an integer\n", s);
        else
            v = (int64_t)x;
    }
    PQclear(r);
    return v;
}

int h_db_scalar_text(PGconn *conn, char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = s_query(conn, fmt, ap, PGRES_TUPLES_OK);
    va_end(ap);
    if (!r)
        return -1;
    int rc = -1;
    const char *s = s_first_value(r);
    if (s && cap > 0) {
        snprintf(out, cap, "%s", s);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

static s_child_t *s_find(pid_t pid)
{
    for (int i = 0; i < s_nchildren; i++)
        if (s_children[i].pid == pid)
            return &s_children[i];
    return NULL;
}

static int s_status_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* Reaps c if it has exited (block: wait for it). Returns 1 when reaped. */
static int s_reap(s_child_t *c, int block)
{
    if (!c->live)
        return 1;
    int st;
    pid_t r;
    do {
        r = waitpid(c->pid, &st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    c->status = r == c->pid ? s_status_code(st) : -1;
    c->live = 0;
    return 1;
}

/* Appends one line saying what is started to the log, so logs of restarts
 * read in order. */
static void s_log_header(int fd, char *const argv[])
{
    char line[2048];
    size_t n = 0;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    n += strftime(line, sizeof line, "=== harness %H:%M:%S start:", &tm);
    for (int i = 0; argv[i] && n < sizeof line - 2; i++) {
        int w = snprintf(line + n, sizeof line - n, " %s", argv[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(fd, line, n);
    (void)w;
}

pid_t h_spawn(const char *logname, char *const argv[])
{
    if (h_init() < 0)
        return -1;
    if (!argv || !argv[0] || !logname || strlen(logname) >= H_LOGNAME_SIZE) {
        fprintf(stderr, "harness: h_spawn: bad arguments\n");
        return -1;
    }
    if (s_nchildren >= H_MAX_CHILDREN) {
        fprintf(stderr, "harness: more than %d children in one run\n", H_MAX_CHILDREN);
        return -1;
    }
    char path[1024], name[H_LOGNAME_SIZE + 8];
    snprintf(name, sizeof name, "%s.log", logname);
    if (h_scratch_path(name, path, sizeof path) < 0)
        return -1;
    int logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        fprintf(stderr, "harness: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int errpipe[2] = { -1, -1 };
    if (nullfd < 0 || pipe2(errpipe, O_CLOEXEC) < 0) {
        fprintf(stderr, "harness: h_spawn: %s\n", strerror(errno));
        close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        return -1;
    }
    s_log_header(logfd, argv);
    fflush(NULL);  /* no buffered output is duplicated into the child */

    s_child_t *c = &s_children[s_nchildren];
    memset(c, 0, sizeof *c);
    snprintf(c->logname, sizeof c->logname, "%s", logname);

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        close(logfd);
        close(nullfd);
        close(errpipe[0]);
        close(errpipe[1]);
        return -1;
    }
    if (pid == 0) {
        /* Child: async-signal-safe calls only until exec. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);  /* the runner died before the line above */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        if (strchr(argv[0], '/'))
            execv(argv[0], argv);
        else
            execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(errpipe[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    /* Parent: also set the group here, so a kill right after fork reaches
     * it whichever side runs first. */
    setpgid(pid, pid);
    c->pid = pid;
    c->live = 1;
    s_nchildren = s_nchildren + 1;
    close(errpipe[1]);
    close(logfd);
    close(nullfd);

    int e = 0;
    ssize_t r;
    do {
        r = read(errpipe[0], &e, sizeof e);
    } while (r < 0 && errno == EINTR);
    close(errpipe[0]);
    if (r == (ssize_t)sizeof e) {
        s_reap(c, 1);
        fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(e));
        return -1;
    }
    return pid;
}

int h_alive(pid_t pid)
{
    s_child_t *c = s_find(pid);
    if (!c)
        return 0;
    return !s_reap(c, 0);
}

int h_wait_exit(pid_t pid, int timeout_ms)
{
    s_child_t *c = s_find(pid);
    if (!c) {
        fprintf(stderr, "harness: pid %d is not a child of the harness\n", (int)pid);
        return -1;
    }
    int64_t deadline = h_now_ms() + timeout_ms;
    while (!s_reap(c, 0)) {
        if (h_now_ms() >= deadline)
            return -1;
        h_sleep_ms(5);
    }
    return c->status;
}

int h_stop(pid_t pid, int sig, int timeout_ms)
{
    s_child_t *c = s_find(pid);
    if (!c) {
        fprintf(stderr, "harness: pid %d is not a child of the harness\n", (int)pid);
        return -1;
    }
    if (!c->live)
        return c->status;
    if (sig != 0 && kill(-pid, sig) < 0)
        kill(pid, sig);
    h_wait_exit(pid, timeout_ms);
    if (!c->live)
        return c->status;
    fprintf(stderr, "harness: %s (pid %d) still running %d ms after signal %d; killing it\n",
            c->logname, (int)pid, timeout_ms, sig);
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    s_reap(c, 1);
    return -1;
}

int h_run(const char *logname, char *const argv[], int timeout_ms)
{
    pid_t pid = h_spawn(logname, argv);
    if (pid < 0)
        return -1;
    int st = h_wait_exit(pid, timeout_ms);
    if (st < 0 && h_alive(pid)) {
        fprintf(stderr, "harness: %s did not finish in %d ms; killing it\n", logname, timeout_ms);
        h_stop(pid, SIGKILL, 1000);
        return -1;
    }
    return st;
}

void h_kill_all(void)
{
    s_kill_live();
}

int h_spawn_count(void)
{
    return s_nchildren;
}

int h_kill_since(int mark)
{
    int killed = 0;
    for (int i = mark < 0 ? 0 : mark; i < s_nchildren; i++) {
        s_child_t *c = &s_children[i];
        if (s_reap(c, 0))
            continue;
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        s_reap(c, 1);
        killed++;
    }
    return killed;
}

void h_print_logs_since(int mark)
{
    for (int i = mark < 0 ? 0 : mark; i < s_nchildren; i++) {
        int seen = 0;
        for (int j = mark < 0 ? 0 : mark; j < i; j++)
            if (strcmp(s_children[j].logname, s_children[i].logname) == 0)
                seen = 1;
        if (!seen)
            h_file_tail(s_children[i].logname);
    }
}

void h_file_tail(const char *logname)
{
    char path[1024], name[H_LOGNAME_SIZE + 8];
    snprintf(name, sizeof name, "%s.log", logname);
    if (h_scratch_path(name, path, sizeof path) < 0)
        return;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "harness: no log %s\n", path);
        return;
    }
    char *buf = malloc(H_TAIL_BYTES + 1);
    if (!buf) {
        fclose(f);
        return;
    }
    long start = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > H_TAIL_BYTES)
            start = size - H_TAIL_BYTES;
    }
    fseek(f, start, SEEK_SET);
    size_t n = fread(buf, 1, H_TAIL_BYTES, f);
    fclose(f);
    buf[n] = '\0';
    /* Walk back over H_TAIL_LINES line ends (ignoring a final newline). */
    size_t from = 0;
    int lines = 0;
    for (size_t i = n; i > 0; i--) {
        if (buf[i - 1] == '\n' && i != n && ++lines == H_TAIL_LINES) {
            from = i;
            break;
        }
    }
    fprintf(stderr, "----- last lines of %s -----\n%s%s----- end of %s -----\n",
            path, buf + from, (n && buf[n - 1] != '\n') ? "\n" : "", name);
    free(buf);
}

int h_wait_file_line(const char *path, char *out, size_t cap, pid_t pid,
                     int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        FILE *f = fopen(path, "r");
        if (f) {
            char line[1024];
            int got = fgets(line, sizeof line, f) != NULL;
            fclose(f);
            size_t n = got ? strlen(line) : 0;
            if (n > 0 && line[n - 1] == '\n') {
                line[n - 1] = '\0';
                if (n > cap) {
                    fprintf(stderr, "harness: first line of %s too long\n", path);
                    return -1;
                }
                memcpy(out, line, n);
                return 0;
            }
        }
        if (pid > 0 && !h_alive(pid))
            return -1;
        if (h_now_ms() >= deadline)
            return -1;
        h_sleep_ms(H_POLL_MS);
    }
}

/* ------------------------------------------------------------------ */
/* dtxd                                                                */
/* ------------------------------------------------------------------ */

static int s_dtxd_launch(h_dtxd_t *self, const char *listen)
{
    char bin[1024];
    if (h_bin_path("dtxd", bin, sizeof bin) < 0)
        return -1;
    char *argv[H_DTXD_MAX_ARGS + 14];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--db";
    argv[n++] = self->db;
    argv[n++] = "--listen";
    argv[n++] = (char *)listen;
    argv[n++] = "--endpoint-file";
    argv[n++] = self->endpoint_file;
    int plain = !h_curve_on(), own_keys = 0;
    for (int i = 0; i < self->nextra; i++) {
        if (strcmp(self->extra[i], "--no-curve") == 0)
            plain = 1;
        else if (strcmp(self->extra[i], "--curve-secret-file") == 0)
            own_keys = 1;
    }
    if (!plain && !own_keys) {
        argv[n++] = "--curve-secret-file";
        argv[n++] = (char *)h_curve_server_file();
        argv[n++] = "--curve-allow-file";
        argv[n++] = (char *)h_curve_allow_file();
    }
    for (int i = 0; i < self->nextra; i++)
        if (strcmp(self->extra[i], "--no-curve") != 0)
            argv[n++] = self->extra[i];
    argv[n] = NULL;

    unlink(self->endpoint_file);
    pid_t pid = h_spawn(self->logname, argv);
    if (pid < 0)
        return -1;
    self->pid = pid;
    return 0;
}

int h_dtxd_ready(h_dtxd_t *self)
{
    pid_t pid = self->pid;
    if (pid <= 0)
        return -1;
    char ep[H_ENDPOINT_SIZE];
    if (h_wait_file_line(self->endpoint_file, ep, sizeof ep, pid, H_START_WAIT_MS) < 0) {
        int st = h_alive(pid) ? -2 : h_stop(pid, 0, 0);
        if (st == -2)
            fprintf(stderr, "harness: dtxd (%s) wrote no endpoint to %s within %d ms\n",
                    self->logname, self->endpoint_file, H_START_WAIT_MS);
        else
            fprintf(stderr, "harness: dtxd (%s) exited with status %d before it was ready\n",
                    self->logname, st);
        h_stop(pid, SIGKILL, 2000);
        self->pid = 0;
        h_file_tail(self->logname);
        return -1;
    }
    memcpy(self->endpoint, ep, sizeof ep);
    return 0;
}

int h_dtxd_spawn(h_dtxd_t *self, const char *db_conninfo,
                 const char *const *extra_args)
{
    if (h_init() < 0)
        return -1;
    if (self->pid > 0 && h_alive(self->pid)) {
        fprintf(stderr, "harness: h_dtxd_start: %s is already running\n", self->logname);
        return -1;
    }
    if (!self->logname[0])
        snprintf(self->logname, sizeof self->logname, "dtxd-%d", ++s_dtxd_counter);
    if (strlen(db_conninfo) >= sizeof self->db) {
        fprintf(stderr, "harness: h_dtxd_start: conninfo too long\n");
        return -1;
    }
    snprintf(self->db, sizeof self->db, "%s", db_conninfo);
    self->nextra = 0;
    for (int i = 0; extra_args && extra_args[i]; i++) {
        if (i >= H_DTXD_MAX_ARGS || strlen(extra_args[i]) >= H_ARG_SIZE) {
            fprintf(stderr, "harness: h_dtxd_start: too many or too long extra arguments\n");
            return -1;
        }
        snprintf(self->extra[i], H_ARG_SIZE, "%s", extra_args[i]);
        self->nextra = i + 1;
    }
    char name[H_LOGNAME_SIZE + 16];
    snprintf(name, sizeof name, "%s.endpoint", self->logname);
    if (h_scratch_path(name, self->endpoint_file, sizeof self->endpoint_file) < 0)
        return -1;
    self->endpoint[0] = '\0';
    self->pid = 0;
    return s_dtxd_launch(self, "tcp://127.0.0.1:*");
}

int h_dtxd_start(h_dtxd_t *self, const char *db_conninfo,
                 const char *const *extra_args)
{
    if (h_dtxd_spawn(self, db_conninfo, extra_args) != 0)
        return -1;
    return h_dtxd_ready(self);
}

int h_dtxd_reload(h_dtxd_t *self)
{
    if (self->pid <= 0 || kill(self->pid, SIGHUP) != 0)
        return -1;
    return 0;
}

int h_dtxd_restart(h_dtxd_t *self)
{
    if (self->pid > 0 && h_alive(self->pid)) {
        fprintf(stderr, "harness: h_dtxd_restart: %s is still running; stop or kill it first\n",
                self->logname);
        return -1;
    }
    if (!self->endpoint[0]) {
        fprintf(stderr, "harness: h_dtxd_restart: %s was never started\n", self->logname);
        return -1;
    }
    char listen[H_ENDPOINT_SIZE];
    memcpy(listen, self->endpoint, sizeof listen);
    if (s_dtxd_launch(self, listen) != 0)
        return -1;
    return h_dtxd_ready(self);
}

int h_dtxd_stop(h_dtxd_t *self)
{
    if (self->pid <= 0)
        return 0;
    int st = h_stop(self->pid, SIGTERM, H_STOP_WAIT_MS);
    if (st != 0) {
        fprintf(stderr, "harness: dtxd (%s) stopped with status %d\n", self->logname, st);
        h_file_tail(self->logname);
    }
    self->pid = 0;
    return st;
}

void h_dtxd_kill(h_dtxd_t *self)
{
    if (self->pid <= 0)
        return;
    h_stop(self->pid, SIGKILL, 5000);
    self->pid = 0;
}

/* ------------------------------------------------------------------ */
/* Participants                                                        */
/* ------------------------------------------------------------------ */

pid_t h_participant_spawn(const char *instance, const char *db_conninfo,
                          const char *endpoint, const char *const *extra_args)
{
    if (h_init() < 0)
        return -1;
    char bin[1024], ready[1024], name[H_LOGNAME_SIZE + 16];
    if (h_testbin_path("test-participant", bin, sizeof bin) < 0)
        return -1;
    snprintf(name, sizeof name, "%s.ready", instance);
    if (h_scratch_path(name, ready, sizeof ready) < 0)
        return -1;
    char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--instance";
    argv[n++] = (char *)instance;
    argv[n++] = "--db";
    argv[n++] = (char *)db_conninfo;
    argv[n++] = "--coordinator";
    argv[n++] = (char *)endpoint;
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    for (int i = 0; extra_args && extra_args[i]; i++) {
        if (n >= 63) {
            fprintf(stderr, "harness: h_participant_start: too many arguments\n");
            return -1;
        }
        argv[n++] = (char *)extra_args[i];
    }
    argv[n] = NULL;
    unlink(ready);
    return h_spawn(instance, argv);
}

int h_participant_ready(const char *instance, pid_t pid)
{
    char ready[1024], name[H_LOGNAME_SIZE + 16];
    snprintf(name, sizeof name, "%s.ready", instance);
    if (pid <= 0 || h_scratch_path(name, ready, sizeof ready) < 0)
        return -1;
    char line[64];
    if (h_wait_file_line(ready, line, sizeof line, pid, H_START_WAIT_MS) < 0) {
        fprintf(stderr, "harness: participant %s not registered within %d ms\n",
                instance, H_START_WAIT_MS);
        h_stop(pid, SIGKILL, 2000);
        h_file_tail(instance);
        return -1;
    }
    return 0;
}

pid_t h_participant_start(const char *instance, const char *db_conninfo,
                          const char *endpoint, const char *const *extra_args)
{
    pid_t pid = h_participant_spawn(instance, db_conninfo, endpoint, extra_args);
    if (pid < 0 || h_participant_ready(instance, pid) != 0)
        return -1;
    return pid;
}
