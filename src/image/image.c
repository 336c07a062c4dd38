/*
 * Image basics used by the gateway, the worker and the decoders: format
 * names and sniffing, default limits and options, and pixel buffers.
 * SPDX-License-Identifier: MIT
 */
#include "image/image.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "image/image_int.h"

/* Fills *lim with the defaults from image.h. */
void
image_limits_default(struct image_limits *lim)
{
    lim->max_bytes = IMAGE_DEFAULT_MAX_BYTES;
    lim->max_side = IMAGE_DEFAULT_MAX_SIDE;
    lim->max_pixels = IMAGE_DEFAULT_MAX_PIXELS;
}

/*
 * Fills *opts with the defaults. On a 6 MP photo, zlib level 2 with the Up
 * filter on every row encodes about five times faster than level 6 with
 * libspng's per-row filter choice, and the file comes out smaller (level 6
 * uses Z_FILTERED, which suits photos poorly). Quality 90 is the usual
 * JPEG compromise.
 */
void
image_encode_opts_default(struct image_encode_opts *opts)
{
    opts->png_level = 2;
    opts->png_filter = 2;
    opts->jpeg_quality = 90;
}

/* Sniffs the format from the first bytes. Thread-safe. */
enum image_format
image_detect(const uint8_t *buf, size_t len)
{
    static const uint8_t png_sig[8] = {0x89, 'P',  'N',  'G',
                                       0x0d, 0x0a, 0x1a, 0x0a};

    if (buf == NULL) {
        return IMAGE_FORMAT_UNKNOWN;
    }

    if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff) {
        return IMAGE_FORMAT_JPEG;
    }

    if (len >= sizeof(png_sig) && memcmp(buf, png_sig, sizeof(png_sig)) == 0) {
        return IMAGE_FORMAT_PNG;
    }

    if (len >= 12 && memcmp(buf, "RIFF", 4) == 0 &&
        memcmp(buf + 8, "WEBP", 4) == 0) {
        return IMAGE_FORMAT_WEBP;
    }
    return IMAGE_FORMAT_UNKNOWN;
}

/* Short lower-case name of a format; "unknown" for anything else. */
const char *
image_format_name(enum image_format fmt)
{
    switch (fmt) {
    case IMAGE_FORMAT_JPEG:
        return "jpeg";
    case IMAGE_FORMAT_PNG:
        return "png";
    case IMAGE_FORMAT_WEBP:
        return "webp";
    case IMAGE_FORMAT_UNKNOWN:
        break;
    }
    return "unknown";
}

/* MIME type of a format; application/octet-stream when unknown. */
const char *
image_format_mime(enum image_format fmt)
{
    switch (fmt) {
    case IMAGE_FORMAT_JPEG:
        return "image/jpeg";
    case IMAGE_FORMAT_PNG:
        return "image/png";
    case IMAGE_FORMAT_WEBP:
        return "image/webp";
    case IMAGE_FORMAT_UNKNOWN:
        break;
    }
    return "application/octet-stream";
}

/* File extension of a format without the dot; "bin" when unknown. */
const char *
image_format_ext(enum image_format fmt)
{
    switch (fmt) {
    case IMAGE_FORMAT_JPEG:
        return "jpg";
    case IMAGE_FORMAT_PNG:
        return "png";
    case IMAGE_FORMAT_WEBP:
        return "webp";
    case IMAGE_FORMAT_UNKNOWN:
        break;
    }
    return "bin";
}

/* Format from a user-supplied name, ignoring case; NULL gives UNKNOWN. */
enum image_format
image_format_parse(const char *name)
{
    if (name == NULL) {
        return IMAGE_FORMAT_UNKNOWN;
    }

    if (strcasecmp(name, "png") == 0) {
        return IMAGE_FORMAT_PNG;
    }

    if (strcasecmp(name, "jpeg") == 0 || strcasecmp(name, "jpg") == 0) {
        return IMAGE_FORMAT_JPEG;
    }

    if (strcasecmp(name, "webp") == 0) {
        return IMAGE_FORMAT_WEBP;
    }
    return IMAGE_FORMAT_UNKNOWN;
}

/*
 * Allocates a zeroed, tightly packed image. The byte count is computed in
 * 64 bits and checked against SIZE_MAX, so a header that would wrap a
 * 32-bit product is refused rather than under-allocated.
 */
int
image_alloc(struct image *img, uint32_t width, uint32_t height, int channels)
{
    uint64_t stride, bytes;

    if (img == NULL) {
        return IMGFLOW_EINVAL;
    }

    memset(img, 0, sizeof(*img));
    if (width == 0 || height == 0 || channels < 1 || channels > 4) {
        return IMGFLOW_EINVAL;
    }

    /* width * 4 cannot overflow 64 bits; the second product can. */
    stride = (uint64_t)width * (uint64_t)channels;
    if (stride > UINT64_MAX / height || stride * height > SIZE_MAX) {
        return IMGFLOW_EINVAL;
    }

    bytes = stride * height;
    img->pixels = calloc(1, (size_t)bytes);
    if (img->pixels == NULL) {
        return IMGFLOW_ENOMEM;
    }

    img->width = width;
    img->height = height;
    img->channels = channels;
    img->stride = (size_t)stride;
    return 0;
}

/* Frees the pixels and zeroes the struct; NULL is fine. */
void
image_free(struct image *img)
{
    if (img == NULL) {
        return;
    }

    free(img->pixels);
    memset(img, 0, sizeof(*img));
}

int
image__copy_out(const void *data, size_t len, uint8_t **out, size_t *outlen)
{
    *out = malloc(len);
    if (*out == NULL) {
        return IMGFLOW_ENOMEM;
    }

    memcpy(*out, data, len);
    *outlen = len;
    return 0;
}

void
image__seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
