/*
 * The Sobel kernel (queue sobel_processing): edge strength of the luma,
 * as one gray channel. The worker runs it through the registry in
 * registry.c.
 * SPDX-License-Identifier: MIT
 */
#include "algo/algo_int.h"

#include <omp.h>
#include <stdlib.h>

#include "core/error.h"

/*
 * What one thread keeps between rows: the last three luma rows it needed
 * and two rows of 16-bit column sums for the row it computes.
 */
struct sobel_ring {
    uint32_t row[3];  /* image row held in each slot, UINT32_MAX if none */
    uint8_t *luma[3]; /* width bytes each */
    int16_t *smooth;  /* up + 2 mid + down, width values */
    int16_t *diff;    /* down - up, width values */
};

static int
sobel_shape(const struct image *in, const double *values, uint32_t *width,
       uint32_t *height, int *channels)
{
    (void)values;
    return algo__shape_same(in, 1, width, height, channels);
}

/*
 * min(255, round(sqrt(gx^2 + gy^2))), exactly, in a form GCC vectorises:
 * it does not vectorise sqrtf() while errno is on, as it is in our build.
 * s = gx^2 + gy^2 < 2^22 is exact in float. The reciprocal square root
 * starts from the guess that halves the exponent (within 3.5%) and three
 * Newton steps bring it to float precision, so s * y is within 1e-4 of
 * sqrt(s). The square root of an integer is never that close to a half
 * (sqrt(n^2 + n) is about n + 0.5 - 1 / (8 n + 4), 4.9e-4 away at
 * n = 255), so the rounding is exact. The Sobel tests check every
 * gradient an image can produce.
 */
static inline uint8_t
sobel_magnitude(int16_t gx, int16_t gy)
{
    float fx = gx, fy = gy;
    float s = fx * fx + fy * fy;
    float half = 0.5f * s;
    float y;
    int32_t n;
    union {
        float f;
        int32_t i;
    } guess = {.f = s};

    /* For s = 0 the guess is large but finite and s * y is 0. */
    guess.i = 0x5f3759df - (guess.i >> 1);
    y = guess.f;
    y = y * (1.5f - half * y * y);
    y = y * (1.5f - half * y * y);
    y = y * (1.5f - half * y * y);

    n = (int32_t)(s * y + 0.5f);
    return (uint8_t)(n < 255 ? n : 255);
}

/* One edge pixel of the row, with its left and right columns given. */
static uint8_t
sobel_edge(const int16_t *smooth, const int16_t *diff, size_t left, size_t x,
           size_t right)
{
    int gx = smooth[right] - smooth[left];
    int gy = diff[left] + 2 * diff[x] + diff[right];

    return sobel_magnitude((int16_t)gx, (int16_t)gy);
}

/*
 * One output row from the luma rows above, at and below it. The kernels
 * are separable: gx is the horizontal difference of the vertical
 * smoothing up + 2 mid + down, gy the horizontal smoothing of the
 * vertical difference down - up. The first and last columns repeat
 * their edge pixel as the missing neighbour.
 */
ALGO__HOT static void
sobel_row(const uint8_t *restrict up, const uint8_t *restrict mid,
          const uint8_t *restrict down, int16_t *restrict smooth,
          int16_t *restrict diff, uint8_t *restrict dst, size_t width)
{
    for (size_t x = 0; x < width; x++) {
        smooth[x] = (int16_t)(up[x] + 2 * mid[x] + down[x]);
        diff[x] = (int16_t)(down[x] - up[x]);
    }

    for (size_t x = 1; x + 1 < width; x++) {
        int16_t gx = (int16_t)(smooth[x + 1] - smooth[x - 1]);
        int16_t gy = (int16_t)(diff[x - 1] + 2 * diff[x] + diff[x + 1]);

        dst[x] = sobel_magnitude(gx, gy);
    }

    dst[0] = sobel_edge(smooth, diff, 0, 0, width > 1 ? 1 : 0);
    if (width > 1) {
        dst[width - 1] =
            sobel_edge(smooth, diff, width - 2, width - 1, width - 1);
    }
}

/* Luma of row y: the source row itself for gray, else from the ring. */
static const uint8_t *
sobel_luma(struct sobel_ring *ring, const uint8_t *src, size_t stride,
           uint32_t width, int channels, uint32_t y)
{
    const uint8_t *row = src + (size_t)y * stride;
    int slot = (int)(y % 3);

    if (channels > 1 && ring->row[slot] != y) {
        algo__luma_row(row, channels, width, ring->luma[slot], 0);
        ring->row[slot] = y;
    }
    return channels == 1 ? row : ring->luma[slot];
}

/*
 * Sobel magnitude of an 8-bit interleaved image (channels 1 to 4; alpha
 * ignored) with rows every src_stride bytes, into a one-channel image
 * with rows every dst_stride bytes. Outside the image the edge pixels
 * repeat. Each thread works in its own ring, one of rings[threads]. Rows
 * are shared among threads OpenMP threads.
 */
static void
sobel_kernel(const uint8_t *src, size_t src_stride, uint8_t *dst,
             size_t dst_stride, uint32_t width, uint32_t height, int channels,
             int threads, struct sobel_ring *rings)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (uint32_t y = 0; y < height; y++) {
        struct sobel_ring *ring = &rings[omp_get_thread_num()];
        uint32_t above = y > 0 ? y - 1 : 0;
        uint32_t below = y + 1 < height ? y + 1 : y;
        const uint8_t *up, *mid, *down;

        up = sobel_luma(ring, src, src_stride, width, channels, above);
        mid = sobel_luma(ring, src, src_stride, width, channels, y);
        down = sobel_luma(ring, src, src_stride, width, channels, below);
        sobel_row(up, mid, down, ring->smooth, ring->diff,
                  dst + (size_t)y * dst_stride, width);
    }
}

static int
sobel_run(const struct image *in, struct image *out, const double *values,
          int threads)
{
    struct sobel_ring *rings = NULL;
    uint8_t *buf = NULL;
    size_t row_bytes;
    int rc = IMGFLOW_EINVAL;

    (void)values;

    if (in->pixels == NULL || out->pixels == NULL || in->channels < 1 ||
        in->channels > 4 || out->width != in->width ||
        out->height != in->height || out->channels != 1 || threads < 1) {
        goto out;
    }

    /* Per thread: three luma rows, then the two rows of sums. */
    rc = IMGFLOW_ENOMEM;
    row_bytes = (in->width + (size_t)31) / 32 * 32;
    rings = calloc((size_t)threads, sizeof(*rings));
    buf = malloc((size_t)threads * 7 * row_bytes);
    if (rings == NULL || buf == NULL) {
        goto out;
    }

    for (int t = 0; t < threads; t++) {
        uint8_t *base = buf + (size_t)t * 7 * row_bytes;

        for (int i = 0; i < 3; i++) {
            rings[t].row[i] = UINT32_MAX;
            rings[t].luma[i] = base + (size_t)i * row_bytes;
        }
        rings[t].smooth = (int16_t *)(base + 3 * row_bytes);
        rings[t].diff = (int16_t *)(base + 5 * row_bytes);
    }

    sobel_kernel(in->pixels, in->stride, out->pixels, out->stride, in->width,
                 in->height, in->channels, threads, rings);
    rc = 0;

out:
    free(buf);
    free(rings);
    return rc;
}

const struct algo algo_sobel = {
    .name = "sobel",
    .queue = "sobel_processing",
    .description = "Edge strength: 3x3 Sobel gradient magnitude of the luma.",
    .params = NULL,
    .n_params = 0,
    .shape = sobel_shape,
    .run = sobel_run,
};
