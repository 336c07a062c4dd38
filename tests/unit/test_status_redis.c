/*
 * Unit tests of the Redis status store (src/status/redis.c) against a
 * private redis-server that the test starts on a free port and always
 * stops: URLs, round trips, TTLs, the forward-only merge under concurrent
 * writers, the connection pool, passwords, and outages with recovery.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
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
#include "core/util.h"
#include "status/status.h"

#define ID       "5b0f6a7e-3c1d-4e2a-9f00-000000000001"
#define KEY      "imgflow:status:" ID
#define ID_OTHER "5b0f6a7e-3c1d-4e2a-9f00-0000000000ff"
#define PASSWORD "pa@ss/w%rd-s3cret"
#define PASSWORD_IN_URL "pa%40ss%2Fw%25rd-s3cret"

#define RACE_THREADS 8
#define RACE_IDS     50
#define POOL_THREADS 32
#define POOL_CALLS   100
#define POOL_MAX     8 /* the store's connection limit */

/* The private server, shared by the whole group. */
static struct {
    pid_t pid;
    int port;
    char dir[64];
    char url[96];
    char password[64]; /* requirepass while a test sets one */
} srv = {.pid = -1};

/* stderr while a test captures the log into capture_path, else -1. */
static int saved_stderr = -1;
static char capture_path[96];

static const char *
server_path(void)
{
    const char *env = getenv("IMGFLOW_REDIS_SERVER");

    return env != NULL && env[0] != '\0' ? env : "/usr/bin/redis-server";
}

static int
free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }

    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* A command on a fresh connection to the private server; NULL if down. */
static redisReply *
admin(const char *fmt, ...)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);
    redisReply *r = NULL;
    va_list ap;

    if (c == NULL || c->err != 0) {
        goto out;
    }

    if (srv.password[0] != '\0') {
        freeReplyObject(redisCommand(c, "AUTH %s", srv.password));
    }

    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);

out:
    if (c != NULL) {
        redisFree(c);
    }
    return r;
}

static int
server_answers(void)
{
    redisReply *r = admin("PING");
    int ok = r != NULL && r->type == REDIS_REPLY_STATUS;

    freeReplyObject(r);
    return ok;
}

static void
server_exec(void)
{
    char port[16], log[96];
    int fd;

    /* Die with the test, even when it crashes before its teardown. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    snprintf(port, sizeof(port), "%d", srv.port);
    snprintf(log, sizeof(log), "%s/redis.log", srv.dir);
    fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }

    execl(server_path(), "redis-server", "--port", port, "--save", "",
          "--appendonly", "no", "--dir", srv.dir, "--bind", "127.0.0.1",
          (char *)NULL);
    _exit(127);
}

static void
server_kill(void)
{
    if (srv.pid > 0) {
        kill(srv.pid, SIGKILL);
        waitpid(srv.pid, NULL, 0);
    }
    srv.pid = -1;
}

/* Start redis-server on srv.port and wait until it answers PING. */
static int
server_start(void)
{
    srv.pid = fork();
    if (srv.pid == 0) {
        server_exec();
    }

    if (srv.pid < 0) {
        return -1;
    }

    for (int i = 0; i < 200; i++) {
        if (server_answers()) {
            return 0;
        }

        if (waitpid(srv.pid, NULL, WNOHANG) == srv.pid) {
            srv.pid = -1;
            fprintf(stderr, "redis-server exited; see %s/redis.log\n",
                    srv.dir);
            return -1;
        }
        util_sleep_ms(50);
    }

    fprintf(stderr, "redis-server did not answer on port %d\n", srv.port);
    server_kill();
    return -1;
}

static int
group_teardown(void **state)
{
    char log[96];

    (void)state;
    server_kill();
    snprintf(log, sizeof(log), "%s/redis.log", srv.dir);
    unlink(log);
    if (srv.dir[0] != '\0' && rmdir(srv.dir) != 0) {
        fprintf(stderr, "could not remove %s\n", srv.dir);
    }
    return 0;
}

static int
group_setup(void **state)
{
    (void)state;
    if (access(server_path(), X_OK) != 0) {
        fprintf(stderr, "FAIL: %s is not installed; these tests need a "
                "real Redis (scripts/install-deps installs redis-server, "
                "or set IMGFLOW_REDIS_SERVER)\n", server_path());
        return -1;
    }

    snprintf(srv.dir, sizeof(srv.dir), "/tmp/imgflow-redis-XXXXXX");
    if (mkdtemp(srv.dir) == NULL || (srv.port = free_port()) < 0) {
        fprintf(stderr, "FAIL: no temporary directory or free port\n");
        return -1;
    }

    snprintf(srv.url, sizeof(srv.url), "redis://127.0.0.1:%d/0", srv.port);
    if (server_start() != 0) {
        group_teardown(state);
        return -1;
    }
    return 0;
}

/* Send the log to path until capture_end(); teardowns end it too. */
static void
capture_begin(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    snprintf(capture_path, sizeof(capture_path), "%s", path);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/*
 * Give stderr back. With replay set (a test failed while capturing),
 * show what was captured, cmocka's failure message included, and remove
 * the file.
 */
static void
capture_end(int replay)
{
    char buf[4096];
    size_t n;
    FILE *f;

    if (saved_stderr < 0) {
        return;
    }

    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
    f = replay ? fopen(capture_path, "r") : NULL;
    while (f != NULL && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        fwrite(buf, 1, n, stderr);
    }

    if (f != NULL) {
        fclose(f);
        unlink(capture_path);
    }
}

/* How many lines of the file at path contain needle. */
static int
count_lines(const char *path, const char *needle)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    int n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, needle) != NULL;
    }

    fclose(f);
    return n;
}

