/*
 * secure: CURVE on tcp:// sockets and the ZAP handler that authenticates
 * clients (see secure.h).
 *
 * CURVE (ZeroMQ RFC 26, CurveZMQ) gives every tcp:// connection perfect
 * forward secrecy and encryption from the server's long-term key pair;
 * authentication of the client is left to a ZAP handler (RFC 27): libzmq
 * sends it the client's long-term public key during the handshake over
 * inproc://zeromq.zap.01 in the same context, and the connection only
 * carries messages after the handler answered "200". Without a handler
 * bound, libzmq 4.3 admits every client, so bl_secure_bind starts the
 * handler before the first CURVE server socket binds.
 *
 * The handler is one small thread with a REP socket. It reads the
 * authorised-keys directory again for every request (a handshake, not a
 * message, so a few file reads per connection), so adding or removing a
 * key file takes effect at the next connection without a restart; a
 * directory that cannot be read refuses everybody. Refusals are logged,
 * at most once per ten seconds for the same key (a refused client keeps
 * reconnecting), with the number of attempts in between.
 */
#include "secure.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "log/log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "blotter"
#define KEY_BYTES 32
#define KEY_FILE_MAX 4096
#define REFUSAL_SLOTS 16
#define REFUSAL_LOG_EVERY_NS 10000000000ull

typedef struct refusal {
    uint8_t key[KEY_BYTES];
    uint64_t logged_ns; /* 0: slot free */
    int64_t quiet;      /* refusals since the last line */
} refusal;

struct bl_secure {
    void *ctx;
    int curve;
    char conf_path[BL_PATH_MAX];
    char server_secret[BL_SECURE_KEY_TEXT]; /* "" when not configured */
    char server_public[BL_SECURE_KEY_TEXT];
    char client_secret[BL_SECURE_KEY_TEXT];
    char client_public[BL_SECURE_KEY_TEXT];
    char authorized_dir[BL_PATH_MAX];

    void *zap;              /* REP socket, owned by the thread once started */
    pthread_t zap_thread;
    int zap_running;
    int stop_pipe[2];
    atomic_llong admitted, refused;
    refusal refusals[REFUSAL_SLOTS]; /* the handler thread's alone */
};

int bl_secure_curve_available(void) { return zmq_has("curve") ? 1 : 0; }

/* ---- Key files ----------------------------------------------------------- */

static int is_z85_char(int c)
{
    return c && strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                       "QRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#", c) != NULL;
}

int bl_secure_key_read(const char *path, int secret,
                       char out[BL_SECURE_KEY_TEXT], bl_err *err)
{
    int rc = BL_OK;
    char *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bl_err_set(err, BL_EIO, "%s: cannot open key file: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = bl_err_set(err, BL_EINVAL, "%s: not a regular file", path);
        goto done;
    }
    if (secret && (st.st_mode & 077)) {
        rc = bl_err_set(err, BL_EINVAL, "%s: secret key file is readable by "
                        "others (mode %03o); make it private: chmod 600 %s",
                        path, (unsigned)(st.st_mode & 0777), path);
        goto done;
    }
    if (st.st_size > KEY_FILE_MAX) {
        rc = bl_err_set(err, BL_EFORMAT, "%s: %lld bytes: too large for a key "
                        "file", path, (long long)st.st_size);
        goto done;
    }
    text = bl_xcalloc(1, KEY_FILE_MAX + 1);
    ssize_t n = read(fd, text, KEY_FILE_MAX);
    if (n < 0) {
        rc = bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    int keys = 0, line_no = 0;
    for (char *line = text, *next; line && *line; line = next) {
        line_no++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
                       line[len - 1] == '\t'))
            line[--len] = '\0';
        while (*line == ' ' || *line == '\t')
            line++, len--;
        if (!len || line[0] == '#')
            continue;
        int ok = len == BL_SECURE_KEY_TEXT - 1;
        for (size_t i = 0; ok && i < len; i++)
            ok = is_z85_char((unsigned char)line[i]);
        if (!ok) {
            rc = bl_err_set(err, BL_EFORMAT, "%s:%d: not a CURVE key (expected "
                            "40 Z85 characters)", path, line_no);
            goto done;
        }
        if (keys++) {
            rc = bl_err_set(err, BL_EFORMAT, "%s:%d: a second key: one key per "
                            "file", path, line_no);
            goto done;
        }
        memcpy(out, line, BL_SECURE_KEY_TEXT);
    }
    if (!keys)
        rc = bl_err_set(err, BL_EFORMAT, "%s: no key in the file", path);
