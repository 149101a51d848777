/*
 * secure: ZeroMQ CURVE encryption and authentication for tcp:// sockets.
 *
 * With [security] curve = on in pipeline.conf, every socket a blotter
 * process binds to a tcp:// endpoint is a CURVE server holding the
 * pipeline's server key pair, and every socket it connects to one is a
 * CURVE client holding this host's client key pair and the server's public
 * key. A binding process runs a ZAP handler (ZeroMQ RFC 27) that admits a
 * client only if its public key is one of the files in the authorised-keys
 * directory; a refused client is logged and never gets a message through.
 * ipc:// endpoints live in a private directory (mode 0700) and stay as
 * they are; inproc:// never leaves the process.
 *
 * Key files are text: '#' comment lines and one line holding the key in
 * Z85 (40 characters, ZeroMQ RFC 32). `blotter keys` writes them; a secret
 * key file must not be readable by group or others.
 *
 * One bl_secure belongs to one ZeroMQ context (the ZAP handler is bound in
 * that context): make it after zmq_ctx_new and destroy it before
 * zmq_ctx_term.
 */
#ifndef BL_SECURE_H
#define BL_SECURE_H

#include <stdint.h>

#include "conf/conf.h"
#include "util/util.h"

/* A key in Z85 text: 40 characters and the terminating NUL. */
#define BL_SECURE_KEY_TEXT 41

typedef struct bl_secure bl_secure;

/* 1 if this libzmq was built with CURVE (zmq_has("curve")), else 0. */
int bl_secure_curve_available(void);

/* Reads one key from a key file. `secret` non-zero also checks that the
 * file is private (no group or other permissions). BL_OK, or BL_EIO /
 * BL_EFORMAT / BL_EINVAL with a message naming the file. */
int bl_secure_key_read(const char *path, int secret,
                       char out[BL_SECURE_KEY_TEXT], bl_err *err);

/* Makes a new key pair and writes DIR/NAME.key (the public key, mode 0644)
 * and DIR/NAME.key_secret (the secret key, mode 0600). Refuses to replace
 * existing files and names that are not [A-Za-z0-9._-]. The public key is
 * written to public_out when non-NULL. */
int bl_secure_keys_make(const char *dir, const char *name,
                        char public_out[BL_SECURE_KEY_TEXT], bl_err *err);

/* Reads the keys the configuration names. With curve = off this succeeds
 * and every bind/connect is plain. With curve = on it fails when libzmq has
 * no CURVE or a configured key file or the authorised-keys directory is
 * unusable; keys a process does not need may be left unset (a host that
 * only connects needs no server secret key). NULL on failure. */
bl_secure *bl_secure_new(void *ctx, const bl_conf *conf, bl_err *err);

/* Stops the ZAP handler. Accepts NULL; nulls the pointer. */
void bl_secure_destroy(bl_secure **pself);

/* zmq_bind / zmq_connect with the CURVE options the endpoint needs. A
 * bind to tcp:// with curve = on first starts the ZAP handler, so that no
 * client is ever admitted without the check. */
int bl_secure_bind(bl_secure *self, void *socket, const char *endpoint,
                   bl_err *err);
int bl_secure_connect(bl_secure *self, void *socket, const char *endpoint,
                      bl_err *err);

/* Clients the ZAP handler admitted and refused so far. */
int64_t bl_secure_admitted(const bl_secure *self);
int64_t bl_secure_refused(const bl_secure *self);

#endif
