/*
 * blotter samples: writes synthetic scanned archive pages with exact ground
 * truth (docs/SAMPLES.md describes the pages, the options and truth.json).
 *
 *   blotter samples --out DIR [--pages N] [--seed S] [--split test|train]
 *                   [--data MNIST_DIR] [--fonts DIR] [--dpi 200|300|400]
 *                   [--format tiff|png|multipage|mixed]
 *                   [--rotate P] [--skew DEG] [--noise P] [--blur P]
 *                   [--stamp P] [--scribble P] [--edges P] [--blank P]
 *                   [--touching P] [--cross P] [--unlisted P]
 *   blotter samples --templates DIR
 *
 * Pages come from samples_page.c (one page per derived seed, so page k is
 * the same whatever N is and whatever the format). Files go into DIR:
 *   tiff      page-001.tif, ...: one bilevel CCITT G4 page each (default);
 *   png       page-001.png, ...: 8-bit gray as scanned (paper and ink gray
 *             levels, blur, noise), not binarised;
 *   multipage pages-001-004.tif, ...: G4 TIFFs of up to 4 pages;
 *   mixed     single pages as TIFF, TIFF, TIFF, PNG, PNG, TIFF, ... and,
 *             when N >= 3, the last 2 pages (3 when N >= 8) in one
 *             multi-page G4 TIFF named pages-NNN-MMM.tif.
 * DIR/truth.json describes every page and field; paths in it are relative
 * to DIR and boxes are in the file's own pixels.
 *
 * Determinism: the only randomness is SplitMix64 seeded from --seed, the
 * MNIST files are fixed by their MD5 sums, the fonts by their package, and
 * the writers add no dates, so the same command writes byte-identical
 * files. Progress goes to stderr, one line per file; the summary to stdout.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blotter/commands.h"
#include "blotter/samples_forms.h"
#include "blotter/samples_page.h"
#include "blotter/samples_text.h"
#include "image/image.h"
#include "mnist/mnist.h"
#include "util/util.h"

enum { MAX_PAGES = 100000, PATH_MAX_LEN = 4096 };

typedef enum { FMT_TIFF, FMT_PNG, FMT_MULTIPAGE, FMT_MIXED } out_format;

typedef struct options {
    const char *out;
    long pages;
    uint64_t seed;
    const char *split;
    const char *data;
    const char *fonts;
    const char *templates;
    out_format format;
    bl_samples_options page;
} options;

enum { MAX_FILE_PAGES = 4 };

/* One output file: `npages` consecutive pages starting at `first`. */
typedef struct out_file {
    char name[64];
    int first, npages;
    int png;
} out_file;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: blotter samples --out DIR [--pages N] [--seed S]\n"
            "         [--split test|train] [--data MNIST_DIR] [--fonts DIR]\n"
            "         [--dpi 200|300|400] [--format tiff|png|multipage|mixed]\n"
            "         [--rotate P] [--skew DEG] [--noise P] [--blur P] [--stamp P]\n"
            "         [--scribble P] [--edges P] [--blank P] [--touching P] [--cross P]\n"
            "         [--hand mnist|heavy] [--unlisted P]\n"
            "       blotter samples --templates DIR\n"
            "Writes N synthetic A4 archive pages of hand-written numeric fields\n"
            "(MNIST digits) and DIR/truth.json. Defaults: --pages 10 --seed 1\n"
            "--split test --dpi 300 --format tiff, MNIST from $BLOTTER_DATA/mnist or\n"
            "data/mnist, fonts from $BLOTTER_FONT_DIR or /usr/share/fonts/truetype/dejavu.\n"
            "Artefacts (P: probability per page, per field for --touching/--cross):\n"
            "  --rotate 0.10  page turned 90/180/270    --skew 5    max |skew|, degrees\n"
            "  --noise 0.50   speckle and dirt          --blur 0.25 thin/fat strokes\n"
            "  --stamp 0.40   rubber stamp              --scribble 0.70 signature\n"
            "  --edges 0.25   dark scanner edges        --blank 0.02 blank page\n"
            "Hand: --hand heavy draws every field with a broad pen and a strong slant.\n"
            "  --touching 0.10 touching digits          --cross 0.10 line crossing digits\n"
            "Layouts: three fixed form designs; --unlisted 0.15 is the share of pages\n"
            "of unknown design (flowing layout). --templates DIR writes DIR/NAME.ini,\n"
            "the template of every fixed design (with --out, the pages too).\n");
}

