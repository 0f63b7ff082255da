/*
 * samples/bank/bank.c — payload, batch line, seed and flag parsing shared by
 * bank-participant and bank-transfer (see bank.h).
 */
#include "bank.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include "../sample_log.h"


int bank_account_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > DTX_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

static int s_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > DTX_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != ':')
            return 0;
    }
    return 1;
}

static int s_amount_valid(int64_t amount)
{
    return amount > 0 && amount <= BANK_AMOUNT_MAX;
}

/* Parses a decimal integer filling the whole of s. */
static int s_parse_int64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || !(isdigit((unsigned char)*s) || *s == '-'))
        return DTX_EINVAL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return DTX_EINVAL;
    *out = (int64_t)v;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Payload                                                             */
/* ------------------------------------------------------------------ */

int bank_payload_encode(const char *account, int64_t amount, char *out, size_t cap)
{
    if (!bank_account_valid(account) || !s_amount_valid(amount))
        return DTX_EINVAL;
    json_object *obj = json_object_new_object();
    if (!obj)
        return DTX_ENOMEM;
    json_object_object_add(obj, "account", json_object_new_string(account));
    json_object_object_add(obj, "amount", json_object_new_int64(amount));
    const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    int rc;
    size_t n = s ? strlen(s) : 0;
    if (!s)
        rc = DTX_ENOMEM;
    else if (n >= cap)
        rc = DTX_ETOOBIG;
    else {
        memcpy(out, s, n + 1);
        rc = (int)n;
    }
    json_object_put(obj);
    return rc;
}

int bank_payload_decode(const void *buf, size_t len, bank_payload_t *out)
{
    if (!buf || len == 0 || len > 4096)
        return DTX_EINVAL;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return DTX_ENOMEM;
    json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
    int rc = DTX_EINVAL;
    if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len || !json_object_is_type(obj, json_type_object))
        goto done;
    json_object *account, *amount;
    if (!json_object_object_get_ex(obj, "account", &account) ||
        !json_object_is_type(account, json_type_string) ||
        !json_object_object_get_ex(obj, "amount", &amount) ||
        !json_object_is_type(amount, json_type_int))
        goto done;
    const char *acc = json_object_get_string(account);
    errno = 0;
    int64_t cents = json_object_get_int64(amount);
    if (errno || !bank_account_valid(acc) || !s_amount_valid(cents))
        goto done;
    memcpy(out->account, acc, strlen(acc) + 1);
    out->amount = cents;
    rc = 0;
done:
    json_object_put(obj);
    json_tokener_free(tok);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Batch lines and seeds                                               */
/* ------------------------------------------------------------------ */

/* Splits "bank:account" at its last ':' (bank names may hold ':'). */
static int s_split_endpoint(const char *s, size_t n, char *bank, char *account)
{
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (!colon)
        return DTX_EINVAL;
    size_t nb = (size_t)(colon - s), na = n - nb - 1;
    if (nb == 0 || nb > DTX_NAME_MAX || na == 0 || na > DTX_NAME_MAX)
        return DTX_EINVAL;
    memcpy(bank, s, nb);
    bank[nb] = '\0';
    memcpy(account, colon + 1, na);
    account[na] = '\0';
    return (s_name_valid(bank) && bank_account_valid(account)) ? 0 : DTX_EINVAL;
}

int bank_transfer_parse(const char *line, bank_transfer_t *out, const char **err_out)
{
    const char *why = NULL;
    char buf[512];
    size_t n = strcspn(line, "#\r\n");
    if (n >= sizeof buf) {
        why = "line too long";
        goto bad;
    }
    memcpy(buf, line, n);
    buf[n] = '\0';

    /* Tokens: FROM, "->", TO, AMOUNT, ["rollback"]; "->" may touch its
     * neighbours. */
    char *arrow = strstr(buf, "->");
    char *p = buf;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return 0;
    if (!arrow) {
        why = "expected 'from-bank:account -> to-bank:account amount [rollback]'";
        goto bad;
    }
    *arrow = '\0';
    char *save = NULL;
    char *from = strtok_r(p, " \t", &save);
    char *extra = from ? strtok_r(NULL, " \t", &save) : NULL;
    char *to = strtok_r(arrow + 2, " \t", &save);
    char *amount = to ? strtok_r(NULL, " \t", &save) : NULL;
    char *flag = amount ? strtok_r(NULL, " \t", &save) : NULL;
    char *rest = flag ? strtok_r(NULL, " \t", &save) : NULL;
    if (!from || extra || !to || !amount || rest) {
        why = "expected 'from-bank:account -> to-bank:account amount [rollback]'";
        goto bad;
    }
    memset(out, 0, sizeof *out);
    if (s_split_endpoint(from, strlen(from), out->from_bank, out->from_account) < 0 ||
        s_split_endpoint(to, strlen(to), out->to_bank, out->to_account) < 0) {
        why = "bank:account expected on both sides of '->'";
        goto bad;
    }
    if (s_parse_int64(amount, &out->amount) < 0 || !s_amount_valid(out->amount)) {
        why = "amount must be a positive integer number of cents";
        goto bad;
    }
    if (flag) {
        if (strcmp(flag, "rollback") != 0) {
            why = "only 'rollback' may follow the amount";
            goto bad;
        }
        out->rollback = 1;
    }
    return 1;
bad:
    if (err_out)
        *err_out = why;
    return DTX_EINVAL;
}

