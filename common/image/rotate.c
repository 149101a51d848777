/*
 * rotate.c: turning rasters, and the affine maps that remember how.
 *
 * Quarter turns are exact pixel permutations, done in 64 x 64 blocks so
 * that both the rows read and the columns written stay in cache.
 *
 * Arbitrary angles use inverse mapping with nearest-neighbour sampling:
 * each destination pixel centre is mapped back into the source through the
 * exact affine map (the same map ingest stores as the page's transform),
 * stepped incrementally along each row in 32.32 fixed point. Nearest
 * neighbour introduces no new values, so a binary page stays binary and
 * no threshold is needed afterwards; for the small deskew angles of a
 * scan the jaggies are a pixel at most. (Leptonica rotates binary pages by
 * two or three shears for speed; the direct map is simpler, exact to half
 * a pixel at any angle, and fast enough at about 2 ns per pixel.)
 *
 * Coordinates: points, not pixel indices; pixel (i, j) covers [i, i+1) x
 * [j, j+1) and its centre is (i + 0.5, j + 0.5). Turning about the centres
 * maps the source centre (w/2, h/2) to the destination centre. With y
 * pointing down, a clockwise turn by t sends a point's offset v from the
 * centre to R(t) v with R(t) = [cos t, -sin t; sin t, cos t].
 *
 * Limits: no anti-aliasing (for gray pages, rotate after binarising);
 * sizes are the caller's: a turned page keeps what falls inside dst_w x
 * dst_h and loses its corners otherwise.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"

bl_affine bl_affine_compose(bl_affine o, bl_affine i)
{
    return (bl_affine){
        o.a * i.a + o.b * i.d, o.a * i.b + o.b * i.e, o.a * i.c + o.b * i.f + o.c,
        o.d * i.a + o.e * i.d, o.d * i.b + o.e * i.e, o.d * i.c + o.e * i.f + o.f,
    };
}

void bl_affine_apply(bl_affine t, double x, double y, double *ox, double *oy)
{
    *ox = t.a * x + t.b * y + t.c;
    *oy = t.d * x + t.e * y + t.f;
}

/* cos and sin of deg, exact at multiples of 90 degrees. */
static void cos_sin(double deg, double *c, double *s)
{
    double q = deg / 90.0;
    if (q == floor(q)) {
        static const double C[4] = {1, 0, -1, 0}, S[4] = {0, 1, 0, -1};
        long k = ((long)fmod(q, 4.0) + 4) % 4;
        *c = C[k];
        *s = S[k];
        return;
    }
    double r = deg * (3.14159265358979323846 / 180.0);
    *c = cos(r);
    *s = sin(r);
}

bl_affine bl_image_rotation_map(int src_w, int src_h, int dst_w, int dst_h, double deg)
{
    /* Destination point q -> source point p = cs + R(-deg) (q - cd): the
     * content turned clockwise by deg is sampled by turning back. */
    double c, s;
    cos_sin(deg, &c, &s);
    double cxs = src_w * 0.5, cys = src_h * 0.5, cxd = dst_w * 0.5, cyd = dst_h * 0.5;
    /* R(-deg) = [c, s; -s, c] */
    return (bl_affine){c, s, cxs - c * cxd - s * cyd, -s, c, cys + s * cxd - c * cyd};
}

bl_image *bl_image_rotate_quarter(const bl_image *src, int quarter_turns, bl_affine *to_src)
{
    assert(src && src->data);
    int k = ((quarter_turns % 4) + 4) % 4;
    int W = src->width, H = src->height;
    int ow = k % 2 ? H : W, oh = k % 2 ? W : H;
    bl_image *out = bl_image_new(ow, oh);
    if (to_src)
        *to_src = bl_image_rotation_map(W, H, ow, oh, 90.0 * k);
    if (k == 0) {
        for (int y = 0; y < H; y++)
            memcpy(&BL_PIX(out, 0, y), &BL_PIX(src, 0, y), (size_t)W);
        return out;
    }
    if (k == 2) {
        for (int y = 0; y < H; y++) {
            const uint8_t *s = &BL_PIX(src, 0, y);
            uint8_t *d = &BL_PIX(out, 0, H - 1 - y);
            for (int x = 0; x < W; x++)
                d[W - 1 - x] = s[x];
        }
        return out;
    }
    /* Clockwise by 90: source (x, y) lands at (H - 1 - y, x); by 270 at
     * (y, W - 1 - x). */
    for (int by = 0; by < H; by += 64)
        for (int bx = 0; bx < W; bx += 64) {
            int ey = by + 64 < H ? by + 64 : H, ex = bx + 64 < W ? bx + 64 : W;
            for (int y = by; y < ey; y++) {
                const uint8_t *s = &BL_PIX(src, 0, y);
                if (k == 1)
                    for (int x = bx; x < ex; x++)
                        BL_PIX(out, H - 1 - y, x) = s[x];
                else
                    for (int x = bx; x < ex; x++)
                        BL_PIX(out, y, W - 1 - x) = s[x];
            }
        }
    return out;
}

