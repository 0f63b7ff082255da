/*
 * dtx/config.h — option loading shared by every dtx program.
 *
 * A program describes its options once in a table; values come from, in
 * rising precedence: the table's defaults (already in the targets), a
 * config file (`name = value` lines, `#` comments), the environment
 * (PREFIX + NAME upper-cased with '-' as '_', e.g. DTX_PHASE_TIMEOUT_MS)
 * and the command line (`--name value` or `--name=value`; booleans take no
 * value on the command line). `--config FILE` names the file (env
 * PREFIX CONFIG). Every error names the offending option and source.
 */
#ifndef DTX_CONFIG_H
#define DTX_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DTX_OPT_STRING, /* target: char * buffer of DTX_OPT_STRMAX bytes */
    DTX_OPT_INT,    /* target: int64_t, checked against [min, max] */
    DTX_OPT_BOOL    /* target: int, 0/1; file/env accept true/false/1/0/yes/no */
} dtx_opt_kind_t;

#define DTX_OPT_STRMAX 1024

typedef struct dtx_opt {
    const char    *name;   /* long name without dashes: "phase-timeout-ms" */
    dtx_opt_kind_t kind;
    void          *target; /* where the value goes */
    int64_t        min;    /* DTX_OPT_INT bounds */
    int64_t        max;
    const char    *help;   /* one line for --help */
} dtx_opt_t;

/* Loads options (table terminated by an entry with name NULL).
 * Returns 0, 1 when --help was given (usage already printed to stdout),
 * or DTX_ECONFIG with a message in err ("--phase-timeout-ms: 'abc' is not
 * a number (command line)"). Unknown options, missing values, unreadable
 * files and out-of-range numbers are all errors. */
int dtx_config_load(const dtx_opt_t *opts, const char *program,
                    const char *env_prefix, int argc, char **argv,
                    char *err, size_t errlen);

/* Prints the usage text built from the table. */
void dtx_config_usage(const dtx_opt_t *opts, const char *program,
                      const char *env_prefix, void *stream);

#endif