/* Parses a probability (0..1) or, for --skew, degrees (0..45). */
static int parse_real(const char *opt, const char *v, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end || end == v || !(x >= 0 && x <= max)) {
        fprintf(stderr, "blotter samples: %s %s: want a number in 0..%g\n", opt, v,
                max);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){NULL, 10, 1, "test", NULL, NULL, NULL, FMT_TIFF, {0}};
    bl_samples_options_default(&o->page);
    static const struct {
        const char *name;
        size_t offset;
        double max;
    } reals[] = {
        {"--rotate", offsetof(bl_samples_options, rotate), 1},
        {"--skew", offsetof(bl_samples_options, skew), 45},
        {"--noise", offsetof(bl_samples_options, noise), 1},
        {"--blur", offsetof(bl_samples_options, blur), 1},
        {"--stamp", offsetof(bl_samples_options, stamp), 1},
        {"--scribble", offsetof(bl_samples_options, scribble), 1},
        {"--edges", offsetof(bl_samples_options, edges), 1},
        {"--blank", offsetof(bl_samples_options, blank), 1},
        {"--touching", offsetof(bl_samples_options, touching), 1},
        {"--cross", offsetof(bl_samples_options, cross), 1},
        {"--unlisted", offsetof(bl_samples_options, unlisted), 1},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "blotter samples: %s: missing value or unknown option\n", a);
            return -1;
        }
        const char *v = argv[++i];
        char *end = NULL;
        size_t r = 0;
        while (r < sizeof reals / sizeof reals[0] && strcmp(a, reals[r].name) != 0)
            r++;
        if (r < sizeof reals / sizeof reals[0]) {
            if (parse_real(a, v, reals[r].max,
                           (double *)((char *)&o->page + reals[r].offset)) != 0)
                return -1;
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--templates") == 0) {
            o->templates = v;
        } else if (strcmp(a, "--pages") == 0) {
            errno = 0;
            o->pages = strtol(v, &end, 10);
            if (errno || *end || end == v || o->pages < 1 || o->pages > MAX_PAGES) {
                fprintf(stderr, "blotter samples: --pages %s: want 1..%d\n", v,
                        MAX_PAGES);
                return -1;
            }
        } else if (strcmp(a, "--seed") == 0) {
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || *end || end == v || v[0] == '-' || s > INT64_MAX) {
                fprintf(stderr, "blotter samples: --seed %s: want 0..%" PRId64 "\n",
                        v, INT64_MAX);
                return -1;
            }
            o->seed = s;
        } else if (strcmp(a, "--split") == 0) {
            if (strcmp(v, "test") != 0 && strcmp(v, "train") != 0) {
                fprintf(stderr, "blotter samples: --split %s: want test or train\n", v);
                return -1;
            }
            o->split = v;
        } else if (strcmp(a, "--hand") == 0) {
            if (strcmp(v, "mnist") != 0 && strcmp(v, "heavy") != 0) {
                fprintf(stderr, "blotter samples: --hand %s: want mnist or heavy\n", v);
                return -1;
            }
            o->page.hand = strcmp(v, "heavy") == 0 ? BL_HAND_HEAVY : BL_HAND_MNIST;
        } else if (strcmp(a, "--data") == 0) {
            o->data = v;
        } else if (strcmp(a, "--fonts") == 0) {
            o->fonts = v;
        } else if (strcmp(a, "--dpi") == 0) {
            if (strcmp(v, "200") != 0 && strcmp(v, "300") != 0 && strcmp(v, "400") != 0) {
                fprintf(stderr, "blotter samples: --dpi %s: want 200, 300 or 400\n", v);
                return -1;
            }
            o->page.dpi = atoi(v);
        } else if (strcmp(a, "--format") == 0) {
            if (strcmp(v, "tiff") == 0)
                o->format = FMT_TIFF;
            else if (strcmp(v, "png") == 0)
                o->format = FMT_PNG;
            else if (strcmp(v, "multipage") == 0)
                o->format = FMT_MULTIPAGE;
            else if (strcmp(v, "mixed") == 0)
                o->format = FMT_MIXED;
            else {
                fprintf(stderr, "blotter samples: --format %s: want tiff, png, "
                        "multipage or mixed\n", v);
                return -1;
            }
        } else {
            fprintf(stderr, "blotter samples: unknown option %s\n", a);
            return -1;
        }
    }
    if (!o->out && !o->templates) {
        fprintf(stderr, "blotter samples: --out DIR (or --templates DIR) is required\n");
        return -1;
    }
    return 0;
}

