/*
 * PNG through libspng: header reading, decoding every colour type and bit
 * depth to 8-bit gray, gray+alpha, RGB or RGBA, and encoding.
 * SPDX-License-Identifier: MIT
 */
#include "image/image_int.h"

#include <spng.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/*
 * Ancillary chunks we keep while decoding (text, ICC profiles, EXIF) are
 * bounded so that a zTXt bomb cannot inflate without limit; IDAT data is
 * streamed and not subject to these.
 */
#define PNG_MAX_CHUNK_BYTES (16u * 1024u * 1024u)
#define PNG_MAX_CACHE_BYTES (64u * 1024u * 1024u)

/* Largest side the PNG format allows. */
#define PNG_MAX_SIDE 0x7fffffffu

/* How to ask libspng for the pixels of one colour type. */
struct png_plan {
    int fmt;      /* SPNG_FMT_* */
    int flags;    /* SPNG_DECODE_* */
    int wide;     /* samples arrive as 16 bits and are reduced after */
    int channels; /* channels delivered */
};

static int
png_error_code(int spng_rc)
{
    switch (spng_rc) {
    case SPNG_EMEM:
        return IMGFLOW_ENOMEM;
    case SPNG_EUSER_WIDTH:
    case SPNG_EUSER_HEIGHT:
    case SPNG_ECHUNK_LIMITS:
        return IMGFLOW_EREFUSED;
    default:
        return IMGFLOW_ECORRUPT;
    }
}

static uint32_t
read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/*
 * A decoder context over buf. Critical chunks with a bad CRC are errors;
 * ancillary ones are dropped, as libpng does, since they do not change
 * the pixels.
 */
static int
png_open(const uint8_t *buf, size_t len, uint32_t max_w, uint32_t max_h,
         spng_ctx **ctxp)
{
    spng_ctx *ctx = spng_ctx_new(0);
    int rc;

    *ctxp = NULL;
    if (ctx == NULL) {
        return SPNG_EMEM;
    }

    rc = spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_DISCARD);
    if (rc == 0) {
        rc = spng_set_image_limits(ctx, max_w, max_h);
    }

    if (rc == 0) {
        rc = spng_set_chunk_limits(ctx, PNG_MAX_CHUNK_BYTES,
                                   PNG_MAX_CACHE_BYTES);
    }

    if (rc == 0) {
        rc = spng_set_png_buffer(ctx, buf, len);
    }

    if (rc != 0) {
        spng_ctx_free(ctx);
        return rc;
    }

    *ctxp = ctx;
    return 0;
}

/*
 * Pick the libspng output for a colour type. libspng converts palette,
 * RGB and RGBA of any depth to 8 bits itself, but offers 8-bit gray only
 * for depths up to 8 and has no gray+alpha output: 16-bit gray and
 * gray+alpha come as 16-bit samples we reduce, 8-bit gray+alpha as
 * stored. A tRNS chunk adds an alpha channel.
 */
static void
png_plan_for(const struct spng_ihdr *ihdr, int has_trns, struct png_plan *p)
{
    memset(p, 0, sizeof(*p));
    switch (ihdr->color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
        p->channels = has_trns ? 2 : 1;
        p->flags = has_trns ? SPNG_DECODE_TRNS : 0;
        p->wide = ihdr->bit_depth == 16;
        if (p->wide) {
            p->fmt = has_trns ? SPNG_FMT_GA16 : SPNG_FMT_PNG;
        } else {
            p->fmt = has_trns ? SPNG_FMT_GA8 : SPNG_FMT_G8;
        }
        break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
        p->channels = 2;
        p->fmt = SPNG_FMT_PNG;
        p->wide = ihdr->bit_depth == 16;
        break;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
        p->channels = 4;
        p->fmt = SPNG_FMT_RGBA8;
        break;
    default:
        p->channels = has_trns ? 4 : 3;
        p->fmt = has_trns ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
        p->flags = has_trns ? SPNG_DECODE_TRNS : 0;
        break;
    }
}

/* IHDR and whether a tRNS chunk precedes the image data. */
static int
png_read_header(spng_ctx *ctx, struct spng_ihdr *ihdr, int *has_trns)
{
    struct spng_trns trns;
    int rc;

    rc = spng_get_ihdr(ctx, ihdr);
    if (rc != 0) {
        return rc;
    }

    rc = spng_get_trns(ctx, &trns);
    *has_trns = rc == 0;
    return rc == SPNG_ECHUNKAVAIL ? 0 : rc;
}

