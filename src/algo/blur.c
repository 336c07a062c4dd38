/*
 * The Gaussian blur kernel (queue blur_processing): every channel, alpha
 * included, blurred with a separable Gaussian of standard deviation
 * sigma. The worker runs it through the registry in registry.c.
 * SPDX-License-Identifier: MIT
 */
#include "algo/algo_int.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "core/error.h"

#define BLUR_SIGMA_MIN 0.1
#define BLUR_SIGMA_MAX 50.0

/* ceil(3 * BLUR_SIGMA_MAX): the widest kernel reaches 150 pixels out. */
#define BLUR_RADIUS_MAX 150

/*
 * Up to this radius (sigma <= 13.3) the passes run in 16-bit fixed point,
 * twice as many lanes as float; see blur_taps_make() for the error bound.
 */
#define BLUR_FIXED_RADIUS_MAX 40

/* Scratch slices start on a cache line. */
#define BLUR_ALIGN 64

/*
 * Fixed-point sweeps take three distances at a time, so the last one may
 * reach two pixels past the radius (with weight 0); lines are padded for
 * that.
 */
#define BLUR_OVERRUN 2

/*
 * One half of the symmetric kernel: the weight of offset k applies at -k
 * and +k. The fixed-point form has weights in units of 2^-16 and values
 * in units of 1/128 grey level (Q7), so that a value of 255 and the sum
 * of two such values both fit in 16 bits.
 */
struct blur_taps {
    int radius;
    int fixed;                          /* use the fixed-point passes */
    float weight[BLUR_RADIUS_MAX + 1];  /* float weights, sum 1 */
    uint16_t wfix[BLUR_RADIUS_MAX + 1]; /* Q16 weights for k >= 1 */
    uint16_t rest;                      /* 65536 - Q16 centre weight */
    uint16_t bias;                      /* Q7 units added per pass */
};

static const struct algo_param blur_params[] = {
    {
        .name = "sigma",
        .type = ALGO_PARAM_NUMBER,
        .min = BLUR_SIGMA_MIN,
        .max = BLUR_SIGMA_MAX,
        .def = 2.0,
        .description = "Standard deviation of the Gaussian, in pixels.",
    },
};

static int
blur_shape(const struct image *in, const double *values, uint32_t *width,
      uint32_t *height, int *channels)
{
    (void)values;
    return algo__shape_same(in, in->channels, width, height, channels);
}

/*
 * Radius ceil(3 sigma) and weights exp(-k^2 / (2 sigma^2)) scaled so that
 * the whole kernel, both halves and the centre, sums to 1. The sums are
 * done in double; float weights then cost about 1e-5 of a grey level.
 *
 * Fixed point: the side weights are rounded to Q16 and the centre takes
 * what is left, so the weights still sum to exactly 1 and their positive
 * errors add up to at most r 2^-16: a pass is off by at most 255 r 2^-16
 * grey level from the weights. Each product
 * truncates by less than one Q7 unit; the centre term, taken as the
 * value less its complement, rounds up by less than one. Adding r / 2
 * units centres that: under r / 2 + 1 units per pass. For r <= 40 that
 * is 0.156 + 0.164 grey level per pass and under 0.65 for both, so after
 * the final rounding no pixel is more than 1 grey level from the exact
 * blur. Sums stay below 32700 units, and pairs of them below 65536.
 */
static void
blur_taps_make(double sigma, struct blur_taps *taps)
{
    double w[BLUR_RADIUS_MAX + 1];
    double total;
    uint32_t side = 0;
    int r = (int)ceil(3.0 * sigma);

    w[0] = 1.0;
    total = 1.0;
    for (int k = 1; k <= r; k++) {
        w[k] = exp(-(double)k * k / (2.0 * sigma * sigma));
        total += 2.0 * w[k];
    }

    taps->radius = r;
    for (int k = 0; k <= r; k++) {
        taps->weight[k] = (float)(w[k] / total);
    }

    /* w[k] / total < 0.5 for k >= 1, so each weight fits 16 bits. */
    taps->wfix[0] = 0;
    for (int k = 1; k <= r; k++) {
        taps->wfix[k] = (uint16_t)lround(w[k] / total * 65536.0);
        side += 2u * taps->wfix[k];
    }
    taps->fixed = r <= BLUR_FIXED_RADIUS_MAX && side < 65536u;
    taps->rest = (uint16_t)(taps->fixed ? side : 0);
    taps->bias = (uint16_t)(r / 2);
}

