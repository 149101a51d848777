/*
 * secure: key files (made, read, refused), and CURVE over real tcp://
 * sockets on the loopback: an authorised client's message arrives, an
 * unauthorised or plain client's never does and is counted as refused,
 * a key removed from the directory is refused at the next connection,
 * and missing keys are errors naming them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "secure/secure.h"

static char tmp[64];

static void make_tmp(void)
{
    bl_strlcpy(tmp, "/tmp/bl-secure-XXXXXX", sizeof tmp);
    cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(secure, .init = make_tmp, .fini = remove_tmp, .timeout = 60);

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmp, name);
}

static void write_text(const char *name, const char *text, mode_t mode)
{
    char p[256];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
}

Test(secure, libzmq_has_curve)
{
    cr_assert_eq(bl_secure_curve_available(), 1,
                 "Debian 12's libzmq is built with CURVE");
}

Test(secure, makes_a_key_pair_with_private_secret)
{
    char pub[BL_SECURE_KEY_TEXT], read_back[BL_SECURE_KEY_TEXT], p[256];
    bl_err err = {0};
    cr_assert_eq(bl_secure_keys_make(tmp, "host-a", pub, &err), BL_OK, "%s", err.msg);
    struct stat st;
    path_of(p, sizeof p, "host-a.key_secret");
    cr_assert_eq(stat(p, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);
    char sec[BL_SECURE_KEY_TEXT], derived[BL_SECURE_KEY_TEXT];
    cr_assert_eq(bl_secure_key_read(p, 1, sec, &err), BL_OK, "%s", err.msg);
    path_of(p, sizeof p, "host-a.key");
    cr_assert_eq(stat(p, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0644);
    cr_assert_eq(bl_secure_key_read(p, 0, read_back, &err), BL_OK, "%s", err.msg);
    cr_expect_str_eq(read_back, pub);
    cr_assert_eq(zmq_curve_public(derived, sec), 0);
    cr_expect_str_eq(derived, pub, "the two files are one pair");
}

Test(secure, never_overwrites_and_checks_names)
{
    bl_err err = {0};
    cr_assert_eq(bl_secure_keys_make(tmp, "k", NULL, &err), BL_OK);
    cr_expect_eq(bl_secure_keys_make(tmp, "k", NULL, &err), BL_EIO);
    cr_expect(strstr(err.msg, "never overwritten"), "%s", err.msg);
    cr_expect_eq(bl_secure_keys_make(tmp, "../k", NULL, &err), BL_EINVAL);
    cr_expect_eq(bl_secure_keys_make(tmp, "", NULL, &err), BL_EINVAL);
    cr_expect_eq(bl_secure_keys_make(tmp, ".hidden", NULL, &err), BL_EINVAL);
}

Test(secure, refuses_bad_key_files)
{
    char key[BL_SECURE_KEY_TEXT], p[256];
    bl_err err = {0};
    char pub[BL_SECURE_KEY_TEXT], sec[BL_SECURE_KEY_TEXT], text[200];
    cr_assert_eq(zmq_curve_keypair(pub, sec), 0);

    snprintf(text, sizeof text, "# comment\n\n  %s  \n", sec);
    write_text("ok", text, 0600);
    path_of(p, sizeof p, "ok");
    cr_expect_eq(bl_secure_key_read(p, 1, key, &err), BL_OK, "%s", err.msg);
    cr_expect_str_eq(key, sec);

    write_text("open", text, 0644);
    path_of(p, sizeof p, "open");
    cr_expect_eq(bl_secure_key_read(p, 1, key, &err), BL_EINVAL);
    cr_expect(strstr(err.msg, "chmod 600"), "%s", err.msg);
    cr_expect_eq(bl_secure_key_read(p, 0, key, &err), BL_OK, "public: any mode");

    write_text("short", "abc\n", 0600);
    path_of(p, sizeof p, "short");
    cr_expect_eq(bl_secure_key_read(p, 1, key, &err), BL_EFORMAT);
    cr_expect(strstr(err.msg, ":1: not a CURVE key"), "%s", err.msg);

    snprintf(text, sizeof text, "%s\n%s\n", pub, pub);
    write_text("two", text, 0600);
    path_of(p, sizeof p, "two");
    cr_expect_eq(bl_secure_key_read(p, 1, key, &err), BL_EFORMAT);
    cr_expect(strstr(err.msg, "a second key"), "%s", err.msg);

    write_text("none", "# nothing\n", 0600);
    path_of(p, sizeof p, "none");
    cr_expect_eq(bl_secure_key_read(p, 1, key, &err), BL_EFORMAT);

    path_of(p, sizeof p, "missing");
    cr_expect_eq(bl_secure_key_read(p, 1, key, &err), BL_EIO);
    cr_expect(strstr(err.msg, "missing"), "%s", err.msg);
}

/* A configuration with CURVE on: server pair, client `client`, and the
 * authorised directory holding the public keys named. */
