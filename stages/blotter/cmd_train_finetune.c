/*
 * Fine-tuning the digit classifier on corrected digits (transfer
 * learning: the learned features stay, the head learns the local hand):
 *
 *   blotter train classify --base F.blm --from-db DB --out G.blm
 *       [--freeze features|none|LAYERS] [--replay N] [--epochs N]
 *       [--lr X] [--batch N] [--seed S] [--data DIR] [--threads N]
 *       [--name NAME] [--model-version V]
 *
 * Samples: every digit of a reviewed field (review state corrected or
 * confirmed) whose reviewed value has as many digits as the field has
 * digit rows: the digit's stored 28x28 pixels, labelled with the reviewed
 * value's digit at its place. With --replay N, N digits drawn (seeded)
 * from the MNIST training set join them, so the head does not forget the
 * base data. Training digits are shifted by up to 2 pixels at random.
 *
 * --freeze features keeps every layer before the first dense one fixed
 * (bl_nn_net_freeze): only the dense head gets gradients and updates.
 * Adam, categorical cross-entropy, the last epoch is kept. The MNIST test
 * set is evaluated before and after (printed as `base test accuracy` and
 * `test accuracy`) and recorded in the metadata with the base model, the
 * sample counts and the date. The new model is ready for `blotter model
 * swap classify G.blm`. The run is audited in the database.
 */
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blm/blm.h"
#include "blotter/commands.h"
#include "db/db.h"
#include "db/records.h"
#include "mnist/mnist.h"
#include "nn/nn.h"

#define PIX 784

typedef struct ft_opts {
    const char *base, *db, *out, *freeze, *data, *name, *version;
    long replay, epochs, batch, seed, threads;
    float lr;
} ft_opts;

static void ft_usage(FILE *to)
{
    fprintf(to,
            "usage: blotter train classify --base F.blm --from-db DB --out G.blm\n"
            "         [--freeze features|none|LAYERS] [--replay N] [--epochs N] [--lr X]\n"
            "         [--batch N] [--seed S] [--data MNIST_DIR] [--threads N]\n"
            "         [--name NAME] [--model-version V]\n"
            "Fine-tunes a classifier on the reviewed digits of a database.\n"
            "Defaults: --freeze features --replay 0 --epochs 15 --lr 0.001 --batch 32\n"
            "--seed 1 --threads 1.\n");
}

/* Loads the corrected digits: pixels (n x 784) and labels. */
static long load_corrected(sqlite3 *h, uint8_t **pix, int32_t **lab, long *fields)
{
    sqlite3_stmt *st = NULL;
    const char *sql =
        "SELECT g.pixels, CAST(substr(v.value, g.digit_index + 1, 1) AS INTEGER), v.field_id"
        " FROM v_fields v JOIN digits g ON g.field_id = v.field_id"
        " WHERE v.review_state IN ('corrected', 'confirmed') AND g.pixels IS NOT NULL"
        " AND length(v.value) = (SELECT count(*) FROM digits d WHERE d.field_id = v.field_id)"
        " ORDER BY v.field_id, g.digit_index";
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    long n = 0, cap = 0;
    int64_t last = -1;
    *fields = 0;
    *pix = NULL;
    *lab = NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != PIX)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            *pix = bl_xrealloc(*pix, (size_t)cap * PIX);
            *lab = bl_xrealloc(*lab, (size_t)cap * sizeof **lab);
        }
        memcpy(*pix + (size_t)n * PIX, sqlite3_column_blob(st, 0), PIX);
        (*lab)[n] = sqlite3_column_int(st, 1);
        if (sqlite3_column_int64(st, 2) != last) {
            last = sqlite3_column_int64(st, 2);
            (*fields)++;
        }
        n++;
    }
    sqlite3_finalize(st);
    return n;
}

static double test_accuracy(bl_nn_net *net, const bl_mnist *test)
{
    float *x = bl_xmalloc((size_t)256 * PIX * sizeof *x);
    long right = 0;
    for (int s = 0; s < test->count; s += 256) {
        int B = test->count - s < 256 ? test->count - s : 256;
        for (size_t i = 0; i < (size_t)B * PIX; i++)
            x[i] = test->images[(size_t)s * PIX + i] * (1.0f / 255.0f);
        const float *p = bl_nn_net_forward(net, x, B, false, NULL);
        for (int r = 0; r < B; r++) {
            int best = 0;
            for (int c = 1; c < 10; c++)
                if (p[r * 10 + c] > p[r * 10 + best])
                    best = c;
            right += best == test->labels[s + r];
        }
    }
    free(x);
    return (double)right / test->count;
}

/* dst = src shifted by (dx, dy), paper where it leaves the frame. */
static void shifted(float *dst, const uint8_t *src, int dx, int dy)
{
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            int sx = x - dx, sy = y - dy;
            dst[y * 28 + x] = sx >= 0 && sx < 28 && sy >= 0 && sy < 28
                                  ? src[sy * 28 + sx] * (1.0f / 255.0f)
                                  : 0.0f;
        }
}

