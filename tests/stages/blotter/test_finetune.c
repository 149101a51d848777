/*
 * `blotter train classify --base ... --from-db ...` (cmd_train_finetune.c):
 * learns from reviewed digits only, keeps frozen layers bit for bit, and
 * writes a versioned model with its provenance. A small random CNN stands
 * in for the shipped one so the run stays cheap under sanitizers; skipped
 * when MNIST (the test set it reports on) is not in data/mnist.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blm/blm.h"
#include "blotter/commands.h"
#include "db/db.h"
#include "db/records.h"
#include "db_fixture.h"
#include "nn/nn.h"

#define MNIST_DIR BL_SOURCE_DIR "/data/mnist"

Test(finetune, learns_reviewed_digits_and_keeps_frozen_layers)
{
    if (access(MNIST_DIR "/t10k-images-idx3-ubyte", R_OK) != 0)
        cr_skip_test("MNIST not found in %s", MNIST_DIR);
    char dir[FX_PATH_MAX], db_path[FX_PATH_MAX], base[FX_PATH_MAX + 16], out[FX_PATH_MAX + 16];
    fx_dir_make(dir, db_path);
    snprintf(base, sizeof base, "%s/base.blm", dir);
    snprintf(out, sizeof out, "%s/tuned.blm", dir);

    bl_err err = {0};
    bl_nn_net *net = bl_nn_net_new("conv4x5-pool-dense16-dense10", 1, 28, 28, &err);
    cr_assert_not_null(net, "%s", err.msg);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 5);
    bl_nn_net_init(net, &rng);
    bl_blm *m = bl_blm_new("classify", bl_nn_net_spec(net));
    cr_assert_eq(bl_nn_net_to_blm(net, m, &err), BL_OK);
    bl_blm_set_meta(m, "name", "tiny");
    bl_blm_set_meta(m, "version", "3");
    cr_assert_eq(bl_blm_save(m, base, &err), BL_OK, "%s", err.msg);
    bl_blm_destroy(&m);
    bl_nn_net_destroy(&net);

    /* Two fields: one corrected (3 digits, 3 rows), one corrected to a
     * value of another length (its digits cannot be labelled). */
    bl_db *db = bl_db_open(db_path, &err);
    cr_assert_not_null(db);
    fx_work x;
    const char *values[] = {"123", "45"};
    fx_work_init(&x, "b", "a.tif", 1, 2, values, NULL);
    for (uint32_t k = 0; k < x.w.digit_count; k++)
        for (int i = 0; i < BL_MNIST_PIXELS; i++)
            x.digits[k].pixels[i] = (uint8_t)((i * (k + 3)) % 256);
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err), BL_OK);
    long long f0 = fx_count(db_path, "SELECT id FROM fields WHERE field_index = 0");
    long long f1 = fx_count(db_path, "SELECT id FROM fields WHERE field_index = 1");
    cr_assert_eq(bl_db_review_add(db, f0, "ann", "123", "723", "s", &err), BL_OK);
    cr_assert_eq(bl_db_review_add(db, f1, "ann", "45", "457", "s", &err), BL_OK);
    bl_db_close(&db);

    char *argv[] = {"train", "classify", "--base", base, "--from-db", db_path, "--out", out,
                    "--epochs", "2", "--freeze", "features", "--data", MNIST_DIR, NULL};
    char *sout, *serr;
    int rc = fx_run_captured(bl_cmd_train_finetune, 14, argv, &sout, &serr);
    cr_assert_eq(rc, 0, "%s", serr);
    cr_expect(strstr(sout, "corrected digits:      3 (from 1 reviewed fields)"), "%s", sout);
    cr_expect(strstr(sout, "test accuracy:"), "%s", sout);
    free(sout);
    free(serr);

    bl_blm *a = bl_blm_load(base, "classify", &err), *b = bl_blm_load(out, "classify", &err);
    cr_assert(a && b, "%s", err.msg);
    const bl_blm_tensor *ca = bl_blm_find(a, "conv1.weight"), *cb = bl_blm_find(b, "conv1.weight");
    cr_assert(ca && cb);
    cr_expect_eq(memcmp(ca->data, cb->data, ca->count * sizeof(float)), 0, "conv1 moved");
    const bl_blm_tensor *da = bl_blm_find(a, "dense1.weight"), *dd = bl_blm_find(b, "dense1.weight");
    cr_expect_neq(memcmp(da->data, dd->data, da->count * sizeof(float)), 0, "head did not learn");
    cr_expect_str_eq(bl_blm_get_meta(b, "version"), "4");
    cr_expect_str_eq(bl_blm_get_meta(b, "samples"), "3");
    cr_expect_str_eq(bl_blm_get_meta(b, "freeze"), "features");
    cr_expect(strstr(bl_blm_get_meta(b, "base_model"), base));
    cr_expect_not_null(bl_blm_get_meta(b, "date"));
    bl_blm_destroy(&a);
    bl_blm_destroy(&b);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM audit WHERE command = 'train classify'"),
                 1);

    /* Nothing reviewed: a clear refusal. */
    char db2[FX_PATH_MAX + 16];
    snprintf(db2, sizeof db2, "%s/empty.db", dir);
    db = bl_db_open(db2, &err);
    bl_db_close(&db);
    argv[5] = db2;
    rc = fx_run_captured(bl_cmd_train_finetune, 14, argv, &sout, &serr);
    cr_expect_eq(rc, 1);
    cr_expect(strstr(serr, "no reviewed digits"), "%s", serr);
    free(sout);
    free(serr);
    fx_dir_remove(dir);
}
