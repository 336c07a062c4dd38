/*
 * Request and result messages: building them, and checking what comes off
 * the bus before anything acts on it.
 * SPDX-License-Identifier: MIT
 */
#include "core/msg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"

json_t *
msg_request_build(const char *request_id, const struct algo *a,
                  const struct algo_args *args, const char *image_key,
                  const char *output_format)
{
    char ts[32], status_url[96];
    json_t *params, *doc;

    util_timestamp(ts, sizeof(ts));
    snprintf(status_url, sizeof(status_url), "/api/v1/status/%s",
             request_id);

    params = json_pack("{s:i, s:i}", "threads", args->threads, "runs",
                       args->runs);
    if (params == NULL) {
        return NULL;
    }

    for (int i = 0; i < a->n_params; i++) {
        const struct algo_param *p = &a->params[i];
        json_t *v = p->type == ALGO_PARAM_INT
                        ? json_integer((json_int_t)args->values[i])
                        : json_real(args->values[i]);

        json_object_set_new(params, p->name, v);
    }

    doc = json_pack("{s:s, s:s, s:s, s:o, s:s, s:{s:s, s:s}, s:s}",
                    "request_id", request_id, "algorithm", a->name,
                    "image_key", image_key, "parameters", params,
                    "timestamp", ts, "callback_info", "result_queue",
                    MSG_RESULTS_QUEUE, "status_url", status_url,
                    "output_format", output_format);
    return doc;
}

static int
copy_string_field(json_t *doc, const char *name, char *dst, size_t len,
                  int required, char *err, size_t errlen)
{
    json_t *v = json_object_get(doc, name);

    if (v == NULL && !required) {
        return 0;
    }

    if (!json_is_string(v)) {
        snprintf(err, errlen, "field '%s' is missing or not a string", name);
        return IMGFLOW_EINVAL;
    }

    if (json_string_length(v) == 0 || json_string_length(v) >= len) {
        snprintf(err, errlen, "field '%s' is empty or longer than %zu", name,
                 len - 1);
        return IMGFLOW_EINVAL;
    }

    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

int
msg_request_parse(const void *body, size_t len, struct msg_request *req,
                  char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc, *id, *params;
    int rc = IMGFLOW_EINVAL;

    memset(req, 0, sizeof(*req));
    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "message is not a JSON object: %s",
                 doc ? "wrong type" : jerr.text);
        goto out;
    }

    /* The id first, so that any later failure can still name the request. */
    id = json_object_get(doc, "request_id");
    if (!json_is_string(id) || !util_uuid_valid(json_string_value(id))) {
        snprintf(err, errlen, "request_id is missing or not a UUID");
        goto out;
    }
    util_strlcpy(req->request_id, json_string_value(id),
                 sizeof(req->request_id));

    if (copy_string_field(doc, "algorithm", req->algorithm,
                          sizeof(req->algorithm), 1, err, errlen) != 0 ||
        copy_string_field(doc, "image_key", req->image_key,
                          sizeof(req->image_key), 1, err, errlen) != 0 ||
        copy_string_field(doc, "timestamp", req->timestamp,
                          sizeof(req->timestamp), 0, err, errlen) != 0 ||
        copy_string_field(doc, "output_format", req->output_format,
                          sizeof(req->output_format), 0, err, errlen) != 0) {
        goto out;
    }

    params = json_object_get(doc, "parameters");
    if (!json_is_object(params)) {
        snprintf(err, errlen, "field 'parameters' is missing or not an object");
        goto out;
    }

    if (req->output_format[0] == '\0') {
        util_strlcpy(req->output_format, "png", sizeof(req->output_format));
    }

    req->parameters = json_incref(params);
    rc = 0;

out:
    json_decref(doc);
    return rc;
}

void
msg_request_clear(struct msg_request *req)
{
    json_decref(req->parameters);
    req->parameters = NULL;
}

int
msg_request_args(const struct msg_request *req, const struct algo *a,
                 struct algo_args *args, char *err, size_t errlen)
{
    const char *name;
    json_t *v;

