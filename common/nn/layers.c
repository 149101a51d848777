/*
 * layers: the forward/backward kernels of common/nn, each a pair of plain
 * functions over explicit buffers (shapes in nn.h and below).
 *
 * Convolution is im2col + one sgemm per layer and batch (Chellapilla,
 * Puri & Simard 2006): with channel-major (C,B,H,W) activations the
 * im2col matrix (C*K*K, B*OH*OW) is built by contiguous row copies, and
 * the product with the (OC, C*K*K) filters lands directly in the next
 * layer's layout. Max-pooling is one pass that also records the winner,
 * so its backward is a scatter without recomputation. Softmax subtracts
 * the row maximum (no overflow); the losses clip log arguments.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "nn/nn.h"

/* ---- dense ------------------------------------------------------------- */

void bl_nn_dense_forward(float *out, const float *inp, const float *w, const float *b,
                         int B, int IN, int OUT)
{
    /* out (B,OUT) starts as the bias, then += inp @ w^T. */
    for (int r = 0; r < B; r++)
        memcpy(out + (size_t)r * OUT, b, (size_t)OUT * sizeof(float));
    if (B == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, OUT, IN, 1.0f, w, IN, inp, 1, 1.0f, out, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OUT, IN, 1.0f, inp, IN, w,
                    IN, 1.0f, out, OUT);
}

void bl_nn_dense_backward(float *dinp, float *dw, float *db, const float *dout,
                          const float *inp, const float *w, int B, int IN, int OUT)
{
    /* dw (OUT,IN) += dout^T (OUT,B) @ inp (B,IN) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, B, 1.0f, dout, OUT, inp,
                IN, 1.0f, dw, IN);
    /* db (OUT) += column sums of dout */
    for (int r = 0; r < B; r++) {
        const float *d = dout + (size_t)r * OUT;
        for (int o = 0; o < OUT; o++)
            db[o] += d[o];
    }
    /* dinp (B,IN) = dout (B,OUT) @ w (OUT,IN) */
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, IN, OUT, 1.0f, dout, OUT,
                    w, IN, 0.0f, dinp, IN);
}

/* ---- convolution ------------------------------------------------------- */

void bl_nn_im2col_range(float *cols, const float *inp, int B, int b0, int nb, int C, int H,
                        int W, int K)
{
    int OH = H - K + 1, OW = W - K + 1;
    size_t ncols = (size_t)nb * OH * OW;
    /* Row (c,ky,kx) holds, for every output pixel of every image, the input
     * pixel under that kernel tap: nb*OH runs of OW contiguous floats. */
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                float *row = cols + ((size_t)(c * K + ky) * K + kx) * ncols;
                for (int b = b0; b < b0 + nb; b++) {
                    const float *img = inp + ((size_t)c * B + b) * H * W;
                    /* An inline loop, not memcpy: runs are short (8 floats
                     * for the default CNN's conv2) and a call each costs
                     * more than the copy. */
                    for (int oy = 0; oy < OH; oy++) {
                        const float *src = img + (size_t)(oy + ky) * W + kx;
                        for (int ox = 0; ox < OW; ox++)
                            row[ox] = src[ox];
                        row += OW;
                    }
                }
            }
}

void bl_nn_im2col(float *cols, const float *inp, int B, int C, int H, int W, int K)
{
    bl_nn_im2col_range(cols, inp, B, 0, B, C, H, W, K);
}

void bl_nn_col2im(float *dinp, const float *dcols, int B, int C, int H, int W, int K)
{
    int OH = H - K + 1, OW = W - K + 1;
    size_t ncols = (size_t)B * OH * OW;
    memset(dinp, 0, (size_t)C * B * H * W * sizeof(float));
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                const float *row = dcols + ((size_t)(c * K + ky) * K + kx) * ncols;
                for (int b = 0; b < B; b++) {
                    float *img = dinp + ((size_t)c * B + b) * H * W;
                    for (int oy = 0; oy < OH; oy++) {
                        float *dst = img + (size_t)(oy + ky) * W + kx;
                        for (int ox = 0; ox < OW; ox++)
                            dst[ox] += row[ox];
                        row += OW;
                    }
                }
            }
}