int bank_seed_parse(const char *spec, bank_seed_t *out, int max)
{
    int n = 0;
    const char *p = spec;
    while (*p) {
        size_t len = strcspn(p, ",");
        char item[128];
        if (len == 0 || len >= sizeof item || n >= max)
            return DTX_EINVAL;
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '=');
        if (!eq)
            return DTX_EINVAL;
        *eq = '\0';
        if (!bank_account_valid(item) || s_parse_int64(eq + 1, &out[n].balance) < 0 ||
            out[n].balance < 0 || out[n].balance > BANK_AMOUNT_MAX)
            return DTX_EINVAL;
        memcpy(out[n].account, item, strlen(item) + 1);
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    return n;
}

void bank_format_cents(int64_t cents, char *out, size_t cap)
{
    uint64_t abs = cents < 0 ? (uint64_t)(-(cents + 1)) + 1 : (uint64_t)cents;
    snprintf(out, cap, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "", abs / 100, abs % 100);
}

/* ------------------------------------------------------------------ */
/* Flags                                                               */
/* ------------------------------------------------------------------ */

void bank_usage(int program, int to_stdout)
{
    FILE *out = to_stdout ? stdout : stderr;
    if (program == BANK_PROG_PARTICIPANT)
        fprintf(out,
                "usage: bank-participant --resource NAME --db CONNINFO --coordinator ENDPOINT...\n"
                "                        [--instance NAME] [--seed alice=10000,bob=5000]\n"
                "                        [--ready-file FILE] [--heartbeat-ms N] [--log-level LEVEL]\n"
                "                        [--lock-timeout-ms N]\n"
                "Serves one bank as TCC resource NAME (actions debit and credit) over its own\n"
                "database (table accounts, amounts in cents), and as a 2PC resource when the\n"
                "server allows prepared transactions. --seed creates or resets accounts.\n"
                "--lock-timeout-ms bounds a 2PC prepare's (and abort's) wait for a row lock,\n"
                "e.g. an account another branch holds prepared (default 2000; keep it well\n"
                "below the coordinator's --try-timeout-ms).\n");
    else
        fprintf(out,
                "usage: bank-transfer --coordinator ENDPOINT [--file FILE|-] [--transfer LINE]...\n"
                "                     [--wait-final] [--wait-timeout-ms N] [--timeout-ms N]\n"
                "                     [--call-timeout-ms N] [--mode tcc|2pc] [--log-level LEVEL]\n"
                "Runs each transfer as one TCC transaction: TRY debit, TRY credit, COMMIT (or\n"
                "ROLLBACK when the line ends with 'rollback'); with --mode 2pc as one 2PC\n"
                "transaction (the TRYs enlist, COMMIT prepares both banks). A line reads\n"
                "    bank-a:alice -> bank-b:bob 1250 [rollback]     # amount in cents\n"
                "--wait-final waits until every transaction is committed or aborted.\n"
                "Exit status: 0 when every transfer ended as expected, 1 otherwise, 2 bad usage.\n");
}

static int s_parse_ms(const char *flag, const char *s, int min, int *out)
{
    int64_t v;
    if (s_parse_int64(s, &v) < 0 || v < min || v > 86400000) {
        fprintf(stderr, "%s wants a number of milliseconds\n", flag);
        return DTX_EINVAL;
    }
    *out = (int)v;
    return 0;
}

