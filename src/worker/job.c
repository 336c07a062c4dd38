/*
 * One job without services: decode, run, encode. The worker wraps it
 * with the bus and the store; `imgflow process` calls it directly.
 * SPDX-License-Identifier: MIT
 */
#include "worker/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"

static size_t
image_bytes(const struct image *img)
{
    return img->stride * img->height;
}

int
worker_job_run(const uint8_t *input, size_t len, const struct algo *a,
               const struct algo_args *args, const struct image_limits *lim,
               enum image_format fmt, const struct image_encode_opts *enc,
               struct worker_job *job, char *err, size_t errlen)
{
    struct image in = {0}, out = {0};
    double t0;
    int rc;

    memset(job, 0, sizeof(*job));
    t0 = util_now();
    rc = image_decode(input, len, lim, &in, err, errlen);
    job->decode_s = util_now() - t0;
    if (rc != 0) {
        job->error_code = rc == IMGFLOW_ENOMEM ? "out_of_memory"
                                               : "decode_failed";
        goto out;
    }

    rc = algo_execute(a, &in, args, &out, &job->timing);
    if (rc != 0) {
        job->error_code = rc == IMGFLOW_ENOMEM ? "out_of_memory"
                                               : "kernel_failed";
        snprintf(err, errlen, "%s failed: %s", a->name, imgflow_strerror(rc));
        goto out;
    }

    t0 = util_now();
    rc = image_encode(&out, fmt, enc, &job->encoded, &job->encoded_len, err,
                      errlen);
    job->encode_s = util_now() - t0;
    if (rc != 0) {
        job->error_code = "encode_failed";
        goto out;
    }

    job->width = out.width;
    job->height = out.height;
    job->channels = out.channels;
    job->memory_bytes = len + image_bytes(&in) + image_bytes(&out) +
                        job->encoded_len;

out:
    image_free(&in);
    image_free(&out);
    return rc;
}

void
worker_job_clear(struct worker_job *job)
{
    free(job->encoded);
    job->encoded = NULL;
}
