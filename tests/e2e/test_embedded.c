/*
 * End to end on the embedded default (or, given "distributed", on
 * RabbitMQ, Redis and S3): `imgflow up` in a child process,
 * every algorithm on real photos (or generated ones when the shared
 * folder is absent) checked pixel by pixel against the double-precision
 * references, the bad requests with their codes, and every request
 * submitted ending completed or failed.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e/client.h"
#include "e2e/jobs.h"
#include "e2e/services.h"
#include "util/testutil.h"

#define MAX_IDS    256

static const char *binary;
static int distributed; /* run on RabbitMQ, Redis and S3 */
static struct e2e_services services;
static struct e2e_server server;
static char *ids[MAX_IDS];
static int n_ids;

static struct e2e_photo photos[E2E_MAX_PHOTOS];
static int n_photos;

static void
remember(const char *id)
{
    assert_true(n_ids < MAX_IDS);
    ids[n_ids++] = strdup(id);
}

static char *
submit(const char *algo, const void *img, size_t len,
       const char *const *fields)
{
    char *id = e2e_submit(&server, algo, img, len, fields);

    remember(id);
    return id;
}

static void
run_algorithm(const char *algo, const char *const *fields, int threads,
              int runs)
{
    for (int i = 0; i < n_photos; i++) {
        char *id = submit(algo, photos[i].bytes, photos[i].len, fields);

        e2e_check_completed(&server, id, algo, &photos[i], threads, runs);
        free(id);
    }
}