/* mkdir -p. */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX_LEN];
    if (!bl_strlcpy(buf, path, sizeof buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Splits N pages into files as --format says. Returns the file count. */
static int plan_files(const options *o, out_file *files)
{
    int n = (int)o->pages, nfiles = 0, singles = n, multi = 0;
    if (o->format == FMT_MULTIPAGE) {
        for (int i = 0; i < n; i += MAX_FILE_PAGES) {
            out_file *f = &files[nfiles++];
            f->first = i;
            f->npages = n - i < MAX_FILE_PAGES ? n - i : MAX_FILE_PAGES;
            f->png = 0;
            snprintf(f->name, sizeof f->name, "pages-%03d-%03d.tif", i + 1,
                     i + f->npages);
        }
        return nfiles;
    }
    if (o->format == FMT_MIXED && n >= 3) {
        multi = n >= 8 ? 3 : 2;
        singles = n - multi;
    }
    for (int i = 0; i < singles; i++) {
        out_file *f = &files[nfiles++];
        f->first = i;
        f->npages = 1;
        f->png = o->format == FMT_PNG || (o->format == FMT_MIXED && i % 5 >= 3);
        snprintf(f->name, sizeof f->name, "page-%03d.%s", i + 1,
                 f->png ? "png" : "tif");
    }
    if (multi > 0) {
        out_file *f = &files[nfiles++];
        f->first = singles;
        f->npages = multi;
        f->png = 0;
        snprintf(f->name, sizeof f->name, "pages-%03d-%03d.tif", singles + 1, n);
    }
    return nfiles;
}

/* Page k's seed: a SplitMix64 step away from the run's seed, so pages are
 * independent of each other and of N. */
static uint64_t page_seed(uint64_t seed, int k)
{
    bl_samples_rng r;
    bl_samples_rng_seed(&r, seed ^ (0xa0761d6478bd642full * (uint64_t)(k + 1)));
    return bl_samples_rng_next(&r);
}

static json_t *box_json(bl_box b)
{
    return json_pack("[iiii]", b.x, b.y, b.w, b.h);
}

static json_t *page_json(const char *file, int page_index,
                         const bl_samples_page *p)
{
    json_t *fields = json_array();
    for (int i = 0; i < p->nfields; i++) {
        const bl_samples_field *f = &p->fields[i];
        json_t *digits = json_array();
        for (int d = 0; d < f->ndigits; d++)
            json_array_append_new(digits, box_json(f->digits[d]));
        json_array_append_new(
            fields, json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:b, s:b}", "name", f->name,
                              "value", f->value, "rule", f->rule, "box", box_json(f->box),
                              "digits", digits, "style", bl_samples_style_name(f->style),
                              "touching", f->touching, "crossing", f->crossing));
    }
    return json_pack("{s:s, s:i, s:s, s:i, s:f, s:b, s:i, s:i, s:i, s:[ii], s:o}", "file",
                     file, "page_index", page_index, "layout", p->layout,
                     "rotation", p->rotation, "skew", p->skew, "blank", p->blank,
                     "dpi", p->dpi, "width", p->width, "height", p->height,
                     "shift", p->shift_x, p->shift_y, "fields", fields);
}

/* Writes one file's pages: G4 TIFF of binarised pages, or an 8-bit gray
 * PNG of a page as scanned. */
static int write_file(const char *path, bl_image **pages, int npages, int png,
                      int dpi, bl_err *err)
{
    if (!png)
        return bl_image_write_tiff((const bl_image *const *)pages, npages, path,
                                   dpi, 1, err);
    return bl_image_write_png(pages[0], path, dpi, 0, err);
}

