/*
 * net: a feed-forward network built from an architecture spec (grammar in
 * nn.h), its parameter block, activation buffers, and the forward and
 * backward passes that chain the kernels of layers.c, as llm.c's
 * gpt2_forward/gpt2_backward do.
 *
 * Memory: one parameter block and one gradient block, each layer's weights
 * a view at a fixed offset; activations kept per layer (needed by the
 * backward pass); one im2col scratch shared by all conv layers, since the
 * backward pass rebuilds it. Buffers are sized for the largest batch seen
 * and reused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

typedef enum { L_CONV, L_POOL, L_DENSE, L_RELU, L_SIGMOID, L_DROPOUT, L_FLATTEN } lkind;

typedef struct layer {
    lkind kind;
    int c, h, w;    /* input per sample (dense: c = IN, h = w = 1) */
    int oc, oh, ow; /* output per sample */
    int k;          /* conv kernel side */
    float p;        /* dropout probability */
    char name[16];  /* "conv1", "dense2" for parameter layers */
    size_t w_off, n_w, b_off, n_b;
    bool he; /* followed by ReLU: He init, else Glorot */
} layer;

#ifndef BL_NN_CONV_CHUNK_FLOATS
#define BL_NN_CONV_CHUNK_FLOATS (1024u * 1024u)
#endif

struct bl_nn_net {
    char *spec; /* canonical */
    int C, H, W;
    int classes;
    bool softmax_head;
    int n_layers;
    layer layers[BL_NN_MAX_LAYERS];
    size_t n_params;
    float *params, *grads;
    /* per-batch buffers, for cap_B samples */
    int cap_B;
    bool have_train_buffers;
    float *acts[BL_NN_MAX_LAYERS + 1];  /* acts[i]: input of layer i */
    float *dacts[BL_NN_MAX_LAYERS + 1]; /* gradients of the same */
    uint8_t *args[BL_NN_MAX_LAYERS];    /* pool winners */
    float *masks[BL_NN_MAX_LAYERS];     /* dropout masks */
    float *probs, *dprobs;              /* (B, classes) */
    float *cols, *dcols;                /* im2col scratch */
    int cur_B; /* batch of the last training forward, 0 if none */
    /* Layers [0, first_trainable) are frozen (bl_nn_net_freeze): backward
     * stops there and their parameters, params[0, frozen_params), get no
     * gradient. */
    int first_trainable;
    size_t frozen_params;
};

static size_t in_size(const layer *l) { return (size_t)l->c * l->h * l->w; }
static size_t out_size(const layer *l) { return (size_t)l->oc * l->oh * l->ow; }

/* ---- spec parsing ------------------------------------------------------ */

/* Parses a decimal integer in [lo, hi] at *s, advancing it. */
static bool parse_int(const char **s, long lo, long hi, int *out)
{
    char *end;
    if (**s < '0' || **s > '9')
        return false;
    long v = strtol(*s, &end, 10);
    if (end == *s || v < lo || v > hi)
        return false;
    *s = end;
    *out = (int)v;
    return true;
}

/* Optional activation suffix r/s/l; 'd' when absent (the default). */
static bool parse_act(const char **s, char *act)
{
    if (**s == 'r' || **s == 's' || **s == 'l') {
        *act = **s;
        (*s)++;
    } else {
        *act = 'd';
    }
    return **s == '\0';
}

