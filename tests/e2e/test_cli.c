/*
 * The command line: `imgflow process` on one file, `imgflow submit`
 * against a running `imgflow up`, and the exit statuses and messages of
 * misuse.
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
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e/client.h"
#include "e2e/jobs.h"
#include "util/ref.h"
#include "util/testutil.h"

static const char *binary;
static char dir[64];
static struct e2e_server server;

/* Run a shell command; its exit status, with stdout+stderr in out. */
static int
run(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[2048];
    size_t n = 0;
    va_list ap;
    FILE *p;
    int status;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
    va_end(ap);
    strcat(cmd, " 2>&1");
    p = popen(cmd, "r");
    assert_non_null(p);
    while (out != NULL && n + 1 < outlen &&
           fgets(out + n, (int)(outlen - n), p) != NULL) {
        n += strlen(out + n);
    }

    while (fgetc(p) != EOF) {
        /* Drain what did not fit. */
    }

    status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
write_png(const char *path, const struct image *img)
{
    struct image_encode_opts o;
    uint8_t *buf;
    size_t len;
    char err[128];

    image_encode_opts_default(&o);
    assert_int_equal(image_encode(img, IMAGE_FORMAT_PNG, &o, &buf, &len, err,
                                  sizeof(err)), 0);
    assert_int_equal(testutil_write_file(path, buf, len), 0);
    free(buf);
}

static void
read_image(const char *path, struct image *img)
{
    struct image_limits lim;
    char err[128];
    size_t len;
    uint8_t *buf = testutil_read_file(path, &len);

    assert_non_null(buf);
    image_limits_default(&lim);
    assert_int_equal(image_decode(buf, len, &lim, img, err, sizeof(err)), 0);
    free(buf);
}

static void
test_cli_process_blur_matches_reference(void **state)
{
    struct image in, want, got;
    char path_in[128], path_out[128], out[4096];

    (void)state;
    testutil_image(&in, TESTUTIL_PHOTO, 123, 77, 3, 5);
    snprintf(path_in, sizeof(path_in), "%s/in.png", dir);
    snprintf(path_out, sizeof(path_out), "%s/out.png", dir);
    write_png(path_in, &in);

    assert_int_equal(run(out, sizeof(out), "%s process blur %s %s --sigma 3 "
                         "--threads 2 --runs 3", binary, path_in, path_out),
                     0);
    assert_non_null(strstr(out, "threads 2, runs 3"));
    read_image(path_out, &got);
    ref_blur(&in, 3.0, &want);
    assert_in_range(ref_max_diff(&got, &want), 0, 1);
    image_free(&in);
    image_free(&want);
    image_free(&got);
}

static void
test_cli_misuse_explained(void **state)
{
    char out[4096];

    (void)state;
    assert_int_equal(run(out, sizeof(out), "%s process nosuch a b", binary),
                     2);
    assert_non_null(strstr(out, "unknown algorithm 'nosuch'"));
    assert_non_null(strstr(out, "grayscale"));

    assert_int_equal(run(out, sizeof(out), "%s process sobel a b --threads 0",
                         binary), 2);
    assert_non_null(strstr(out, "threads"));

    assert_int_equal(run(out, sizeof(out), "%s process sobel %s/missing.png "
                         "%s/x.png", binary, dir, dir), 1);
    assert_non_null(strstr(out, "cannot read"));

    assert_int_equal(run(out, sizeof(out), "%s up --bogus", binary), 2);
    assert_non_null(strstr(out, "unknown option --bogus"));

    assert_int_equal(run(out, sizeof(out), "%s up --help", binary), 0);
    assert_non_null(strstr(out, "IMGFLOW_LISTEN"));

    assert_int_equal(run(out, sizeof(out), "%s frobnicate", binary), 2);
    assert_int_equal(run(out, sizeof(out), "%s submit sobel %s/missing.png "
                         "%s/o.png", binary, dir, dir), 1);
    assert_non_null(strstr(out, "cannot read"));
    assert_int_equal(run(out, sizeof(out), "%s submit sobel %s/in.png "
                         "%s/o.png --gateway http://127.0.0.1:1", binary, dir,
                         dir), 3);
    assert_non_null(strstr(out, "cannot reach"));
}

static void
test_cli_submit_round_trip(void **state)
{
    struct e2e_server *s = &server;
    struct image in, want, got;
    char path_in[128], path_out[128], out[4096];

    (void)state;
    assert_int_equal(e2e_server_start(s, binary, NULL), 0);
    testutil_image(&in, TESTUTIL_NOISE, 97, 61, 3, 11);
    snprintf(path_in, sizeof(path_in), "%s/sub.png", dir);
    snprintf(path_out, sizeof(path_out), "%s/sub-out.png", dir);
    write_png(path_in, &in);

    assert_int_equal(run(out, sizeof(out), "%s submit sobel %s %s --threads "
                         "2 --runs 2 --gateway %s", binary, path_in, path_out,
                         s->base), 0);
    assert_non_null(strstr(out, "completed"));
    read_image(path_out, &got);
    ref_sobel(&in, &want);
    assert_int_equal(ref_max_diff(&got, &want), 0);

    /* A refused upload names the problem and exits 1. */
    assert_int_equal(run(out, sizeof(out), "%s submit blur %s %s --sigma 99 "
                         "--gateway %s", binary, path_in, path_out, s->base),
                     1);
    assert_non_null(strstr(out, "sigma"));
    assert_int_equal(e2e_server_stop(s), 0);
    image_free(&in);
    image_free(&want);
    image_free(&got);
}

/* SIGTERM: new work is refused, the running job ends and is readable. */
static void
test_cli_stop_finishes_running_job(void **state)
{
    static const char *const slow[] = {"sigma", "13", "runs", E2E_LONG_RUNS,
                                       "threads", "1", NULL};
    struct e2e_server *s = &server;
    struct image_encode_opts o;
    struct e2e_response r;
    struct image img;
    char err[128], path[128];
    const char *st = NULL;
    uint8_t *png;
    size_t len;
    json_t *doc;
    char *id;

    (void)state;
    image_encode_opts_default(&o);
    testutil_image(&img, TESTUTIL_PHOTO, 1200, 900, 3, 3);
    assert_int_equal(image_encode(&img, IMAGE_FORMAT_PNG, &o, &png, &len, err,
                                  sizeof(err)), 0);
    assert_int_equal(e2e_server_start(s, binary, NULL), 0);
    e2e_post(s, "/api/v1/process/blur", png, len, slow, &r);
    assert_int_equal(r.status, 202);
    id = strdup(json_string_value(json_object_get(r.json, "request_id")));
    e2e_response_clear(&r);

    /* Wait until the worker holds the job, then ask the process to stop. */
    snprintf(path, sizeof(path), "/api/v1/status/%s", id);
    for (int i = 0; i < 400; i++) {
        e2e_get(s, path, &r);
        st = json_string_value(json_object_get(r.json, "status"));
        i = st && strcmp(st, "processing") == 0 ? 400 : i;
        e2e_response_clear(&r);
        usleep(25000);
    }
    kill(s->pid, SIGTERM);
    usleep(300000);

    e2e_post(s, "/api/v1/process/blur", png, len, NULL, &r);
    assert_int_equal(r.status, 503);
    e2e_response_clear(&r);

    doc = e2e_wait(s, id, 300);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        "completed");
    assert_int_equal(e2e_server_stop(s), 0);
    json_decref(doc);
    free(id);
    free(png);
    image_free(&img);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_process_blur_matches_reference),
        cmocka_unit_test(test_cli_misuse_explained),
        cmocka_unit_test(test_cli_submit_round_trip),
        cmocka_unit_test(test_cli_stop_finishes_running_job),
    };
    char cmd[128];
    int rc;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-IMGFLOW\n", argv[0]);
        return 2;
    }

    binary = argv[1];
    snprintf(dir, sizeof(dir), "/tmp/imgflow-cli-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return 1;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (server.pid > 0) {
        e2e_server_stop(&server); /* a failed case left it running */
    }
    curl_global_cleanup();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }
    return rc;
}
