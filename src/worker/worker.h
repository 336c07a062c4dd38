/*
 * The worker: consumes algorithm queues, fetches each input from the
 * object store, decodes, runs the kernel `runs` times on `threads`
 * threads, encodes, stores the output, publishes the result message to
 * processing_results, and only then acknowledges the request.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_WORKER_WORKER_H
#define IMGFLOW_WORKER_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "algo/algo.h"
#include "bus/bus.h"
#include "image/image.h"
#include "store/store.h"

#define WORKER_MAX_ALGOS 32

struct worker;

struct worker_config {
    struct bus *bus;        /* borrowed; outlives the worker */
    struct store *store;    /* borrowed */
    const struct algo *algos[WORKER_MAX_ALGOS]; /* queues to consume */
    size_t n_algos;
    struct image_limits limits;
    struct image_encode_opts encode;
    int max_attempts;       /* deliveries before a request fails for good */
    int prefetch;           /* deliveries held at once (default 1) */
    const char *name;       /* worker id in results and logs (copied) */
};

/*
 * Start one worker thread. Returns 0, IMGFLOW_ENOMEM or the bus's error.
 */
int worker_start(const struct worker_config *cfg, struct worker **out);

/*
 * Ask the worker to stop: it finishes and acknowledges its current job,
 * then exits. Returns at once; worker_join waits and releases.
 */
void worker_request_stop(struct worker *w);
void worker_join(struct worker *w);

/* 1 while the worker holds a job. Any thread. */
int worker_busy(const struct worker *w);

/* Everything one job produced, for the worker and `imgflow process`. */
struct worker_job {
    uint8_t *encoded;         /* malloc'd output file; caller frees */
    size_t encoded_len;       /* bytes */
    struct algo_timing timing;
    double decode_s;
    double encode_s;
    uint32_t width, height;   /* output, pixels */
    int channels;
    size_t memory_bytes;      /* peak bytes of the job's buffers */
    const char *error_code;   /* on failure: a stable code */
};

/*
 * Decode input, run a with args, encode as fmt. On failure err holds a
 * sentence for a person and job->error_code a code. Returns 0 or an
 * IMGFLOW_E* code (ECORRUPT, EFORMAT, EREFUSED, ENOMEM, EINVAL).
 */
int worker_job_run(const uint8_t *input, size_t len, const struct algo *a,
                   const struct algo_args *args,
                   const struct image_limits *lim, enum image_format fmt,
                   const struct image_encode_opts *enc,
                   struct worker_job *job, char *err, size_t errlen);

void worker_job_clear(struct worker_job *job);

#endif
