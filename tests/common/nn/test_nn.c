/*
 * nn: numerical gradient checks (central differences, double-precision
 * accumulation of the scalar loss) for every layer and loss, optimiser
 * step sanity, the spec grammar, and a tiny network learning XOR.
 *
 * Each layer check uses the scalar L = sum(out * R) for a fixed random R,
 * so dL/dout = R is fed to the backward function and every input and
 * parameter gradient is compared with (L(x+h) - L(x-h)) / 2h. Inputs are
 * kept away from kinks (ReLU at 0, ties in max-pooling) so the finite
 * difference never straddles one.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

/* ---- helpers ----------------------------------------------------------- */

static void fill_normal(float *x, size_t n, float scale, bl_nn_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * bl_nn_rng_normal(rng);
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

/* Compares analytic[i] with the central difference of loss() in x[i]. */
static void check_grad(const char *what, float *x, size_t n, const float *analytic,
                       loss_fn loss, void *ctx, float h, double atol, double rtol)
{
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double lp = loss(ctx);
        x[i] = keep - h;
        double lm = loss(ctx);
        x[i] = keep;
        double num = (lp - lm) / (2.0 * (double)h);
        double ana = analytic[i];
        double tol = atol + rtol * fmax(fabs(num), fabs(ana));
        cr_assert(fabs(num - ana) <= tol, "%s[%zu]: analytic %.6g, numerical %.6g", what, i,
                  ana, num);
    }
}

/* ---- dense ------------------------------------------------------------- */

enum { DB = 3, DIN = 5, DOUT = 4 };
static struct {
    float inp[DB * DIN], w[DOUT * DIN], b[DOUT], out[DB * DOUT], r[DB * DOUT];
    int B;
} dn;

static double dense_loss(void *ctx)
{
    (void)ctx;
    bl_nn_dense_forward(dn.out, dn.inp, dn.w, dn.b, dn.B, DIN, DOUT);
    return dot(dn.out, dn.r, (size_t)dn.B * DOUT);
}

static void dense_check(int B)
{
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 11 + (uint64_t)B);
    dn.B = B;
    fill_normal(dn.inp, sizeof dn.inp / 4, 1.0f, &rng);
    fill_normal(dn.w, sizeof dn.w / 4, 0.5f, &rng);
    fill_normal(dn.b, sizeof dn.b / 4, 0.5f, &rng);
    fill_normal(dn.r, sizeof dn.r / 4, 1.0f, &rng);
    float dinp[DB * DIN], dw[DOUT * DIN] = {0}, db[DOUT] = {0};
    bl_nn_dense_backward(dinp, dw, db, dn.r, dn.inp, dn.w, B, DIN, DOUT);
    check_grad("dense dinp", dn.inp, (size_t)B * DIN, dinp, dense_loss, NULL, 1e-2f, 1e-3, 1e-3);
    check_grad("dense dw", dn.w, DOUT * DIN, dw, dense_loss, NULL, 1e-2f, 1e-3, 1e-3);
    check_grad("dense db", dn.b, DOUT, db, dense_loss, NULL, 1e-2f, 1e-3, 1e-3);
}

Test(nn, dense_gradients_match_finite_differences) { dense_check(DB); }
Test(nn, dense_batch1_uses_gemv_and_matches) { dense_check(1); }

Test(nn, dense_backward_accumulates_parameter_gradients)
{
    float inp[2] = {1, 2}, w[2] = {0, 0}, dout[1] = {1}, dw[2] = {10, 10}, db[1] = {5};
    bl_nn_dense_backward(NULL, dw, db, dout, inp, w, 1, 2, 1);
    cr_assert_float_eq(dw[0], 11.0f, 1e-6);
    cr_assert_float_eq(dw[1], 12.0f, 1e-6);
    cr_assert_float_eq(db[0], 6.0f, 1e-6);
}

/* ---- conv2d ------------------------------------------------------------ */

enum { CB = 2, CC = 2, CH = 6, CW = 5, COC = 3, CK = 3, COH = CH - CK + 1, COW = CW - CK + 1 };
static struct {
    float inp[CC * CB * CH * CW], w[COC * CC * CK * CK], b[COC];
    float out[COC * CB * COH * COW], r[COC * CB * COH * COW];
    float cols[CC * CK * CK * CB * COH * COW];
} cv;