/* Clamped source row y + k (k may be negative). */
static const uint8_t *
blur_src_row(const uint8_t *src, size_t stride, uint32_t height, uint32_t y,
             int k)
{
    int64_t row = (int64_t)y + k;

    if (row < 0) {
        row = 0;
    } else if (row >= height) {
        row = height - 1;
    }
    return src + (size_t)row * stride;
}

/* (x * w) >> 16 on 16-bit x and w: one pmulhuw. */
static inline uint16_t
blur_mulhi(uint16_t x, uint16_t w)
{
    return (uint16_t)(((uint32_t)x * w) >> 16);
}

/* The centre term: c times the centre weight, as c less its complement. */
static inline uint16_t
blur_centre(uint16_t c, const struct blur_taps *taps)
{
    return (uint16_t)(c - blur_mulhi(c, taps->rest) + taps->bias);
}

/* Weight of distance k, 0 past the radius so that sweeps can run over. */
static uint16_t
blur_wfix(const struct blur_taps *taps, int k)
{
    return k <= taps->radius ? taps->wfix[k] : 0;
}

/* Rows at distances k, k + 1, k + 2 above and below, and their weights. */
struct blur_sweep {
    const uint8_t *up[3];
    const uint8_t *down[3];
    uint16_t w[3];
};

static void
blur_sweep_rows(const uint8_t *src, size_t stride, uint32_t height, uint32_t y,
                const struct blur_taps *taps, int k, struct blur_sweep *sw)
{
    for (int j = 0; j < 3; j++) {
        sw->up[j] = blur_src_row(src, stride, height, y, -(k + j));
        sw->down[j] = blur_src_row(src, stride, height, y, k + j);
        sw->w[j] = blur_wfix(taps, k + j);
    }
}

/*
 * One sweep of the vertical pass: three distances added to out, or, for
 * the first sweep, to the centre term of mid. Inlined with first fixed
 * so that each loop is straight and vectorises.
 */
static inline __attribute__((always_inline)) void
blur_vertical_sweep(const struct blur_sweep *sw, const uint8_t *restrict mid,
                    const struct blur_taps *taps, int first, size_t n,
                    uint16_t *restrict out)
{
    const uint8_t *restrict a0 = sw->up[0], *restrict b0 = sw->down[0];
    const uint8_t *restrict a1 = sw->up[1], *restrict b1 = sw->down[1];
    const uint8_t *restrict a2 = sw->up[2], *restrict b2 = sw->down[2];
    uint16_t w0 = sw->w[0], w1 = sw->w[1], w2 = sw->w[2];

    for (size_t i = 0; i < n; i++) {
        uint16_t sum =
            (uint16_t)(blur_mulhi((uint16_t)((a0[i] + b0[i]) << 7), w0) +
                       blur_mulhi((uint16_t)((a1[i] + b1[i]) << 7), w1) +
                       blur_mulhi((uint16_t)((a2[i] + b2[i]) << 7), w2));
        uint16_t base =
            first ? blur_centre((uint16_t)(mid[i] << 7), taps) : out[i];

        out[i] = (uint16_t)(base + sum);
    }
}

/*
 * Fixed-point vertical pass for row y: n = width * channels Q7 sums of
 * the rows y - r to y + r, into out. Rows at the same distance share a
 * weight, so they are added first; (a + b) << 7 still fits 16 bits. Each
 * sweep over out takes three distances, the first the centre too.
 */
ALGO__HOT static void
blur_vertical_fixed(const uint8_t *src, size_t stride, uint32_t height,
                    uint32_t y, const struct blur_taps *taps, size_t n,
                    uint16_t *restrict out)
{
    const uint8_t *mid = blur_src_row(src, stride, height, y, 0);
    struct blur_sweep sw;

    blur_sweep_rows(src, stride, height, y, taps, 1, &sw);
    blur_vertical_sweep(&sw, mid, taps, 1, n, out);
    for (int k = 4; k <= taps->radius; k += 3) {
        blur_sweep_rows(src, stride, height, y, taps, k, &sw);
        blur_vertical_sweep(&sw, mid, taps, 0, n, out);
    }
}

