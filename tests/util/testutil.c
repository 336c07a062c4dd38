/*
 * Helpers shared by the tests.
 * SPDX-License-Identifier: MIT
 */
#include "util/testutil.h"

#include "algo/algo.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint32_t
next_random(uint32_t *state)
{
    /* xorshift32: deterministic across platforms. */
    uint32_t x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static uint8_t
pattern_value(enum testutil_pattern p, uint32_t x, uint32_t y, int c,
              uint32_t w, uint32_t h, uint32_t *rng)
{
    double v;

    switch (p) {
    case TESTUTIL_GRADIENT:
        v = (c % 3 == 0)   ? 255.0 * x / (w > 1 ? w - 1 : 1)
            : (c % 3 == 1) ? 255.0 * y / (h > 1 ? h - 1 : 1)
                           : 255.0 * (x + y) / (w + h > 2 ? w + h - 2 : 1);
        if (c == 3) {
            v = 255.0 - v / 2.0;
        }
        return (uint8_t)lround(v);
    case TESTUTIL_CHECKER:
        return (((x / 8) + (y / 8) + (uint32_t)c) & 1) ? 255 : 0;
    case TESTUTIL_NOISE:
        return (uint8_t)(next_random(rng) >> 24);
    case TESTUTIL_PHOTO:
    default: {
        double cx = x - w * 0.4, cy = y - h * 0.6;
        double r = sqrt(cx * cx + cy * cy);

        v = 128.0 + 90.0 * sin(r / (7.0 + c * 3.0)) * cos(x / 23.0) +
            ((next_random(rng) >> 28) - 8.0);
        if (x > w / 2 && y < h / 3) {
            v = 40.0 + c * 60.0;
        }
        return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    }
}

void
testutil_image(struct image *img, enum testutil_pattern p, uint32_t width,
               uint32_t height, int channels, uint32_t seed)
{
    uint32_t rng = seed ? seed : 0x9e3779b9u;

    if (image_alloc(img, width, height, channels) != 0) {
        fprintf(stderr, "testutil_image: cannot allocate %ux%ux%d\n", width,
                height, channels);
        abort();
    }

    for (uint32_t y = 0; y < height; y++) {
        uint8_t *row = img->pixels + (size_t)y * img->stride;

        for (uint32_t x = 0; x < width; x++) {
            for (int c = 0; c < channels; c++) {
                row[(size_t)x * channels + c] =
                    pattern_value(p, x, y, c, width, height, &rng);
            }
        }
    }
}

void
testutil_image_alloc_padded(struct image *img, uint32_t width,
                            uint32_t height, int channels, size_t pad)
{
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->stride = (size_t)width * channels + pad;
    img->pixels = calloc(img->stride, height);
    if (img->pixels == NULL) {
        abort();
    }
}

void
testutil_image_padded(struct image *dst, const struct image *src, size_t pad)
{
    testutil_image_alloc_padded(dst, src->width, src->height, src->channels,
                                pad);
    memset(dst->pixels, 0xAB, dst->stride * dst->height);
    for (uint32_t y = 0; y < src->height; y++) {
        memcpy(dst->pixels + y * dst->stride, src->pixels + y * src->stride,
               (size_t)src->width * src->channels);
    }
}

uint8_t *
testutil_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;

    if (f == NULL) {
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        goto out;
    }

    buf = malloc((size_t)size + 1);
    if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out;
    }

    if (buf != NULL) {
        buf[size] = 0;
        *len = (size_t)size;
    }

out:
    fclose(f);
    return buf;
}

int
testutil_write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    int rc = 0;

    if (f == NULL) {
        return -1;
    }

    if (fwrite(buf, 1, len, f) != len) {
        rc = -1;
    }

    if (fclose(f) != 0) {
        rc = -1;
    }
    return rc;
}

const char *
testutil_shared_dir(void)
{
    const char *dir = getenv("IMGFLOW_SHARED");
    struct stat st;

    if (dir == NULL || dir[0] == '\0') {
        return NULL;
    }

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return NULL;
    }
    return dir;
}

/*
 * Every sample of got within tol of want; mean error at most mean_tol.
 * Reports the first sample that is off.
 */
void
testutil_assert_image_close(const struct image *got,
                            const struct image *want, int tol,
                            double mean_tol)
{
    double sum = 0;
    uint64_t n = 0;

    assert_int_equal(got->width, want->width);
    assert_int_equal(got->height, want->height);
    assert_int_equal(got->channels, want->channels);
    assert_true(got->stride >= (size_t)got->width * got->channels);
    for (uint32_t y = 0; y < want->height; y++) {
        for (uint32_t x = 0; x < want->width; x++) {
            for (int c = 0; c < want->channels; c++) {
                int g = got->pixels[y * got->stride +
                                    (size_t)x * got->channels + c];
                int w = want->pixels[y * want->stride +
                                     (size_t)x * want->channels + c];
                int d = abs(g - w);

                if (d > tol) {
                    fail_msg("pixel (%u,%u) channel %d is %d, want %d +-%d", x,
                             y, c, g, w, tol);
                }
                sum += d;
                n++;
            }
        }
    }

    if (sum / (double)n > mean_tol) {
        fail_msg("mean error %.2f is over %.2f", sum / (double)n, mean_tol);
    }
}

void
testutil_algo_run(const char *name, const struct image *in, int threads,
                  const char *param, double value, struct image *out)
{
    const struct algo *a = algo_find(name);
    struct algo_timing timing;
    struct algo_args args;

    assert_non_null(a);
    algo_args_default(a, &args);
    args.threads = threads;
    if (param != NULL) {
        assert_int_equal(algo_args_set(a, &args, param, value, NULL, 0), 0);
    }
    assert_int_equal(algo_execute(a, in, &args, out, &timing), 0);
}

void
testutil_algo_run_threads(const char *name, const struct image *in,
                          const int *threads, size_t n, const char *param,
                          double value, struct image *out)
{
    testutil_algo_run(name, in, threads[0], param, value, out);
    for (size_t t = 1; t < n; t++) {
        struct image other;

        testutil_algo_run(name, in, threads[t], param, value, &other);
        assert_memory_equal(other.pixels, out->pixels,
                            out->stride * out->height);
        image_free(&other);
    }
}
