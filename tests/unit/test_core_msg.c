/*
 * Unit tests of src/core/msg.c: the request and result messages of
 * architecture.md, built field by field with the right JSON types, and
 * strict decoding that refuses what a worker or gateway must not act on.
 * Also runs the shared message corpus when IMGFLOW_SHARED is set.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo/algo.h"
#include "core/error.h"
#include "core/msg.h"
#include "core/util.h"
#include "util/testutil.h"

#define ID           "5b0f6a7e-3c1d-4e2a-9f00-000000000001"
#define TIMESTAMP_RE                                                           \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"

/* A request as architecture.md shows it, with PARAMS spliced in. */
#define REQUEST_WITH(params)                                                   \
    "{\"request_id\": \"" ID "\", \"algorithm\": \"sobel\", "                  \
    "\"image_key\": \"inputs/" ID ".png\", \"parameters\": " params ", "       \
    "\"timestamp\": \"2025-06-27T11:00:00Z\", \"callback_info\": "             \
    "{\"result_queue\": \"processing_results\", "                              \
    "\"status_url\": \"/api/v1/status/" ID "\"}}"

static int
matches(const char *re, const char *text)
{
    regex_t rx;
    int rc;

    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    rc = regexec(&rx, text, 0, NULL, 0);
    regfree(&rx);
    return rc == 0;
}

static int
parse_text(const char *text, struct msg_request *req, char *err, size_t errlen)
{
    return msg_request_parse(text, strlen(text), req, err, errlen);
}

/* The string value of doc.name, failing the test when it is not one. */
static const char *
string_field(const json_t *doc, const char *name)
{
    json_t *v = json_object_get(doc, name);

    assert_true(json_is_string(v));
    return json_string_value(v);
}

static const struct algo *
find_algo(const char *name)
{
    const struct algo *a = algo_find(name);

    assert_non_null(a);
    return a;
}

/*
 * Parse a sobel or blur request whose parameters object is params_json
 * and validate it into args. Returns msg_request_args' result.
 */
static int
args_for(const char *algorithm, const char *params_json, struct algo_args *args,
         char *err, size_t errlen)
{
    struct msg_request req;
    char text[1024];
    int rc;

    snprintf(text, sizeof(text),
             "{\"request_id\": \"%s\", \"algorithm\": \"%s\", "
             "\"image_key\": \"inputs/x.png\", \"parameters\": %s}",
             ID, algorithm, params_json);
    assert_int_equal(parse_text(text, &req, err, errlen), 0);
    err[0] = '\0';
    rc = msg_request_args(&req, find_algo(algorithm), args, err, errlen);
    msg_request_clear(&req);
    return rc;
}

static void
test_msg_request_build_fields_match_architecture(void **state)
{
    const struct algo *a = find_algo("sobel");
    struct algo_args args;
    char id[UTIL_UUID_LEN + 1], key[128], url[128];
    json_t *doc, *params, *cb;

    (void)state;
    assert_int_equal(util_uuid4(id, sizeof(id)), 0);
    snprintf(key, sizeof(key), "inputs/%s.png", id);
    algo_args_default(a, &args);
    args.threads = 4;
    args.runs = 2;
    doc = msg_request_build(id, a, &args, key, "png");
    assert_non_null(doc);

    assert_string_equal(string_field(doc, "request_id"), id);
    assert_true(util_uuid_valid(string_field(doc, "request_id")));
    assert_string_equal(string_field(doc, "algorithm"), "sobel");
    assert_string_equal(string_field(doc, "image_key"), key);
    assert_true(matches(TIMESTAMP_RE, string_field(doc, "timestamp")));

    /* threads and runs are JSON integers, plus the algorithm's own. */
    params = json_object_get(doc, "parameters");
    assert_true(json_is_object(params));
    assert_int_equal(json_object_size(params), 2 + a->n_params);
    assert_true(json_is_integer(json_object_get(params, "threads")));
    assert_int_equal(json_integer_value(json_object_get(params, "threads")), 4);
    assert_true(json_is_integer(json_object_get(params, "runs")));
    assert_int_equal(json_integer_value(json_object_get(params, "runs")), 2);

    /* callback_info holds exactly the two fields of architecture.md. */
    cb = json_object_get(doc, "callback_info");
    assert_true(json_is_object(cb));
    assert_int_equal(json_object_size(cb), 2);
    assert_string_equal(string_field(cb, "result_queue"), "processing_results");
    snprintf(url, sizeof(url), "/api/v1/status/%s", id);
    assert_string_equal(string_field(cb, "status_url"), url);
    json_decref(doc);
}

