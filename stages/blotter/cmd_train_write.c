/*
 * blotter train write: trains the writer's review gate (stages/write/
 * gate.h) on what the pipeline makes of generated pages with truth.
 *
 * Three sets of pages from `blotter samples`, each run through the whole
 * pipeline (`blotter run`) into its own database under --work:
 *   train  --pages N  --seed S        (MNIST training digits)
 *   val    --val-pages  --val-seed    (training digits): fits the
 *          temperature and the threshold
 *   check  --check-pages --check-seed (test digits): held out, reports
 *          calibration (expected calibration error over ten bins, Brier
 *          score) and the flagging figures.
 * Seeds 5001 and up are the evaluation pages and are refused. Pages and
 * databases are reused by the next run; a database is made again when the
 * models that read it or the form templates whose rules mended its
 * readings (their checksums, kept beside it in SET.models) are not the
 * configured ones.
 *
 * Each stored field is paired with a true field of its page (greedy by box
 * IoU >= 0.5, as the pipeline scorer does); its label is 1 when the stored
 * value equals the truth, else 0 (unpaired fields are wrong). Features are
 * bl_gate_features; the network (dense16r-dense2l) is trained with Adam
 * on standardised features and the standardisation is folded into the
 * first layer. A feature that never varies in training (a rule feature
 * while no template gives rules) gets zero weight, so it cannot sway the
 * gate until a model trained with it is made.
 *
 * Temperature (Guo et al. 2017): the T in [0.25, 4] minimising the
 * validation log loss. Threshold: the smallest confidence below which at
 * least --target (0.9) of the validation set's wrong fields fall.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blm/blm.h"
#include "blotter/commands.h"
#include "blotter/score.h"
#include "conf/conf.h"
#include "db/db.h"
#include "nn/nn.h"
#include "write/gate.h"

extern char **environ;

#define GATE_ARCH "dense16r-dense2l"
#define EVAL_SEED_FIRST 5001

typedef struct gate_set {
    const char *name;
    int pages;
    long seed;
    const char *split;
    long n, cap;
    float *X;      /* n x BL_GATE_FEATURES */
    int32_t *y;    /* 1 right, 0 wrong */
    int *matched;  /* 1 when paired with a true field */
    double *base;  /* baseline confidence */
} gate_set;

static int run_child(char *const argv[])
{
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
    if (rc) {
        fprintf(stderr, "blotter train write: %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "blotter train write: '%s %s' failed\n", argv[0], argv[1]);
        return -1;
    }
    return 0;
}

static void set_add(gate_set *s, const float *x, int label, int matched, double base)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->X = bl_xrealloc(s->X, (size_t)s->cap * BL_GATE_FEATURES * sizeof *s->X);
        s->y = bl_xrealloc(s->y, (size_t)s->cap * sizeof *s->y);
        s->matched = bl_xrealloc(s->matched, (size_t)s->cap * sizeof *s->matched);
        s->base = bl_xrealloc(s->base, (size_t)s->cap * sizeof *s->base);
    }
    memcpy(s->X + (size_t)s->n * BL_GATE_FEATURES, x, BL_GATE_FEATURES * sizeof *x);
    s->y[s->n] = label;
    s->matched[s->n] = matched;
    s->base[s->n] = base;
    s->n++;
}

/* One stored field before pairing. */
typedef struct sfield {
    char source[512];
    int page_index;
    char value[128];
    int box[4];
    float x[BL_GATE_FEATURES];
    double base;
    int tpage, taken;
} sfield;

static int suffix_match(const char *source, const char *file)
{
    size_t ns = strlen(source), nf = strlen(file);
    return strcmp(source, file) == 0
        || (ns > nf && source[ns - nf - 1] == '/' && strcmp(source + ns - nf, file) == 0);
}

