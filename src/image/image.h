/*
 * Images: format detection by content, header probing, decoding every
 * JPEG and PNG pixel layout to 8-bit gray, gray+alpha, RGB or RGBA with the
 * EXIF orientation applied, and encoding PNG and JPEG. The gateway probes
 * uploads; the worker and `imgflow process` decode and encode.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_IMAGE_IMAGE_H
#define IMGFLOW_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

enum image_format {
    IMAGE_FORMAT_UNKNOWN = 0,
    IMAGE_FORMAT_JPEG,
    IMAGE_FORMAT_PNG,
    IMAGE_FORMAT_WEBP
};

/* Limits checked before any pixel buffer is allocated; 0 means default. */
struct image_limits {
    size_t max_bytes;    /* encoded input size, bytes (default 50 MB) */
    uint32_t max_side;   /* width or height, pixels (default 30000) */
    uint64_t max_pixels; /* width * height (default 100 million) */
};

#define IMAGE_DEFAULT_MAX_BYTES  (50u * 1000u * 1000u)
#define IMAGE_DEFAULT_MAX_SIDE   30000u
#define IMAGE_DEFAULT_MAX_PIXELS 100000000ull

/* What a header says, without decoding pixels. */
struct image_info {
    enum image_format format;
    uint32_t width;  /* upright width, after the EXIF orientation, pixels */
    uint32_t height; /* upright height, pixels */
    int channels;    /* channels decoding will give: 1, 2, 3 or 4 */
};

/*
 * An 8-bit interleaved image: channels is 1 (gray), 2 (gray+alpha),
 * 3 (RGB) or 4 (RGBA); stride is bytes per row (>= width * channels).
 * The pixels belong to the image and are released by image_free().
 */
struct image {
    uint32_t width;
    uint32_t height;
    int channels;
    size_t stride;
    uint8_t *pixels;
};

/* Output settings; image_encode_opts_default() gives the defaults. */
struct image_encode_opts {
    int png_level;    /* zlib level 0..9 */
    int png_filter;   /* -1: library choice; else a PNG filter type 0..4 */
    int jpeg_quality; /* 1..100 */
};

void image_limits_default(struct image_limits *lim);
void image_encode_opts_default(struct image_encode_opts *opts);

/* Format from the first bytes; never from a name. */
enum image_format image_detect(const uint8_t *buf, size_t len);

/* "jpeg", "png", "webp" or "unknown"; and the MIME type and extension. */
const char *image_format_name(enum image_format fmt);
const char *image_format_mime(enum image_format fmt);
const char *image_format_ext(enum image_format fmt);

/* Parse "png", "jpeg"/"jpg", "webp"; IMAGE_FORMAT_UNKNOWN otherwise. */
enum image_format image_format_parse(const char *name);

/*
 * Read the header of an encoded image and check it against the limits.
 * Returns 0, IMGFLOW_ETOOBIG (bytes), IMGFLOW_EFORMAT (not JPEG/PNG/WebP),
 * IMGFLOW_EREFUSED (dimensions or pixels over the limits) or
 * IMGFLOW_ECORRUPT (unreadable header). err receives a sentence a person
 * understands. Thread-safe.
 */
int image_probe(const uint8_t *buf, size_t len,
                const struct image_limits *lim, struct image_info *info,
                char *err, size_t errlen);

/*
 * Decode to 8 bits with the EXIF orientation applied. Limits are checked
 * before pixels are allocated. On success the caller owns out->pixels.
 * Returns as image_probe(), plus IMGFLOW_ENOMEM. Thread-safe.
 */
int image_decode(const uint8_t *buf, size_t len,
                 const struct image_limits *lim, struct image *out,
                 char *err, size_t errlen);

/*
 * Encode to PNG, JPEG or WebP. On success *out is malloc'd and owned by
 * the caller. JPEG drops an alpha channel; WebP is lossy at jpeg_quality.
 * opts may be NULL for the defaults. Thread-safe.
 */
int image_encode(const struct image *img, enum image_format fmt,
                 const struct image_encode_opts *opts, uint8_t **out,
                 size_t *outlen, char *err, size_t errlen);

/* Allocate a zeroed image; IMGFLOW_EINVAL on zero or overflowing sizes. */
int image_alloc(struct image *img, uint32_t width, uint32_t height,
                int channels);

/* Release the pixels and zero the struct; NULL and empty images are fine. */
void image_free(struct image *img);

#endif