static int
setup(void **state)
{
    const char *extra[16] = {"--max-upload-bytes", "20000000",
                             "--max-pixels", "30000000", NULL};

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    n_photos = e2e_photos_load(photos, E2E_MAX_PHOTOS);

    /*
     * The same suite on RabbitMQ, Redis and S3: `up` then runs the
     * gateway and a worker process per algorithm as its children.
     */
    if (distributed) {
        if (e2e_services_start(&services) != 0) {
            return -1;
        }
        extra[4] = "--broker";
        extra[5] = services.broker;
        extra[6] = "--status";
        extra[7] = services.status;
        extra[8] = "--store";
        extra[9] = services.store;
        extra[10] = NULL;
    }

    if (e2e_server_start(&server, binary, extra) != 0) {
        fprintf(stderr, "cannot start %s up\n", binary);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    int rc;

    (void)state;
    rc = e2e_server_stop(&server);
    for (int i = 0; i < n_photos; i++) {
        free(photos[i].bytes);
    }

    for (int i = 0; i < n_ids; i++) {
        free(ids[i]);
    }

    if (distributed) {
        e2e_services_stop(&services);
    }

    curl_global_cleanup();
    if (rc != 0) {
        fprintf(stderr, "imgflow up exited with %d\n", rc);
    }
    return rc == 0 ? 0 : -1;
}

static void
expect_error(const char *path, const void *img, size_t len,
             const char *const *fields, long status, const char *code,
             const char *in_message)
{
    struct e2e_response r;
    json_t *e;

    e2e_post(&server, path, img, len, fields, &r);
    assert_int_equal(r.status, status);
    e = json_object_get(r.json, "error");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    if (in_message != NULL) {
        assert_non_null(strstr(
            json_string_value(json_object_get(e, "message")), in_message));
    }
    e2e_response_clear(&r);
}

static void
test_e2e_grayscale_matches_reference(void **state)
{
    static const char *const f[] = {"threads", "2", "runs", "3", NULL};

    (void)state;
    run_algorithm("grayscale", f, 2, 3);
}

static void
test_e2e_sobel_matches_reference(void **state)
{
    static const char *const f[] = {"threads", "2", "runs", "2", NULL};

    (void)state;
    run_algorithm("sobel", f, 2, 2);
}

static void
test_e2e_blur_matches_reference(void **state)
{
    static const char *const f[] = {"threads", "1", "runs", "1", "sigma",
                                    "2.0", NULL};

    (void)state;
    run_algorithm("blur", f, 1, 1);
}

static void
test_e2e_algorithms_listed(void **state)
{
    static const char *const names[] = {"grayscale", "sobel", "blur"};
    static const char *const queues[] = {"image_processing",
                                         "sobel_processing",
                                         "blur_processing"};
    struct e2e_response r;
    json_t *list, *blur_params;

    (void)state;
    e2e_get(&server, "/api/v1/algorithms", &r);
    assert_int_equal(r.status, 200);
    list = json_object_get(r.json, "algorithms");
    assert_true(json_array_size(list) >= 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *a = json_array_get(list, i);

        assert_string_equal(json_string_value(json_object_get(a, "name")),
                            names[i]);
        assert_string_equal(json_string_value(json_object_get(a, "queue")),
                            queues[i]);
        assert_true(json_is_integer(json_object_get(a, "queue_depth")));
    }

    blur_params = json_object_get(json_array_get(list, 2), "parameters");
    assert_int_equal(json_array_size(blur_params), 3);
    json_t *sigma = json_array_get(blur_params, 2);
    assert_string_equal(json_string_value(json_object_get(sigma, "name")),
                        "sigma");
    assert_true(json_real_value(json_object_get(sigma, "minimum")) == 0.1);
    assert_true(json_real_value(json_object_get(sigma, "maximum")) == 50.0);
    assert_true(json_real_value(json_object_get(sigma, "default")) == 2.0);
    e2e_response_clear(&r);
}

/* A PNG whose header declares width x height, with no pixel data. */
static size_t
png_header_only(uint8_t *buf, uint32_t width, uint32_t height)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
                                   '\n'};
    uint8_t ihdr[17] = {'I', 'H', 'D', 'R'};
    uint32_t crc = 0xffffffffu;

    for (int i = 0; i < 4; i++) {
        ihdr[4 + i] = (uint8_t)(width >> (24 - 8 * i));
        ihdr[8 + i] = (uint8_t)(height >> (24 - 8 * i));
    }
    ihdr[12] = 8; /* bit depth */
    ihdr[13] = 2; /* RGB */
    for (int i = 0; i < 17; i++) {
        crc ^= ihdr[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
        }
    }
    crc ^= 0xffffffffu;

    memcpy(buf, sig, 8);
    memcpy(buf + 8, "\0\0\0\x0d", 4);
    memcpy(buf + 12, ihdr, 17);
    for (int i = 0; i < 4; i++) {
        buf[29 + i] = (uint8_t)(crc >> (24 - 8 * i));
    }
    return 33;
}

static void
test_e2e_bad_requests_refused(void **state)
{
    static const char *const zero[] = {"threads", "0", NULL};
    static const char *const big_sigma[] = {"sigma", "51", NULL};
    static const char *const typo[] = {"sigmaa", "2", NULL};
    static const char *const wrong_field[] = {"file", "photo bytes", NULL};
    static const char text[] = "hello, this is not an image at all\n";
    uint8_t png[64];
    size_t big_len = 21 * 1000 * 1000, n;
    uint8_t *big = calloc(1, big_len);

    (void)state;
    assert_non_null(big);
    expect_error("/api/v1/process/nosuch", photos[0].bytes, photos[0].len,
                 NULL, 404, "unknown_algorithm", "nosuch");
    expect_error("/api/v1/process/sobel", photos[0].bytes, photos[0].len,
                 zero, 400, "bad_parameter", "threads");
    expect_error("/api/v1/process/blur", photos[0].bytes, photos[0].len,
                 big_sigma, 400, "bad_parameter", "sigma");
    expect_error("/api/v1/process/blur", photos[0].bytes, photos[0].len, typo,
                 400, "unknown_parameter", "sigmaa");
    expect_error("/api/v1/process/sobel", NULL, 0, wrong_field, 400,
                 "unknown_parameter", "'image'");
    expect_error("/api/v1/process/sobel", text, sizeof(text) - 1, NULL, 415,
                 "unsupported_format", NULL);
    expect_error("/api/v1/process/sobel", NULL, 0, zero + 2, 400,
                 "missing_image", NULL);
    expect_error("/api/v1/process/sobel", "", 0, NULL, 400, "empty_image",
                 NULL);

    n = png_header_only(png, 6000, 6000);
    expect_error("/api/v1/process/sobel", png, n, NULL, 422,
                 "image_too_large", "pixels");

    memcpy(big, photos[0].bytes, photos[0].len < big_len ? photos[0].len
                                                         : big_len);
    expect_error("/api/v1/process/sobel", big, big_len, NULL, 413,
                 "too_large", NULL);
    free(big);
}

