/*
 * The algorithm registry: every image kernel the service offers, with its
 * parameters, their types, ranges and defaults, and its queue name. The
 * gateway, the worker, the UI (through GET /api/v1/algorithms), the scaler
 * and `imgflow process` all read this one table.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_ALGO_ALGO_H
#define IMGFLOW_ALGO_ALGO_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

#define ALGO_MAX_PARAMS  8
#define ALGO_THREADS_MAX 64
#define ALGO_RUNS_MAX    100

enum algo_param_type {
    ALGO_PARAM_INT,
    ALGO_PARAM_NUMBER
};

/* One algorithm-specific parameter (threads and runs are common). */
struct algo_param {
    const char *name;
    enum algo_param_type type;
    double min;
    double max;
    double def;
    const char *description;
};

/* Validated arguments of one job; values[] follows algo->params. */
struct algo_args {
    int threads;
    int runs;
    double values[ALGO_MAX_PARAMS];
};

struct algo {
    const char *name;        /* URL and message name, e.g. "sobel" */
    const char *queue;       /* input queue, e.g. "sobel_processing" */
    const char *description; /* one sentence for the API and the UI */
    const struct algo_param *params;
    int n_params;

    /*
     * Output geometry for an input of in's size and channels. Returns 0
     * or IMGFLOW_EINVAL.
     */
    int (*shape)(const struct image *in, const double *values,
                 uint32_t *width, uint32_t *height, int *channels);

    /*
     * The kernel. out is allocated by the caller with shape()'s geometry;
     * threads is 1..ALGO_THREADS_MAX. Returns 0 or IMGFLOW_ENOMEM.
     */
    int (*run)(const struct image *in, struct image *out,
               const double *values, int threads);
};

/* Registry access; the table is constant, so any thread may call these. */
size_t algo_count(void);
const struct algo *algo_at(size_t i);
const struct algo *algo_find(const char *name);

/* The default thread count: the number of online cores, at most 64. */
int algo_default_threads(void);

/* Index of a parameter of a, or -1. */
int algo_param_index(const struct algo *a, const char *name);

/* Defaults for every argument of a. */
void algo_args_default(const struct algo *a, struct algo_args *args);

/*
 * Set one argument ("threads", "runs" or one of a's parameters) from a
 * number, checking its type and range. Returns 0, IMGFLOW_ENOTFOUND for a
 * name a does not have, or IMGFLOW_EINVAL with err naming the parameter
 * and its range.
 */
int algo_args_set(const struct algo *a, struct algo_args *args,
                  const char *name, double value, char *err, size_t errlen);

/* The same from text (a form field); text that is not a number fails. */
int algo_args_set_text(const struct algo *a, struct algo_args *args,
                       const char *name, const char *text, char *err,
                       size_t errlen);

/* Timings of one execution; run_s has args->runs entries. */
struct algo_timing {
    double run_s[ALGO_RUNS_MAX]; /* seconds of each kernel run */
    double mean_s;
    double min_s;
    double max_s;
};

/*
 * Allocate out with a's geometry and run the kernel args->runs times on
 * args->threads threads, timing each run on the monotonic clock. On
 * success the caller owns out. Returns 0, IMGFLOW_EINVAL or
 * IMGFLOW_ENOMEM.
 */
int algo_execute(const struct algo *a, const struct image *in,
                 const struct algo_args *args, struct image *out,
                 struct algo_timing *timing);

#endif
