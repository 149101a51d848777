/*
 * metrics: latency window and quantiles (see metrics.h).
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bl_latency_add(bl_latency *self, uint64_t ns)
{
    uint64_t us = ns / 1000;
    self->us[self->next] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    self->next = (self->next + 1) % BL_LATENCY_WINDOW;
    if (self->count < BL_LATENCY_WINDOW)
        self->count++;
}

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

double bl_latency_quantile_ms(const bl_latency *self, double p)
{
    if (self->count == 0)
        return 0;
    uint32_t sorted[BL_LATENCY_WINDOW];
    memcpy(sorted, self->us, (size_t)self->count * sizeof sorted[0]);
    qsort(sorted, (size_t)self->count, sizeof sorted[0], by_value);
    if (p < 0)
        p = 0;
    if (p > 1)
        p = 1;
    int rank = (int)ceil(p * self->count);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1] / 1000.0;
}