done:
    free(text);
    close(fd);
    return rc;
}

static int write_key_file(const char *path, mode_t mode, const char *comment,
                          const char *key, bl_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return bl_err_set(err, BL_EIO, "%s: %s%s", path, strerror(errno),
                          errno == EEXIST ? " (keys are never overwritten)" : "");
    char text[512];
    int n = snprintf(text, sizeof text, "%s\n%s\n", comment, key);
    int rc = BL_OK;
    /* The mode asked for, whatever the umask. */
    if (fchmod(fd, mode) != 0 || write(fd, text, (size_t)n) != n || fsync(fd) != 0)
        rc = bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == BL_OK)
        rc = bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
    if (rc)
        unlink(path);
    return rc;
}

int bl_secure_keys_make(const char *dir, const char *name,
                        char public_out[BL_SECURE_KEY_TEXT], bl_err *err)
{
    if (!name[0] || strlen(name) > 64 || name[0] == '.')
        return bl_err_set(err, BL_EINVAL, "key name '%s': 1 to 64 characters, "
                          "not starting with '.'", name);
    for (const char *p = name; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._-", *p))
            return bl_err_set(err, BL_EINVAL, "key name '%s': only letters, "
                              "digits, '.', '_' and '-'", name);
    if (!bl_secure_curve_available())
        return bl_err_set(err, BL_EUNSUP, "this libzmq has no CURVE support "
                          "(zmq_has(\"curve\") is false)");
    char pub[BL_SECURE_KEY_TEXT], sec[BL_SECURE_KEY_TEXT];
    if (zmq_curve_keypair(pub, sec) != 0)
        return bl_err_set(err, BL_EINTERNAL, "zmq_curve_keypair: %s",
                          zmq_strerror(errno));
    char pub_path[BL_PATH_MAX], sec_path[BL_PATH_MAX], comment[256];
    if (!bl_snprintf(pub_path, sizeof pub_path, "%s/%s.key", dir, name) ||
        !bl_snprintf(sec_path, sizeof sec_path, "%s/%s.key_secret", dir, name))
        return bl_err_set(err, BL_ELIMIT, "%s: path too long", dir);
    snprintf(comment, sizeof comment, "# blotter CURVE secret key '%s' (Z85). "
             "Keep it private (mode 0600).", name);
    int rc = write_key_file(sec_path, 0600, comment, sec, err);
    if (rc)
        goto done;
    snprintf(comment, sizeof comment, "# blotter CURVE public key '%s' (Z85). "
             "Give it to the hosts that must know it.", name);
    rc = write_key_file(pub_path, 0644, comment, pub, err);
    if (rc) {
        unlink(sec_path);
        goto done;
    }
    if (public_out)
        memcpy(public_out, pub, BL_SECURE_KEY_TEXT);
done:
    memset(sec, 0, sizeof sec);
    return rc;
}

/* ---- The authorised keys ------------------------------------------------- */

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Calls found(key, file) for every *.key file of dir; stops when it
 * returns non-zero and returns that. A file that does not hold a key is an
 * error when strict, else skipped (and reported through `err` if nothing
 * else is). Returns 0 when no key matched, or a negative BL_E code. */
static int scan_authorized(const char *dir, int strict,
                           int (*found)(void *ctx, const uint8_t key[KEY_BYTES],
                                        const char *file),
                           void *fctx, bl_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return bl_err_set(err, BL_EIO, "authorised keys directory %s: %s", dir,
                          strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".key"))
            continue;
        char path[BL_PATH_MAX];
        char text[BL_SECURE_KEY_TEXT];
        uint8_t key[KEY_BYTES];
        bl_err kerr = {0};
        if (!bl_snprintf(path, sizeof path, "%s/%s", dir, e->d_name))
            continue;
        if (bl_secure_key_read(path, 0, text, &kerr) == BL_OK &&
            !zmq_z85_decode(key, text))
            bl_err_set(&kerr, BL_EFORMAT, "%s: not a Z85 key", path);
        if (kerr.code) {
            if (strict)
                rc = bl_err_set(err, kerr.code, "%s", kerr.msg);
            else
                bl_log(BL_LOG_WARN, "authorised key skipped: %s", kerr.msg);
            continue;
        }
        if (found)
            rc = found(fctx, key, e->d_name);
    }
    closedir(d);
    return rc;
}

