/*
 * Unit tests for src/image decoding: format sniffing and names, buffers,
 * probing and limits, every PNG layout and the JPEG variants the tests
 * build themselves, EXIF orientation, damaged input, and the shared
 * hostile corpus when IMGFLOW_SHARED points at it.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>
#include <webp/encode.h>

#include "core/error.h"
#include "image/image.h"
#include "util/testutil.h"

/* The ENOMEM test asks for petabytes; ASan must return NULL, not abort. */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* ---- helpers: comparison ---------------------------------------------- */

static void
assert_image_equal(const struct image *got, const struct image *want)
{
    testutil_assert_image_close(got, want, 0, 0.0);
}

static const uint8_t *
pixel_at(const struct image *img, uint32_t x, uint32_t y)
{
    return img->pixels + (size_t)y * img->stride + (size_t)x * img->channels;
}

static double
elapsed_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- helpers: PNG files made with libspng's encoder -------------------- */

struct png_spec {
    uint32_t width, height;
    uint8_t color_type; /* SPNG_COLOR_TYPE_* */
    uint8_t depth;      /* 1, 2, 4, 8 or 16 */
    uint8_t interlace;  /* 0 or 1 (Adam7) */
    int trns;           /* add a tRNS chunk */
};

static int
png_samples_per_pixel(uint8_t color_type)
{
    switch (color_type) {
    case SPNG_COLOR_TYPE_TRUECOLOR:
        return 3;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
        return 2;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
        return 4;
    default:
        return 1;
    }
}

/* Palette entry i and its tRNS alpha (the first half of the entries). */
static void
palette_entry(int i, int n, uint8_t rgba[4])
{
    rgba[0] = (uint8_t)(i * 37 + 11);
    rgba[1] = (uint8_t)(i * 91 + 3);
    rgba[2] = (uint8_t)(255 - i);
    rgba[3] = i < (n + 1) / 2 ? (uint8_t)(i * 53 + 7) : 255;
}

/*
 * The corpus's pattern P at full scale for the depth: R ramps right, G
 * down, B is an 8x8 checker, alpha ramps down the diagonal and gray up it.
 * Palette images use an index pattern instead.
 */
static uint32_t
png_sample(const struct png_spec *s, uint32_t x, uint32_t y, int c)
{
    uint64_t max = (1u << s->depth) - 1;
    uint64_t w1 = s->width > 1 ? s->width - 1 : 1;
    uint64_t h1 = s->height > 1 ? s->height - 1 : 1;
    uint64_t d1 = s->width + s->height > 2 ? s->width + s->height - 2 : 1;
    uint64_t gray = (x + y) * max / d1, alpha = max - (x + y) * max / d1;

    switch (s->color_type) {
    case SPNG_COLOR_TYPE_INDEXED:
        return (x / 3 + y * 5 + (x ^ y)) % (1u << s->depth);
    case SPNG_COLOR_TYPE_GRAYSCALE:
        return (uint32_t)gray;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
        return (uint32_t)(c == 0 ? gray : alpha);
    default:
        if (c == 0) {
            return (uint32_t)(x * max / w1);
        }
        if (c == 1) {
            return (uint32_t)(y * max / h1);
        }
        if (c == 2) {
            return ((x / 8 + y / 8) & 1) ? (uint32_t)max : 0;
        }
        return (uint32_t)alpha;
    }
}

/* Raw PNG rows: packed MSB first below 8 bits, host order at 16 bits. */
static uint8_t *
png_raw_rows(const struct png_spec *s, size_t *size)
{
    int spp = png_samples_per_pixel(s->color_type);
    size_t row = ((size_t)s->width * spp * s->depth + 7) / 8;
    uint8_t *raw = calloc(row, s->height);

    assert_non_null(raw);
    *size = row * s->height;
    for (uint32_t y = 0; y < s->height; y++) {
        uint8_t *r = raw + row * y;

        for (uint32_t x = 0; x < s->width; x++) {
            for (int c = 0; c < spp; c++) {
                uint32_t v = png_sample(s, x, y, c);
                size_t i = (size_t)x * spp + c;

                if (s->depth == 16) {
                    uint16_t v16 = (uint16_t)v;

                    memcpy(r + i * 2, &v16, 2);
                } else if (s->depth == 8) {
                    r[i] = (uint8_t)v;
                } else {
                    size_t bit = i * s->depth;

                    r[bit / 8] |= (uint8_t)(v << (8 - s->depth - bit % 8));
                }
            }
        }
    }
    return raw;
}

static void
png_set_extras(spng_ctx *ctx, const struct png_spec *s)
{
    int n = 1 << (s->depth < 8 ? s->depth : 8);

    if (s->color_type == SPNG_COLOR_TYPE_INDEXED) {
        struct spng_plte plte = {0};

        plte.n_entries = (uint32_t)n;
        for (int i = 0; i < n; i++) {
            uint8_t e[4];

            palette_entry(i, n, e);
            plte.entries[i].red = e[0];
            plte.entries[i].green = e[1];
            plte.entries[i].blue = e[2];
        }
        assert_int_equal(spng_set_plte(ctx, &plte), 0);
    }

    if (s->trns) {
        struct spng_trns trns = {0};

        /* Colour keys match pixel (0,0); palettes get half their alphas. */
        trns.gray = (uint16_t)png_sample(s, 0, 0, 0);
        trns.red = (uint16_t)png_sample(s, 0, 0, 0);
        trns.green = (uint16_t)png_sample(s, 0, 0, 1);
        trns.blue = (uint16_t)png_sample(s, 0, 0, 2);
        trns.n_type3_entries = (uint32_t)(n + 1) / 2;
        for (int i = 0; i < n; i++) {
            uint8_t e[4];

            palette_entry(i, n, e);
            trns.type3_alpha[i] = e[3];
        }
        assert_int_equal(spng_set_trns(ctx, &trns), 0);
    }
}