static void
test_msg_request_build_blur_sigma_real(void **state)
{
    const struct algo *a = find_algo("blur");
    int i = algo_param_index(a, "sigma");
    struct algo_args args;
    char err[256], *text;
    json_t *doc, *back, *sigma;

    (void)state;
    assert_true(i >= 0);
    algo_args_default(a, &args);
    assert_int_equal(algo_args_set(a, &args, "sigma", 3.0, err, sizeof(err)),
                     0);
    doc = msg_request_build(ID, a, &args, "inputs/" ID ".png", "png");
    assert_non_null(doc);

    /* A whole-number sigma must stay a real, also after serialising. */
    text = msg_dump(doc);
    assert_non_null(text);
    back = json_loads(text, 0, NULL);
    assert_non_null(back);
    sigma = json_object_get(json_object_get(back, "parameters"), "sigma");
    assert_true(json_is_real(sigma));
    assert_true(json_real_value(sigma) == 3.0);
    assert_true(json_is_integer(
        json_object_get(json_object_get(back, "parameters"), "threads")));
    json_decref(back);
    free(text);
    json_decref(doc);
}

static void
test_msg_request_build_dump_parses_back(void **state)
{
    const struct algo *a = find_algo("blur");
    int i = algo_param_index(a, "sigma");
    struct algo_args args, back;
    struct msg_request req;
    char err[256] = "", *text;
    json_t *doc;

    (void)state;
    algo_args_default(a, &args);
    args.threads = 8;
    args.runs = 3;
    assert_int_equal(algo_args_set(a, &args, "sigma", 1.5, err, sizeof(err)),
                     0);
    doc = msg_request_build(ID, a, &args, "inputs/" ID ".jpg", "jpeg");
    text = msg_dump(doc);
    assert_non_null(text);

    assert_int_equal(parse_text(text, &req, err, sizeof(err)), 0);
    assert_string_equal(req.request_id, ID);
    assert_string_equal(req.algorithm, "blur");
    assert_string_equal(req.image_key, "inputs/" ID ".jpg");
    assert_string_equal(req.output_format, "jpeg");
    assert_true(matches(TIMESTAMP_RE, req.timestamp));
    assert_int_equal(msg_request_args(&req, a, &back, err, sizeof(err)), 0);
    assert_int_equal(back.threads, 8);
    assert_int_equal(back.runs, 3);
    assert_true(back.values[i] == 1.5);

    msg_request_clear(&req);
    free(text);
    json_decref(doc);
}

static void
test_msg_request_parse_valid_accepted(void **state)
{
    struct msg_request req;
    char err[256];

    (void)state;
    assert_int_equal(parse_text(REQUEST_WITH("{\"threads\": 4, \"runs\": 1}"),
                                &req, err, sizeof(err)),
                     0);
    assert_string_equal(req.request_id, ID);
    assert_string_equal(req.algorithm, "sobel");
    assert_string_equal(req.image_key, "inputs/" ID ".png");
    assert_string_equal(req.timestamp, "2025-06-27T11:00:00Z");

    /* Without output_format the result is PNG. */
    assert_string_equal(req.output_format, "png");
    assert_true(json_is_object(req.parameters));
    assert_int_equal(json_object_size(req.parameters), 2);
    msg_request_clear(&req);
    assert_null(req.parameters);
}