static int
setup_store(void **state)
{
    struct status_store *s = NULL;
    char err[256] = "";
    redisReply *r;

    /* A test that stopped the server may have failed before restarting. */
    if (srv.pid < 0 && server_start() != 0) {
        return -1;
    }

    r = admin("FLUSHALL");
    freeReplyObject(r);
    if (r == NULL || status_open(srv.url, 3600, &s, err, sizeof(err))) {
        fprintf(stderr, "cannot open the store: %s\n", err);
        return -1;
    }

    *state = s;
    return 0;
}

static int
teardown_store(void **state)
{
    capture_end(1);
    status_close(*state);
    if (srv.pid > 0) {
        kill(srv.pid, SIGCONT);
    }
    return 0;
}

/* The document the gateway records when it accepts an upload. */
static json_t *
queued_doc(const char *id)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:n, s:n, s:{s:i}}",
                            "request_id", id, "algorithm", "sobel",
                            "status", "queued", "result", "error", "input",
                            "width", 640);

    assert_non_null(doc);
    return doc;
}

/*
 * A result message as msg_result_parse would have passed it; NULL when
 * out of memory. Safe on any thread, unlike cmocka's assertions.
 */
static json_t *
result_build(const char *id, const char *status)
{
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:n, s:n, s:s}", "request_id", id,
                  "algorithm", "sobel", "status", status, "result", "error",
                  "worker", "worker-1");

    if (doc == NULL) {
        return NULL;
    }

    if (strcmp(status, "completed") == 0) {
        json_object_set_new(doc, "result",
                            json_pack("{s:s, s:f}", "output_image_key",
                                      "results/x.png", "processing_time",
                                      1.5));
    } else if (strcmp(status, "failed") == 0) {
        json_object_set_new(doc, "error", json_string("not an image"));
        json_object_set_new(doc, "error_code", json_string("decode_failed"));
    }
    return doc;
}

static json_t *
result_msg(const char *id, const char *status)
{
    json_t *doc = result_build(id, status);

    assert_non_null(doc);
    return doc;
}

static void
create_queued(struct status_store *s, const char *id)
{
    json_t *doc = queued_doc(id);

    assert_int_equal(status_create(s, id, doc), 0);
    json_decref(doc);
}