void bl_nn_conv2d_forward(float *out, float *cols, const float *inp, const float *w,
                          const float *b, int B, int C, int H, int W, int OC, int K)
{
    int OH = H - K + 1, OW = W - K + 1;
    int CKK = C * K * K;
    size_t N = (size_t)B * OH * OW;
    bl_nn_im2col(cols, inp, B, C, H, W, K);
    /* out (OC,N) = bias, then += w (OC,CKK) @ cols (CKK,N) */
    for (int o = 0; o < OC; o++) {
        float *row = out + (size_t)o * N;
        for (size_t i = 0; i < N; i++)
            row[i] = b[o];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, (int)N, CKK, 1.0f, w, CKK,
                cols, (int)N, 1.0f, out, (int)N);
}

void bl_nn_conv2d_backward(float *dinp, float *dw, float *db, float *cols, float *dcols,
                           const float *dout, const float *inp, const float *w, int B,
                           int C, int H, int W, int OC, int K)
{
    int OH = H - K + 1, OW = W - K + 1;
    int CKK = C * K * K;
    size_t N = (size_t)B * OH * OW;
    bl_nn_im2col(cols, inp, B, C, H, W, K);
    /* dw (OC,CKK) += dout (OC,N) @ cols^T (N,CKK) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CKK, (int)N, 1.0f, dout,
                (int)N, cols, (int)N, 1.0f, dw, CKK);
    for (int o = 0; o < OC; o++) {
        const float *row = dout + (size_t)o * N;
        float s = 0.0f;
        for (size_t i = 0; i < N; i++)
            s += row[i];
        db[o] += s;
    }
    if (dinp) {
        /* dcols (CKK,N) = w^T (CKK,OC) @ dout (OC,N), then scatter back. */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, (int)N, OC, 1.0f, w, CKK,
                    dout, (int)N, 0.0f, dcols, (int)N);
        bl_nn_col2im(dinp, dcols, B, C, H, W, K);
    }
}

void bl_nn_conv_relu_pool_infer(float *out, float *cols, float *tmp, const float *inp,
                                const float *w, const float *b, int B, int C, int H, int W,
                                int OC, int K, int chunk)
{
    int OH = H - K + 1, OW = W - K + 1, PH = OH / 2, PW = OW / 2;
    int CKK = C * K * K;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int nb = B - b0 < chunk ? B - b0 : chunk;
        int N = nb * OH * OW;
        bl_nn_im2col_range(cols, inp, B, b0, nb, C, H, W, K);
        /* tmp (OC, nb*OH*OW) = w (OC,CKK) @ cols (CKK, nb*OH*OW), no bias yet */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, N, CKK, 1.0f, w, CKK, cols,
                    N, 0.0f, tmp, N);
        /* max over 2x2, then bias and ReLU: both commute with the max
         * (a per-channel constant and a monotone function). */
        for (int o = 0; o < OC; o++)
            for (int i = 0; i < nb; i++) {
                const float *plane = tmp + ((size_t)o * nb + i) * OH * OW;
                float *dst = out + ((size_t)o * B + b0 + i) * PH * PW;
                for (int py = 0; py < PH; py++) {
                    const float *r0 = plane + (size_t)(2 * py) * OW, *r1 = r0 + OW;
                    for (int px = 0; px < PW; px++) {
                        float m0 = r0[2 * px] > r0[2 * px + 1] ? r0[2 * px] : r0[2 * px + 1];
                        float m1 = r1[2 * px] > r1[2 * px + 1] ? r1[2 * px] : r1[2 * px + 1];
                        float v = (m0 > m1 ? m0 : m1) + b[o];
                        dst[py * PW + px] = v > 0.0f ? v : 0.0f;
                    }
                }
            }
    }
}

/* ---- pooling ----------------------------------------------------------- */

