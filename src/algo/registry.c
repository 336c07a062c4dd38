/*
 * The algorithm registry: the table of kernels built from algo_list.h,
 * argument defaults and checks shared by the gateway, the worker and
 * `imgflow process`, and timed execution for the worker.
 * SPDX-License-Identifier: MIT
 */
#include "algo/algo_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"

static const struct algo *const algo_table[] = {
#define ALGO(n) &algo_##n,
#include "algo/algo_list.h"
#undef ALGO
};

#define ALGO_TABLE_SIZE (sizeof(algo_table) / sizeof(algo_table[0]))

/* Number of registered algorithms; the table is constant, any thread. */
size_t
algo_count(void)
{
    return ALGO_TABLE_SIZE;
}

/* The i-th algorithm in list order, or NULL past the end. */
const struct algo *
algo_at(size_t i)
{
    return i < ALGO_TABLE_SIZE ? algo_table[i] : NULL;
}

/* The algorithm called name, or NULL. */
const struct algo *
algo_find(const char *name)
{
    const struct algo *found = NULL;

    for (size_t i = 0; name != NULL && i < ALGO_TABLE_SIZE; i++) {
        if (strcmp(algo_table[i]->name, name) == 0) {
            found = algo_table[i];
            break;
        }
    }
    return found;
}

/* Online cores, from 1 to ALGO_THREADS_MAX. */
int
algo_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1) {
        n = 1;
    } else if (n > ALGO_THREADS_MAX) {
        n = ALGO_THREADS_MAX;
    }
    return (int)n;
}

/* Index of the parameter called name in a->params, or -1. */
int
algo_param_index(const struct algo *a, const char *name)
{
    int found = -1;

    for (int i = 0; a != NULL && name != NULL && i < a->n_params; i++) {
        if (strcmp(a->params[i].name, name) == 0) {
            found = i;
            break;
        }
    }
    return found;
}

/*
 * Fill the caller's args with threads from the cores, one run and every
 * parameter at its default. Any thread may call it.
 */
void
algo_args_default(const struct algo *a, struct algo_args *args)
{
    memset(args, 0, sizeof(*args));
    args->threads = algo_default_threads();
    args->runs = 1;
    for (int i = 0; i < a->n_params && i < ALGO_MAX_PARAMS; i++) {
        args->values[i] = a->params[i].def;
    }
}

/* snprintf into err when the caller gave room for a message. */
static void
algo_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
}

/* Whether value is finite, in [min, max] and, for integers, whole. */
static int
algo_value_ok(double value, double min, double max, int integer)
{
    return isfinite(value) && value >= min && value <= max &&
           (!integer || value == floor(value));
}

/* Set a count argument (threads, runs) from 1 to max. */
static int
algo_count_set(int *count, const char *name, int max, double value, char *err,
               size_t errlen)
{
    int rc = IMGFLOW_EINVAL;

    if (!algo_value_ok(value, 1, max, 1)) {
        algo_err(err, errlen, "%s must be an integer from 1 to %d", name, max);
        goto out;
    }

    *count = (int)value;
    rc = 0;

out:
    return rc;
}

/*
 * Check value against the type and range of name and store it in args;
 * see algo.h. err, when not NULL, gets a message the UI can show. Any
 * thread may call it on its own args.
 */
int
algo_args_set(const struct algo *a, struct algo_args *args, const char *name,
              double value, char *err, size_t errlen)
{
    const struct algo_param *p;
    int i;
    int rc = IMGFLOW_EINVAL;

    if (a == NULL || args == NULL || name == NULL) {
        algo_err(err, errlen, "missing algorithm or parameter name");
        goto out;
    }

    if (strcmp(name, "threads") == 0) {
        rc = algo_count_set(&args->threads, name, ALGO_THREADS_MAX, value, err,
                            errlen);
        goto out;
    }

    if (strcmp(name, "runs") == 0) {
        rc = algo_count_set(&args->runs, name, ALGO_RUNS_MAX, value, err,
                            errlen);
        goto out;
    }

    i = algo_param_index(a, name);
    if (i < 0 || i >= ALGO_MAX_PARAMS) {
        algo_err(err, errlen, "%s has no parameter \"%s\"", a->name, name);
        rc = IMGFLOW_ENOTFOUND;
        goto out;
    }

    p = &a->params[i];
    if (!algo_value_ok(value, p->min, p->max, p->type == ALGO_PARAM_INT)) {
        algo_err(err, errlen, "%s must be %s from %g to %g", name,
                 p->type == ALGO_PARAM_INT ? "an integer" : "a number", p->min,
                 p->max);
        goto out;
    }

    args->values[i] = value;
    rc = 0;

out:
    return rc;
}

