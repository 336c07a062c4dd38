/*
 * Unit tests of src/algo/sobel.c: gradient magnitude against a plain
 * double computation on synthetic images of every channel count, on one
 * thread and many, plus hand-checked edges and borders.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo/algo.h"
#include "core/error.h"
#include "util/testutil.h"

static const uint32_t sizes[][2] = {
    {1, 1}, {1, 7}, {7, 1}, {3, 3}, {37, 23}, {640, 480},
};

static const enum testutil_pattern patterns[] = {
    TESTUTIL_GRADIENT,
    TESTUTIL_CHECKER,
    TESTUTIL_NOISE,
    TESTUTIL_PHOTO,
};

static const int thread_counts[] = {1, 2, 7};

#define N_ITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Luma of pixel (x, y) by the definition; gray input is taken as is. */
static int
reference_luma(const struct image *img, long x, long y)
{
    const uint8_t *px =
        img->pixels + (size_t)y * img->stride + (size_t)x * img->channels;

    if (img->channels < 3) {
        return px[0];
    }
    return (int)round(0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]);
}

static long
clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The Sobel magnitude at (x, y), edge pixels repeated, in doubles. */
static int
reference_sobel(const struct image *img, long x, long y)
{
    static const int kx[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};
    static const int ky[3][3] = {{-1, -2, -1}, {0, 0, 0}, {1, 2, 1}};
    double gx = 0.0, gy = 0.0, m;

    for (int j = -1; j <= 1; j++) {
        for (int i = -1; i <= 1; i++) {
            long sx = clamp(x + i, 0, (long)img->width - 1);
            long sy = clamp(y + j, 0, (long)img->height - 1);
            int v = reference_luma(img, sx, sy);

            gx += kx[j + 1][i + 1] * v;
            gy += ky[j + 1][i + 1] * v;
        }
    }

    m = round(sqrt(gx * gx + gy * gy));
    return m > 255.0 ? 255 : (int)m;
}

static void
run_sobel(const struct image *in, int threads, struct image *out)
{
    testutil_algo_run("sobel", in, threads, NULL, 0, out);
    assert_int_equal(out->channels, 1);
    assert_int_equal(out->width, in->width);
    assert_int_equal(out->height, in->height);
}

static void
check_against_reference(const struct image *in, const struct image *out)
{
    for (uint32_t y = 0; y < in->height; y++) {
        for (uint32_t x = 0; x < in->width; x++) {
            int got = out->pixels[(size_t)y * out->stride + x];

            if (got != reference_sobel(in, x, y)) {
                fail_msg("%ux%u/%d at (%u, %u): got %d, want %d", in->width,
                         in->height, in->channels, x, y, got,
                         reference_sobel(in, x, y));
            }
        }
    }
}

/* Left half 0, right half 255, in gray. */
static void
make_step(struct image *img, uint32_t width, uint32_t height, int channels)
{
    assert_int_equal(image_alloc(img, width, height, channels), 0);
    for (uint32_t y = 0; y < height; y++) {
        for (uint32_t x = 0; x < width; x++) {
            memset(img->pixels + y * img->stride + (size_t)x * channels,
                   x < width / 2 ? 0 : 255, (size_t)channels);
        }
    }
}

/*
 * At the step both columns see 4 * 255 = 1020, capped to 255; away from
 * it the image is flat, 0. Rows at the top and bottom repeat their
 * neighbours, so the edge runs through them too: no black border.
 */
static void
test_algo_sobel_vertical_step_edge_saturates(void **state)
{
    (void)state;
    for (int c = 1; c <= 4; c++) {
        struct image in, out;

        make_step(&in, 8, 5, c);
        run_sobel(&in, 2, &out);
        for (uint32_t y = 0; y < 5; y++) {
            for (uint32_t x = 0; x < 8; x++) {
                int want = (x == 3 || x == 4) ? 255 : 0;

                assert_int_equal(out.pixels[y * out.stride + x], want);
            }
        }
        image_free(&out);
        image_free(&in);
    }
}

