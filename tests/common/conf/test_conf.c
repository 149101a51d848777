/*
 * conf: the shipped pipeline.conf loads and equals the built-in defaults;
 * bad files fail naming file, line and key; relative paths resolve
 * against the file's directory; endpoints expand per instance.
 * Fixtures live in tests/data/conf/.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"

#define FIXTURE(name) BL_TEST_DATA_DIR "/conf/" name

static bl_conf *conf_new(void)
{
    bl_conf *c = malloc(sizeof *c);
    cr_assert_not_null(c);
    bl_conf_defaults(c);
    return c;
}

Test(conf, defaults_are_as_documented)
{
    bl_conf *c = conf_new();
    cr_assert_str_eq(c->path, "");
    cr_assert_str_eq(c->database, "blotter.db");
    cr_assert_str_eq(c->runtime_dir, "");
    cr_assert_str_eq(c->log_level, "info");
    cr_assert_str_eq(c->log_file, "");
    cr_assert_str_eq(c->templates, BL_SOURCE_DIR "/templates");
    cr_assert_eq(c->start_timeout_s, 30);
    cr_assert_eq(c->drain_timeout_s, 10);
    cr_assert_eq(c->retry_timeout_s, 60);
    cr_assert_eq(c->max_restarts, 5);
    cr_assert_str_eq(c->endpoint[BL_STAGE_FRONT], "ipc://{run}/events");
    cr_assert_str_eq(c->endpoint[BL_STAGE_CLASSIFY], "ipc://{run}/classify");
    cr_assert_str_eq(c->control_endpoint, "ipc://{run}/control");
    cr_assert_str_eq(c->metrics_endpoint, "ipc://{run}/metrics");
    for (int s = 0; s < BL_STAGE_COUNT; s++)
        cr_assert_eq(c->instances[s], 1);
    cr_assert_str_eq(c->model[BL_STAGE_CLASSIFY],
                     BL_SOURCE_DIR "/models/classify-cnn.blm");
    cr_assert_str_eq(c->model[BL_STAGE_INGEST],
                     BL_SOURCE_DIR "/models/ingest-orient.blm");
    cr_assert_str_eq(c->model[BL_STAGE_DETECT],
                     BL_SOURCE_DIR "/models/detect-regions.blm");
    cr_assert_str_eq(c->model[BL_STAGE_SEGMENT],
                     BL_SOURCE_DIR "/models/segment-cuts.blm");
    cr_assert_eq(c->max_page_pixels, 100000000u);
    cr_assert_eq(c->max_pages_per_file, 10000u);
    cr_assert_eq(c->max_file_bytes, 2147483648u);
    cr_assert_eq(c->max_fields_per_page, 256u);
    cr_assert_eq(c->max_digits_per_page, 4096u);
    cr_assert_eq(c->max_message_bytes, 268435456u);
    cr_assert_eq(c->high_water_mark, 16);
    free(c);
}

Test(conf, shipped_file_loads_and_equals_defaults)
{
    bl_conf *def = conf_new(), *c = conf_new();
    bl_err err = {0};
    int rc = bl_conf_load(c, BL_SOURCE_DIR "/pipeline.conf", &err);
    cr_assert_eq(rc, BL_OK, "%s", err.msg);
    cr_assert_str_eq(c->path, BL_SOURCE_DIR "/pipeline.conf");
    cr_assert_str_eq(c->database, def->database);
    cr_assert_str_eq(c->runtime_dir, def->runtime_dir);
    cr_assert_str_eq(c->log_level, def->log_level);
    cr_assert_str_eq(c->log_file, def->log_file);
    cr_assert_eq(c->start_timeout_s, def->start_timeout_s);
    cr_assert_eq(c->drain_timeout_s, def->drain_timeout_s);
    cr_assert_eq(c->retry_timeout_s, def->retry_timeout_s);
    cr_assert_eq(c->max_restarts, def->max_restarts);
    for (int s = 0; s < BL_STAGE_COUNT; s++) {
        cr_assert_str_eq(c->endpoint[s], def->endpoint[s]);
        cr_assert_eq(c->instances[s], def->instances[s]);
        cr_assert_str_eq(c->model[s], def->model[s], "model of %s",
                         bl_stage_name((bl_stage_id)s));
    }
    cr_assert_str_eq(c->control_endpoint, def->control_endpoint);
    cr_assert_eq(c->max_page_pixels, def->max_page_pixels);
    cr_assert_eq(c->max_pages_per_file, def->max_pages_per_file);
    cr_assert_eq(c->max_file_bytes, def->max_file_bytes);
    cr_assert_eq(c->max_fields_per_page, def->max_fields_per_page);
    cr_assert_eq(c->max_digits_per_page, def->max_digits_per_page);
    cr_assert_eq(c->max_message_bytes, def->max_message_bytes);
    cr_assert_eq(c->high_water_mark, def->high_water_mark);
    cr_assert_eq(c->start_local_stages, def->start_local_stages);
    cr_assert_eq(c->curve, def->curve);
    cr_assert_str_eq(c->server_secret_key, def->server_secret_key);
    cr_assert_str_eq(c->server_public_key, def->server_public_key);
    cr_assert_str_eq(c->client_secret_key, def->client_secret_key);
    cr_assert_str_eq(c->authorized_keys, def->authorized_keys);
    free(def);
    free(c);
}

/* Every key of the shipped file is documented by a comment just above it
 * (the file is the operators' manual). */
