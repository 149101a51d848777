#include <criterion/criterion.h>

#include "metrics/metrics.h"

Test(metrics, quantiles_of_a_known_window)
{
    bl_latency l = {0};
    cr_assert_eq(bl_latency_quantile_ms(&l, 0.5), 0.0, "empty window");
    for (int i = 1; i <= 100; i++)
        bl_latency_add(&l, (uint64_t)i * 1000000); /* 1..100 ms */
    cr_assert_float_eq(bl_latency_quantile_ms(&l, 0.5), 50.0, 1e-9);
    cr_assert_float_eq(bl_latency_quantile_ms(&l, 0.95), 95.0, 1e-9);
    cr_assert_float_eq(bl_latency_quantile_ms(&l, 1.0), 100.0, 1e-9);
}

Test(metrics, the_window_forgets_old_items)
{
    bl_latency l = {0};
    for (int i = 0; i < BL_LATENCY_WINDOW; i++)
        bl_latency_add(&l, 500000000); /* 500 ms, long ago */
    for (int i = 0; i < BL_LATENCY_WINDOW; i++)
        bl_latency_add(&l, 2000000); /* 2 ms, now */
    cr_assert_eq(l.count, BL_LATENCY_WINDOW);
    cr_assert_float_eq(bl_latency_quantile_ms(&l, 0.95), 2.0, 1e-9);
}
