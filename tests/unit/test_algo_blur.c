/*
 * Unit tests of src/algo/blur.c: the separable blur against a plain
 * two-dimensional double convolution (within 1 grey level) on synthetic
 * images of every channel count, on one thread and many, small and
 * large sigmas, kernels wider than the image.
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

static const double sigmas[] = {0.1, 0.5, 2.0, 7.5};

static const int thread_counts[] = {1, 2, 7};

#define N_ITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Largest radius the reference handles: ceil(3 * 50). */
#define REF_RADIUS_MAX 150

/* Normalised 1-D Gaussian, w[k + r] for k = -r..r; returns r. */
static int
reference_weights(double sigma, double *w)
{
    int r = (int)ceil(3.0 * sigma);
    double total = 0.0;

    for (int k = -r; k <= r; k++) {
        w[k + r] = exp(-(double)(k * k) / (2.0 * sigma * sigma));
        total += w[k + r];
    }
    for (int k = -r; k <= r; k++) {
        w[k + r] /= total;
    }
    return r;
}

static long
clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Channel c of (x, y) blurred in two dimensions, edge pixels repeated. */
static double
reference_blur(const struct image *img, const double *w, int r, long x, long y,
               int c)
{
    double sum = 0.0;

    for (int dy = -r; dy <= r; dy++) {
        long sy = clamp(y + dy, 0, (long)img->height - 1);

        for (int dx = -r; dx <= r; dx++) {
            long sx = clamp(x + dx, 0, (long)img->width - 1);
            uint8_t v = img->pixels[(size_t)sy * img->stride +
                                    (size_t)sx * img->channels + c];

            sum += w[dy + r] * w[dx + r] * v;
        }
    }
    return sum;
}

/* Large images are checked on every ninth row and column plus edges. */
static int
sampled(long i, long n)
{
    return n <= 64 || i % 9 == 0 || i < 3 || i >= n - 3;
}

static void
run_blur(const struct image *in, double sigma, int threads, struct image *out)
{
    testutil_algo_run("blur", in, threads, "sigma", sigma, out);
    assert_int_equal(out->width, in->width);
    assert_int_equal(out->height, in->height);
    assert_int_equal(out->channels, in->channels);
}

static void
check_against_reference(const struct image *in, const struct image *out,
                        double sigma)
{
    static double w[2 * REF_RADIUS_MAX + 1];
    int r = reference_weights(sigma, w);

    for (long y = 0; y < (long)in->height; y++) {
        if (!sampled(y, in->height)) {
            continue;
        }
        for (long x = 0; x < (long)in->width; x++) {
            if (!sampled(x, in->width)) {
                continue;
            }
            for (int c = 0; c < in->channels; c++) {
                double want = round(reference_blur(in, w, r, x, y, c));
                int got = out->pixels[(size_t)y * out->stride +
                                      (size_t)x * out->channels + c];

                if (fabs(got - want) > 1.0) {
                    fail_msg("%ux%u/%d sigma %g at (%ld, %ld, %d): got %d, "
                             "want %.0f",
                             in->width, in->height, in->channels, sigma, x, y,
                             c, got, want);
                }
            }
        }
    }
}

/* Blur in with sigma on every thread count; check and compare them. */
static void
check_image(const struct image *in, double sigma)
{
    struct image first;

    testutil_algo_run_threads("blur", in, thread_counts, N_ITEMS(thread_counts),
                              "sigma", sigma, &first);
    check_against_reference(in, &first, sigma);
    image_free(&first);
}

/* Every pattern, size, channel count (alpha blurred too) and sigma. */
static void
test_algo_blur_patterns_within_one_any_threads(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_ITEMS(patterns); p++) {
        for (size_t s = 0; s < N_ITEMS(sizes); s++) {
            for (int c = 1; c <= 4; c++) {
                struct image in;

                testutil_image(&in, patterns[p], sizes[s][0], sizes[s][1], c,
                               (uint32_t)(p * 100 + s * 10 + c));
                for (size_t g = 0; g < N_ITEMS(sigmas); g++) {
                    check_image(&in, sigmas[g]);
                }
                image_free(&in);
            }
        }
    }
}

