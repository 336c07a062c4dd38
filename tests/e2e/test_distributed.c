/*
 * End to end across processes: RabbitMQ, Redis and an S3-compatible
 * store, each started privately by the test, with `imgflow gateway` and
 * `imgflow worker` as separate processes. Every algorithm is checked
 * pixel by pixel; a worker killed mid-job, a restarted gateway and poison
 * messages must lose nothing and leave nothing hanging.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus/bus.h"
#include "e2e/client.h"
#include "e2e/jobs.h"
#include "e2e/services.h"
#include "util/testutil.h"

static const char *binary;
static struct e2e_services sv;
static pid_t worker_pid;
static struct e2e_server gateway;
static struct e2e_photo photos[E2E_MAX_PHOTOS];
static int n_photos;

static char worker_log[128]; /* every worker's log, appended */

static pid_t
start_worker(void)
{
    const char *argv[] = {binary, "worker", "--broker", sv.broker, "--store",
                          sv.store, NULL};

    return e2e_spawn_logged(argv, worker_log);
}

/* How many times workers completed the job of request id. */
static int
completions(const char *id)
{
    char text[96];

    snprintf(text, sizeof(text), "completed request_id=%s ", id);
    return e2e_log_count(worker_log, text);
}

/*
 * Wait for every request to end and print the counts a fault test is
 * judged by; lost (never ended) and duplicated (processed more than once)
 * must be 0 and every request completed.
 */
static void
check_counts(const char *what, char **ids, int n, int refused)
{
    int completed = 0, failed = 0, lost = 0, duplicated = 0;

    for (int i = 0; i < n; i++) {
        json_t *doc = e2e_wait(&gateway, ids[i], 120);
        const char *st = json_string_value(json_object_get(doc, "status"));
        int done = completions(ids[i]);

        completed += st && strcmp(st, "completed") == 0;
        failed += st && strcmp(st, "failed") == 0;
        lost += st == NULL;
        duplicated += done > 1 ? done - 1 : 0;
        json_decref(doc);
    }

    printf("%s: submitted %d, refused and retried %d, completed %d, failed "
           "%d, duplicated %d, lost %d\n", what, n, refused, completed,
           failed, duplicated, lost);
    assert_int_equal(lost, 0);
    assert_int_equal(duplicated, 0);
    assert_int_equal(completed, n);
}

static int
start_gateway(int port)
{
    const char *extra[] = {"--broker", sv.broker, "--status", sv.status,
                           "--store", sv.store, NULL};

    return e2e_server_start_as(&gateway, binary, "gateway", port, extra);
}

static int
setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (e2e_services_start(&sv) != 0) {
        return -1;
    }

    n_photos = e2e_photos_load(photos, E2E_MAX_PHOTOS);
    snprintf(worker_log, sizeof(worker_log), "%s/workers.log", sv.dir);
    worker_pid = start_worker();
    return start_gateway(0);
}

static int
teardown(void **state)
{
    int rc;

    (void)state;
    rc = gateway.pid > 0 ? e2e_server_stop(&gateway) : 0;
    e2e_stop_pid(&worker_pid, SIGTERM);
    e2e_services_stop(&sv);
    for (int i = 0; i < n_photos; i++) {
        free(photos[i].bytes);
    }

    curl_global_cleanup();
    return rc == 0 ? 0 : -1;
}

static void
test_dist_every_algorithm_matches_reference(void **state)
{
    static const char *const algos[] = {"grayscale", "sobel", "blur"};
    static const char *const fields[] = {"threads", "2", "runs", "2", NULL};

    (void)state;
    for (int i = 0; i < n_photos; i++) {
        for (size_t a = 0; a < 3; a++) {
            char *id = e2e_submit(&gateway, algos[a], photos[i].bytes,
                                  photos[i].len, fields);

            e2e_check_completed(&gateway, id, algos[a], &photos[i], 2, 2);
            free(id);
        }
    }
}

/* Poll until status is want (or terminal); the last status seen. */
static char *
wait_status(const char *id, const char *want, double timeout)
{
    char path[128];
    char *last = NULL;

    snprintf(path, sizeof(path), "/api/v1/status/%s", id);
    for (double t = 0; t < timeout; t += 0.05) {
        struct e2e_response r;
        const char *st;

        e2e_get(&gateway, path, &r);
        st = json_string_value(json_object_get(r.json, "status"));
        free(last);
        last = st ? strdup(st) : NULL;
        e2e_response_clear(&r);
        if (last != NULL && (strcmp(last, want) == 0 ||
                             strcmp(last, "completed") == 0 ||
                             strcmp(last, "failed") == 0)) {
            break;
        }
        usleep(50000);
    }
    return last;
}