static void curve_conf(bl_conf *c, const char *client, const char *const *authorised)
{
    bl_err err = {0};
    char dir[256];
    path_of(dir, sizeof dir, "auth");
    mkdir(dir, 0755);
    for (const char *const *a = authorised; *a; a++) {
        char src[256], dst[256], cmd[600];
        path_of(src, sizeof src, *a);
        snprintf(dst, sizeof dst, "%s/%s", dir, *a);
        snprintf(cmd, sizeof cmd, "cp '%s.key' '%s.key'", src, dst);
        cr_assert_eq(system(cmd), 0);
    }
    bl_conf_defaults(c);
    c->curve = 1;
    snprintf(c->server_secret_key, sizeof c->server_secret_key,
             "%s/server.key_secret", tmp);
    snprintf(c->client_secret_key, sizeof c->client_secret_key,
             "%s/%s.key_secret", tmp, client);
    bl_strlcpy(c->authorized_keys, dir, sizeof c->authorized_keys);
    (void)err;
}

static void make_keys(void)
{
    bl_err err = {0};
    const char *names[] = {"server", "good", "rogue"};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(bl_secure_keys_make(tmp, names[i], NULL, &err), BL_OK, "%s",
                     err.msg);
}

typedef struct ends {
    void *ctx;
    bl_secure *server, *client;
    void *pull, *push;
    char ep[128];
} ends;

/* A PULL server and a PUSH client in two contexts (two processes, in
 * effect), both from configurations; the client sends "hello". */
static void connect_pair(ends *e, const bl_conf *server_conf,
                         const bl_conf *client_conf, void **client_ctx)
{
    bl_err err = {0};
    e->ctx = zmq_ctx_new();
    *client_ctx = zmq_ctx_new();
    e->server = bl_secure_new(e->ctx, server_conf, &err);
    cr_assert_not_null(e->server, "%s", err.msg);
    e->client = bl_secure_new(*client_ctx, client_conf, &err);
    cr_assert_not_null(e->client, "%s", err.msg);
    e->pull = zmq_socket(e->ctx, ZMQ_PULL);
    e->push = zmq_socket(*client_ctx, ZMQ_PUSH);
    int zero = 0;
    zmq_setsockopt(e->pull, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(e->push, ZMQ_LINGER, &zero, sizeof zero);
    cr_assert_eq(bl_secure_bind(e->server, e->pull, "tcp://127.0.0.1:*", &err),
                 BL_OK, "%s", err.msg);
    size_t n = sizeof e->ep;
    zmq_getsockopt(e->pull, ZMQ_LAST_ENDPOINT, e->ep, &n);
    cr_assert_eq(bl_secure_connect(e->client, e->push, e->ep, &err), BL_OK, "%s",
                 err.msg);
    cr_assert_eq(zmq_send(e->push, "hello", 5, ZMQ_DONTWAIT), 5);
}

/* 1 if "hello" arrives within ms. */
static int arrives(void *pull, int ms)
{
    zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, ms) <= 0)
        return 0;
    char buf[8];
    return zmq_recv(pull, buf, sizeof buf, ZMQ_DONTWAIT) == 5 &&
           memcmp(buf, "hello", 5) == 0;
}

static void close_pair(ends *e, void *client_ctx)
{
    zmq_close(e->push);
    zmq_close(e->pull);
    bl_secure_destroy(&e->client);
    bl_secure_destroy(&e->server);
    cr_assert_null(e->server);
    zmq_ctx_term(client_ctx);
    zmq_ctx_term(e->ctx);
}

Test(secure, admits_an_authorised_client)
{
    make_keys();
    bl_conf *sc = malloc(sizeof *sc), *cc = malloc(sizeof *cc);
    const char *const auth[] = {"good", NULL};
    curve_conf(sc, "good", auth);
    curve_conf(cc, "good", auth);
    ends e;
    void *cctx;
    connect_pair(&e, sc, cc, &cctx);
    cr_expect(arrives(e.pull, 5000), "an authorised client's message arrives");
    cr_expect_eq(bl_secure_admitted(e.server), 1);
    cr_expect_eq(bl_secure_refused(e.server), 0);
    close_pair(&e, cctx);
    free(sc);
    free(cc);
}

Test(secure, refuses_an_unauthorised_client)
{
    make_keys();
    bl_conf *sc = malloc(sizeof *sc), *cc = malloc(sizeof *cc);
    const char *const auth[] = {"good", NULL};
    curve_conf(sc, "good", auth);
    curve_conf(cc, "rogue", auth);
    ends e;
    void *cctx;
    connect_pair(&e, sc, cc, &cctx);
    cr_expect_not(arrives(e.pull, 1500), "nothing from a refused client");
    cr_expect_geq(bl_secure_refused(e.server), 1);
    cr_expect_eq(bl_secure_admitted(e.server), 0);
    close_pair(&e, cctx);
    free(sc);
    free(cc);
}

Test(secure, refuses_a_plain_client)
{
    make_keys();
    bl_conf *sc = malloc(sizeof *sc), *cc = malloc(sizeof *cc);
    const char *const auth[] = {"good", NULL};
    curve_conf(sc, "good", auth);
    bl_conf_defaults(cc); /* curve = off: a plain tcp client */
    ends e;
    void *cctx;
    connect_pair(&e, sc, cc, &cctx);
    cr_expect_not(arrives(e.pull, 1500), "nothing from a plain client");
    close_pair(&e, cctx);
    free(sc);
    free(cc);
}

Test(secure, a_removed_key_is_refused_at_the_next_connection)
{
    make_keys();
    bl_conf *sc = malloc(sizeof *sc), *cc = malloc(sizeof *cc);
    const char *const auth[] = {"good", NULL};
    curve_conf(sc, "good", auth);
    curve_conf(cc, "good", auth);
    char p[256];
    path_of(p, sizeof p, "auth/good.key");
    cr_assert_eq(unlink(p), 0);
    ends e;
    void *cctx;
    connect_pair(&e, sc, cc, &cctx);
    cr_expect_not(arrives(e.pull, 1500));
    cr_expect_geq(bl_secure_refused(e.server), 1);
    close_pair(&e, cctx);
    free(sc);
    free(cc);
}

Test(secure, off_is_plain_and_ipc_is_never_curve)
{
    bl_conf *c = malloc(sizeof *c);
    bl_conf_defaults(c);
    bl_err err = {0};
    void *ctx = zmq_ctx_new();
    bl_secure *s = bl_secure_new(ctx, c, &err);
    cr_assert_not_null(s, "%s", err.msg);
    void *pull = zmq_socket(ctx, ZMQ_PULL), *push = zmq_socket(ctx, ZMQ_PUSH);
    char ep[128];
    snprintf(ep, sizeof ep, "ipc://%s/sock", tmp);
    cr_assert_eq(bl_secure_bind(s, pull, ep, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(bl_secure_connect(s, push, ep, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(zmq_send(push, "hello", 5, 0), 5);
    cr_expect(arrives(pull, 5000));
    int mech = -1;
    size_t n = sizeof mech;
    zmq_getsockopt(pull, ZMQ_MECHANISM, &mech, &n);
    cr_expect_eq(mech, ZMQ_NULL);
    zmq_close(push);
    zmq_close(pull);
    bl_secure_destroy(&s);
    zmq_ctx_term(ctx);
    free(c);
}

Test(secure, missing_keys_are_named)
{
    make_keys();
    bl_conf *c = malloc(sizeof *c);
    const char *const auth[] = {"good", NULL};
    bl_err err = {0};
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_PULL);

    curve_conf(c, "good", auth);
    c->server_secret_key[0] = '\0';
    bl_secure *s = bl_secure_new(ctx, c, &err);
    cr_assert_not_null(s, "%s", err.msg);
    cr_expect_eq(bl_secure_bind(s, sock, "tcp://127.0.0.1:*", &err), BL_EINVAL);
    cr_expect(strstr(err.msg, "server_secret_key"), "%s", err.msg);
    bl_secure_destroy(&s);

    curve_conf(c, "good", auth);
    c->client_secret_key[0] = '\0';
    s = bl_secure_new(ctx, c, &err);
    cr_assert_not_null(s);
    cr_expect_eq(bl_secure_connect(s, sock, "tcp://127.0.0.1:9", &err), BL_EINVAL);
    cr_expect(strstr(err.msg, "client_secret_key"), "%s", err.msg);
    bl_secure_destroy(&s);

    curve_conf(c, "good", auth);
    c->authorized_keys[0] = '\0';
    s = bl_secure_new(ctx, c, &err);
    cr_assert_not_null(s);
    cr_expect_eq(bl_secure_bind(s, sock, "tcp://127.0.0.1:*", &err), BL_EINVAL);
    cr_expect(strstr(err.msg, "authorized_keys"), "%s", err.msg);
    bl_secure_destroy(&s);

    /* A public key that is not the secret's other half. */
    curve_conf(c, "good", auth);
    snprintf(c->server_public_key, sizeof c->server_public_key, "%s/good.key", tmp);
    cr_expect_null(bl_secure_new(ctx, c, &err));
    cr_expect(strstr(err.msg, "not the public half"), "%s", err.msg);

    /* A broken file among the authorised keys stops the start. */
    curve_conf(c, "good", auth);
    write_text("auth/broken.key", "not a key\n", 0644);
    cr_expect_null(bl_secure_new(ctx, c, &err));
    cr_expect(strstr(err.msg, "broken.key"), "%s", err.msg);

    zmq_close(sock);
    zmq_ctx_term(ctx);
    free(c);
}
