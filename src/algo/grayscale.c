/*
 * The grayscale kernel (queue image_processing): RGB becomes luma, RGBA
 * becomes luma plus its alpha, and gray images pass through unchanged.
 * The worker runs it through the registry in registry.c.
 * SPDX-License-Identifier: MIT
 */
#include "algo/algo_int.h"

#include <string.h>

#include "core/error.h"

static int
grayscale_channels(int in_channels)
{
    switch (in_channels) {
    case 3:
        return 1;
    case 4:
        return 2;
    default:
        return in_channels;
    }
}

static int
grayscale_shape(const struct image *in, const double *values, uint32_t *width,
           uint32_t *height, int *channels)
{
    (void)values;
    return algo__shape_same(in, grayscale_channels(in->channels), width,
                            height, channels);
}

/*
 * Grayscale of an 8-bit interleaved image: src rows of width pixels of
 * channels bytes (1 to 4) every src_stride bytes; dst rows of
 * grayscale_channels(channels) bytes per pixel every dst_stride bytes.
 * Luma is round(0.299 R + 0.587 G + 0.114 B) as double arithmetic gives
 * it; alpha is copied. Rows are shared among threads OpenMP threads.
 */
static void
grayscale_kernel(const uint8_t *src, size_t src_stride, uint8_t *dst,
                 size_t dst_stride, uint32_t width, uint32_t height,
                 int channels, int threads)
{
    size_t row_bytes = (size_t)width * grayscale_channels(channels);

#pragma omp parallel for num_threads(threads) schedule(static)
    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *s = src + y * src_stride;
        uint8_t *d = dst + y * dst_stride;

        if (channels < 3) {
            memcpy(d, s, row_bytes);
        } else {
            algo__luma_row(s, channels, width, d, 1);
        }
    }
}

static int
grayscale_run(const struct image *in, struct image *out, const double *values,
              int threads)
{
    int rc = IMGFLOW_EINVAL;

    (void)values;

    if (in->pixels == NULL || out->pixels == NULL || in->channels < 1 ||
        in->channels > 4 || out->width != in->width ||
        out->height != in->height ||
        out->channels != grayscale_channels(in->channels) || threads < 1) {
        goto out;
    }

    grayscale_kernel(in->pixels, in->stride, out->pixels, out->stride,
                     in->width, in->height, in->channels, threads);
    rc = 0;

out:
    return rc;
}

const struct algo algo_grayscale = {
    .name = "grayscale",
    .queue = "image_processing",
    .description = "Converts to gray (ITU-R BT.601 luma), keeping alpha.",
    .params = NULL,
    .n_params = 0,
    .shape = grayscale_shape,
    .run = grayscale_run,
};