int bank_config_parse(bank_config_t *cfg, int program, int argc, char **argv)
{
    enum { O_COORD = 1, O_HB, O_LOG, O_RESOURCE, O_DB, O_INSTANCE, O_SEED, O_READY, O_FILE,
           O_TRANSFER, O_WAIT, O_WAIT_TIMEOUT, O_TIMEOUT, O_CALL_TIMEOUT, O_MODE, O_LOCK_TIMEOUT,
           O_HELP };
    static const struct option participant_opts[] = {
        { "coordinator", required_argument, NULL, O_COORD },
        { "heartbeat-ms", required_argument, NULL, O_HB },
        { "log-level", required_argument, NULL, O_LOG },
        { "resource", required_argument, NULL, O_RESOURCE },
        { "db", required_argument, NULL, O_DB },
        { "instance", required_argument, NULL, O_INSTANCE },
        { "seed", required_argument, NULL, O_SEED },
        { "ready-file", required_argument, NULL, O_READY },
        { "lock-timeout-ms", required_argument, NULL, O_LOCK_TIMEOUT },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    static const struct option transfer_opts[] = {
        { "coordinator", required_argument, NULL, O_COORD },
        { "log-level", required_argument, NULL, O_LOG },
        { "file", required_argument, NULL, O_FILE },
        { "transfer", required_argument, NULL, O_TRANSFER },
        { "wait-final", no_argument, NULL, O_WAIT },
        { "wait-timeout-ms", required_argument, NULL, O_WAIT_TIMEOUT },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT },
        { "call-timeout-ms", required_argument, NULL, O_CALL_TIMEOUT },
        { "mode", required_argument, NULL, O_MODE },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *prog = program == BANK_PROG_PARTICIPANT ? "bank-participant" : "bank-transfer";
    memset(cfg, 0, sizeof *cfg);
    cfg->wait_timeout_ms = 30000;
    cfg->txn_timeout_ms = 30000;
    cfg->call_timeout_ms = 10000;
    cfg->mode = DTX_MODE_TCC;

    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "",
                            program == BANK_PROG_PARTICIPANT ? participant_opts : transfer_opts,
                            NULL)) != -1) {
        switch (c) {
        case O_COORD:
            if (cfg->ncoordinators >= BANK_LIST_MAX) {
                fprintf(stderr, "%s: at most %d coordinators\n", prog, BANK_LIST_MAX);
                return DTX_EINVAL;
            }
            cfg->coordinators[cfg->ncoordinators++] = optarg;
            break;
        case O_HB:
            if (s_parse_ms("--heartbeat-ms", optarg, 1, &cfg->heartbeat_ms) < 0)
                return DTX_EINVAL;
            break;
        case O_LOG: {
            int level = dtx_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "%s: --log-level wants debug, info, warn or error\n", prog);
                return DTX_EINVAL;
            }
            sample_log_set_level(level);
            break;
        }
        case O_RESOURCE: cfg->resource = optarg; break;
        case O_DB: cfg->db = optarg; break;
        case O_INSTANCE: cfg->instance = optarg; break;
        case O_SEED: cfg->seed = optarg; break;
        case O_READY: cfg->ready_file = optarg; break;
        case O_LOCK_TIMEOUT:
            if (s_parse_ms("--lock-timeout-ms", optarg, 1, &cfg->lock_timeout_ms) < 0)
                return DTX_EINVAL;
            break;
        case O_FILE: cfg->file = optarg; break;
        case O_TRANSFER:
            if (cfg->ntransfers >= BANK_TRANSFER_MAX) {
                fprintf(stderr, "%s: at most %d --transfer lines (use --file)\n", prog,
                        BANK_TRANSFER_MAX);
                return DTX_EINVAL;
            }
            cfg->transfers[cfg->ntransfers++] = optarg;
            break;
        case O_WAIT: cfg->wait_final = 1; break;
        case O_WAIT_TIMEOUT:
            if (s_parse_ms("--wait-timeout-ms", optarg, 0, &cfg->wait_timeout_ms) < 0)
                return DTX_EINVAL;
            break;
        case O_TIMEOUT:
            if (s_parse_ms("--timeout-ms", optarg, 0, &cfg->txn_timeout_ms) < 0)
                return DTX_EINVAL;
            break;
        case O_CALL_TIMEOUT:
            if (s_parse_ms("--call-timeout-ms", optarg, 1, &cfg->call_timeout_ms) < 0)
                return DTX_EINVAL;
            break;
        case O_MODE:
            if (strcmp(optarg, "tcc") == 0) {
                cfg->mode = DTX_MODE_TCC;
            } else if (strcmp(optarg, "2pc") == 0) {
                cfg->mode = DTX_MODE_2PC;
            } else {
                fprintf(stderr, "%s: --mode is tcc or 2pc\n", prog);
                return DTX_EINVAL;
            }
            break;
        case O_HELP:
            bank_usage(program, 1);
            exit(0);
        default:
            return DTX_EINVAL;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        return DTX_EINVAL;
    }
    if (cfg->ncoordinators == 0) {
        fprintf(stderr, "%s: --coordinator is required\n", prog);
        return DTX_EINVAL;
    }
    if (program == BANK_PROG_PARTICIPANT) {
        if (!cfg->resource || !s_name_valid(cfg->resource) || !cfg->db) {
            fprintf(stderr, "%s: --resource NAME ([A-Za-z0-9._:-]) and --db are required\n",
                    prog);
            return DTX_EINVAL;
        }
        if (cfg->instance && !s_name_valid(cfg->instance)) {
            fprintf(stderr, "%s: --instance must be 1..63 of [A-Za-z0-9._:-]\n", prog);
            return DTX_EINVAL;
        }
    } else {
        if (cfg->ncoordinators > 1) {
            fprintf(stderr, "%s: give one --coordinator\n", prog);
            return DTX_EINVAL;
        }
        if (!cfg->file && cfg->ntransfers == 0) {
            fprintf(stderr, "%s: nothing to do: give --file or --transfer\n", prog);
            return DTX_EINVAL;
        }
    }
    return 0;
}