static double conv_loss(void *ctx)
{
    (void)ctx;
    bl_nn_conv2d_forward(cv.out, cv.cols, cv.inp, cv.w, cv.b, CB, CC, CH, CW, COC, CK);
    return dot(cv.out, cv.r, sizeof cv.out / 4);
}

static void conv_setup(void)
{
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 5);
    fill_normal(cv.inp, sizeof cv.inp / 4, 1.0f, &rng);
    fill_normal(cv.w, sizeof cv.w / 4, 0.3f, &rng);
    fill_normal(cv.b, sizeof cv.b / 4, 0.3f, &rng);
    fill_normal(cv.r, sizeof cv.r / 4, 1.0f, &rng);
}

Test(nn, conv2d_forward_matches_direct_convolution)
{
    conv_setup();
    conv_loss(NULL);
    for (int o = 0; o < COC; o++)
        for (int b = 0; b < CB; b++)
            for (int y = 0; y < COH; y++)
                for (int x = 0; x < COW; x++) {
                    double s = cv.b[o];
                    for (int c = 0; c < CC; c++)
                        for (int ky = 0; ky < CK; ky++)
                            for (int kx = 0; kx < CK; kx++)
                                s += (double)cv.w[((o * CC + c) * CK + ky) * CK + kx] *
                                     cv.inp[((c * CB + b) * CH + y + ky) * CW + x + kx];
                    float got = cv.out[((o * CB + b) * COH + y) * COW + x];
                    cr_assert(fabs(got - s) < 1e-4, "out[%d,%d,%d,%d] %g vs %g", o, b, y, x,
                              (double)got, s);
                }
}

Test(nn, conv2d_gradients_match_finite_differences)
{
    conv_setup();
    static float dinp[sizeof cv.inp / 4], dw[sizeof cv.w / 4], db[COC],
        dcols[sizeof cv.cols / 4];
    memset(dw, 0, sizeof dw);
    memset(db, 0, sizeof db);
    bl_nn_conv2d_backward(dinp, dw, db, cv.cols, dcols, cv.r, cv.inp, cv.w, CB, CC, CH, CW,
                          COC, CK);
    check_grad("conv dinp", cv.inp, sizeof cv.inp / 4, dinp, conv_loss, NULL, 1e-2f, 2e-3, 1e-3);
    check_grad("conv dw", cv.w, sizeof cv.w / 4, dw, conv_loss, NULL, 1e-2f, 2e-3, 1e-3);
    check_grad("conv db", cv.b, COC, db, conv_loss, NULL, 1e-2f, 2e-3, 1e-3);
}

/* ---- max-pool ---------------------------------------------------------- */

enum { PN = 3, PH = 5, PW = 6 }; /* odd height: the last row is dropped */
static struct {
    float inp[PN * PH * PW], out[PN * (PH / 2) * (PW / 2)], r[PN * (PH / 2) * (PW / 2)];
} pl;

static double pool_loss(void *ctx)
{
    (void)ctx;
    bl_nn_maxpool_forward(pl.out, NULL, pl.inp, PN, PH, PW);
    return dot(pl.out, pl.r, sizeof pl.out / 4);
}

Test(nn, maxpool_gradients_match_finite_differences)
{
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 7);
    /* Distinct values 0.1 apart, shuffled: no ties within h = 1e-2. */
    int32_t perm[PN * PH * PW];
    for (int i = 0; i < PN * PH * PW; i++)
        perm[i] = i;
    bl_nn_shuffle(perm, PN * PH * PW, &rng);
    for (int i = 0; i < PN * PH * PW; i++)
        pl.inp[i] = 0.1f * (float)perm[i] - 3.0f;
    fill_normal(pl.r, sizeof pl.r / 4, 1.0f, &rng);
    float out[sizeof pl.out / 4], dinp[sizeof pl.inp / 4];
    uint8_t arg[sizeof pl.out / 4];
    bl_nn_maxpool_forward(out, arg, pl.inp, PN, PH, PW);
    bl_nn_maxpool_backward(dinp, pl.r, arg, PN, PH, PW);
    check_grad("pool dinp", pl.inp, sizeof pl.inp / 4, dinp, pool_loss, NULL, 1e-2f, 1e-3, 1e-3);
}