typedef struct match_ctx {
    const uint8_t *key;
    char file[256];
} match_ctx;

static int match_key(void *ctx, const uint8_t key[KEY_BYTES], const char *file)
{
    match_ctx *m = ctx;
    if (memcmp(m->key, key, KEY_BYTES) != 0)
        return 0;
    bl_strlcpy(m->file, file, sizeof m->file);
    return 1;
}

static int count_key(void *ctx, const uint8_t key[KEY_BYTES], const char *file)
{
    (void)key;
    (void)file;
    (*(int *)ctx)++;
    return 0;
}

/* ---- The ZAP handler ----------------------------------------------------- */

/* Logs a refusal unless the same key was logged in the last ten seconds. */
static void log_refusal(bl_secure *self, const uint8_t key[KEY_BYTES],
                        const char *address, const char *why)
{
    uint64_t now = bl_time_mono_ns();
    refusal *slot = NULL, *oldest = &self->refusals[0];
    for (int i = 0; i < REFUSAL_SLOTS; i++) {
        refusal *r = &self->refusals[i];
        if (r->logged_ns && memcmp(r->key, key, KEY_BYTES) == 0)
            slot = r;
        if (r->logged_ns < oldest->logged_ns)
            oldest = r;
    }
    if (slot && now - slot->logged_ns < REFUSAL_LOG_EVERY_NS) {
        slot->quiet++;
        return;
    }
    int64_t quiet = slot ? slot->quiet : 0;
    if (!slot) {
        slot = oldest;
        memcpy(slot->key, key, KEY_BYTES);
    }
    slot->logged_ns = now;
    slot->quiet = 0;
    char z85[BL_SECURE_KEY_TEXT] = "?";
    zmq_z85_encode(z85, key, KEY_BYTES);
    bl_log(BL_LOG_WARN, "CURVE client refused (ZAP 400): key %s from %s: %s%s",
           z85, address, why,
           quiet ? " (and earlier attempts, not logged one by one)" : "");
}

/* Answers one ZAP request (RFC 27): version, request id, domain, address,
 * routing id, mechanism, credentials. */
