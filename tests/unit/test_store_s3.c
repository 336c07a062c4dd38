/*
 * Unit tests of the S3 object store (src/store/s3.c) against s3rver, which
 * scripts/s3-test-server installs with npm and runs on a free port, with
 * SigV4 signatures checked in front of it: bucket creation, round trips,
 * missing objects, refused credentials, a server that is down, and many
 * threads at once. Without Node.js and npm the tests fail, they never skip.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#define TEST_KEY_ID     "S3RVER"     /* s3rver's built-in access key */
#define TEST_SECRET     "test-secret-Vb7Lw3" /* unlike the key, for greps */
#define ROTATED_SECRET  "rotated-secret-8Hq2zX"
#define WRONG_SECRET    "wrong-secret-5Tz9Qk"
#define START_TIMEOUT_S 240 /* a first run installs s3rver with npm */
#define THREADS         8
#define ROUNDS          20

/* One s3-test-server child and its data directory. */
struct s3_server {
    pid_t pid;              /* also its process group; 0 when stopped */
    int port;
    char dir[64];           /* mkdtemp directory */
    char endpoint[64];      /* "http://127.0.0.1:PORT" */
};

static struct s3_server server;     /* the group's server */
static struct s3_server spare;      /* one test's own, to stop or restart */
static char script[4096];           /* path of scripts/s3-test-server */

/* The script beside this file's tree, found from __FILE__. */
static void
find_script(void)
{
    const char *file = __FILE__;
    const char *cut = strstr(file, "tests/unit/");

    snprintf(script, sizeof(script), "%.*sscripts/s3-test-server",
             cut != NULL ? (int)(cut - file) : 0, file);
}

/* A TCP port nothing listens on right now. */
static int
free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        port = ntohs(sa.sin_port);
    }

    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* 1 once something accepts TCP connections on port. */
static int
port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
             struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Kill the server's process group and wait for it; keeps the data. */
static void
server_kill(struct s3_server *srv)
{
    double deadline = util_now() + 5;

    if (srv->pid <= 0) {
        return;
    }

    kill(-srv->pid, SIGTERM);
    while (waitpid(srv->pid, NULL, WNOHANG) == 0) {
        if (util_now() > deadline) {
            kill(-srv->pid, SIGKILL);
            waitpid(srv->pid, NULL, 0);
            break;
        }

        util_sleep_ms(20);
    }

    /* Any grandchild (npm) left in the group goes too. */
    kill(-srv->pid, SIGKILL);
    srv->pid = 0;
}