static int
apply_status(struct status_store *s, const char *id, const char *status)
{
    json_t *r = result_msg(id, status);
    int rc = status_apply(s, r);

    json_decref(r);
    return rc;
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

/* The server's TTL of a key, seconds (negative when none or missing). */
static long long
key_ttl(const char *key)
{
    redisReply *r = admin("TTL %s", key);
    long long ttl;

    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    ttl = r->integer;
    freeReplyObject(r);
    return ttl;
}

static void
test_status_redis_open_ping_succeeds(void **state)
{
    struct status_store *s = *state, *bare = NULL;
    char url[96], err[256] = "";

    assert_string_equal(s->ops->name, "redis");
    assert_int_equal(status_ping(s), 0);

    /* Without a database number, and with a bare slash, db 0 is used. */
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv.port);
    assert_int_equal(status_open(url, 60, &bare, err, sizeof(err)), 0);
    assert_int_equal(status_ping(bare), 0);
    status_close(bare);
    strcat(url, "/");
    assert_int_equal(status_open(url, 60, &bare, err, sizeof(err)), 0);
    status_close(bare);
}

static void
test_status_redis_bad_url_einval(void **state)
{
    static const char *const bad[] = {
        "redis://",
        "redis://:s3cret@",
        "redis://127.0.0.1:/0",
        "redis://127.0.0.1:port/0",
        "redis://127.0.0.1:0/0",
        "redis://127.0.0.1:70000/0",
        "redis://127.0.0.1:6379/x",
        "redis://127.0.0.1:6379/-1",
        "redis://127.0.0.1:6379/0/1",
        "redis://127.0.0.1:6379/0?timeout=1",
        "redis://127.0.0.1?x",
        "redis://[::1:6379/0",
        "redis://s3cret@127.0.0.1:6379/0",
        "redis://:pa@s3cret@127.0.0.1:6379/0",
        "redis://:pa/s3cret@127.0.0.1:6379/0",
        "redis://:s3cret@127.0.0.1:6379/0@",
    };
    struct status_store *s = NULL;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(status_open(bad[i], 60, &s, err, sizeof(err)),
                         IMGFLOW_EINVAL);
        assert_null(s);
        assert_true(strlen(err) > 0);
        assert_null(strstr(err, "s3cret"));
    }
}

static void
test_status_redis_refused_unavail_without_password(void **state)
{
    struct status_store *s = NULL;
    char url[128], err[256] = "", want[96], log[96];
    int port = free_port(), rc;

    (void)state;
    snprintf(log, sizeof(log), "%s/refused.log", srv.dir);
    snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d/2", PASSWORD_IN_URL,
             port);
    capture_begin(log);
    rc = status_open(url, 60, &s, err, sizeof(err));
    capture_end(0);
    assert_int_equal(rc, IMGFLOW_EUNAVAIL);
    assert_null(s);

    snprintf(want, sizeof(want), "cannot connect to Redis at 127.0.0.1:%d: ",
             port);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "Connection refused"));
    assert_null(strstr(err, "s3cret"));
    assert_int_equal(count_lines(log, "s3cret"), 0);
    unlink(log);
}

static void
test_status_redis_create_get_equal(void **state)
{
    struct status_store *s = *state;
    json_t *doc = queued_doc(ID), *got = NULL, *again = NULL;

    assert_int_equal(status_create(s, ID, doc), 0);
    assert_int_equal(status_get(s, ID, &got), 0);
    assert_non_null(got);
    assert_true(json_equal(got, doc));

    /* Each get is a new document the caller owns. */
    json_object_set_new(got, "status", json_string("failed"));
    assert_int_equal(status_get(s, ID, &again), 0);
    assert_true(json_equal(again, doc));

    /* create overwrites. */
    json_object_set_new(doc, "algorithm", json_string("blur"));
    assert_int_equal(status_create(s, ID, doc), 0);
    json_decref(again);
    assert_int_equal(status_get(s, ID, &again), 0);
    assert_true(json_equal(again, doc));
    json_decref(again);
    json_decref(got);
    json_decref(doc);
}

static void
test_status_redis_get_unknown_notfound(void **state)
{
    struct status_store *s = *state;
    json_t *stale = json_object(), *got = stale;

    assert_int_equal(status_get(s, ID, &got), IMGFLOW_ENOTFOUND);
    assert_null(got);
    json_decref(stale);
}