static uint8_t *
make_png(const struct png_spec *s, size_t *len)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {0};
    uint8_t *raw, *png;
    size_t size;
    int rc;

    assert_non_null(ctx);
    ihdr.width = s->width;
    ihdr.height = s->height;
    ihdr.bit_depth = s->depth;
    ihdr.color_type = s->color_type;
    ihdr.interlace_method = s->interlace;
    assert_int_equal(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1), 0);
    assert_int_equal(spng_set_ihdr(ctx, &ihdr), 0);
    png_set_extras(ctx, s);

    raw = png_raw_rows(s, &size);
    rc = spng_encode_image(ctx, raw, size, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    if (rc != 0) {
        fail_msg("spng_encode_image: %s", spng_strerror(rc));
    }

    png = spng_get_png_buffer(ctx, len, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(png);
    free(raw);
    spng_ctx_free(ctx);
    return png;
}

/* What image_decode() must give for a png_spec, computed independently. */
static void
png_expected(const struct png_spec *s, struct image *want)
{
    int ch, n = 1 << (s->depth < 8 ? s->depth : 8);
    uint32_t max = (1u << s->depth) - 1;

    switch (s->color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
        ch = s->trns ? 2 : 1;
        break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
        ch = 2;
        break;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
        ch = 4;
        break;
    default:
        ch = s->trns ? 4 : 3;
        break;
    }
    assert_int_equal(image_alloc(want, s->width, s->height, ch), 0);

    for (uint32_t y = 0; y < s->height; y++) {
        for (uint32_t x = 0; x < s->width; x++) {
            uint8_t *p = want->pixels + y * want->stride + (size_t)x * ch;
            int keyed = s->trns, spp = png_samples_per_pixel(s->color_type);

            if (s->color_type == SPNG_COLOR_TYPE_INDEXED) {
                uint8_t e[4];

                palette_entry((int)png_sample(s, x, y, 0), n, e);
                memcpy(p, e, (size_t)ch);
                continue;
            }

            for (int c = 0; c < spp; c++) {
                uint32_t v = png_sample(s, x, y, c);

                if (s->trns && v != png_sample(s, 0, 0, c)) {
                    keyed = 0;
                }
                p[c] = (uint8_t)(s->depth == 16 ? v >> 8 : v * 255 / max);
            }

            if (ch > spp) {
                p[ch - 1] = keyed ? 0 : 255;
            }
        }
    }
}

/* Build, decode and compare one PNG layout exactly. */
static void
check_png_layout(const struct png_spec *s)
{
    struct image got, want;
    struct image_info info;
    uint8_t *png;
    size_t len;
    char err[256];

    png = make_png(s, &len);
    png_expected(s, &want);
    assert_int_equal(image_probe(png, len, NULL, &info, err, sizeof(err)), 0);
    assert_int_equal(info.format, IMAGE_FORMAT_PNG);
    assert_int_equal(info.width, s->width);
    assert_int_equal(info.height, s->height);
    assert_int_equal(info.channels, want.channels);

    if (image_decode(png, len, NULL, &got, err, sizeof(err)) != 0) {
        fail_msg("type %d depth %d: %s", s->color_type, s->depth, err);
    }
    assert_image_equal(&got, &want);
    image_free(&got);
    image_free(&want);
    free(png);
}

/* ---- helpers: JPEG files made with TurboJPEG ---------------------------- */

static uint8_t *
make_jpeg(const struct image *img, int pf, int subsamp, int quality, int flags,
          size_t *len)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long jlen = 0;
    uint8_t *out;

    assert_non_null(tj);
    if (tjCompress2(tj, img->pixels, (int)img->width, (int)img->stride,
                    (int)img->height, pf, &jpeg, &jlen, subsamp, quality,
                    flags) != 0) {
        fail_msg("tjCompress2: %s", tjGetErrorStr2(tj));
    }

    out = malloc(jlen);
    assert_non_null(out);
    memcpy(out, jpeg, jlen);
    *len = jlen;
    tjFree(jpeg);
    tjDestroy(tj);
    return out;
}

/* Flat colour quadrants: TL red, TR green, BL blue, BR white. */
static void
make_quadrants(struct image *img, uint32_t w, uint32_t h)
{
    static const uint8_t colours[4][3] = {
        {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};

    assert_int_equal(image_alloc(img, w, h, 3), 0);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            int q = (x >= w / 2) + 2 * (y >= h / 2);

            memcpy(img->pixels + y * img->stride + x * 3, colours[q], 3);
        }
    }
}

/* Quadrant centres of an upright image within +-12 of the colours. */
static void
assert_quadrants(const struct image *img, const char *what)
{
    static const uint8_t colours[4][3] = {
        {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};

    assert_true(img->channels >= 3);
    for (int q = 0; q < 4; q++) {
        uint32_t x = img->width / 4 + (q & 1) * (img->width / 2);
        uint32_t y = img->height / 4 + (q >> 1) * (img->height / 2);
        const uint8_t *p = pixel_at(img, x, y);

        for (int c = 0; c < 3; c++) {
            if (abs(p[c] - colours[q][c]) > 12) {
                fail_msg("%s: quadrant %d centre (%u,%u) is (%d,%d,%d)", what,
                         q, x, y, p[0], p[1], p[2]);
            }
        }
    }
}

/*
 * A minimal APP1 Exif segment holding one IFD0 entry, Orientation, in
 * either byte order, spliced in right after SOI.
 */
static uint8_t *
splice_exif(const uint8_t *jpeg, size_t len, int orientation, int big_endian,
            size_t *outlen)
{
    uint8_t seg[36] = {0xff, 0xe1, 0x00, 34, 'E', 'x', 'i', 'f', 0, 0};
    uint8_t *t = seg + 10, *out;

    if (big_endian) {
        memcpy(t, "MM\0\x2a\0\0\0\x08", 8);
        memcpy(t + 8, "\0\x01\x01\x12\0\x03\0\0\0\x01", 10);
        t[18] = 0;
        t[19] = (uint8_t)orientation;
    } else {
        memcpy(t, "II\x2a\0\x08\0\0\0", 8);
        memcpy(t + 8, "\x01\0\x12\x01\x03\0\x01\0\0\0", 10);
        t[18] = (uint8_t)orientation;
        t[19] = 0;
    }
    /* Value padding (2 bytes) and the next-IFD offset (4) stay zero. */

    out = malloc(len + sizeof(seg));
    assert_non_null(out);
    memcpy(out, jpeg, 2);
    memcpy(out + 2, seg, sizeof(seg));
    memcpy(out + 2 + sizeof(seg), jpeg + 2, len - 2);
    *outlen = len + sizeof(seg);
    return out;
}

/* Where stored pixel (x, y) lands in the upright image, per EXIF. */
static void
upright_position(int o, uint32_t w, uint32_t h, uint32_t x, uint32_t y,
                 uint32_t *u, uint32_t *v)
{
    switch (o) {
    case 2:
        *u = w - 1 - x, *v = y;
        break;
    case 3:
        *u = w - 1 - x, *v = h - 1 - y;
        break;
    case 4:
        *u = x, *v = h - 1 - y;
        break;
    case 5:
        *u = y, *v = x;
        break;
    case 6:
        *u = h - 1 - y, *v = x;
        break;
    case 7:
        *u = h - 1 - y, *v = w - 1 - x;
        break;
    case 8:
        *u = y, *v = w - 1 - x;
        break;
    default:
        *u = x, *v = y;
        break;
    }
}

/* ---- format names, sniffing and buffers ------------------------------- */

static void
test_image_detect_magic_bytes_identified(void **state)
{
    static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0};
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    static const uint8_t png_lf[] = {0x89, 'P', 'N', 'G', 0x0a, 0x1a, 0x0a, 0};
    static const uint8_t webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
    static const uint8_t riff_wav[] = "RIFF\x10\0\0\0WAVEfmt ";
    static const uint8_t html[] = "<!DOCTYPE html><html>";

    (void)state;
    assert_int_equal(image_detect(jpeg, sizeof(jpeg)), IMAGE_FORMAT_JPEG);
    assert_int_equal(image_detect(png, sizeof(png)), IMAGE_FORMAT_PNG);
    assert_int_equal(image_detect(webp, 16), IMAGE_FORMAT_WEBP);
    assert_int_equal(image_detect(png, 7), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_detect(png_lf, 8), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_detect(jpeg, 2), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_detect(riff_wav, 16), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_detect(html, sizeof(html) - 1),
                     IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_detect(NULL, 10), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_detect(png, 0), IMAGE_FORMAT_UNKNOWN);
}