static void
test_msg_request_parse_not_json_fails(void **state)
{
    static const char *const bodies[] = {
        "",
        "{",
        "not json",
        "{\"request_id\": \"" ID "\",}",
        "{\"request_id\": '" ID "'}",
    };
    struct msg_request req;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        err[0] = '\0';
        assert_int_equal(parse_text(bodies[i], &req, err, sizeof(err)),
                         IMGFLOW_EINVAL);
        assert_true(strlen(err) > 0);
        assert_string_equal(req.request_id, "");
        assert_null(req.parameters);
    }
}

static void
test_msg_request_parse_non_object_fails(void **state)
{
    static const char *const bodies[] = {
        "[]",   "[{\"request_id\": \"" ID "\"}]", "\"" ID "\"", "42", "null",
        "true",
    };
    struct msg_request req;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_int_equal(parse_text(bodies[i], &req, err, sizeof(err)),
                         IMGFLOW_EINVAL);
        assert_null(req.parameters);
    }
}

static void
test_msg_request_parse_missing_id_fails(void **state)
{
    struct msg_request req;
    char err[256] = "";

    (void)state;
    assert_int_equal(
        parse_text("{\"algorithm\": \"sobel\", \"image_key\": \"inputs/x\", "
                   "\"parameters\": {}}",
                   &req, err, sizeof(err)),
        IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "request_id"));
    assert_string_equal(req.request_id, "");
}

static void
test_msg_request_parse_non_uuid_id_fails(void **state)
{
    static const char *const ids[] = {
        "\"abc\"",
        "\"\"",
        "\"5B0F6A7E-3C1D-4E2A-9F00-000000000001\"",
        "\"5b0f6a7e3c1d4e2a9f00000000000001\"",
        "\"5b0f6a7e-3c1d-4e2a-9f00-000000000001/../x\"",
        "42",
        "null",
        "{}",
    };
    struct msg_request req;
    char text[512], err[256] = "";

    (void)state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        snprintf(text, sizeof(text),
                 "{\"request_id\": %s, \"algorithm\": \"sobel\", "
                 "\"image_key\": \"inputs/x\", \"parameters\": {}}",
                 ids[i]);
        assert_int_equal(parse_text(text, &req, err, sizeof(err)),
                         IMGFLOW_EINVAL);
        assert_string_equal(req.request_id, "");
        assert_null(req.parameters);
    }
}

static void
test_msg_request_parse_missing_algorithm_fails_keeps_id(void **state)
{
    struct msg_request req;
    char err[256] = "";

    (void)state;
    assert_int_equal(
        parse_text("{\"request_id\": \"" ID "\", \"image_key\": "
                   "\"inputs/x\", \"parameters\": {\"threads\": 1}}",
                   &req, err, sizeof(err)),
        IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "algorithm"));

    /* The id was readable, so the request can still be failed by id. */
    assert_string_equal(req.request_id, ID);
    assert_null(req.parameters);

    /* An algorithm that is not a string is no better. */
    assert_int_equal(
        parse_text("{\"request_id\": \"" ID "\", \"algorithm\": 3, "
                   "\"image_key\": \"inputs/x\", \"parameters\": {}}",
                   &req, err, sizeof(err)),
        IMGFLOW_EINVAL);
    assert_string_equal(req.request_id, ID);
}