static void
test_status_redis_record_ttl_set(void **state)
{
    struct status_store *s = NULL;
    char err[256] = "";
    json_t *doc = queued_doc(ID), *raw;
    redisReply *r;
    long long ttl;

    (void)state;
    assert_int_equal(status_open(srv.url, 120, &s, err, sizeof(err)), 0);
    assert_int_equal(status_create(s, ID, doc), 0);
    ttl = key_ttl(KEY);
    assert_true(ttl > 0 && ttl <= 120);

    /* The key holds the compact JSON document itself. */
    r = admin("GET %s", KEY);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_null(strchr(r->str, '\n'));
    raw = json_loads(r->str, 0, NULL);
    assert_true(json_equal(raw, doc));
    json_decref(raw);
    freeReplyObject(r);

    /* An update writes a fresh TTL; a record born from a result has one. */
    freeReplyObject(admin("EXPIRE %s 30", KEY));
    assert_int_equal(apply_status(s, ID, "processing"), 0);
    ttl = key_ttl(KEY);
    assert_true(ttl > 30 && ttl <= 120);
    assert_int_equal(apply_status(s, ID_OTHER, "completed"), 0);
    ttl = key_ttl("imgflow:status:" ID_OTHER);
    assert_true(ttl > 0 && ttl <= 120);
    json_decref(doc);
    status_close(s);
}

static void
test_status_redis_apply_processing_then_completed_advances(void **state)
{
    struct status_store *s = *state;
    json_t *got = NULL;

    create_queued(s, ID);
    assert_int_equal(apply_status(s, ID, "processing"), 0);
    assert_int_equal(status_get(s, ID, &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")),
                        "processing");
    assert_true(json_is_string(json_object_get(got, "started_at")));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(got, "input"), "width")),
                     640);
    json_decref(got);

    assert_int_equal(apply_status(s, ID, "completed"), 0);
    assert_int_equal(status_get(s, ID, &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "status")),
                        "completed");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(got, "result"),
                                          "output_image_key")),
        "results/x.png");
    assert_true(json_is_null(json_object_get(got, "error")));
    json_decref(got);
}

static void
test_status_redis_apply_late_processing_ignored(void **state)
{
    struct status_store *s = *state;
    json_t *before = NULL, *after = NULL;

    create_queued(s, ID);
    assert_int_equal(apply_status(s, ID, "completed"), 0);
    assert_int_equal(status_get(s, ID, &before), 0);
    assert_int_equal(apply_status(s, ID, "processing"), 0);
    assert_int_equal(apply_status(s, ID, "completed"), 0);
    assert_int_equal(status_get(s, ID, &after), 0);
    assert_true(json_equal(before, after));
    json_decref(after);
    json_decref(before);
}

static void
test_status_redis_apply_completed_after_failed_ignored(void **state)
{
    struct status_store *s = *state;
    json_t *before = NULL, *after = NULL;

    create_queued(s, ID);
    assert_int_equal(apply_status(s, ID, "failed"), 0);
    assert_int_equal(status_get(s, ID, &before), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(before, "error"), "code")),
                        "decode_failed");
    assert_int_equal(apply_status(s, ID, "completed"), 0);
    assert_int_equal(apply_status(s, ID, "processing"), 0);
    assert_int_equal(status_get(s, ID, &after), 0);
    assert_string_equal(json_string_value(json_object_get(after, "status")),
                        "failed");
    assert_true(json_equal(before, after));
    json_decref(after);
    json_decref(before);
}

static void
test_status_redis_apply_unknown_id_creates_record(void **state)
{
    struct status_store *s = *state;
    json_t *got = NULL;
    char buf[32];

    assert_int_equal(apply_status(s, ID, "completed"), 0);
    assert_int_equal(status_get(s, ID, &got), 0);
    assert_string_equal(json_string_value(json_object_get(got, "request_id")),
                        ID);
    assert_string_equal(json_string_value(json_object_get(got, "algorithm")),
                        "sobel");
    assert_string_equal(json_string_value(json_object_get(got, "status")),
                        "completed");
    assert_true(json_is_object(json_object_get(got, "result")));
    json_decref(got);

    /* A record born from a result still only moves forward. */
    assert_int_equal(apply_status(s, ID, "processing"), 0);
    assert_string_equal(stored_status(s, ID, buf, sizeof(buf)), "completed");
}