static void
test_image_format_names_round_trip(void **state)
{
    (void)state;
    assert_string_equal(image_format_name(IMAGE_FORMAT_JPEG), "jpeg");
    assert_string_equal(image_format_name(IMAGE_FORMAT_PNG), "png");
    assert_string_equal(image_format_name(IMAGE_FORMAT_WEBP), "webp");
    assert_string_equal(image_format_name(IMAGE_FORMAT_UNKNOWN), "unknown");
    assert_string_equal(image_format_mime(IMAGE_FORMAT_JPEG), "image/jpeg");
    assert_string_equal(image_format_mime(IMAGE_FORMAT_PNG), "image/png");
    assert_string_equal(image_format_mime(IMAGE_FORMAT_WEBP), "image/webp");
    assert_string_equal(image_format_ext(IMAGE_FORMAT_JPEG), "jpg");
    assert_string_equal(image_format_ext(IMAGE_FORMAT_PNG), "png");
    assert_string_equal(image_format_ext(IMAGE_FORMAT_WEBP), "webp");
    assert_int_equal(image_format_parse("png"), IMAGE_FORMAT_PNG);
    assert_int_equal(image_format_parse("jpeg"), IMAGE_FORMAT_JPEG);
    assert_int_equal(image_format_parse("jpg"), IMAGE_FORMAT_JPEG);
    assert_int_equal(image_format_parse("JPG"), IMAGE_FORMAT_JPEG);
    assert_int_equal(image_format_parse("webp"), IMAGE_FORMAT_WEBP);
    assert_int_equal(image_format_parse("gif"), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_format_parse(""), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_format_parse("png "), IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(image_format_parse(NULL), IMAGE_FORMAT_UNKNOWN);
    for (int f = IMAGE_FORMAT_JPEG; f <= IMAGE_FORMAT_WEBP; f++) {
        assert_int_equal(image_format_parse(image_format_name(f)), f);
        assert_int_equal(image_format_parse(image_format_ext(f)), f);
    }
}

static void
test_image_limits_default_match_header(void **state)
{
    struct image_limits lim;

    (void)state;
    image_limits_default(&lim);
    assert_int_equal(lim.max_bytes, 50000000);
    assert_int_equal(lim.max_side, 30000);
    assert_int_equal(lim.max_pixels, 100000000);
}

static void
test_image_alloc_bad_sizes_einval(void **state)
{
    struct image img;

    (void)state;
    assert_int_equal(image_alloc(&img, 0, 10, 3), IMGFLOW_EINVAL);
    assert_null(img.pixels);
    assert_int_equal(image_alloc(&img, 10, 0, 3), IMGFLOW_EINVAL);
    assert_int_equal(image_alloc(&img, 10, 10, 0), IMGFLOW_EINVAL);
    assert_int_equal(image_alloc(&img, 10, 10, 5), IMGFLOW_EINVAL);
    assert_int_equal(image_alloc(&img, UINT32_MAX, UINT32_MAX, 4),
                     IMGFLOW_EINVAL);
    assert_int_equal(image_alloc(NULL, 1, 1, 1), IMGFLOW_EINVAL);
}

static void
test_image_alloc_huge_enomem(void **state)
{
    struct image img;

    (void)state;
    /* 2^32 x 2^20 x 4 bytes fits 64 bits but no machine. */
    assert_int_equal(image_alloc(&img, UINT32_MAX, 1u << 20, 4),
                     IMGFLOW_ENOMEM);
    assert_null(img.pixels);
    assert_int_equal(img.width, 0);
}

static void
test_image_alloc_zeroed_packed(void **state)
{
    struct image img;

    (void)state;
    assert_int_equal(image_alloc(&img, 7, 5, 3), 0);
    assert_int_equal(img.width, 7);
    assert_int_equal(img.height, 5);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.stride, 21);
    for (size_t i = 0; i < 21 * 5; i++) {
        assert_int_equal(img.pixels[i], 0);
    }

    image_free(&img);
    assert_null(img.pixels);
    assert_int_equal(img.width, 0);
    image_free(&img);
    image_free(NULL);
}

/* ---- PNG layouts -------------------------------------------------------- */

static void
test_image_decode_png_gray_depths_exact(void **state)
{
    static const uint8_t depths[] = {1, 2, 4, 8, 16};

    (void)state;
    for (size_t i = 0; i < sizeof(depths); i++) {
        struct png_spec s = {37, 23, SPNG_COLOR_TYPE_GRAYSCALE, depths[i]};

        check_png_layout(&s);
    }
}

static void
test_image_decode_png_gray_alpha_exact(void **state)
{
    struct png_spec s8 = {37, 23, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8};
    struct png_spec s16 = {37, 23, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 16};

    (void)state;
    check_png_layout(&s8);
    check_png_layout(&s16);
}

static void
test_image_decode_png_rgb_exact(void **state)
{
    struct png_spec s8 = {64, 48, SPNG_COLOR_TYPE_TRUECOLOR, 8};
    struct png_spec s16 = {64, 48, SPNG_COLOR_TYPE_TRUECOLOR, 16};

    (void)state;
    check_png_layout(&s8);
    check_png_layout(&s16);
}

static void
test_image_decode_png_rgba_exact(void **state)
{
    struct png_spec s8 = {64, 48, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8};
    struct png_spec s16 = {64, 48, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 16};

    (void)state;
    check_png_layout(&s8);
    check_png_layout(&s16);
}

static void
test_image_decode_png_palette_gives_rgb(void **state)
{
    static const uint8_t depths[] = {1, 2, 4, 8};

    (void)state;
    for (size_t i = 0; i < sizeof(depths); i++) {
        struct png_spec s = {35, 35, SPNG_COLOR_TYPE_INDEXED, depths[i]};

        check_png_layout(&s);
    }
}

static void
test_image_decode_png_palette_trns_gives_rgba(void **state)
{
    struct png_spec s8 = {64, 48, SPNG_COLOR_TYPE_INDEXED, 8, 0, 1};
    struct png_spec s2 = {33, 17, SPNG_COLOR_TYPE_INDEXED, 2, 0, 1};

    (void)state;
    check_png_layout(&s8);
    check_png_layout(&s2);
}

static void
test_image_decode_png_colour_key_adds_alpha(void **state)
{
    struct png_spec gray8 = {40, 30, SPNG_COLOR_TYPE_GRAYSCALE, 8, 0, 1};
    struct png_spec gray16 = {40, 30, SPNG_COLOR_TYPE_GRAYSCALE, 16, 0, 1};
    struct png_spec rgb8 = {40, 30, SPNG_COLOR_TYPE_TRUECOLOR, 8, 0, 1};

    (void)state;
    check_png_layout(&gray8);
    check_png_layout(&gray16);
    check_png_layout(&rgb8);
}

