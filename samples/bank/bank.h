/*
 * samples/bank/bank.h — what the two bank sample programs share:
 *
 *  - the branch payload, a JSON object {"account":"alice","amount":1250}
 *    (amounts are integer cents, always > 0), built and parsed with json-c;
 *  - the transfer line the initiator reads:
 *        bank-a:alice -> bank-b:bob 1250 [rollback]      # comment
 *  - the seed list of a bank: "alice=10000,bob=5000";
 *  - the configuration both programs take from their command line.
 *
 * bank-participant (participant.c) serves one bank as a TCC resource with
 * the actions debit and credit, and as a 2PC resource with the same
 * actions (dtx/pgres.h); bank-transfer (transfer.c) is the initiator that
 * moves money between banks, in TCC (default) or 2PC (--mode 2pc).
 */
#ifndef DTX_SAMPLE_BANK_H
#define DTX_SAMPLE_BANK_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"

#define BANK_LIST_MAX     16                   /* coordinators, seeds */
#define BANK_TRANSFER_MAX 256                  /* --transfer lines */
#define BANK_AMOUNT_MAX   INT64_C(100000000000000) /* 10^12 units, in cents */
#define BANK_PAYLOAD_MAX  (DTX_NAME_SIZE + 64) /* room for an encoded payload */

/* One debit or credit: which account, how many cents. */
typedef struct bank_payload {
    char    account[DTX_NAME_SIZE];  /* [A-Za-z0-9._-], 1..63 bytes */
    int64_t amount;                  /* cents, 1..BANK_AMOUNT_MAX */
} bank_payload_t;

/* One line of a transfer batch. */
typedef struct bank_transfer {
    char    from_bank[DTX_NAME_SIZE];     /* resource that is debited */
    char    from_account[DTX_NAME_SIZE];  /* account debited */
    char    to_bank[DTX_NAME_SIZE];       /* resource that is credited */
    char    to_account[DTX_NAME_SIZE];    /* account credited */
    int64_t amount;                       /* cents */
    int     rollback;                     /* 1: the initiator rolls back after both tries */
} bank_transfer_t;

/* An account and the balance it is seeded with. */
typedef struct bank_seed {
    char    account[DTX_NAME_SIZE];  /* account id */
    int64_t balance;                 /* cents, >= 0 */
} bank_seed_t;

/* Which program parses its flags (they accept different sets). */
#define BANK_PROG_PARTICIPANT 1
#define BANK_PROG_TRANSFER    2

/* Configuration from the command line (pointers into argv). */
typedef struct bank_config {
    const char *coordinators[BANK_LIST_MAX];  /* --coordinator, repeatable */
    int         ncoordinators;
    int         heartbeat_ms;                 /* --heartbeat-ms (participant) */
    /* bank-participant */
    const char *resource;                     /* --resource: the bank's resource name */
    const char *db;                           /* --db: the bank's own database */
    const char *instance;                     /* --instance (default <resource>-1) */
    const char *seed;                         /* --seed "alice=10000,bob=5000" */
    const char *ready_file;                   /* --ready-file: written once registered */
    int         lock_timeout_ms;              /* --lock-timeout-ms: 2PC lock waits (0: pgres default) */
    /* bank-transfer */
    const char *file;                         /* --file: batch file, "-" for stdin */
    const char *transfers[BANK_TRANSFER_MAX]; /* --transfer LINE, repeatable */
    int         ntransfers;
    int         wait_final;                   /* --wait-final */
    int         wait_timeout_ms;              /* --wait-timeout-ms (default 30000) */
    int         txn_timeout_ms;               /* --timeout-ms: per transaction (default 30000) */
    int         call_timeout_ms;              /* --call-timeout-ms: per call (default 10000) */
    int         mode;                         /* --mode tcc|2pc: DTX_MODE_* (default TCC) */
} bank_config_t;

/* Encodes {"account":account,"amount":amount} into out (NUL-terminated).
 * Returns its length, or DTX_EINVAL for a bad account or amount,
 * DTX_ETOOBIG when it does not fit in cap. */
int bank_payload_encode(const char *account, int64_t amount, char *out, size_t cap);

/* Parses a payload of len bytes (not NUL-terminated). Returns 0 or
 * DTX_EINVAL (not JSON, not an object, missing/invalid field). */
int bank_payload_decode(const void *buf, size_t len, bank_payload_t *out);

/* 1 when name is a valid account id, 0 otherwise. */
int bank_account_valid(const char *name);

/* Parses one batch line. Returns 1 with *out filled, 0 for a blank or
 * comment line, DTX_EINVAL for a malformed one (*err_out, when not NULL,
 * points to a static reason). */
int bank_transfer_parse(const char *line, bank_transfer_t *out, const char **err_out);

/* Parses "alice=10000,bob=5000" into out (at most max). Returns the number
 * of seeds or DTX_EINVAL. */
int bank_seed_parse(const char *spec, bank_seed_t *out, int max);

/* Formats cents as "12.50" (or "-0.05"). */
void bank_format_cents(int64_t cents, char *out, size_t cap);

/* Parses argv for program (BANK_PROG_*) into cfg, with defaults. Prints
 * the reason and returns DTX_EINVAL on bad usage; exits 0 after --help. */
int bank_config_parse(bank_config_t *cfg, int program, int argc, char **argv);

/* Prints the usage of program to stderr (or stdout after --help). */
void bank_usage(int program, int to_stdout);

#endif
