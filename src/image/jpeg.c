/*
 * JPEG through TurboJPEG: a marker walk of our own for the EXIF
 * orientation and the progressive scan count, header and pixel decoding
 * with libjpeg warnings treated as errors, CMYK to RGB, and encoding.
 * SPDX-License-Identifier: MIT
 */
#include "image/image_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "core/error.h"

/* Largest side a JPEG frame header can state. */
#define JPEG_MAX_SIDE 65535u

/* What the marker walk found before libjpeg sees the data. */
struct jpeg_walk {
    const uint8_t *exif; /* APP1 payload starting "Exif\0\0", or NULL */
    size_t exif_len;     /* bytes */
    int precision;       /* bits per sample from the first SOF; 0: none */
    int progressive;     /* the first SOF is progressive */
    int scans;           /* SOS markers counted, up to the limit + 1 */
};

static int
is_sof(uint8_t marker)
{
    /* C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not SOFs. */
    return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 &&
           marker != 0xc8 && marker != 0xcc;
}

/*
 * Position of the marker that ends entropy-coded data at pos: an 0xFF not
 * followed by a stuffed zero or a restart marker.
 */
static size_t
skip_entropy(const uint8_t *buf, size_t len, size_t pos)
{
    while (pos + 1 < len) {
        const uint8_t *ff = memchr(buf + pos, 0xff, len - pos - 1);
        uint8_t next;

        if (ff == NULL) {
            return len;
        }

        pos = (size_t)(ff - buf);
        next = buf[pos + 1];
        if (next != 0x00 && (next < 0xd0 || next > 0xd7)) {
            return pos;
        }
        pos += 2;
    }
    return len;
}

static void
walk_segment(struct jpeg_walk *w, uint8_t marker, const uint8_t *seg, size_t n)
{
    if (marker == 0xe1 && w->exif == NULL && n >= 6 &&
        memcmp(seg, "Exif\0\0", 6) == 0) {
        w->exif = seg;
        w->exif_len = n;
    } else if (is_sof(marker) && w->precision == 0 && n >= 1) {
        w->precision = seg[0];
        w->progressive = marker == 0xc2 || marker == 0xc6 || marker == 0xca ||
                         marker == 0xce;
    }
}

/*
 * Walk the marker segments from SOI. A sequential JPEG stops at its first
 * scan, so this costs nothing; a progressive one is followed through its
 * entropy-coded data to count scans, stopping past the limit. Damage is
 * not reported here: libjpeg reads the same bytes next and says what is
 * wrong in its own words.
 */
static void
walk_markers(const uint8_t *buf, size_t len, struct jpeg_walk *w)
{
    size_t pos = 2;

    memset(w, 0, sizeof(*w));
    while (pos + 4 <= len && buf[pos] == 0xff) {
        uint8_t marker = buf[pos + 1];
        size_t seglen;

        /* Fill bytes, standalone markers, then the end of the image. */
        if (marker == 0xff) {
            pos++;
            continue;
        }

        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
            pos += 2;
            continue;
        }

        if (marker == 0xd9) {
            return;
        }

        seglen = (size_t)buf[pos + 2] << 8 | buf[pos + 3];
        if (seglen < 2 || seglen > len - pos - 2) {
            return;
        }

        walk_segment(w, marker, buf + pos + 4, seglen - 2);
        pos += 2 + seglen;
        if (marker == 0xda) {
            w->scans++;
            if (!w->progressive || w->scans > IMAGE__MAX_JPEG_SCANS) {
                return;
            }
            pos = skip_entropy(buf, len, pos);
        }
    }
}

/* libjpeg reports running out of memory only in its message text. */
static int
tj_error_code(tjhandle tj)
{
    const char *msg = tjGetErrorStr2(tj);

    if (strstr(msg, "nsufficient memory") != NULL ||
        strstr(msg, "emory allocation") != NULL) {
        return IMGFLOW_ENOMEM;
    }
    return IMGFLOW_ECORRUPT;
}

/*
 * TurboJPEG 2.1 reports an error for sampling factors it cannot name
 * (TJSAMP_*) although tjDecompress2() decodes them; that case is told
 * apart by the header fields it filled in before giving up. On failure
 * *why says what is wrong.
 */
