/*
 * Unit tests of the status store interface and its forward-only merge
 * (src/status/status.c), run against the memory backend (memory.c):
 * copies in and out, result messages applied in and out of order, and
 * records created from results for requests the store never saw.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "status/status.h"

#define ID      "5b0f6a7e-3c1d-4e2a-9f00-000000000001"
#define ID_LATE "5b0f6a7e-3c1d-4e2a-9f00-000000000002"

#define RACE_THREADS 4
#define RACE_IDS     5000

static int
setup_store(void **state)
{
    struct status_store *s = NULL;
    char err[128];

    if (status_open("memory", 3600, &s, err, sizeof(err)) != 0) {
        return -1;
    }

    *state = s;
    return 0;
}

static int
teardown_store(void **state)
{
    status_close(*state);
    return 0;
}

/* The document the gateway records when it accepts an upload. */
static json_t *
queued_doc(const char *id)
{
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:n, s:n}", "request_id", id, "algorithm",
                  "sobel", "status", "queued", "result", "error");

    assert_non_null(doc);
    return doc;
}

/* A result message as msg_result_parse would have passed it. */
static json_t *
result_msg(const char *id, const char *status)
{
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:n, s:n, s:s, s:s}", "request_id", id,
                  "algorithm", "sobel", "status", status, "result", "error",
                  "timestamp", "2025-06-27T11:00:05Z", "worker", "worker-1");

    assert_non_null(doc);
    if (strcmp(status, "completed") == 0) {
        json_object_set_new(doc, "result",
                            json_pack("{s:s, s:f, s:{s:i, s:f, s:s}}",
                                      "output_image_key", "results/x.png",
                                      "processing_time", 1.5, "metadata",
                                      "threads_used", 4, "kernel_time", 0.25,
                                      "memory_used", "45MB"));
    } else if (strcmp(status, "failed") == 0) {
        json_object_set_new(doc, "error",
                            json_string("the input is not an image"));
        json_object_set_new(doc, "error_code", json_string("decode_failed"));
    }
    return doc;
}

static void
apply_status(struct status_store *s, const char *id, const char *status)
{
    json_t *r = result_msg(id, status);

    assert_int_equal(status_apply(s, r), 0);
    json_decref(r);
}

/* The stored status word of id, into buf. */
static const char *
stored_status(struct status_store *s, const char *id, char *buf, size_t len)
{
    json_t *doc = NULL;

    assert_int_equal(status_get(s, id, &doc), 0);
    assert_true(json_is_string(json_object_get(doc, "status")));
    snprintf(buf, len, "%s", json_string_value(json_object_get(doc, "status")));
    json_decref(doc);
    return buf;
}