/* ---- activations ------------------------------------------------------- */

enum { AN = 24 };
static struct {
    float inp[AN], out[AN], r[AN], mask[AN];
    int kind; /* 0 relu, 1 sigmoid, 2 dropout */
} ac;

static double act_loss(void *ctx)
{
    (void)ctx;
    if (ac.kind == 0)
        bl_nn_relu_forward(ac.out, ac.inp, AN);
    else if (ac.kind == 1)
        bl_nn_sigmoid_forward(ac.out, ac.inp, AN);
    else
        bl_nn_dropout_forward(ac.out, ac.inp, ac.mask, AN);
    return dot(ac.out, ac.r, AN);
}

static void act_check(int kind)
{
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 100 + (uint64_t)kind);
    ac.kind = kind;
    for (int i = 0; i < AN; i++) {
        float v = bl_nn_rng_normal(&rng);
        ac.inp[i] = v >= 0 ? v + 0.1f : v - 0.1f; /* away from ReLU's kink */
    }
    fill_normal(ac.r, AN, 1.0f, &rng);
    bl_nn_dropout_mask(ac.mask, AN, 0.5f, &rng);
    act_loss(NULL);
    float dinp[AN];
    if (kind == 0)
        bl_nn_relu_backward(dinp, ac.r, ac.out, AN);
    else if (kind == 1)
        bl_nn_sigmoid_backward(dinp, ac.r, ac.out, AN);
    else
        bl_nn_dropout_backward(dinp, ac.r, ac.mask, AN);
    check_grad(kind == 0 ? "relu" : kind == 1 ? "sigmoid" : "dropout", ac.inp, AN, dinp,
               act_loss, NULL, 1e-3f, 1e-3, 1e-2);
}

Test(nn, relu_gradient_matches_finite_differences) { act_check(0); }
Test(nn, sigmoid_gradient_matches_finite_differences) { act_check(1); }
Test(nn, dropout_gradient_with_fixed_mask_matches_finite_differences) { act_check(2); }

Test(nn, dropout_mask_is_inverted_and_has_expected_rate)
{
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 3);
    enum { N = 20000 };
    static float mask[N];
    bl_nn_dropout_mask(mask, N, 0.25f, &rng);
    int dropped = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(mask[i] == 0.0f || fabsf(mask[i] - 1.0f / 0.75f) < 1e-6f);
        dropped += mask[i] == 0.0f;
    }
    cr_assert(dropped > N * 0.23 && dropped < N * 0.27, "dropped %d", dropped);
}

/* ---- softmax and losses ------------------------------------------------ */

enum { LB = 3, LC = 5 };
static struct {
    float logits[LB * LC], probs[LB * LC], r[LB * LC];
    int32_t labels[LB];
    int kind; /* 0 softmax.R, 1 softmax+cce, 2 softmax+bce, 3 sigmoid+bce */
} ls;

static double loss_loss(void *ctx)
{
    (void)ctx;
    switch (ls.kind) {
    case 0:
        bl_nn_softmax_forward(ls.probs, ls.logits, LB, LC);
        return dot(ls.probs, ls.r, LB * LC);
    case 1:
        bl_nn_softmax_forward(ls.probs, ls.logits, LB, LC);
        return bl_nn_cce_forward(ls.probs, ls.labels, LB, LC);
    case 2:
        bl_nn_softmax_forward(ls.probs, ls.logits, LB, LC);
        return bl_nn_bce_forward(ls.probs, ls.labels, LB, LC);
    default:
        bl_nn_sigmoid_forward(ls.probs, ls.logits, LB * LC);
        return bl_nn_bce_forward(ls.probs, ls.labels, LB, LC);
    }
}

