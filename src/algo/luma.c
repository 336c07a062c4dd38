/*
 * Luma of a row of RGB or RGBA pixels, shared by the grayscale and Sobel
 * kernels. Exact integer arithmetic on 16-bit lanes, so that GCC can
 * vectorise it, and double arithmetic for the rare exact halves.
 * SPDX-License-Identifier: MIT
 */
#include "algo/algo_int.h"

#include <math.h>
#include <string.h>

/*
 * Pixels converted per step, a multiple of 64; the tie marks of one step
 * live on the stack.
 */
#define LUMA_SPAN 512

/*
 * The definition of luma: the double sum, rounded half away from zero.
 * Kept out of line so that it is built once, with the flags the rest of
 * the project (and the tests' reference) uses: inlined into an ALGO__HOT
 * clone with FMA, GCC could fuse a multiply and an add and round the sum
 * differently.
 */
__attribute__((noinline)) static uint8_t
luma_double(const uint8_t *px)
{
    return (uint8_t)round(0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]);
}

/*
 * Luma of n pixels in integers. With S = 299 R + 587 G + 114 B, luma is
 * floor((S + 500) / 1000) unless S + 500 is a multiple of 1000: then the
 * real value is exactly k + 0.5 and the double sum lands a hair above or
 * below it (about 1 in 5 such pixels rounds down), so those pixels are
 * marked in tie[] for luma_double().
 *
 * S + 500 needs 18 bits, so it is split as 8 m + (low & 7) where
 * low = 3 R + 3 G + 2 B + 4 and m = 37 R + 73 G + 14 B + 62 + (low >> 3);
 * m <= 31937, so everything stays in 16 bits, and luma = m / 125.
 * 125 divides m exactly when m times 30933 (the inverse of 125 modulo
 * 2^16) is at most 65535 / 125 = 524 modulo 2^16.
 */
static inline __attribute__((always_inline)) void
luma_span(const uint8_t *restrict src, int channels, size_t n,
          uint8_t *restrict dst, int out_channels, uint8_t *restrict tie)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *px = src + i * channels;
        uint16_t r = px[0], g = px[1], b = px[2];
        uint16_t low = (uint16_t)(3 * r + 3 * g + 2 * b + 4);
        uint16_t m = (uint16_t)(37 * r + 73 * g + 14 * b + 62 + (low >> 3));

        dst[i * out_channels] = (uint8_t)(m / 125);
        if (out_channels == 2) {
            dst[i * 2 + 1] = px[3];
        }
        tie[i] = (uint8_t)(((low & 7) == 0) & ((uint16_t)(m * 30933u) <= 524));
    }
}

/*
 * Recompute the marked pixels among the first n. Marks are rare (about
 * one pixel in a thousand on noise, far fewer on photos), so blocks of
 * 64 are tested at once, which GCC vectorises, then 8 at a time. tie[]
 * must be readable up to n rounded up to 64, with zeros past n.
 */
static inline __attribute__((always_inline)) void
luma_fix_ties(const uint8_t *src, int channels, size_t n, uint8_t *dst,
              int out_channels, const uint8_t *tie)
{
    for (size_t b = 0; b < n; b += 64) {
        uint8_t any = 0;

        for (size_t i = b; i < b + 64; i++) {
            any |= tie[i];
        }
        if (any == 0) {
            continue;
        }

        for (size_t i = b; i < b + 64; i += 8) {
            uint64_t word;

            memcpy(&word, tie + i, 8);
            for (size_t j = i; word != 0 && j < i + 8; j++) {
                if (tie[j]) {
                    dst[j * out_channels] = luma_double(src + j * channels);
                }
            }
        }
    }
}

/* Constant channel counts let GCC specialise each loop. */
static inline __attribute__((always_inline)) void
luma_color(const uint8_t *src, int channels, size_t width, uint8_t *dst,
           int out_channels)
{
    uint8_t tie[LUMA_SPAN];

    for (size_t x = 0; x < width; x += LUMA_SPAN) {
        size_t n = width - x < LUMA_SPAN ? width - x : LUMA_SPAN;
        const uint8_t *s = src + x * channels;
        uint8_t *d = dst + x * out_channels;

        luma_span(s, channels, n, d, out_channels, tie);
        memset(tie + n, 0, LUMA_SPAN - n);
        luma_fix_ties(s, channels, n, d, out_channels, tie);
    }
}

ALGO__HOT static void
luma_rgb(const uint8_t *src, size_t width, uint8_t *dst)
{
    luma_color(src, 3, width, dst, 1);
}

ALGO__HOT static void
luma_rgba(const uint8_t *src, size_t width, uint8_t *dst)
{
    luma_color(src, 4, width, dst, 1);
}

ALGO__HOT static void
luma_rgba_alpha(const uint8_t *src, size_t width, uint8_t *dst)
{
    luma_color(src, 4, width, dst, 2);
}

static void
luma_first_channel(const uint8_t *restrict src, size_t width,
                   uint8_t *restrict dst)
{
    for (size_t x = 0; x < width; x++) {
        dst[x] = src[x * 2];
    }
}

/* Luma of one row; see algo_int.h. */
void
algo__luma_row(const uint8_t *src, int channels, size_t width, uint8_t *dst,
               int keep_alpha)
{
    switch (channels) {
    case 1:
        memcpy(dst, src, width);
        break;
    case 2:
        luma_first_channel(src, width, dst);
        break;
    case 3:
        luma_rgb(src, width, dst);
        break;
    default:
        if (keep_alpha) {
            luma_rgba_alpha(src, width, dst);
        } else {
            luma_rgba(src, width, dst);
        }
        break;
    }
}