bl_image *bl_image_rotate(const bl_image *src, double deg, int dst_w, int dst_h, uint8_t fill,
                          bl_affine *to_src)
{
    assert(src && src->data && isfinite(deg) && dst_w > 0 && dst_h > 0);
    bl_affine m = bl_image_rotation_map(src->width, src->height, dst_w, dst_h, deg);
    if (to_src)
        *to_src = m;
    bl_image *out = bl_image_new(dst_w, dst_h);
    const double one = 4294967296.0; /* 2^32 */
    const int64_t step_x = (int64_t)llround(m.a * one), step_y = (int64_t)llround(m.d * one);
    const uint64_t W = (uint64_t)src->width, H = (uint64_t)src->height;
    for (int y = 0; y < dst_h; y++) {
        uint8_t *d = &BL_PIX(out, 0, y);
        double px, py;
        bl_affine_apply(m, 0.5, y + 0.5, &px, &py);
        /* Floor of a point coordinate is its pixel index; positions are
         * offset by 2^20 pixels so the fixed-point values stay positive
         * and the shift floors correctly. */
        const double bias = 1048576.0;
        int64_t fx = (int64_t)llround((px + bias) * one), fy = (int64_t)llround((py + bias) * one);
        const uint64_t ib = (uint64_t)1048576;
        for (int x = 0; x < dst_w; x++, fx += step_x, fy += step_y) {
            uint64_t sx = (uint64_t)(fx >> 32) - ib, sy = (uint64_t)(fy >> 32) - ib;
            d[x] = sx < W && sy < H ? src->data[sy * (uint64_t)src->stride + sx] : fill;
        }
    }
    return out;
}

/* ---- rotation by shears ------------------------------------------------ */

/* out(x, y) = in(x - s(y), y), s(y) = round(a (y + 0.5 - h/2)): a
 * horizontal shear, one memcpy per row. */
static void shear_x(bl_image *out, const bl_image *in, double a)
{
    int W = in->width, H = in->height;
    for (int y = 0; y < H; y++) {
        int s = (int)lround(a * (y + 0.5 - H * 0.5));
        uint8_t *d = &BL_PIX(out, 0, y);
        const uint8_t *r = &BL_PIX(in, 0, y);
        memset(d, 0, (size_t)W);
        int x0 = s > 0 ? s : 0, x1 = W + s < W ? W + s : W; /* dst range */
        if (x1 > x0)
            memcpy(d + x0, r + x0 - s, (size_t)(x1 - x0));
    }
}

/* out(x, y) = in(x, y - t(x)), t(x) = round(b (x + 0.5 - w/2)): a vertical
 * shear, copied row by row in runs of columns that share a shift. */
static void shear_y(bl_image *out, const bl_image *in, double b)
{
    int W = in->width, H = in->height;
    /* The runs of columns sharing a shift are the same on every row. */
    int *run_x = bl_xmalloc(((size_t)W + 1) * sizeof *run_x);
    int *run_t = bl_xmalloc((size_t)W * sizeof *run_t);
    int nruns = 0;
    for (int x = 0; x < W; x++) {
        int t = (int)lround(b * (x + 0.5 - W * 0.5));
        if (nruns == 0 || t != run_t[nruns - 1]) {
            run_x[nruns] = x;
            run_t[nruns++] = t;
        }
    }
    run_x[nruns] = W;
    for (int y = 0; y < H; y++) {
        uint8_t *d = &BL_PIX(out, 0, y);
        for (int k = 0; k < nruns; k++) {
            int x = run_x[k], e = run_x[k + 1], sy = y - run_t[k];
            if (sy >= 0 && sy < H) {
                const uint8_t *r = &BL_PIX(in, 0, sy);
                /* Runs are short (1 / sin(angle) columns: 11 at 5 degrees),
                 * so copy in fixed 16-byte blocks the compiler inlines;
                 * a block may spill past the run into columns the next
                 * run overwrites, never past the row. */
                int i = x;
                for (; i < e && i + 16 <= W; i += 16)
                    memcpy(d + i, r + i, 16);
                if (i < e)
                    memcpy(d + i, r + i, (size_t)(e - i));
            } else {
                memset(d + x, 0, (size_t)(e - x));
            }
        }
    }
    free(run_t);
    free(run_x);
}

bl_image *bl_image_rotate_shear(const bl_image *src, double deg, bl_affine *to_src)
{
    assert(src && src->data && isfinite(deg) && fabs(deg) <= 45);
    double r = deg * (3.14159265358979323846 / 180.0);
    double a = -tan(r / 2), b = sin(r);
    if (to_src)
        *to_src = bl_image_rotation_map(src->width, src->height, src->width, src->height, deg);
    bl_image *t1 = bl_image_new(src->width, src->height);
    bl_image *t2 = bl_image_new(src->width, src->height);
    /* Content moves forward through X(a), Y(b), X(a): each pass writes
     * out(p) = in(S^-1 p). */
    shear_x(t1, src, a);
    shear_y(t2, t1, b);
    shear_x(t1, t2, a);
    bl_image_destroy(&t2);
    return t1;
}