static void loss_check(int kind)
{
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 200 + (uint64_t)kind);
    ls.kind = kind;
    fill_normal(ls.logits, LB * LC, 1.5f, &rng);
    fill_normal(ls.r, LB * LC, 1.0f, &rng);
    for (int b = 0; b < LB; b++)
        ls.labels[b] = (int32_t)bl_nn_rng_below(&rng, LC);
    loss_loss(NULL);
    float grad[LB * LC], dprobs[LB * LC];
    switch (kind) {
    case 0:
        bl_nn_softmax_backward(grad, ls.r, ls.probs, LB, LC);
        break;
    case 1:
        bl_nn_softmax_cce_backward(grad, ls.probs, ls.labels, LB, LC);
        break;
    case 2:
        bl_nn_bce_backward(dprobs, ls.probs, ls.labels, LB, LC);
        bl_nn_softmax_backward(grad, dprobs, ls.probs, LB, LC);
        break;
    default:
        bl_nn_bce_backward(dprobs, ls.probs, ls.labels, LB, LC);
        bl_nn_sigmoid_backward(grad, dprobs, ls.probs, LB * LC);
        break;
    }
    check_grad("loss dlogits", ls.logits, LB * LC, grad, loss_loss, NULL, 1e-3f, 1e-4, 1e-2);
}

Test(nn, softmax_gradient_matches_finite_differences) { loss_check(0); }
Test(nn, softmax_cce_gradient_matches_finite_differences) { loss_check(1); }
Test(nn, softmax_bce_gradient_matches_finite_differences) { loss_check(2); }
Test(nn, sigmoid_bce_gradient_matches_finite_differences) { loss_check(3); }

Test(nn, softmax_is_stable_for_huge_logits)
{
    float logits[3] = {1000.0f, 999.0f, -1000.0f}, probs[3];
    bl_nn_softmax_forward(probs, logits, 1, 3);
    cr_assert(isfinite(probs[0]) && isfinite(probs[1]));
    cr_assert_float_eq(probs[0] + probs[1] + probs[2], 1.0f, 1e-6);
    cr_assert(probs[0] > probs[1]);
}

Test(nn, losses_match_hand_computed_values)
{
    float probs[4] = {0.25f, 0.75f, 0.5f, 0.5f};
    int32_t labels[2] = {1, 0};
    /* cce: mean(-log .75, -log .5) */
    cr_assert_float_eq(bl_nn_cce_forward(probs, labels, 2, 2),
                       (float)((-log(0.75) - log(0.5)) / 2), 1e-6);
    /* bce over B*C = 4 entries */
    double want = (-log(0.75) - log(0.75) - log(0.5) - log(0.5)) / 4;
    cr_assert_float_eq(bl_nn_bce_forward(probs, labels, 2, 2), (float)want, 1e-6);
}

/* ---- flatten ----------------------------------------------------------- */

Test(nn, flatten_round_trips_and_is_its_own_adjoint)
{
    enum { C = 3, B = 2, S = 4 };
    float x[C * B * S], y[C * B * S], z[C * B * S];
    for (int i = 0; i < C * B * S; i++)
        x[i] = (float)i;
    bl_nn_flatten_forward(y, x, C, B, S);
    /* sample 1, channel 2, position 3 of (B,C,S) came from (C,B,S) [2][1][3] */
    cr_assert_eq(y[(1 * C + 2) * S + 3], x[(2 * B + 1) * S + 3]);
    bl_nn_flatten_backward(z, y, C, B, S);
    cr_assert_arr_eq(x, z, sizeof x);
}

/* ---- whole networks ---------------------------------------------------- */

static struct {
    bl_nn_net *net;
    float x[2 * 2 * 8 * 8];
    int32_t labels[2];
    bl_nn_loss loss;
} nt;

static double net_loss(void *ctx)
{
    (void)ctx;
    const float *probs = bl_nn_net_forward(nt.net, nt.x, 2, false, NULL);
    if (nt.loss == BL_NN_LOSS_CCE)
        return bl_nn_cce_forward(probs, nt.labels, 2, bl_nn_net_classes(nt.net));
    return bl_nn_bce_forward(probs, nt.labels, 2, bl_nn_net_classes(nt.net));
}

