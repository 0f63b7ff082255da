/*
 * dtx/curve.h — CurveZMQ credentials shared by dtxd, libdtx and dtxctl:
 * the key file, its checks, and the socket options of a CURVE client.
 *
 * A credentials file is text, one `name = value` per line; a line whose
 * first non-blank character is '#' is a comment, blank lines are ignored:
 *
 *   # dtx CURVE credentials: keep secret (mode 0600)
 *   public-key = <40 Z85 characters>
 *   secret-key = <40 Z85 characters>
 *   server-key = <40 Z85 characters>   (peers only: the coordinator's public key)
 *
 * The name ends at the first '=' (spaces around it are optional); the value
 * is the rest of the line without surrounding blanks. Z85 keys may hold
 * '#', '=' and other punctuation, so nothing after the '=' is a comment.
 * The file holds a secret: it must not be readable or writable by group or
 * others (refused as ssh refuses an open private key), and no key is ever
 * written to a log or an error message. Internal: not installed.
 */
#ifndef DTX_CURVE_H
#define DTX_CURVE_H

#include <stddef.h>

#define DTX_CURVE_KEY_LEN 40           /* Z85 text of a 32-byte CURVE key */

typedef struct dtx_curve_keys {
    char public_key[DTX_CURVE_KEY_LEN + 1];  /* this side's public key */
    char secret_key[DTX_CURVE_KEY_LEN + 1];  /* this side's secret key */
    char server_key[DTX_CURVE_KEY_LEN + 1];  /* the coordinator's public key; "" when absent */
} dtx_curve_keys_t;

/* 1 when z85 is 40 characters that decode (zmq_z85_decode) to 32 bytes,
 * else 0 (also for NULL). */
int dtx_curve_key_valid(const char *z85);

/* Loads a credentials file into *out (zeroed first). Returns 0, or
 * DTX_ECONFIG with a message in err (naming the file and line, never a
 * key): unreadable, group/world-accessible, a line too long, an unknown
 * or repeated name, a line that is not `name = value`, a malformed key,
 * public-key or secret-key missing, or a public key that is not the
 * secret key's (zmq_curve_public). server-key is optional here; the
 * caller decides whether it needs one. */
int dtx_curve_keys_load(const char *path, dtx_curve_keys_t *out, char *err, size_t errlen);

/* Reads only the public-key of path into public_key ("" on failure): a
 * credentials file (checked as by dtx_curve_keys_load, mode included), or
 * a file of public keys alone (any mode: nothing in it is secret), such as
 * the coordinator's public key handed to its peers. Returns 0 or
 * DTX_ECONFIG with a message in err. */
int dtx_curve_public_key_load(const char *path, char public_key[DTX_CURVE_KEY_LEN + 1],
                              char *err, size_t errlen);

/* A fresh key pair (zmq_curve_keypair) in *out; server_key is "".
 * Returns 0 or DTX_EIO (libzmq built without CURVE). */
int dtx_curve_keys_generate(dtx_curve_keys_t *out);

/* Writes keys to path in the format above, mode 0600, never over an
 * existing file (O_EXCL). server-key is written when not "". Returns 0,
 * DTX_ECONFIG (the file exists, or keys are malformed or do not match:
 * nothing written) or DTX_EIO (cannot create or write it: a partial file is
 * removed), with a message in err. */
int dtx_curve_keys_save(const char *path, const dtx_curve_keys_t *keys, char *err,
                        size_t errlen);

/* Sets the options of a CURVE client on zmq_socket (before it connects):
 * ZMQ_CURVE_SERVERKEY, ZMQ_CURVE_PUBLICKEY, ZMQ_CURVE_SECRETKEY. keys must
 * hold a server key. Returns 0 or DTX_EIO (errno from zmq_setsockopt). */
int dtx_curve_apply_client(void *zmq_socket, const dtx_curve_keys_t *keys);

#endif
