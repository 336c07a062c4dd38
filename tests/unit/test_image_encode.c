/*
 * Unit tests for src/image encoding: PNG round trips for every channel
 * count, level and filter; JPEG and WebP round trips within a tolerance;
 * the PNG header the encoder writes; and refusals of bad images and
 * options.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"
#include "util/testutil.h"

/* The first channels of src, as a packed image of their own. */
static void
take_channels(const struct image *src, int channels, struct image *out)
{
    assert_int_equal(image_alloc(out, src->width, src->height, channels), 0);
    for (uint32_t y = 0; y < src->height; y++) {
        for (uint32_t x = 0; x < src->width; x++) {
            memcpy(out->pixels + y * out->stride + (size_t)x * channels,
                   src->pixels + y * src->stride + (size_t)x * src->channels,
                   (size_t)channels);
        }
    }
}

static void
encode_ok(const struct image *img, enum image_format fmt,
          const struct image_encode_opts *opts, uint8_t **out, size_t *len)
{
    char err[256];

    if (image_encode(img, fmt, opts, out, len, err, sizeof(err)) != 0) {
        fail_msg("encode %s: %s", image_format_name(fmt), err);
    }
    assert_non_null(*out);
    assert_true(*len > 0);
    assert_int_equal(image_detect(*out, *len), fmt);
}

static void
decode_ok(const uint8_t *buf, size_t len, struct image *img)
{
    char err[256];

    if (image_decode(buf, len, NULL, img, err, sizeof(err)) != 0) {
        fail_msg("decode: %s", err);
    }
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void
test_image_encode_opts_default_values(void **state)
{
    struct image_encode_opts opts;

    (void)state;
    image_encode_opts_default(&opts);
    assert_int_equal(opts.png_level, 2);
    assert_int_equal(opts.png_filter, 2);
    assert_int_equal(opts.jpeg_quality, 90);
}

static void
test_image_encode_png_every_channel_count_exact(void **state)
{
    static const enum testutil_pattern patterns[] = {
        TESTUTIL_GRADIENT, TESTUTIL_CHECKER, TESTUTIL_NOISE, TESTUTIL_PHOTO};
    /* IHDR colour types for 1..4 channels. */
    static const uint8_t color_types[5] = {0, 0, 4, 2, 6};

    (void)state;
    for (int ch = 1; ch <= 4; ch++) {
        for (size_t p = 0; p < sizeof(patterns) / sizeof(*patterns); p++) {
            struct image src, back;
            uint8_t *png;
            size_t len;

            testutil_image(&src, patterns[p], 67, 41, ch, 11);
            encode_ok(&src, IMAGE_FORMAT_PNG, NULL, &png, &len);

            /* IHDR: width, height, depth 8, colour type, no interlace. */
            assert_memory_equal(png + 12, "IHDR", 4);
            assert_int_equal(be32(png + 16), 67);
            assert_int_equal(be32(png + 20), 41);
            assert_int_equal(png[24], 8);
            assert_int_equal(png[25], color_types[ch]);
            assert_int_equal(png[28], 0);

            decode_ok(png, len, &back);
            testutil_assert_image_close(&back, &src, 0, 0.0);
            image_free(&back);
            image_free(&src);
            free(png);
        }
    }
}

static void
test_image_encode_png_levels_and_filters_exact(void **state)
{
    struct image src, back, smooth;
    struct image_encode_opts opts;
    size_t len, len0, len9;
    uint8_t *png;

    (void)state;
    testutil_image(&src, TESTUTIL_PHOTO, 120, 90, 3, 5);
    image_encode_opts_default(&opts);
    for (int level = 0; level <= 9; level++) {
        for (int filter = -1; filter <= 4; filter++) {
            opts.png_level = level;
            opts.png_filter = filter;
            encode_ok(&src, IMAGE_FORMAT_PNG, &opts, &png, &len);
            decode_ok(png, len, &back);
            testutil_assert_image_close(&back, &src, 0, 0.0);
            image_free(&back);
            free(png);
        }
    }

    /* Level 0 stores the data; level 9 must shrink a smooth image. */
    testutil_image(&smooth, TESTUTIL_GRADIENT, 120, 90, 3, 5);
    opts.png_filter = -1;
    opts.png_level = 0;
    encode_ok(&smooth, IMAGE_FORMAT_PNG, &opts, &png, &len0);
    free(png);
    opts.png_level = 9;
    encode_ok(&smooth, IMAGE_FORMAT_PNG, &opts, &png, &len9);
    free(png);
    assert_true(len0 > (size_t)120 * 90 * 3);
    assert_true(len9 < len0 / 4);
    image_free(&smooth);
    image_free(&src);
}

/* A stride wider than the row, as a kernel's padded output would have. */
static void
test_image_encode_png_padded_stride_exact(void **state)
{
    struct image src, padded, back;
    uint8_t *png;
    size_t len;

    (void)state;
    testutil_image(&src, TESTUTIL_NOISE, 33, 17, 3, 9);
    padded = src;
    padded.stride = 33 * 3 + 13;
    padded.pixels = malloc(padded.stride * 17);
    assert_non_null(padded.pixels);
    memset(padded.pixels, 0xab, padded.stride * 17);
    for (uint32_t y = 0; y < 17; y++) {
        memcpy(padded.pixels + y * padded.stride, src.pixels + y * src.stride,
               33 * 3);
    }

    encode_ok(&padded, IMAGE_FORMAT_PNG, NULL, &png, &len);
    decode_ok(png, len, &back);
    testutil_assert_image_close(&back, &src, 0, 0.0);
    image_free(&back);
    free(png);

    encode_ok(&padded, IMAGE_FORMAT_JPEG, NULL, &png, &len);
    decode_ok(png, len, &back);
    assert_int_equal(back.width, 33);
    image_free(&back);
    free(png);
    free(padded.pixels);
    image_free(&src);
}

static void
test_image_encode_jpeg_rgb_close(void **state)
{
    struct image src, back;
    uint8_t *jpeg;
    size_t len;

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 96, 64, 3, 1);
    encode_ok(&src, IMAGE_FORMAT_JPEG, NULL, &jpeg, &len);
    decode_ok(jpeg, len, &back);
    testutil_assert_image_close(&back, &src, 16, 2.0);
    image_free(&back);
    image_free(&src);
    free(jpeg);
}

