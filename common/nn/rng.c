/*
 * rng: xoshiro256** (Blackman & Vigna 2018) seeded by splitmix64, Box-Muller
 * normals, Lemire-style unbiased bounded integers, Fisher-Yates shuffling,
 * and the He (2015) and Glorot (2010) initialisers built on them.
 *
 * Why our own generator: rand() differs between C libraries, and training
 * must replay bit for bit from a seed on any machine.
 */
#include <math.h>

#include "nn/nn.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void bl_nn_rng_seed(bl_nn_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
    rng->have_spare = false;
    rng->spare = 0.0f;
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t bl_nn_rng_next(bl_nn_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

float bl_nn_rng_uniform(bl_nn_rng *rng)
{
    /* The top 24 bits fill a float's mantissa exactly: [0, 1) with no
     * rounding up to 1. */
    return (float)(bl_nn_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

float bl_nn_rng_normal(bl_nn_rng *rng)
{
    if (rng->have_spare) {
        rng->have_spare = false;
        return rng->spare;
    }
    double u1 = ((double)(bl_nn_rng_next(rng) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (double)(bl_nn_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
    double r = sqrt(-2.0 * log(u1));
    double a = 6.283185307179586 * u2;
    rng->spare = (float)(r * sin(a));
    rng->have_spare = true;
    return (float)(r * cos(a));
}

uint32_t bl_nn_rng_below(bl_nn_rng *rng, uint32_t n)
{
    /* Lemire 2019: multiply-shift with rejection of the biased low zone. */
    uint64_t m = (uint64_t)(uint32_t)(bl_nn_rng_next(rng) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)(bl_nn_rng_next(rng) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void bl_nn_shuffle(int32_t *idx, size_t n, bl_nn_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = bl_nn_rng_below(rng, (uint32_t)i);
        int32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

void bl_nn_init_he(float *w, size_t n, int fan_in, bl_nn_rng *rng)
{
    float std = sqrtf(2.0f / (float)fan_in);
    for (size_t i = 0; i < n; i++)
        w[i] = std * bl_nn_rng_normal(rng);
}

void bl_nn_init_glorot(float *w, size_t n, int fan_in, int fan_out, bl_nn_rng *rng)
{
    float a = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (size_t i = 0; i < n; i++)
        w[i] = a * (2.0f * bl_nn_rng_uniform(rng) - 1.0f);
}