static int
read_tj_header(tjhandle tj, const uint8_t *buf, size_t len,
               struct image__header *hdr, int *colorspace, const char **why)
{
    int width = 0, height = 0, subsamp = INT_MIN;

    *colorspace = -1;
    if (tjDecompressHeader3(tj, buf, len, &width, &height, &subsamp,
                            colorspace) != 0) {
        if (subsamp != -1 || *colorspace < 0 || width < 1 || height < 1 ||
            tjGetErrorCode(tj) != TJERR_FATAL) {
            *why = tjGetErrorStr2(tj);
            return tj_error_code(tj);
        }
    }

    /* TurboJPEG 2.1 takes a tables-only stream (even SOI+EOI) as 0x0. */
    if (width < 1 || height < 1) {
        *why = "the data holds no image";
        return IMGFLOW_ECORRUPT;
    }

    hdr->width = (uint32_t)width;
    hdr->height = (uint32_t)height;
    return 0;
}

int
image__jpeg_probe(const uint8_t *buf, size_t len,
                  const struct image_limits *lim, struct image__header *hdr,
                  char *err, size_t errlen)
{
    struct jpeg_walk walk;
    tjhandle tj = NULL;
    const char *why = NULL;
    int colorspace, rc;

    (void)lim;
    walk_markers(buf, len, &walk);
    if (walk.scans > IMAGE__MAX_JPEG_SCANS) {
        image__seterr(err, errlen,
                      "progressive JPEG has more than %d scans; decoding it "
                      "would take too long",
                      IMAGE__MAX_JPEG_SCANS);
        rc = IMGFLOW_EREFUSED;
        goto out;
    }

    if (walk.precision != 0 && walk.precision != 8) {
        image__seterr(err, errlen,
                      "JPEG has %d-bit samples; only 8-bit JPEG is supported",
                      walk.precision);
        rc = IMGFLOW_ECORRUPT;
        goto out;
    }

    tj = tjInitDecompress();
    if (tj == NULL) {
        image__seterr(err, errlen, "cannot start the JPEG decoder: %s",
                      tjGetErrorStr2(NULL));
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    rc = read_tj_header(tj, buf, len, hdr, &colorspace, &why);
    if (rc != 0) {
        image__seterr(err, errlen, "JPEG header is unreadable: %s", why);
        goto out;
    }

    /* CMYK and YCCK come out of libjpeg as CMYK; we convert to RGB. */
    hdr->cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
    hdr->channels = colorspace == TJCS_GRAY ? 1 : 3;
    hdr->orientation = 1;
    if (walk.exif != NULL) {
        rc = image__exif_orientation(walk.exif, walk.exif_len);
        if (rc < 0) {
            image__seterr(err, errlen, "out of memory reading EXIF data");
            goto out;
        }
        hdr->orientation = rc;
        rc = 0;
    }

out:
    if (tj != NULL) {
        tjDestroy(tj);
    }
    return rc;
}

/*
 * Adobe-style CMYK as libjpeg delivers it is inverted (255 = no ink), so
 * each colour is the channel scaled by K. Converts in place; the buffer
 * keeps its larger size, which image_free() does not mind.
 */
static void
cmyk_to_rgb(struct image *img)
{
    size_t n = (size_t)img->width * img->height;
    uint8_t *p = img->pixels;

    for (size_t i = 0; i < n; i++) {
        unsigned k = p[i * 4 + 3];

        p[i * 3 + 0] = (uint8_t)((p[i * 4 + 0] * k + 127) / 255);
        p[i * 3 + 1] = (uint8_t)((p[i * 4 + 1] * k + 127) / 255);
        p[i * 3 + 2] = (uint8_t)((p[i * 4 + 2] * k + 127) / 255);
    }

    img->channels = 3;
    img->stride = (size_t)img->width * 3;
}

int
image__jpeg_decode(const uint8_t *buf, size_t len,
                   const struct image__header *hdr, struct image *out,
                   char *err, size_t errlen)
{
    tjhandle tj = NULL;
    int pf, rc;

    rc = image_alloc(out, hdr->width, hdr->height,
                     hdr->cmyk ? 4 : hdr->channels);
    if (rc != 0) {
        image__seterr(err, errlen, "out of memory for a %ux%u JPEG image",
                      hdr->width, hdr->height);
        goto out;
    }

    tj = tjInitDecompress();
    if (tj == NULL) {
        image__seterr(err, errlen, "cannot start the JPEG decoder: %s",
                      tjGetErrorStr2(NULL));
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    /*
     * A truncated JPEG only draws a warning ("Premature end of JPEG file")
     * and grey rows, so warnings stop the decode. LIMITSCANS is a second
     * guard behind our own scan count.
     */
    pf = hdr->cmyk ? TJPF_CMYK : hdr->channels == 1 ? TJPF_GRAY : TJPF_RGB;
    if (tjDecompress2(tj, buf, len, out->pixels, (int)hdr->width,
                      (int)out->stride, (int)hdr->height, pf,
                      TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0) {
        rc = tj_error_code(tj);
        image__seterr(err, errlen, "JPEG data is damaged: %s",
                      tjGetErrorStr2(tj));
        goto out;
    }

    if (hdr->cmyk) {
        cmyk_to_rgb(out);
    }

out:
    if (tj != NULL) {
        tjDestroy(tj);
    }

    if (rc != 0) {
        image_free(out);
    }
    return rc;
}

/* The gray plane of a gray+alpha image, packed; NULL when out of memory. */
static uint8_t *
gray_plane(const struct image *img)
{
    uint8_t *gray = malloc((size_t)img->width * img->height);

    if (gray == NULL) {
        return NULL;
    }

    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *row = img->pixels + (size_t)y * img->stride;
        uint8_t *dst = gray + (size_t)y * img->width;

        for (uint32_t x = 0; x < img->width; x++) {
            dst[x] = row[(size_t)x * 2];
        }
    }
    return gray;
}

int
image__jpeg_encode(const struct image *img,
                   const struct image_encode_opts *opts, uint8_t **out,
                   size_t *outlen, char *err, size_t errlen)
{
    /* JPEG has no alpha: RGBX skips it in place, gray+alpha needs a copy. */
    static const int pixel_formats[5] = {0, TJPF_GRAY, TJPF_GRAY, TJPF_RGB,
                                         TJPF_RGBX};
    int pf = pixel_formats[img->channels], rc = 0;
    const uint8_t *src = img->pixels;
    size_t pitch = img->stride;
    unsigned char *jpeg = NULL;
    unsigned long jpeg_len = 0;
    uint8_t *gray = NULL;
    tjhandle tj = NULL;

    if (img->width > JPEG_MAX_SIDE || img->height > JPEG_MAX_SIDE ||
        pitch > INT_MAX) {
        image__seterr(err, errlen,
                      "a %ux%u image is too large for JPEG (at most %u "
                      "pixels per side)",
                      img->width, img->height, JPEG_MAX_SIDE);
        return IMGFLOW_EINVAL;
    }

    if (img->channels == 2) {
        gray = gray_plane(img);
        src = gray;
        pitch = img->width;
    }

    tj = tjInitCompress();
    if (tj == NULL || src == NULL) {
        image__seterr(err, errlen, "out of memory encoding JPEG");
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    if (tjCompress2(tj, src, (int)img->width, (int)pitch, (int)img->height, pf,
                    &jpeg, &jpeg_len,
                    pf == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_420,
                    opts->jpeg_quality, 0) != 0) {
        rc = tj_error_code(tj) == IMGFLOW_ENOMEM ? IMGFLOW_ENOMEM
                                                 : IMGFLOW_EINTERNAL;
        image__seterr(err, errlen, "JPEG encoding failed: %s",
                      tjGetErrorStr2(tj));
        goto out;
    }

    rc = image__copy_out(jpeg, jpeg_len, out, outlen);
    if (rc != 0) {
        image__seterr(err, errlen, "out of memory encoding JPEG");
    }

out:
    tjFree(jpeg);
    if (tj != NULL) {
        tjDestroy(tj);
    }

    free(gray);
    return rc;
}
