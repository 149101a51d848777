/*
 * eval_ingest: `blotter eval ingest` and `blotter train ingest`
 * (cmd_train_ingest.c), and the page source they share: synthetic pages
 * rendered in-process by the sample generator (samples_page), with their
 * truth (quarter turn, skew, blank).
 */
#ifndef BL_EVAL_INGEST_H
#define BL_EVAL_INGEST_H

#include <stdint.h>

#include "blotter/samples_page.h"
#include "blotter/samples_text.h"
#include "image/image.h"
#include "mnist/mnist.h"

int bl_cmd_eval_ingest(int argc, char **argv);  /* eval_ingest.c */
int bl_cmd_train_ingest(int argc, char **argv); /* cmd_train_ingest.c */

/* Synthetic scans for training and evaluating ingest. */
typedef struct bl_ingest_gen {
    bl_mnist *mnist;
    bl_samples_fonts *fonts;
    bl_samples_source src;
    bl_samples_options opt; /* callers set rotate, skew, blank */
} bl_ingest_gen;

/* Loads MNIST `split` from data_dir (NULL: the default directory) and the
 * fonts. */
int bl_ingest_gen_open(bl_ingest_gen *g, const char *data_dir, const char *split,
                       bl_err *err);
void bl_ingest_gen_close(bl_ingest_gen *g);

/* Page `index` of the run `seed`, as its file would decode: 8-bit gray
 * (0 black). Pages cycle through formats as archives mix them: two of
 * three bilevel (info->bilevel), one gray; one in four at 200 or 400 dpi. */
bl_image *bl_ingest_gen_page(bl_ingest_gen *g, uint64_t seed, int index, bl_page_info *info,
                             bl_samples_page *truth);

#endif