void bl_nn_maxpool_forward(float *out, uint8_t *arg, const float *inp, int N, int H, int W)
{
    int OH = H / 2, OW = W / 2;
    for (int n = 0; n < N; n++) {
        const float *plane = inp + (size_t)n * H * W;
        for (int oy = 0; oy < OH; oy++) {
            const float *r0 = plane + (size_t)(2 * oy) * W;
            const float *r1 = r0 + W;
            float *o = out + ((size_t)n * OH + oy) * OW;
            uint8_t *a = arg ? arg + ((size_t)n * OH + oy) * OW : NULL;
            for (int ox = 0; ox < OW; ox++) {
                float v0 = r0[2 * ox], v1 = r0[2 * ox + 1];
                float v2 = r1[2 * ox], v3 = r1[2 * ox + 1];
                float m = v0;
                uint8_t k = 0;
                if (v1 > m) { m = v1; k = 1; }
                if (v2 > m) { m = v2; k = 2; }
                if (v3 > m) { m = v3; k = 3; }
                o[ox] = m;
                if (a)
                    a[ox] = k;
            }
        }
    }
}

void bl_nn_maxpool_backward(float *dinp, const float *dout, const uint8_t *arg, int N,
                            int H, int W)
{
    int OH = H / 2, OW = W / 2;
    memset(dinp, 0, (size_t)N * H * W * sizeof(float));
    for (int n = 0; n < N; n++) {
        float *plane = dinp + (size_t)n * H * W;
        for (int oy = 0; oy < OH; oy++) {
            const float *d = dout + ((size_t)n * OH + oy) * OW;
            const uint8_t *a = arg + ((size_t)n * OH + oy) * OW;
            for (int ox = 0; ox < OW; ox++) {
                int y = 2 * oy + (a[ox] >> 1), x = 2 * ox + (a[ox] & 1);
                plane[(size_t)y * W + x] = d[ox];
            }
        }
    }
}

/* ---- activations ------------------------------------------------------- */

void bl_nn_relu_forward(float *out, const float *inp, size_t N)
{
    for (size_t i = 0; i < N; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void bl_nn_relu_backward(float *dinp, const float *dout, const float *out, size_t N)
{
    for (size_t i = 0; i < N; i++)
        dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void bl_nn_sigmoid_forward(float *out, const float *inp, size_t N)
{
    for (size_t i = 0; i < N; i++)
        out[i] = 1.0f / (1.0f + expf(-inp[i]));
}

void bl_nn_sigmoid_backward(float *dinp, const float *dout, const float *out, size_t N)
{
    for (size_t i = 0; i < N; i++)
        dinp[i] = dout[i] * out[i] * (1.0f - out[i]);
}

void bl_nn_dropout_mask(float *mask, size_t N, float p, bl_nn_rng *rng)
{
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < N; i++)
        mask[i] = bl_nn_rng_uniform(rng) < p ? 0.0f : keep;
}

void bl_nn_dropout_forward(float *out, const float *inp, const float *mask, size_t N)
{
    for (size_t i = 0; i < N; i++)
        out[i] = inp[i] * mask[i];
}

void bl_nn_dropout_backward(float *dinp, const float *dout, const float *mask, size_t N)
{
    for (size_t i = 0; i < N; i++)
        dinp[i] = dout[i] * mask[i];
}

void bl_nn_softmax_forward(float *probs, const float *logits, int B, int NC)
{
    for (int r = 0; r < B; r++) {
        const float *x = logits + (size_t)r * NC;
        float *p = probs + (size_t)r * NC;
        float mx = -FLT_MAX;
        for (int c = 0; c < NC; c++)
            mx = x[c] > mx ? x[c] : mx;
        float sum = 0.0f;
        for (int c = 0; c < NC; c++) {
            p[c] = expf(x[c] - mx);
            sum += p[c];
        }
        float inv = 1.0f / sum;
        for (int c = 0; c < NC; c++)
            p[c] *= inv;
    }
}

void bl_nn_softmax_backward(float *dlogits, const float *dprobs, const float *probs, int B,
                            int NC)
{
    for (int r = 0; r < B; r++) {
        const float *dp = dprobs + (size_t)r * NC;
        const float *p = probs + (size_t)r * NC;
        float *dl = dlogits + (size_t)r * NC;
        float dot = 0.0f;
        for (int c = 0; c < NC; c++)
            dot += dp[c] * p[c];
        for (int c = 0; c < NC; c++)
            dl[c] = p[c] * (dp[c] - dot);
    }
}

void bl_nn_flatten_forward(float *out, const float *inp, int C, int B, int S)
{
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++)
            memcpy(out + ((size_t)b * C + c) * S, inp + ((size_t)c * B + b) * S,
                   (size_t)S * sizeof(float));
}

void bl_nn_flatten_backward(float *dinp, const float *dout, int C, int B, int S)
{
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++)
            memcpy(dinp + ((size_t)c * B + b) * S, dout + ((size_t)b * C + c) * S,
                   (size_t)S * sizeof(float));
}

