/*
 * nn: a small neural-network core on OpenBLAS, in the manner of
 * karpathy/llm.c's train_gpt2.c: every layer is a forward/backward pair of
 * plain functions over explicit float buffers, a network's parameters are
 * one contiguous block with named views, and shapes are written next to
 * every buffer.
 *
 * Dimension letters, used throughout:
 *   B batch, C input channels, H W input height and width, K kernel side,
 *   OC output channels, OH OW output height and width, IN OUT features,
 *   N a plain element count, NC classes.
 *
 * Layouts. Dense layers take row-major (B, IN). Convolutional layers keep
 * activations channel-major across the batch, (C, B, H, W): one im2col
 * matrix for the whole batch then makes each convolution a single large
 * sgemm (OC x C*K*K) @ (C*K*K x B*OH*OW), whose result is already the next
 * (OC, B, OH, OW) tensor, so no per-sample calls and no transposes between
 * conv layers. A flatten step turns (C, B, H, W) into (B, C*H*W) before the
 * first dense layer. For C = 1 (a digit) both layouts coincide.
 *
 * Gradient conventions: backward functions *accumulate* into parameter
 * gradients (dw, db, as llm.c does) and *overwrite* input gradients
 * (dinp); a NULL dinp skips that work (the first layer needs none).
 *
 * Sources: He et al. 2015 (initialisation for ReLU), Glorot & Bengio 2010
 * (uniform initialisation), Srivastava et al. 2014 (dropout, here the
 * "inverted" variant that scales at training time), Kingma & Ba 2015
 * (Adam), Tieleman & Hinton 2012 (RMSprop), Polyak 1964 / Sutskever et al.
 * 2013 (momentum), Blackman & Vigna 2018 (xoshiro256**).
 *
 * Limits: float32 only; convolutions are stride 1 without padding
 * ("valid"); pooling is 2x2 with stride 2 (odd edges are dropped); the
 * library never sets OpenBLAS's thread count by itself (bl_nn_set_threads
 * is the caller's choice) and never prints.
 */
#ifndef BL_NN_H
#define BL_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blm/blm.h"
#include "util/util.h"

/* ---- random numbers ---------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: fast, 256-bit state, and the
 * same sequence on every platform, which makes training reproducible. */
typedef struct bl_nn_rng {
    uint64_t s[4];
    bool have_spare; /* Box-Muller yields normals in pairs */
    float spare;
} bl_nn_rng;

void bl_nn_rng_seed(bl_nn_rng *rng, uint64_t seed);
uint64_t bl_nn_rng_next(bl_nn_rng *rng);
float bl_nn_rng_uniform(bl_nn_rng *rng);            /* [0, 1) */
float bl_nn_rng_normal(bl_nn_rng *rng);             /* N(0, 1) */
uint32_t bl_nn_rng_below(bl_nn_rng *rng, uint32_t n); /* [0, n), unbiased */
/* Fisher-Yates shuffle of idx[0..n). */
void bl_nn_shuffle(int32_t *idx, size_t n, bl_nn_rng *rng);

/* ---- initialisation ---------------------------------------------------- */

/* He (Kaiming) normal: N(0, 2/fan_in); for layers followed by ReLU. */
void bl_nn_init_he(float *w, size_t n, int fan_in, bl_nn_rng *rng);
/* Glorot (Xavier) uniform: U(-a, a), a = sqrt(6/(fan_in+fan_out)). */
void bl_nn_init_glorot(float *w, size_t n, int fan_in, int fan_out, bl_nn_rng *rng);

/* ---- layers ------------------------------------------------------------ */

/* Dense: out (B,OUT) = inp (B,IN) @ w^T + b, w (OUT,IN), b (OUT).
 * B = 1 uses sgemv, since sgemm with a unit dimension repacks w. */
void bl_nn_dense_forward(float *out, const float *inp, const float *w, const float *b,
                         int B, int IN, int OUT);
void bl_nn_dense_backward(float *dinp, float *dw, float *db, const float *dout,
                          const float *inp, const float *w, int B, int IN, int OUT);

