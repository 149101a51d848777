/*
 * metrics: the live figures of a stage: counters, and the latency of its
 * last items for percentiles. Stages send them to the front end once a
 * second; the front end publishes a JSON snapshot of all stages for
 * `blotter top` and `blotter metrics`.
 */
#ifndef BL_METRICS_H
#define BL_METRICS_H

#include <stdint.h>

/* Latencies of the last BL_LATENCY_WINDOW items, in microseconds. A window
 * rather than a histogram since start: an operator wants to see the stage
 * as it is now, not averaged over a day. */
#define BL_LATENCY_WINDOW 256

typedef struct bl_latency {
    uint32_t us[BL_LATENCY_WINDOW];
    int count; /* filled entries, up to the window */
    int next;  /* where the next one goes */
} bl_latency;

void bl_latency_add(bl_latency *self, uint64_t ns);

/* The p-quantile (0..1) of the window in milliseconds (nearest rank);
 * 0 when empty. */
double bl_latency_quantile_ms(const bl_latency *self, double p);

#endif