Test(conf, shipped_file_documents_every_key)
{
    FILE *f = fopen(BL_SOURCE_DIR "/pipeline.conf", "r");
    cr_assert_not_null(f);
    char line[256], prev[256] = "";
    int keys = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != '#' && line[0] != '[' && strchr(line, '=')) {
            keys++;
            /* Per-stage lists share the comment above the first of them. */
            cr_assert(prev[0] == '#' || strchr(prev, '='), "undocumented: %s",
                      line);
        }
        if (line[0] != '\n')
            bl_strlcpy(prev, line, sizeof prev);
    }
    fclose(f);
    /* [pipeline] 10, [endpoints] 8, [instances] 5, [models] 5, [limits] 6,
     * [queues] 1, [security] 5 */
    cr_assert_eq(keys, 10 + 8 + 5 + 5 + 6 + 1 + 5, "every key present once");
}

typedef struct bad_file {
    const char *file;
    int line;
    const char *key;    /* "[section] key" expected in the message */
    const char *reason;
} bad_file;

/* Parameters are case numbers; see test_msg.c for why. */
static const bad_file bad_files[] = {
    {"unknown_key.conf", 3, "[pipeline] databse", "unknown key"},
    {"unknown_section.conf", 5, "[pipelines] database", "unknown section"},
    {"bad_integer.conf", 3, "[limits] max_page_pixels",
     "not a positive integer: 'ten'"},
    {"trailing_junk.conf", 2, "[pipeline] start_timeout", "'30s'"},
    {"negative.conf", 2, "[queues] high_water_mark", "'-1'"},
    {"zero_instances.conf", 3, "[instances] detect", "out of range 1..64"},
    {"many_instances.conf", 2, "[instances] classify", "out of range 1..64"},
    {"two_writers.conf", 3, "[instances] write", "must be 1"},
    {"bad_scheme.conf", 3, "[endpoints] detect", "must start with ipc://"},
    {"overflow.conf", 2, "[limits] max_file_bytes", "too large"},
    {"overflow_u32.conf", 2, "[limits] max_pages_per_file", "out of range"},
    {"zero_timeout.conf", 2, "[pipeline] drain_timeout", "out of range"},
    {"tcp_no_port.conf", 2, "[endpoints] classify", "needs a port"},
    {"duplicate.conf", 3, "[pipeline] log_level", "set twice (first on line 2)"},
    {"bad_level.conf", 2, "[pipeline] log_level", "'loud'"},
    {"indented.conf", 3, "[pipeline] log_level", "continuation lines"},
    {"overlap.conf", 3, "[endpoints] segment", "also used by [endpoints] detect"},
    {"syntax.conf", 2, "", "syntax error"},
    {"bad_switch.conf", 3, "[security] curve", "'yes': expected on or off"},
};
#define BAD_FILES ((int)(sizeof bad_files / sizeof bad_files[0]))

