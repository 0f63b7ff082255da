/*
 * tests/harness/harness_proc.c — see harness.h: child processes
 * (spawn, wait, stop, kill) and their logs.
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
#include "harness_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define H_MAX_CHILDREN   1024  /* children per run */
#define H_TAIL_LINES     60    /* lines h_file_tail prints */
#define H_TAIL_BYTES     (64 * 1024)

typedef struct s_child {
    pid_t pid;                       /* its pid (and process-group id) */
    volatile sig_atomic_t live;      /* 1 until reaped */
    int   status;                    /* h_stop-style status once reaped */
    char  logname[H_LOGNAME_SIZE];   /* log name given to h_spawn */
} s_child_t;

static s_child_t s_children[H_MAX_CHILDREN];
static volatile sig_atomic_t s_nchildren;

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

/* $DTX_TEST_DIR/<logname>.log into path; 0 or -1. */
static int s_log_path(const char *logname, char *path, size_t cap)
{
    char name[H_LOGNAME_SIZE + 8];
    snprintf(name, sizeof name, "%s.log", logname);
    return h_scratch_path(name, path, cap);
}

int h_log_count(const char *logname, const char *needle)
{
    char path[1024];
    if (s_log_path(logname, path, sizeof path) < 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += !needle || strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

int h_log_has(const char *logname, const char *needle)
{
    return h_log_count(logname, needle) > 0;
}

void h_log_remove(const char *logname)
{
    char path[1024];
    if (s_log_path(logname, path, sizeof path) == 0)
        unlink(path);
}

typedef struct s_log_wait {
    const char *logname, *needle;
} s_log_wait_t;

static int s_log_has(void *arg)
{
    const s_log_wait_t *w = arg;
    return h_log_has(w->logname, w->needle);
}

int h_wait_log(const char *logname, const char *needle, int timeout_ms)
{
    s_log_wait_t w = { logname, needle };
    return h_wait_until(s_log_has, &w, timeout_ms);
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

