/* The writer's review gate (stages/write/gate.c): features, the baseline
 * rule, and a model file's threshold and temperature. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blm/blm.h"
#include "nn/nn.h"
#include "write/gate.h"

/* A three-digit field "407" whose middle digit is doubtful. */
static float prob[30];
static int cls[3] = {4, 0, 7};
static bl_box boxes[3] = {{0, 0, 20, 30}, {22, 0, 20, 30}, {44, 0, 20, 30}};

static bl_gate_field field(const char *rule)
{
    memset(prob, 0, sizeof prob);
    prob[0 * 10 + 4] = 0.99f, prob[0 * 10 + 9] = 0.01f;
    prob[1 * 10 + 0] = 0.6f, prob[1 * 10 + 6] = 0.4f;
    prob[2 * 10 + 7] = 1.0f;
    return (bl_gate_field){rule, {0, 0, 64, 30}, 3, prob, cls, boxes};
}

Test(gate, features_describe_the_field)
{
    bl_gate_field f = field("len=3");
    float x[BL_GATE_FEATURES];
    bl_gate_features(&f, x);
    cr_expect_float_eq(x[0], 0.6f, 1e-6);        /* weakest digit */
    cr_expect_float_eq(x[4], 0.2f, 1e-6);        /* its margin */
    cr_expect_float_eq(x[5], 0.3f, 1e-6);        /* three digits */
    cr_expect_float_eq(x[6], 1.0f, 1e-6);        /* one below 0.9 */
    cr_expect_float_eq(x[9], 1.0f, 1e-6);        /* a rule applies */
    cr_expect_float_eq(x[10], 0.0f, 1e-6);       /* and passes */
    f = field("len=4");
    bl_gate_features(&f, x);
    cr_expect_float_eq(x[10], 1.0f, 1e-6);
    cr_expect_float_eq(x[11], 1.0f, 1e-6);
    cr_expect_float_eq(x[20], 0.0f, 1e-6, "no check digit in the rule");
    cr_expect_float_eq(x[23], 0.0f, 1e-6, "every digit its top class");
    bl_gate_field empty = {"", {0, 0, 10, 10}, 0, prob, cls, boxes};
    bl_gate_features(&empty, x);
    cr_expect_float_eq(x[8], 1.0f, 1e-6);
}

Test(gate, features_name_the_strong_rules_and_the_mended_digits)
{
    float x[BL_GATE_FEATURES];
    /* 407: Luhn 4 + 0 + 7 = 11 fails; 407 lies in 100-500. */
    bl_gate_field f = field("check=luhn;range=100-500");
    bl_gate_features(&f, x);
    cr_expect_float_eq(x[20], 0.0f, 1e-6, "407 fails its check digit");
    cr_expect_float_eq(x[21], 0.0f, 1e-6, "no date or time in the rule");
    cr_expect_float_eq(x[22], 1.0f, 1e-6, "407 is in range");
    /* Mended to 406 (Luhn 4 + 0 + 6 = 10 passes), though 7 is the last
     * digit's top class. */
    cls[2] = 6;
    f = field("check=luhn;range=100-500");
    bl_gate_features(&f, x);
    cr_expect_float_eq(x[20], 1.0f, 1e-6, "406 passes its check digit");
    cr_expect_float_eq(x[23], 1.0f, 1e-6, "one digit below its top class");
    f = field("date=DDMMYY");
    bl_gate_features(&f, x);
    cr_expect_float_eq(x[21], 0.0f, 1e-6, "three digits are no date");
    cls[2] = 7;
}

Test(gate, features_measure_how_deeply_neighbours_overlap)
{
    float x[BL_GATE_FEATURES];
    bl_gate_field f = field("");
    bl_gate_features(&f, x);
    cr_expect_float_eq(x[24], 0.0f, 1e-6, "digits 2 px apart do not overlap");
    cr_expect_float_eq(x[25], 0.0f, 1e-6);
    /* The last two cut from one pair: the third starts 15 px into the
     * second (20 px wide), the first two overlap by 2 px. */
    bl_box cut[3] = {{0, 0, 20, 30}, {18, 0, 20, 30}, {23, 0, 24, 30}};
    bl_gate_field g = {"", {0, 0, 47, 30}, 3, prob, cls, cut};
    bl_gate_features(&g, x);
    cr_expect_float_eq(x[24], 17.0f / 30.0f, 1e-6, "2 + 15 px over the field's height");
    cr_expect_float_eq(x[25], 0.75f, 1e-6, "15 px of the narrower 20");
}

Test(gate, baseline_is_the_product_and_zero_on_a_failed_rule)
{
    bl_gate_field f = field("");
    cr_expect(fabs(bl_gate_baseline(&f) - 0.99 * 0.6) < 1e-6);
    f = field("range=500-999");
    cr_expect_eq(bl_gate_baseline(&f), 0.0);
}

Test(gate, model_file_gives_threshold_temperature_and_id)
{
    bl_err err = {0};
    bl_nn_net *net = bl_nn_net_new("dense4r-dense2l", 1, 1, BL_GATE_FEATURES, &err);
    cr_assert_not_null(net, "%s", err.msg);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 3);
    bl_nn_net_init(net, &rng);
    bl_blm *m = bl_blm_new("write", bl_nn_net_spec(net));
    cr_assert_eq(bl_nn_net_to_blm(net, m, &err), BL_OK);
    bl_blm_set_meta(m, "threshold", "0.75");
    bl_blm_set_meta(m, "temperature", "2.0");
    char path[] = "/tmp/bl_gate_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(bl_blm_save(m, path, &err), BL_OK, "%s", err.msg);
    bl_gate *g = bl_gate_load(path, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_expect_float_eq(bl_gate_threshold(g), 0.75, 1e-9);
    cr_expect(strncmp(bl_gate_id(g), "write-gate@1:", 13) == 0, "%s", bl_gate_id(g));
    /* Temperature 2 halves the logit of the raw network. */
    bl_gate_field f = field("");
    float x[BL_GATE_FEATURES];
    bl_gate_features(&f, x);
    double raw = bl_gate_confidence_raw(net, x, 1.0);
    double c = bl_gate_confidence(g, &f);
    double want = 1 / (1 + exp(-log(raw / (1 - raw)) / 2));
    cr_expect(fabs(c - want) < 1e-5, "%g vs %g", c, want);
    bl_gate_destroy(&g);
    cr_expect_null(g);

    /* A model of another kind is refused, naming the file. */
    bl_blm *wrong = bl_blm_new("classify", bl_nn_net_spec(net));
    bl_nn_net_to_blm(net, wrong, &err);
    cr_assert_eq(bl_blm_save(wrong, path, &err), BL_OK);
    cr_expect_null(bl_gate_load(path, &err));
    cr_expect(strstr(err.msg, path), "%s", err.msg);
    unlink(path);
    bl_blm_destroy(&m);
    bl_blm_destroy(&wrong);
    bl_nn_net_destroy(&net);
}