ParameterizedTestParameters(conf, rejects_bad_file)
{
    static int index[BAD_FILES];
    for (int i = 0; i < BAD_FILES; i++)
        index[i] = i;
    return cr_make_param_array(int, index, BAD_FILES);
}

ParameterizedTest(int *ci, conf, rejects_bad_file)
{
    const bad_file *b = &bad_files[*ci];
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/conf/%s", BL_TEST_DATA_DIR, b->file);
    bl_conf *c = conf_new(), *before = conf_new();
    bl_err err = {0};
    int rc = bl_conf_load(c, path, &err);
    cr_assert_eq(rc, BL_EINVAL, "%s: rc %d: %s", b->file, rc, err.msg);
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "%s:%d: %s", path, b->line, b->key);
    cr_assert(strstr(err.msg, where), "'%s' lacks '%s'", err.msg, where);
    cr_assert(strstr(err.msg, b->reason), "'%s' lacks '%s'", err.msg, b->reason);
    cr_assert_eq(memcmp(c, before, sizeof *c), 0, "a failed load changes nothing");
    free(c);
    free(before);
}

Test(conf, reads_the_security_section)
{
    char dir[] = "/tmp/bl-conf-sec-XXXXXX", path[PATH_MAX];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.conf", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("[pipeline]\nstart_local_stages = off\n[security]\ncurve = on\n"
          "server_secret_key = keys/server.key_secret\n"
          "server_public_key = /etc/blotter/server.key\n"
          "client_secret_key = keys/a.key_secret\nauthorized_keys = auth\n", f);
    fclose(f);
    bl_conf *c = conf_new();
    bl_err err = {0};
    cr_assert_eq(bl_conf_load(c, path, &err), BL_OK, "%s", err.msg);
    cr_expect_eq(c->start_local_stages, 0);
    cr_expect_eq(c->curve, 1);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s/keys/server.key_secret", dir);
    cr_expect_str_eq(c->server_secret_key, want);
    cr_expect_str_eq(c->server_public_key, "/etc/blotter/server.key");
    snprintf(want, sizeof want, "%s/auth", dir);
    cr_expect_str_eq(c->authorized_keys, want);
    unlink(path);
    rmdir(dir);
    free(c);
}

Test(conf, missing_file_is_enoent)
{
    bl_conf *c = conf_new();
    bl_err err = {0};
    cr_assert_eq(bl_conf_load(c, FIXTURE("no-such.conf"), &err), BL_ENOENT);
    cr_assert(strstr(err.msg, "no-such.conf"), "%s", err.msg);
    free(c);
}

Test(conf, rejects_overlong_line)
{
    char path[] = "/tmp/test_conf_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "[models]\nclassify = /");
    for (int i = 0; i < 300; i++)
        fputc('m', f);
    fprintf(f, ".blm\n");
    fclose(f);
    bl_conf *c = conf_new();
    bl_err err = {0};
    cr_assert_eq(bl_conf_load(c, path, &err), BL_EINVAL);
    cr_assert(strstr(err.msg, ":2: line longer than"), "%s", err.msg);
    unlink(path);
    free(c);
}