static void
test_status_redis_corrupt_record_einternal(void **state)
{
    struct status_store *s = *state;
    json_t *got = NULL;
    redisReply *r;

    freeReplyObject(admin("SET %s %s", KEY, "{not json"));
    assert_int_equal(status_get(s, ID, &got), IMGFLOW_EINTERNAL);
    assert_null(got);
    assert_int_equal(apply_status(s, ID, "completed"), IMGFLOW_EINTERNAL);

    /* The store neither repaired nor clobbered what it cannot read. */
    r = admin("GET %s", KEY);
    assert_non_null(r);
    assert_string_equal(r->str, "{not json");
    freeReplyObject(r);
    assert_int_equal(status_ping(s), 0);
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

/* Half the threads report "processing", half "completed", on one id. */
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
        msg = result_build(id, status);
        if (msg == NULL || status_apply(r->s, msg) != 0) {
            r->errors++;
        }
        json_decref(msg);
    }
    return NULL;
}

/* Run the race once: RACE_THREADS threads over RACE_IDS ids. */
static void
race_run(struct status_store *s)
{
    struct race r[RACE_THREADS];
    pthread_t t[RACE_THREADS];
    pthread_barrier_t start;

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
}

static void
test_status_redis_apply_concurrent_forward_only(void **state)
{
    struct status_store *s = *state;
    json_t *first[RACE_IDS], *now;
    char id[40];

    /* Half the ids are recorded first; the others are born from results. */
    for (int i = 0; i < RACE_IDS; i += 2) {
        race_id(id, sizeof(id), i);
        create_queued(s, id);
    }

    /* Whatever the interleaving, every request ends completed... */
    race_run(s);
    for (int i = 0; i < RACE_IDS; i++) {
        race_id(id, sizeof(id), i);
        assert_int_equal(status_get(s, id, &first[i]), 0);
        assert_string_equal(
            json_string_value(json_object_get(first[i], "status")),
            "completed");
        assert_true(json_is_object(json_object_get(first[i], "result")));
    }

    /* ...and a terminal record never changes again. */
    race_run(s);
    for (int i = 0; i < RACE_IDS; i++) {
        race_id(id, sizeof(id), i);
        assert_int_equal(status_get(s, id, &now), 0);
        assert_true(json_equal(now, first[i]));
        json_decref(now);
        json_decref(first[i]);
    }
}

struct pool_load {
    struct status_store *s;
    int errors;
};

static void *
pool_main(void *arg)
{
    struct pool_load *p = arg;
    json_t *doc = NULL;

    for (int i = 0; i < POOL_CALLS; i++) {
        int rc = i % 2 ? status_ping(p->s) : status_get(p->s, ID, &doc);

        p->errors += rc != 0;
        json_decref(doc);
        doc = NULL;
    }
    return NULL;
}

/* The server's count of connected clients. */
static long
connected_clients(void)
{
    redisReply *r = admin("INFO clients");
    const char *p;
    long n;

    assert_non_null(r);
    p = strstr(r->str, "connected_clients:");
    assert_non_null(p);
    n = strtol(p + strlen("connected_clients:"), NULL, 10);
    freeReplyObject(r);
    return n;
}

static void
test_status_redis_many_threads_pool_capped(void **state)
{
    struct pool_load p[POOL_THREADS];
    pthread_t t[POOL_THREADS];
    struct status_store *s = *state;

    create_queued(s, ID);
    for (int i = 0; i < POOL_THREADS; i++) {
        p[i] = (struct pool_load){s, 0};
        assert_int_equal(pthread_create(&t[i], NULL, pool_main, &p[i]), 0);
    }

    for (int i = 0; i < POOL_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(p[i].errors, 0);
    }

    /* The store's connections, plus the one asking. */
    assert_true(connected_clients() <= POOL_MAX + 1);
}