static void
server_stop(struct s3_server *srv)
{
    server_kill(srv);
    if (srv->dir[0] != '\0') {
        nftw(srv->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        srv->dir[0] = '\0';
    }
}

/* Fork the script in its own process group, dying with this process. */
static int
server_spawn(struct s3_server *srv, const char *secret)
{
    char port[16], data[96];

    snprintf(port, sizeof(port), "%d", srv->port);
    snprintf(data, sizeof(data), "%s/data", srv->dir);
    srv->pid = fork();
    if (srv->pid < 0) {
        srv->pid = 0;
        return -1;
    }

    if (srv->pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(script, script, "--port", port, "--dir", data, "--secret",
              secret, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", script, strerror(errno));
        _exit(127);
    }

    setpgid(srv->pid, srv->pid);
    return 0;
}

/* Wait until the server answers; a clear message when it never will. */
static int
server_wait(struct s3_server *srv)
{
    double deadline = util_now() + START_TIMEOUT_S;
    int status;

    while (!port_open(srv->port)) {
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
            srv->pid = 0;
            fprintf(stderr, "s3-test-server exited (status %d) before "
                    "serving: Node.js, npm and the npm registry are needed "
                    "to install s3rver (scripts/install-deps)\n",
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            return -1;
        }

        if (util_now() > deadline) {
            fprintf(stderr, "s3-test-server did not answer on port %d "
                    "within %d s\n", srv->port, START_TIMEOUT_S);
            return -1;
        }

        util_sleep_ms(100);
    }
    return 0;
}

/* (Re)start a server on srv's port and directory, with that secret. */
static int
server_run(struct s3_server *srv, const char *secret)
{
    if (server_spawn(srv, secret) != 0 || server_wait(srv) != 0) {
        server_kill(srv);
        return -1;
    }
    return 0;
}

/* A new server on a free port in a fresh directory. */
static int
server_start(struct s3_server *srv)
{
    memset(srv, 0, sizeof(*srv));
    snprintf(srv->dir, sizeof(srv->dir), "/tmp/imgflow-s3-XXXXXX");
    if (mkdtemp(srv->dir) == NULL) {
        srv->dir[0] = '\0';
        return -1;
    }

    srv->port = free_port();
    snprintf(srv->endpoint, sizeof(srv->endpoint), "http://127.0.0.1:%d",
             srv->port);
    if (srv->port <= 0 || server_run(srv, TEST_SECRET) != 0) {
        server_stop(srv);
        return -1;
    }
    return 0;
}

static void
set_credentials(const char *secret)
{
    setenv("AWS_ACCESS_KEY_ID", TEST_KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    unsetenv("AWS_SESSION_TOKEN");
}

static int
setup_group(void **state)
{
    (void)state;
    find_script();
    set_credentials(TEST_SECRET);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    if (server_start(&server) != 0) {
        fprintf(stderr, "FAILED: no S3 test server; see the lines above\n");
        return -1;
    }
    return 0;
}

/* Stops the spare server even when its test failed half-way. */
static int
teardown_spare(void **state)
{
    (void)state;
    server_stop(&spare);
    return 0;
}

static int
teardown_group(void **state)
{
    (void)state;
    server_stop(&spare);
    server_stop(&server);
    curl_global_cleanup();
    return 0;
}

/* Open bucket on the group's server with extra URL options; must work. */
static struct store *
open_bucket(const char *bucket, const char *options)
{
    struct store *s = NULL;
    char url[512], err[512] = "";
    int rc;

    snprintf(url, sizeof(url), "s3://%s?endpoint=%s%s", bucket,
             server.endpoint, options);
    rc = store_open(url, &s, err, sizeof(err));
    if (rc != 0) {
        fail_msg("open %s: %s (%s)", url, err, imgflow_strerror(rc));
    }
    return s;
}

/* Reads back key and compares every byte. */
static void
expect_object(struct store *s, const char *key, const uint8_t *want,
              size_t len)
{
    uint8_t *got = NULL;
    size_t got_len = 0;

    assert_int_equal(store_get(s, key, &got, &got_len), 0);
    assert_non_null(got);
    assert_int_equal(got_len, len);
    if (len > 0) {
        assert_memory_equal(got, want, len);
    }

    free(got);
}

static uint8_t *
random_bytes(size_t len, unsigned int seed)
{
    uint8_t *buf = malloc(len > 0 ? len : 1);

    assert_non_null(buf);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
    return buf;
}

/* Everything written to stderr while log capture is on. */
struct capture {
    int saved;              /* the real stderr */
    char path[64];
};

static void
capture_begin(struct capture *c)
{
    int fd;

    snprintf(c->path, sizeof(c->path), "/tmp/imgflow-s3-log-XXXXXX");
    fd = mkstemp(c->path);
    assert_true(fd >= 0);
    c->saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Stop capturing; returns the text (malloc'd), also echoed to stderr. */
static char *
capture_end(struct capture *c)
{
    FILE *f;
    char *text = NULL;
    size_t len = 0;

    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    f = fopen(c->path, "r");
    assert_non_null(f);
    text = calloc(1, 65537);
    assert_non_null(text);
    len = fread(text, 1, 65536, f);
    text[len] = '\0';
    fclose(f);
    unlink(c->path);
    fprintf(stderr, "%s", text);
    return text;
}

static void
test_store_s3_open_missing_bucket_created(void **state)
{
    struct store *s;

    (void)state;
    s = open_bucket("fresh-bucket", "");
    assert_int_equal(store_ping(s), 0);
    store_close(s);

    /* It exists now: opening without creation works. */
    s = open_bucket("fresh-bucket", "&create_bucket=0");
    assert_int_equal(store_ping(s), 0);
    store_close(s);
}

static void
test_store_s3_put_get_sizes_round_trip(void **state)
{
    static const size_t sizes[] = {0, 1, 3 * 1024 * 1024};
    struct store *s = open_bucket("round-trip", "");

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *data = random_bytes(sizes[i], (unsigned int)i + 7);
        char key[64];

        snprintf(key, sizeof(key), "inputs/size-%zu", sizes[i]);
        assert_int_equal(store_put(s, key, data, sizes[i]), 0);
        expect_object(s, key, data, sizes[i]);
        free(data);
    }

    store_close(s);
}

static void
test_store_s3_put_existing_key_replaced(void **state)
{
    struct store *s = open_bucket("round-trip", "");

    (void)state;
    assert_int_equal(store_put(s, "results/x.png", "first", 5), 0);
    assert_int_equal(store_put(s, "results/x.png", "second!", 7), 0);
    expect_object(s, "results/x.png", (const uint8_t *)"second!", 7);
    store_close(s);
}

static void
test_store_s3_get_missing_notfound(void **state)
{
    struct store *s = open_bucket("round-trip", "");
    uint8_t *buf = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(store_get(s, "inputs/never-written.jpg", &buf, &len),
                     IMGFLOW_ENOTFOUND);
    assert_null(buf);
    store_close(s);
}

static void
test_store_s3_delete_then_get_notfound(void **state)
{
    struct store *s = open_bucket("round-trip", "");
    uint8_t *buf = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(store_put(s, "inputs/doomed.jpg", "abc", 3), 0);
    assert_int_equal(store_delete(s, "inputs/doomed.jpg"), 0);
    assert_int_equal(store_get(s, "inputs/doomed.jpg", &buf, &len),
                     IMGFLOW_ENOTFOUND);

    /* Deleting what is gone is not an error. */
    assert_int_equal(store_delete(s, "inputs/doomed.jpg"), 0);
    store_close(s);
}

static void
test_store_s3_uuid_keys_round_trip(void **state)
{
    struct store *s = open_bucket("round-trip", "");
    char id[UTIL_UUID_LEN + 1], in[64], out[64];
    uint8_t *data = random_bytes(4096, 11);

    (void)state;
    assert_int_equal(util_uuid4(id, sizeof(id)), 0);
    snprintf(in, sizeof(in), "inputs/%s.jpg", id);
    snprintf(out, sizeof(out), "results/%s.png", id);
    assert_int_equal(store_put(s, in, data, 4096), 0);
    assert_int_equal(store_put(s, out, data + 1, 4095), 0);
    expect_object(s, in, data, 4096);
    expect_object(s, out, data + 1, 4095);
    free(data);
    store_close(s);
}

static void
test_store_s3_virtual_host_round_trip(void **state)
{
    struct store *s = NULL;
    char url[256], err[512] = "";

    /* libcurl sends *.localhost to 127.0.0.1: vhost.s3.localhost:PORT. */
    (void)state;
    snprintf(url, sizeof(url), "s3://vhost?endpoint=http://s3.localhost:%d"
             "&path_style=0", server.port);
    assert_int_equal(store_open(url, &s, err, sizeof(err)), 0);
    assert_int_equal(store_put(s, "inputs/v.jpg", "vh", 2), 0);
    expect_object(s, "inputs/v.jpg", (const uint8_t *)"vh", 2);
    store_close(s);

    /* The same object through path-style addressing. */
    s = open_bucket("vhost", "&create_bucket=0");
    expect_object(s, "inputs/v.jpg", (const uint8_t *)"vh", 2);
    store_close(s);
}

static void
test_store_s3_session_token_signed_accepted(void **state)
{
    struct store *s;

    /* The checker refuses requests with an unsigned x-amz-* header. */
    (void)state;
    setenv("AWS_SESSION_TOKEN", "token/with+odd=chars", 1);
    s = open_bucket("round-trip", "");
    assert_int_equal(store_put(s, "inputs/t.jpg", "t", 1), 0);
    expect_object(s, "inputs/t.jpg", (const uint8_t *)"t", 1);
    store_close(s);
    unsetenv("AWS_SESSION_TOKEN");
}

static void
test_store_s3_wrong_secret_open_eio(void **state)
{
    struct store *s = NULL;
    struct capture cap;
    char url[256], err[512] = "";
    char *log;
    int rc;

    (void)state;
    snprintf(url, sizeof(url), "s3://round-trip?endpoint=%s",
             server.endpoint);
    set_credentials(WRONG_SECRET);
    capture_begin(&cap);
    rc = store_open(url, &s, err, sizeof(err));
    log = capture_end(&cap);
    set_credentials(TEST_SECRET);

    print_message("refused as expected: %s\n", err);
    assert_int_equal(rc, IMGFLOW_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "403"));
    assert_null(strstr(err, WRONG_SECRET));
    assert_null(strstr(log, WRONG_SECRET));
    free(log);
}

static void
test_store_s3_rotated_secret_put_eio(void **state)
{
    struct store *s = NULL;
    struct capture cap;
    char url[256], err[512] = "";
    uint8_t *buf = NULL;
    size_t len = 0;
    char *log;
    int put_rc, get_rc;

    (void)state;
    assert_int_equal(server_start(&spare), 0);
    snprintf(url, sizeof(url), "s3://rotate?endpoint=%s", spare.endpoint);
    assert_int_equal(store_open(url, &s, err, sizeof(err)), 0);
    assert_int_equal(store_put(s, "inputs/r.jpg", "r", 1), 0);

    /* The server now wants another secret than the one we hold. */
    server_kill(&spare);
    assert_int_equal(server_run(&spare, ROTATED_SECRET), 0);
    log_set_level(LOG_LEVEL_DEBUG);
    capture_begin(&cap);
    put_rc = store_put(s, "inputs/r.jpg", "r", 1);
    get_rc = store_get(s, "inputs/r.jpg", &buf, &len);
    log = capture_end(&cap);
    log_set_level(LOG_LEVEL_INFO);
    store_close(s);
    server_stop(&spare);

    assert_int_equal(put_rc, IMGFLOW_EIO);
    assert_int_equal(get_rc, IMGFLOW_EIO);
    assert_non_null(strstr(log, "SignatureDoesNotMatch"));
    assert_null(strstr(log, TEST_SECRET));
    assert_null(strstr(log, "Authorization"));
    assert_null(strstr(log, "Signature="));
    free(log);
}

static void
test_store_s3_create_bucket_off_missing_fails(void **state)
{
    struct store *s = NULL;
    char url[256], err[512] = "";

    (void)state;
    snprintf(url, sizeof(url), "s3://absent-bucket?endpoint=%s"
             "&create_bucket=0", server.endpoint);
    assert_int_equal(store_open(url, &s, err, sizeof(err)),
                     IMGFLOW_ENOTFOUND);
    print_message("refused as expected: %s\n", err);
    assert_null(s);
    assert_non_null(strstr(err, "absent-bucket does not exist"));
}

static void
test_store_s3_server_down_open_eunavail(void **state)
{
    struct store *s = NULL;
    char url[256], err[512] = "";
    double start = util_now();

    (void)state;
    snprintf(url, sizeof(url), "s3://round-trip?endpoint=http://127.0.0.1:%d",
             free_port());
    assert_int_equal(store_open(url, &s, err, sizeof(err)),
                     IMGFLOW_EUNAVAIL);
    assert_null(s);
    assert_non_null(strstr(err, "cannot reach"));
    assert_true(util_now() - start < 6.0);
}

static void
test_store_s3_server_stopped_put_get_eunavail(void **state)
{
    struct store *s = NULL;
    char url[256], err[512] = "";
    uint8_t *buf = NULL;
    size_t len = 0;
    double start;
    int put_rc, get_rc, ping_rc;

    (void)state;
    assert_int_equal(server_start(&spare), 0);
    snprintf(url, sizeof(url), "s3://gone?endpoint=%s", spare.endpoint);
    assert_int_equal(store_open(url, &s, err, sizeof(err)), 0);
    assert_int_equal(store_put(s, "inputs/g.jpg", "g", 1), 0);

    server_stop(&spare);
    start = util_now();
    put_rc = store_put(s, "inputs/g.jpg", "g", 1);
    get_rc = store_get(s, "inputs/g.jpg", &buf, &len);
    ping_rc = store_ping(s);
    store_close(s);

    assert_int_equal(put_rc, IMGFLOW_EUNAVAIL);
    assert_int_equal(get_rc, IMGFLOW_EUNAVAIL);
    assert_int_equal(ping_rc, IMGFLOW_EUNAVAIL);
    assert_true(util_now() - start < 6.0);
}

static void
test_store_s3_bad_url_einval(void **state)
{
    static const char *const urls[] = {
        "s3://",
        "s3://ab",
        "s3://Upper-Case",
        "s3://bucket/extra/path",
        "s3://bucket?colour=blue",
        "s3://bucket?endpoint=ftp://host",
        "s3://bucket?region=us_east:1",
        "s3://bucket?path_style=maybe",
        "s3://bucket?create_bucket",
    };
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct store *s = NULL;

        err[0] = '\0';
        assert_int_equal(store_open(urls[i], &s, err, sizeof(err)),
                         IMGFLOW_EINVAL);
        assert_null(s);
        assert_true(err[0] != '\0');
    }
}

static void
test_store_s3_no_credentials_einval(void **state)
{
    struct store *s = NULL;
    char url[256], err[512] = "";
    int rc;

    (void)state;
    snprintf(url, sizeof(url), "s3://round-trip?endpoint=%s",
             server.endpoint);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    rc = store_open(url, &s, err, sizeof(err));
    set_credentials(TEST_SECRET);

    assert_int_equal(rc, IMGFLOW_EINVAL);
    assert_non_null(strstr(err, "AWS_SECRET_ACCESS_KEY"));
}

struct worker_arg {
    struct store *store;
    int index;
    int failures;           /* round trips that went wrong */
};

static void *
worker_main(void *p)
{
    struct worker_arg *a = p;

    for (int round = 0; round < ROUNDS; round++) {
        size_t len = 1 + (size_t)((a->index * 7919 + round * 104729) % 65536);
        uint8_t *data = malloc(len), *got = NULL;
        size_t got_len = 0;
        char key[64];

        if (data == NULL) {
            a->failures++;
            continue;
        }

        for (size_t i = 0; i < len; i++) {
            data[i] = (uint8_t)(i * 31 + (size_t)a->index * 17 + round);
        }

        snprintf(key, sizeof(key), "results/t%d-r%d.png", a->index, round);
        if (store_put(a->store, key, data, len) != 0 ||
            store_get(a->store, key, &got, &got_len) != 0 ||
            got_len != len || memcmp(got, data, len) != 0) {
            a->failures++;
        }

        free(got);
        free(data);
    }
    return NULL;
}

static void
test_store_s3_threads_concurrent_round_trip(void **state)
{
    struct store *s = open_bucket("threads", "");
    struct worker_arg args[THREADS];
    pthread_t threads[THREADS];

    (void)state;
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct worker_arg){.store = s, .index = i};
        assert_int_equal(pthread_create(&threads[i], NULL, worker_main,
                                        &args[i]), 0);
    }

    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }

    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(args[i].failures, 0);
    }

    store_close(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_s3_open_missing_bucket_created),
        cmocka_unit_test(test_store_s3_put_get_sizes_round_trip),
        cmocka_unit_test(test_store_s3_put_existing_key_replaced),
        cmocka_unit_test(test_store_s3_get_missing_notfound),
        cmocka_unit_test(test_store_s3_delete_then_get_notfound),
        cmocka_unit_test(test_store_s3_uuid_keys_round_trip),
        cmocka_unit_test(test_store_s3_virtual_host_round_trip),
        cmocka_unit_test(test_store_s3_session_token_signed_accepted),
        cmocka_unit_test(test_store_s3_wrong_secret_open_eio),
        cmocka_unit_test_teardown(test_store_s3_rotated_secret_put_eio,
                                  teardown_spare),
        cmocka_unit_test(test_store_s3_create_bucket_off_missing_fails),
        cmocka_unit_test(test_store_s3_server_down_open_eunavail),
        cmocka_unit_test_teardown(
            test_store_s3_server_stopped_put_get_eunavail, teardown_spare),
        cmocka_unit_test(test_store_s3_bad_url_einval),
        cmocka_unit_test(test_store_s3_no_credentials_einval),
        cmocka_unit_test(test_store_s3_threads_concurrent_round_trip),
    };

    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