static void
test_dist_worker_killed_mid_job_completes(void **state)
{
    static const char *const slow[] = {"sigma", "13", "runs", E2E_LONG_RUNS,
                                       "threads", "1", NULL};
    json_t *doc;
    char *id, *st;

    (void)state;
    id = e2e_submit(&gateway, "blur", photos[0].bytes, photos[0].len, slow);
    st = wait_status(id, "processing", 60);
    assert_non_null(st);
    assert_string_equal(st, "processing");
    free(st);

    /* The broker gives the unacknowledged request to the next worker. */
    e2e_stop_pid(&worker_pid, SIGKILL);
    worker_pid = start_worker();
    doc = e2e_wait(&gateway, id, 600);
    json_decref(doc);
    check_counts("worker killed mid-job", &id, 1, 0);
    free(id);
}

/* A job that takes its worker down every time fails after 3 attempts. */
static void
test_dist_crash_loop_ends_failed(void **state)
{
    static const char *const slow[] = {"sigma", "13", "runs", E2E_LONG_RUNS,
                                       "threads", "1", NULL};
    json_t *doc, *e;
    char *id, *st;

    (void)state;
    id = e2e_submit(&gateway, "blur", photos[0].bytes, photos[0].len, slow);
    st = wait_status(id, "processing", 60);
    assert_string_equal(st, "processing");
    free(st);
    for (int attempt = 1; attempt <= 3; attempt++) {
        e2e_stop_pid(&worker_pid, SIGKILL);
        worker_pid = start_worker();
        if (attempt < 3) {
            usleep(1500000); /* the next worker takes the job again */
        }
    }

    doc = e2e_wait(&gateway, id, 300);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        "failed");
    e = json_object_get(doc, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "too_many_attempts");
    printf("crash loop: failed after %s\n",
           json_string_value(json_object_get(e, "message")));
    json_decref(doc);
    free(id);
}

/* The store goes away while a job runs: the worker waits, nothing fails. */
static void
test_dist_store_outage_mid_job_completes(void **state)
{
    static const char *const slow[] = {"sigma", "13", "runs", E2E_LONG_RUNS,
                                       "threads", "1", NULL};
    char *id, *st;

    (void)state;
    id = e2e_submit(&gateway, "blur", photos[0].bytes, photos[0].len, slow);
    st = wait_status(id, "processing", 60);
    assert_string_equal(st, "processing");
    free(st);
    e2e_stop_pid(&sv.s3_pid, SIGTERM);
    sleep(5);
    assert_int_equal(e2e_services_s3_start(&sv), 0);
    check_counts("store down mid-job", &id, 1, 0);
    free(id);
}

static void
test_dist_gateway_restart_keeps_requests(void **state)
{
    static const char *const fields[] = {"threads", "1", NULL};
    int port = gateway.port;
    char *ids[20];

    (void)state;
    for (int i = 0; i < 20; i++) {
        ids[i] = e2e_submit(&gateway, "sobel", photos[0].bytes,
                            photos[0].len, fields);
    }

    /* Results arrive while no gateway runs; the next one applies them. */
    e2e_stop_pid(&gateway.pid, SIGKILL);
    usleep(500000);
    assert_int_equal(start_gateway(port), 0);
    check_counts("gateway restarted", ids, 20, 0);

    /* Status lives in Redis and images in S3: nothing was lost. */
    e2e_check_completed(&gateway, ids[19], "sobel", &photos[0], 1, 1);
    for (int i = 0; i < 20; i++) {
        free(ids[i]);
    }
}