/* Whether key exists in database db of the private server. */
static int
key_in_db(int db, const char *key)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);
    redisReply *sel, *r;
    int n;

    assert_non_null(c);
    assert_int_equal(c->err, 0);
    sel = redisCommand(c, "SELECT %d", db);
    r = redisCommand(c, "EXISTS %s", key);
    assert_non_null(sel);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    n = (int)r->integer;
    freeReplyObject(r);
    freeReplyObject(sel);
    redisFree(c);
    return n;
}

static void
test_status_redis_db_in_url_selected(void **state)
{
    struct status_store *s = NULL;
    char url[96], err[256] = "";

    (void)state;
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/5", srv.port);
    assert_int_equal(status_open(url, 60, &s, err, sizeof(err)), 0);
    create_queued(s, ID);
    assert_int_equal(key_in_db(5, KEY), 1);
    assert_int_equal(key_in_db(0, KEY), 0);
    status_close(s);

    /* A database the server does not have is refused at open. */
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/99", srv.port);
    s = NULL;
    assert_int_equal(status_open(url, 60, &s, err, sizeof(err)),
                     IMGFLOW_EUNAVAIL);
    assert_null(s);
    assert_non_null(strstr(err, "refused database 99"));
}

static int
teardown_password(void **state)
{
    (void)state;
    freeReplyObject(admin("ACL DELUSER %s", "imgflow"));
    freeReplyObject(admin("CONFIG SET requirepass %s", ""));
    srv.password[0] = '\0';
    return 0;
}

static void
test_status_redis_password_authenticates(void **state)
{
    struct status_store *s = NULL;
    char url[128], redacted[128], err[256] = "";
    json_t *got = NULL;
    redisReply *r;

    (void)state;
    r = admin("CONFIG SET requirepass %s", PASSWORD);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    snprintf(srv.password, sizeof(srv.password), "%s", PASSWORD);

    /* The right password, with '@', '/' and '%' escaped in the URL. */
    snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d/0", PASSWORD_IN_URL,
             srv.port);
    util_url_redact(redacted, sizeof(redacted), url);
    assert_null(strstr(redacted, "s3cret"));
    assert_int_equal(status_open(url, 60, &s, err, sizeof(err)), 0);
    create_queued(s, ID);
    assert_int_equal(status_get(s, ID, &got), 0);
    json_decref(got);
    status_close(s);

    /* A named user with its own password (Redis 6 ACLs). */
    r = admin("ACL SETUSER %s on >%s ~* +@all", "imgflow", "us3r-pw");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    snprintf(url, sizeof(url), "redis://imgflow:us3r-pw@127.0.0.1:%d/0",
             srv.port);
    assert_int_equal(status_open(url, 60, &s, err, sizeof(err)), 0);
    assert_int_equal(status_get(s, ID, &got), 0);
    json_decref(got);
    status_close(s);

    /* No password: Redis refuses the PING. */
    assert_int_equal(status_open(srv.url, 60, &s, err, sizeof(err)),
                     IMGFLOW_EUNAVAIL);
    assert_null(s);
    assert_non_null(strstr(err, "NOAUTH"));

    /* A wrong password is refused, and not repeated in the message. */
    snprintf(url, sizeof(url), "redis://:wrong-s3cret@127.0.0.1:%d/0",
             srv.port);
    assert_int_equal(status_open(url, 60, &s, err, sizeof(err)),
                     IMGFLOW_EUNAVAIL);
    assert_null(s);
    assert_non_null(strstr(err, "refused the password"));
    assert_null(strstr(err, "s3cret"));
}

/* Expect rc from a call that must give up within three seconds. */
#define check_quick(call, rc)                                                 \
    do {                                                                       \
        double t0_ = util_now();                                               \
        assert_int_equal((call), (rc));                                        \
        assert_true(util_now() - t0_ < 3.0);                                   \
    } while (0)