int
image__png_probe(const uint8_t *buf, size_t len, const struct image_limits *lim,
                 struct image__header *hdr, char *err, size_t errlen)
{
    spng_ctx *ctx = NULL;
    struct spng_ihdr ihdr;
    struct png_plan plan;
    uint32_t max_side;
    int has_trns, rc;

    /*
     * The IHDR sits at a fixed place: check the declared size before
     * libspng reads on (it wants the chunks after IHDR too).
     */
    if (len >= 24 && memcmp(buf + 12, "IHDR", 4) == 0) {
        hdr->width = read_be32(buf + 16);
        hdr->height = read_be32(buf + 20);
        if (hdr->width != 0 && hdr->height != 0) {
            rc = image__check_size(hdr->width, hdr->height, lim, err, errlen);
            if (rc != 0) {
                return rc;
            }
        }
    }

    max_side = lim->max_side < PNG_MAX_SIDE ? lim->max_side : PNG_MAX_SIDE;
    rc = png_open(buf, len, max_side, max_side, &ctx);
    if (rc == 0) {
        rc = png_read_header(ctx, &ihdr, &has_trns);
    }

    /* libspng refused a side; say how big the image claims to be. */
    if ((rc == SPNG_EUSER_WIDTH || rc == SPNG_EUSER_HEIGHT) && len >= 24) {
        hdr->width = read_be32(buf + 16);
        hdr->height = read_be32(buf + 20);
        rc = image__check_size(hdr->width, hdr->height, lim, err, errlen);
        if (rc == 0) {
            image__seterr(err, errlen, "PNG is larger than the limits");
            rc = IMGFLOW_EREFUSED;
        }
        goto out;
    }

    if (rc == SPNG_ECHUNK_LIMITS) {
        image__seterr(err, errlen,
                      "PNG metadata (text, ICC profile or EXIF) is over the "
                      "%u MiB limit",
                      PNG_MAX_CHUNK_BYTES >> 20);
    } else if (rc != 0) {
        image__seterr(err, errlen, "PNG header is unreadable: %s",
                      spng_strerror(rc));
    }

    if (rc != 0) {
        rc = png_error_code(rc);
        goto out;
    }

    png_plan_for(&ihdr, has_trns, &plan);
    hdr->width = ihdr.width;
    hdr->height = ihdr.height;
    hdr->channels = plan.channels;
    hdr->orientation = 1;

out:
    spng_ctx_free(ctx);
    return rc;
}

/*
 * Whether every IDAT chunk lies whole inside buf. libspng stops reading
 * when the zlib stream ends, so a file cut inside the last IDAT's CRC
 * would otherwise pass as complete.
 */
static int
png_idat_complete(const uint8_t *buf, size_t len)
{
    size_t pos = 8;

    while (len - pos >= 8) {
        size_t n = read_be32(buf + pos);

        if (memcmp(buf + pos + 4, "IEND", 4) == 0) {
            return 1;
        }

        if (len - pos - 8 < n + 4) {
            return memcmp(buf + pos + 4, "IDAT", 4) != 0;
        }
        pos += 12 + n;
    }
    return 1;
}

/* 16-bit host-order samples to their high bytes, in place, front to back. */
static void
reduce_16_to_8(uint8_t *buf, size_t samples)
{
    for (size_t i = 0; i < samples; i++) {
        uint16_t v;

        memcpy(&v, buf + i * 2, sizeof(v));
        buf[i] = (uint8_t)(v >> 8);
    }
}

/*
 * Open buf again for decoding and settle the output layout. The header
 * was probed already; the size check only guards our own arithmetic.
 */
static int
png_prepare(const uint8_t *buf, size_t len, const struct image__header *hdr,
            spng_ctx **ctx, struct png_plan *plan, size_t *size, char *err,
            size_t errlen)
{
    struct spng_ihdr ihdr;
    int has_trns, rc;

    rc = png_open(buf, len, hdr->width, hdr->height, ctx);
    if (rc == 0) {
        rc = png_read_header(*ctx, &ihdr, &has_trns);
    }

    if (rc == 0) {
        png_plan_for(&ihdr, has_trns, plan);
        rc = spng_decoded_image_size(*ctx, plan->fmt, size);
    }

    if (rc != 0) {
        image__seterr(err, errlen, "PNG header is unreadable: %s",
                      spng_strerror(rc));
        return png_error_code(rc);
    }

    if (plan->channels != hdr->channels ||
        *size != (size_t)hdr->width * (size_t)plan->channels * hdr->height *
                     (plan->wide ? 2 : 1)) {
        image__seterr(err, errlen, "PNG decoder disagrees with its header");
        return IMGFLOW_EINTERNAL;
    }
    return 0;
}

