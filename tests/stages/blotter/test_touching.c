/*
 * touching: runs of touching digits drawn with each pixel's owner, on
 * MNIST test digits (skipped when data/mnist is absent).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "../mnist_test_digits.h"
#include "blotter/touching.h"

/* Whether the ink of digits a and b meets (8-connected neighbours). */
static int digits_meet(const bl_touching_run *r, int a, int b)
{
    for (int y = 0; y < r->h; y++)
        for (int x = 0; x < r->w; x++) {
            if (!(r->own[(size_t)y * r->w + x] >> a & 1))
                continue;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx >= 0 && yy >= 0 && xx < r->w && yy < r->h &&
                        (r->own[(size_t)yy * r->w + xx] >> b & 1))
                        return 1;
                }
        }
    return 0;
}

Test(touching, runs_are_owned_pixel_by_pixel_and_touch)
{
    bl_mnist *m = load_test_digits();
    if (!m)
        cr_skip_test("%s absent (run `blotter data mnist`)", BL_TEST_MNIST_DIR);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 5);
    int meet = 0, pairs = 0;
    for (int r = 0; r < 30; r++) {
        int k = 1 + r % BL_TOUCHING_MAX;
        bl_touching_run run;
        while (!bl_touching_run_draw(m, &rng, k, &run))
            ;
        cr_assert_eq(run.k, k);
        /* Ink is exactly the pixels some digit inked, and every digit
         * inked some. */
        int seen = 0;
        for (size_t i = 0; i < (size_t)run.w * run.h; i++) {
            cr_assert_eq(run.ink[i], run.own[i] != 0, "pixel %zu", i);
            cr_assert_lt(run.own[i], 1u << k);
            seen |= run.own[i];
        }
        cr_assert_eq(seen, (1 << k) - 1);
        for (int j = 0; j < k; j++)
            cr_assert(run.digit[j] >= 0 && run.digit[j] <= 9);
        for (int j = 0; j + 1 < k; j++, pairs++)
            meet += digits_meet(&run, j, j + 1);
        bl_touching_run_free(&run);
        cr_assert_null(run.ink);
    }
    /* Neighbours are moved until their ink meets; binarising at a high
     * threshold can leave a hair's gap now and then. */
    cr_assert_geq(meet, pairs - 2, "%d of %d neighbours meet", meet, pairs);
    bl_mnist_destroy(&m);
}