int bl_cmd_samples(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;

    int status = 1;
    bl_err err = {0};
    bl_mnist *mnist = NULL;
    bl_samples_source src = {0};
    bl_samples_fonts *fonts = NULL;
    out_file *files = NULL;
    json_t *root = NULL;
    char path[PATH_MAX_LEN], tmp[PATH_MAX_LEN];
    char data_dir[PATH_MAX_LEN];

    if (o.templates) {
        if (make_dirs(o.templates) != 0) {
            fprintf(stderr, "blotter samples: %s: cannot create: %s\n", o.templates,
                    strerror(errno));
            goto done;
        }
        if (bl_samples_forms_write_templates(o.templates, &err) != BL_OK) {
            fprintf(stderr, "blotter samples: %s\n", err.msg);
            goto done;
        }
        printf("samples: %d templates -> %s\n", BL_FORM_COUNT, o.templates);
        if (!o.out) {
            status = 0;
            goto done;
        }
    }
    if (make_dirs(o.out) != 0) {
        fprintf(stderr, "blotter samples: %s: cannot create: %s\n", o.out,
                strerror(errno));
        goto done;
    }
    if (o.data)
        bl_strlcpy(data_dir, o.data, sizeof data_dir);
    else
        bl_mnist_default_dir(data_dir, sizeof data_dir);
    mnist = bl_mnist_load(data_dir, o.split, &err);
    if (!mnist) {
        fprintf(stderr, "blotter samples: %s (fetch it with `blotter data mnist`)\n",
                err.msg);
        goto done;
    }
    fonts = bl_samples_fonts_new(o.fonts, &err);
    if (!fonts) {
        fprintf(stderr, "blotter samples: %s\n", err.msg);
        goto done;
    }
    if (bl_samples_source_init(&src, mnist, &err) != BL_OK) {
        fprintf(stderr, "blotter samples: %s\n", err.msg);
        goto done;
    }

    files = bl_xcalloc((size_t)o.pages, sizeof *files);
    int nfiles = plan_files(&o, files);
    json_t *pages_json = json_array();
    const bl_samples_options *po = &o.page;
    json_t *arte = json_pack(
        "{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "rotate", po->rotate,
        "skew", po->skew, "noise", po->noise, "blur", po->blur, "stamp", po->stamp,
        "scribble", po->scribble, "edges", po->edges, "blank", po->blank,
        "touching", po->touching, "cross", po->cross, "unlisted", po->unlisted);
    root = json_pack("{s:s, s:i, s:I, s:s, s:i, s:o, s:o}", "generator",
                     "blotter samples", "version", 2, "seed", (json_int_t)o.seed,
                     "split", o.split, "dpi", po->dpi, "artefacts", arte,
                     "pages", pages_json);
    if (po->hand == BL_HAND_HEAVY)
        json_object_set_new(root, "hand", json_string("heavy"));
    int total_fields = 0;
    for (int fi = 0; fi < nfiles; fi++) {
        const out_file *f = &files[fi];
        bl_image *pages[MAX_FILE_PAGES] = {NULL};
        for (int k = 0; k < f->npages; k++) {
            bl_samples_page truth;
            pages[k] = bl_samples_render_page(&src, fonts, &o.page,
                                              page_seed(o.seed, f->first + k),
                                              f->png, &truth);
            json_array_append_new(pages_json, page_json(f->name, k, &truth));
            total_fields += truth.nfields;
        }
        bl_snprintf(path, sizeof path, "%s/%s", o.out, f->name);
        rc = write_file(path, pages, f->npages, f->png, o.page.dpi, &err);
        for (int k = 0; k < f->npages; k++)
            bl_image_destroy(&pages[k]);
        if (rc != BL_OK) {
            fprintf(stderr, "blotter samples: %s\n", err.msg);
            goto done;
        }
        fprintf(stderr, "blotter samples: %d/%ld pages: %s\n",
                f->first + f->npages, o.pages, path);
    }

    /* Written aside and renamed, so a reader never sees half a truth file. */
    bl_snprintf(path, sizeof path, "%s/truth.json", o.out);
    bl_snprintf(tmp, sizeof tmp, "%s/truth.json.tmp", o.out);
    if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
                                      JSON_REAL_PRECISION(6)) != 0 ||
        rename(tmp, path) != 0) {
        fprintf(stderr, "blotter samples: %s: cannot write: %s\n", path,
                strerror(errno));
        remove(tmp);
        goto done;
    }
    printf("samples: %ld pages, %d fields, %d files -> %s\n", o.pages,
           total_fields, nfiles, path);
    status = 0;

done:
    json_decref(root);
    free(files);
    bl_samples_source_free(&src);
    bl_samples_fonts_destroy(&fonts);
    bl_mnist_destroy(&mnist);
    return status;
}