static void
test_image_encode_jpeg_gray_stays_gray(void **state)
{
    struct image src, back;
    uint8_t *jpeg;
    size_t len;

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 96, 64, 1, 1);
    encode_ok(&src, IMAGE_FORMAT_JPEG, NULL, &jpeg, &len);
    decode_ok(jpeg, len, &back);
    assert_int_equal(back.channels, 1);
    testutil_assert_image_close(&back, &src, 6, 1.0);
    image_free(&back);
    image_free(&src);
    free(jpeg);
}

/* JPEG has no alpha: RGBA comes back RGB, gray+alpha comes back gray. */
static void
test_image_encode_jpeg_alpha_dropped(void **state)
{
    struct image src, want, back;
    uint8_t *jpeg;
    size_t len;

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 64, 48, 4, 1);
    take_channels(&src, 3, &want);
    encode_ok(&src, IMAGE_FORMAT_JPEG, NULL, &jpeg, &len);
    decode_ok(jpeg, len, &back);
    testutil_assert_image_close(&back, &want, 16, 2.0);
    image_free(&back);
    image_free(&want);
    image_free(&src);
    free(jpeg);

    testutil_image(&src, TESTUTIL_GRADIENT, 64, 48, 2, 1);
    take_channels(&src, 1, &want);
    encode_ok(&src, IMAGE_FORMAT_JPEG, NULL, &jpeg, &len);
    decode_ok(jpeg, len, &back);
    testutil_assert_image_close(&back, &want, 6, 1.0);
    image_free(&back);
    image_free(&want);
    image_free(&src);
    free(jpeg);
}

static void
test_image_encode_jpeg_quality_changes_size(void **state)
{
    struct image src, back;
    struct image_encode_opts opts;
    uint8_t *low, *high;
    size_t low_len, high_len;

    (void)state;
    testutil_image(&src, TESTUTIL_PHOTO, 128, 96, 3, 4);
    image_encode_opts_default(&opts);
    opts.jpeg_quality = 20;
    encode_ok(&src, IMAGE_FORMAT_JPEG, &opts, &low, &low_len);
    opts.jpeg_quality = 98;
    encode_ok(&src, IMAGE_FORMAT_JPEG, &opts, &high, &high_len);
    assert_true(low_len * 2 < high_len);

    /* 4:2:0 smears colour across the photo's sharp block edges. */
    decode_ok(high, high_len, &back);
    testutil_assert_image_close(&back, &src, 255, 4.0);
    image_free(&back);
    image_free(&src);
    free(low);
    free(high);
}

static void
test_image_encode_webp_round_trip_close(void **state)
{
    struct image src, back, gray, want;
    uint8_t *webp;
    size_t len;

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 64, 48, 3, 1);
    encode_ok(&src, IMAGE_FORMAT_WEBP, NULL, &webp, &len);
    decode_ok(webp, len, &back);
    testutil_assert_image_close(&back, &src, 24, 3.0);
    image_free(&back);
    free(webp);
    image_free(&src);

    testutil_image(&src, TESTUTIL_GRADIENT, 64, 48, 4, 1);
    encode_ok(&src, IMAGE_FORMAT_WEBP, NULL, &webp, &len);
    decode_ok(webp, len, &back);
    testutil_assert_image_close(&back, &src, 24, 3.0);
    image_free(&back);
    free(webp);
    image_free(&src);

    /* Gray is widened to RGB, so all three channels carry the gray. */
    testutil_image(&gray, TESTUTIL_GRADIENT, 64, 48, 1, 1);
    assert_int_equal(image_alloc(&want, 64, 48, 3), 0);
    for (size_t i = 0; i < (size_t)64 * 48; i++) {
        memset(want.pixels + i * 3, gray.pixels[i], 3);
    }
    encode_ok(&gray, IMAGE_FORMAT_WEBP, NULL, &webp, &len);
    decode_ok(webp, len, &back);
    testutil_assert_image_close(&back, &want, 24, 3.0);
    image_free(&back);
    image_free(&want);
    image_free(&gray);
    free(webp);
}