static void net_check(const char *spec, int C, bl_nn_loss loss)
{
    bl_err err = {0};
    nt.net = bl_nn_net_new(spec, C, 8, 8, &err);
    cr_assert_not_null(nt.net, "%s: %s", spec, err.msg);
    nt.loss = loss;
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 42);
    bl_nn_net_init(nt.net, &rng);
    /* Random biases too, so ReLUs are not all on one side at zero. */
    float *p = bl_nn_net_params(nt.net);
    size_t np = bl_nn_net_num_params(nt.net);
    for (size_t i = 0; i < np; i++)
        p[i] += 0.05f * bl_nn_rng_normal(&rng);
    for (int i = 0; i < 2 * C * 64; i++)
        nt.x[i] = bl_nn_rng_uniform(&rng);
    nt.labels[0] = 1;
    nt.labels[1] = 2;
    bl_nn_net_forward(nt.net, nt.x, 2, true, &rng);
    bl_nn_net_backward(nt.net, nt.labels, loss);
    float *g = bl_xmalloc(np * sizeof(float));
    memcpy(g, bl_nn_net_grads(nt.net), np * sizeof(float));
    /* h small enough that few ReLUs flip; tolerance for the rare one that does. */
    check_grad(spec, p, np, g, net_loss, NULL, 1e-3f, 2e-3, 5e-2);
    free(g);
    bl_nn_net_destroy(&nt.net);
}

Test(nn, cnn_backward_matches_finite_differences)
{
    net_check("conv3x3-pool-conv4x2-dense6-dense3", 1, BL_NN_LOSS_CCE);
}

Test(nn, multichannel_input_network_gradients)
{
    net_check("conv3x3s-pool-dense5s-dense3", 2, BL_NN_LOSS_BCE);
}

Test(nn, mlp_with_sigmoid_head_and_bce_gradients)
{
    net_check("dense7r-dense5s-dense3s", 1, BL_NN_LOSS_BCE);
}

/* Per-output targets (1, 0, or -1: not counted) for a sigmoid head. */
static int32_t multi_targets[2 * 3] = {1, 0, -1, -1, 1, 0};

static double net_loss_multi(void *ctx)
{
    (void)ctx;
    const float *probs = bl_nn_net_forward(nt.net, nt.x, 2, false, NULL);
    return bl_nn_bce_multi_forward(probs, multi_targets, 2, 3);
}

Test(nn, sigmoid_head_per_output_bce_gradients)
{
    bl_err err = {0};
    const char *spec = "conv3x3-pool-dense5-dense3s";
    nt.net = bl_nn_net_new(spec, 1, 8, 8, &err);
    cr_assert_not_null(nt.net, "%s", err.msg);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 7);
    bl_nn_net_init(nt.net, &rng);
    float *p = bl_nn_net_params(nt.net);
    size_t np = bl_nn_net_num_params(nt.net);
    for (size_t i = 0; i < np; i++)
        p[i] += 0.05f * bl_nn_rng_normal(&rng);
    for (int i = 0; i < 2 * 64; i++)
        nt.x[i] = bl_nn_rng_uniform(&rng);
    bl_nn_net_forward(nt.net, nt.x, 2, true, &rng);
    float loss = bl_nn_net_backward(nt.net, multi_targets, BL_NN_LOSS_BCE_MULTI);
    cr_assert_float_eq(loss, (float)net_loss_multi(NULL), 1e-6);
    float *g = bl_xmalloc(np * sizeof(float));
    memcpy(g, bl_nn_net_grads(nt.net), np * sizeof(float));
    check_grad(spec, p, np, g, net_loss_multi, NULL, 1e-3f, 2e-3, 5e-2);
    free(g);
    /* A softmax head takes no per-output targets. */
    bl_nn_net_destroy(&nt.net);
    nt.net = bl_nn_net_new("dense3", 1, 8, 8, &err);
    cr_assert_not_null(nt.net, "%s", err.msg);
    bl_nn_net_forward(nt.net, nt.x, 2, true, &rng);
    cr_assert_lt(bl_nn_net_backward(nt.net, multi_targets, BL_NN_LOSS_BCE_MULTI), 0.0f);
    bl_nn_net_destroy(&nt.net);
}

