/*
 * config.c — defaults < file < environment < command line.
 *
 * The command line is scanned twice: first only for --config and --help,
 * so the file can be read before the flags that override it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dtx/config.h"
#include "dtx/types.h"

static const dtx_opt_t *s_find(const dtx_opt_t *opts, const char *name, size_t len)
{
    for (const dtx_opt_t *o = opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static int s_set(const dtx_opt_t *o, const char *value, const char *source,
                 char *err, size_t errlen)
{
    switch (o->kind) {
    case DTX_OPT_STRING:
        if (strlen(value) >= DTX_OPT_STRMAX) {
            snprintf(err, errlen, "--%s: value longer than %d bytes (%s)", o->name,
                     DTX_OPT_STRMAX - 1, source);
            return DTX_ECONFIG;
        }
        strcpy((char *)o->target, value);
        return 0;
    case DTX_OPT_INT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0') {
            snprintf(err, errlen, "--%s: '%.64s' is not a number (%s)", o->name, value, source);
            return DTX_ECONFIG;
        }
        if (v < o->min || v > o->max) {
            snprintf(err, errlen, "--%s: %lld is out of range %lld..%lld (%s)", o->name, v,
                     (long long)o->min, (long long)o->max, source);
            return DTX_ECONFIG;
        }
        *(int64_t *)o->target = v;
        return 0;
    }
    case DTX_OPT_BOOL:
        if (!strcasecmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
            !strcasecmp(value, "on"))
            *(int *)o->target = 1;
        else if (!strcasecmp(value, "0") || !strcasecmp(value, "false") ||
                 !strcasecmp(value, "no") || !strcasecmp(value, "off"))
            *(int *)o->target = 0;
        else {
            snprintf(err, errlen, "--%s: '%.64s' is not a boolean (%s)", o->name, value, source);
            return DTX_ECONFIG;
        }
        return 0;
    }
    return DTX_ECONFIG;
}

static char *s_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int s_load_file(const dtx_opt_t *opts, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--config: cannot open '%s': %s", path, strerror(errno));
        return DTX_ECONFIG;
    }
    char line[DTX_OPT_STRMAX + 128];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char source[64];
        snprintf(source, sizeof source, "%.32s line %d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s: line too long", source);
            rc = DTX_ECONFIG;
            break;
        }
        char *s = s_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s: expected 'name = value'", source);
            rc = DTX_ECONFIG;
            break;
        }
        *eq = '\0';
        char *name = s_trim(s), *value = s_trim(eq + 1);
        const dtx_opt_t *o = s_find(opts, name, strlen(name));
        if (!o) {
            snprintf(err, errlen, "%s: unknown option '%.64s'", source, name);
            rc = DTX_ECONFIG;
            break;
        }
        if ((rc = s_set(o, value, source, err, errlen)) != 0)
            break;
    }
    fclose(f);
    return rc;
}

static void s_env_name(char *out, size_t cap, const char *prefix, const char *name)
{
    size_t n = (size_t)snprintf(out, cap, "%s", prefix);
    for (const char *p = name; *p && n + 1 < cap; p++)
        out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[n < cap ? n : cap - 1] = '\0';
}

void dtx_config_usage(const dtx_opt_t *opts, const char *program, const char *env_prefix,
                      void *stream)
{
    FILE *out = stream;
    fprintf(out, "usage: %s [options]\n\noptions (environment variable in brackets):\n", program);
    fprintf(out, "  --%-22s %s [%sCONFIG]\n", "config FILE", "read options from FILE (name = value)",
            env_prefix);
    for (const dtx_opt_t *o = opts; o->name; o++) {
        char env[96], flag[64];
        s_env_name(env, sizeof env, env_prefix, o->name);
        snprintf(flag, sizeof flag, "%s%s", o->name,
                 o->kind == DTX_OPT_BOOL ? "" : o->kind == DTX_OPT_INT ? " N" : " VALUE");
        fprintf(out, "  --%-22s %s [%s]\n", flag, o->help, env);
    }
    fprintf(out, "  --%-22s %s\n", "help", "print this text");
    fprintf(out, "\nPrecedence: command line > environment > config file > default.\n");
}

int dtx_config_load(const dtx_opt_t *opts, const char *program, const char *env_prefix,
                    int argc, char **argv, char *err, size_t errlen)
{
    char envname[96];
    const char *file = NULL;
    /* Pass 1: --help and --config. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            dtx_config_usage(opts, program, env_prefix, stdout);
            return 1;
        }
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--config: missing value (command line)");
                return DTX_ECONFIG;
            }
            file = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            file = argv[i] + 9;
        }
    }
    if (!file) {
        snprintf(envname, sizeof envname, "%sCONFIG", env_prefix);
        file = getenv(envname);
    }
    if (file && *file) {
        int rc = s_load_file(opts, file, err, errlen);
        if (rc != 0)
            return rc;
    }
    /* Environment. */
    for (const dtx_opt_t *o = opts; o->name; o++) {
        s_env_name(envname, sizeof envname, env_prefix, o->name);
        const char *v = getenv(envname);
        if (v) {
            char source[112];
            snprintf(source, sizeof source, "environment %s", envname);
            int rc = s_set(o, v, source, err, errlen);
            if (rc != 0)
                return rc;
        }
    }
    /* Pass 2: flags. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%.64s' (options start with --)", a);
            return DTX_ECONFIG;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len == 6 && !strncmp(a, "config", 6)) {
            if (!eq)
                i++;
            continue;
        }
        const dtx_opt_t *o = s_find(opts, a, len);
        if (!o) {
            snprintf(err, errlen, "--%.*s: unknown option (try --help)", (int)(len > 64 ? 64 : len), a);
            return DTX_ECONFIG;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (o->kind == DTX_OPT_BOOL)
            value = "1";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            snprintf(err, errlen, "--%s: missing value (command line)", o->name);
            return DTX_ECONFIG;
        }
        int rc = s_set(o, value, "command line", err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}