/* A step of 10 grey levels: |gx| = 40 at both columns beside it. */
static void
test_algo_sobel_small_step_known_value(void **state)
{
    struct image in, out;

    (void)state;
    assert_int_equal(image_alloc(&in, 6, 4, 1), 0);
    for (uint32_t y = 0; y < 4; y++) {
        memset(in.pixels + y * in.stride, 100, 3);
        memset(in.pixels + y * in.stride + 3, 110, 3);
    }

    run_sobel(&in, 1, &out);
    for (uint32_t y = 0; y < 4; y++) {
        const uint8_t want[6] = {0, 0, 40, 40, 0, 0};

        assert_memory_equal(out.pixels + y * out.stride, want, 6);
    }
    image_free(&out);
    image_free(&in);
}

/* Flat images give 0 everywhere, borders included. */
static void
test_algo_sobel_flat_image_zero(void **state)
{
    (void)state;
    for (int c = 1; c <= 4; c++) {
        struct image in, out;

        assert_int_equal(image_alloc(&in, 9, 6, c), 0);
        memset(in.pixels, 173, in.stride * in.height);
        run_sobel(&in, 2, &out);
        for (size_t i = 0; i < out.stride * out.height; i++) {
            assert_int_equal(out.pixels[i], 0);
        }
        image_free(&out);
        image_free(&in);
    }
}

/* Every pattern, size and channel count; identical on every thread count. */
static void
test_algo_sobel_patterns_exact_any_threads(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_ITEMS(patterns); p++) {
        for (size_t s = 0; s < N_ITEMS(sizes); s++) {
            for (int c = 1; c <= 4; c++) {
                struct image in, first;

                testutil_image(&in, patterns[p], sizes[s][0], sizes[s][1], c,
                               (uint32_t)(p * 100 + s * 10 + c));
                testutil_algo_run_threads("sobel", &in, thread_counts,
                                          N_ITEMS(thread_counts), NULL, 0,
                                          &first);
                check_against_reference(&in, &first);
                image_free(&first);
                image_free(&in);
            }
        }
    }
}

/*
 * Many unrelated 3x3 neighbourhoods: a 3-row gray image of random
 * columns with random contrast, so that gx and gy cover their whole
 * range, magnitudes near every rounding boundary included.
 */
static void
test_algo_sobel_random_neighbourhoods_exact(void **state)
{
    struct image in, out;
    uint32_t rng = 12345;

    (void)state;
    assert_int_equal(image_alloc(&in, 60000, 3, 1), 0);
    for (size_t i = 0; i < in.stride * in.height; i++) {
        rng = rng * 1664525u + 1013904223u;
        in.pixels[i] = (uint8_t)((rng >> 24) & ((rng >> 8) & 1 ? 0xFF : 0x3F));
    }

    run_sobel(&in, 2, &out);
    check_against_reference(&in, &out);
    image_free(&out);
    image_free(&in);
}

/*
 * A 3x3 gray block whose centre has gx = x and gy = y, for x >= y >= 0,
 * x + y even and at most 1530 (every pair an image can give, up to sign
 * and order): top right a, middle right b, bottom left c, bottom middle
 * k, bottom right d, so gx = a + 2b + d - c and gy = c + 2k + d - a.
 */
static void
gradient_block(int x, int y, uint8_t blk[3][3])
{
    int p = (x + y) / 2, q = (x - y) / 2;

    for (int b = 0; b <= 255 && b <= p; b++) {
        int d = p - b < 255 ? p - b : 255;
        int k = p - b - d;
        int e = q - b + k;

        if (k > 255 || e < -255 || e > 255) {
            continue;
        }
        memset(blk, 0, 9);
        blk[0][2] = (uint8_t)(e > 0 ? e : 0);
        blk[2][0] = (uint8_t)(e < 0 ? -e : 0);
        blk[1][2] = (uint8_t)b;
        blk[2][1] = (uint8_t)k;
        blk[2][2] = (uint8_t)d;
        return;
    }
    fail_msg("no block for gx %d, gy %d", x, y);
}

/* Variant v (0..7) of a block: mirrored, flipped and transposed. */
static uint8_t
block_at(uint8_t blk[3][3], int v, int row, int col)
{
    if (v & 1) {
        col = 2 - col;
    }
    if (v & 2) {
        row = 2 - row;
    }
    return v & 4 ? blk[col][row] : blk[row][col];
}

/*
 * Every gradient a 3x3 neighbourhood can produce, with every sign and
 * both orders, each in its own block of a 3-row image: the magnitude is
 * compared at every block centre with the double reference and with
 * hypot() of the intended pair.
 */
static void
test_algo_sobel_every_gradient_exact(void **state)
{
    struct image in, out;
    size_t blocks = 0, j = 0;

    (void)state;
    for (int x = 0; x <= 1020; x++) {
        for (int y = x % 2; y <= x && x + y <= 1530; y += 2) {
            blocks += 8;
        }
    }

    assert_int_equal(image_alloc(&in, (uint32_t)(blocks * 3), 3, 1), 0);
    for (int x = 0; x <= 1020; x++) {
        for (int y = x % 2; y <= x && x + y <= 1530; y += 2) {
            uint8_t blk[3][3] = {{0}};

            gradient_block(x, y, blk);
            for (int v = 0; v < 8; v++, j++) {
                for (int r = 0; r < 3; r++) {
                    for (int c = 0; c < 3; c++) {
                        in.pixels[r * in.stride + j * 3 + c] =
                            block_at(blk, v, r, c);
                    }
                }
            }
        }
    }

    run_sobel(&in, 2, &out);
    j = 0;
    for (int x = 0; x <= 1020; x++) {
        for (int y = x % 2; y <= x && x + y <= 1530; y += 2) {
            double m = round(hypot(x, y));
            int want = m > 255.0 ? 255 : (int)m;

            for (int v = 0; v < 8; v++, j++) {
                int got = out.pixels[out.stride + j * 3 + 1];

                assert_int_equal(got, want);
                assert_int_equal(got, reference_sobel(&in, (long)j * 3 + 1, 1));
            }
        }
    }
    image_free(&out);
    image_free(&in);
}

/* Alpha does not take part: RGBA gives what its RGB gives. */
static void
test_algo_sobel_alpha_ignored(void **state)
{
    struct image rgba, rgb, a_out, b_out;

    (void)state;
    testutil_image(&rgba, TESTUTIL_PHOTO, 37, 23, 4, 9);
    assert_int_equal(image_alloc(&rgb, 37, 23, 3), 0);
    for (size_t i = 0; i < (size_t)37 * 23; i++) {
        memcpy(rgb.pixels + i * 3, rgba.pixels + i * 4, 3);
        rgba.pixels[i * 4 + 3] = (uint8_t)(i * 37);
    }

    run_sobel(&rgba, 2, &a_out);
    run_sobel(&rgb, 2, &b_out);
    assert_memory_equal(a_out.pixels, b_out.pixels, b_out.stride * 23);
    image_free(&a_out);
    image_free(&b_out);
    image_free(&rgb);
    image_free(&rgba);
}

/* Rows padded past width * channels: the kernel must follow the stride. */
static void
test_algo_sobel_padded_stride_exact(void **state)
{
    const struct algo *a = algo_find("sobel");
    struct image tight, in, out;
    double values[ALGO_MAX_PARAMS] = {0};

    (void)state;
    testutil_image(&tight, TESTUTIL_NOISE, 37, 23, 3, 5);
    testutil_image_padded(&in, &tight, 13);
    testutil_image_alloc_padded(&out, 37, 23, 1, 5);
    assert_int_equal(a->run(&in, &out, values, 3), 0);
    check_against_reference(&in, &out);

    image_free(&out);
    image_free(&in);
    image_free(&tight);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_algo_sobel_vertical_step_edge_saturates),
        cmocka_unit_test(test_algo_sobel_small_step_known_value),
        cmocka_unit_test(test_algo_sobel_flat_image_zero),
        cmocka_unit_test(test_algo_sobel_patterns_exact_any_threads),
        cmocka_unit_test(test_algo_sobel_random_neighbourhoods_exact),
        cmocka_unit_test(test_algo_sobel_every_gradient_exact),
        cmocka_unit_test(test_algo_sobel_alpha_ignored),
        cmocka_unit_test(test_algo_sobel_padded_stride_exact),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