static void
test_image_decode_png_adam7_exact(void **state)
{
    struct png_spec specs[] = {
        {64, 48, SPNG_COLOR_TYPE_TRUECOLOR, 8, 1},
        {33, 21, SPNG_COLOR_TYPE_GRAYSCALE, 16, 1},
        {33, 21, SPNG_COLOR_TYPE_GRAYSCALE, 2, 1},
        {31, 19, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8, 1},
        {31, 19, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 16, 1},
        {30, 20, SPNG_COLOR_TYPE_INDEXED, 8, 1, 1},
        {1, 1, SPNG_COLOR_TYPE_GRAYSCALE, 8, 1},
        {3, 2, SPNG_COLOR_TYPE_TRUECOLOR, 8, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(specs) / sizeof(*specs); i++) {
        check_png_layout(&specs[i]);
    }
}

/* Every cut inside the image data must fail, never return a partial image. */
static void
test_image_decode_png_truncated_fails(void **state)
{
    struct png_spec s = {64, 48, SPNG_COLOR_TYPE_TRUECOLOR, 8};
    struct image img;
    uint8_t *png;
    size_t len;
    char err[256];

    (void)state;
    png = make_png(&s, &len);
    /* The last 12 bytes are IEND, which libspng does not need. */
    for (size_t cut = 0; cut < len - 12; cut++) {
        int rc = image_decode(png, cut, NULL, &img, err, sizeof(err));

        if (rc == 0) {
            fail_msg("PNG cut to %zu of %zu bytes decoded", cut, len);
        }
        assert_true(rc == IMGFLOW_ECORRUPT || rc == IMGFLOW_EFORMAT);
        assert_null(img.pixels);
        assert_true(err[0] != '\0');
    }
    free(png);
}

/* Offset of the first chunk of a type, or 0. */
static size_t
png_find_chunk(const uint8_t *png, size_t len, const char *type)
{
    size_t pos = 8;

    while (pos + 12 <= len) {
        uint32_t n = (uint32_t)png[pos] << 24 | png[pos + 1] << 16 |
                     png[pos + 2] << 8 | png[pos + 3];

        if (memcmp(png + pos + 4, type, 4) == 0) {
            return pos;
        }
        pos += 12 + (size_t)n;
    }
    return 0;
}

/* Recompute the CRC of the chunk at pos (CRC-32, as zlib computes it). */
static void
png_fix_crc(uint8_t *png, size_t pos)
{
    uint32_t n = (uint32_t)png[pos] << 24 | png[pos + 1] << 16 |
                 png[pos + 2] << 8 | png[pos + 3];
    uint32_t crc = 0xffffffffu;

    for (size_t i = pos + 4; i < pos + 8 + n; i++) {
        crc ^= png[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
        }
    }

    crc ^= 0xffffffffu;
    png[pos + 8 + n] = (uint8_t)(crc >> 24);
    png[pos + 9 + n] = (uint8_t)(crc >> 16);
    png[pos + 10 + n] = (uint8_t)(crc >> 8);
    png[pos + 11 + n] = (uint8_t)crc;
}

static void
test_image_decode_png_bad_idat_crc_fails(void **state)
{
    struct image src, img;
    struct image_encode_opts opts;
    uint8_t *png;
    size_t len, pos;
    uint32_t n;
    char err[256];

    (void)state;
    /* Noise does not compress, so the data spans several IDAT chunks. */
    testutil_image(&src, TESTUTIL_NOISE, 96, 96, 3, 7);
    image_encode_opts_default(&opts);
    assert_int_equal(image_encode(&src, IMAGE_FORMAT_PNG, &opts, &png, &len,
                                  err, sizeof(err)),
                     0);
    pos = png_find_chunk(png, len, "IDAT");
    assert_true(pos > 0);
    n = (uint32_t)png[pos] << 24 | png[pos + 1] << 16 | png[pos + 2] << 8 |
        png[pos + 3];
    assert_true(png_find_chunk(png + pos + 12 + n - 8, len - pos - 12 - n + 8,
                               "IDAT") > 0);
    png[pos + 8 + n] ^= 0x55;

    assert_int_equal(image_decode(png, len, NULL, &img, err, sizeof(err)),
                     IMGFLOW_ECORRUPT);
    assert_non_null(strstr(err, "checksum"));
    free(png);
    image_free(&src);
}

static void
test_image_decode_png_bad_text_crc_ignored(void **state)
{
    struct png_spec s = {20, 10, SPNG_COLOR_TYPE_TRUECOLOR, 8};
    struct spng_text text = {"Comment", SPNG_TEXT};
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {20, 10, 8, SPNG_COLOR_TYPE_TRUECOLOR, 0, 0, 0};
    struct image img, want;
    uint8_t *raw, *png;
    size_t size, len, pos;
    char err[256];
    int rc;

    (void)state;
    text.text = "made by the imgflow tests";
    text.length = strlen(text.text);
    assert_int_equal(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1), 0);
    assert_int_equal(spng_set_ihdr(ctx, &ihdr), 0);
    assert_int_equal(spng_set_text(ctx, &text, 1), 0);
    raw = png_raw_rows(&s, &size);
    assert_int_equal(
        spng_encode_image(ctx, raw, size, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE),
        0);
    png = spng_get_png_buffer(ctx, &len, &rc);
    assert_non_null(png);

    pos = png_find_chunk(png, len, "tEXt");
    assert_true(pos > 0);
    png[pos + 8 + strlen("Comment") + 1 + text.length] ^= 0x55;
    assert_int_equal(image_decode(png, len, NULL, &img, err, sizeof(err)), 0);
    png_expected(&s, &want);
    assert_image_equal(&img, &want);

    image_free(&img);
    image_free(&want);
    free(png);
    free(raw);
    spng_ctx_free(ctx);
}

/* 20 MB of text squeezed into a small zTXt chunk must not be inflated. */
static void
test_image_probe_png_text_bomb_refused(void **state)
{
    struct png_spec s = {8, 8, SPNG_COLOR_TYPE_GRAYSCALE, 8};
    struct spng_text text = {"Comment", SPNG_ZTXT};
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {8, 8, 8, SPNG_COLOR_TYPE_GRAYSCALE, 0, 0, 0};
    struct image img;
    uint8_t *raw, *png;
    size_t size, len;
    char err[256];
    int rc;

    (void)state;
    text.length = 20u * 1000u * 1000u;
    text.text = malloc(text.length + 1);
    assert_non_null(text.text);
    memset(text.text, 'a', text.length);
    text.text[text.length] = '\0';
    assert_int_equal(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1), 0);
    assert_int_equal(spng_set_ihdr(ctx, &ihdr), 0);
    assert_int_equal(spng_set_text(ctx, &text, 1), 0);
    raw = png_raw_rows(&s, &size);
    assert_int_equal(
        spng_encode_image(ctx, raw, size, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE),
        0);
    png = spng_get_png_buffer(ctx, &len, &rc);
    assert_non_null(png);
    assert_true(len < 1000000);

    assert_int_equal(image_probe(png, len, NULL, NULL, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_non_null(strstr(err, "metadata"));
    assert_int_equal(image_decode(png, len, NULL, &img, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_null(img.pixels);

    free(text.text);
    free(png);
    free(raw);
    spng_ctx_free(ctx);
}

/* ---- JPEG variants ------------------------------------------------------ */

static void
check_jpeg(const struct image *src, int pf, int subsamp, int flags, int tol,
           double mean_tol)
{
    struct image img;
    struct image_info info;
    uint8_t *jpeg;
    size_t len;
    char err[256];

    jpeg = make_jpeg(src, pf, subsamp, 95, flags, &len);
    assert_int_equal(image_probe(jpeg, len, NULL, &info, err, sizeof(err)), 0);
    assert_int_equal(info.format, IMAGE_FORMAT_JPEG);
    assert_int_equal(info.width, src->width);
    assert_int_equal(info.height, src->height);
    assert_int_equal(info.channels, src->channels);
    if (image_decode(jpeg, len, NULL, &img, err, sizeof(err)) != 0) {
        fail_msg("decode: %s", err);
    }
    testutil_assert_image_close(&img, src, tol, mean_tol);
    image_free(&img);
    free(jpeg);
}

static void
test_image_decode_jpeg_420_close(void **state)
{
    struct image src;

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 64, 48, 3, 1);
    check_jpeg(&src, TJPF_RGB, TJSAMP_420, 0, 12, 2.0);
    image_free(&src);
}

static void
test_image_decode_jpeg_444_close(void **state)
{
    struct image src;

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 61, 37, 3, 1);
    check_jpeg(&src, TJPF_RGB, TJSAMP_444, 0, 8, 1.5);
    image_free(&src);
}

static void
test_image_decode_jpeg_gray_one_channel(void **state)
{
    struct image src;

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 64, 48, 1, 1);
    check_jpeg(&src, TJPF_GRAY, TJSAMP_GRAY, 0, 6, 1.0);
    image_free(&src);
}

static void
test_image_decode_jpeg_progressive_close(void **state)
{
    struct image src;

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 80, 56, 3, 1);
    check_jpeg(&src, TJPF_RGB, TJSAMP_420, TJFLAG_PROGRESSIVE, 12, 2.0);
    image_free(&src);
}