static void
test_status_redis_restart_unavail_then_recovers(void **state)
{
    struct status_store *s = *state;
    json_t *doc = queued_doc(ID), *got = NULL;
    char log[96];

    snprintf(log, sizeof(log), "%s/outage.log", srv.dir);
    assert_int_equal(status_create(s, ID, doc), 0);
    capture_begin(log);
    server_kill();

    /* Down: every call fails fast, and the outage is logged once. */
    for (int i = 0; i < 3; i++) {
        check_quick(status_ping(s), IMGFLOW_EUNAVAIL);
        check_quick(status_get(s, ID, &got), IMGFLOW_EUNAVAIL);
        assert_null(got);
        check_quick(status_create(s, ID, doc), IMGFLOW_EUNAVAIL);
        check_quick(apply_status(s, ID, "completed"), IMGFLOW_EUNAVAIL);
    }

    /* Back (empty, as it saves nothing): calls work again. */
    assert_int_equal(server_start(), 0);
    assert_int_equal(status_ping(s), 0);
    assert_int_equal(status_get(s, ID, &got), IMGFLOW_ENOTFOUND);
    assert_int_equal(status_create(s, ID, doc), 0);
    assert_int_equal(apply_status(s, ID, "completed"), 0);
    assert_int_equal(status_get(s, ID, &got), 0);
    capture_end(0);

    assert_int_equal(count_lines(log, "Redis unavailable"), 1);
    assert_int_equal(count_lines(log, "Redis available again"), 1);
    unlink(log);
    json_decref(got);
    json_decref(doc);
}

static void
test_status_redis_restart_between_calls_no_failure(void **state)
{
    struct status_store *s = *state;
    struct pool_load p[POOL_MAX];
    pthread_t t[POOL_MAX];
    json_t *got = NULL;

    /* Fill the pool with connections, then restart under them. */
    create_queued(s, ID);
    for (int i = 0; i < POOL_MAX; i++) {
        p[i] = (struct pool_load){s, 0};
        assert_int_equal(pthread_create(&t[i], NULL, pool_main, &p[i]), 0);
    }

    for (int i = 0; i < POOL_MAX; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }

    server_kill();
    assert_int_equal(server_start(), 0);

    /* The dropped connections are replaced without a failed call. */
    assert_int_equal(status_get(s, ID, &got), IMGFLOW_ENOTFOUND);
    create_queued(s, ID);
    assert_int_equal(status_ping(s), 0);
}

static void
test_status_redis_hung_server_times_out(void **state)
{
    struct status_store *s = *state;
    json_t *got = NULL;

    /* A stopped server accepts connections but never answers. */
    create_queued(s, ID);
    assert_int_equal(kill(srv.pid, SIGSTOP), 0);
    check_quick(status_ping(s), IMGFLOW_EUNAVAIL);
    check_quick(status_get(s, ID, &got), IMGFLOW_EUNAVAIL);
    assert_int_equal(kill(srv.pid, SIGCONT), 0);

    assert_int_equal(status_get(s, ID, &got), 0);
    assert_non_null(got);
    json_decref(got);
}

int
main(void)
{
#define STORE_TEST(f)                                                          \
    cmocka_unit_test_setup_teardown(f, setup_store, teardown_store)
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_status_redis_open_ping_succeeds),
        cmocka_unit_test(test_status_redis_bad_url_einval),
        cmocka_unit_test(test_status_redis_refused_unavail_without_password),
        STORE_TEST(test_status_redis_create_get_equal),
        STORE_TEST(test_status_redis_get_unknown_notfound),
        STORE_TEST(test_status_redis_record_ttl_set),
        STORE_TEST(test_status_redis_apply_processing_then_completed_advances),
        STORE_TEST(test_status_redis_apply_late_processing_ignored),
        STORE_TEST(test_status_redis_apply_completed_after_failed_ignored),
        STORE_TEST(test_status_redis_apply_unknown_id_creates_record),
        STORE_TEST(test_status_redis_corrupt_record_einternal),
        STORE_TEST(test_status_redis_apply_concurrent_forward_only),
        STORE_TEST(test_status_redis_many_threads_pool_capped),
        STORE_TEST(test_status_redis_db_in_url_selected),
        cmocka_unit_test_teardown(test_status_redis_password_authenticates,
                                  teardown_password),
        STORE_TEST(test_status_redis_restart_unavail_then_recovers),
        STORE_TEST(test_status_redis_restart_between_calls_no_failure),
        STORE_TEST(test_status_redis_hung_server_times_out),
    };
#undef STORE_TEST

    /* hiredis writes to sockets a killed server closed. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