static void zap_answer(bl_secure *self)
{
    zmq_msg_t part[8];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->zap, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 8)
            part[n++] = m;
        else
            zmq_msg_close(&m);
    }
    const char *status = "400", *text = "malformed ZAP request";
    char user[BL_SECURE_KEY_TEXT] = "";
    if (n == 7 && zmq_msg_size(&part[0]) == 3 &&
        memcmp(zmq_msg_data(&part[0]), "1.0", 3) == 0) {
        char address[64] = "?";
        size_t alen = zmq_msg_size(&part[3]);
        if (alen >= sizeof address)
            alen = sizeof address - 1;
        memcpy(address, zmq_msg_data(&part[3]), alen);
        address[alen] = '\0';
        int curve = zmq_msg_size(&part[5]) == 5 &&
                    memcmp(zmq_msg_data(&part[5]), "CURVE", 5) == 0 &&
                    zmq_msg_size(&part[6]) == KEY_BYTES;
        if (!curve) {
            text = "only CURVE clients are admitted";
            atomic_fetch_add(&self->refused, 1);
            bl_log(BL_LOG_WARN, "client refused (ZAP 400) from %s: not a CURVE "
                   "handshake", address);
        } else {
            const uint8_t *key = zmq_msg_data(&part[6]);
            match_ctx m = {.key = key};
            bl_err err = {0};
            int rc = scan_authorized(self->authorized_dir, 0, match_key, &m, &err);
            zmq_z85_encode(user, key, KEY_BYTES);
            if (rc == 1) {
                status = "200";
                text = "OK";
                atomic_fetch_add(&self->admitted, 1);
                bl_log(BL_LOG_DEBUG, "CURVE client admitted: %s (%s) from %s",
                       m.file, user, address);
            } else {
                text = "client key not authorised";
                user[0] = '\0';
                atomic_fetch_add(&self->refused, 1);
                char why[BL_ERR_MSG_MAX + 64];
                if (rc < 0)
                    snprintf(why, sizeof why, "%s", err.msg);
                else
                    snprintf(why, sizeof why, "not among the authorised keys "
                             "in %s", self->authorized_dir);
                log_refusal(self, key, address, why);
            }
        }
    }
    /* The reply echoes the request id; the last frame is empty metadata. */
    const void *reply_id = n >= 2 ? zmq_msg_data(&part[1]) : "";
    size_t reply_id_size = n >= 2 ? zmq_msg_size(&part[1]) : 0;
    zmq_send(self->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(self->zap, reply_id, reply_id_size, ZMQ_SNDMORE);
    zmq_send(self->zap, status, 3, ZMQ_SNDMORE);
    zmq_send(self->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(self->zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(self->zap, "", 0, 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&part[i]);
}

static void *zap_main(void *arg)
{
    bl_secure *self = arg;
    for (;;) {
        zmq_pollitem_t items[] = {
            {self->zap, 0, ZMQ_POLLIN, 0},
            {NULL, self->stop_pipe[0], ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break; /* ETERM: the context is going away */
        }
        if (items[1].revents & ZMQ_POLLIN)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            zap_answer(self);
    }
    zmq_close(self->zap);
    self->zap = NULL;
    return NULL;
}

static int zap_start(bl_secure *self, bl_err *err)
{
    if (self->zap_running)
        return BL_OK;
    if (!self->authorized_dir[0])
        return bl_err_set(err, BL_EINVAL, "%s: [security] authorized_keys is "
                          "not set: a CURVE server needs the public keys of the "
                          "clients it admits", self->conf_path);
    if (pipe(self->stop_pipe) != 0)
        return bl_err_set(err, BL_EINTERNAL, "pipe: %s", strerror(errno));
    self->zap = zmq_socket(self->ctx, ZMQ_REP);
    int linger = 0;
    if (!self->zap)
        goto fail;
    zmq_setsockopt(self->zap, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(self->zap, ZAP_ENDPOINT) != 0)
        goto fail;
    /* The socket moves to the handler thread; pthread_create is the full
     * memory barrier ZeroMQ asks for when a socket changes threads. */
    if (pthread_create(&self->zap_thread, NULL, zap_main, self) != 0) {
        errno = EAGAIN;
        goto fail;
    }
    self->zap_running = 1;
    return BL_OK;
fail:;
    int saved = errno;
    if (self->zap)
        zmq_close(self->zap);
    self->zap = NULL;
    close(self->stop_pipe[0]);
    close(self->stop_pipe[1]);
    return bl_err_set(err, BL_EINTERNAL, "ZAP handler %s: %s", ZAP_ENDPOINT,
                      zmq_strerror(saved));
}

/* ---- The object ---------------------------------------------------------- */

static int load_key(bl_secure *self, const char *path, int secret,
                    const char *key_name, char out[BL_SECURE_KEY_TEXT],
                    bl_err *err)
{
    if (!path[0])
        return BL_OK;
    int rc = bl_secure_key_read(path, secret, out, err);
    if (rc)
        bl_err_set(err, rc, "%s: [security] %s: %s", self->conf_path, key_name,
                   err->msg);
    return rc;
}

bl_secure *bl_secure_new(void *ctx, const bl_conf *conf, bl_err *err)
{
    bl_secure *self = bl_xcalloc(1, sizeof *self);
    self->ctx = ctx;
    self->curve = conf->curve;
    self->stop_pipe[0] = self->stop_pipe[1] = -1;
    bl_strlcpy(self->conf_path, conf->path[0] ? conf->path : "the built-in "
               "configuration", sizeof self->conf_path);
    if (!self->curve)
        return self;
    if (!bl_secure_curve_available()) {
        bl_err_set(err, BL_EUNSUP, "%s: [security] curve = on, but this libzmq "
                   "has no CURVE support (zmq_has(\"curve\") is false); install "
                   "a libzmq built with libsodium or set curve = off",
                   self->conf_path);
        goto fail;
    }
    char derived[BL_SECURE_KEY_TEXT];
    if (load_key(self, conf->server_secret_key, 1, "server_secret_key",
                 self->server_secret, err) ||
        load_key(self, conf->server_public_key, 0, "server_public_key",
                 self->server_public, err) ||
        load_key(self, conf->client_secret_key, 1, "client_secret_key",
                 self->client_secret, err))
        goto fail;
    if (self->server_secret[0]) {
        if (zmq_curve_public(derived, self->server_secret) != 0) {
            bl_err_set(err, BL_EFORMAT, "%s: [security] server_secret_key %s: "
                       "not a valid key", self->conf_path, conf->server_secret_key);
            goto fail;
        }
        if (self->server_public[0] && strcmp(derived, self->server_public) != 0) {
            bl_err_set(err, BL_EINVAL, "%s: [security] server_public_key %s is "
                       "not the public half of server_secret_key %s",
                       self->conf_path, conf->server_public_key,
                       conf->server_secret_key);
            goto fail;
        }
        memcpy(self->server_public, derived, sizeof derived);
    }
    if (self->client_secret[0] &&
        zmq_curve_public(self->client_public, self->client_secret) != 0) {
        bl_err_set(err, BL_EFORMAT, "%s: [security] client_secret_key %s: not a "
                   "valid key", self->conf_path, conf->client_secret_key);
        goto fail;
    }
    if (conf->authorized_keys[0]) {
        bl_strlcpy(self->authorized_dir, conf->authorized_keys,
                   sizeof self->authorized_dir);
        int count = 0;
        bl_err kerr = {0};
        if (scan_authorized(self->authorized_dir, 1, count_key, &count, &kerr) < 0) {
            bl_err_set(err, kerr.code, "%s: [security] authorized_keys: %s",
                       self->conf_path, kerr.msg);
            goto fail;
        }
    }
    return self;
fail:
    bl_secure_destroy(&self);
    return NULL;
}

void bl_secure_destroy(bl_secure **pself)
{
    bl_secure *self = *pself;
    if (!self)
        return;
    if (self->zap_running) {
        ssize_t w = write(self->stop_pipe[1], "x", 1);
        (void)w; /* the thread also stops when the context terminates */
        pthread_join(self->zap_thread, NULL);
        close(self->stop_pipe[0]);
        close(self->stop_pipe[1]);
    }
    memset(self->server_secret, 0, sizeof self->server_secret);
    memset(self->client_secret, 0, sizeof self->client_secret);
    free(self);
    *pself = NULL;
}

static int is_tcp(const char *endpoint)
{
    return strncmp(endpoint, "tcp://", 6) == 0;
}

int bl_secure_bind(bl_secure *self, void *socket, const char *endpoint,
                   bl_err *err)
{
    if (self->curve && is_tcp(endpoint)) {
        if (!self->server_secret[0])
            return bl_err_set(err, BL_EINVAL, "%s: [security] server_secret_key "
                              "is not set: binding %s with curve = on needs it",
                              self->conf_path, endpoint);
        int rc = zap_start(self, err);
        if (rc)
            return rc;
        int on = 1;
        if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &on, sizeof on) != 0 ||
            zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, self->server_secret,
                           BL_SECURE_KEY_TEXT - 1) != 0 ||
            zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN,
                           strlen(ZAP_DOMAIN)) != 0)
            return bl_err_set(err, BL_EINTERNAL, "CURVE server options for %s: "
                              "%s", endpoint, zmq_strerror(errno));
    }
    if (zmq_bind(socket, endpoint) != 0)
        return bl_err_set(err, BL_EINTERNAL, "bind %s: %s", endpoint,
                          zmq_strerror(errno));
    return BL_OK;
}