/* One sweep of the horizontal pass from distance k; as above. */
static inline __attribute__((always_inline)) void
blur_horizontal_sweep(const uint16_t *restrict line,
                      const struct blur_taps *taps, int channels, int k,
                      int first, size_t n, uint16_t *restrict acc)
{
    const uint16_t *restrict l0 = line - (size_t)k * channels;
    const uint16_t *restrict r0 = line + (size_t)k * channels;
    const uint16_t *restrict l1 = l0 - channels;
    const uint16_t *restrict r1 = r0 + channels;
    const uint16_t *restrict l2 = l1 - channels;
    const uint16_t *restrict r2 = r1 + channels;
    uint16_t w0 = blur_wfix(taps, k);
    uint16_t w1 = blur_wfix(taps, k + 1);
    uint16_t w2 = blur_wfix(taps, k + 2);

    for (size_t i = 0; i < n; i++) {
        uint16_t sum = (uint16_t)(blur_mulhi((uint16_t)(l0[i] + r0[i]), w0) +
                                  blur_mulhi((uint16_t)(l1[i] + r1[i]), w1) +
                                  blur_mulhi((uint16_t)(l2[i] + r2[i]), w2));
        uint16_t base = first ? blur_centre(line[i], taps) : acc[i];

        acc[i] = (uint16_t)(base + sum);
    }
}

/*
 * Fixed-point horizontal pass over one Q7 row whose edge pixels are
 * repeated radius + BLUR_OVERRUN times on both sides, then rounding to
 * bytes. acc holds n values.
 */
ALGO__HOT static void
blur_horizontal_fixed(const uint16_t *restrict line,
                      const struct blur_taps *taps, int channels, size_t n,
                      uint16_t *restrict acc, uint8_t *restrict dst)
{
    blur_horizontal_sweep(line, taps, channels, 1, 1, n, acc);
    for (int k = 4; k <= taps->radius; k += 3) {
        blur_horizontal_sweep(line, taps, channels, k, 0, n, acc);
    }

    /* The bias and the centre's rounding can reach 255.5 by a hair. */
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)(acc[i] + 64);

        v >>= 7;
        dst[i] = (uint8_t)(v < 255 ? v : 255);
    }
}

/*
 * Float vertical pass, for radii past BLUR_FIXED_RADIUS_MAX: as
 * blur_vertical_fixed() with float sums.
 */
ALGO__HOT static void
blur_vertical_float(const uint8_t *src, size_t stride, uint32_t height,
                    uint32_t y, const struct blur_taps *taps, size_t n,
                    float *restrict out)
{
    const uint8_t *restrict mid = blur_src_row(src, stride, height, y, 0);
    float w0 = taps->weight[0];

    for (size_t i = 0; i < n; i++) {
        out[i] = w0 * mid[i];
    }

    for (int k = 1; k <= taps->radius; k++) {
        const uint8_t *restrict a = blur_src_row(src, stride, height, y, -k);
        const uint8_t *restrict b = blur_src_row(src, stride, height, y, k);
        float w = taps->weight[k];

        for (size_t i = 0; i < n; i++) {
            out[i] += w * (float)(uint16_t)(a[i] + b[i]);
        }
    }
}

/* Float horizontal pass and rounding; as blur_horizontal_fixed(). */
ALGO__HOT static void
blur_horizontal_float(const float *restrict line, const struct blur_taps *taps,
                      int channels, size_t n, float *restrict acc,
                      uint8_t *restrict dst)
{
    float w0 = taps->weight[0];

    for (size_t i = 0; i < n; i++) {
        acc[i] = w0 * line[i];
    }

    for (int k = 1; k <= taps->radius; k++) {
        const float *restrict left = line - (size_t)k * channels;
        const float *restrict right = line + (size_t)k * channels;
        float w = taps->weight[k];

        for (size_t i = 0; i < n; i++) {
            acc[i] += w * (left[i] + right[i]);
        }
    }

    /* The weights sum to 1, so only rounding error can pass 255. */
    for (size_t i = 0; i < n; i++) {
        float v = acc[i] + 0.5f;

        dst[i] = (uint8_t)(v < 255.0f ? v : 255.0f);
    }
}

/* Repeat the first and last pixel of a Q7 line count times outward. */
static void
blur_pad_fixed(uint16_t *line, int count, uint32_t width, int channels)
{
    const uint16_t *first = line;
    const uint16_t *last = line + (size_t)(width - 1) * channels;

    for (int k = 1; k <= count; k++) {
        for (int c = 0; c < channels; c++) {
            line[-(ptrdiff_t)k * channels + c] = first[c];
            line[((size_t)width - 1 + k) * channels + c] = last[c];
        }
    }
}

/* The same for a float line. */
static void
blur_pad_float(float *line, int count, uint32_t width, int channels)
{
    const float *first = line;
    const float *last = line + (size_t)(width - 1) * channels;

    for (int k = 1; k <= count; k++) {
        for (int c = 0; c < channels; c++) {
            line[-(ptrdiff_t)k * channels + c] = first[c];
            line[((size_t)width - 1 + k) * channels + c] = last[c];
        }
    }
}