static layer *push(bl_nn_net *net, lkind kind, int c, int h, int w, bl_err *err)
{
    if (net->n_layers >= BL_NN_MAX_LAYERS) {
        bl_err_set(err, BL_ELIMIT, "architecture: more than %d layers", BL_NN_MAX_LAYERS);
        return NULL;
    }
    layer *l = &net->layers[net->n_layers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->c = l->oc = c;
    l->h = l->oh = h;
    l->w = l->ow = w;
    return l;
}

static void append(char *buf, size_t size, const char *tok)
{
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s%s", n ? "-" : "", tok);
}

bl_nn_net *bl_nn_net_new(const char *spec, int C, int H, int W, bl_err *err)
{
    if (!spec || C < 1 || H < 1 || W < 1 || C > 4096 || H > 4096 || W > 4096) {
        bl_err_set(err, BL_EINVAL, "architecture: bad input shape");
        return NULL;
    }
    if (strlen(spec) > 4000) {
        bl_err_set(err, BL_ELIMIT, "architecture: spec too long");
        return NULL;
    }
    bl_nn_net *net = bl_xcalloc(1, sizeof *net);
    net->C = C;
    net->H = H;
    net->W = W;
    char canon[8192] = "";
    char *copy = bl_xstrdup(spec);
    int c = C, h = H, w = W;
    bool spatial = true;
    int n_conv = 0, n_dense = 0;
    size_t n_params = 0;
    char last_act = 0;
    bool last_dense = false;
    char *save = NULL;
    int ntok = 0;
    for (char *tok = strtok_r(copy, "-", &save); tok; tok = strtok_r(NULL, "-", &save)) {
        ntok++;
        const char *s = tok;
        char act = 'd';
        char piece[64];
        last_dense = false;
        if (strncmp(s, "conv", 4) == 0) {
            int oc, k;
            s += 4;
            if (!parse_int(&s, 1, 4096, &oc) || *s++ != 'x' || !parse_int(&s, 1, 15, &k) ||
                !parse_act(&s, &act)) {
                bl_err_set(err, BL_EINVAL, "architecture: bad token '%s' (conv<N>x<K>[r|s|l])",
                           tok);
                goto fail;
            }
            if (!spatial || k > h || k > w) {
                bl_err_set(err, BL_EINVAL, "architecture: '%s' does not fit a %dx%dx%d input",
                           tok, c, h, w);
                goto fail;
            }
            layer *l = push(net, L_CONV, c, h, w, err);
            if (!l)
                goto fail;
            l->k = k;
            l->oc = oc;
            l->oh = h - k + 1;
            l->ow = w - k + 1;
            snprintf(l->name, sizeof l->name, "conv%d", ++n_conv);
            l->n_w = (size_t)oc * c * k * k;
            l->n_b = (size_t)oc;
            if (act == 'd')
                act = 'r';
            l->he = act == 'r';
            c = oc;
            h = l->oh;
            w = l->ow;
            snprintf(piece, sizeof piece, "conv%dx%d%c", oc, k, act);
        } else if (strcmp(s, "pool") == 0) {
            if (!spatial || h < 2 || w < 2) {
                bl_err_set(err, BL_EINVAL, "architecture: 'pool' does not fit a %dx%dx%d input",
                           c, h, w);
                goto fail;
            }
            layer *l = push(net, L_POOL, c, h, w, err);
            if (!l)
                goto fail;
            l->oh = h / 2;
            l->ow = w / 2;
            h = l->oh;
            w = l->ow;
            snprintf(piece, sizeof piece, "pool");
        } else if (strncmp(s, "dense", 5) == 0) {
            int out;
            s += 5;
            if (!parse_int(&s, 1, 65536, &out) || !parse_act(&s, &act)) {
                bl_err_set(err, BL_EINVAL, "architecture: bad token '%s' (dense<N>[r|s|l])", tok);
                goto fail;
            }
            if (spatial && c > 1) {
                if (!push(net, L_FLATTEN, c, h, w, err))
                    goto fail;
            }
            int in = c * h * w;
            layer *l = push(net, L_DENSE, in, 1, 1, err);
            if (!l)
                goto fail;
            l->oc = out;
            snprintf(l->name, sizeof l->name, "dense%d", ++n_dense);
            l->n_w = (size_t)out * in;
            l->n_b = (size_t)out;
            if (act == 'd')
                act = 'r'; /* the last layer's default is fixed after the loop */
            l->he = act == 'r';
            spatial = false;
            c = out;
            h = w = 1;
            last_dense = true;
            snprintf(piece, sizeof piece, "dense%d%c", out, act);
        } else if (strncmp(s, "dropout", 7) == 0) {
            char *end;
            s += 7;
            float p = strtof(s, &end);
            if (end == s || *end != '\0' || !(p >= 0.0f && p < 1.0f)) {
                bl_err_set(err, BL_EINVAL, "architecture: bad token '%s' (dropout<P>, 0<=P<1)",
                           tok);
                goto fail;
            }
            layer *l = push(net, L_DROPOUT, c, h, w, err);
            if (!l)
                goto fail;
            l->p = p;
            snprintf(piece, sizeof piece, "dropout%g", (double)p);
        } else {
            bl_err_set(err, BL_EINVAL, "architecture: unknown token '%s'", tok);
            goto fail;
        }
        if (act == 'd')
            act = 'r'; /* hidden dense default; the last layer is fixed below */
        layer *pl = &net->layers[net->n_layers - 1];
        if (pl->n_w) {
            if (!bl_size_add(&n_params, n_params, pl->n_w + pl->n_b) ||
                n_params > BL_NN_MAX_PARAMS) {
                bl_err_set(err, BL_ELIMIT, "architecture: more than %u parameters",
                           BL_NN_MAX_PARAMS);
                goto fail;
            }
            /* activations are themselves layers */
            last_act = act;
            if (act == 'r' || act == 's') {
                if (!push(net, act == 'r' ? L_RELU : L_SIGMOID, c, h, w, err))
                    goto fail;
            }
        }
        append(canon, sizeof canon, piece);
    }
    if (ntok == 0 || !last_dense) {
        bl_err_set(err, BL_EINVAL, "architecture: '%s' must end with a dense layer", spec);
        goto fail;
    }
    /* The last dense layer defaults to linear (logits for a softmax head). */
    {
        size_t len = strlen(canon);
        char *tail = strrchr(canon, '-');
        tail = tail ? tail + 1 : canon;
        const char *orig = strrchr(spec, '-');
        orig = orig ? orig + 1 : spec;
        char oact = orig[strlen(orig) - 1];
        bool explicit_act = oact == 'r' || oact == 's' || oact == 'l';
        if (!explicit_act) {
            /* drop the ReLU layer added by default and mark linear */
            net->n_layers--;
            canon[len - 1] = 'l';
            last_act = 'l';
            net->layers[net->n_layers - 1].he = false;
        }
        if (last_act == 'r') {
            bl_err_set(err, BL_EINVAL, "architecture: the last layer '%s' must be linear (l) or "
                       "sigmoid (s)", tail);
            goto fail;
        }
    }
    net->softmax_head = last_act == 'l';
    net->classes = c;
    if (net->classes < 2) {
        bl_err_set(err, BL_EINVAL, "architecture: needs at least 2 outputs");
        goto fail;
    }
    net->spec = bl_xstrdup(canon);
    free(copy);
    /* parameter views */
    size_t off = 0;
    for (int i = 0; i < net->n_layers; i++) {
        layer *l = &net->layers[i];
        if (!l->n_w)
            continue;
        l->w_off = off;
        off += l->n_w;
        l->b_off = off;
        off += l->n_b;
    }
    net->n_params = off;
    net->params = bl_xcalloc(off, sizeof(float));
    net->grads = bl_xcalloc(off, sizeof(float));
    return net;
fail:
    free(copy);
    free(net);
    return NULL;
}

static void free_buffers(bl_nn_net *net)
{
    for (int i = 0; i <= net->n_layers; i++) {
        free(net->acts[i]);
        free(net->dacts[i]);
        net->acts[i] = net->dacts[i] = NULL;
        if (i < net->n_layers) {
            free(net->args[i]);
            free(net->masks[i]);
            net->args[i] = NULL;
            net->masks[i] = NULL;
        }
    }
    free(net->probs);
    free(net->dprobs);
    free(net->cols);
    free(net->dcols);
    net->probs = net->dprobs = net->cols = net->dcols = NULL;
    net->cap_B = 0;
    net->have_train_buffers = false;
}

void bl_nn_net_destroy(bl_nn_net **self)
{
    if (!self || !*self)
        return;
    bl_nn_net *net = *self;
    free_buffers(net);
    free(net->params);
    free(net->grads);
    free(net->spec);
    free(net);
    *self = NULL;
}

const char *bl_nn_net_spec(const bl_nn_net *self) { return self->spec; }
int bl_nn_net_classes(const bl_nn_net *self) { return self->classes; }
int bl_nn_net_input_size(const bl_nn_net *self) { return self->C * self->H * self->W; }
bool bl_nn_net_softmax_head(const bl_nn_net *self) { return self->softmax_head; }
size_t bl_nn_net_num_params(const bl_nn_net *self) { return self->n_params; }
float *bl_nn_net_params(bl_nn_net *self) { return self->params; }
float *bl_nn_net_grads(bl_nn_net *self) { return self->grads; }

void bl_nn_net_init(bl_nn_net *self, bl_nn_rng *rng)
{
    for (int i = 0; i < self->n_layers; i++) {
        layer *l = &self->layers[i];
        if (!l->n_w)
            continue;
        int fan_in = l->kind == L_CONV ? l->c * l->k * l->k : l->c;
        int fan_out = l->kind == L_CONV ? l->oc * l->k * l->k : l->oc;
        if (l->he)
            bl_nn_init_he(self->params + l->w_off, l->n_w, fan_in, rng);
        else
            bl_nn_init_glorot(self->params + l->w_off, l->n_w, fan_in, fan_out, rng);
        memset(self->params + l->b_off, 0, l->n_b * sizeof(float));
    }
}

/* ---- buffers ----------------------------------------------------------- */

static void ensure_buffers(bl_nn_net *net, int B, bool train)
{
    if (B <= net->cap_B && (!train || net->have_train_buffers))
        return;
    int cap = B > net->cap_B ? B : net->cap_B;
    bool tr = train || net->have_train_buffers;
    free_buffers(net);
    size_t cols = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const layer *l = &net->layers[i];
        net->acts[i] = bl_xmalloc(in_size(l) * cap * sizeof(float));
        if (tr)
            net->dacts[i] = bl_xmalloc(in_size(l) * cap * sizeof(float));
        if (l->kind == L_CONV) {
            size_t n = (size_t)l->c * l->k * l->k * l->oh * l->ow * cap;
            cols = n > cols ? n : cols;
        }
        if (tr && l->kind == L_POOL)
            net->args[i] = bl_xmalloc(out_size(l) * cap);
        if (tr && l->kind == L_DROPOUT)
            net->masks[i] = bl_xmalloc(out_size(l) * cap * sizeof(float));
    }
    size_t nout = (size_t)net->classes * cap;
    net->acts[net->n_layers] = bl_xmalloc(nout * sizeof(float));
    net->probs = bl_xmalloc(nout * sizeof(float));
    if (tr) {
        net->dacts[net->n_layers] = bl_xmalloc(nout * sizeof(float));
        net->dprobs = bl_xmalloc(nout * sizeof(float));
    }
    if (cols) {
        net->cols = bl_xmalloc(cols * sizeof(float));
        if (tr)
            net->dcols = bl_xmalloc(cols * sizeof(float));
    }
    net->cap_B = cap;
    net->have_train_buffers = tr;
}