static void
test_status_open_unknown_scheme_fails(void **state)
{
    struct status_store *s = NULL;
    char err[128] = "";

    (void)state;
    assert_int_equal(status_open("mongodb://x", 60, &s, err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_true(strlen(err) > 0);
    assert_null(s);
}

static void
test_status_create_get_returns_document(void **state)
{
    struct status_store *s = *state;
    json_t *doc = queued_doc(ID), *got = NULL;

    assert_int_equal(status_create(s, ID, doc), 0);
    assert_int_equal(status_get(s, ID, &got), 0);
    assert_non_null(got);
    assert_true(json_equal(got, doc));
    assert_int_equal(status_ping(s), 0);
    json_decref(got);
    json_decref(doc);
}

static void
test_status_get_copy_changes_not_stored(void **state)
{
    struct status_store *s = *state;
    json_t *doc = queued_doc(ID), *got = NULL, *again = NULL;
    char buf[32];

    assert_int_equal(status_create(s, ID, doc), 0);

    /* The store kept its own copy of what was created... */
    json_object_set_new(doc, "status", json_string("failed"));
    assert_string_equal(stored_status(s, ID, buf, sizeof(buf)), "queued");

    /* ...and hands out copies, so editing one changes nothing stored. */
    assert_int_equal(status_get(s, ID, &got), 0);
    json_object_set_new(got, "status", json_string("completed"));
    json_object_set_new(got, "extra", json_true());
    assert_int_equal(status_get(s, ID, &again), 0);
    assert_string_equal(json_string_value(json_object_get(again, "status")),
                        "queued");
    assert_null(json_object_get(again, "extra"));
    assert_true(got != again);

    json_decref(again);
    json_decref(got);
    json_decref(doc);
}

static void
test_status_get_unknown_id_notfound(void **state)
{
    struct status_store *s = *state;
    json_t *got = NULL;

    assert_int_equal(status_get(s, ID, &got), IMGFLOW_ENOTFOUND);
    assert_null(got);
}

static void
test_status_apply_processing_then_completed_advances(void **state)
{
    struct status_store *s = *state;
    json_t *doc = queued_doc(ID), *got = NULL, *meta;

    assert_int_equal(status_create(s, ID, doc), 0);
    apply_status(s, ID, "processing");
    assert_int_equal(status_get(s, ID, &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")),
                        "processing");
    assert_true(json_is_string(json_object_get(got, "started_at")));
    assert_true(json_is_null(json_object_get(got, "result")));
    json_decref(got);

    apply_status(s, ID, "completed");
    assert_int_equal(status_get(s, ID, &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")),
                        "completed");
    assert_true(json_is_null(json_object_get(got, "error")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(got, "result"),
                                          "output_image_key")),
        "results/x.png");
    meta = json_object_get(json_object_get(got, "result"), "metadata");
    assert_int_equal(json_integer_value(json_object_get(meta, "threads_used")),
                     4);
    assert_string_equal(json_string_value(json_object_get(meta, "memory_used")),
                        "45MB");
    json_decref(got);
    json_decref(doc);
}

static void
test_status_apply_failed_records_error(void **state)
{
    struct status_store *s = *state;
    json_t *doc = queued_doc(ID), *got = NULL, *err;

    assert_int_equal(status_create(s, ID, doc), 0);
    apply_status(s, ID, "failed");
    assert_int_equal(status_get(s, ID, &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")),
                        "failed");
    err = json_object_get(got, "error");
    assert_true(json_is_object(err));
    assert_string_equal(json_string_value(json_object_get(err, "code")),
                        "decode_failed");
    assert_string_equal(json_string_value(json_object_get(err, "message")),
                        "the input is not an image");
    json_decref(got);
    json_decref(doc);
}

static void
test_status_apply_late_processing_after_completed_ignored(void **state)
{
    struct status_store *s = *state;
    json_t *doc = queued_doc(ID), *before = NULL, *after = NULL;

    assert_int_equal(status_create(s, ID, doc), 0);
    apply_status(s, ID, "completed");
    assert_int_equal(status_get(s, ID, &before), 0);
    apply_status(s, ID, "processing");
    assert_int_equal(status_get(s, ID, &after), 0);
    assert_string_equal(json_string_value(json_object_get(after, "status")),
                        "completed");
    assert_true(json_equal(before, after));
    json_decref(after);
    json_decref(before);
    json_decref(doc);
}

static void
test_status_apply_completed_after_failed_ignored(void **state)
{
    struct status_store *s = *state;
    json_t *doc = queued_doc(ID), *before = NULL, *after = NULL;

    assert_int_equal(status_create(s, ID, doc), 0);
    apply_status(s, ID, "failed");
    assert_int_equal(status_get(s, ID, &before), 0);
    apply_status(s, ID, "completed");
    apply_status(s, ID, "processing");
    assert_int_equal(status_get(s, ID, &after), 0);
    assert_string_equal(json_string_value(json_object_get(after, "status")),
                        "failed");
    assert_true(json_equal(before, after));
    json_decref(after);
    json_decref(before);
    json_decref(doc);
}

static void
test_status_apply_duplicate_completed_idempotent(void **state)
{
    struct status_store *s = *state;
    json_t *doc = queued_doc(ID), *first = NULL, *second = NULL;

    assert_int_equal(status_create(s, ID, doc), 0);
    apply_status(s, ID, "completed");
    assert_int_equal(status_get(s, ID, &first), 0);
    apply_status(s, ID, "completed");
    apply_status(s, ID, "completed");
    assert_int_equal(status_get(s, ID, &second), 0);
    assert_true(json_equal(first, second));
    json_decref(second);
    json_decref(first);
    json_decref(doc);
}

static void
test_status_apply_unknown_id_creates_record(void **state)
{
    static const char *const words[] = {"processing", "completed", "failed"};
    struct status_store *s = *state;
    char id[40], buf[32];
    json_t *got = NULL;

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        snprintf(id, sizeof(id), "5b0f6a7e-3c1d-4e2a-9f00-00000000010%zu", i);
        apply_status(s, id, words[i]);
        assert_string_equal(stored_status(s, id, buf, sizeof(buf)), words[i]);
    }

    /* The record carries the id and algorithm of the result. */
    assert_int_equal(
        status_get(s, "5b0f6a7e-3c1d-4e2a-9f00-000000000101", &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "request_id")),
                        "5b0f6a7e-3c1d-4e2a-9f00-000000000101");
    assert_string_equal(json_string_value(json_object_get(got, "algorithm")),
                        "sobel");
    assert_true(json_is_object(json_object_get(got, "result")));
    json_decref(got);

    /* A record born from a result still only moves forward. */
    apply_status(s, "5b0f6a7e-3c1d-4e2a-9f00-000000000101", "processing");
    assert_string_equal(stored_status(s, "5b0f6a7e-3c1d-4e2a-9f00-000000000101",
                                      buf, sizeof(buf)),
                        "completed");
}

static void
test_status_apply_missing_id_fails(void **state)
{
    struct status_store *s = *state;
    json_t *r = result_msg(ID, "completed");

    json_object_del(r, "request_id");
    assert_int_equal(status_apply(s, r), IMGFLOW_EINVAL);
    json_decref(r);
}

static void
test_status_rank_values_ordered(void **state)
{
    (void)state;
    assert_int_equal(status_rank("queued"), 0);
    assert_int_equal(status_rank("processing"), 1);
    assert_int_equal(status_rank("completed"), 2);
    assert_int_equal(status_rank("failed"), 2);
    assert_int_equal(status_rank("unknown"), -1);
    assert_int_equal(status_rank("Completed"), -1);
    assert_int_equal(status_rank(""), -1);
    assert_int_equal(status_rank(NULL), -1);
}

static void
test_status_doc_merge_change_reported(void **state)
{
    json_t *doc = queued_doc(ID);
    json_t *proc = result_msg(ID, "processing");
    json_t *done = result_msg(ID, "completed");
    json_t *bogus = result_msg(ID, "processing");

    (void)state;
    json_object_set_new(bogus, "status", json_string("paused"));
    assert_int_equal(status_doc_merge(doc, bogus), 0);
    assert_int_equal(status_doc_merge(doc, proc), 1);
    assert_int_equal(status_doc_merge(doc, proc), 0);
    assert_int_equal(status_doc_merge(doc, done), 1);
    assert_int_equal(status_doc_merge(doc, done), 0);
    assert_int_equal(status_doc_merge(doc, proc), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        "completed");
    json_decref(bogus);
    json_decref(done);
    json_decref(proc);
    json_decref(doc);
}

struct race {
    struct status_store *s;
    pthread_barrier_t *start; /* lines the threads up on each id */
    int thread;
    int errors;
};

static void
race_id(char *buf, size_t len, int i)
{
    snprintf(buf, len, "5b0f6a7e-3c1d-4e2a-9f00-%012d", 1000 + i);
}

/*
 * Half the threads report "processing", half "completed", all on the same
 * id at once; the store has never seen half of the ids.
 */
static void *
race_main(void *arg)
{
    struct race *r = arg;
    const char *status = r->thread % 2 ? "completed" : "processing";
    char id[40];

    for (int i = 0; i < RACE_IDS; i++) {
        json_t *msg;

        pthread_barrier_wait(r->start);
        race_id(id, sizeof(id), i);
        msg = json_pack("{s:s, s:s, s:s, s:n, s:n, s:s}", "request_id", id,
                        "algorithm", "sobel", "status", status, "result",
                        "error", "worker", status);
        if (msg == NULL || status_apply(r->s, msg) != 0) {
            r->errors++;
        }
        json_decref(msg);
    }
    return NULL;
}

static void
test_status_apply_concurrent_forward_only(void **state)
{
    struct status_store *s = *state;
    struct race r[RACE_THREADS];
    pthread_t t[RACE_THREADS];
    pthread_barrier_t start;
    char id[40], buf[32];

    for (int i = 0; i < RACE_IDS; i += 2) {
        json_t *doc;

        race_id(id, sizeof(id), i);
        doc = queued_doc(id);
        assert_int_equal(status_create(s, id, doc), 0);
        json_decref(doc);
    }

    assert_int_equal(pthread_barrier_init(&start, NULL, RACE_THREADS), 0);
    for (int i = 0; i < RACE_THREADS; i++) {
        r[i] = (struct race){s, &start, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, race_main, &r[i]), 0);
    }

    for (int i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(r[i].errors, 0);
    }

    pthread_barrier_destroy(&start);

    /* Whatever the interleaving, every request ends completed. */
    for (int i = 0; i < RACE_IDS; i++) {
        race_id(id, sizeof(id), i);
        assert_string_equal(stored_status(s, id, buf, sizeof(buf)),
                            "completed");
    }
}

int
main(void)
{
#define STORE_TEST(f)                                                          \
    cmocka_unit_test_setup_teardown(f, setup_store, teardown_store)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_open_unknown_scheme_fails),
        STORE_TEST(test_status_create_get_returns_document),
        STORE_TEST(test_status_get_copy_changes_not_stored),
        STORE_TEST(test_status_get_unknown_id_notfound),
        STORE_TEST(test_status_apply_processing_then_completed_advances),
        STORE_TEST(test_status_apply_failed_records_error),
        STORE_TEST(test_status_apply_late_processing_after_completed_ignored),
        STORE_TEST(test_status_apply_completed_after_failed_ignored),
        STORE_TEST(test_status_apply_duplicate_completed_idempotent),
        STORE_TEST(test_status_apply_unknown_id_creates_record),
        STORE_TEST(test_status_apply_missing_id_fails),
        cmocka_unit_test(test_status_rank_values_ordered),
        cmocka_unit_test(test_status_doc_merge_change_reported),
        STORE_TEST(test_status_apply_concurrent_forward_only),
    };
#undef STORE_TEST

    return cmocka_run_group_tests(tests, NULL, NULL);
}
