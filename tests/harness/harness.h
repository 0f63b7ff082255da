/*
 * tests/harness/harness.h — process and database control for integration
 * tests: real PostgreSQL, real processes, real ZeroMQ.
 *
 * The environment comes from tests/run.sh:
 *   DTX_TEST_PGHOST / DTX_TEST_PGPORT   the private PostgreSQL (unix socket)
 *   DTX_TEST_BIN                        dtxd and the samples
 *   DTX_TEST_TESTBIN                    test-participant
 *   DTX_TEST_DIR                        scratch dir: <logname>.log, endpoint files
 *
 * Processes. h_spawn() starts a child in a process group of its own, with
 * PR_SET_PDEATHSIG(SIGKILL) so it dies with the test runner, its stdout and
 * stderr appended to $DTX_TEST_DIR/<logname>.log. The harness remembers
 * every child; h_kill_all() (run at exit and on SIGINT/SIGTERM) kills and
 * reaps whatever is still running. Reap children only through h_stop /
 * h_wait_exit (never call waitpid(-1, ...) in a test).
 *
 * Typical test:
 *
 *     char db[H_CONNINFO_SIZE];
 *     CU_ASSERT_FATAL(h_db_create("t_confirm_twice", db, sizeof db) == 0);
 *     h_dtxd_t d = {0};
 *     CU_ASSERT_FATAL(h_dtxd_start(&d, db, NULL) == 0);
 *     ... talk to d.endpoint ...
 *     CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);   // 0 also means ASan found nothing
 *
 * Errors: functions returning int give 0 on success and -1 on failure,
 * after printing what failed on stderr (so a failing test explains itself).
 * Not thread-safe: call from the test's main thread only.
 */
#ifndef DTX_TEST_HARNESS_H
#define DTX_TEST_HARNESS_H

#include <signal.h>   /* signal numbers for h_stop */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

#define H_CONNINFO_SIZE  512   /* room for any conninfo the harness builds */
#define H_ENDPOINT_SIZE  256   /* room for a ZeroMQ endpoint */
#define H_LOGNAME_SIZE   64    /* room for a log name */
#define H_DTXD_MAX_ARGS  24    /* extra dtxd arguments kept for a restart */
#define H_ARG_SIZE       256   /* room for one kept argument */

/* Returned by h_db_scalar() when the query failed or gave no value. */
#define H_DB_ERROR INT64_MIN

/* ---------------------------------------------------------------- */
/* Setup and environment                                              */
/* ---------------------------------------------------------------- */

/* Reads the environment, registers h_kill_all() with atexit and installs
 * SIGINT/SIGTERM handlers that kill every child before the runner dies.
 * Idempotent. Returns 0, or -1 when a DTX_TEST_* variable is missing. */
int h_init(void);

/* The environment values (never NULL after a successful h_init(); ""
 * before). */
const char *h_pghost(void);
int         h_pgport(void);
const char *h_bindir(void);
const char *h_testbindir(void);
const char *h_testdir(void);

/* Writes "<dir>/<name>" into out. Returns 0, or -1 when it does not fit.
 * h_bin_path uses DTX_TEST_BIN, h_testbin_path DTX_TEST_TESTBIN,
 * h_scratch_path DTX_TEST_DIR. */
int h_bin_path(const char *name, char *out, size_t cap);
int h_testbin_path(const char *name, char *out, size_t cap);
int h_scratch_path(const char *name, char *out, size_t cap);

/* ---------------------------------------------------------------- */
/* Databases                                                          */
/* ---------------------------------------------------------------- */

/* Tests name databases as if they had the server to themselves. When
 * DTX_TEST_DB_PREFIX is set (tests/integration/run.sh gives each of its
 * parallel shards one), every name but the maintenance database "postgres"
 * is that prefix + name on the server, so two shards sharing one server
 * never meet. h_db_name writes the server's name for name into out. */
int h_db_name(const char *name, char *out, size_t cap);

/* Writes the conninfo of database name into out (no check that it exists). */
int h_db_conninfo(const char *name, char *out, size_t cap);

/* Creates a fresh, empty database name (dropping any database of that name,
 * even with open connections) and writes its conninfo into conninfo_out
 * (may be NULL). name: lower-case letters, digits, '_'. */
int h_db_create(const char *name, char *conninfo_out, size_t cap);

/* Drops database name if it exists. */
int h_db_drop(const char *name);

/* Opens a connection to database name. Returns NULL on failure. The caller
 * closes it with PQfinish. */
PGconn *h_db_connect(const char *name);