static void
test_msg_request_parse_parameters_not_object_fails_keeps_id(void **state)
{
    static const char *const params[] = {
        "[4, 1]",
        "\"threads=4\"",
        "4",
        "null",
    };
    struct msg_request req;
    char text[512], err[256] = "";

    (void)state;
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        snprintf(text, sizeof(text), REQUEST_WITH("%s"), params[i]);
        assert_int_equal(parse_text(text, &req, err, sizeof(err)),
                         IMGFLOW_EINVAL);
        assert_non_null(strstr(err, "parameters"));
        assert_string_equal(req.request_id, ID);
        assert_null(req.parameters);
    }

    /* Missing altogether. */
    assert_int_equal(parse_text("{\"request_id\": \"" ID "\", \"algorithm\": "
                                "\"sobel\", \"image_key\": \"inputs/x\"}",
                                &req, err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_string_equal(req.request_id, ID);
    assert_null(req.parameters);
}

static void
test_msg_request_parse_duplicate_field_fails(void **state)
{
    struct msg_request req;
    char err[256];

    (void)state;
    assert_int_equal(
        parse_text("{\"request_id\": \"" ID "\", \"algorithm\": \"sobel\", "
                   "\"algorithm\": \"blur\", \"image_key\": \"inputs/x\", "
                   "\"parameters\": {}}",
                   &req, err, sizeof(err)),
        IMGFLOW_EINVAL);
    assert_null(req.parameters);
}

static void
test_msg_request_args_threads_zero_fails(void **state)
{
    struct algo_args args;
    char err[256];

    (void)state;
    assert_int_equal(args_for("sobel", "{\"threads\": 0, \"runs\": 1}", &args,
                              err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "threads"));
}

static void
test_msg_request_args_threads_huge_fails(void **state)
{
    struct algo_args args;
    char err[256];

    (void)state;
    assert_int_equal(
        args_for("sobel", "{\"threads\": 100000}", &args, err, sizeof(err)),
        IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "threads"));
    assert_int_equal(
        args_for("sobel", "{\"threads\": -4}", &args, err, sizeof(err)),
        IMGFLOW_EINVAL);
    assert_int_equal(
        args_for("sobel", "{\"threads\": 2.5}", &args, err, sizeof(err)),
        IMGFLOW_EINVAL);
}

static void
test_msg_request_args_runs_over_limit_fails(void **state)
{
    struct algo_args args;
    char err[256];

    (void)state;
    assert_int_equal(args_for("sobel", "{\"threads\": 1, \"runs\": 101}", &args,
                              err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "runs"));
    assert_int_equal(
        args_for("sobel", "{\"runs\": 0}", &args, err, sizeof(err)),
        IMGFLOW_EINVAL);
}

static void
test_msg_request_args_unknown_name_fails(void **state)
{
    struct algo_args args;
    char err[256];

    (void)state;
    assert_int_equal(args_for("sobel", "{\"threads\": 1, \"gamma\": 2}", &args,
                              err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "gamma"));
    assert_int_equal(
        args_for("blur", "{\"Sigma\": 2}", &args, err, sizeof(err)),
        IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "Sigma"));
}

static void
test_msg_request_args_non_number_fails(void **state)
{
    static const char *const params[] = {
        "{\"threads\": \"4\"}", "{\"threads\": true}",
        "{\"runs\": null}",     "{\"runs\": [1]}",
        "{\"sigma\": \"2.0\"}", "{\"sigma\": {\"value\": 2}}",
    };
    struct algo_args args;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        assert_int_equal(args_for("blur", params[i], &args, err, sizeof(err)),
                         IMGFLOW_EINVAL);
        assert_true(strstr(err, "threads") || strstr(err, "runs") ||
                    strstr(err, "sigma"));
    }
}

static void
test_msg_request_args_valid_values_accepted(void **state)
{
    const struct algo *blur = find_algo("blur");
    int i = algo_param_index(blur, "sigma");
    struct algo_args args, def;
    char err[256], params[128];

    (void)state;
    assert_int_equal(args_for("blur",
                              "{\"threads\": 8, \"runs\": 3, "
                              "\"sigma\": 1.5}",
                              &args, err, sizeof(err)),
                     0);
    assert_int_equal(args.threads, 8);
    assert_int_equal(args.runs, 3);
    assert_true(args.values[i] == 1.5);

    /* The limits themselves are allowed. */
    snprintf(params, sizeof(params), "{\"threads\": %d, \"runs\": %d}",
             ALGO_THREADS_MAX, ALGO_RUNS_MAX);
    assert_int_equal(args_for("sobel", params, &args, err, sizeof(err)), 0);
    assert_int_equal(args.threads, ALGO_THREADS_MAX);
    assert_int_equal(args.runs, ALGO_RUNS_MAX);

    /* A whole real counts as an integer; nothing given means defaults. */
    assert_int_equal(
        args_for("sobel", "{\"threads\": 2.0}", &args, err, sizeof(err)), 0);
    assert_int_equal(args.threads, 2);
    assert_int_equal(args_for("blur", "{}", &args, err, sizeof(err)), 0);
    algo_args_default(blur, &def);
    assert_int_equal(args.threads, def.threads);
    assert_int_equal(args.runs, def.runs);
    assert_true(args.values[i] == def.values[i]);
}