int bl_cmd_train_finetune(int argc, char **argv)
{
    ft_opts o = {.freeze = "features", .replay = 0, .epochs = 15, .batch = 32, .seed = 1,
                 .threads = 1, .lr = 1e-3f};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            ft_usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "blotter train classify: '%s' needs a value\n", a);
            return 2;
        }
        i++;
        char *end = NULL;
        if (strcmp(a, "--base") == 0) o.base = v;
        else if (strcmp(a, "--from-db") == 0) o.db = v;
        else if (strcmp(a, "--out") == 0) o.out = v;
        else if (strcmp(a, "--freeze") == 0) o.freeze = v;
        else if (strcmp(a, "--data") == 0) o.data = v;
        else if (strcmp(a, "--name") == 0) o.name = v;
        else if (strcmp(a, "--model-version") == 0) o.version = v;
        else if (strcmp(a, "--lr") == 0) {
            o.lr = strtof(v, &end);
            if (*end || !(o.lr > 0 && o.lr < 1)) {
                fprintf(stderr, "blotter train classify: --lr wants 0 < X < 1\n");
                return 2;
            }
        } else {
            long *dst = strcmp(a, "--replay") == 0    ? &o.replay
                      : strcmp(a, "--epochs") == 0  ? &o.epochs
                      : strcmp(a, "--batch") == 0   ? &o.batch
                      : strcmp(a, "--seed") == 0    ? &o.seed
                      : strcmp(a, "--threads") == 0 ? &o.threads
                                                    : NULL;
            if (!dst) {
                fprintf(stderr, "blotter train classify: unknown fine-tuning option '%s'\n", a);
                ft_usage(stderr);
                return 2;
            }
            *dst = strtol(v, &end, 10);
            if (*end || *dst < 0 || (dst != &o.replay && dst != &o.seed && *dst < 1)) {
                fprintf(stderr, "blotter train classify: %s wants a count, not '%s'\n", a, v);
                return 2;
            }
        }
    }
    if (!o.base || !o.db || !o.out) {
        fprintf(stderr, "blotter train classify: fine-tuning needs --base, --from-db and --out\n");
        ft_usage(stderr);
        return 2;
    }

    int status = 1;
    bl_err err = {0};
    bl_blm *base = NULL, *model = NULL;
    bl_nn_net *net = NULL;
    bl_nn_optim *opt = NULL;
    bl_mnist *train = NULL, *test = NULL;
    uint8_t *pix = NULL;
    int32_t *lab = NULL, *idx = NULL;
    float *xb = NULL;
    bl_db *db = NULL;
    long fields = 0;
    char dir[4096];
    if (o.data)
        bl_strlcpy(dir, o.data, sizeof dir);
    else
        bl_mnist_default_dir(dir, sizeof dir);

    bl_nn_set_threads((int)o.threads);
    if (!(base = bl_blm_load(o.base, "classify", &err))
        || !(net = bl_nn_net_from_blm(base, 1, 28, 28, o.base, &err))) {
        fprintf(stderr, "blotter train classify: %s\n", err.msg);
        goto done;
    }
    if (bl_nn_net_freeze(net, o.freeze, &err)) {
        fprintf(stderr, "blotter train classify: %s: %s\n", o.base, err.msg);
        goto done;
    }
    if (!(db = bl_db_open_existing(o.db, &err))) {
        fprintf(stderr, "blotter train classify: %s\n", err.msg);
        goto done;
    }
    long n = load_corrected(bl_db_handle(db), &pix, &lab, &fields);
    if (n < 0) {
        fprintf(stderr, "blotter train classify: %s: %s\n", o.db,
                sqlite3_errmsg(bl_db_handle(db)));
        goto done;
    }
    if (n == 0) {
        fprintf(stderr, "blotter train classify: %s: no reviewed digits to learn from (review"
                        " fields with `blotter review` first)\n", o.db);
        goto done;
    }
    if (!(test = bl_mnist_load(dir, "test", &err))
        || (o.replay && !(train = bl_mnist_load(dir, "train", &err)))) {
        fprintf(stderr, "blotter train classify: %s\n", err.msg);
        goto done;
    }
    if (train && o.replay > train->count)
        o.replay = train->count;
    double base_acc = test_accuracy(net, test);
    printf("corrected digits:      %ld (from %ld reviewed fields)\n", n, fields);
    printf("replayed MNIST digits: %ld\n", o.replay);
    printf("base test accuracy:    %.4f\n", base_acc);

    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, (uint64_t)o.seed);
    /* Replay digits: a seeded draw without repetition from the training set. */
    int32_t *replay = NULL;
    if (o.replay) {
        int32_t *all = bl_xmalloc((size_t)train->count * sizeof *all);
        for (int i = 0; i < train->count; i++)
            all[i] = i;
        bl_nn_shuffle(all, (size_t)train->count, &rng);
        replay = all;
    }
    long total = n + o.replay;
    idx = bl_xmalloc((size_t)total * sizeof *idx);
    for (long i = 0; i < total; i++)
        idx[i] = (int32_t)i;
    size_t off = bl_nn_net_frozen_params(net);
    opt = bl_nn_optim_new(BL_NN_ADAM, bl_nn_net_num_params(net) - off, o.lr);
    xb = bl_xmalloc((size_t)o.batch * PIX * sizeof *xb);
    int32_t *yb = bl_xmalloc((size_t)o.batch * sizeof *yb);
    for (long ep = 0; ep < o.epochs; ep++) {
        bl_nn_shuffle(idx, (size_t)total, &rng);
        double loss = 0;
        long batches = 0;
        for (long s = 0; s < total; s += o.batch) {
            int B = (int)(total - s < o.batch ? total - s : o.batch);
            for (int b = 0; b < B; b++) {
                long k = idx[s + b];
                const uint8_t *src = k < n ? pix + (size_t)k * PIX
                                           : train->images + (size_t)replay[k - n] * PIX;
                int dx = (int)bl_nn_rng_below(&rng, 5) - 2, dy = (int)bl_nn_rng_below(&rng, 5) - 2;
                shifted(xb + (size_t)b * PIX, src, dx, dy);
                yb[b] = k < n ? lab[k] : train->labels[replay[k - n]];
            }
            bl_nn_net_forward(net, xb, B, true, &rng);
            loss += bl_nn_net_backward(net, yb, BL_NN_LOSS_CCE);
            bl_nn_optim_step(opt, bl_nn_net_params(net) + off, bl_nn_net_grads(net) + off);
            batches++;
        }
        fprintf(stderr, "fine-tune: epoch %ld/%ld: loss %.4f\n", ep + 1, o.epochs,
                loss / batches);
    }
    free(yb);
    free(replay);
    double acc = test_accuracy(net, test);
    printf("test accuracy:         %.4f\n", acc);

    model = bl_blm_new("classify", bl_nn_net_spec(net));
    if (bl_nn_net_to_blm(net, model, &err)) {
        fprintf(stderr, "blotter train classify: %s\n", err.msg);
        goto done;
    }
    /* Carry the base's metadata, then say what changed. */
    for (int i = 0; i < base->n_meta; i++)
        bl_blm_set_meta(model, base->meta[i].key, base->meta[i].value);
    char buf[512];
    const char *bname = bl_blm_get_meta(base, "name");
    const char *bver = bl_blm_get_meta(base, "version");
    bl_blm_set_meta(model, "name", o.name ? o.name : bname ? bname : "classify-ft");
    if (o.version) {
        bl_blm_set_meta(model, "version", o.version);
    } else {
        snprintf(buf, sizeof buf, "%ld", (bver ? atol(bver) : 1) + 1);
        bl_blm_set_meta(model, "version", buf);
    }
    snprintf(buf, sizeof buf, "%s (crc %08x)", o.base, base->crc);
    bl_blm_set_meta(model, "base_model", buf);
    snprintf(buf, sizeof buf, "%ld corrected digits from %ld reviewed fields of %s; %ld replayed"
                              " MNIST training digits", n, fields, o.db, o.replay);
    bl_blm_set_meta(model, "data_set", buf);
    snprintf(buf, sizeof buf, "%ld", n);
    bl_blm_set_meta(model, "samples", buf);
    bl_blm_set_meta(model, "freeze", o.freeze);
    snprintf(buf, sizeof buf, "%ld", o.epochs);
    bl_blm_set_meta(model, "epochs", buf);
    snprintf(buf, sizeof buf, "%.4f", acc);
    bl_blm_set_meta(model, "test_accuracy", buf);
    snprintf(buf, sizeof buf, "%.4f", base_acc);
    bl_blm_set_meta(model, "base_test_accuracy", buf);
    time_t now = time(NULL);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    bl_blm_set_meta(model, "date", buf);
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && len < sizeof buf - 2; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "blotter ",
                                argv[i]);
    bl_blm_set_meta(model, "recipe", buf);
    if (bl_blm_save(model, o.out, &err)) {
        fprintf(stderr, "blotter train classify: %s\n", err.msg);
        goto done;
    }
    json_t *params = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "base", o.base, "out", o.out,
                               "freeze", o.freeze, "replay", (json_int_t)o.replay, "epochs",
                               (json_int_t)o.epochs, "samples", (json_int_t)n);
    char *ptext = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(params);
    if (bl_db_audit(db, "train classify", ptext ? ptext : "{}", n, &err))
        fprintf(stderr, "blotter train classify: %s: audit: %s\n", o.db, err.msg);
    free(ptext);
    printf("saved %s (swap it in with: blotter model swap classify %s)\n", o.out, o.out);
    status = 0;
done:
    free(pix);
    free(lab);
    free(idx);
    free(xb);
    bl_db_close(&db);
    bl_mnist_destroy(&train);
    bl_mnist_destroy(&test);
    bl_blm_destroy(&base);
    bl_blm_destroy(&model);
    bl_nn_optim_destroy(&opt);
    bl_nn_net_destroy(&net);
    return status;
}