/* Runs one statement (printf-style; values must be trusted test data).
 * Returns 0, or -1 on an error. */
int h_db_exec(PGconn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs one query (printf-style) and returns the first column of its first
 * row as an integer; H_DB_ERROR when it failed, returned no row, NULL or
 * text that is not an integer. */
int64_t h_db_scalar(PGconn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Same, copying the value as text into out (cap bytes, NUL-terminated).
 * Returns 0, or -1 when it failed, returned no row or NULL. */
int h_db_scalar_text(PGconn *conn, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- */
/* Processes                                                          */
/* ---------------------------------------------------------------- */

/* Starts argv[0] (a path, or a name looked up in PATH) with argv, stdin
 * from /dev/null, stdout and stderr appended to $DTX_TEST_DIR/<logname>.log.
 * Returns the pid (also its process-group id), or -1 when it could not be
 * started (including exec failure, reported synchronously). */
pid_t h_spawn(const char *logname, char *const argv[]);

/* Sends sig to pid's process group and waits up to timeout_ms for pid to
 * exit; past that sends SIGKILL. Returns its exit status (0..255), 128+N
 * when signal N ended it, or -1 when it had to be killed with SIGKILL after
 * the timeout or is not a known child. sig 0: only wait. */
int h_stop(pid_t pid, int sig, int timeout_ms);

/* Waits up to timeout_ms for pid to exit by itself. Returns its status as
 * h_stop does, or -1 on timeout (it then keeps running). */
int h_wait_exit(pid_t pid, int timeout_ms);

/* 1 while pid is a known child that has not exited yet, 0 otherwise. */
int h_alive(pid_t pid);

/* Spawns argv, waits up to timeout_ms for it to exit and returns its
 * status (as h_wait_exit); on timeout kills it and returns -1. */
int h_run(const char *logname, char *const argv[], int timeout_ms);

/* SIGKILLs every child still running (its whole process group) and reaps
 * it. Safe to call any time, also from the harness's signal handler. */
void h_kill_all(void);

/* Number of children spawned so far. The runner takes it as a mark when a
 * test starts; afterwards h_print_logs_since(mark) prints the logs of the
 * children spawned during that test, and h_kill_since(mark) kills those
 * still running (returning how many it killed). */
int  h_spawn_count(void);
void h_print_logs_since(int mark);
int  h_kill_since(int mark);

/* Prints the last lines of $DTX_TEST_DIR/<logname>.log on stderr. */
void h_file_tail(const char *logname);

/* Lines of $DTX_TEST_DIR/<logname>.log (every start's) that hold needle
 * (NULL: every line); -1 when there is no such log. */
int h_log_count(const char *logname, const char *needle);
/* 1 when a line of $DTX_TEST_DIR/<logname>.log holds needle, else 0
 * (also when there is no such log). */
int h_log_has(const char *logname, const char *needle);
/* Removes $DTX_TEST_DIR/<logname>.log, so what a test reads is its own
 * run's (a scratch folder reused by hand keeps old lines). */
void h_log_remove(const char *logname);
/* Waits until h_log_has(logname, needle); 0, or -1 after timeout_ms. */
int h_wait_log(const char *logname, const char *needle, int timeout_ms);

/* Polls fn(arg) every 20 ms until it returns non-zero (returns 0) or
 * timeout_ms passes (returns -1). fn is called at least once. */
int h_wait_until(int (*fn)(void *arg), void *arg, int timeout_ms);

/* Waits up to timeout_ms for path to exist and hold a newline-terminated
 * first line, copied without the newline into out. When pid > 0 and that
 * process exits meanwhile, gives up at once. Returns 0 or -1. */
int h_wait_file_line(const char *path, char *out, size_t cap, pid_t pid,
                     int timeout_ms);

/* Milliseconds from a monotonic clock. */
int64_t h_now_ms(void);
/* Sleeps ms milliseconds (resumes after signals). */
void h_sleep_ms(int ms);

/* ---------------------------------------------------------------- */
/* CurveZMQ                                                           */
/* ---------------------------------------------------------------- */

/* Every run speaks CURVE, as production does: h_init makes a key set in
 * $DTX_TEST_DIR/curve/ — server.key (dtxd's pair), allow (the allow-list)
 * and test.key (a key named "test" with every role: initiator, operator,
 * participant:*) — and exports DTX_CURVE_KEY_FILE=test.key, so every
 * libdtx peer of the run (in this process and in the children it starts)
 * authenticates with it. Every dtxd the harness starts gets
 * --curve-secret-file and --curve-allow-file, unless its extra arguments
 * name their own or include "--no-curve" (taken out by the harness: a
 * plain, loopback-only dtxd). DTX_TEST_CURVE=0 in the environment turns it
 * all off. */
int h_curve_on(void);

/* Adds a key to the run's allow-list: name and roles as in an allow-list
 * line ("shop", "initiator"; "mallory", "participant:bank-a"). Writes the
 * path of its credentials file (with the server key) into keyfile_out.
 * dtxds started later read it; a running one after h_dtxd_reload. Returns
 * 0 or -1. */
int h_curve_add_key(const char *name, const char *roles, char *keyfile_out, size_t cap);

/* The run's key files (valid after h_init; "" when CURVE is off). */
const char *h_curve_server_file(void);
const char *h_curve_allow_file(void);
const char *h_curve_test_key_file(void);

/* ---------------------------------------------------------------- */
/* dtxd                                                               */
/* ---------------------------------------------------------------- */

/* A dtxd started by the harness. Zero-initialise it; set logname before
 * h_dtxd_start to choose the log name (default "dtxd-N"). */
typedef struct h_dtxd {
    pid_t pid;                               /* running process, 0 when none */
    char  endpoint[H_ENDPOINT_SIZE];         /* bound endpoint (tcp://127.0.0.1:PORT) */
    char  logname[H_LOGNAME_SIZE];           /* $DTX_TEST_DIR/<logname>.log */
    char  endpoint_file[H_CONNINFO_SIZE];    /* where dtxd writes endpoint */
    char  db[H_CONNINFO_SIZE];               /* --db, kept for restarts */
    char  extra[H_DTXD_MAX_ARGS][H_ARG_SIZE];/* extra arguments, kept for restarts */
    int   nextra;                            /* used entries of extra */
} h_dtxd_t;

/* Starts $DTX_TEST_BIN/dtxd --db db_conninfo --listen tcp://127.0.0.1:*
 * --endpoint-file <scratch file> [extra_args...] (extra_args: a
 * NULL-terminated list, may be NULL) and waits up to 10 s for it to write
 * its endpoint into self->endpoint. Returns 0, or -1 (the process is then
 * stopped and its log printed). */
int h_dtxd_start(h_dtxd_t *self, const char *db_conninfo,
                 const char *const *extra_args);

/* h_dtxd_start in two halves, to start several processes together:
 * h_dtxd_spawn starts the process (self->pid) without waiting;
 * h_dtxd_ready waits up to 10 s for its endpoint (on failure stops it and
 * prints its log). Each returns 0 or -1. */
int h_dtxd_spawn(h_dtxd_t *self, const char *db_conninfo,
                 const char *const *extra_args);
int h_dtxd_ready(h_dtxd_t *self);

/* Starts dtxd again with the same database and arguments, listening on the
 * endpoint it had, so participants reconnect to the same address. Call it
 * after h_dtxd_stop or h_dtxd_kill. Returns 0 or -1. */
int h_dtxd_restart(h_dtxd_t *self);

/* SIGTERM, then waits up to 10 s. Returns the exit status (0 for a clean
 * exit without sanitizer findings), 128+N for a signal, -1 after a forced
 * kill. No-op returning 0 when it is not running. */
int h_dtxd_stop(h_dtxd_t *self);

/* SIGKILL (a crash). Returns after it has been reaped. */
void h_dtxd_kill(h_dtxd_t *self);

/* SIGHUP: it re-reads its allow-list. Returns 0 or -1. */
int h_dtxd_reload(h_dtxd_t *self);

/* ---------------------------------------------------------------- */
/* Participants                                                       */
/* ---------------------------------------------------------------- */

/* Starts $DTX_TEST_TESTBIN/test-participant --instance instance --db
 * db_conninfo --coordinator endpoint --ready-file <scratch file>
 * [extra_args...] (one --resource or more belong in extra_args), logging to
 * <instance>.log, and waits up to 10 s until it is registered with its
 * coordinator. Returns the pid, or -1. */
pid_t h_participant_start(const char *instance, const char *db_conninfo,
                          const char *endpoint, const char *const *extra_args);

/* h_participant_start in two halves, to start several participants
 * together: h_participant_spawn starts it and returns the pid (or -1)
 * without waiting; h_participant_ready waits up to 10 s until it is
 * registered, returning 0, or -1 after killing it and printing its log. */
pid_t h_participant_spawn(const char *instance, const char *db_conninfo,
                          const char *endpoint, const char *const *extra_args);
int h_participant_ready(const char *instance, pid_t pid);

#endif
