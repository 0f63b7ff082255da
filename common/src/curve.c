/*
 * curve.c — CurveZMQ credentials files and client socket options (the
 * contract and the file format are in dtx/curve.h).
 *
 * Loading is strict because a lenient reader of a security file hides
 * mistakes: every line is a comment, a blank, or one of three known names
 * given once; keys are checked (Z85, 32 bytes, public matching secret)
 * before anyone uses them. Buffers that held a secret are wiped
 * (explicit_bzero) before they are released; messages name the file and
 * line, never a key.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "dtx/curve.h"
#include "dtx/types.h"

#define S_LINE_MAX 256 /* longest line accepted, newline included */

int dtx_curve_key_valid(const char *z85)
{
    if (!z85 || strlen(z85) != DTX_CURVE_KEY_LEN)
        return 0;
    uint8_t bin[32];
    int ok = zmq_z85_decode(bin, z85) != NULL;
    explicit_bzero(bin, sizeof bin);
    return ok;
}

/* The public key of secret (Z85) equals public (Z85). */
static int s_pair_matches(const char *public_key, const char *secret_key)
{
    char derived[DTX_CURVE_KEY_LEN + 1];
    int ok = zmq_curve_public(derived, secret_key) == 0 &&
             strcmp(derived, public_key) == 0;
    explicit_bzero(derived, sizeof derived);
    return ok;
}

static int s_name_char(int c)
{
    return isalnum(c) || c == '-' || c == '_';
}

/* Splits a line (no newline) into name and value in place. Returns 0, or
 * DTX_ECONFIG when it is not `name = value`. */
static int s_split(char *line, char **name, char **value)
{
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    *name = p;
    while (s_name_char((unsigned char)*p))
        p++;
    if (p == *name)
        return DTX_ECONFIG;
    char *name_end = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '=')
        return DTX_ECONFIG;
    *name_end = '\0';
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    char *e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1]))
        *--e = '\0';
    *value = p;
    return 0;
}

/* The message for a file that holds a secret and is open to others. */
static int s_too_open(const char *path, const struct stat *st, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "CURVE key file '%.200s' has mode %04o: it holds a secret key, so group and "
             "others must have no access (chmod 600 it)",
             path, (unsigned)(st->st_mode & 07777));
    return DTX_ECONFIG;
}

/* Reads path into *out. want_secret: the file must hold a key pair, and
 * its mode is checked before anything is read; otherwise secret-key is
 * optional and the mode is checked only when the file turns out to hold
 * one. */
static int s_load(const char *path, dtx_curve_keys_t *out, int want_secret, char *err,
                  size_t errlen)
{
    static const char *const names[3] = { "public-key", "secret-key", "server-key" };
    memset(out, 0, sizeof *out);
    if (!path || !*path) {
        snprintf(err, errlen, "no CURVE key file given");
        return DTX_ECONFIG;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open CURVE key file '%.200s': %s", path, strerror(errno));
        return DTX_ECONFIG;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "CURVE key file '%.200s' is not a regular file", path);
        close(fd);
        return DTX_ECONFIG;
    }
    int open_to_others = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
    if (want_secret && open_to_others) {
        close(fd);
        return s_too_open(path, &st, err, errlen);
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read CURVE key file '%.200s': %s", path, strerror(errno));
        close(fd);
        return DTX_ECONFIG;
    }

    char *slots[3] = { out->public_key, out->secret_key, out->server_key };
    int seen_line[3] = { 0, 0, 0 };
    char line[S_LINE_MAX];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(f)) {
            snprintf(err, errlen, "%.200s line %d: line too long", path, lineno);
            rc = DTX_ECONFIG;
            break;
        }
        const char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        char *name, *value;
        if (s_split(line, &name, &value) != 0) {
            snprintf(err, errlen, "%.200s line %d: expected 'name = value'", path, lineno);
            rc = DTX_ECONFIG;
            break;
        }
        int k = 0;
        while (k < 3 && strcmp(name, names[k]) != 0)
            k++;
        if (k == 3) {
            snprintf(err, errlen,
                     "%.200s line %d: unknown name '%.40s' (public-key, secret-key, server-key)",
                     path, lineno, name);
            rc = DTX_ECONFIG;
        } else if (seen_line[k]) {
            snprintf(err, errlen, "%.200s line %d: %s given twice (first on line %d)", path,
                     lineno, names[k], seen_line[k]);
            rc = DTX_ECONFIG;
        } else if (!dtx_curve_key_valid(value)) {
            snprintf(err, errlen, "%.200s line %d: %s is not a CURVE key (40 Z85 characters)",
                     path, lineno, names[k]);
            rc = DTX_ECONFIG;
        } else {
            memcpy(slots[k], value, DTX_CURVE_KEY_LEN + 1);
            seen_line[k] = lineno;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "cannot read CURVE key file '%.200s': %s", path, strerror(errno));
        rc = DTX_ECONFIG;
    }
    explicit_bzero(line, sizeof line);
    fclose(f);

    if (rc == 0 && seen_line[1] && open_to_others)
        rc = s_too_open(path, &st, err, errlen);
    if (rc == 0 && (!seen_line[0] || (want_secret && !seen_line[1]))) {
        snprintf(err, errlen, "CURVE key file '%.200s' has no %s", path,
                 !seen_line[0] ? names[0] : names[1]);
        rc = DTX_ECONFIG;
    }
    if (rc == 0 && seen_line[1] && !s_pair_matches(out->public_key, out->secret_key)) {
        snprintf(err, errlen, "CURVE key file '%.200s': public-key is not the public key of "
                 "secret-key", path);
        rc = DTX_ECONFIG;
    }
    if (rc != 0)
        explicit_bzero(out, sizeof *out);
    return rc;
}