static void
test_e2e_lookups_checked(void **state)
{
    struct e2e_response r;

    (void)state;
    e2e_get(&server, "/api/v1/status/not-a-uuid", &r);
    assert_int_equal(r.status, 400);
    e2e_response_clear(&r);

    e2e_get(&server, "/api/v1/status/0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
            &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(r.json, "error"), "code")),
                        "unknown_request");
    e2e_response_clear(&r);

    e2e_get(&server, "/", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "imgflow"));
    e2e_response_clear(&r);

    e2e_get(&server, "/chart.js", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "Chart"));
    e2e_response_clear(&r);
}

static void
test_e2e_input_returned_unchanged(void **state)
{
    struct e2e_response r;
    char path[128];
    char *id;

    (void)state;
    id = submit("grayscale", photos[0].bytes, photos[0].len, NULL);
    snprintf(path, sizeof(path), "/api/v1/input/%s", id);
    e2e_get(&server, path, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, photos[0].len);
    assert_memory_equal(r.body, photos[0].bytes, r.len);
    e2e_response_clear(&r);
    json_decref(e2e_wait(&server, id, 120));
    free(id);
}

static void
test_e2e_truncated_image_fails_with_reason(void **state)
{
    struct e2e_response r;
    char path[128];
    json_t *doc, *e;
    char *id;

    (void)state;
    /* The header is intact, so the gateway accepts; decoding fails. */
    id = submit("sobel", photos[0].bytes, photos[0].len / 2, NULL);
    doc = e2e_wait(&server, id, 120);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        "failed");
    e = json_object_get(doc, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "decode_failed");
    assert_true(strlen(json_string_value(json_object_get(e, "message"))) > 10);

    snprintf(path, sizeof(path), "/api/v1/result/%s", id);
    e2e_get(&server, path, &r);
    assert_int_equal(r.status, 409);
    e2e_response_clear(&r);
    json_decref(doc);
    free(id);
}

static void
test_e2e_every_request_terminal(void **state)
{
    (void)state;
    assert_true(n_ids > 0);
    for (int i = 0; i < n_ids; i++) {
        json_t *doc = e2e_wait(&server, ids[i], 120);
        const char *st;

        assert_non_null(doc);
        st = json_string_value(json_object_get(doc, "status"));
        assert_true(strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0);
        json_decref(doc);
    }
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_algorithms_listed),
        cmocka_unit_test(test_e2e_grayscale_matches_reference),
        cmocka_unit_test(test_e2e_sobel_matches_reference),
        cmocka_unit_test(test_e2e_blur_matches_reference),
        cmocka_unit_test(test_e2e_bad_requests_refused),
        cmocka_unit_test(test_e2e_lookups_checked),
        cmocka_unit_test(test_e2e_input_returned_unchanged),
        cmocka_unit_test(test_e2e_truncated_image_fails_with_reason),
        cmocka_unit_test(test_e2e_every_request_terminal),
    };

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-IMGFLOW\n", argv[0]);
        return 2;
    }

    binary = argv[1];
    distributed = argc > 2 && strcmp(argv[2], "distributed") == 0;
    if (distributed) {
        printf("backends: RabbitMQ, Redis and S3, separate processes\n");
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