int
image__png_decode(const uint8_t *buf, size_t len,
                  const struct image__header *hdr, struct image *out, char *err,
                  size_t errlen)
{
    spng_ctx *ctx = NULL;
    struct png_plan plan;
    uint8_t *pixels = NULL, *shrunk;
    size_t size = 0;
    int rc;

    rc = png_prepare(buf, len, hdr, &ctx, &plan, &size, err, errlen);
    if (rc != 0) {
        goto out;
    }

    pixels = malloc(size);
    if (pixels == NULL) {
        image__seterr(err, errlen, "out of memory for a %ux%u PNG image",
                      hdr->width, hdr->height);
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    rc = spng_decode_image(ctx, pixels, size, plan.fmt, plan.flags);
    if (rc == 0 && !png_idat_complete(buf, len)) {
        rc = SPNG_EOF;
    }

    if (rc != 0) {
        image__seterr(err, errlen, "PNG data is damaged: %s",
                      spng_strerror(rc));
        rc = png_error_code(rc);
        goto out;
    }

    /* Halve a 16-bit buffer; keeping the larger one is fine if this fails. */
    if (plan.wide) {
        size /= 2;
        reduce_16_to_8(pixels, size);
        shrunk = realloc(pixels, size);
        pixels = shrunk != NULL ? shrunk : pixels;
    }

    out->width = hdr->width;
    out->height = hdr->height;
    out->channels = plan.channels;
    out->stride = (size_t)hdr->width * (size_t)plan.channels;
    out->pixels = pixels;
    pixels = NULL;

out:
    free(pixels);
    spng_ctx_free(ctx);
    return rc;
}

static int
png_filter_choice(int filter)
{
    static const int choices[5] = {
        SPNG_FILTER_CHOICE_NONE, SPNG_FILTER_CHOICE_SUB, SPNG_FILTER_CHOICE_UP,
        SPNG_FILTER_CHOICE_AVG, SPNG_FILTER_CHOICE_PAETH};

    return choices[filter];
}

static int
png_encode_setup(spng_ctx *ctx, const struct image *img,
                 const struct image_encode_opts *opts)
{
    static const uint8_t color_types[5] = {
        0, SPNG_COLOR_TYPE_GRAYSCALE, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA,
        SPNG_COLOR_TYPE_TRUECOLOR, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
    struct spng_ihdr ihdr = {0};
    int rc;

    ihdr.width = img->width;
    ihdr.height = img->height;
    ihdr.bit_depth = 8;
    ihdr.color_type = color_types[img->channels];
    rc = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (rc == 0) {
        rc = spng_set_ihdr(ctx, &ihdr);
    }

    if (rc == 0) {
        rc = spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, opts->png_level);
    }

    if (rc == 0 && opts->png_filter >= 0) {
        rc = spng_set_option(ctx, SPNG_FILTER_CHOICE,
                             png_filter_choice(opts->png_filter));
    }
    return rc;
}

int
image__png_encode(const struct image *img, const struct image_encode_opts *opts,
                  uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    spng_ctx *ctx = NULL;
    size_t row_len = (size_t)img->width * img->channels;
    int rc;

    if (img->width > PNG_MAX_SIDE || img->height > PNG_MAX_SIDE) {
        image__seterr(err, errlen, "a %ux%u image is too large for PNG",
                      img->width, img->height);
        return IMGFLOW_EINVAL;
    }

    ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (ctx == NULL) {
        image__seterr(err, errlen, "out of memory encoding PNG");
        return IMGFLOW_ENOMEM;
    }

    /* Row by row, so any stride works without a packed copy. */
    rc = png_encode_setup(ctx, img, opts);
    if (rc == 0) {
        rc = spng_encode_image(ctx, NULL, 0, SPNG_FMT_PNG,
                               SPNG_ENCODE_PROGRESSIVE | SPNG_ENCODE_FINALIZE);
    }

    for (uint32_t y = 0; rc == 0 && y < img->height; y++) {
        rc = spng_encode_row(ctx, img->pixels + (size_t)y * img->stride,
                             row_len);
    }

    /* The last row reports the end of the image, and the file is done. */
    if (rc == SPNG_EOI) {
        *out = spng_get_png_buffer(ctx, outlen, &rc);
        if (rc == 0 && *out == NULL) {
            rc = SPNG_EINTERNAL;
        }
    } else if (rc == 0) {
        rc = SPNG_EINTERNAL;
    }

    if (rc != 0) {
        image__seterr(err, errlen, "PNG encoding failed: %s",
                      spng_strerror(rc));
        rc = rc == SPNG_EMEM ? IMGFLOW_ENOMEM : IMGFLOW_EINTERNAL;
    }

    spng_ctx_free(ctx);
    return rc;
}