static void
test_dist_poison_messages_dead_lettered(void **state)
{
    static const char bad_threads[] =
        "{\"request_id\":\"5ff683e9-f3c9-4b70-8d1f-0a1b2c3d4e5f\","
        "\"algorithm\":\"sobel\",\"image_key\":\"inputs/x.png\","
        "\"parameters\":{\"threads\":0,\"runs\":1},"
        "\"timestamp\":\"2025-06-27T11:00:00Z\"}";
    struct bus_queue_stats st = {0}, before = {0};
    struct e2e_response r;
    struct bus *bus = NULL;
    char err[256];
    json_t *e;

    (void)state;
    assert_int_equal(bus_open(sv.broker, &bus, err, sizeof(err)), 0);
    assert_int_equal(bus_stats(bus, "processing_dead_letter", &before), 0);
    assert_int_equal(bus_publish(bus, "sobel_processing", "not json", 8), 0);
    assert_int_equal(bus_publish(bus, "sobel_processing", bad_threads,
                                 sizeof(bad_threads) - 1), 0);

    /* Both are kept for operators; earlier tests may have left others. */
    for (int i = 0; i < 200 && st.ready < before.ready + 2; i++) {
        usleep(100000);
        assert_int_equal(bus_stats(bus, "processing_dead_letter", &st), 0);
    }
    assert_int_equal(st.ready, before.ready + 2);

    /* The id was readable: the request is recorded as failed, once. */
    e2e_get(&gateway, "/api/v1/status/5ff683e9-f3c9-4b70-8d1f-0a1b2c3d4e5f",
            &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")),
                        "failed");
    e = json_object_get(r.json, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "bad_parameter");
    assert_non_null(strstr(
        json_string_value(json_object_get(e, "message")), "threads"));
    e2e_response_clear(&r);
    bus_shutdown(bus);
    bus_close(bus);
}

static void
test_dist_second_gateway_answers(void **state)
{
    static const char *const fields[] = {"threads", "1", NULL};
    struct e2e_server first = gateway;
    char *id;

    (void)state;
    id = e2e_submit(&first, "grayscale", photos[0].bytes, photos[0].len,
                    fields);

    /* Another gateway on the same Redis and bucket answers for it. */
    assert_int_equal(start_gateway(0), 0);
    e2e_check_completed(&gateway, id, "grayscale", &photos[0], 1, 1);
    assert_int_equal(e2e_server_stop(&gateway), 0);
    gateway = first;
    free(id);
}

static void
test_dist_missing_input_fails_with_reason(void **state)
{
    static const char msg[] =
        "{\"request_id\":\"dd563e6c-a861-4c78-9d1f-0a1b2c3d4e5f\","
        "\"algorithm\":\"blur\",\"image_key\":\"inputs/none.png\","
        "\"parameters\":{\"threads\":1,\"runs\":1,\"sigma\":2.0},"
        "\"timestamp\":\"2025-06-27T11:00:00Z\"}";
    struct bus *bus = NULL;
    char err[256];
    json_t *doc, *e;

    (void)state;
    assert_int_equal(bus_open(sv.broker, &bus, err, sizeof(err)), 0);
    assert_int_equal(bus_publish(bus, "blur_processing", msg,
                                 sizeof(msg) - 1), 0);
    doc = e2e_wait(&gateway, "dd563e6c-a861-4c78-9d1f-0a1b2c3d4e5f", 60);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        "failed");
    e = json_object_get(doc, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "input_missing");
    json_decref(doc);
    bus_shutdown(bus);
    bus_close(bus);
}

static void
test_dist_redis_down_answers_503_then_recovers(void **state)
{
    static const char *const fields[] = {"threads", "1", NULL};
    struct e2e_response r;
    char path[128];
    char *id;

    (void)state;
    id = e2e_submit(&gateway, "grayscale", photos[0].bytes, photos[0].len,
                    fields);
    json_decref(e2e_wait(&gateway, id, 120));
    e2e_stop_pid(&sv.redis_pid, SIGKILL);

    snprintf(path, sizeof(path), "/api/v1/status/%s", id);
    e2e_get(&gateway, path, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(r.json, "error"), "code")),
                        "status_unavailable");
    e2e_response_clear(&r);

    /* Redis comes back empty (no persistence here): new work flows again. */
    assert_int_equal(e2e_services_redis_start(&sv), 0);
    free(id);
    id = e2e_submit(&gateway, "sobel", photos[0].bytes, photos[0].len,
                    fields);
    e2e_check_completed(&gateway, id, "sobel", &photos[0], 1, 1);
    free(id);
}

/* POST until accepted, retrying 503s for up to 60 s; the id or NULL. */
static char *
submit_retrying(const void *png, size_t len, int *refused)
{
    for (int i = 0; i < 300; i++) {
        struct e2e_response r;
        char *id = NULL;

        e2e_post(&gateway, "/api/v1/process/grayscale", png, len, NULL, &r);
        if (r.status == 202) {
            id = strdup(json_string_value(json_object_get(r.json,
                                                          "request_id")));
        }

        e2e_response_clear(&r);
        if (id != NULL) {
            return id;
        }

        (*refused)++;
        usleep(200000);
    }
    return NULL;
}