static void
test_image_encode_zero_size_einval(void **state)
{
    static const enum image_format formats[] = {
        IMAGE_FORMAT_PNG, IMAGE_FORMAT_JPEG, IMAGE_FORMAT_WEBP};
    uint8_t pixel[4] = {0}, junk[1];
    struct image img = {0, 1, 3, 3, pixel};
    uint8_t *out = junk;
    size_t len = 77;
    char err[256];

    (void)state;
    for (size_t f = 0; f < 3; f++) {
        img.width = 0;
        img.height = 1;
        assert_int_equal(
            image_encode(&img, formats[f], NULL, &out, &len, err, sizeof(err)),
            IMGFLOW_EINVAL);
        assert_null(out);
        assert_int_equal(len, 0);
        assert_non_null(strstr(err, "empty"));

        img.width = 1;
        img.height = 0;
        assert_int_equal(
            image_encode(&img, formats[f], NULL, &out, &len, err, sizeof(err)),
            IMGFLOW_EINVAL);
    }
}

static void
test_image_encode_bad_arguments_einval(void **state)
{
    struct image img;
    struct image_encode_opts opts;
    uint8_t *out;
    size_t len;
    char err[256];

    (void)state;
    testutil_image(&img, TESTUTIL_CHECKER, 8, 8, 3, 1);
    image_encode_opts_default(&opts);
    assert_int_equal(image_encode(NULL, IMAGE_FORMAT_PNG, NULL, &out, &len, err,
                                  sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_int_equal(image_encode(&img, IMAGE_FORMAT_UNKNOWN, NULL, &out, &len,
                                  err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_int_equal(image_encode(&img, IMAGE_FORMAT_PNG, NULL, NULL, &len, err,
                                  sizeof(err)),
                     IMGFLOW_EINVAL);

    opts.png_level = 10;
    assert_int_equal(image_encode(&img, IMAGE_FORMAT_PNG, &opts, &out, &len,
                                  err, sizeof(err)),
                     IMGFLOW_EINVAL);
    opts.png_level = 2;
    opts.png_filter = 5;
    assert_int_equal(image_encode(&img, IMAGE_FORMAT_PNG, &opts, &out, &len,
                                  err, sizeof(err)),
                     IMGFLOW_EINVAL);
    opts.png_filter = -1;
    opts.jpeg_quality = 0;
    assert_int_equal(image_encode(&img, IMAGE_FORMAT_JPEG, &opts, &out, &len,
                                  err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "quality"));

    img.channels = 5;
    assert_int_equal(image_encode(&img, IMAGE_FORMAT_PNG, NULL, &out, &len, err,
                                  sizeof(err)),
                     IMGFLOW_EINVAL);
    img.channels = 3;
    img.stride = 8 * 3 - 1;
    assert_int_equal(
        image_encode(&img, IMAGE_FORMAT_PNG, NULL, &out, &len, NULL, 0),
        IMGFLOW_EINVAL);
    image_free(&img);
}

/* Each format's own side limit, checked before any encoding work. */
static void
test_image_encode_over_format_side_einval(void **state)
{
    struct image wide;
    uint8_t *out;
    size_t len;
    char err[256];

    (void)state;
    assert_int_equal(image_alloc(&wide, 65536, 1, 1), 0);
    assert_int_equal(image_encode(&wide, IMAGE_FORMAT_JPEG, NULL, &out, &len,
                                  err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "65535"));
    assert_int_equal(image_encode(&wide, IMAGE_FORMAT_WEBP, NULL, &out, &len,
                                  err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "16383"));

    /* PNG has no such limit below 2^31. */
    encode_ok(&wide, IMAGE_FORMAT_PNG, NULL, &out, &len);
    free(out);
    image_free(&wide);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_encode_opts_default_values),
        cmocka_unit_test(test_image_encode_png_every_channel_count_exact),
        cmocka_unit_test(test_image_encode_png_levels_and_filters_exact),
        cmocka_unit_test(test_image_encode_png_padded_stride_exact),
        cmocka_unit_test(test_image_encode_jpeg_rgb_close),
        cmocka_unit_test(test_image_encode_jpeg_gray_stays_gray),
        cmocka_unit_test(test_image_encode_jpeg_alpha_dropped),
        cmocka_unit_test(test_image_encode_jpeg_quality_changes_size),
        cmocka_unit_test(test_image_encode_webp_round_trip_close),
        cmocka_unit_test(test_image_encode_zero_size_einval),
        cmocka_unit_test(test_image_encode_bad_arguments_einval),
        cmocka_unit_test(test_image_encode_over_format_side_einval),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