/* ---- forward and backward ---------------------------------------------- */

/* Images per chunk of the fused inference conv: im2col rows plus conv
 * output within 4 MiB. Measured on the default CNN at batch 64, one
 * thread: smaller chunks (1 MiB, 4 images for conv2) lose more to
 * OpenBLAS's per-call packing than they gain in cache; the whole batch at
 * once (13 MiB of im2col for conv2) spills to memory. */
static int conv_chunk(const layer *l)
{
    size_t per_image = ((size_t)l->c * l->k * l->k + (size_t)l->oc) * l->oh * l->ow;
    size_t n = BL_NN_CONV_CHUNK_FLOATS / (per_image ? per_image : 1);
    return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
}

const float *bl_nn_net_forward(bl_nn_net *self, const float *x, int B, bool train,
                               bl_nn_rng *rng)
{
    ensure_buffers(self, B, train);
    const layer *first = &self->layers[0];
    size_t S = (size_t)self->H * self->W;
    if (first->kind != L_DENSE && self->C > 1)
        bl_nn_flatten_backward(self->acts[0], x, self->C, B, (int)S); /* (B,C,S)->(C,B,S) */
    else
        memcpy(self->acts[0], x, (size_t)B * self->C * S * sizeof(float));
    for (int i = 0; i < self->n_layers; i++) {
        const layer *l = &self->layers[i];
        const float *in = self->acts[i];
        float *out = self->acts[i + 1];
        if (!train && l->kind == L_CONV && i + 2 < self->n_layers &&
            self->layers[i + 1].kind == L_RELU && self->layers[i + 2].kind == L_POOL) {
            /* Inference: the fused kernel writes the pool's output directly;
             * the conv output buffer serves as its per-chunk scratch. */
            int chunk = conv_chunk(l);
            bl_nn_conv_relu_pool_infer(self->acts[i + 3], self->cols, out, in,
                                       self->params + l->w_off, self->params + l->b_off, B,
                                       l->c, l->h, l->w, l->oc, l->k, chunk < B ? chunk : B);
            i += 2;
            continue;
        }
        const float *w = self->params + l->w_off;
        const float *b = self->params + l->b_off;
        size_t n = out_size(l) * B;
        switch (l->kind) {
        case L_CONV:
            bl_nn_conv2d_forward(out, self->cols, in, w, b, B, l->c, l->h, l->w, l->oc, l->k);
            break;
        case L_POOL:
            bl_nn_maxpool_forward(out, train ? self->args[i] : NULL, in, l->c * B, l->h, l->w);
            break;
        case L_DENSE:
            bl_nn_dense_forward(out, in, w, b, B, l->c, l->oc);
            break;
        case L_RELU:
            bl_nn_relu_forward(out, in, n);
            break;
        case L_SIGMOID:
            bl_nn_sigmoid_forward(out, in, n);
            break;
        case L_DROPOUT:
            if (train && l->p > 0.0f) {
                bl_nn_dropout_mask(self->masks[i], n, l->p, rng);
                bl_nn_dropout_forward(out, in, self->masks[i], n);
            } else {
                memcpy(out, in, n * sizeof(float));
                if (train)
                    for (size_t k = 0; k < n; k++)
                        self->masks[i][k] = 1.0f;
            }
            break;
        case L_FLATTEN:
            bl_nn_flatten_forward(out, in, l->c, B, l->h * l->w);
            break;
        }
    }
    self->cur_B = train ? B : 0;
    const float *final = self->acts[self->n_layers];
    if (!self->softmax_head)
        return final;
    bl_nn_softmax_forward(self->probs, final, B, self->classes);
    return self->probs;
}