/* Geometry of the image and of one thread's scratch slice. */
struct blur_plan {
    const uint8_t *src;
    size_t src_stride;
    uint8_t *dst;
    size_t dst_stride;
    uint32_t width;
    uint32_t height;
    int channels;
    size_t line_bytes; /* padded line; the accumulator follows */
    size_t slice_bytes;
};

/* One output row with the scratch slice of the calling thread. */
static void
blur_row(const struct blur_plan *plan, const struct blur_taps *taps, uint32_t y,
         uint8_t *slice)
{
    size_t n = (size_t)plan->width * plan->channels;
    int pad_px = taps->radius + BLUR_OVERRUN;
    size_t pad = (size_t)pad_px * plan->channels;
    uint8_t *dst = plan->dst + (size_t)y * plan->dst_stride;

    if (taps->fixed) {
        uint16_t *line = (uint16_t *)slice + pad;
        uint16_t *acc = (uint16_t *)(slice + plan->line_bytes);

        blur_vertical_fixed(plan->src, plan->src_stride, plan->height, y, taps,
                            n, line);
        blur_pad_fixed(line, pad_px, plan->width, plan->channels);
        blur_horizontal_fixed(line, taps, plan->channels, n, acc, dst);
    } else {
        float *line = (float *)slice + pad;
        float *acc = (float *)(slice + plan->line_bytes);

        blur_vertical_float(plan->src, plan->src_stride, plan->height, y, taps,
                            n, line);
        blur_pad_float(line, pad_px, plan->width, plan->channels);
        blur_horizontal_float(line, taps, plan->channels, n, acc, dst);
    }
}

/*
 * Gaussian blur of an 8-bit interleaved image (channels 1 to 4, every
 * channel blurred alike), into dst of the same geometry; see
 * struct blur_plan. Outside the image the edge pixels repeat. Each
 * thread works in its own slice of scratch. Rows are shared among
 * threads OpenMP threads.
 */
static void
blur_kernel(const struct blur_plan *plan, const struct blur_taps *taps,
            int threads, uint8_t *scratch)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (uint32_t y = 0; y < plan->height; y++) {
        uint8_t *slice =
            scratch + (size_t)omp_get_thread_num() * plan->slice_bytes;

        blur_row(plan, taps, y, slice);
    }
}

static size_t
blur_round_up(size_t bytes)
{
    return (bytes + BLUR_ALIGN - 1) / BLUR_ALIGN * BLUR_ALIGN;
}

static int
blur_run(const struct image *in, struct image *out, const double *values,
         int threads)
{
    struct blur_taps taps;
    struct blur_plan plan;
    uint8_t *scratch = NULL;
    size_t n, elem;
    double sigma = values[0];
    int rc = IMGFLOW_EINVAL;

    if (in->pixels == NULL || out->pixels == NULL || in->channels < 1 ||
        in->channels > 4 || out->width != in->width ||
        out->height != in->height || out->channels != in->channels ||
        threads < 1 || !(sigma >= BLUR_SIGMA_MIN && sigma <= BLUR_SIGMA_MAX)) {
        goto out;
    }

    blur_taps_make(sigma, &taps);

    /*
     * Per thread: the row with radius + BLUR_OVERRUN pixels of padding on
     * each side, then the accumulator, each rounded up to cache lines.
     */
    n = (size_t)in->width * in->channels;
    elem = taps.fixed ? sizeof(uint16_t) : sizeof(float);
    plan = (struct blur_plan){
        .src = in->pixels,
        .src_stride = in->stride,
        .dst = out->pixels,
        .dst_stride = out->stride,
        .width = in->width,
        .height = in->height,
        .channels = in->channels,
        .line_bytes = blur_round_up(
            (n + 2 * ((size_t)taps.radius + BLUR_OVERRUN) * in->channels) *
            elem),
    };
    plan.slice_bytes = plan.line_bytes + blur_round_up(n * elem);

    rc = IMGFLOW_ENOMEM;
    scratch = aligned_alloc(BLUR_ALIGN, (size_t)threads * plan.slice_bytes);
    if (scratch == NULL) {
        goto out;
    }

    blur_kernel(&plan, &taps, threads, scratch);
    rc = 0;

out:
    free(scratch);
    return rc;
}

const struct algo algo_blur = {
    .name = "blur",
    .queue = "blur_processing",
    .description = "Gaussian blur of every channel, of standard deviation "
                   "sigma pixels.",
    .params = blur_params,
    .n_params = 1,
    .shape = blur_shape,
    .run = blur_run,
};