/* ---- losses ------------------------------------------------------------ */

#define BL_NN_PROB_EPS 1e-7f

float bl_nn_cce_forward(const float *probs, const int32_t *labels, int B, int NC)
{
    double sum = 0.0;
    for (int r = 0; r < B; r++) {
        float p = probs[(size_t)r * NC + labels[r]];
        sum -= log(p > BL_NN_PROB_EPS ? p : BL_NN_PROB_EPS);
    }
    return (float)(sum / B);
}

void bl_nn_softmax_cce_backward(float *dlogits, const float *probs, const int32_t *labels,
                                int B, int NC)
{
    float inv = 1.0f / (float)B;
    for (int r = 0; r < B; r++) {
        for (int c = 0; c < NC; c++) {
            float y = c == labels[r] ? 1.0f : 0.0f;
            dlogits[(size_t)r * NC + c] = (probs[(size_t)r * NC + c] - y) * inv;
        }
    }
}

static float clip_prob(float p)
{
    if (p < BL_NN_PROB_EPS)
        return BL_NN_PROB_EPS;
    if (p > 1.0f - BL_NN_PROB_EPS)
        return 1.0f - BL_NN_PROB_EPS;
    return p;
}

float bl_nn_bce_forward(const float *probs, const int32_t *labels, int B, int NC)
{
    double sum = 0.0;
    for (int r = 0; r < B; r++)
        for (int c = 0; c < NC; c++) {
            double p = clip_prob(probs[(size_t)r * NC + c]);
            sum -= c == labels[r] ? log(p) : log(1.0 - p);
        }
    return (float)(sum / ((double)B * NC));
}

void bl_nn_bce_backward(float *dprobs, const float *probs, const int32_t *labels, int B,
                        int NC)
{
    float inv = 1.0f / ((float)B * (float)NC);
    for (int r = 0; r < B; r++)
        for (int c = 0; c < NC; c++) {
            size_t i = (size_t)r * NC + c;
            float p = probs[i];
            if (p < BL_NN_PROB_EPS || p > 1.0f - BL_NN_PROB_EPS) {
                dprobs[i] = 0.0f;
                continue;
            }
            /* d/dp of -(y log p + (1-y) log(1-p)) */
            dprobs[i] = (c == labels[r] ? -1.0f / p : 1.0f / (1.0f - p)) * inv;
        }
}

float bl_nn_bce_multi_forward(const float *probs, const int32_t *targets, int B, int NC)
{
    double sum = 0.0;
    for (size_t i = 0; i < (size_t)B * NC; i++) {
        if (targets[i] < 0)
            continue;
        double p = clip_prob(probs[i]);
        sum -= targets[i] ? log(p) : log(1.0 - p);
    }
    return (float)(sum / ((double)B * NC));
}

void bl_nn_bce_multi_backward(float *dprobs, const float *probs, const int32_t *targets, int B,
                              int NC)
{
    float inv = 1.0f / ((float)B * (float)NC);
    for (size_t i = 0; i < (size_t)B * NC; i++) {
        float p = probs[i];
        float slope = p * (1.0f - p);
        if (targets[i] < 0) {
            dprobs[i] = 0.0f;
            continue;
        }
        /* The sigmoid's backward multiplies by p (1 - p) again. */
        dprobs[i] = (p - (float)targets[i]) / (slope > 1e-7f ? slope : 1e-7f) * inv;
    }
}

void bl_nn_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }
