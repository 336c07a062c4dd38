/*
 * Unit tests of src/algo/grayscale.c: luma against a plain double
 * computation for every RGB value and on synthetic images of every
 * channel count, on one thread and many; alpha and gray pass-through.
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

/* The definition, written out as plainly as possible. */
static uint8_t
reference_luma(int r, int g, int b)
{
    return (uint8_t)round(0.299 * r + 0.587 * g + 0.114 * b);
}

/* Run grayscale on in with the given thread count; out is allocated. */
static void
run_grayscale(const struct image *in, int threads, struct image *out)
{
    testutil_algo_run("grayscale", in, threads, NULL, 0, out);
}

/* Output channels: RGB gives gray, RGBA gray+alpha, gray stays. */
static int
expected_channels(int in_channels)
{
    if (in_channels == 3) {
        return 1;
    }
    return in_channels == 4 ? 2 : in_channels;
}

/* Compare out with the reference for in, pixel by pixel. */
static void
check_against_reference(const struct image *in, const struct image *out)
{
    assert_int_equal(out->width, in->width);
    assert_int_equal(out->height, in->height);
    assert_int_equal(out->channels, expected_channels(in->channels));

    for (uint32_t y = 0; y < in->height; y++) {
        const uint8_t *s = in->pixels + y * in->stride;
        const uint8_t *d = out->pixels + y * out->stride;

        for (uint32_t x = 0; x < in->width; x++) {
            const uint8_t *px = s + (size_t)x * in->channels;
            const uint8_t *q = d + (size_t)x * out->channels;

            if (in->channels < 3) {
                assert_memory_equal(q, px, (size_t)in->channels);
                continue;
            }

            assert_int_equal(q[0], reference_luma(px[0], px[1], px[2]));
            if (in->channels == 4) {
                assert_int_equal(q[1], px[3]);
            }
        }
    }
}

static void
check_single_pixel(uint8_t r, uint8_t g, uint8_t b, uint8_t want)
{
    struct image in, out;

    assert_int_equal(image_alloc(&in, 1, 1, 3), 0);
    in.pixels[0] = r;
    in.pixels[1] = g;
    in.pixels[2] = b;
    run_grayscale(&in, 1, &out);
    assert_int_equal(out.pixels[0], want);
    image_free(&out);
    image_free(&in);
}

static void
test_algo_grayscale_primaries_known_values(void **state)
{
    (void)state;
    check_single_pixel(255, 0, 0, 76);
    check_single_pixel(0, 255, 0, 150);
    check_single_pixel(0, 0, 255, 29);
    check_single_pixel(255, 255, 255, 255);
    check_single_pixel(0, 0, 0, 0);
    check_single_pixel(128, 128, 128, 128);
}

/*
 * 36 G + 12 B is exactly 22.5 in real numbers, but the double sum is
 * 22.499999999999996, so the definition gives 22; 0.114 * 250 = 28.5
 * comes out as 28.5 or above and gives 29.
 */
static void
test_algo_grayscale_exact_halves_follow_double(void **state)
{
    (void)state;
    check_single_pixel(0, 36, 12, reference_luma(0, 36, 12));
    assert_int_equal(reference_luma(0, 36, 12), 22);
    check_single_pixel(0, 0, 250, reference_luma(0, 0, 250));
    check_single_pixel(0, 80, 110, reference_luma(0, 80, 110));
}

/*
 * All 2^24 colours in one 4096 x 4096 image, on two threads, as RGB and
 * as RGBA with every alpha value.
 */
static void
test_algo_grayscale_every_rgb_value_exact(void **state)
{
    (void)state;
    for (int c = 3; c <= 4; c++) {
        struct image in, out;

        assert_int_equal(image_alloc(&in, 4096, 4096, c), 0);
        for (uint32_t i = 0; i < 4096u * 4096u; i++) {
            uint8_t *px = in.pixels + (size_t)i * c;

            px[0] = (uint8_t)(i >> 16);
            px[1] = (uint8_t)(i >> 8);
            px[2] = (uint8_t)i;
            if (c == 4) {
                px[3] = (uint8_t)(i * 7 + 3);
            }
        }

        run_grayscale(&in, 2, &out);
        check_against_reference(&in, &out);
        image_free(&out);
        image_free(&in);
    }
}

/* Every pattern, size and channel count; identical on every thread count. */
static void
test_algo_grayscale_patterns_exact_any_threads(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_ITEMS(patterns); p++) {
        for (size_t s = 0; s < N_ITEMS(sizes); s++) {
            for (int c = 1; c <= 4; c++) {
                struct image in, first;

                testutil_image(&in, patterns[p], sizes[s][0], sizes[s][1], c,
                               (uint32_t)(p * 100 + s * 10 + c));
                testutil_algo_run_threads("grayscale", &in, thread_counts,
                                          N_ITEMS(thread_counts), NULL, 0,
                                          &first);
                check_against_reference(&in, &first);
                image_free(&first);
                image_free(&in);
            }
        }
    }
}

/* Rows padded past width * channels: the kernel must follow the stride. */
static void
test_algo_grayscale_padded_stride_exact(void **state)
{
    const struct algo *a = algo_find("grayscale");
    struct image tight, in, out;
    double values[ALGO_MAX_PARAMS] = {0};

    (void)state;
    testutil_image(&tight, TESTUTIL_NOISE, 37, 23, 4, 5);
    testutil_image_padded(&in, &tight, 13);
    testutil_image_alloc_padded(&out, 37, 23, 2, 5);
    assert_int_equal(a->run(&in, &out, values, 3), 0);
    check_against_reference(&in, &out);

    image_free(&out);
    image_free(&in);
    image_free(&tight);
}

static void
test_algo_grayscale_shape_keeps_alpha(void **state)
{
    const struct algo *a = algo_find("grayscale");
    (void)state;
    for (int c = 1; c <= 4; c++) {
        struct image in = {.width = 5, .height = 4, .channels = c};
        uint32_t w, h;
        int oc;

        assert_int_equal(a->shape(&in, NULL, &w, &h, &oc), 0);
        assert_int_equal(w, 5);
        assert_int_equal(h, 4);
        assert_int_equal(oc, expected_channels(c));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_algo_grayscale_primaries_known_values),
        cmocka_unit_test(test_algo_grayscale_exact_halves_follow_double),
        cmocka_unit_test(test_algo_grayscale_every_rgb_value_exact),
        cmocka_unit_test(test_algo_grayscale_patterns_exact_any_threads),
        cmocka_unit_test(test_algo_grayscale_padded_stride_exact),
        cmocka_unit_test(test_algo_grayscale_shape_keeps_alpha),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