/* A completed result as a worker reports it. */
static void
completed_result(struct msg_result *r, struct algo_timing *t)
{
    memset(r, 0, sizeof(*r));
    memset(t, 0, sizeof(*t));
    t->run_s[0] = 0.5;
    t->run_s[1] = 0.75;
    t->mean_s = 0.625;
    t->min_s = 0.5;
    t->max_s = 0.75;
    r->request_id = ID;
    r->algorithm = "sobel";
    r->status = "completed";
    r->output_key = "results/" ID ".png";
    r->worker = "worker-1";
    r->timing = t;
    r->threads_used = 4;
    r->runs = 2;
    r->processing_time = 1.25;
    r->memory_used = 45000000;
    r->output_bytes = 1234;
    r->width = 64;
    r->height = 48;
    r->channels = 1;
    r->format = "png";
    r->attempt = 1;
}

static void
failed_result(struct msg_result *r)
{
    memset(r, 0, sizeof(*r));
    r->request_id = ID;
    r->algorithm = "sobel";
    r->status = "failed";
    r->error_code = "decode_failed";
    r->error = "the input is not an image imgflow can read";
    r->worker = "worker-1";
    r->attempt = 1;
}

static void
test_msg_result_build_completed_has_metadata(void **state)
{
    struct msg_result r;
    struct algo_timing t;
    json_t *doc, *result, *meta, *v;

    (void)state;
    completed_result(&r, &t);
    doc = msg_result_build(&r);
    assert_non_null(doc);
    assert_string_equal(string_field(doc, "request_id"), ID);
    assert_string_equal(string_field(doc, "algorithm"), "sobel");
    assert_string_equal(string_field(doc, "status"), "completed");
    assert_true(json_is_null(json_object_get(doc, "error")));
    assert_true(matches(TIMESTAMP_RE, string_field(doc, "timestamp")));

    result = json_object_get(doc, "result");
    assert_true(json_is_object(result));
    assert_string_equal(string_field(result, "output_image_key"),
                        "results/" ID ".png");
    v = json_object_get(result, "processing_time");
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == 1.25);

    meta = json_object_get(result, "metadata");
    assert_true(json_is_object(meta));
    v = json_object_get(meta, "threads_used");
    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), 4);
    v = json_object_get(meta, "kernel_time");
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == 0.625);
    assert_string_equal(string_field(meta, "memory_used"), "45MB");
    json_decref(doc);
}

static void
test_msg_result_build_small_memory_one_decimal(void **state)
{
    struct msg_result r;
    struct algo_timing t;
    char mb[32];
    json_t *doc, *meta;

    (void)state;
    util_format_mb(mb, sizeof(mb), 45000000);
    assert_string_equal(mb, "45MB");
    util_format_mb(mb, sizeof(mb), 300000);
    assert_string_equal(mb, "0.3MB");

    completed_result(&r, &t);
    r.memory_used = 300000;
    doc = msg_result_build(&r);
    assert_non_null(doc);
    meta = json_object_get(json_object_get(doc, "result"), "metadata");
    assert_string_equal(string_field(meta, "memory_used"), "0.3MB");
    json_decref(doc);
}