Test(conf, resolves_relative_paths_against_the_file)
{
    bl_conf *c = conf_new();
    bl_err err = {0};
    cr_assert_eq(bl_conf_load(c, FIXTURE("relative.conf"), &err), BL_OK, "%s",
                 err.msg);
    char dir[PATH_MAX];
    cr_assert_not_null(realpath(BL_TEST_DATA_DIR "/conf", dir));
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "%s/../../models/classify-mlp.blm", dir);
    cr_assert_str_eq(c->model[BL_STAGE_CLASSIFY], want);
    snprintf(want, sizeof want, "%s/sub/regions.blm", dir);
    cr_assert_str_eq(c->model[BL_STAGE_DETECT], want);
    cr_assert_str_eq(c->model[BL_STAGE_SEGMENT], "/opt/blotter/segment.blm");
    cr_assert_str_eq(c->model[BL_STAGE_INGEST], "", "quoted empty value");
    snprintf(want, sizeof want, "%s/records/blotter.db", dir);
    cr_assert_str_eq(c->database, want, "quotes stripped, path resolved");
    cr_assert_str_eq(c->log_file, "/var/log/blotter.log");
    snprintf(want, sizeof want, "%s/forms", dir);
    cr_assert_str_eq(c->templates, want);
    cr_assert_str_eq(c->log_level, "info", "untouched keys keep defaults");
    free(c);
}

Test(conf, relative_config_path_resolves_from_cwd)
{
    char old[PATH_MAX];
    cr_assert_not_null(getcwd(old, sizeof old));
    cr_assert_eq(chdir(BL_TEST_DATA_DIR), 0);
    bl_conf *c = conf_new();
    bl_err err = {0};
    cr_assert_eq(bl_conf_load(c, "conf/relative.conf", &err), BL_OK, "%s", err.msg);
    cr_assert_eq(chdir(old), 0);
    char dir[PATH_MAX], want[PATH_MAX * 2];
    cr_assert_not_null(realpath(BL_TEST_DATA_DIR "/conf", dir));
    snprintf(want, sizeof want, "%s/sub/regions.blm", dir);
    cr_assert_str_eq(c->model[BL_STAGE_DETECT], want,
                     "absolute, so later chdirs do not matter");
    free(c);
}

Test(conf, expands_ipc_endpoints)
{
    bl_conf *c = conf_new();
    char ep[BL_ENDPOINT_MAX];
    bl_err err = {0};
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_DETECT, 0, "/tmp/run1", ep,
                                  sizeof ep, &err), BL_OK, "%s", err.msg);
    cr_assert_str_eq(ep, "ipc:///tmp/run1/detect.0");
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_CLASSIFY, 3, "/tmp/run1", ep,
                                  sizeof ep, &err), BL_OK);
    cr_assert_str_eq(ep, "ipc:///tmp/run1/classify.3");
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_FRONT, 0, "/r", ep, sizeof ep,
                                  &err), BL_OK);
    cr_assert_str_eq(ep, "ipc:///r/events.0");
    cr_assert_eq(bl_conf_control_endpoint(c, "/r", ep, sizeof ep, &err), BL_OK);
    cr_assert_str_eq(ep, "ipc:///r/control");

    /* Errors: no runtime dir for {run}, bad instance, too long a path,
     * too small an output buffer. */
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_DETECT, 0, NULL, ep, sizeof ep,
                                  &err), BL_EINVAL);
    cr_assert(strstr(err.msg, "{run}"), "%s", err.msg);
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_DETECT, 64, "/r", ep, sizeof ep,
                                  &err), BL_EINVAL);
    char longdir[200];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[sizeof longdir - 1] = '\0';
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_DETECT, 0, longdir, ep, sizeof ep,
                                  &err), BL_ELIMIT);
    cr_assert(strstr(err.msg, "socket path"), "%s", err.msg);
    char tiny[8];
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_DETECT, 0, "/r", tiny, sizeof tiny,
                                  &err), BL_ELIMIT);

    /* inproc (tests) gets the same ".N" as ipc. */
    bl_strlcpy(c->endpoint[BL_STAGE_WRITE], "inproc://w", sizeof c->endpoint[0]);
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_WRITE, 0, NULL, ep, sizeof ep,
                                  &err), BL_OK);
    cr_assert_str_eq(ep, "inproc://w.0");
    free(c);
}

