/*
 * optim: parameter updates over the flat parameter block.
 *
 * SGD with heavy-ball momentum (Polyak 1964; Sutskever et al. 2013),
 * RMSprop (Tieleman & Hinton 2012, lecture 6e; eps outside the root as
 * Keras does), Adam (Kingma & Ba 2015, Algorithm 1, with the bias
 * corrections folded into the step size). Defaults follow Keras so the
 * seed network's recipe means the same thing here.
 */
#include <math.h>
#include <stdlib.h>

#include "nn/nn.h"

void bl_nn_sgd_step(float *p, const float *g, float *v, size_t N, float lr, float mu)
{
    for (size_t i = 0; i < N; i++) {
        v[i] = mu * v[i] - lr * g[i];
        p[i] += v[i];
    }
}

void bl_nn_rmsprop_step(float *p, const float *g, float *s, size_t N, float lr, float rho,
                        float eps)
{
    for (size_t i = 0; i < N; i++) {
        s[i] = rho * s[i] + (1.0f - rho) * g[i] * g[i];
        p[i] -= lr * g[i] / (sqrtf(s[i]) + eps);
    }
}

void bl_nn_adam_step(float *p, const float *g, float *m, float *v, size_t N, float lr,
                     float beta1, float beta2, float eps, long t)
{
    /* Corrections in double: beta^t underflows float precision late, but
     * the division by 1 - beta^t early matters most. */
    double c1 = 1.0 - pow(beta1, (double)t);
    double c2 = 1.0 - pow(beta2, (double)t);
    float step = (float)(lr * sqrt(c2) / c1);
    float eps_hat = (float)(eps * sqrt(c2));
    for (size_t i = 0; i < N; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        p[i] -= step * m[i] / (sqrtf(v[i]) + eps_hat);
    }
}

bl_nn_optim *bl_nn_optim_new(bl_nn_optim_kind kind, size_t n, float lr)
{
    bl_nn_optim *self = bl_xcalloc(1, sizeof *self);
    self->kind = kind;
    self->lr = lr;
    self->momentum = 0.9f;
    self->rho = 0.9f;
    self->beta1 = 0.9f;
    self->beta2 = 0.999f;
    self->eps = 1e-7f;
    self->n = n;
    self->m = bl_xcalloc(n ? n : 1, sizeof(float));
    if (kind == BL_NN_ADAM)
        self->v = bl_xcalloc(n ? n : 1, sizeof(float));
    return self;
}

void bl_nn_optim_destroy(bl_nn_optim **self)
{
    if (!self || !*self)
        return;
    free((*self)->m);
    free((*self)->v);
    free(*self);
    *self = NULL;
}

void bl_nn_optim_step(bl_nn_optim *self, float *params, const float *grads)
{
    self->t++;
    switch (self->kind) {
    case BL_NN_SGD:
        bl_nn_sgd_step(params, grads, self->m, self->n, self->lr, self->momentum);
        break;
    case BL_NN_RMSPROP:
        bl_nn_rmsprop_step(params, grads, self->m, self->n, self->lr, self->rho, self->eps);
        break;
    case BL_NN_ADAM:
        bl_nn_adam_step(params, grads, self->m, self->v, self->n, self->lr, self->beta1,
                        self->beta2, self->eps, self->t);
        break;
    }
}