/* Rows of the im2col matrix and columns per batch (C*K*K, B*OH*OW). */
void bl_nn_im2col(float *cols, const float *inp, int B, int C, int H, int W, int K);
/* The same for images b0..b0+nb-1 of a batch of B: cols (C*K*K, nb*OH*OW). */
void bl_nn_im2col_range(float *cols, const float *inp, int B, int b0, int nb, int C, int H,
                        int W, int K);
/* Adjoint of im2col: dinp (C,B,H,W) = sum of dcols into place (overwrites). */
void bl_nn_col2im(float *dinp, const float *dcols, int B, int C, int H, int W, int K);

/* Conv2d, stride 1, no padding: OH = H-K+1, OW = W-K+1.
 * out (OC,B,OH,OW), inp (C,B,H,W), w (OC,C,K,K), b (OC),
 * cols scratch (C*K*K, B*OH*OW). Backward recomputes cols from inp (so the
 * forward's scratch can be shared between layers) and needs dcols scratch
 * of the same size when dinp is wanted. */
void bl_nn_conv2d_forward(float *out, float *cols, const float *inp, const float *w,
                          const float *b, int B, int C, int H, int W, int OC, int K);
void bl_nn_conv2d_backward(float *dinp, float *dw, float *db, float *cols, float *dcols,
                           const float *dout, const float *inp, const float *w, int B,
                           int C, int H, int W, int OC, int K);

/* Inference only: conv2d, ReLU and 2x2 max-pool fused, chunk images at a
 * time, so neither the im2col matrix nor the conv output of a whole batch
 * ever leaves the cache. out (OC,B,OH/2,OW/2); scratch cols
 * (C*K*K, chunk*OH*OW) and tmp (OC, chunk*OH*OW). Equal to the separate
 * layers up to float rounding (the bias is added after the max). */
void bl_nn_conv_relu_pool_infer(float *out, float *cols, float *tmp, const float *inp,
                                const float *w, const float *b, int B, int C, int H, int W,
                                int OC, int K, int chunk);

/* Max-pool 2x2 stride 2 over N planes of H x W: out (N, H/2, W/2).
 * arg (N, H/2, W/2) records which of the four won (0..3), for backward;
 * may be NULL at inference. */
void bl_nn_maxpool_forward(float *out, uint8_t *arg, const float *inp, int N, int H, int W);
void bl_nn_maxpool_backward(float *dinp, const float *dout, const uint8_t *arg, int N,
                            int H, int W);

/* Elementwise activations over N values; out may alias inp. Backward uses
 * the forward's output (ReLU: out > 0; sigmoid: out (1 - out)). */
void bl_nn_relu_forward(float *out, const float *inp, size_t N);
void bl_nn_relu_backward(float *dinp, const float *dout, const float *out, size_t N);
void bl_nn_sigmoid_forward(float *out, const float *inp, size_t N);
void bl_nn_sigmoid_backward(float *dinp, const float *dout, const float *out, size_t N);

/* Inverted dropout: mask (N) holds 0 (dropped, probability p) or 1/(1-p);
 * out = inp * mask. Inference skips the layer. */
void bl_nn_dropout_mask(float *mask, size_t N, float p, bl_nn_rng *rng);
void bl_nn_dropout_forward(float *out, const float *inp, const float *mask, size_t N);
void bl_nn_dropout_backward(float *dinp, const float *dout, const float *mask, size_t N);

/* Softmax over rows: probs (B,NC) from logits (B,NC), max-subtracted. */
void bl_nn_softmax_forward(float *probs, const float *logits, int B, int NC);
/* dlogits = J^T dprobs = probs * (dprobs - <dprobs, probs>) per row. */
void bl_nn_softmax_backward(float *dlogits, const float *dprobs, const float *probs,
                            int B, int NC);

/* (C,B,S) <-> (B,C,S): the flatten between conv and dense layers. */
void bl_nn_flatten_forward(float *out, const float *inp, int C, int B, int S);
void bl_nn_flatten_backward(float *dinp, const float *dout, int C, int B, int S);

/* ---- losses (means over the batch) ------------------------------------- */