float bl_nn_net_backward(bl_nn_net *self, const int32_t *labels, bl_nn_loss loss)
{
    int B = self->cur_B;
    int NC = self->classes;
    if (B == 0 || (loss == BL_NN_LOSS_CCE && !self->softmax_head) ||
        (loss == BL_NN_LOSS_BCE_MULTI && self->softmax_head))
        return -1.0f; /* programmer error; callers check the head first */
    memset(self->grads, 0, self->n_params * sizeof(float));
    float *dfinal = self->dacts[self->n_layers];
    float value;
    if (self->softmax_head) {
        if (loss == BL_NN_LOSS_CCE) {
            value = bl_nn_cce_forward(self->probs, labels, B, NC);
            bl_nn_softmax_cce_backward(dfinal, self->probs, labels, B, NC);
        } else {
            value = bl_nn_bce_forward(self->probs, labels, B, NC);
            bl_nn_bce_backward(self->dprobs, self->probs, labels, B, NC);
            bl_nn_softmax_backward(dfinal, self->dprobs, self->probs, B, NC);
        }
    } else {
        const float *out = self->acts[self->n_layers];
        if (loss == BL_NN_LOSS_BCE_MULTI) {
            value = bl_nn_bce_multi_forward(out, labels, B, NC);
            bl_nn_bce_multi_backward(dfinal, out, labels, B, NC);
        } else {
            value = bl_nn_bce_forward(out, labels, B, NC);
            bl_nn_bce_backward(dfinal, out, labels, B, NC);
        }
    }
    for (int i = self->n_layers - 1; i >= self->first_trainable; i--) {
        const layer *l = &self->layers[i];
        /* The first layer's input gradient is never needed, nor that of
         * the first trainable layer: nothing before it learns. */
        float *din = i > self->first_trainable ? self->dacts[i] : NULL;
        const float *dout = self->dacts[i + 1];
        const float *in = self->acts[i];
        const float *out = self->acts[i + 1];
        float *dw = self->grads + l->w_off;
        float *db = self->grads + l->b_off;
        const float *w = self->params + l->w_off;
        size_t n = out_size(l) * B;
        switch (l->kind) {
        case L_CONV:
            bl_nn_conv2d_backward(din, dw, db, self->cols, self->dcols, dout, in, w, B, l->c,
                                  l->h, l->w, l->oc, l->k);
            break;
        case L_DENSE:
            bl_nn_dense_backward(din, dw, db, dout, in, w, B, l->c, l->oc);
            break;
        case L_POOL:
            if (din)
                bl_nn_maxpool_backward(din, dout, self->args[i], l->c * B, l->h, l->w);
            break;
        case L_RELU:
            if (din)
                bl_nn_relu_backward(din, dout, out, n);
            break;
        case L_SIGMOID:
            if (din)
                bl_nn_sigmoid_backward(din, dout, out, n);
            break;
        case L_DROPOUT:
            if (din)
                bl_nn_dropout_backward(din, dout, self->masks[i], n);
            break;
        case L_FLATTEN:
            if (din)
                bl_nn_flatten_backward(din, dout, l->c, B, l->h * l->w);
            break;
        }
    }
    return value;
}