Test(conf, expands_tcp_endpoints)
{
    bl_conf *c = conf_new();
    bl_err err = {0};
    cr_assert_eq(bl_conf_load(c, FIXTURE("tcp.conf"), &err), BL_OK, "%s", err.msg);
    cr_assert_eq(c->instances[BL_STAGE_CLASSIFY], 3);
    char ep[BL_ENDPOINT_MAX];
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_CLASSIFY, 2, NULL, ep, sizeof ep,
                                  &err), BL_OK, "%s", err.msg);
    cr_assert_str_eq(ep, "tcp://10.0.0.2:5602");
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_CLASSIFY, 0, "/unused", ep,
                                  sizeof ep, &err), BL_OK);
    cr_assert_str_eq(ep, "tcp://10.0.0.2:5600");
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_FRONT, 0, NULL, ep, sizeof ep,
                                  &err), BL_OK);
    cr_assert_str_eq(ep, "tcp://10.0.0.1:5500");

    bl_strlcpy(c->endpoint[BL_STAGE_DETECT], "tcp://[::1]:65534",
               sizeof c->endpoint[0]);
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_DETECT, 1, NULL, ep, sizeof ep,
                                  &err), BL_OK);
    cr_assert_str_eq(ep, "tcp://[::1]:65535");
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_DETECT, 2, NULL, ep, sizeof ep,
                                  &err), BL_EINVAL, "port overflow");
    cr_assert(strstr(err.msg, "65536"), "%s", err.msg);
    bl_strlcpy(c->endpoint[BL_STAGE_DETECT], "tcp://host", sizeof c->endpoint[0]);
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_DETECT, 0, NULL, ep, sizeof ep,
                                  &err), BL_EINVAL);
    cr_assert(strstr(err.msg, "no port"), "%s", err.msg);
    bl_strlcpy(c->endpoint[BL_STAGE_DETECT], "tcp://host:*", sizeof c->endpoint[0]);
    cr_assert_eq(bl_conf_endpoint(c, BL_STAGE_DETECT, 0, NULL, ep, sizeof ep,
                                  &err), BL_EINVAL);
    free(c);
}

Test(conf, derives_limits)
{
    bl_conf *c = conf_new();
    c->max_page_pixels = 5;
    c->max_pages_per_file = 6;
    c->max_file_bytes = 7;
    c->max_fields_per_page = 8;
    c->max_digits_per_page = 9;
    c->max_message_bytes = 10;
    bl_msg_limits m;
    bl_conf_msg_limits(c, &m);
    cr_assert(m.max_pixels == 5 && m.max_fields == 8 && m.max_digits == 9 &&
              m.max_frame_bytes == 10);
    bl_image_limits i;
    bl_conf_image_limits(c, &i);
    cr_assert(i.max_pixels == 5 && i.max_pages == 6 && i.max_file_bytes == 7);
    free(c);
}

Test(conf, locates_the_file_in_order)
{
    char out[BL_PATH_MAX], old[PATH_MAX], tmp[] = "/tmp/test_conf_dir_XXXXXX";
    cr_assert_not_null(getcwd(old, sizeof old));
    cr_assert_not_null(mkdtemp(tmp));
    cr_assert_eq(chdir(tmp), 0);

    setenv("BLOTTER_CONFIG", "/etc/blotter.conf", 1);
    bl_conf_locate("given.conf", out, sizeof out);
    cr_assert_str_eq(out, "given.conf");
    bl_conf_locate(NULL, out, sizeof out);
    cr_assert_str_eq(out, "/etc/blotter.conf");
    unsetenv("BLOTTER_CONFIG");
    bl_conf_locate(NULL, out, sizeof out);
    cr_assert_str_eq(out, BL_SOURCE_DIR "/pipeline.conf", "the shipped one");
    FILE *f = fopen("pipeline.conf", "w");
    fclose(f);
    bl_conf_locate(NULL, out, sizeof out);
    cr_assert_str_eq(out, "pipeline.conf");

    unlink("pipeline.conf");
    cr_assert_eq(chdir(old), 0);
    rmdir(tmp);
}