/* Reads the set's database and truth into features and labels. */
static int set_load(gate_set *s, const char *db_path, const char *truth_path)
{
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr);
    if (!truth) {
        fprintf(stderr, "blotter train write: %s: %s\n", truth_path, jerr.text);
        return -1;
    }
    bl_err err = {0};
    bl_db *db = bl_db_open_readonly(db_path, &err);
    if (!db) {
        fprintf(stderr, "blotter train write: %s\n", err.msg);
        json_decref(truth);
        return -1;
    }
    sqlite3 *h = bl_db_handle(db);
    sqlite3_stmt *fst = NULL, *dst = NULL;
    int ret = -1;
    long nf = 0, capf = 0;
    sfield *sf = NULL;
    if (sqlite3_prepare_v2(h,
                           "SELECT field_id, source_path, page_index, machine_value, x, y, w, h,"
                           " px, py, pw, ph, rule FROM v_fields ORDER BY field_id",
                           -1, &fst, NULL)
        || sqlite3_prepare_v2(h,
                              "SELECT class, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, px, py,"
                              " pw, ph FROM digits WHERE field_id = ?1 ORDER BY digit_index",
                              -1, &dst, NULL)) {
        fprintf(stderr, "blotter train write: %s: %s\n", db_path, sqlite3_errmsg(h));
        goto done;
    }
    while (sqlite3_step(fst) == SQLITE_ROW) {
        if (nf == capf) {
            capf = capf ? 2 * capf : 256;
            sf = bl_xrealloc(sf, (size_t)capf * sizeof *sf);
        }
        sfield *f = &sf[nf++];
        memset(f, 0, sizeof *f);
        bl_strlcpy(f->source, (const char *)sqlite3_column_text(fst, 1), sizeof f->source);
        f->page_index = sqlite3_column_int(fst, 2);
        bl_strlcpy(f->value, (const char *)sqlite3_column_text(fst, 3), sizeof f->value);
        for (int k = 0; k < 4; k++)
            f->box[k] = sqlite3_column_int(fst, 4 + k);
        float prob[10 * 128];
        int cls[128];
        bl_box boxes[128];
        int n = 0;
        sqlite3_bind_int64(dst, 1, sqlite3_column_int64(fst, 0));
        while (sqlite3_step(dst) == SQLITE_ROW && n < 128) {
            cls[n] = sqlite3_column_type(dst, 0) == SQLITE_NULL ? -1 : sqlite3_column_int(dst, 0);
            for (int c = 0; c < 10; c++)
                prob[10 * n + c] = (float)sqlite3_column_double(dst, 1 + c);
            boxes[n] = (bl_box){sqlite3_column_int(dst, 11), sqlite3_column_int(dst, 12),
                                sqlite3_column_int(dst, 13), sqlite3_column_int(dst, 14)};
            n++;
        }
        sqlite3_reset(dst);
        const char *rule = (const char *)sqlite3_column_text(fst, 12);
        bl_gate_field g = {rule ? rule : "",
                           {sqlite3_column_int(fst, 8), sqlite3_column_int(fst, 9),
                            sqlite3_column_int(fst, 10), sqlite3_column_int(fst, 11)},
                           n, prob, cls, boxes};
        bl_gate_features(&g, f->x);
        f->base = bl_gate_baseline(&g);
        f->tpage = -1;
    }
    /* Pair with the truth, page by page, greedily by IoU. */
    json_t *pages = json_object_get(truth, "pages");
    size_t pi;
    json_t *page;
    json_array_foreach(pages, pi, page) {
        const char *file = json_string_value(json_object_get(page, "file"));
        int index = (int)json_integer_value(json_object_get(page, "page_index"));
        json_t *fields = json_object_get(page, "fields");
        if (!file)
            continue;
        for (;;) {
            double best = BL_SCORE_IOU_MIN;
            long bs = -1;
            size_t bt = 0;
            size_t ti;
            json_t *tf;
            json_array_foreach(fields, ti, tf) {
                if (json_is_true(json_object_get(tf, "_taken")))
                    continue;
                json_t *b = json_object_get(tf, "box");
                int tb[4];
                for (int k = 0; k < 4; k++)
                    tb[k] = (int)json_integer_value(json_array_get(b, (size_t)k));
                for (long i = 0; i < nf; i++) {
                    if (sf[i].taken || sf[i].page_index != index
                        || !suffix_match(sf[i].source, file))
                        continue;
                    double iou = bl_score_iou(tb[0], tb[1], tb[2], tb[3], sf[i].box[0],
                                              sf[i].box[1], sf[i].box[2], sf[i].box[3]);
                    if (iou >= best) {
                        best = iou;
                        bs = i;
                        bt = ti;
                    }
                }
            }
            if (bs < 0)
                break;
            json_t *tf2 = json_array_get(fields, bt);
            json_object_set_new(tf2, "_taken", json_true());
            sf[bs].taken = 1;
            const char *tv = json_string_value(json_object_get(tf2, "value"));
            set_add(s, sf[bs].x, tv && strcmp(tv, sf[bs].value) == 0, 1, sf[bs].base);
        }
    }
    for (long i = 0; i < nf; i++)
        if (!sf[i].taken)
            set_add(s, sf[i].x, 0, 0, sf[i].base);
    ret = 0;