int bl_secure_connect(bl_secure *self, void *socket, const char *endpoint,
                      bl_err *err)
{
    if (self->curve && is_tcp(endpoint)) {
        if (!self->server_public[0] || !self->client_secret[0])
            return bl_err_set(err, BL_EINVAL, "%s: [security] %s is not set: "
                              "connecting to %s with curve = on needs it",
                              self->conf_path,
                              !self->client_secret[0] ? "client_secret_key"
                                                      : "server_public_key",
                              endpoint);
        if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, self->server_public,
                           BL_SECURE_KEY_TEXT - 1) != 0 ||
            zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, self->client_public,
                           BL_SECURE_KEY_TEXT - 1) != 0 ||
            zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, self->client_secret,
                           BL_SECURE_KEY_TEXT - 1) != 0)
            return bl_err_set(err, BL_EINTERNAL, "CURVE client options for %s: "
                              "%s", endpoint, zmq_strerror(errno));
    }
    if (zmq_connect(socket, endpoint) != 0)
        return bl_err_set(err, BL_EINTERNAL, "connect %s: %s", endpoint,
                          zmq_strerror(errno));
    return BL_OK;
}

int64_t bl_secure_admitted(const bl_secure *self)
{
    return atomic_load(&((bl_secure *)self)->admitted);
}

int64_t bl_secure_refused(const bl_secure *self)
{
    return atomic_load(&((bl_secure *)self)->refused);
}