/*
 * A plain decimal number, all of text: no spaces, no hexadecimal, no
 * "inf" or "nan" (strtod takes all of these).
 */
static int
algo_parse_number(const char *text, double *value)
{
    char *end;
    int rc = IMGFLOW_EINVAL;

    if (text == NULL || text[0] == '\0' ||
        text[strspn(text, "0123456789+-.eE")] != '\0') {
        goto out;
    }

    errno = 0;
    *value = strtod(text, &end);
    if (end != text && *end == '\0' && errno != ERANGE) {
        rc = 0;
    }

out:
    return rc;
}

/* algo_args_set() from the text of a form field; see algo.h. */
int
algo_args_set_text(const struct algo *a, struct algo_args *args,
                   const char *name, const char *text, char *err, size_t errlen)
{
    double value;

    if (algo_parse_number(text, &value) != 0) {
        /*
         * Set NaN instead: it fails every range, so the caller gets the
         * same message (or IMGFLOW_ENOTFOUND) as for a number out of
         * range.
         */
        value = NAN;
    }
    return algo_args_set(a, args, name, value, err, errlen);
}

/* Whether args passes the checks algo_args_set() makes. */
static int
algo_args_ok(const struct algo *a, const struct algo_args *args)
{
    int ok = algo_value_ok(args->threads, 1, ALGO_THREADS_MAX, 1) &&
             algo_value_ok(args->runs, 1, ALGO_RUNS_MAX, 1) &&
             a->n_params <= ALGO_MAX_PARAMS;

    for (int i = 0; ok && i < a->n_params; i++) {
        const struct algo_param *p = &a->params[i];

        ok = algo_value_ok(args->values[i], p->min, p->max,
                           p->type == ALGO_PARAM_INT);
    }
    return ok;
}

static double
algo_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Summary of the first runs entries of timing->run_s. */
static void
algo_timing_sum(struct algo_timing *timing, int runs)
{
    double total = 0.0;

    timing->min_s = timing->run_s[0];
    timing->max_s = timing->run_s[0];
    for (int i = 0; i < runs; i++) {
        total += timing->run_s[i];
        timing->min_s = fmin(timing->min_s, timing->run_s[i]);
        timing->max_s = fmax(timing->max_s, timing->run_s[i]);
    }
    timing->mean_s = total / runs;
}

/*
 * Allocate out and run the kernel args->runs times; see algo.h. out is
 * overwritten (zeroed on failure) and owned by the caller on success,
 * to release with image_free(). Any thread may call it; the kernel's
 * OpenMP threads come from that thread's pool.
 */
int
algo_execute(const struct algo *a, const struct image *in,
             const struct algo_args *args, struct image *out,
             struct algo_timing *timing)
{
    uint32_t width, height;
    int channels;
    int rc = IMGFLOW_EINVAL;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (timing != NULL) {
        memset(timing, 0, sizeof(*timing));
    }
    if (a == NULL || in == NULL || in->pixels == NULL || args == NULL ||
        out == NULL || timing == NULL || !algo_args_ok(a, args)) {
        goto out;
    }

    rc = a->shape(in, args->values, &width, &height, &channels);
    if (rc != 0) {
        goto out;
    }

    rc = image_alloc(out, width, height, channels);
    if (rc != 0) {
        goto out;
    }

    for (int i = 0; i < args->runs; i++) {
        double start = algo_now();

        rc = a->run(in, out, args->values, args->threads);
        timing->run_s[i] = algo_now() - start;
        if (rc != 0) {
            goto out;
        }
    }

    algo_timing_sum(timing, args->runs);

out:
    if (rc != 0 && out != NULL) {
        image_free(out);
    }
    return rc;
}

int
algo__shape_same(const struct image *in, int out_channels, uint32_t *width,
                 uint32_t *height, int *channels)
{
    if (in->width == 0 || in->height == 0 || in->channels < 1 ||
        in->channels > 4) {
        return IMGFLOW_EINVAL;
    }

    *width = in->width;
    *height = in->height;
    *channels = out_channels;
    return 0;
}
