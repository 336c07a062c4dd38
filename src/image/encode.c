/*
 * Encoding a processed image for storage: checks the image and options,
 * then hands over to the PNG, JPEG or WebP encoder. The worker and
 * `imgflow process` call it after the kernel.
 * SPDX-License-Identifier: MIT
 */
#include "image/image.h"

#include <stddef.h>

#include "core/error.h"
#include "image/image_int.h"

static int
check_image(const struct image *img, char *err, size_t errlen)
{
    if (img == NULL || img->pixels == NULL) {
        image__seterr(err, errlen, "no image to encode");
        return IMGFLOW_EINVAL;
    }

    if (img->width == 0 || img->height == 0) {
        image__seterr(err, errlen, "cannot encode an empty %ux%u image",
                      img->width, img->height);
        return IMGFLOW_EINVAL;
    }

    if (img->channels < 1 || img->channels > 4) {
        image__seterr(err, errlen, "cannot encode %d channels", img->channels);
        return IMGFLOW_EINVAL;
    }

    if (img->stride / (size_t)img->channels < img->width) {
        image__seterr(err, errlen, "row stride %zu is shorter than a row",
                      img->stride);
        return IMGFLOW_EINVAL;
    }
    return 0;
}

static int
check_opts(const struct image_encode_opts *opts, char *err, size_t errlen)
{
    if (opts->png_level < 0 || opts->png_level > 9) {
        image__seterr(err, errlen, "PNG level %d is not in 0..9",
                      opts->png_level);
        return IMGFLOW_EINVAL;
    }

    if (opts->png_filter < -1 || opts->png_filter > 4) {
        image__seterr(err, errlen, "PNG filter %d is not in -1..4",
                      opts->png_filter);
        return IMGFLOW_EINVAL;
    }

    if (opts->jpeg_quality < 1 || opts->jpeg_quality > 100) {
        image__seterr(err, errlen, "quality %d is not in 1..100",
                      opts->jpeg_quality);
        return IMGFLOW_EINVAL;
    }
    return 0;
}

/*
 * Encodes img (any stride) as fmt. opts may be NULL for the defaults.
 * On success *out is malloc'd and owned by the caller; on failure *out is
 * NULL. Thread-safe.
 */
int
image_encode(const struct image *img, enum image_format fmt,
             const struct image_encode_opts *opts, uint8_t **out,
             size_t *outlen, char *err, size_t errlen)
{
    struct image_encode_opts defaults;
    int rc;

    image__seterr(err, errlen, "%s", "");
    if (out == NULL || outlen == NULL) {
        image__seterr(err, errlen, "no output buffer given");
        return IMGFLOW_EINVAL;
    }

    *out = NULL;
    *outlen = 0;
    if (opts == NULL) {
        image_encode_opts_default(&defaults);
        opts = &defaults;
    }

    rc = check_image(img, err, errlen);
    if (rc == 0) {
        rc = check_opts(opts, err, errlen);
    }

    if (rc != 0) {
        return rc;
    }

    switch (fmt) {
    case IMAGE_FORMAT_PNG:
        return image__png_encode(img, opts, out, outlen, err, errlen);
    case IMAGE_FORMAT_JPEG:
        return image__jpeg_encode(img, opts, out, outlen, err, errlen);
    case IMAGE_FORMAT_WEBP:
        return image__webp_encode(img, opts, out, outlen, err, errlen);
    default:
        image__seterr(err, errlen, "cannot encode to format %d", (int)fmt);
        return IMGFLOW_EINVAL;
    }
}