/* ---- freezing ---------------------------------------------------------- */

/* Is layer i named in the comma-separated list? */
static bool named(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (end ? 1 : 0);
    }
    return false;
}

int bl_nn_net_freeze(bl_nn_net *self, const char *what, bl_err *err)
{
    int first_dense = self->n_layers;
    for (int i = 0; i < self->n_layers; i++)
        if (self->layers[i].kind == L_DENSE) {
            first_dense = i;
            break;
        }
    int first = 0;
    if (strcmp(what, "none") == 0) {
        first = 0;
    } else if (strcmp(what, "features") == 0) {
        first = first_dense;
        if (first == 0)
            return bl_err_set(err, BL_EINVAL,
                              "%s: no feature layers to freeze (it starts with a dense layer)",
                              self->spec);
    } else {
        /* Named parameter layers: they must be a leading run, so that the
         * parameters that still learn are one contiguous tail. */
        int last = -1, count = 0;
        for (int i = 0; i < self->n_layers; i++) {
            const layer *l = &self->layers[i];
            if ((l->kind == L_CONV || l->kind == L_DENSE) && named(what, l->name)) {
                last = i;
                count++;
            }
        }
        if (count == 0)
            return bl_err_set(err, BL_EINVAL, "freeze '%s': no such layer in %s", what,
                              self->spec);
        for (int i = 0; i < last; i++) {
            const layer *l = &self->layers[i];
            if ((l->kind == L_CONV || l->kind == L_DENSE) && !named(what, l->name))
                return bl_err_set(err, BL_EINVAL,
                                  "freeze '%s': %s comes before and would still learn; only"
                                  " a leading run of layers can be frozen",
                                  what, l->name);
        }
        first = last + 1;
    }
    self->first_trainable = first;
    self->frozen_params = 0;
    for (int i = 0; i < first; i++) {
        const layer *l = &self->layers[i];
        if (l->kind == L_CONV || l->kind == L_DENSE) {
            size_t end = (l->b_off > l->w_off ? l->b_off + l->n_b : l->w_off + l->n_w);
            if (end > self->frozen_params)
                self->frozen_params = end;
        }
    }
    return BL_OK;
}

