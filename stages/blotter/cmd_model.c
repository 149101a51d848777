/*
 * blotter model list / swap: the models of a pipeline.
 *
 * `list` shows the model file configured for each stage with its kind,
 * architecture and recorded accuracy, and, when a pipeline is up, what each
 * running instance actually runs. `swap STAGE FILE` asks the running
 * pipeline (`blotter up`) to replace a stage's model: the service checks
 * the file (format, checksum, kind) before any stage sees it, then every
 * instance loads it between two items and keeps its old model if loading
 * fails; this command waits until every instance has answered.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "blm/blm.h"
#include "blotter/commands.h"
#include "blotter/service.h"
#include "db/records.h"

#define SWAP_TIMEOUT_S 60

static void usage(FILE *out)
{
    fprintf(out,
            "usage: blotter model list [--config FILE]\n"
            "       blotter model swap STAGE FILE [--config FILE]\n"
            "  list  the configured model of each stage, and what each running\n"
            "        instance runs when a pipeline is up\n"
            "  swap  replace STAGE's model (ingest, detect, segment, classify, write)\n"
            "        in the running pipeline with FILE, without losing work\n");
}

static int list(const char *config)
{
    bl_conf conf;
    char path[BL_PATH_MAX];
    bl_err err = {0};
    if (bl_service_conf(config, &conf, path, sizeof path, &err)) {
        fprintf(stderr, "blotter model: %s\n", err.msg);
        return 2;
    }
    printf("%-9s %-40s %s\n", "stage", "configured model", "about");
    for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++) {
        const char *file = conf.model[s];
        char about[256] = "-";
        if (file[0]) {
            bl_blm *blm = bl_blm_load(file, bl_stage_name((bl_stage_id)s), &err);
            if (!blm) {
                snprintf(about, sizeof about, "UNUSABLE: %s", err.msg);
            } else {
                const char *acc = bl_blm_get_meta(blm, "test_accuracy");
                const char *date = bl_blm_get_meta(blm, "date");
                snprintf(about, sizeof about, "arch %s; test accuracy %s; %s",
                         blm->arch, acc ? acc : "-", date ? date : "");
                bl_blm_destroy(&blm);
            }
        }
        printf("%-9s %-40s %s\n", bl_stage_name((bl_stage_id)s),
               file[0] ? file : "(none)", about);
    }

    /* What runs, if a pipeline is up; quietly nothing if not. */
    char sock[BL_PATH_MAX + 16];
    snprintf(sock, sizeof sock, "%s/front", conf.runtime_dir);
    if (access(sock, F_OK) != 0) {
        printf("\nno pipeline is up (`blotter up`)\n");
        return 0;
    }
    void *ctx = zmq_ctx_new();
    void *req = bl_service_connect(ctx, config, "model", &conf);
    bl_note *answer = bl_xcalloc(1, sizeof *answer);
    int status = 0;
    if (!req || bl_service_request(req, "models", NULL, NULL, NULL, answer, &err)) {
        if (req)
            fprintf(stderr, "blotter model: %s\n", err.msg);
        status = 3;
    } else {
        printf("\n%-9s %4s  %s\n", "stage", "inst", "running model");
        char *save = NULL;
        for (char *line = strtok_r(answer->text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            char stage[32], model[BL_MODEL_ID_MAX];
            int inst;
            if (sscanf(line, "%31s %d %63s", stage, &inst, model) == 3)
                printf("%-9s %4d  %s\n", stage, inst, model);
        }
    }
    free(answer);
    if (req)
        zmq_close(req);
    zmq_ctx_term(ctx);
    return status;
}

/* Writes the swap into the database's audit trail and models table (the
 * id as the stages form it: name or file stem, version, CRC-32). A
 * database that cannot take it costs a warning, not the swap. */
static void swap_record(const bl_conf *conf, const char *stage, const char *path)
{
    bl_err err = {0};
    bl_blm *m = bl_blm_load(path, NULL, &err);
    bl_db *db = m ? bl_db_open_existing(conf->database, &err) : NULL;
    if (db) {
        char stem[64], id[160];
        const char *name = bl_blm_get_meta(m, "name");
        const char *version = bl_blm_get_meta(m, "version");
        if (!name) {
            const char *base = strrchr(path, '/');
            bl_strlcpy(stem, base ? base + 1 : path, sizeof stem);
            char *dot = strrchr(stem, '.');
            if (dot && dot != stem)
                *dot = '\0';
            name = stem;
        }
        snprintf(id, sizeof id, "%s@%s:%08x", name, version ? version : "1", m->crc);
        json_t *o = json_pack("{s:s, s:s, s:s}", "stage", stage, "file", path, "id", id);
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(o);
        if (bl_db_model_note(db, stage, id, path, &err) == BL_OK)
            bl_db_audit(db, "model swap", text ? text : "{}", -1, &err);
        free(text);
    }
    if (err.code)
        fprintf(stderr, "blotter model swap: the swap is done but not recorded: %s\n", err.msg);
    bl_db_close(&db);
    bl_blm_destroy(&m);
}

static int swap(const char *config, const char *stage, const char *file)
{
    char abs[BL_PATH_MAX];
    if (!realpath(file, abs)) {
        fprintf(stderr, "blotter model swap: %s: cannot be read\n", file);
        return 2;
    }
    bl_conf conf;
    bl_err err = {0};
    void *ctx = zmq_ctx_new();
    void *req = bl_service_connect(ctx, config, "model swap", &conf);
    bl_note *answer = bl_xcalloc(1, sizeof *answer);
    int status = req ? 0 : 3;
    if (req && bl_service_request(req, "swap", abs, NULL, stage, answer, &err)) {
        fprintf(stderr, "blotter model swap: %s\n", err.msg);
        status = 2;
    }
    for (int waited = 0; status == 0; waited++) {
        if (bl_service_request(req, "swap-status", NULL, NULL, stage, answer, &err)) {
            fprintf(stderr, "blotter model swap: %s\n", err.msg);
            status = 3;
            break;
        }
        int64_t n = answer->num[0], ok = answer->num[1], failed = answer->num[2];
        if (ok + failed >= n) {
            if (failed) {
                fprintf(stderr, "blotter model swap: %lld of %lld %s instances "
                        "refused the model and kept the old one: %s\n",
                        (long long)failed, (long long)n, stage, answer->text);
                status = 3;
            } else {
                printf("%s: all %lld instances now run %s\n", stage, (long long)n,
                       abs);
                swap_record(&conf, stage, abs);
            }
            break;
        }
        if (waited >= SWAP_TIMEOUT_S * 10) {
            fprintf(stderr, "blotter model swap: %lld of %lld instances answered "
                    "within %d s\n", (long long)(ok + failed), (long long)n,
                    SWAP_TIMEOUT_S);
            status = 3;
            break;
        }
        usleep(100000);
    }
    free(answer);
    if (req)
        zmq_close(req);
    zmq_ctx_term(ctx);
    return status;
}

int bl_cmd_model(int argc, char **argv)
{
    const char *config = NULL;
    const char *pos[3];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (npos == 1 && strcmp(pos[0], "list") == 0)
        return list(config);
    if (npos == 3 && strcmp(pos[0], "swap") == 0)
        return swap(config, pos[1], pos[2]);
    usage(stderr);
    return 2;
}