static void
test_msg_result_build_failed_has_error(void **state)
{
    struct msg_result r;
    json_t *doc;

    (void)state;
    failed_result(&r);
    doc = msg_result_build(&r);
    assert_non_null(doc);
    assert_string_equal(string_field(doc, "request_id"), ID);
    assert_string_equal(string_field(doc, "status"), "failed");
    assert_true(json_is_null(json_object_get(doc, "result")));
    assert_string_equal(string_field(doc, "error"), r.error);
    assert_string_equal(string_field(doc, "error_code"), "decode_failed");
    assert_true(matches(TIMESTAMP_RE, string_field(doc, "timestamp")));
    json_decref(doc);
}

static void
test_msg_result_build_processing_has_null_result(void **state)
{
    struct msg_result r;
    json_t *doc;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.request_id = ID;
    r.algorithm = "blur";
    r.status = "processing";
    r.attempt = 1;
    doc = msg_result_build(&r);
    assert_non_null(doc);
    assert_string_equal(string_field(doc, "status"), "processing");
    assert_string_equal(string_field(doc, "algorithm"), "blur");
    assert_true(json_is_null(json_object_get(doc, "result")));
    assert_true(json_is_null(json_object_get(doc, "error")));
    assert_true(matches(TIMESTAMP_RE, string_field(doc, "timestamp")));
    json_decref(doc);
}

/* Serialise doc and run it through msg_result_parse. */
static int
reparse(const json_t *doc, char *err, size_t errlen)
{
    char *text = msg_dump(doc);
    json_t *back = NULL;
    int rc;

    assert_non_null(text);
    rc = msg_result_parse(text, strlen(text), &back, err, errlen);
    if (rc == 0) {
        assert_non_null(back);
        assert_true(json_equal(back, doc));
        json_decref(back);
    }
    free(text);
    return rc;
}

static void
test_msg_result_parse_built_documents_accepted(void **state)
{
    struct msg_result r;
    struct algo_timing t;
    char err[256];
    json_t *doc;

    (void)state;
    completed_result(&r, &t);
    doc = msg_result_build(&r);
    assert_int_equal(reparse(doc, err, sizeof(err)), 0);
    json_decref(doc);

    failed_result(&r);
    doc = msg_result_build(&r);
    assert_int_equal(reparse(doc, err, sizeof(err)), 0);
    json_decref(doc);

    r.status = "processing";
    doc = msg_result_build(&r);
    assert_int_equal(reparse(doc, err, sizeof(err)), 0);
    json_decref(doc);
}

static void
test_msg_result_parse_architecture_example_accepted(void **state)
{
    static const char text[] =
        "{\"request_id\": \"" ID "\", \"algorithm\": \"grayscale\", "
        "\"status\": \"completed\", \"result\": {\"output_image_key\": "
        "\"processed_s3_key\", \"processing_time\": 1.234, \"metadata\": "
        "{\"threads_used\": 4, \"kernel_time\": 0.987, \"memory_used\": "
        "\"45MB\"}}, \"error\": null, \"timestamp\": "
        "\"2025-06-27T11:00:05Z\"}";
    json_t *doc = NULL;
    char err[256];

    (void)state;
    assert_int_equal(
        msg_result_parse(text, strlen(text), &doc, err, sizeof(err)), 0);
    assert_string_equal(string_field(doc, "status"), "completed");
    json_decref(doc);
}

/* Parse a result document given as a json_t, after serialising it. */
static int
parse_doc(const json_t *doc)
{
    char *text = msg_dump(doc), err[256] = "";
    json_t *out = NULL;
    int rc;

    assert_non_null(text);
    rc = msg_result_parse(text, strlen(text), &out, err, sizeof(err));
    if (rc == 0) {
        json_decref(out);
    } else {
        assert_null(out);
        assert_true(strlen(err) > 0);
    }
    free(text);
    return rc;
}

