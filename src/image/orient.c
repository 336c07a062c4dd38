/*
 * EXIF orientation: reading the tag with libexif and turning decoded
 * pixels upright (flips, half turn, quarter turns and transposes), so
 * kernels and outputs always see the image as a camera user saw it.
 * SPDX-License-Identifier: MIT
 */
#include "image/image_int.h"

#include <libexif/exif-data.h>
#include <string.h>

#include "core/error.h"

/* Square tiles keep both the row-wise and the column-wise side in cache. */
#define ORIENT_TILE 64

/*
 * Where destination pixel (x, y) comes from, as a source pixel
 * (x0 + x * xx + y * yx, y0 + x * xy + y * yy); x0 and y0 are 0 or "last"
 * (width - 1 or height - 1 of the source).
 */
struct orient_map {
    int x0_last, y0_last;
    int xx, xy; /* source step for one destination column */
    int yx, yy; /* source step for one destination row */
};

static const struct orient_map orient_maps[9] = {
    [1] = {0, 0, 1, 0, 0, 1},   /* as stored */
    [2] = {1, 0, -1, 0, 0, 1},  /* mirrored left to right */
    [3] = {1, 1, -1, 0, 0, -1}, /* half turn */
    [4] = {0, 1, 1, 0, 0, -1},  /* mirrored top to bottom */
    [5] = {0, 0, 0, 1, 1, 0},   /* transposed */
    [6] = {0, 1, 0, -1, 1, 0},  /* stored turned a quarter left */
    [7] = {1, 1, 0, -1, -1, 0}, /* transversed */
    [8] = {1, 0, 0, 1, -1, 0},  /* stored turned a quarter right */
};

int
image__exif_orientation(const uint8_t *exif, size_t len)
{
    ExifData *ed;
    ExifEntry *entry;
    int orientation = 1;

    if (len > 0xffff) {
        return 1;
    }

    ed = exif_data_new();
    if (ed == NULL) {
        return IMGFLOW_ENOMEM;
    }

    /*
     * Following the specification makes libexif add the mandatory tags it
     * finds missing, with default values; we want what the file says.
     */
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(ed, exif, (unsigned int)len);
    entry = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (entry != NULL && entry->format == EXIF_FORMAT_SHORT &&
        entry->components >= 1 && entry->size >= 2 && entry->data != NULL) {
        ExifShort v = exif_get_short(entry->data, exif_data_get_byte_order(ed));

        if (v >= 1 && v <= 8) {
            orientation = v;
        }
    }

    exif_data_unref(ed);
    return orientation;
}

static void
copy_tile(const struct image *src, struct image *dst,
          const struct orient_map *m, uint32_t tx, uint32_t ty)
{
    int64_t ch = src->channels;
    int64_t stride = (int64_t)src->stride;
    int64_t x0 = m->x0_last ? (int64_t)src->width - 1 : 0;
    int64_t y0 = m->y0_last ? (int64_t)src->height - 1 : 0;
    int64_t step_x = m->xx * ch + m->xy * stride;
    int64_t step_y = m->yx * ch + m->yy * stride;
    uint32_t xend =
        tx + ORIENT_TILE < dst->width ? tx + ORIENT_TILE : dst->width;
    uint32_t yend =
        ty + ORIENT_TILE < dst->height ? ty + ORIENT_TILE : dst->height;

    for (uint32_t y = ty; y < yend; y++) {
        int64_t s =
            x0 * ch + y0 * stride + (int64_t)tx * step_x + (int64_t)y * step_y;
        uint8_t *d = dst->pixels + (size_t)y * dst->stride + (size_t)tx * ch;

        for (uint32_t x = tx; x < xend; x++) {
            for (int64_t c = 0; c < ch; c++) {
                *d++ = src->pixels[s + c];
            }
            s += step_x;
        }
    }
}

int
image__orient(struct image *img, int orientation)
{
    struct image dst;
    int rc;

    if (orientation < 2 || orientation > 8) {
        return 0;
    }

    if (orientation >= 5) {
        rc = image_alloc(&dst, img->height, img->width, img->channels);
    } else {
        rc = image_alloc(&dst, img->width, img->height, img->channels);
    }

    if (rc != 0) {
        return rc;
    }

    for (uint32_t ty = 0; ty < dst.height; ty += ORIENT_TILE) {
        for (uint32_t tx = 0; tx < dst.width; tx += ORIENT_TILE) {
            copy_tile(img, &dst, &orient_maps[orientation], tx, ty);
        }
    }

    image_free(img);
    *img = dst;
    return 0;
}
