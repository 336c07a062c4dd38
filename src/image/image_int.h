/*
 * Internals shared by the files of src/image: one header reader, decoder
 * and encoder per format, the orientation transform and error text.
 * Nothing outside src/image includes this header.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_IMAGE_IMAGE_INT_H
#define IMGFLOW_IMAGE_IMAGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/*
 * Most scans a progressive JPEG may have. Common encoders write 6 to 12;
 * each scan walks every block of the image, so a file with hundreds of
 * scans costs seconds of CPU for a few kilobytes of upload.
 */
#define IMAGE__MAX_JPEG_SCANS 100

/* What a format's header reader found, before orientation. */
struct image__header {
    enum image_format format;
    uint32_t width;  /* as stored in the file, pixels */
    uint32_t height; /* as stored in the file, pixels */
    int channels;    /* what the decoder will deliver: 1..4 */
    int orientation; /* EXIF orientation 1..8; 1 when absent */
    int cmyk;        /* JPEG: samples are CMYK, converted to RGB */
};

/*
 * Per-format header readers and decoders. A reader looks at the header
 * only and fills hdr; lim (complete, no zero fields) lets a library refuse
 * early, through image__check_size() so the message is the same. A decoder
 * allocates out with the stored size and hdr->channels and fills it, or leaves
 * out empty on failure. Both return 0 or a negative IMGFLOW_E* code with a
 * sentence in err.
 */
int image__jpeg_probe(const uint8_t *buf, size_t len,
                      const struct image_limits *lim, struct image__header *hdr,
                      char *err, size_t errlen);
int image__jpeg_decode(const uint8_t *buf, size_t len,
                       const struct image__header *hdr, struct image *out,
                       char *err, size_t errlen);
int image__png_probe(const uint8_t *buf, size_t len,
                     const struct image_limits *lim, struct image__header *hdr,
                     char *err, size_t errlen);
int image__png_decode(const uint8_t *buf, size_t len,
                      const struct image__header *hdr, struct image *out,
                      char *err, size_t errlen);
int image__webp_probe(const uint8_t *buf, size_t len,
                      const struct image_limits *lim, struct image__header *hdr,
                      char *err, size_t errlen);
int image__webp_decode(const uint8_t *buf, size_t len,
                       const struct image__header *hdr, struct image *out,
                       char *err, size_t errlen);

/*
 * Check upright dimensions against complete limits: 0, or
 * IMGFLOW_EREFUSED with a sentence in err.
 */
int image__check_size(uint32_t width, uint32_t height,
                      const struct image_limits *lim, char *err, size_t errlen);

/*
 * Per-format encoders; img and opts are already validated. *out is
 * malloc'd and owned by the caller on success.
 */
int image__png_encode(const struct image *img,
                      const struct image_encode_opts *opts, uint8_t **out,
                      size_t *outlen, char *err, size_t errlen);
int image__jpeg_encode(const struct image *img,
                       const struct image_encode_opts *opts, uint8_t **out,
                       size_t *outlen, char *err, size_t errlen);
int image__webp_encode(const struct image *img,
                       const struct image_encode_opts *opts, uint8_t **out,
                       size_t *outlen, char *err, size_t errlen);

/*
 * Orientation (1..8) from an APP1 payload that starts with "Exif\0\0";
 * 1 when the tag is absent or unreadable, IMGFLOW_ENOMEM when libexif
 * cannot allocate.
 */
int image__exif_orientation(const uint8_t *exif, size_t len);

/*
 * Turn a decoded image upright for an EXIF orientation. For 2..8 the
 * pixels are replaced by a new buffer (width and height swap for 5..8);
 * on IMGFLOW_ENOMEM the image is left as it was.
 */
int image__orient(struct image *img, int orientation);

/*
 * A malloc'd copy of an encoder's output, because our callers free with
 * free() and the libraries want their own release functions. 0 or
 * IMGFLOW_ENOMEM.
 */
int image__copy_out(const void *data, size_t len, uint8_t **out,
                    size_t *outlen);

/* printf into err when err is not NULL; always NUL-terminated. */
void image__seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