Test(nn, per_output_bce_skips_uncounted_outputs)
{
    float probs[4] = {0.8f, 0.3f, 0.5f, 0.9f};
    int32_t t[4] = {1, 0, -1, -1};
    double want = -(log(0.8) + log(0.7)) / 4;
    cr_assert_float_eq(bl_nn_bce_multi_forward(probs, t, 1, 4), (float)want, 1e-6);
    float d[4];
    bl_nn_bce_multi_backward(d, probs, t, 1, 4);
    cr_assert_eq(d[2], 0.0f);
    cr_assert_eq(d[3], 0.0f);
    /* Through the sigmoid the logit gets (p - y) / (B * NC). */
    cr_assert_float_eq(d[0] * 0.8f * 0.2f, (0.8f - 1.0f) / 4, 1e-6);
    cr_assert_float_eq(d[1] * 0.3f * 0.7f, 0.3f / 4, 1e-6);
}

Test(nn, spec_grammar_canonicalises)
{
    bl_err err = {0};
    bl_nn_net *n = bl_nn_net_new("conv32x5-pool-conv64x5-pool-dense256-dropout0.5-dense10", 1,
                                 28, 28, &err);
    cr_assert_not_null(n, "%s", err.msg);
    cr_assert_str_eq(bl_nn_net_spec(n),
                     "conv32x5r-pool-conv64x5r-pool-dense256r-dropout0.5-dense10l");
    cr_assert_eq(bl_nn_net_classes(n), 10);
    /* 32*25+32 + 64*800+64 + 256*1024+256 + 10*256+10 */
    cr_assert_eq(bl_nn_net_num_params(n), (size_t)(832 + 51264 + 262400 + 2570));
    cr_assert(bl_nn_net_softmax_head(n));
    bl_nn_net_destroy(&n);
    n = bl_nn_net_new("dense784r-dense256r-dense64s-dense10", 1, 28, 28, &err);
    cr_assert_not_null(n, "%s", err.msg);
    cr_assert_str_eq(bl_nn_net_spec(n), "dense784r-dense256r-dense64s-dense10l");
    bl_nn_net_destroy(&n);
    n = bl_nn_net_new("dense16-dense10s", 1, 28, 28, &err);
    cr_assert_not_null(n, "%s", err.msg);
    cr_assert_not(bl_nn_net_softmax_head(n));
    bl_nn_net_destroy(&n);
}

Test(nn, spec_grammar_rejects_bad_specs)
{
    const char *bad[] = {"",           "dense",       "dense10r",   "conv32x5",
                         "frob-dense10", "conv0x5-dense10", "conv4x29-dense10",
                         "dense8-conv4x3-dense10", "dropout1.5-dense10", "dense10-dropout0.5",
                         "dense1",     "dense10x",    "pool-pool-pool-pool-pool-dense10",
                         "dense99999999-dense10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bl_err err = {0};
        bl_nn_net *n = bl_nn_net_new(bad[i], 1, 28, 28, &err);
        cr_assert_null(n, "'%s' accepted", bad[i]);
        cr_assert_neq(err.code, BL_OK);
        cr_assert_neq(err.msg[0], '\0');
    }
}

/* ---- optimisers -------------------------------------------------------- */

Test(nn, optimisers_step_against_the_gradient)
{
    float g[3] = {1.0f, -2.0f, 0.0f};
    for (int k = 0; k < 3; k++) {
        bl_nn_optim *o = bl_nn_optim_new((bl_nn_optim_kind)k, 3, 0.1f);
        float p[3] = {0, 0, 0};
        bl_nn_optim_step(o, p, g);
        cr_assert(p[0] < 0 && p[1] > 0 && p[2] == 0, "kind %d: %g %g %g", k, (double)p[0],
                  (double)p[1], (double)p[2]);
        bl_nn_optim_destroy(&o);
        cr_assert_null(o);
    }
}