static void
test_msg_result_parse_unknown_status_fails(void **state)
{
    static const char *const words[] = {"done", "queued", "COMPLETED", ""};
    struct msg_result r;
    json_t *doc;

    (void)state;
    failed_result(&r);
    doc = msg_result_build(&r);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        json_object_set_new(doc, "status", json_string(words[i]));
        assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    }

    json_object_set_new(doc, "status", json_integer(2));
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_object_del(doc, "status");
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_decref(doc);
}

static void
test_msg_result_parse_completed_without_metadata_fails(void **state)
{
    struct msg_result r;
    struct algo_timing t;
    json_t *doc, *result, *meta;

    (void)state;
    completed_result(&r, &t);
    doc = msg_result_build(&r);
    result = json_object_get(doc, "result");
    meta = json_object_get(result, "metadata");

    /* A wrong type in the metadata is as bad as none. */
    json_object_set_new(meta, "threads_used", json_string("4"));
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_object_set_new(meta, "threads_used", json_integer(4));
    json_object_set_new(meta, "memory_used", json_integer(45000000));
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_object_del(meta, "memory_used");
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);

    json_object_del(result, "metadata");
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_object_set_new(doc, "result", json_null());
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_decref(doc);
}

static void
test_msg_result_parse_bad_id_fails(void **state)
{
    struct msg_result r;
    json_t *doc;

    (void)state;
    failed_result(&r);
    doc = msg_result_build(&r);
    json_object_set_new(doc, "request_id", json_string("not-a-uuid"));
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_object_set_new(doc, "request_id",
                        json_string("5B0F6A7E-3C1D-4E2A-9F00-000000000001"));
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_object_set_new(doc, "request_id", json_integer(1));
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_object_del(doc, "request_id");
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);

    /* The algorithm is required as well. */
    json_object_set_new(doc, "request_id", json_string(ID));
    json_object_del(doc, "algorithm");
    assert_int_equal(parse_doc(doc), IMGFLOW_EINVAL);
    json_decref(doc);
}

static void
test_msg_result_parse_not_object_fails(void **state)
{
    static const char *const bodies[] = {"", "{", "[]", "\"completed\"",
                                         "null"};
    json_t *doc = NULL;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_int_equal(msg_result_parse(bodies[i], strlen(bodies[i]), &doc,
                                          err, sizeof(err)),
                         IMGFLOW_EINVAL);
        assert_null(doc);
    }
}

/* A corpus message, or a skipped test when the shared folder is absent. */
static uint8_t *
corpus_read(const char *name, size_t *len)
{
    const char *dir = testutil_shared_dir();
    char path[1024];
    uint8_t *buf;

    if (dir == NULL) {
        return NULL;
    }

    snprintf(path, sizeof(path), "%s/corpus/messages/%s", dir, name);
    buf = testutil_read_file(path, len);
    assert_non_null(buf);
    return buf;
}

static void
test_msg_corpus_ok_sobel_parses(void **state)
{
    struct msg_request req;
    struct algo_args args;
    size_t len = 0;
    uint8_t *body = corpus_read("ok-sobel.json", &len);
    char err[256];

    (void)state;
    if (body == NULL) {
        skip();
    }

    assert_int_equal(msg_request_parse(body, len, &req, err, sizeof(err)), 0);
    assert_string_equal(req.request_id, ID);
    assert_string_equal(req.algorithm, "sobel");
    assert_int_equal(
        msg_request_args(&req, find_algo("sobel"), &args, err, sizeof(err)), 0);
    assert_int_equal(args.threads, 4);
    assert_int_equal(args.runs, 1);
    msg_request_clear(&req);
    free(body);
}

