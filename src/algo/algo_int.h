/*
 * What the files of src/algo/ share and nobody else needs: the kernel
 * definitions the registry lists, the luma conversion that grayscale and
 * Sobel both use, and the attribute that builds hot row loops for AVX2.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_ALGO_ALGO_INT_H
#define IMGFLOW_ALGO_ALGO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "algo/algo.h"

/* One `const struct algo algo_NAME` per line of algo_list.h. */
#define ALGO(n) extern const struct algo algo_##n;
#include "algo/algo_list.h"
#undef ALGO

/*
 * The project builds for the x86-64 baseline (SSE2), where GCC cannot
 * vectorise the byte shuffles and 16-bit arithmetic of our row loops. With
 * GCC 12 or later on x86-64 Linux, a function marked ALGO__HOT is built
 * for the baseline, for x86-64-v3 (AVX2, FMA) and for x86-64-v4
 * (AVX-512), and the dynamic loader picks the one the machine runs.
 * Integer kernels give the same bytes either way; float kernels may
 * differ in the last bit because FMA rounds once. Defining ALGO__HOT as
 * empty (-DALGO__HOT=) builds one version, to test a path or profile.
 */
#ifndef ALGO__HOT
/* ThreadSanitizer cannot start under the ifunc resolvers clones use. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 &&              \
    defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_THREAD__)
#define ALGO__HOT                                                              \
    __attribute__((                                                            \
        target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ALGO__HOT
#endif
#endif

/*
 * Luma of one row: width pixels of src (channels 1 to 4, interleaved)
 * become width luma bytes in dst, or width gray+alpha pairs when
 * keep_alpha is set and src is RGBA. Luma is round(0.299 R + 0.587 G +
 * 0.114 B) exactly as double arithmetic computes it; gray input is
 * copied and gray+alpha gives its gray channel. src and dst must not
 * overlap. Any thread may call it.
 */
void algo__luma_row(const uint8_t *src, int channels, size_t width,
                    uint8_t *dst, int keep_alpha);

/*
 * The shape of an algorithm whose output has its input's size: checks in
 * (non-empty, 1 to 4 channels) and gives width, height and out_channels.
 * Returns 0 or IMGFLOW_EINVAL.
 */
int algo__shape_same(const struct image *in, int out_channels,
                     uint32_t *width, uint32_t *height, int *channels);

#endif