/* Categorical cross-entropy of softmax probabilities: mean -log p[label].
 * The fused gradient w.r.t. the logits is (probs - onehot) / B. */
float bl_nn_cce_forward(const float *probs, const int32_t *labels, int B, int NC);
void bl_nn_softmax_cce_backward(float *dlogits, const float *probs, const int32_t *labels,
                                int B, int NC);
/* Binary cross-entropy against one-hot targets, averaged over B*NC as
 * Keras does, probabilities clipped to [1e-7, 1-1e-7]:
 * -(y log p + (1-y) log(1-p)). Gradient w.r.t. probs (clipped entries get
 * none, as in the clipped forward). */
float bl_nn_bce_forward(const float *probs, const int32_t *labels, int B, int NC);
void bl_nn_bce_backward(float *dprobs, const float *probs, const int32_t *labels, int B,
                        int NC);
/* Binary cross-entropy of independent sigmoid outputs against a target per
 * output: targets (B, NC) hold 1, 0, or -1 for an output that does not
 * count. Averaged over B*NC. The gradient w.r.t. probs is scaled so that,
 * through the sigmoid, the logits get (p - y) / (B*NC) without vanishing
 * where the sigmoid saturates. */
float bl_nn_bce_multi_forward(const float *probs, const int32_t *targets, int B, int NC);
void bl_nn_bce_multi_backward(float *dprobs, const float *probs, const int32_t *targets, int B,
                              int NC);

/* ---- optimisers -------------------------------------------------------- */

/* Plain update kernels over N parameters; state buffers start at zero. */
/* SGD with (heavy-ball) momentum: v = mu v - lr g; p += v. */
void bl_nn_sgd_step(float *p, const float *g, float *v, size_t N, float lr, float mu);
/* RMSprop: s = rho s + (1-rho) g^2; p -= lr g / (sqrt(s) + eps). */
void bl_nn_rmsprop_step(float *p, const float *g, float *s, size_t N, float lr, float rho,
                        float eps);
/* Adam with bias correction; t is the 1-based step count. */
void bl_nn_adam_step(float *p, const float *g, float *m, float *v, size_t N, float lr,
                     float beta1, float beta2, float eps, long t);

typedef enum { BL_NN_SGD, BL_NN_RMSPROP, BL_NN_ADAM } bl_nn_optim_kind;

typedef struct bl_nn_optim {
    bl_nn_optim_kind kind;
    float lr;
    float momentum;     /* SGD, default 0.9 */
    float rho;          /* RMSprop, default 0.9 */
    float beta1, beta2; /* Adam, defaults 0.9, 0.999 */
    float eps;          /* RMSprop and Adam, default 1e-7 (as Keras) */
    long t;             /* steps taken */
    size_t n;
    float *m, *v; /* state, n each (v unused by SGD and RMSprop) */
} bl_nn_optim;

bl_nn_optim *bl_nn_optim_new(bl_nn_optim_kind kind, size_t n, float lr);
void bl_nn_optim_destroy(bl_nn_optim **self);
/* One update of params (n) from grads (n). */
void bl_nn_optim_step(bl_nn_optim *self, float *params, const float *grads);

/* ---- networks ---------------------------------------------------------- */

/*
 * Architecture spec grammar: tokens joined by '-', applied in order to an
 * input of shape (C, H, W) given by the caller.
 *
 *   conv<OC>x<K>[act]  convolution, OC filters of K x K, stride 1, no
 *                      padding; act defaults to r
 *   pool               2x2 max-pool, stride 2
 *   dense<OUT>[act]    fully connected; act defaults to r for hidden layers
 *                      and to l for the last layer (logits)
 *   dropout<P>         inverted dropout, drop probability 0 <= P < 1
 *   act:  r ReLU | s sigmoid | l linear (identity)
 *
 * The last token must be a dense layer with act l or s; its OUT is the
 * number of classes. With l the head is a softmax (probabilities sum to
 * one); with s the outputs are independent sigmoids (for binary
 * cross-entropy). Examples:
 *   conv32x5-pool-conv64x5-pool-dense256-dropout0.5-dense10   (a CNN)
 *   dense784r-dense256r-dense64s-dense10                      (an MLP)
 * Parameters are named conv1.weight (OC,C,K,K), conv1.bias (OC),
 * dense1.weight (OUT,IN), dense1.bias (OUT), numbered per kind.
 */
