/*
 * The messages that cross the bus, as fixed by architecture.md: the
 * request (gateway -> NAME_processing -> worker) and the result
 * (worker -> processing_results -> gateway). Encoding and strict decoding
 * with jansson; extra fields are added, never renamed or retyped.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_CORE_MSG_H
#define IMGFLOW_CORE_MSG_H

#include <jansson.h>
#include <stddef.h>

#include "algo/algo.h"

#define MSG_RESULTS_QUEUE     "processing_results"
#define MSG_DEAD_LETTER_QUEUE "processing_dead_letter"

struct msg_request {
    char request_id[40];
    char algorithm[64];
    char image_key[256];
    char output_format[8]; /* "png", "jpeg" or "webp" */
    char timestamp[32];
    json_t *parameters;    /* owned; threads, runs and the algorithm's */
};

/*
 * Build the request document for a validated job. The caller owns the
 * returned reference (json_decref). NULL only on allocation failure.
 */
json_t *msg_request_build(const char *request_id, const struct algo *a,
                          const struct algo_args *args,
                          const char *image_key, const char *output_format);

/*
 * Parse a request body. Structure and types are checked (request_id a
 * UUID, algorithm and image_key strings, parameters an object); values of
 * parameters are checked later against the registry by msg_request_args.
 * On failure err says what is wrong and req->request_id holds the id when
 * one could be read, so the request can still be failed by id. Returns 0
 * or IMGFLOW_EINVAL. Release with msg_request_clear().
 */
int msg_request_parse(const void *body, size_t len, struct msg_request *req,
                      char *err, size_t errlen);

void msg_request_clear(struct msg_request *req);

/*
 * Validate req's parameters against a's ranges into args. Unknown
 * parameter names are refused. Returns 0 or IMGFLOW_EINVAL with err
 * naming the parameter.
 */
int msg_request_args(const struct msg_request *req, const struct algo *a,
                     struct algo_args *args, char *err, size_t errlen);

/* What a worker reports about one job. */
struct msg_result {
    const char *request_id;
    const char *algorithm;
    const char *status;      /* "processing", "completed" or "failed" */
    const char *output_key;  /* completed only */
    const char *error_code;  /* failed only, e.g. "decode_failed" */
    const char *error;       /* failed only, a sentence for a person */
    const char *worker;      /* worker id, for operators */
    const struct algo_timing *timing; /* completed only */
    int threads_used;
    int runs;
    double processing_time;  /* seconds from job start to result stored */
    double queue_time;       /* seconds between request and job start */
    double fetch_time;       /* seconds reading the input */
    double decode_time;
    double encode_time;
    double store_time;
    size_t memory_used;      /* bytes of buffers the job held at its peak */
    size_t output_bytes;
    unsigned width, height;  /* output geometry, pixels */
    int channels;
    const char *format;      /* output format name */
    int attempt;             /* delivery attempt, 1-based */
};

/* The result document; caller owns the reference. NULL on ENOMEM. */
json_t *msg_result_build(const struct msg_result *r);

/*
 * Check a result body's structure: request_id a UUID, algorithm a string,
 * status one of processing/completed/failed, result an object with
 * output_image_key, processing_time and metadata when completed. On
 * success *doc is a new reference the caller owns. Returns 0 or
 * IMGFLOW_EINVAL with err saying why.
 */
int msg_result_parse(const void *body, size_t len, json_t **doc, char *err,
                     size_t errlen);

/* Serialise compactly; malloc'd string the caller frees, NULL on ENOMEM. */
char *msg_dump(const json_t *doc);

#endif
