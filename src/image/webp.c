/*
 * WebP through libwebp: still images only, decoded to RGB or RGBA, and
 * lossy encoding at the JPEG quality setting.
 * SPDX-License-Identifier: MIT
 */
#include "image/image_int.h"

#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include "core/error.h"

static int
webp_error_code(VP8StatusCode status)
{
    return status == VP8_STATUS_OUT_OF_MEMORY ? IMGFLOW_ENOMEM
                                              : IMGFLOW_ECORRUPT;
}

static const char *
webp_status_text(VP8StatusCode status)
{
    switch (status) {
    case VP8_STATUS_OUT_OF_MEMORY:
        return "out of memory";
    case VP8_STATUS_INVALID_PARAM:
        return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR:
        return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return "unsupported feature";
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return "data ends early";
    default:
        return "decoder error";
    }
}

int
image__webp_probe(const uint8_t *buf, size_t len,
                  const struct image_limits *lim, struct image__header *hdr,
                  char *err, size_t errlen)
{
    WebPBitstreamFeatures features;
    VP8StatusCode status;

    (void)lim;
    status = WebPGetFeatures(buf, len, &features);
    if (status != VP8_STATUS_OK) {
        image__seterr(err, errlen, "WebP header is unreadable: %s",
                      webp_status_text(status));
        return webp_error_code(status);
    }

    if (features.has_animation) {
        image__seterr(err, errlen, "animated WebP is not supported");
        return IMGFLOW_EFORMAT;
    }

    hdr->width = (uint32_t)features.width;
    hdr->height = (uint32_t)features.height;
    hdr->channels = features.has_alpha ? 4 : 3;
    hdr->orientation = 1;
    return 0;
}

int
image__webp_decode(const uint8_t *buf, size_t len,
                   const struct image__header *hdr, struct image *out,
                   char *err, size_t errlen)
{
    WebPDecoderConfig config;
    VP8StatusCode status;
    int rc;

    rc = image_alloc(out, hdr->width, hdr->height, hdr->channels);
    if (rc != 0) {
        image__seterr(err, errlen, "out of memory for a %ux%u WebP image",
                      hdr->width, hdr->height);
        return rc;
    }

    if (!WebPInitDecoderConfig(&config)) {
        image__seterr(err, errlen, "libwebp version mismatch");
        rc = IMGFLOW_EINTERNAL;
        goto out;
    }

    /* Decode straight into our buffer; libwebp allocates only scratch. */
    config.output.colorspace = hdr->channels == 4 ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = out->pixels;
    config.output.u.RGBA.stride = (int)out->stride;
    config.output.u.RGBA.size = out->stride * out->height;
    status = WebPDecode(buf, len, &config);
    WebPFreeDecBuffer(&config.output);
    if (status != VP8_STATUS_OK) {
        image__seterr(err, errlen, "WebP data is damaged: %s",
                      webp_status_text(status));
        rc = webp_error_code(status);
    }

out:
    if (rc != 0) {
        image_free(out);
    }
    return rc;
}

/* Gray and gray+alpha widened to RGB and RGBA, which WebP needs. */
static uint8_t *
widen_gray(const struct image *img, int *channels)
{
    int alpha = img->channels == 2;
    int oc = alpha ? 4 : 3;
    uint8_t *rgb = malloc((size_t)img->width * img->height * (size_t)oc);

    *channels = oc;
    if (rgb == NULL) {
        return NULL;
    }

    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *s = img->pixels + (size_t)y * img->stride;
        uint8_t *d = rgb + (size_t)y * img->width * oc;

        for (uint32_t x = 0; x < img->width; x++, s += img->channels) {
            *d++ = s[0];
            *d++ = s[0];
            *d++ = s[0];
            if (alpha) {
                *d++ = s[1];
            }
        }
    }
    return rgb;
}

int
image__webp_encode(const struct image *img,
                   const struct image_encode_opts *opts, uint8_t **out,
                   size_t *outlen, char *err, size_t errlen)
{
    uint8_t *wide = NULL, *webp = NULL;
    const uint8_t *src = img->pixels;
    size_t stride = img->stride, n;
    int channels = img->channels, rc = 0;

    if (img->width > WEBP_MAX_DIMENSION || img->height > WEBP_MAX_DIMENSION) {
        image__seterr(err, errlen,
                      "a %ux%u image is too large for WebP (at most %d "
                      "pixels per side)",
                      img->width, img->height, WEBP_MAX_DIMENSION);
        return IMGFLOW_EINVAL;
    }

    if (channels <= 2) {
        wide = widen_gray(img, &channels);
        if (wide == NULL) {
            image__seterr(err, errlen, "out of memory encoding WebP");
            return IMGFLOW_ENOMEM;
        }
        src = wide;
        stride = (size_t)img->width * channels;
    }

    if (channels == 4) {
        n = WebPEncodeRGBA(src, (int)img->width, (int)img->height, (int)stride,
                           (float)opts->jpeg_quality, &webp);
    } else {
        n = WebPEncodeRGB(src, (int)img->width, (int)img->height, (int)stride,
                          (float)opts->jpeg_quality, &webp);
    }

    if (n == 0) {
        image__seterr(err, errlen, "WebP encoding failed");
        rc = IMGFLOW_EINTERNAL;
        goto out;
    }

    rc = image__copy_out(webp, n, out, outlen);
    if (rc != 0) {
        image__seterr(err, errlen, "out of memory encoding WebP");
    }

out:
    WebPFree(webp);
    free(wide);
    return rc;
}