size_t bl_nn_net_frozen_params(const bl_nn_net *self)
{
    return self->frozen_params;
}

/* ---- model files ------------------------------------------------------- */

/* Shape of a layer's weight and bias tensors as blm dims. */
static int weight_shape(const layer *l, uint32_t dims[4])
{
    if (l->kind == L_CONV) {
        dims[0] = (uint32_t)l->oc;
        dims[1] = (uint32_t)l->c;
        dims[2] = (uint32_t)l->k;
        dims[3] = (uint32_t)l->k;
        return 4;
    }
    dims[0] = (uint32_t)l->oc;
    dims[1] = (uint32_t)l->c;
    return 2;
}

int bl_nn_net_to_blm(const bl_nn_net *self, bl_blm *model, bl_err *err)
{
    for (int i = 0; i < self->n_layers; i++) {
        const layer *l = &self->layers[i];
        if (!l->n_w)
            continue;
        char name[BL_BLM_MAX_NAME];
        uint32_t dims[4];
        int nd = weight_shape(l, dims);
        snprintf(name, sizeof name, "%s.weight", l->name);
        int rc = bl_blm_add_tensor(model, name, nd, dims, self->params + l->w_off, err);
        if (rc != BL_OK)
            return rc;
        snprintf(name, sizeof name, "%s.bias", l->name);
        uint32_t bd = (uint32_t)l->oc;
        rc = bl_blm_add_tensor(model, name, 1, &bd, self->params + l->b_off, err);
        if (rc != BL_OK)
            return rc;
    }
    return BL_OK;
}

