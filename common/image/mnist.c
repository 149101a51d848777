/*
 * mnist.c: normalising a digit crop the way MNIST was made.
 *
 * LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to
 * document recognition", Proc. IEEE 86(11), 1998, and the MNIST page: "the
 * images were size normalized to fit in a 20x20 pixel box while preserving
 * their aspect ratio. The resulting images contain grey levels as a result
 * of the anti-aliasing technique used by the normalization algorithm. The
 * images were centered in a 28x28 image by computing the center of mass of
 * the pixels, and translating the image so as to position this point at
 * the center of the 28x28 field."
 *
 * Here: the ink's bounding box is resampled with area coverage (box
 * filter) so that its longer side is 20 pixels, which turns partially
 * covered pixels into gray levels; the centre of mass of that patch, in
 * pixel-index coordinates, is moved to (14, 14) by a rounded integer shift,
 * as the widely used MNIST preparation scripts do. A classifier trained on
 * MNIST sees digits prepared the same way.
 * Limits: ink is any nonzero pixel, so specks inside the crop widen the box;
 * cleaning the crop is the segmenter's job. A patch whose centre of mass
 * lies far off its middle may lose ink over the 28x28 edge, as in MNIST.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "image/image_internal.h"

#define MNIST_BOX 20

int bl_image_mnist_normalize(const bl_image *src, int src_is_binary,
                             uint8_t out[BL_MNIST_PIXELS])
{
    assert(src && src->data && out);
    memset(out, 0, BL_MNIST_PIXELS);
    int x0 = src->width, y0 = src->height, x1 = -1, y1 = -1;
    for (int y = 0; y < src->height; y++) {
        const uint8_t *row = &BL_PIX(src, 0, y);
        for (int x = 0; x < src->width; x++) {
            if (row[x]) {
                if (x < x0)
                    x0 = x;
                if (x > x1)
                    x1 = x;
                if (y < y0)
                    y0 = y;
                y1 = y;
            }
        }
    }
    if (x1 < 0)
        return BL_ENOENT;

    int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    int longer = bw > bh ? bw : bh;
    int nw = (int)lround((double)bw * MNIST_BOX / longer);
    int nh = (int)lround((double)bh * MNIST_BOX / longer);
    if (nw < 1)
        nw = 1;
    if (nh < 1)
        nh = 1;

    float lut[256];
    for (int i = 0; i < 256; i++)
        lut[i] = src_is_binary ? (i ? 255.0f : 0.0f) : (float)i;
    bl_weights wx, wy;
    bl_weights_area(&wx, bw, nw);
    bl_weights_area(&wy, bh, nh);
    float patch[MNIST_BOX * MNIST_BOX];
    bl_image_resample(patch, src, (bl_box){x0, y0, bw, bh}, lut, &wx, &wy);
    bl_weights_free(&wx);
    bl_weights_free(&wy);

    double mass = 0, mx = 0, my = 0;
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++) {
            double v = patch[y * nw + x];
            mass += v;
            mx += v * x;
            my += v * y;
        }
    /* Area averaging conserves ink, so mass > 0 here. */
    int ox = (int)lround(BL_MNIST_SIDE / 2 - mx / mass);
    int oy = (int)lround(BL_MNIST_SIDE / 2 - my / mass);
    for (int y = 0; y < nh; y++) {
        int ty = y + oy;
        if (ty < 0 || ty >= BL_MNIST_SIDE)
            continue;
        for (int x = 0; x < nw; x++) {
            int tx = x + ox;
            if (tx < 0 || tx >= BL_MNIST_SIDE)
                continue;
            float v = patch[y * nw + x] + 0.5f;
            out[ty * BL_MNIST_SIDE + tx] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
        }
    }
    return BL_OK;
}
