/*
 * Probing and decoding: sniff the format, read its header, enforce the
 * byte, side and pixel limits, then hand over to the format's decoder and
 * turn the result upright. The gateway probes each upload; the worker and
 * `imgflow process` decode.
 * SPDX-License-Identifier: MIT
 */
#include "image/image.h"

#include <inttypes.h>
#include <string.h>

#include "core/error.h"
#include "image/image_int.h"

/* Formats people send that we do not read, named so the error says so. */
static const struct {
    const char *magic;
    size_t len;
    const char *name;
} unsupported_formats[] = {
    {"GIF87a", 6, "GIF"}, {"GIF89a", 6, "GIF"}, {"BM", 2, "BMP"},
    {"II*\0", 4, "TIFF"}, {"MM\0*", 4, "TIFF"}, {"\0\0\1\0", 4, "ICO"},
};

/* Zero fields mean "use the default", so a half-filled config stays safe. */
static void
limits_resolve(const struct image_limits *lim, struct image_limits *out)
{
    image_limits_default(out);
    if (lim == NULL) {
        return;
    }

    if (lim->max_bytes != 0) {
        out->max_bytes = lim->max_bytes;
    }

    if (lim->max_side != 0) {
        out->max_side = lim->max_side;
    }

    if (lim->max_pixels != 0) {
        out->max_pixels = lim->max_pixels;
    }
}

static int
refuse_unknown(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < sizeof(unsupported_formats) / sizeof(*unsupported_formats);
         i++) {
        if (len >= unsupported_formats[i].len &&
            memcmp(buf, unsupported_formats[i].magic,
                   unsupported_formats[i].len) == 0) {
            image__seterr(err, errlen,
                          "%s images are not supported; send JPEG, PNG or "
                          "WebP",
                          unsupported_formats[i].name);
            return IMGFLOW_EFORMAT;
        }
    }

    image__seterr(err, errlen, "data is not a JPEG, PNG or WebP image");
    return IMGFLOW_EFORMAT;
}

/*
 * Check upright dimensions against the limits. Pixels come first because
 * they bound memory; 64-bit arithmetic so 65536x65536 cannot wrap.
 */
int
image__check_size(uint32_t width, uint32_t height,
                  const struct image_limits *lim, char *err, size_t errlen)
{
    uint64_t pixels = (uint64_t)width * height;

    if (pixels > lim->max_pixels) {
        image__seterr(err, errlen,
                      "image is %" PRIu32 "x%" PRIu32 " (%" PRIu64
                      " pixels); the limit is %" PRIu64 " pixels",
                      width, height, pixels, lim->max_pixels);
        return IMGFLOW_EREFUSED;
    }

    if (width > lim->max_side || height > lim->max_side) {
        image__seterr(err, errlen,
                      "image is %" PRIu32 "x%" PRIu32 " pixels; the limit is "
                      "%" PRIu32 " pixels per side",
                      width, height, lim->max_side);
        return IMGFLOW_EREFUSED;
    }
    return 0;
}

/*
 * Everything image_probe() and image_decode() share: byte limit, format,
 * header and dimension limits. On success and on IMGFLOW_EREFUSED for
 * dimensions, hdr holds what the header says.
 */
static int
read_header(const uint8_t *buf, size_t len, const struct image_limits *lim,
            struct image__header *hdr, char *err, size_t errlen)
{
    struct image_limits l;
    uint32_t width, height;
    int rc;

    memset(hdr, 0, sizeof(*hdr));
    limits_resolve(lim, &l);
    if (len == 0) {
        image__seterr(err, errlen, "the image is empty (0 bytes)");
        return IMGFLOW_EFORMAT;
    }

    if (buf == NULL) {
        image__seterr(err, errlen, "no image buffer given");
        return IMGFLOW_EINVAL;
    }

    if (len > l.max_bytes) {
        image__seterr(err, errlen, "image is %zu bytes; the limit is %zu bytes",
                      len, l.max_bytes);
        return IMGFLOW_ETOOBIG;
    }

    hdr->format = image_detect(buf, len);
    switch (hdr->format) {
    case IMAGE_FORMAT_JPEG:
        rc = image__jpeg_probe(buf, len, &l, hdr, err, errlen);
        break;
    case IMAGE_FORMAT_PNG:
        rc = image__png_probe(buf, len, &l, hdr, err, errlen);
        break;
    case IMAGE_FORMAT_WEBP:
        rc = image__webp_probe(buf, len, &l, hdr, err, errlen);
        break;
    default:
        return refuse_unknown(buf, len, err, errlen);
    }

    if (rc != 0) {
        return rc;
    }

    /*
     * TODO: EXIF orientation from PNG eXIf and WebP EXIF chunks; such
     * images are returned as stored.
     */
    width = hdr->orientation >= 5 ? hdr->height : hdr->width;
    height = hdr->orientation >= 5 ? hdr->width : hdr->height;
    return image__check_size(width, height, &l, err, errlen);
}

/*
 * Reads the header only (no pixel decode; a progressive JPEG is scanned
 * for its markers) and checks the limits. Thread-safe.
 */
int
image_probe(const uint8_t *buf, size_t len, const struct image_limits *lim,
            struct image_info *info, char *err, size_t errlen)
{
    struct image__header hdr;
    int rc;

    image__seterr(err, errlen, "%s", "");
    rc = read_header(buf, len, lim, &hdr, err, errlen);
    if (info == NULL) {
        return rc;
    }

    memset(info, 0, sizeof(*info));
    if (rc == 0 || hdr.width != 0) {
        info->format = hdr.format;
        info->width = hdr.orientation >= 5 ? hdr.height : hdr.width;
        info->height = hdr.orientation >= 5 ? hdr.width : hdr.height;
        info->channels = hdr.channels;
    }
    return rc;
}

/*
 * Decodes to 8-bit pixels, upright. The limits are checked from the header
 * before the decoder allocates anything sized by the image. Thread-safe.
 */
int
image_decode(const uint8_t *buf, size_t len, const struct image_limits *lim,
             struct image *out, char *err, size_t errlen)
{
    struct image__header hdr;
    struct image img = {0};
    int rc;

    image__seterr(err, errlen, "%s", "");
    if (out == NULL) {
        image__seterr(err, errlen, "no output image given");
        return IMGFLOW_EINVAL;
    }

    memset(out, 0, sizeof(*out));
    rc = read_header(buf, len, lim, &hdr, err, errlen);
    if (rc != 0) {
        goto out;
    }

    switch (hdr.format) {
    case IMAGE_FORMAT_JPEG:
        rc = image__jpeg_decode(buf, len, &hdr, &img, err, errlen);
        break;
    case IMAGE_FORMAT_PNG:
        rc = image__png_decode(buf, len, &hdr, &img, err, errlen);
        break;
    case IMAGE_FORMAT_WEBP:
        rc = image__webp_decode(buf, len, &hdr, &img, err, errlen);
        break;
    default:
        rc = IMGFLOW_EINTERNAL;
        break;
    }

    if (rc != 0) {
        goto out;
    }

    rc = image__orient(&img, hdr.orientation);
    if (rc != 0) {
        image__seterr(err, errlen,
                      "out of memory turning a %" PRIu32 "x%" PRIu32
                      " image upright",
                      img.width, img.height);
        goto out;
    }

    *out = img;
    memset(&img, 0, sizeof(img));

out:
    image_free(&img);
    return rc;
}