static void
test_msg_corpus_not_json_fails(void **state)
{
    struct msg_request req;
    size_t len = 0;
    uint8_t *body = corpus_read("poison-not-json.bin", &len);
    char err[256];
    json_t *doc = NULL;

    (void)state;
    if (body == NULL) {
        skip();
    }

    assert_int_equal(msg_request_parse(body, len, &req, err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_null(req.parameters);
    assert_int_equal(msg_result_parse(body, len, &doc, err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_null(doc);
    free(body);
}

/* A corpus request that parses but whose parameters are refused. */
static void
corpus_threads_refused(const char *name)
{
    struct msg_request req;
    struct algo_args args;
    size_t len = 0;
    uint8_t *body = corpus_read(name, &len);
    char err[256] = "";

    if (body == NULL) {
        skip();
    }

    assert_int_equal(msg_request_parse(body, len, &req, err, sizeof(err)), 0);
    assert_int_equal(msg_request_args(&req, find_algo(req.algorithm), &args,
                                      err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "threads"));
    msg_request_clear(&req);
    free(body);
}

static void
test_msg_corpus_threads_zero_fails_naming_threads(void **state)
{
    (void)state;
    corpus_threads_refused("poison-threads-zero.json");
}

static void
test_msg_corpus_threads_huge_fails_naming_threads(void **state)
{
    (void)state;
    corpus_threads_refused("poison-threads-huge.json");
}

static void
test_msg_corpus_unknown_algorithm_not_found(void **state)
{
    struct msg_request req;
    size_t len = 0;
    uint8_t *body = corpus_read("poison-unknown-algorithm.json", &len);
    char err[256];

    (void)state;
    if (body == NULL) {
        skip();
    }

    assert_int_equal(msg_request_parse(body, len, &req, err, sizeof(err)), 0);
    assert_string_equal(req.algorithm, "nosuchalgorithm");
    assert_null(algo_find(req.algorithm));
    msg_request_clear(&req);
    free(body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_request_build_fields_match_architecture),
        cmocka_unit_test(test_msg_request_build_blur_sigma_real),
        cmocka_unit_test(test_msg_request_build_dump_parses_back),
        cmocka_unit_test(test_msg_request_parse_valid_accepted),
        cmocka_unit_test(test_msg_request_parse_not_json_fails),
        cmocka_unit_test(test_msg_request_parse_non_object_fails),
        cmocka_unit_test(test_msg_request_parse_missing_id_fails),
        cmocka_unit_test(test_msg_request_parse_non_uuid_id_fails),
        cmocka_unit_test(
            test_msg_request_parse_missing_algorithm_fails_keeps_id),
        cmocka_unit_test(
            test_msg_request_parse_parameters_not_object_fails_keeps_id),
        cmocka_unit_test(test_msg_request_parse_duplicate_field_fails),
        cmocka_unit_test(test_msg_request_args_threads_zero_fails),
        cmocka_unit_test(test_msg_request_args_threads_huge_fails),
        cmocka_unit_test(test_msg_request_args_runs_over_limit_fails),
        cmocka_unit_test(test_msg_request_args_unknown_name_fails),
        cmocka_unit_test(test_msg_request_args_non_number_fails),
        cmocka_unit_test(test_msg_request_args_valid_values_accepted),
        cmocka_unit_test(test_msg_result_build_completed_has_metadata),
        cmocka_unit_test(test_msg_result_build_small_memory_one_decimal),
        cmocka_unit_test(test_msg_result_build_failed_has_error),
        cmocka_unit_test(test_msg_result_build_processing_has_null_result),
        cmocka_unit_test(test_msg_result_parse_built_documents_accepted),
        cmocka_unit_test(test_msg_result_parse_architecture_example_accepted),
        cmocka_unit_test(test_msg_result_parse_unknown_status_fails),
        cmocka_unit_test(
            test_msg_result_parse_completed_without_metadata_fails),
        cmocka_unit_test(test_msg_result_parse_bad_id_fails),
        cmocka_unit_test(test_msg_result_parse_not_object_fails),
        cmocka_unit_test(test_msg_corpus_ok_sobel_parses),
        cmocka_unit_test(test_msg_corpus_not_json_fails),
        cmocka_unit_test(test_msg_corpus_threads_zero_fails_naming_threads),
        cmocka_unit_test(test_msg_corpus_threads_huge_fails_naming_threads),
        cmocka_unit_test(test_msg_corpus_unknown_algorithm_not_found),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