static void shape_str(char *buf, size_t size, int nd, const uint32_t *dims)
{
    buf[0] = '\0';
    for (int d = 0; d < nd; d++) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, "%s%u", d ? "x" : "", dims[d]);
    }
}

/* Copies one tensor into place after checking it exists with this shape. */
static int take(const bl_blm *m, const char *tname, int nd, const uint32_t *dims, float *dst,
                const char *name, bl_err *err)
{
    const bl_blm_tensor *t = bl_blm_find(m, tname);
    char want[64], have[64];
    shape_str(want, sizeof want, nd, dims);
    if (!t)
        return bl_err_set(err, BL_EFORMAT, "%s: tensor '%s' (%s) missing for the architecture",
                          name, tname, want);
    shape_str(have, sizeof have, t->ndim, t->dims);
    if (t->ndim != nd || memcmp(t->dims, dims, (size_t)nd * sizeof *dims) != 0)
        return bl_err_set(err, BL_EFORMAT, "%s: tensor '%s' is %s, architecture needs %s", name,
                          tname, have, want);
    memcpy(dst, t->data, t->count * sizeof(float));
    return BL_OK;
}

bl_nn_net *bl_nn_net_from_blm(const bl_blm *model, int C, int H, int W, const char *name,
                              bl_err *err)
{
    bl_nn_net *net = bl_nn_net_new(model->arch, C, H, W, err);
    if (!net) {
        bl_err_prefix(err, "%s", name);
        return NULL;
    }
    int used = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const layer *l = &net->layers[i];
        if (!l->n_w)
            continue;
        char tname[BL_BLM_MAX_NAME];
        uint32_t dims[4];
        int nd = weight_shape(l, dims);
        snprintf(tname, sizeof tname, "%s.weight", l->name);
        if (take(model, tname, nd, dims, net->params + l->w_off, name, err) != BL_OK)
            goto fail;
        snprintf(tname, sizeof tname, "%s.bias", l->name);
        uint32_t bd = (uint32_t)l->oc;
        if (take(model, tname, 1, &bd, net->params + l->b_off, name, err) != BL_OK)
            goto fail;
        used += 2;
    }
    if (used != model->n_tensors) {
        bl_err_set(err, BL_EFORMAT, "%s: %d tensors, the architecture '%s' has %d", name,
                   model->n_tensors, net->spec, used);
        goto fail;
    }
    return net;
fail:
    bl_nn_net_destroy(&net);
    return NULL;
}