    algo_args_default(a, args);
    json_object_foreach(req->parameters, name, v)
    {
        int rc;

        if (!json_is_number(v)) {
            snprintf(err, errlen, "parameter '%s' is not a number", name);
            return IMGFLOW_EINVAL;
        }

        rc = algo_args_set(a, args, name, json_number_value(v), err, errlen);
        if (rc == IMGFLOW_ENOTFOUND) {
            snprintf(err, errlen, "unknown parameter '%s' for %s", name,
                     a->name);
            return IMGFLOW_EINVAL;
        }

        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static json_t *
result_metadata(const struct msg_result *r)
{
    const struct algo_timing *t = r->timing;
    char mem[32];
    json_t *times, *meta;

    util_format_mb(mem, sizeof(mem), r->memory_used);
    times = json_array();
    for (int i = 0; i < r->runs; i++) {
        json_array_append_new(times, json_real(t->run_s[i]));
    }

    meta = json_pack(
        "{s:i, s:f, s:s, s:f, s:f, s:o, s:i, s:I, s:f, s:f, s:f, s:f, s:f,"
        " s:i, s:i, s:i, s:s, s:I}",
        "threads_used", r->threads_used, "kernel_time", t->mean_s,
        "memory_used", mem, "kernel_time_min", t->min_s, "kernel_time_max",
        t->max_s, "kernel_times", times, "runs", r->runs,
        "memory_used_bytes", (json_int_t)r->memory_used, "queue_time",
        r->queue_time, "fetch_time", r->fetch_time, "decode_time",
        r->decode_time, "encode_time", r->encode_time, "store_time",
        r->store_time, "width", (int)r->width, "height", (int)r->height,
        "channels", r->channels, "format", r->format, "output_bytes",
        (json_int_t)r->output_bytes);
    return meta;
}

json_t *
msg_result_build(const struct msg_result *r)
{
    char ts[32];
    json_t *result = json_null(), *doc;

    util_timestamp(ts, sizeof(ts));
    if (strcmp(r->status, "completed") == 0) {
        json_t *meta = result_metadata(r);

        if (meta == NULL) {
            return NULL;
        }
        result = json_pack("{s:s, s:f, s:o}", "output_image_key",
                           r->output_key, "processing_time",
                           r->processing_time, "metadata", meta);
    }

    doc = json_pack("{s:s, s:s, s:s, s:o, s:O, s:s, s:s, s:i}", "request_id",
                    r->request_id, "algorithm", r->algorithm, "status",
                    r->status, "result", result, "error", json_null(),
                    "timestamp", ts, "worker", r->worker ? r->worker : "",
                    "attempt", r->attempt);
    if (doc != NULL && strcmp(r->status, "failed") == 0) {
        json_object_set_new(doc, "error", json_string(r->error));
        json_object_set_new(doc, "error_code", json_string(r->error_code));
    }
    return doc;
}

static int
check_completed(json_t *doc, char *err, size_t errlen)
{
    json_t *result = json_object_get(doc, "result");
    json_t *meta = json_object_get(result, "metadata");

    if (!json_is_object(result) ||
        !json_is_string(json_object_get(result, "output_image_key")) ||
        !json_is_number(json_object_get(result, "processing_time")) ||
        !json_is_object(meta) ||
        !json_is_integer(json_object_get(meta, "threads_used")) ||
        !json_is_number(json_object_get(meta, "kernel_time")) ||
        !json_is_string(json_object_get(meta, "memory_used"))) {
        snprintf(err, errlen, "completed result lacks result fields");
        return IMGFLOW_EINVAL;
    }
    return 0;
}

int
msg_result_parse(const void *body, size_t len, json_t **out, char *err,
                 size_t errlen)
{
    json_error_t jerr;
    json_t *doc, *id, *status;
    const char *s;
    int rc = IMGFLOW_EINVAL;

    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "result is not a JSON object: %s",
                 doc ? "wrong type" : jerr.text);
        goto out;
    }

    id = json_object_get(doc, "request_id");
    status = json_object_get(doc, "status");
    if (!json_is_string(id) || !util_uuid_valid(json_string_value(id)) ||
        !json_is_string(json_object_get(doc, "algorithm")) ||
        !json_is_string(status)) {
        snprintf(err, errlen, "result lacks request_id, algorithm or status");
        goto out;
    }

    s = json_string_value(status);
    if (strcmp(s, "completed") == 0) {
        if (check_completed(doc, err, errlen) != 0) {
            goto out;
        }
    } else if (strcmp(s, "failed") != 0 && strcmp(s, "processing") != 0) {
        snprintf(err, errlen, "unknown result status '%.32s'", s);
        goto out;
    }

    *out = json_incref(doc);
    rc = 0;

out:
    json_decref(doc);
    return rc;
}

char *
msg_dump(const json_t *doc)
{
    return json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(9));
}