/* CMYK flat quadrants; libjpeg hands back what TJPF_CMYK put in. */
static void
test_image_decode_jpeg_cmyk_gives_rgb(void **state)
{
    static const uint8_t cmyk[4][4] = {{255, 0, 0, 255},
                                       {0, 255, 0, 255},
                                       {200, 100, 50, 255},
                                       {255, 255, 255, 128}};
    struct image src, want, img;
    uint8_t *jpeg;
    size_t len;
    char err[256];

    (void)state;
    assert_int_equal(image_alloc(&src, 48, 32, 4), 0);
    assert_int_equal(image_alloc(&want, 48, 32, 3), 0);
    for (uint32_t y = 0; y < 32; y++) {
        for (uint32_t x = 0; x < 48; x++) {
            int q = (x >= 24) + 2 * (y >= 16);
            uint8_t *w = want.pixels + y * want.stride + x * 3;

            memcpy(src.pixels + y * src.stride + x * 4, cmyk[q], 4);
            for (int c = 0; c < 3; c++) {
                w[c] = (uint8_t)(cmyk[q][c] * cmyk[q][3] / 255);
            }
        }
    }

    jpeg = make_jpeg(&src, TJPF_CMYK, TJSAMP_444, 95, 0, &len);
    assert_int_equal(image_decode(jpeg, len, NULL, &img, err, sizeof(err)), 0);
    assert_int_equal(img.channels, 3);
    assert_int_equal(img.stride, 48 * 3);
    testutil_assert_image_close(&img, &want, 40, 3.0);
    for (int q = 0; q < 4; q++) {
        const uint8_t *p = pixel_at(&img, 12 + 24 * (q & 1), 8 + 16 * (q >> 1));
        const uint8_t *w =
            pixel_at(&want, 12 + 24 * (q & 1), 8 + 16 * (q >> 1));

        for (int c = 0; c < 3; c++) {
            assert_true(abs(p[c] - w[c]) <= 12);
        }
    }

    image_free(&img);
    image_free(&src);
    image_free(&want);
    free(jpeg);
}

static void
test_image_decode_exif_orientations_upright(void **state)
{
    struct image stored, want, img;
    struct image_info info;
    uint8_t *jpeg, *exif_jpeg;
    size_t len, exif_len;
    char err[256];

    (void)state;
    make_quadrants(&stored, 48, 32);
    jpeg = make_jpeg(&stored, TJPF_RGB, TJSAMP_444, 95, 0, &len);
    for (int o = 1; o <= 8; o++) {
        uint32_t uw = o >= 5 ? 32 : 48, uh = o >= 5 ? 48 : 32;

        exif_jpeg = splice_exif(jpeg, len, o, o % 2, &exif_len);
        assert_int_equal(
            image_probe(exif_jpeg, exif_len, NULL, &info, err, sizeof(err)), 0);
        assert_int_equal(info.width, uw);
        assert_int_equal(info.height, uh);

        assert_int_equal(image_alloc(&want, uw, uh, 3), 0);
        for (uint32_t y = 0; y < 32; y++) {
            for (uint32_t x = 0; x < 48; x++) {
                uint32_t u, v;

                upright_position(o, 48, 32, x, y, &u, &v);
                memcpy(want.pixels + v * want.stride + u * 3,
                       pixel_at(&stored, x, y), 3);
            }
        }

        if (image_decode(exif_jpeg, exif_len, NULL, &img, err, sizeof(err)) !=
            0) {
            fail_msg("orientation %d: %s", o, err);
        }
        testutil_assert_image_close(&img, &want, 60, 3.0);
        image_free(&img);
        image_free(&want);
        free(exif_jpeg);
    }
    image_free(&stored);
    free(jpeg);
}

/* Orientation 9 is not a value; the image stays as stored. */
static void
test_image_decode_exif_invalid_orientation_ignored(void **state)
{
    struct image stored, img;
    uint8_t *jpeg, *exif_jpeg;
    size_t len, exif_len;
    char err[256];

    (void)state;
    make_quadrants(&stored, 48, 32);
    jpeg = make_jpeg(&stored, TJPF_RGB, TJSAMP_444, 95, 0, &len);
    exif_jpeg = splice_exif(jpeg, len, 9, 0, &exif_len);
    assert_int_equal(
        image_decode(exif_jpeg, exif_len, NULL, &img, err, sizeof(err)), 0);
    assert_int_equal(img.width, 48);
    assert_int_equal(img.height, 32);
    assert_quadrants(&img, "orientation 9");
    image_free(&img);
    free(exif_jpeg);

    /* An Exif header over garbage must not disturb the decode either. */
    exif_jpeg = splice_exif(jpeg, len, 6, 0, &exif_len);
    memset(exif_jpeg + 12, 0xee, 26);
    assert_int_equal(
        image_decode(exif_jpeg, exif_len, NULL, &img, err, sizeof(err)), 0);
    assert_int_equal(img.width, 48);
    assert_quadrants(&img, "garbage EXIF");
    image_free(&img);
    free(exif_jpeg);
    image_free(&stored);
    free(jpeg);
}

static void
test_image_decode_jpeg_truncated_fails(void **state)
{
    struct image src, img;
    uint8_t *jpeg;
    size_t len;
    char err[256];

    (void)state;
    testutil_image(&src, TESTUTIL_PHOTO, 64, 48, 3, 3);
    jpeg = make_jpeg(&src, TJPF_RGB, TJSAMP_420, 90, 0, &len);
    for (size_t cut = 0; cut < len - 1; cut++) {
        int rc = image_decode(jpeg, cut, NULL, &img, err, sizeof(err));

        if (rc == 0) {
            fail_msg("JPEG cut to %zu of %zu bytes decoded", cut, len);
        }
        assert_true(rc == IMGFLOW_ECORRUPT || rc == IMGFLOW_EFORMAT);
        assert_null(img.pixels);
    }

    assert_int_equal(image_decode(jpeg, len / 2, NULL, &img, err, sizeof(err)),
                     IMGFLOW_ECORRUPT);
    assert_non_null(strstr(err, "Premature end"));
    image_free(&src);
    free(jpeg);
}

/* Offset of the first marker of a type, walking segments from SOI. */
static size_t
jpeg_find_marker(const uint8_t *jpeg, size_t len, uint8_t marker)
{
    size_t pos = 2;

    while (pos + 4 <= len && jpeg[pos] == 0xff) {
        if (jpeg[pos + 1] == marker) {
            return pos;
        }
        pos += 2 + ((size_t)jpeg[pos + 2] << 8 | jpeg[pos + 3]);
    }
    return 0;
}

static void
test_image_decode_jpeg_12bit_refused(void **state)
{
    struct image src, img;
    uint8_t *jpeg;
    size_t len, sof;
    char err[256];

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 16, 16, 3, 1);
    jpeg = make_jpeg(&src, TJPF_RGB, TJSAMP_444, 90, 0, &len);
    sof = jpeg_find_marker(jpeg, len, 0xc0);
    assert_true(sof > 0);
    jpeg[sof + 4] = 12;
    assert_int_equal(image_decode(jpeg, len, NULL, &img, err, sizeof(err)),
                     IMGFLOW_ECORRUPT);
    assert_non_null(strstr(err, "12-bit"));
    image_free(&src);
    free(jpeg);
}

/*
 * A progressive JPEG whose first scan is repeated 150 times: refused from
 * the marker walk, before libjpeg spends time on any scan.
 */