/* Radius 30 on a 5x5 image: every tap past the edge repeats it. */
static void
test_algo_blur_radius_past_image_within_one(void **state)
{
    (void)state;
    for (size_t p = 0; p < N_ITEMS(patterns); p++) {
        for (int c = 1; c <= 4; c++) {
            struct image in;

            testutil_image(&in, patterns[p], 5, 5, c, (uint32_t)(p + c));
            check_image(&in, 10.0);
            image_free(&in);
        }
    }
}

/*
 * Sigmas around the switch from fixed-point to float passes (radius 40
 * and 41) and up to the maximum, radius 150.
 */
static void
test_algo_blur_wide_sigmas_within_one(void **state)
{
    static const double wide[] = {13.3, 13.4, 20.0, 50.0};

    (void)state;
    for (size_t g = 0; g < N_ITEMS(wide); g++) {
        for (int c = 1; c <= 4; c += 3) {
            struct image in;

            testutil_image(&in, TESTUTIL_NOISE, 37, 23, c, (uint32_t)g);
            check_image(&in, wide[g]);
            image_free(&in);
            testutil_image(&in, TESTUTIL_CHECKER, 61, 9, c, 0);
            check_image(&in, wide[g]);
            image_free(&in);
        }
    }
}

/* A flat image stays exactly as it is, for every level and sigma. */
static void
test_algo_blur_flat_image_unchanged(void **state)
{
    static const double some[] = {0.1, 0.5, 1.0, 2.0, 7.5, 13.3, 20.0};

    (void)state;
    for (size_t g = 0; g < N_ITEMS(some); g++) {
        for (int level = 0; level < 256; level++) {
            struct image in, out;

            assert_int_equal(image_alloc(&in, 9, 9, 2), 0);
            memset(in.pixels, level, in.stride * in.height);
            run_blur(&in, some[g], 2, &out);
            for (size_t i = 0; i < out.stride * out.height; i++) {
                assert_int_equal(out.pixels[i], level);
            }
            image_free(&out);
            image_free(&in);
        }
    }
}

/* Sigma outside 0.1..50 is refused by the kernel itself too. */
static void
test_algo_blur_kernel_bad_sigma_refused(void **state)
{
    const struct algo *a = algo_find("blur");
    struct image in, out;
    double values[ALGO_MAX_PARAMS] = {0};

    (void)state;
    testutil_image(&in, TESTUTIL_NOISE, 7, 7, 3, 1);
    assert_int_equal(image_alloc(&out, 7, 7, 3), 0);
    values[0] = 0.05;
    assert_int_equal(a->run(&in, &out, values, 1), IMGFLOW_EINVAL);
    values[0] = 51.0;
    assert_int_equal(a->run(&in, &out, values, 1), IMGFLOW_EINVAL);
    values[0] = NAN;
    assert_int_equal(a->run(&in, &out, values, 1), IMGFLOW_EINVAL);
    image_free(&out);
    image_free(&in);
}

/* Rows padded past width * channels: the kernel must follow the stride. */
static void
test_algo_blur_padded_stride_within_one(void **state)
{
    const struct algo *a = algo_find("blur");
    struct image tight, in, out;
    double values[ALGO_MAX_PARAMS] = {2.0};

    (void)state;
    testutil_image(&tight, TESTUTIL_PHOTO, 37, 23, 3, 5);
    testutil_image_padded(&in, &tight, 13);
    testutil_image_alloc_padded(&out, 37, 23, 3, 5);
    assert_int_equal(a->run(&in, &out, values, 3), 0);
    check_against_reference(&in, &out, 2.0);

    image_free(&out);
    image_free(&in);
    image_free(&tight);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_algo_blur_patterns_within_one_any_threads),
        cmocka_unit_test(test_algo_blur_radius_past_image_within_one),
        cmocka_unit_test(test_algo_blur_wide_sigmas_within_one),
        cmocka_unit_test(test_algo_blur_flat_image_unchanged),
        cmocka_unit_test(test_algo_blur_kernel_bad_sigma_refused),
        cmocka_unit_test(test_algo_blur_padded_stride_within_one),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
