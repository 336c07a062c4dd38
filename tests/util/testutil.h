/*
 * Helpers shared by the tests: synthetic images with known content, file
 * reading, and where the shared photos and corpus live.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_TESTS_TESTUTIL_H
#define IMGFLOW_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

enum testutil_pattern {
    TESTUTIL_GRADIENT,    /* smooth ramps, different per channel */
    TESTUTIL_CHECKER,     /* 8x8 checkerboard of 0 and 255 */
    TESTUTIL_NOISE,       /* seeded pseudo-random bytes */
    TESTUTIL_PHOTO        /* smooth shapes plus mild noise, photo-like */
};

/* Fill a freshly allocated image; aborts the test on failure. */
void testutil_image(struct image *img, enum testutil_pattern p,
                    uint32_t width, uint32_t height, int channels,
                    uint32_t seed);

/*
 * A copy of src whose rows are pad bytes longer than needed, the padding
 * filled with 0xAB so a kernel that ignores the stride shows. Release
 * with image_free().
 */
void testutil_image_padded(struct image *dst, const struct image *src,
                           size_t pad);

/* A zeroed image whose rows are pad bytes longer than needed. */
void testutil_image_alloc_padded(struct image *img, uint32_t width,
                                 uint32_t height, int channels, size_t pad);

/*
 * Assert (cmocka) that got has want's geometry, every sample within tol
 * of want's and a mean error of at most mean_tol; names the first sample
 * that is off.
 */
void testutil_assert_image_close(const struct image *got,
                                 const struct image *want, int tol,
                                 double mean_tol);

/*
 * Run the registry's algorithm name on in with threads threads and its
 * defaults, except param set to value when param is not NULL; *out gets
 * the result (the test frees it). Asserts (cmocka) that it succeeds.
 */
void testutil_algo_run(const char *name, const struct image *in, int threads,
                       const char *param, double value, struct image *out);

/*
 * The same on each of n thread counts, asserting that every output is
 * byte-identical; *out gets the first.
 */
void testutil_algo_run_threads(const char *name, const struct image *in,
                               const int *threads, size_t n,
                               const char *param, double value,
                               struct image *out);

/* Read a whole file (malloc'd, caller frees); NULL when it cannot. */
uint8_t *testutil_read_file(const char *path, size_t *len);

/* Write a whole file; 0 or -1. */
int testutil_write_file(const char *path, const void *buf, size_t len);

/*
 * The shared folder (photos in images/, hostile files in corpus/), from
 * IMGFLOW_SHARED or ../shared beside the source tree; NULL when absent.
 */
const char *testutil_shared_dir(void);

#endif