static void
test_image_probe_jpeg_many_scans_refused(void **state)
{
    struct image src, img;
    uint8_t *jpeg, *many, *p;
    size_t len, sos, end, many_len;
    char err[256];

    (void)state;
    testutil_image(&src, TESTUTIL_GRADIENT, 32, 32, 1, 1);
    jpeg =
        make_jpeg(&src, TJPF_GRAY, TJSAMP_GRAY, 90, TJFLAG_PROGRESSIVE, &len);
    sos = jpeg_find_marker(jpeg, len, 0xda);
    assert_true(sos > 0);
    for (end = sos + 2; end + 1 < len; end++) {
        if (jpeg[end] == 0xff && jpeg[end + 1] != 0 &&
            (jpeg[end + 1] < 0xd0 || jpeg[end + 1] > 0xd7)) {
            break;
        }
    }

    many_len = len + 150 * (end - sos);
    many = malloc(many_len);
    assert_non_null(many);
    memcpy(many, jpeg, sos);
    p = many + sos;
    for (int i = 0; i < 150; i++, p += end - sos) {
        memcpy(p, jpeg + sos, end - sos);
    }
    memcpy(p, jpeg + sos, len - sos);

    assert_int_equal(image_probe(many, many_len, NULL, NULL, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_non_null(strstr(err, "scans"));
    assert_int_equal(image_decode(many, many_len, NULL, &img, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_null(img.pixels);

    /* The original, with its handful of scans, is fine. */
    assert_int_equal(image_decode(jpeg, len, NULL, &img, err, sizeof(err)), 0);
    image_free(&img);
    image_free(&src);
    free(jpeg);
    free(many);
}

/* ---- WebP ---------------------------------------------------------------- */

static void
test_image_decode_webp_lossless_exact(void **state)
{
    struct image rgb, rgba, img;
    uint8_t *webp;
    size_t len;
    char err[256];

    (void)state;
    testutil_image(&rgb, TESTUTIL_NOISE, 40, 30, 3, 5);
    len = WebPEncodeLosslessRGB(rgb.pixels, 40, 30, (int)rgb.stride, &webp);
    assert_true(len > 0);
    assert_int_equal(image_decode(webp, len, NULL, &img, err, sizeof(err)), 0);
    assert_image_equal(&img, &rgb);
    image_free(&img);

    /* Cut in half: the bitstream ends early. */
    assert_int_equal(image_decode(webp, len / 2, NULL, &img, err, sizeof(err)),
                     IMGFLOW_ECORRUPT);
    WebPFree(webp);

    testutil_image(&rgba, TESTUTIL_GRADIENT, 40, 30, 4, 5);
    len = WebPEncodeLosslessRGBA(rgba.pixels, 40, 30, (int)rgba.stride, &webp);
    assert_true(len > 0);
    assert_int_equal(image_decode(webp, len, NULL, &img, err, sizeof(err)), 0);
    assert_image_equal(&img, &rgba);
    image_free(&img);
    WebPFree(webp);
    image_free(&rgb);
    image_free(&rgba);
}

/* ---- probing, limits and non-images ------------------------------------- */

static void
test_image_probe_reports_upright_size_and_channels(void **state)
{
    struct png_spec s = {30, 20, SPNG_COLOR_TYPE_INDEXED, 4, 0, 1};
    struct image src;
    struct image_info info;
    uint8_t *png, *jpeg, *exif_jpeg;
    size_t len, exif_len;
    char err[256];

    (void)state;
    png = make_png(&s, &len);
    assert_int_equal(image_probe(png, len, NULL, &info, err, sizeof(err)), 0);
    assert_int_equal(info.format, IMAGE_FORMAT_PNG);
    assert_int_equal(info.channels, 4);
    assert_string_equal(err, "");
    free(png);

    testutil_image(&src, TESTUTIL_GRADIENT, 40, 24, 1, 1);
    jpeg = make_jpeg(&src, TJPF_GRAY, TJSAMP_GRAY, 90, 0, &len);
    exif_jpeg = splice_exif(jpeg, len, 8, 1, &exif_len);
    assert_int_equal(
        image_probe(exif_jpeg, exif_len, NULL, &info, err, sizeof(err)), 0);
    assert_int_equal(info.format, IMAGE_FORMAT_JPEG);
    assert_int_equal(info.width, 24);
    assert_int_equal(info.height, 40);
    assert_int_equal(info.channels, 1);
    image_free(&src);
    free(jpeg);
    free(exif_jpeg);
}

static void
test_image_probe_over_byte_limit_etoobig(void **state)
{
    struct png_spec s = {64, 48, SPNG_COLOR_TYPE_TRUECOLOR, 8};
    struct image_limits lim;
    struct image img;
    uint8_t *png;
    size_t len;
    char err[256];

    (void)state;
    png = make_png(&s, &len);
    image_limits_default(&lim);
    lim.max_bytes = len - 1;
    assert_int_equal(image_probe(png, len, &lim, NULL, err, sizeof(err)),
                     IMGFLOW_ETOOBIG);
    assert_non_null(strstr(err, "bytes; the limit is"));
    assert_int_equal(image_decode(png, len, &lim, &img, err, sizeof(err)),
                     IMGFLOW_ETOOBIG);
    assert_null(img.pixels);

    lim.max_bytes = len;
    assert_int_equal(image_probe(png, len, &lim, NULL, err, sizeof(err)), 0);
    free(png);
}

static void
test_image_probe_over_pixel_limit_refused(void **state)
{
    struct png_spec s = {64, 48, SPNG_COLOR_TYPE_TRUECOLOR, 8};
    struct image_limits lim;
    struct image_info info;
    struct image img;
    uint8_t *png;
    size_t len;
    char err[256];

    (void)state;
    png = make_png(&s, &len);
    image_limits_default(&lim);
    lim.max_pixels = 64 * 48 - 1;
    assert_int_equal(image_probe(png, len, &lim, &info, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_string_equal(err, "image is 64x48 (3072 pixels); the limit is 3071 "
                             "pixels");
    assert_int_equal(info.width, 64);
    assert_int_equal(image_decode(png, len, &lim, &img, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_null(img.pixels);

    lim.max_pixels = 64 * 48;
    assert_int_equal(image_decode(png, len, &lim, &img, err, sizeof(err)), 0);
    image_free(&img);
    free(png);
}

static void
test_image_probe_over_side_limit_refused(void **state)
{
    struct png_spec s = {64, 48, SPNG_COLOR_TYPE_TRUECOLOR, 8};
    struct image_limits lim;
    struct image src, img;
    uint8_t *png, *jpeg;
    size_t len;
    char err[256];

    (void)state;
    png = make_png(&s, &len);
    image_limits_default(&lim);
    lim.max_side = 63;
    assert_int_equal(image_decode(png, len, &lim, &img, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_string_equal(err,
                        "image is 64x48 pixels; the limit is 63 pixels per "
                        "side");
    lim.max_side = 64;
    assert_int_equal(image_decode(png, len, &lim, &img, err, sizeof(err)), 0);
    image_free(&img);

    testutil_image(&src, TESTUTIL_GRADIENT, 40, 70, 3, 1);
    jpeg = make_jpeg(&src, TJPF_RGB, TJSAMP_420, 90, 0, &len);
    lim.max_side = 69;
    assert_int_equal(image_probe(jpeg, len, &lim, NULL, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_non_null(strstr(err, "40x70 pixels"));
    image_free(&src);
    free(jpeg);
    free(png);
}

/* Headers that claim enormous sizes over a few bytes of data. */
static void
test_image_decode_header_bombs_refused_quickly(void **state)
{
    struct png_spec s = {64, 48, SPNG_COLOR_TYPE_TRUECOLOR, 8};
    struct image src, img;
    struct timespec t0;
    uint8_t *png, *jpeg;
    size_t len, sof;
    char err[256];

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* JPEG SOF saying 65500x65500: 4.3 gigapixels. */
    testutil_image(&src, TESTUTIL_GRADIENT, 16, 16, 3, 1);
    jpeg = make_jpeg(&src, TJPF_RGB, TJSAMP_420, 90, 0, &len);
    sof = jpeg_find_marker(jpeg, len, 0xc0);
    assert_true(sof > 0);
    memcpy(jpeg + sof + 5, "\xff\xdc\xff\xdc", 4);
    assert_int_equal(image_decode(jpeg, len, NULL, &img, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_string_equal(err, "image is 65500x65500 (4290250000 pixels); the "
                             "limit is 100000000 pixels");
    assert_null(img.pixels);

    /* PNG IHDR saying 65536x16385 RGBA: 4 GiB + 256 KiB, 256 KiB in 32 bits. */
    png = make_png(&s, &len);
    memcpy(png + 16, "\x00\x01\x00\x00\x00\x00\x40\x01", 8);
    png[25] = SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
    png_fix_crc(png, 8);
    assert_int_equal(image_decode(png, len, NULL, &img, err, sizeof(err)),
                     IMGFLOW_EREFUSED);
    assert_string_equal(err, "image is 65536x16385 (1073807360 pixels); the "
                             "limit is 100000000 pixels");
    assert_null(img.pixels);

    assert_true(elapsed_since(&t0) < 1.0);
    image_free(&src);
    free(jpeg);
    free(png);
}

static void
test_image_decode_not_image_eformat(void **state)
{
    static const char *texts[] = {
        "hello, this is plain text and not an image\n",
        "<!DOCTYPE html><html><body>not a png</body></html>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\"/>",
        "GIF89a\x40\0\x30\0",
    };
    uint8_t zeros[256] = {0};
    struct image img;
    struct image_info info;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        const uint8_t *b = (const uint8_t *)texts[i];

        assert_int_equal(
            image_decode(b, strlen(texts[i]), NULL, &img, err, sizeof(err)),
            IMGFLOW_EFORMAT);
        assert_null(img.pixels);
        assert_true(err[0] != '\0');
        assert_int_equal(
            image_probe(b, strlen(texts[i]), NULL, &info, err, sizeof(err)),
            IMGFLOW_EFORMAT);
        assert_int_equal(info.format, IMAGE_FORMAT_UNKNOWN);
    }
    assert_non_null(strstr(err, "GIF"));

    assert_int_equal(
        image_decode(zeros, sizeof(zeros), NULL, &img, err, sizeof(err)),
        IMGFLOW_EFORMAT);
    assert_int_equal(image_decode(zeros, 0, NULL, &img, err, sizeof(err)),
                     IMGFLOW_EFORMAT);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(image_probe(NULL, 0, NULL, &info, err, sizeof(err)),
                     IMGFLOW_EFORMAT);

    /* A NULL error buffer is allowed. */
    assert_int_equal(image_decode(zeros, 4, NULL, &img, NULL, 0),
                     IMGFLOW_EFORMAT);
    assert_int_equal(image_decode(zeros, 4, NULL, NULL, err, sizeof(err)),
                     IMGFLOW_EINVAL);
}

static void
test_image_decode_jpeg_soi_eoi_corrupt(void **state)
{
    static const uint8_t soi_eoi[] = {0xff, 0xd8, 0xff, 0xd9};
    struct image img;
    char err[256];

    (void)state;
    assert_int_equal(
        image_decode(soi_eoi, sizeof(soi_eoi), NULL, &img, err, sizeof(err)),
        IMGFLOW_ECORRUPT);
    assert_true(err[0] != '\0');
}

/* ---- the shared corpus -------------------------------------------------- */

struct manifest_row {
    char *file, *expect, *kind, *notes;
    uint32_t w, h;
    int ch;
};

/* Split one TSV line in place; the columns follow the file's header. */
static int
manifest_parse(char *line, struct manifest_row *r)
{
    char *col[10];
    int n = 0;

    col[n++] = line;
    for (char *p = line; *p != '\0' && n < 10; p++) {
        if (*p == '\t') {
            *p = '\0';
            col[n++] = p + 1;
        }
    }

    if (n < 8) {
        return -1;
    }

    r->file = col[0];
    r->expect = col[1];
    r->w = (uint32_t)strtoul(col[2], NULL, 10);
    r->h = (uint32_t)strtoul(col[3], NULL, 10);
    r->ch = atoi(col[4]);
    r->kind = col[6];
    r->notes = col[7];
    return 0;
}

/* "upright WxH" in the kind or notes overrides the stored size. */
static void
manifest_upright(const struct manifest_row *r, uint32_t *w, uint32_t *h)
{
    const char *texts[2] = {r->kind, r->notes};

    *w = r->w;
    *h = r->h;
    for (int i = 0; i < 2; i++) {
        const char *p = strstr(texts[i], "upright ");
        unsigned uw, uh;

        if (p != NULL && sscanf(p, "upright %ux%u", &uw, &uh) == 2) {
            *w = uw;
            *h = uh;
        }
    }
}

/* Compare "(x,y)=v" or "(x,y)=(a, b, ...)" probes from the notes. */
static void
manifest_check_probes(const struct manifest_row *r, const struct image *img)
{
    const char *p = strstr(r->notes, "probes");
    int wide;

    if (p == NULL) {
        return;
    }

    wide = strncmp(p, "probes(16-bit)", 14) == 0;
    while ((p = strchr(p, '(')) != NULL) {
        unsigned x, y;
        int used = 0, vals[4], nv = 0;

        if (sscanf(p, "(%u,%u)=%n", &x, &y, &used) != 2 || used == 0) {
            p++;
            continue;
        }

        p += used;
        if (*p == '(') {
            p++;
            while (nv < 4 && sscanf(p, "%d%n", &vals[nv], &used) == 1) {
                nv++;
                p += used;
                if (*p != ',') {
                    break;
                }
                p++;
            }
        } else if (sscanf(p, "%d", &vals[0]) == 1) {
            nv = 1;
        }

        assert_int_equal(nv, img->channels);
        for (int c = 0; c < nv; c++) {
            int want = wide ? vals[c] >> 8 : vals[c];
            int got = pixel_at(img, x, y)[c];

            if (abs(got - want) > (wide ? 1 : 0)) {
                fail_msg("%s: (%u,%u)[%d] is %d, want %d", r->file, x, y, c,
                         got, want);
            }
        }
    }
}

/* The other value checks the notes spell out. */
static void
manifest_check_values(const struct manifest_row *r, const struct image *img,
                      const char *dir)
{
    const char *p;
    int a, b, c;

    manifest_check_probes(r, img);
    if (strstr(r->notes, "quadrants TL red") != NULL) {
        assert_quadrants(img, r->file);
    }

    if ((p = strstr(r->notes, "pixel ")) != NULL) {
        if (sscanf(p, "pixel (%d,%d,%d)", &a, &b, &c) == 3) {
            assert_int_equal(pixel_at(img, 0, 0)[0], a);
            assert_int_equal(pixel_at(img, 0, 0)[1], b);
            assert_int_equal(pixel_at(img, 0, 0)[2], c);
        } else if (sscanf(p, "pixel %d", &a) == 1) {
            assert_int_equal(pixel_at(img, 0, 0)[0], a);
        }
    }

    if ((p = strstr(r->notes, "approx (")) != NULL &&
        sscanf(p, "approx (%d,%d,%d)", &a, &b, &c) == 3) {
        assert_true(abs(pixel_at(img, 0, 0)[0] - a) <= 8);
        assert_true(abs(pixel_at(img, 0, 0)[1] - b) <= 8);
        assert_true(abs(pixel_at(img, 0, 0)[2] - c) <= 8);
    }

    if ((p = strstr(r->notes, "same pixels as ")) != NULL) {
        char other[128], path[1024];
        struct image want;
        uint8_t *buf;
        size_t len;

        assert_int_equal(sscanf(p, "same pixels as %127s", other), 1);
        other[strcspn(other, ",;")] = '\0';
        snprintf(path, sizeof(path), "%s/corpus/%s", dir, other);
        buf = testutil_read_file(path, &len);
        assert_non_null(buf);
        assert_int_equal(image_decode(buf, len, NULL, &want, NULL, 0), 0);
        assert_image_equal(img, &want);
        image_free(&want);
        free(buf);
    }
}

/* Ramp formulas in the notes of the thin gray files and the gray JPEG. */
static void
manifest_check_ramps(const struct manifest_row *r, const struct image *img)
{
    uint32_t w = img->width, h = img->height;
    int tol = strstr(r->notes, "+-6") != NULL ? 6 : 0;

    if (strstr(r->notes, "v=x*255//") == NULL &&
        strstr(r->notes, "v=y*255//") == NULL &&
        strstr(r->notes, "diagonal ramp (+-6)") == NULL) {
        return;
    }

    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint64_t want;

            if (strstr(r->notes, "v=x*") != NULL) {
                want = (uint64_t)x * 255 / (w - 1);
            } else if (strstr(r->notes, "v=y*") != NULL) {
                want = (uint64_t)y * 255 / (h - 1);
            } else {
                want = (uint64_t)(x + y) * 255 / (w + h - 2);
            }

            if (abs(pixel_at(img, x, y)[0] - (int)want) > tol) {
                fail_msg("%s: (%u,%u) is %d, want %d", r->file, x, y,
                         pixel_at(img, x, y)[0], (int)want);
            }
        }
    }
}

static void
check_corpus_row(const struct manifest_row *r, const char *dir)
{
    char path[1024], err[256];
    struct image img;
    struct timespec t0;
    uint8_t *buf;
    size_t len = 0;
    uint32_t w, h;
    int rc, is_jpeg;

    snprintf(path, sizeof(path), "%s/corpus/%s", dir, r->file);
    buf = testutil_read_file(path, &len);
    if (buf == NULL) {
        fail_msg("cannot read %s", path);
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = image_decode(buf, len, NULL, &img, err, sizeof(err));
    if (elapsed_since(&t0) > 1.0) {
        fail_msg("%s took %.2f s", r->file, elapsed_since(&t0));
    }

    if (strcmp(r->expect, "REJECT") == 0) {
        if (rc == 0) {
            fail_msg("%s decoded but must be refused", r->file);
        }
        assert_true(err[0] != '\0');
        assert_null(img.pixels);
    } else if (rc != 0 && strcmp(r->expect, "OK") == 0) {
        fail_msg("%s: %s", r->file, err);
    } else if (rc == 0) {
        manifest_upright(r, &w, &h);
        is_jpeg = image_detect(buf, len) == IMAGE_FORMAT_JPEG;
        if (img.width != w || img.height != h) {
            fail_msg("%s is %ux%u, want %ux%u", r->file, img.width, img.height,
                     w, h);
        }

        /* Only CMYK changes count: it becomes RGB. */
        assert_int_equal(img.channels, is_jpeg && r->ch == 4 ? 3 : r->ch);
        manifest_check_values(r, &img, dir);
        manifest_check_ramps(r, &img);
        image_free(&img);
    }
    free(buf);
}

static void
test_image_decode_corpus_matches_manifest(void **state)
{
    const char *dir = testutil_shared_dir();
    char path[1024], *tsv, *line, *save = NULL;
    size_t len;
    int rows = 0;

    (void)state;
    if (dir == NULL) {
        print_message("IMGFLOW_SHARED not set or missing; corpus skipped\n");
        return;
    }

    snprintf(path, sizeof(path), "%s/corpus/manifest.tsv", dir);
    tsv = (char *)testutil_read_file(path, &len);
    if (tsv == NULL) {
        print_message("%s missing; corpus skipped\n", path);
        return;
    }

    line = strtok_r(tsv, "\n", &save);
    for (line = strtok_r(NULL, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        struct manifest_row r = {0};

        assert_int_equal(manifest_parse(line, &r), 0);
        if (strncmp(r.file, "http/", 5) == 0 ||
            strncmp(r.file, "messages/", 9) == 0) {
            continue;
        }
        check_corpus_row(&r, dir);
        rows++;
    }

    print_message("corpus: %d image rows checked\n", rows);
    assert_true(rows >= 90);
    free(tsv);
}

/* The CPU and memory bombs, probed and decoded, each well under a second. */
static void
test_image_decode_corpus_bombs_refused_quickly(void **state)
{
    static const char *bombs[] = {
        "jpeg-progressive-694-scans-6000x6000.jpg",
        "jpeg-bomb-65500x65500.jpg",
        "png-bomb-100000x100000.png",
        "png-bomb-deflate-20000x20000.png",
        "png-overflow-65536x16385-rgba.png",
    };
    const char *dir = testutil_shared_dir();

    (void)state;
    if (dir == NULL) {
        print_message("IMGFLOW_SHARED not set or missing; bombs skipped\n");
        return;
    }

    for (size_t i = 0; i < sizeof(bombs) / sizeof(*bombs); i++) {
        char path[1024], err[256];
        struct image img;
        struct timespec t0;
        uint8_t *buf;
        size_t len;
        double t;

        snprintf(path, sizeof(path), "%s/corpus/%s", dir, bombs[i]);
        buf = testutil_read_file(path, &len);
        if (buf == NULL) {
            fail_msg("cannot read %s", path);
        }

        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(image_probe(buf, len, NULL, NULL, err, sizeof(err)),
                         IMGFLOW_EREFUSED);
        assert_int_equal(image_decode(buf, len, NULL, &img, err, sizeof(err)),
                         IMGFLOW_EREFUSED);
        t = elapsed_since(&t0);
        print_message("%s: %.4f s: %s\n", bombs[i], t, err);
        assert_true(t < 1.0);
        free(buf);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_detect_magic_bytes_identified),
        cmocka_unit_test(test_image_format_names_round_trip),
        cmocka_unit_test(test_image_limits_default_match_header),
        cmocka_unit_test(test_image_alloc_bad_sizes_einval),
        cmocka_unit_test(test_image_alloc_huge_enomem),
        cmocka_unit_test(test_image_alloc_zeroed_packed),
        cmocka_unit_test(test_image_decode_png_gray_depths_exact),
        cmocka_unit_test(test_image_decode_png_gray_alpha_exact),
        cmocka_unit_test(test_image_decode_png_rgb_exact),
        cmocka_unit_test(test_image_decode_png_rgba_exact),
        cmocka_unit_test(test_image_decode_png_palette_gives_rgb),
        cmocka_unit_test(test_image_decode_png_palette_trns_gives_rgba),
        cmocka_unit_test(test_image_decode_png_colour_key_adds_alpha),
        cmocka_unit_test(test_image_decode_png_adam7_exact),
        cmocka_unit_test(test_image_decode_png_truncated_fails),
        cmocka_unit_test(test_image_decode_png_bad_idat_crc_fails),
        cmocka_unit_test(test_image_decode_png_bad_text_crc_ignored),
        cmocka_unit_test(test_image_probe_png_text_bomb_refused),
        cmocka_unit_test(test_image_decode_jpeg_420_close),
        cmocka_unit_test(test_image_decode_jpeg_444_close),
        cmocka_unit_test(test_image_decode_jpeg_gray_one_channel),
        cmocka_unit_test(test_image_decode_jpeg_progressive_close),
        cmocka_unit_test(test_image_decode_jpeg_cmyk_gives_rgb),
        cmocka_unit_test(test_image_decode_exif_orientations_upright),
        cmocka_unit_test(test_image_decode_exif_invalid_orientation_ignored),
        cmocka_unit_test(test_image_decode_jpeg_truncated_fails),
        cmocka_unit_test(test_image_decode_jpeg_12bit_refused),
        cmocka_unit_test(test_image_decode_jpeg_soi_eoi_corrupt),
        cmocka_unit_test(test_image_probe_jpeg_many_scans_refused),
        cmocka_unit_test(test_image_decode_webp_lossless_exact),
        cmocka_unit_test(test_image_probe_reports_upright_size_and_channels),
        cmocka_unit_test(test_image_probe_over_byte_limit_etoobig),
        cmocka_unit_test(test_image_probe_over_pixel_limit_refused),
        cmocka_unit_test(test_image_probe_over_side_limit_refused),
        cmocka_unit_test(test_image_decode_header_bombs_refused_quickly),
        cmocka_unit_test(test_image_decode_not_image_eformat),
        cmocka_unit_test(test_image_decode_corpus_matches_manifest),
        cmocka_unit_test(test_image_decode_corpus_bombs_refused_quickly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