done:
    free(sf);
    sqlite3_finalize(fst);
    sqlite3_finalize(dst);
    bl_db_close(&db);
    json_decref(truth);
    return ret;
}

/* Whether the pages already in a set's folder are the ones asked for (a
 * folder left by a run with other --pages or --seed is not silently
 * reused); 0 with a message naming it if not. */
static int set_matches(const gate_set *s, const char *truth_path)
{
    json_error_t jerr;
    json_t *truth = json_load_file(truth_path, 0, &jerr);
    if (!truth) {
        fprintf(stderr, "blotter train write: %s: %s\n", truth_path, jerr.text);
        return 0;
    }
    json_t *seed = json_object_get(truth, "seed");
    size_t pages = json_array_size(json_object_get(truth, "pages"));
    int ok = json_is_integer(seed) && json_integer_value(seed) == s->seed &&
             pages == (size_t)s->pages;
    if (!ok)
        fprintf(stderr,
                "blotter train write: %s holds %zu pages of seed %lld, not the %d of seed %ld "
                "asked for; remove its folder or choose another --work\n",
                truth_path, pages, json_is_integer(seed) ? (long long)json_integer_value(seed) : -1LL,
                s->pages, s->seed);
    json_decref(truth);
    return ok;
}

static int is_template_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".ini") == 0;
}

/* CRC-32 of the form templates detect loads from dir: each *.ini in name
 * order, its name and its bytes; 0 for none (no directory, or dir ""). */