Test(nn, optimiser_first_steps_have_textbook_sizes)
{
    float g[1] = {0.5f}, p[1], s[1], m[1], v[1];
    /* SGD momentum: v = -lr g, then v = mu v - lr g */
    p[0] = 0;
    s[0] = 0;
    bl_nn_sgd_step(p, g, s, 1, 0.1f, 0.9f);
    cr_assert_float_eq(p[0], -0.05f, 1e-7);
    bl_nn_sgd_step(p, g, s, 1, 0.1f, 0.9f);
    cr_assert_float_eq(p[0], -0.05f - 0.095f, 1e-6);
    /* RMSprop: s = 0.1 g^2, step lr g / sqrt(s) = lr / sqrt(0.1) */
    p[0] = 0;
    s[0] = 0;
    bl_nn_rmsprop_step(p, g, s, 1, 0.01f, 0.9f, 0.0f);
    cr_assert_float_eq(p[0], -0.01f / sqrtf(0.1f), 1e-6);
    /* Adam: the bias-corrected first step is lr * sign(g) */
    p[0] = 0;
    m[0] = v[0] = 0;
    bl_nn_adam_step(p, g, m, v, 1, 0.001f, 0.9f, 0.999f, 1e-8f, 1);
    cr_assert_float_eq(p[0], -0.001f, 1e-6);
}

Test(nn, tiny_network_learns_xor)
{
    bl_err err = {0};
    bl_nn_net *net = bl_nn_net_new("dense16r-dense2", 2, 1, 1, &err);
    cr_assert_not_null(net, "%s", err.msg);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 1);
    bl_nn_net_init(net, &rng);
    bl_nn_optim *o = bl_nn_optim_new(BL_NN_ADAM, bl_nn_net_num_params(net), 0.05f);
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    int32_t y[4] = {0, 1, 1, 0};
    float loss = 1.0f;
    for (int step = 0; step < 300; step++) {
        bl_nn_net_forward(net, x, 4, true, &rng);
        loss = bl_nn_net_backward(net, y, BL_NN_LOSS_CCE);
        bl_nn_optim_step(o, bl_nn_net_params(net), bl_nn_net_grads(net));
    }
    cr_assert(loss < 0.05f, "loss %g", (double)loss);
    const float *p = bl_nn_net_forward(net, x, 4, false, NULL);
    for (int i = 0; i < 4; i++)
        cr_assert((p[2 * i + 1] > 0.5f) == (y[i] == 1), "xor sample %d", i);
    bl_nn_optim_destroy(&o);
    bl_nn_net_destroy(&net);
}

/* ---- rng and init ------------------------------------------------------ */

Test(nn, rng_is_reproducible_and_in_range)
{
    bl_nn_rng a, b;
    bl_nn_rng_seed(&a, 99);
    bl_nn_rng_seed(&b, 99);
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(bl_nn_rng_next(&a), bl_nn_rng_next(&b));
        float u = bl_nn_rng_uniform(&a);
        bl_nn_rng_uniform(&b);
        cr_assert(u >= 0.0f && u < 1.0f);
        uint32_t k = bl_nn_rng_below(&a, 7);
        bl_nn_rng_below(&b, 7);
        cr_assert(k < 7);
    }
}

Test(nn, he_init_has_expected_spread)
{
    enum { N = 40000 };
    static float w[N];
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 1);
    bl_nn_init_he(w, N, 50, &rng);
    double s2 = 0;
    for (int i = 0; i < N; i++)
        s2 += (double)w[i] * w[i];
    cr_assert(fabs(s2 / N - 2.0 / 50) < 0.002, "var %g", s2 / N);
    bl_nn_init_glorot(w, N, 30, 20, &rng);
    float a = sqrtf(6.0f / 50.0f);
    for (int i = 0; i < N; i++)
        cr_assert(fabsf(w[i]) <= a);
}

Test(nn, fused_inference_matches_the_training_forward)
{
    /* Inference fuses conv, ReLU and pool per chunk of images; the training
     * forward runs them as separate layers. Same answers up to rounding,
     * for a batch larger than one chunk. */
    bl_err err = {0};
    bl_nn_net *net = bl_nn_net_new("conv8x5-pool-conv16x5-pool-dense12-dense10", 1, 28, 28,
                                   &err);
    cr_assert_not_null(net, "%s", err.msg);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 8);
    bl_nn_net_init(net, &rng);
    float *p = bl_nn_net_params(net);
    for (size_t i = 0; i < bl_nn_net_num_params(net); i++)
        p[i] += 0.05f * bl_nn_rng_normal(&rng);
    enum { B = 150 };
    float *x = bl_xmalloc((size_t)B * 784 * sizeof(float));
    for (int i = 0; i < B * 784; i++)
        x[i] = bl_nn_rng_uniform(&rng);
    float *a = bl_xmalloc((size_t)B * 10 * sizeof(float));
    memcpy(a, bl_nn_net_forward(net, x, B, true, &rng), (size_t)B * 10 * sizeof(float));
    const float *b = bl_nn_net_forward(net, x, B, false, NULL);
    for (int i = 0; i < B * 10; i++)
        cr_assert(fabsf(a[i] - b[i]) < 1e-5f, "prob %d: %g vs %g", i, (double)a[i],
                  (double)b[i]);
    free(x);
    free(a);
    bl_nn_net_destroy(&net);
}