static void
test_dist_broker_restart_during_burst_loses_nothing(void **state)
{
    enum { BURST = 100 };
    struct image_encode_opts o;
    struct image img;
    char *ids[BURST], err[128];
    int refused = 0;
    uint8_t *png;
    size_t len;

    (void)state;
    image_encode_opts_default(&o);
    testutil_image(&img, TESTUTIL_PHOTO, 96, 64, 3, 21);
    assert_int_equal(image_encode(&img, IMAGE_FORMAT_PNG, &o, &png, &len, err,
                                  sizeof(err)), 0);

    /* Half before the restart, half after, retrying what was refused. */
    for (int i = 0; i < BURST; i++) {
        if (i == BURST / 2) {
            assert_int_equal(e2e_services_rabbit(&sv, "stop"), 0);
            assert_int_equal(e2e_services_rabbit(&sv, "start"), 0);
        }
        ids[i] = submit_retrying(png, len, &refused);
        assert_non_null(ids[i]);
    }

    check_counts("broker restarted", ids, BURST, refused);
    for (int i = 0; i < BURST; i++) {
        free(ids[i]);
    }

    free(png);
    image_free(&img);
}

/* The pid of parent's child whose command line holds word, or -1. */
static pid_t
child_with(pid_t parent, const char *word)
{
    char path[64], list[1024] = "", *save = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent,
             (int)parent);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }

    if (fgets(list, sizeof(list), f) == NULL) {
        list[0] = '\0';
    }
    fclose(f);

    for (char *tok = strtok_r(list, " \n", &save); tok != NULL;
         tok = strtok_r(NULL, " \n", &save)) {
        char cmd[512] = "";
        size_t n;

        snprintf(path, sizeof(path), "/proc/%s/cmdline", tok);
        f = fopen(path, "r");
        n = f ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
        if (f != NULL) {
            fclose(f);
        }

        /* Arguments are NUL-separated: turn them into one string. */
        for (size_t i = 0; i < n; i++) {
            cmd[i] = cmd[i] == '\0' ? ' ' : cmd[i];
        }

        if (strstr(cmd, word) != NULL) {
            return (pid_t)atoi(tok);
        }
    }
    return -1;
}

static void
test_dist_up_supervises_children(void **state)
{
    static const char *const fields[] = {"threads", "1", NULL};
    const char *extra[] = {"--broker", sv.broker, "--status", sv.status,
                           "--store", sv.store, NULL};
    struct e2e_server up;
    pid_t old = -1, now = -1;
    char *id;

    (void)state;
    assert_int_equal(e2e_server_start_as(&up, binary, "up", 0, extra), 0);
    for (int i = 0; i < 100 && old < 0; i++) {
        old = child_with(up.pid, "worker --algorithms sobel");
        usleep(50000);
    }
    assert_true(old > 0);

    /* A worker process that dies is started again. */
    kill(old, SIGKILL);
    for (int i = 0; i < 200 && (now < 0 || now == old); i++) {
        usleep(50000);
        now = child_with(up.pid, "worker --algorithms sobel");
    }
    assert_true(now > 0 && now != old);

    id = e2e_submit(&up, "sobel", photos[0].bytes, photos[0].len, fields);
    e2e_check_completed(&up, id, "sobel", &photos[0], 1, 1);
    assert_int_equal(e2e_server_stop(&up), 0);
    free(id);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dist_every_algorithm_matches_reference),
        cmocka_unit_test(test_dist_worker_killed_mid_job_completes),
        cmocka_unit_test(test_dist_crash_loop_ends_failed),
        cmocka_unit_test(test_dist_store_outage_mid_job_completes),
        cmocka_unit_test(test_dist_gateway_restart_keeps_requests),
        cmocka_unit_test(test_dist_poison_messages_dead_lettered),
        cmocka_unit_test(test_dist_second_gateway_answers),
        cmocka_unit_test(test_dist_missing_input_fails_with_reason),
        cmocka_unit_test(test_dist_redis_down_answers_503_then_recovers),
        cmocka_unit_test(test_dist_up_supervises_children),
        cmocka_unit_test(test_dist_broker_restart_during_burst_loses_nothing),
    };

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-IMGFLOW\n", argv[0]);
        return 2;
    }

    binary = argv[1];
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
