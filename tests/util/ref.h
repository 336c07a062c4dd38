/*
 * Independent double-precision references of the kernels, written as
 * plainly as possible and sharing no code with src/algo. Each returns a
 * new image (caller frees with image_free).
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_TESTS_REF_H
#define IMGFLOW_TESTS_REF_H

#include "image/image.h"

/* Luma Y = 0.299 R + 0.587 G + 0.114 B, rounded; alpha kept. */
void ref_grayscale(const struct image *in, struct image *out);

/* 3x3 Sobel magnitude on the rounded luma, edges replicated, clamped. */
void ref_sobel(const struct image *in, struct image *out);

/* Gaussian blur, radius ceil(3 sigma), edges replicated, every channel. */
void ref_blur(const struct image *in, double sigma, struct image *out);

/* Largest absolute difference between two images of equal geometry, or
 * -1 when their geometry differs. */
int ref_max_diff(const struct image *a, const struct image *b);

#endif
