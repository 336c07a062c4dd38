/*
 * Double-precision references for the kernels (see ref.h).
 * SPDX-License-Identifier: MIT
 */
#include "util/ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void
must_alloc(struct image *img, uint32_t w, uint32_t h, int ch)
{
    if (image_alloc(img, w, h, ch) != 0) {
        fprintf(stderr, "ref: cannot allocate %ux%ux%d\n", w, h, ch);
        abort();
    }
}

static double
px(const struct image *img, long x, long y, int c)
{
    /* Replicated borders: clamp the coordinates. */
    x = x < 0 ? 0 : x >= (long)img->width ? (long)img->width - 1 : x;
    y = y < 0 ? 0 : y >= (long)img->height ? (long)img->height - 1 : y;
    return img->pixels[(size_t)y * img->stride + (size_t)x * img->channels +
                       c];
}

static double
luma(const struct image *in, long x, long y)
{
    if (in->channels < 3) {
        return px(in, x, y, 0);
    }
    return 0.299 * px(in, x, y, 0) + 0.587 * px(in, x, y, 1) +
           0.114 * px(in, x, y, 2);
}

static uint8_t
to_byte(double v)
{
    v = floor(v + 0.5);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

void
ref_grayscale(const struct image *in, struct image *out)
{
    int alpha = in->channels == 2 || in->channels == 4;

    must_alloc(out, in->width, in->height, alpha ? 2 : 1);
    for (uint32_t y = 0; y < in->height; y++) {
        for (uint32_t x = 0; x < in->width; x++) {
            uint8_t *o = out->pixels + (size_t)y * out->stride +
                         (size_t)x * out->channels;

            o[0] = to_byte(luma(in, x, y));
            if (alpha) {
                o[1] = (uint8_t)px(in, x, y, in->channels - 1);
            }
        }
    }
}

void
ref_sobel(const struct image *in, struct image *out)
{
    struct image g;

    /* The luma image is rounded to 8 bits first, as the service does. */
    must_alloc(&g, in->width, in->height, 1);
    for (uint32_t y = 0; y < in->height; y++) {
        for (uint32_t x = 0; x < in->width; x++) {
            g.pixels[(size_t)y * g.stride + x] = to_byte(luma(in, x, y));
        }
    }

    must_alloc(out, in->width, in->height, 1);
    for (long y = 0; y < (long)in->height; y++) {
        for (long x = 0; x < (long)in->width; x++) {
            double gx = px(&g, x + 1, y - 1, 0) + 2 * px(&g, x + 1, y, 0) +
                        px(&g, x + 1, y + 1, 0) - px(&g, x - 1, y - 1, 0) -
                        2 * px(&g, x - 1, y, 0) - px(&g, x - 1, y + 1, 0);
            double gy = px(&g, x - 1, y + 1, 0) + 2 * px(&g, x, y + 1, 0) +
                        px(&g, x + 1, y + 1, 0) - px(&g, x - 1, y - 1, 0) -
                        2 * px(&g, x, y - 1, 0) - px(&g, x + 1, y - 1, 0);

            out->pixels[(size_t)y * out->stride + (size_t)x] =
                to_byte(sqrt(gx * gx + gy * gy));
        }
    }
    image_free(&g);
}

void
ref_blur(const struct image *in, double sigma, struct image *out)
{
    long r = (long)ceil(3 * sigma), w = in->width, h = in->height;
    int ch = in->channels;
    double *k = malloc(sizeof(double) * (size_t)(2 * r + 1)), sum = 0;
    double *tmp = malloc(sizeof(double) * (size_t)(w * h * ch));

    if (k == NULL || tmp == NULL) {
        abort();
    }

    for (long i = -r; i <= r; i++) {
        k[i + r] = exp(-(double)(i * i) / (2 * sigma * sigma));
        sum += k[i + r];
    }

    for (long i = 0; i <= 2 * r; i++) {
        k[i] /= sum;
    }

    /* The 2D Gaussian is separable: rows into doubles, then columns. */
    for (long y = 0; y < h; y++) {
        for (long x = 0; x < w; x++) {
            for (int c = 0; c < ch; c++) {
                double acc = 0;

                for (long i = -r; i <= r; i++) {
                    acc += k[i + r] * px(in, x + i, y, c);
                }
                tmp[(y * w + x) * ch + c] = acc;
            }
        }
    }

    must_alloc(out, in->width, in->height, ch);
    for (long y = 0; y < h; y++) {
        for (long x = 0; x < w; x++) {
            for (int c = 0; c < ch; c++) {
                double acc = 0;

                for (long i = -r; i <= r; i++) {
                    long yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;

                    acc += k[i + r] * tmp[(yy * w + x) * ch + c];
                }
                out->pixels[(size_t)y * out->stride + (size_t)x * ch + c] =
                    to_byte(acc);
            }
        }
    }

    free(k);
    free(tmp);
}

int
ref_max_diff(const struct image *a, const struct image *b)
{
    int worst = 0;

    if (a->width != b->width || a->height != b->height ||
        a->channels != b->channels) {
        return -1;
    }

    for (uint32_t y = 0; y < a->height; y++) {
        const uint8_t *p = a->pixels + (size_t)y * a->stride;
        const uint8_t *q = b->pixels + (size_t)y * b->stride;

        for (size_t i = 0; i < (size_t)a->width * a->channels; i++) {
            int d = abs((int)p[i] - (int)q[i]);

            worst = d > worst ? d : worst;
        }
    }
    return worst;
}