int dtx_curve_keys_load(const char *path, dtx_curve_keys_t *out, char *err, size_t errlen)
{
    return s_load(path, out, 1, err, errlen);
}

int dtx_curve_public_key_load(const char *path, char public_key[DTX_CURVE_KEY_LEN + 1],
                              char *err, size_t errlen)
{
    dtx_curve_keys_t keys;
    int rc = s_load(path, &keys, 0, err, errlen);
    public_key[0] = '\0';
    if (rc == 0)
        memcpy(public_key, keys.public_key, DTX_CURVE_KEY_LEN + 1);
    explicit_bzero(&keys, sizeof keys);
    return rc;
}

int dtx_curve_keys_generate(dtx_curve_keys_t *out)
{
    memset(out, 0, sizeof *out);
    if (zmq_curve_keypair(out->public_key, out->secret_key) != 0) {
        explicit_bzero(out, sizeof *out);
        return DTX_EIO;
    }
    return 0;
}

/* Writes all of buf. Returns 0, or DTX_EIO with errno set. */
static int s_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return DTX_EIO;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int dtx_curve_keys_save(const char *path, const dtx_curve_keys_t *keys, char *err,
                        size_t errlen)
{
    if (!path || !*path) {
        snprintf(err, errlen, "no CURVE key file given");
        return DTX_ECONFIG;
    }
    if (!dtx_curve_key_valid(keys->public_key) || !dtx_curve_key_valid(keys->secret_key) ||
        (keys->server_key[0] && !dtx_curve_key_valid(keys->server_key)) ||
        !s_pair_matches(keys->public_key, keys->secret_key)) {
        snprintf(err, errlen, "not writing '%.200s': the keys are malformed or do not match",
                 path);
        return DTX_ECONFIG;
    }
    char text[512];
    int len = snprintf(text, sizeof text,
                       "# dtx CURVE credentials: keep secret (mode 0600)\n"
                       "public-key = %s\n"
                       "secret-key = %s\n",
                       keys->public_key, keys->secret_key);
    if (keys->server_key[0])
        len += snprintf(text + len, sizeof text - (size_t)len,
                        "# the coordinator's public key\n"
                        "server-key = %s\n",
                        keys->server_key);

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        explicit_bzero(text, sizeof text);
        if (e == EEXIST) {
            snprintf(err, errlen, "'%.200s' exists: not overwritten (remove it first)", path);
            return DTX_ECONFIG;
        }
        snprintf(err, errlen, "cannot create '%.200s': %s", path, strerror(e));
        return DTX_EIO;
    }
    /* The mode given to open() passes through the umask; make it exact. */
    int rc = 0;
    if (fchmod(fd, 0600) != 0 || s_write_all(fd, text, (size_t)len) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write '%.200s': %s", path, strerror(errno));
        rc = DTX_EIO;
    }
    explicit_bzero(text, sizeof text);
    if (close(fd) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write '%.200s': %s", path, strerror(errno));
        rc = DTX_EIO;
    }
    if (rc != 0)
        unlink(path);
    return rc;
}

int dtx_curve_apply_client(void *zmq_socket, const dtx_curve_keys_t *keys)
{
    if (!dtx_curve_key_valid(keys->server_key)) {
        errno = EINVAL;
        return DTX_EIO;
    }
    if (zmq_setsockopt(zmq_socket, ZMQ_CURVE_SERVERKEY, keys->server_key,
                       DTX_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(zmq_socket, ZMQ_CURVE_PUBLICKEY, keys->public_key,
                       DTX_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(zmq_socket, ZMQ_CURVE_SECRETKEY, keys->secret_key,
                       DTX_CURVE_KEY_LEN) != 0)
        return DTX_EIO;
    return 0;
}