#define BL_NN_MAX_LAYERS 64
#define BL_NN_MAX_PARAMS (64u << 20) /* floats, a sanity limit */

/* BL_NN_LOSS_BCE_MULTI (sigmoid heads only): labels are (B, classes)
 * targets, bl_nn_bce_multi_forward. */
typedef enum { BL_NN_LOSS_CCE, BL_NN_LOSS_BCE, BL_NN_LOSS_BCE_MULTI } bl_nn_loss;

typedef struct bl_nn_net bl_nn_net;

/* Parses spec for inputs of shape (C,H,W); parameters are zero until
 * bl_nn_net_init or bl_nn_net_from_blm. BL_EINVAL with the offending token
 * on a bad spec, BL_ELIMIT on absurd sizes. */
bl_nn_net *bl_nn_net_new(const char *spec, int C, int H, int W, bl_err *err);
void bl_nn_net_destroy(bl_nn_net **self);

/* The canonical spec (every act explicit), classes, and input size C*H*W. */
const char *bl_nn_net_spec(const bl_nn_net *self);
int bl_nn_net_classes(const bl_nn_net *self);
int bl_nn_net_input_size(const bl_nn_net *self);
/* True if the head is a softmax, false for independent sigmoids. */
bool bl_nn_net_softmax_head(const bl_nn_net *self);

/* The parameter block and its gradient, num_params floats each. */
size_t bl_nn_net_num_params(const bl_nn_net *self);
float *bl_nn_net_params(bl_nn_net *self);
float *bl_nn_net_grads(bl_nn_net *self);

/* He init before ReLU, Glorot otherwise; biases zero. */
void bl_nn_net_init(bl_nn_net *self, bl_nn_rng *rng);

/* Forward pass over x (B, C*H*W) in [0,1] (or any float input). Returns the
 * output probabilities (B, classes), valid until the next call. With train
 * set, dropout is active (rng required) and activations are kept for
 * bl_nn_net_backward. Buffers grow on first use of a larger B. */
const float *bl_nn_net_forward(bl_nn_net *self, const float *x, int B, bool train,
                               bl_nn_rng *rng);

/* After a training forward: zeroes the gradients, computes the mean loss
 * against labels (B; (B, classes) targets for BCE_MULTI) and backpropagates
 * into bl_nn_net_grads. CCE needs a softmax head, BCE_MULTI a sigmoid one. */
float bl_nn_net_backward(bl_nn_net *self, const int32_t *labels, bl_nn_loss loss);

/* Adds the named parameter tensors to a model file. */
int bl_nn_net_to_blm(const bl_nn_net *self, bl_blm *model, bl_err *err);
/* Builds a network from a model's arch string and tensors for inputs
 * (C,H,W); every parameter tensor must be present with its exact shape and
 * no other tensor may be ("x.blm: tensor 'dense1.weight' is 512x1024,
 * architecture needs 256x1024"). `name` labels errors. */
bl_nn_net *bl_nn_net_from_blm(const bl_blm *model, int C, int H, int W, const char *name,
                              bl_err *err);

/* Freezes a leading run of layers for fine-tuning: `what` is "features"
 * (every layer before the first dense one: the convolutions), "none", or
 * a comma-separated list of parameter layer names ("conv1,conv2") that
 * must form a leading run. Backward then computes no gradient for them
 * (their slice of bl_nn_net_grads stays zero) and stops before them, and
 * the caller steps only the parameters from bl_nn_net_frozen_params on
 * (they are the first ones of the block). BL_EINVAL naming the layer when
 * the request is not a leading run or names no layer. */
int bl_nn_net_freeze(bl_nn_net *self, const char *what, bl_err *err);
/* Parameters (floats) at the start of the block that are frozen. */
size_t bl_nn_net_frozen_params(const bl_nn_net *self);

/* OpenBLAS's thread count for this process (1 in stages, 1-2 training). */
void bl_nn_set_threads(int n);

#endif