/* Fine-tuning: frozen feature layers get no gradient and do not move;
 * the head still learns, with the same gradient as without freezing. */
Test(nn, frozen_features_get_no_gradient_and_do_not_move)
{
    bl_err err = {0};
    const char *spec = "conv4x3-pool-dense8-dense3";
    bl_nn_net *net = bl_nn_net_new(spec, 1, 8, 8, &err);
    bl_nn_net *ref = bl_nn_net_new(spec, 1, 8, 8, &err);
    cr_assert(net && ref, "%s", err.msg);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 7);
    bl_nn_net_init(net, &rng);
    size_t n = bl_nn_net_num_params(net);
    memcpy(bl_nn_net_params(ref), bl_nn_net_params(net), n * sizeof(float));
    cr_assert_eq(bl_nn_net_freeze(net, "features", &err), BL_OK, "%s", err.msg);
    size_t off = bl_nn_net_frozen_params(net);
    cr_assert_eq(off, 4 * 9 + 4, "conv1 has 40 parameters, frozen %zu", off);

    float x[4 * 64];
    for (int i = 0; i < 4 * 64; i++)
        x[i] = bl_nn_rng_uniform(&rng);
    int32_t y[4] = {0, 1, 2, 1};
    bl_nn_net_forward(net, x, 4, true, NULL);
    bl_nn_net_backward(net, y, BL_NN_LOSS_CCE);
    bl_nn_net_forward(ref, x, 4, true, NULL);
    bl_nn_net_backward(ref, y, BL_NN_LOSS_CCE);
    const float *g = bl_nn_net_grads(net), *gr = bl_nn_net_grads(ref);
    for (size_t i = 0; i < off; i++)
        cr_assert_eq(g[i], 0.0f, "frozen gradient %zu is %g", i, g[i]);
    for (size_t i = off; i < n; i++)
        cr_assert_float_eq(g[i], gr[i], 1e-6, "head gradient %zu differs", i);
    double head = 0;
    for (size_t i = off; i < n; i++)
        head += fabs(g[i]);
    cr_assert_gt(head, 0.0);

    float before[40];
    memcpy(before, bl_nn_net_params(net), sizeof before);
    bl_nn_optim *opt = bl_nn_optim_new(BL_NN_ADAM, n - off, 1e-2f);
    bl_nn_optim_step(opt, bl_nn_net_params(net) + off, bl_nn_net_grads(net) + off);
    cr_assert_eq(memcmp(before, bl_nn_net_params(net), sizeof before), 0);
    cr_assert_neq(memcmp(bl_nn_net_params(net) + off, bl_nn_net_params(ref) + off,
                         (n - off) * sizeof(float)), 0);
    bl_nn_optim_destroy(&opt);

    /* Only a leading run can be frozen; unknown names are refused. */
    cr_expect_eq(bl_nn_net_freeze(net, "dense1", &err), BL_EINVAL);
    cr_expect(strstr(err.msg, "conv1"), "%s", err.msg);
    cr_expect_eq(bl_nn_net_freeze(net, "dense9", &err), BL_EINVAL);
    cr_expect_eq(bl_nn_net_freeze(net, "conv1,dense1", &err), BL_OK);
    cr_expect_eq(bl_nn_net_frozen_params(net), 40 + 8 * 36 + 8);
    cr_expect_eq(bl_nn_net_freeze(net, "none", &err), BL_OK);
    cr_expect_eq(bl_nn_net_frozen_params(net), 0);
    bl_nn_net_destroy(&net);
    bl_nn_net_destroy(&ref);
}