static int templates_crc(const char *dir, uint32_t *crc)
{
    *crc = 0;
    struct dirent **names = NULL;
    int n = dir[0] ? scandir(dir, &names, is_template_file, alphasort) : 0;
    if (n < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[BL_PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        *crc = bl_crc32(*crc, names[i]->d_name, strlen(names[i]->d_name));
        FILE *f = rc ? NULL : fopen(path, "rb");
        if (!f && !rc) {
            fprintf(stderr, "blotter train write: %s: %s\n", path, strerror(errno));
            rc = -1;
        }
        char buf[4096];
        size_t got;
        while (f && (got = fread(buf, 1, sizeof buf, f)) > 0)
            *crc = bl_crc32(*crc, buf, got);
        if (f)
            fclose(f);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* What read the pages: "ingest=<crc32> detect=... classify=...
 * templates=<crc32>", the checksums in the ids of the models the
 * configuration names (0: no model; the gate is left out, it reads
 * nothing) and of its form templates (their rules mend the readings). A
 * database made otherwise holds other readings and is made again. */
static int reading_stamp(const char *config, char *out, size_t out_size)
{
    char path[BL_PATH_MAX];
    bl_conf conf;
    bl_err err = {0};
    bl_conf_defaults(&conf);
    bl_conf_locate(config, path, sizeof path);
    if (path[0] && bl_conf_load(&conf, path, &err)) {
        fprintf(stderr, "blotter train write: %s\n", err.msg);
        return -1;
    }
    size_t len = 0;
    out[0] = '\0';
    for (int st = BL_STAGE_INGEST; st < BL_STAGE_WRITE; st++) {
        uint32_t crc = 0;
        if (conf.model[st][0]) {
            bl_blm *m = bl_blm_load(conf.model[st], NULL, &err);
            if (!m) {
                fprintf(stderr, "blotter train write: %s\n", err.msg);
                return -1;
            }
            crc = m->crc;
            bl_blm_destroy(&m);
        }
        int wrote = snprintf(out + len, out_size - len, "%s%s=%08x", len ? " " : "",
                             bl_stage_name((bl_stage_id)st), crc);
        if (wrote < 0 || (size_t)wrote >= out_size - len)
            return -1;
        len += (size_t)wrote;
    }
    uint32_t crc;
    if (templates_crc(conf.templates, &crc))
        return -1;
    int wrote = snprintf(out + len, out_size - len, " templates=%08x", crc);
    return wrote < 0 || (size_t)wrote >= out_size - len ? -1 : 0;
}

/* Removes a database and its side files, so that a failed or stale one is
 * not reused as if it were whole. */
static void db_remove(const char *db)
{
    char side[BL_PATH_MAX + 16];
    unlink(db);
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
}

/* Makes (or reuses) the set's pages and database, then loads it. */
static int set_make(gate_set *s, const char *exe, const char *work, const char *config,
                    const char *stamp)
{
    char dir[BL_PATH_MAX], db[BL_PATH_MAX + 8], truth[BL_PATH_MAX + 16], pages[16], seed[32];
    snprintf(dir, sizeof dir, "%s/%s", work, s->name);
    snprintf(db, sizeof db, "%s.db", dir);
    snprintf(truth, sizeof truth, "%s/truth.json", dir);
    snprintf(pages, sizeof pages, "%d", s->pages);
    snprintf(seed, sizeof seed, "%ld", s->seed);
    struct stat sb;
    if (stat(truth, &sb) == 0 && !set_matches(s, truth))
        return -1;
    if (stat(truth, &sb) != 0) {
        char *argv[] = {(char *)exe, "samples", "--out", dir, "--pages", pages, "--seed", seed,
                        "--split", (char *)s->split, NULL};
        fprintf(stderr, "train write: generating %d %s pages (seed %ld)\n", s->pages, s->name,
                s->seed);
        if (run_child(argv))
            return -1;
        unlink(db);
    }
    /* The database is reused only when the same models and templates made
     * it. */
    char stamp_path[BL_PATH_MAX + 16], made_with[512] = "";
    snprintf(stamp_path, sizeof stamp_path, "%s.models", dir);
    FILE *f = fopen(stamp_path, "r");
    if (f) {
        if (!fgets(made_with, sizeof made_with, f))
            made_with[0] = '\0';
        made_with[strcspn(made_with, "\n")] = '\0';
        fclose(f);
    }
    if (stat(db, &sb) == 0 && strcmp(made_with, stamp) != 0) {
        fprintf(stderr,
                "train write: %s was read by other models or templates (%s; now %s): "
                "reading it again\n",
                db, made_with[0] ? made_with : "unknown", stamp);
        db_remove(db);
    }
    if (stat(db, &sb) != 0) {
        fprintf(stderr, "train write: running the pipeline on %s\n", dir);
        char *argv[] = {(char *)exe, "run", "--db", db, dir, NULL, NULL, NULL};
        if (config) {
            argv[4] = "--config";
            argv[5] = (char *)config;
            argv[6] = dir;
        }
        if (run_child(argv)) {
            db_remove(db);
            return -1;
        }
        f = fopen(stamp_path, "w");
        int bad = !f || fprintf(f, "%s\n", stamp) < 0;
        if ((f && fclose(f) != 0) || bad) {
            fprintf(stderr, "blotter train write: %s: %s\n", stamp_path, strerror(errno));
            return -1;
        }
    }
    return set_load(s, db, truth);
}

static double predict(bl_nn_net *net, const float *x, const float *mean, const float *sd,
                      double T)
{
    float z[BL_GATE_FEATURES];
    for (int j = 0; j < BL_GATE_FEATURES; j++)
        z[j] = mean ? (x[j] - mean[j]) / sd[j] : x[j];
    return bl_gate_confidence_raw(net, z, T);
}

typedef struct gate_figs {
    double wrong_flagged, right_flagged, all_flagged, ece, brier, accuracy;
    long fields, wrong;
} gate_figs;

static gate_figs figures(const gate_set *s, const double *conf, double threshold)
{
    gate_figs g = {0};
    long wrong_m = 0, wrong_f = 0, right = 0, right_f = 0, flagged = 0;
    double bin_conf[10] = {0}, bin_acc[10] = {0};
    long bin_n[10] = {0};
    for (long i = 0; i < s->n; i++) {
        int flag = conf[i] < threshold;
        flagged += flag;
        if (s->matched[i] && !s->y[i]) {
            wrong_m++;
            wrong_f += flag;
        }
        if (s->y[i]) {
            right++;
            right_f += flag;
        }
        int b = (int)(conf[i] * 10);
        b = b > 9 ? 9 : b < 0 ? 0 : b;
        bin_conf[b] += conf[i];
        bin_acc[b] += s->y[i];
        bin_n[b]++;
        g.brier += (conf[i] - s->y[i]) * (conf[i] - s->y[i]);
    }
    for (int b = 0; b < 10; b++)
        if (bin_n[b])
            g.ece += fabs(bin_conf[b] - bin_acc[b]) / (double)s->n;
    g.brier /= s->n ? (double)s->n : 1;
    g.wrong_flagged = wrong_m ? (double)wrong_f / wrong_m : NAN;
    g.right_flagged = right ? (double)right_f / right : NAN;
    g.all_flagged = s->n ? (double)flagged / s->n : NAN;
    g.accuracy = s->n ? (double)right / s->n : NAN;
    g.fields = s->n;
    g.wrong = wrong_m;
    return g;
}

static void print_figs(const char *what, gate_figs g)
{
    printf("%-28s fields %ld (right %.4f), wrong flagged %.4f, right flagged %.4f,"
           " all flagged %.4f, ECE %.4f, Brier %.4f\n",
           what, g.fields, g.accuracy, g.wrong_flagged, g.right_flagged, g.all_flagged, g.ece,
           g.brier);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: blotter train write [--out F] [--work DIR] [--config F]\n"
            "         [--pages N] [--seed S] [--val-pages N] [--val-seed S]\n"
            "         [--check-pages N] [--check-seed S] [--epochs N] [--target R]\n"
            "         [--model-version V]\n"
            "Trains the review gate on generated pages run through the pipeline.\n"
            "Defaults: --out models/write-gate.blm --work train-write --pages 2000\n"
            "--seed 1 --val-pages 300 --val-seed 2001 --check-pages 100 --check-seed 4001\n"
            "--epochs 40 --target 0.9 --model-version 1. Seeds from 5001 on are for\n"
            "evaluation only. The pages and databases under --work are reused; a\n"
            "database read by other models or templates than the configured ones\n"
            "is made again.\n");
}

int bl_cmd_train_write(int argc, char **argv)
{
    const char *out = "models/write-gate.blm", *work = "train-write", *config = NULL;
    const char *version = "1";
    gate_set sets[3] = {{.name = "train", .pages = 2000, .seed = 1, .split = "train"},
                        {.name = "val", .pages = 300, .seed = 2001, .split = "train"},
                        {.name = "check", .pages = 100, .seed = 4001, .split = "test"}};
    int epochs = 40;
    double target = 0.9;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "blotter train write: '%s' needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--out") == 0) out = v;
        else if (strcmp(a, "--work") == 0) work = v;
        else if (strcmp(a, "--config") == 0) config = v;
        else if (strcmp(a, "--pages") == 0) sets[0].pages = atoi(v);
        else if (strcmp(a, "--seed") == 0) sets[0].seed = atol(v);
        else if (strcmp(a, "--val-pages") == 0) sets[1].pages = atoi(v);
        else if (strcmp(a, "--val-seed") == 0) sets[1].seed = atol(v);
        else if (strcmp(a, "--check-pages") == 0) sets[2].pages = atoi(v);
        else if (strcmp(a, "--check-seed") == 0) sets[2].seed = atol(v);
        else if (strcmp(a, "--epochs") == 0) epochs = atoi(v);
        else if (strcmp(a, "--target") == 0) target = atof(v);
        else if (strcmp(a, "--model-version") == 0) version = v;
        else {
            fprintf(stderr, "blotter train write: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    for (int k = 0; k < 3; k++) {
        /* Pages of seed S use seeds S, S+1, ... none may reach evaluation. */
        if (sets[k].pages < 1 || sets[k].seed < 0
            || sets[k].seed + sets[k].pages > EVAL_SEED_FIRST) {
            fprintf(stderr, "blotter train write: %s pages must be >= 1 and seeds below %d"
                            " (those are the evaluation pages)\n", sets[k].name,
                    EVAL_SEED_FIRST);
            return 2;
        }
    }
    if (epochs < 1 || !(target > 0 && target < 1)) {
        fprintf(stderr, "blotter train write: --epochs >= 1 and 0 < --target < 1\n");
        return 2;
    }
    char exe[BL_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "blotter train write: cannot find the blotter executable\n");
        return 1;
    }
    exe[n] = '\0';
    if (mkdir(work, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "blotter train write: %s: %s\n", work, strerror(errno));
        return 1;
    }
    int status = 1;
    bl_nn_net *net = NULL;
    bl_nn_optim *opt = NULL;
    bl_blm *model = NULL;
    float *Z = NULL, *mean = NULL, *sd = NULL;
    double *conf = NULL;
    int32_t *idx = NULL;
    char stamp[512];
    if (reading_stamp(config, stamp, sizeof stamp))
        goto done;
    for (int k = 0; k < 3; k++)
        if (set_make(&sets[k], exe, work, config, stamp))
            goto done;
    gate_set *tr = &sets[0], *va = &sets[1], *ck = &sets[2];
    if (tr->n < 10 || va->n < 10) {
        fprintf(stderr, "blotter train write: too few fields to train on (%ld, %ld)\n", tr->n,
                va->n);
        goto done;
    }

    /* Standardise. */
    const int F = BL_GATE_FEATURES;
    mean = bl_xcalloc(F, sizeof *mean);
    sd = bl_xcalloc(F, sizeof *sd);
    int constant[BL_GATE_FEATURES] = {0};
    for (long i = 0; i < tr->n; i++)
        for (int j = 0; j < F; j++)
            mean[j] += tr->X[i * F + j] / (float)tr->n;
    for (long i = 0; i < tr->n; i++)
        for (int j = 0; j < F; j++) {
            float d = tr->X[i * F + j] - mean[j];
            sd[j] += d * d / (float)tr->n;
        }
    for (int j = 0; j < F; j++) {
        constant[j] = sd[j] < 1e-12f;
        sd[j] = constant[j] ? 1.0f : sqrtf(sd[j]);
    }
    Z = bl_xmalloc((size_t)tr->n * F * sizeof *Z);
    for (long i = 0; i < tr->n; i++)
        for (int j = 0; j < F; j++)
            Z[i * F + j] = (tr->X[i * F + j] - mean[j]) / sd[j];

    bl_err err = {0};
    net = bl_nn_net_new(GATE_ARCH, 1, 1, F, &err);
    if (!net) {
        fprintf(stderr, "blotter train write: %s\n", err.msg);
        goto done;
    }
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 1);
    bl_nn_net_init(net, &rng);
    opt = bl_nn_optim_new(BL_NN_ADAM, bl_nn_net_num_params(net), 3e-3f);
    idx = bl_xmalloc((size_t)tr->n * sizeof *idx);
    for (long i = 0; i < tr->n; i++)
        idx[i] = (int32_t)i;
    float xb[64 * BL_GATE_FEATURES];
    int32_t yb[64];
    for (int ep = 0; ep < epochs; ep++) {
        bl_nn_shuffle(idx, (size_t)tr->n, &rng);
        double loss = 0;
        long batches = 0;
        for (long s = 0; s < tr->n; s += 64) {
            int B = (int)(tr->n - s < 64 ? tr->n - s : 64);
            for (int b = 0; b < B; b++) {
                memcpy(xb + b * F, Z + (size_t)idx[s + b] * F, F * sizeof *xb);
                yb[b] = tr->y[idx[s + b]];
            }
            bl_nn_net_forward(net, xb, B, true, &rng);
            loss += bl_nn_net_backward(net, yb, BL_NN_LOSS_CCE);
            bl_nn_optim_step(opt, bl_nn_net_params(net), bl_nn_net_grads(net));
            batches++;
        }
        if ((ep + 1) % 10 == 0 || ep == epochs - 1)
            fprintf(stderr, "train write: epoch %d: loss %.4f\n", ep + 1, loss / batches);
    }

    /* Fold the standardisation into dense1: w' = w / sd, b' = b - w' mean;
     * a constant feature's column is zeroed. Parameters are laid out as
     * dense1.weight (16, F), dense1.bias (16), then the head. */
    float *p = bl_nn_net_params(net);
    const int H1 = 16;
    for (int o = 0; o < H1; o++) {
        float shift = 0;
        for (int j = 0; j < F; j++) {
            float *w = &p[o * F + j];
            *w = constant[j] ? 0.0f : *w / sd[j];
            shift += *w * mean[j];
        }
        p[H1 * F + o] -= shift;
    }

    /* Temperature on the validation set. */
    conf = bl_xmalloc((size_t)(va->n > ck->n ? va->n : ck->n) * sizeof *conf);
    double best_T = 1, best_nll = INFINITY;
    for (double T = 0.25; T <= 4.0001; T += 0.05) {
        double nll = 0;
        for (long i = 0; i < va->n; i++) {
            double c = predict(net, va->X + i * F, NULL, NULL, T);
            c = fmin(fmax(c, 1e-7), 1 - 1e-7);
            nll -= va->y[i] ? log(c) : log(1 - c);
        }
        if (nll < best_nll) {
            best_nll = nll;
            best_T = T;
        }
    }
    /* Threshold: at least target of the validation wrong fields below it. */
    long nw = 0;
    for (long i = 0; i < va->n; i++) {
        conf[i] = predict(net, va->X + i * F, NULL, NULL, best_T);
        if (va->matched[i] && !va->y[i])
            conf[nw++] = conf[i]; /* compacted in place: nw <= i */
    }
    double threshold = 0.5;
    if (nw) {
        qsort(conf, (size_t)nw, sizeof *conf, cmp_double);
        long k = (long)ceil(target * (double)nw);
        threshold = nextafter(conf[k - 1], 2.0);
    }
    for (long i = 0; i < va->n; i++)
        conf[i] = predict(net, va->X + i * F, NULL, NULL, best_T);
    gate_figs gv = figures(va, conf, threshold);
    for (long i = 0; i < ck->n; i++)
        conf[i] = predict(net, ck->X + i * F, NULL, NULL, best_T);
    gate_figs gc = figures(ck, conf, threshold);
    gate_figs gb = figures(ck, ck->base, BL_GATE_BASELINE_THRESHOLD);

    printf("training fields:             %ld (right %.4f)\n", tr->n,
           figures(tr, tr->base, 0).accuracy);
    printf("temperature:                 %.2f\n", best_T);
    printf("threshold:                   %.6f\n", threshold);
    print_figs("validation:", gv);
    print_figs("held-out check:", gc);
    print_figs("held-out, baseline rule:", gb);

    model = bl_blm_new("write", bl_nn_net_spec(net));
    if (bl_nn_net_to_blm(net, model, &err)) {
        fprintf(stderr, "blotter train write: %s\n", err.msg);
        goto done;
    }
    char buf[256];
    bl_blm_set_meta(model, "name", "write-gate");
    bl_blm_set_meta(model, "version", version);
    snprintf(buf, sizeof buf, "%.6f", threshold);
    bl_blm_set_meta(model, "threshold", buf);
    snprintf(buf, sizeof buf, "%.2f", best_T);
    bl_blm_set_meta(model, "temperature", buf);
    snprintf(buf, sizeof buf, "train %d pages seed %ld (%ld fields); val %d pages seed %ld;"
                              " check %d pages seed %ld (test digits)",
             tr->pages, tr->seed, tr->n, va->pages, va->seed, ck->pages, ck->seed);
    bl_blm_set_meta(model, "data_set", buf);
    snprintf(buf, sizeof buf, "%d", epochs);
    bl_blm_set_meta(model, "epochs", buf);
    snprintf(buf, sizeof buf, "%.2f", target);
    bl_blm_set_meta(model, "target_wrong_flagged", buf);
    snprintf(buf, sizeof buf, "wrong %.4f right %.4f all %.4f ECE %.4f", gc.wrong_flagged,
             gc.right_flagged, gc.all_flagged, gc.ece);
    bl_blm_set_meta(model, "check_figures", buf);
    time_t now = time(NULL);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    bl_blm_set_meta(model, "date", buf);
    bl_blm_set_meta(model, "recipe", "blotter train write (Adam 3e-3, batch 64, CCE, "
                                     GATE_ARCH ", standardisation folded, temperature and"
                                     " threshold on the validation pages)");
    if (bl_blm_save(model, out, &err)) {
        fprintf(stderr, "blotter train write: %s\n", err.msg);
        goto done;
    }
    printf("saved %s\n", out);
    status = 0;
done:
    for (int k = 0; k < 3; k++) {
        free(sets[k].X);
        free(sets[k].y);
        free(sets[k].matched);
        free(sets[k].base);
    }
    free(Z);
    free(mean);
    free(sd);
    free(conf);
    free(idx);
    bl_blm_destroy(&model);
    bl_nn_optim_destroy(&opt);
    bl_nn_net_destroy(&net);
    return status;
}
