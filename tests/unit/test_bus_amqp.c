/*
 * Unit tests of the RabbitMQ bus (src/bus/amqp.c) against a private
 * broker that scripts/rabbitmq-test-server starts on free ports in a
 * temporary directory: confirms, FIFO, acknowledgement and redelivery
 * counts, prefetch, stats, heartbeats during a long job, a broker restart,
 * and several publisher and consumer threads.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "core/error.h"
#include "core/util.h"

#define MT_PRODUCERS 4
#define MT_CONSUMERS 2
#define MT_MESSAGES  500 /* per producer */
#define MT_TOTAL     (MT_PRODUCERS * MT_MESSAGES)
#define HEARTBEAT_S  2

/* The private broker shared by every test of the group. */
static struct {
    char dir[64];
    char script[512];
    char url[128];
    int port;
    int running;
    pid_t watchdog;    /* stops the broker if this process dies */
    int watch_fd;      /* its pipe; closing it is the signal */
    struct bus *bus;
} broker;

/* The helper script, beside the sources (or IMGFLOW_RABBITMQ_SCRIPT). */
static void
script_locate(void)
{
    const char *env = getenv("IMGFLOW_RABBITMQ_SCRIPT");
    const char *file = __FILE__;
    const char *cut = strstr(file, "tests/unit/");

    if (env != NULL) {
        util_strlcpy(broker.script, env, sizeof(broker.script));
    } else if (cut != NULL) {
        snprintf(broker.script, sizeof(broker.script),
                 "%.*sscripts/rabbitmq-test-server", (int)(cut - file), file);
    } else {
        util_strlcpy(broker.script, "scripts/rabbitmq-test-server",
                     sizeof(broker.script));
    }
}

/* Run the script (start or stop); returns its exit status. */
static int
script_run(const char *mode)
{
    char cmd[1024];
    int st;

    snprintf(cmd, sizeof(cmd), "'%s' %s %d '%s' >/dev/null", broker.script,
             mode, broker.port, broker.dir);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
port_free(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int ok;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* A port P with P, P+10000 (epmd) and P+20000 (distribution) free. */
static int
port_pick(void)
{
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    for (int i = 0; i < 200; i++) {
        int p = 20000 + rand() % 5000;

        if (port_free(p) && port_free(p + 10000) && port_free(p + 20000)) {
            return p;
        }
    }
    return -1;
}

/*
 * A child that waits for our end of a pipe to close (on exit, crash or
 * kill) and then stops the broker, so that no node outlives the test.
 */
static void
watchdog_start(void)
{
    char port[16];
    int fds[2];
    char c;

    snprintf(port, sizeof(port), "%d", broker.port);

    /* Close-on-exec: the broker must not inherit the write end. */
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return;
    }

    broker.watchdog = fork();
    if (broker.watchdog == 0) {
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        close(fds[1]);
        while (read(fds[0], &c, 1) < 0 && errno == EINTR) {
            continue;
        }
        execl("/bin/sh", "sh", "-c",
              "\"$0\" stop \"$1\" \"$2\"; rm -rf \"$2\"", broker.script,
              port, broker.dir, (char *)NULL);
        _exit(127);
    }

    close(fds[0]);
    broker.watch_fd = fds[1];
}

static int
group_setup(void **state)
{
    char err[256] = "";
    int rc;

    (void)state;
    script_locate();
    if (access("/usr/lib/rabbitmq/bin/rabbitmq-server", X_OK) != 0 &&
        system("command -v rabbitmq-server >/dev/null 2>&1") != 0) {
        fprintf(stderr, "FAIL: rabbitmq-server is not installed; these tests "
                "need it (Debian: apt-get install rabbitmq-server)\n");
        return -1;
    }

    strcpy(broker.dir, "/tmp/imgflow-rabbitmq-XXXXXX");
    broker.port = port_pick();
    if (mkdtemp(broker.dir) == NULL || broker.port < 0) {
        fprintf(stderr, "FAIL: no temporary directory or free port\n");
        return -1;
    }

    broker.watch_fd = -1;
    watchdog_start();
    if (script_run("start") != 0) {
        fprintf(stderr, "FAIL: %s could not start RabbitMQ (see %s)\n",
                broker.script, broker.dir);
        return -1;
    }

    broker.running = 1;
    snprintf(broker.url, sizeof(broker.url),
             "amqp://guest:guest@127.0.0.1:%d/", broker.port);
    rc = bus_open(broker.url, &broker.bus, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "FAIL: bus_open: %s\n", err);
        return -1;
    }
    return 0;
}

static int
group_teardown(void **state)
{
    char cmd[600];

    (void)state;
    bus_close(broker.bus);
    broker.bus = NULL;
    if (broker.port > 0) {
        script_run("stop");
    }

    if (broker.watch_fd >= 0) {
        close(broker.watch_fd);
        waitpid(broker.watchdog, NULL, 0);
    }

    if (broker.dir[0] != '\0' && strstr(broker.dir, "imgflow-rabbitmq-")) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", broker.dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", broker.dir);
        }
    }
    return 0;
}

static void
publish_text(struct bus *b, const char *queue, const char *text)
{
    assert_int_equal(bus_publish(b, queue, text, strlen(text)), 0);
}

static struct bus_consumer *
open_consumer(struct bus *b, const char *queue, int prefetch)
{
    struct bus_consumer *c = NULL;

    assert_int_equal(bus_consumer_open(b, &queue, 1, prefetch, &c), 0);
    assert_non_null(c);
    return c;
}

static void
expect_text(struct bus_consumer *c, struct bus_msg *m, const char *text)
{
    assert_int_equal(bus_next(c, 3000, m), 0);
    assert_int_equal(m->len, strlen(text));
    assert_memory_equal(m->body, text, m->len);
}

static void
expect_ready(struct bus *b, const char *queue, long ready, long consumers)
{
    struct bus_queue_stats st;

    assert_int_equal(bus_stats(b, queue, &st), 0);
    assert_int_equal(st.ready, ready);
    assert_int_equal(st.consumers, consumers);
    assert_int_equal(st.unacked, -1);
}

/* The queue is empty: a fresh consumer gets nothing within 300 ms. */
static void
expect_empty(struct bus *b, const char *queue)
{
    struct bus_consumer *c = open_consumer(b, queue, 1);
    struct bus_msg m;

    assert_int_equal(bus_next(c, 300, &m), IMGFLOW_EAGAIN);
    bus_consumer_close(c);
}

static void
test_bus_amqp_bad_url_fails(void **state)
{
    struct bus *b = NULL;
    char err[256] = "";

    (void)state;
    assert_int_equal(bus_open("amqp://u:s3cretpw@host:port/", &b, err,
                              sizeof(err)), IMGFLOW_EINVAL);
    assert_null(b);
    assert_null(strstr(err, "s3cretpw"));
    assert_int_equal(bus_open("amqp://u:s3cretpw@host/?bogus=1", &b, err,
                              sizeof(err)), IMGFLOW_EINVAL);
    assert_null(b);
}

static void
test_bus_amqp_unreachable_fails_without_password(void **state)
{
    struct bus *b = NULL;
    char err[256] = "";

    (void)state;
    assert_int_equal(bus_open("amqp://u:s3cretpw@127.0.0.1:1/v", &b, err,
                              sizeof(err)), IMGFLOW_EUNAVAIL);
    assert_null(b);
    assert_true(strlen(err) > 0);
    assert_null(strstr(err, "s3cretpw"));
}

static void
test_bus_amqp_wrong_password_unavailable(void **state)
{
    struct bus *b = NULL;
    char url[160];
    char err[256] = "";

    (void)state;
    snprintf(url, sizeof(url), "amqp://guest:n0tthis@127.0.0.1:%d/",
             broker.port);
    assert_int_equal(bus_open(url, &b, err, sizeof(err)), IMGFLOW_EUNAVAIL);
    assert_null(b);
    assert_null(strstr(err, "n0tthis"));
}

static void
test_bus_amqp_publish_order_fifo(void **state)
{
    struct bus *b = broker.bus;
    struct bus_consumer *c;
    struct bus_msg m;
    char text[16];

    (void)state;
    assert_int_equal(bus_declare(b, "t_fifo"), 0);
    assert_int_equal(bus_declare(b, "t_fifo"), 0);
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "m%d", i);
        publish_text(b, "t_fifo", text);
    }

    expect_ready(b, "t_fifo", 20, 0);
    c = open_consumer(b, "t_fifo", 20);
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "m%d", i);
        expect_text(c, &m, text);
        assert_string_equal(m.queue, "t_fifo");
        assert_int_equal(m.deliveries, 1);
        assert_int_equal(bus_ack(c, &m), 0);
    }

    bus_consumer_close(c);
    expect_ready(b, "t_fifo", 0, 0);
}

static void
test_bus_amqp_message_one_consumer_only(void **state)
{
    struct bus *b = broker.bus;
    struct bus_consumer *c1 = open_consumer(b, "t_one", 4);
    struct bus_consumer *c2 = open_consumer(b, "t_one", 4);
    struct bus_consumer *first = NULL;
    struct bus_consumer *other = NULL;
    struct bus_msg m, x;

    (void)state;
    publish_text(b, "t_one", "only");
    if (bus_next(c1, 1500, &m) == 0) {
        first = c1;
        other = c2;
    } else {
        assert_int_equal(bus_next(c2, 1500, &m), 0);
        first = c2;
        other = c1;
    }

    assert_memory_equal(m.body, "only", 4);
    assert_int_equal(bus_next(other, 300, &x), IMGFLOW_EAGAIN);
    assert_int_equal(bus_ack(first, &m), 0);
    assert_int_equal(bus_next(other, 300, &x), IMGFLOW_EAGAIN);
    assert_int_equal(bus_next(first, 300, &x), IMGFLOW_EAGAIN);
    bus_consumer_close(c1);
    bus_consumer_close(c2);
}

static void
test_bus_amqp_ack_removes_message(void **state)
{
    struct bus *b = broker.bus;
    struct bus_consumer *c = open_consumer(b, "t_ack", 1);
    struct bus_msg m;

    (void)state;
    publish_text(b, "t_ack", "done");
    expect_text(c, &m, "done");
    assert_int_equal(bus_ack(c, &m), 0);
    assert_null(m.priv);
    bus_consumer_close(c);
    expect_ready(b, "t_ack", 0, 0);
    expect_empty(b, "t_ack");
}

static void
test_bus_amqp_nack_requeue_counts_deliveries(void **state)
{
    struct bus *b = broker.bus;
    struct bus_consumer *c = open_consumer(b, "t_requeue", 1);
    struct bus_msg m;

    (void)state;
    publish_text(b, "t_requeue", "again");
    expect_text(c, &m, "again");
    assert_int_equal(m.deliveries, 1);
    assert_int_equal(bus_nack(c, &m, 1), 0);
    expect_text(c, &m, "again");
    assert_int_equal(m.deliveries, 2);
    assert_int_equal(bus_nack(c, &m, 1), 0);
    expect_text(c, &m, "again");
    assert_int_equal(m.deliveries, 3);
    assert_int_equal(bus_ack(c, &m), 0);
    bus_consumer_close(c);
    expect_ready(b, "t_requeue", 0, 0);
}

static void
test_bus_amqp_nack_drop_removes_message(void **state)
{
    struct bus *b = broker.bus;
    struct bus_consumer *c = open_consumer(b, "t_drop", 1);
    struct bus_msg m;

    (void)state;
    publish_text(b, "t_drop", "bad");
    expect_text(c, &m, "bad");
    assert_int_equal(bus_nack(c, &m, 0), 0);
    assert_int_equal(bus_next(c, 300, &m), IMGFLOW_EAGAIN);
    bus_consumer_close(c);
    expect_ready(b, "t_drop", 0, 0);
}

static void
test_bus_amqp_consumer_close_redelivers_unacked(void **state)
{
    struct bus *b = broker.bus;
    struct bus_consumer *c1 = open_consumer(b, "t_close", 1);
    struct bus_consumer *c2;
    struct bus_msg m;

    (void)state;
    publish_text(b, "t_close", "orphan");
    expect_text(c1, &m, "orphan");
    bus_consumer_close(c1);

    c2 = open_consumer(b, "t_close", 1);
    expect_text(c2, &m, "orphan");
    assert_int_equal(m.deliveries, 2);
    assert_int_equal(bus_ack(c2, &m), 0);
    bus_consumer_close(c2);
}

static void
test_bus_amqp_prefetch_one_limits_inflight(void **state)
{
    struct bus *b = broker.bus;
    struct bus_consumer *c1 = open_consumer(b, "t_prefetch", 1);
    struct bus_consumer *c2;
    struct bus_msg m1, m2, x;

    (void)state;
    publish_text(b, "t_prefetch", "a");
    publish_text(b, "t_prefetch", "b");
    expect_text(c1, &m1, "a");
    assert_int_equal(bus_next(c1, 300, &x), IMGFLOW_EAGAIN);

    /* The second message waits in the queue for someone else. */
    expect_ready(b, "t_prefetch", 1, 1);
    c2 = open_consumer(b, "t_prefetch", 1);
    expect_text(c2, &m2, "b");
    assert_int_equal(bus_ack(c1, &m1), 0);
    assert_int_equal(bus_ack(c2, &m2), 0);
    bus_consumer_close(c1);
    bus_consumer_close(c2);
}

static void
test_bus_amqp_stats_counts_ready_consumers(void **state)
{
    struct bus *b = broker.bus;
    struct bus_queue_stats st;
    struct bus_consumer *c;
    struct bus_msg m;

    (void)state;
    assert_int_equal(bus_stats(b, "t_never_declared", &st), 0);
    assert_int_equal(st.ready, 0);
    assert_int_equal(st.consumers, 0);

    /* Publishing to a queue nobody declared creates it, as in memory. */
    for (int i = 0; i < 3; i++) {
        publish_text(b, "t_stats", "s");
    }

    expect_ready(b, "t_stats", 3, 0);
    c = open_consumer(b, "t_stats", 1);
    expect_text(c, &m, "s");
    expect_ready(b, "t_stats", 2, 1);
    assert_int_equal(bus_ack(c, &m), 0);
    bus_consumer_close(c);
    expect_ready(b, "t_stats", 2, 0);
}

static void
test_bus_amqp_next_timeout_eagain(void **state)
{
    struct bus_consumer *c = open_consumer(broker.bus, "t_timeout", 1);
    struct bus_msg m;
    double t0 = util_now();
    double dt;

    (void)state;
    assert_int_equal(bus_next(c, 400, &m), IMGFLOW_EAGAIN);
    dt = util_now() - t0;
    assert_true(dt >= 0.35 && dt < 1.5);
    assert_int_equal(bus_next(c, 0, &m), IMGFLOW_EAGAIN);
    bus_consumer_close(c);
}

/*
 * How long the "job" runs (or IMGFLOW_TEST_JOB_MS): 4 heartbeats, because
 * RabbitMQ 3.10 tolerates a silent client for about 3, so that 2.5 would
 * pass even without the keeper thread.
 */
static long
job_ms(void)
{
    const char *env = getenv("IMGFLOW_TEST_JOB_MS");

    return env != NULL ? atol(env) : HEARTBEAT_S * 4000L;
}

/* A job much longer than the heartbeat keeps its message and connection. */
static void
test_bus_amqp_heartbeat_long_job_survives(void **state)
{
    struct bus *b = NULL;
    struct bus_consumer *c;
    struct bus_msg m;
    char url[160];
    char err[256];

    (void)state;
    snprintf(url, sizeof(url), "amqp://guest:guest@127.0.0.1:%d/?heartbeat=%d",
             broker.port, HEARTBEAT_S);
    assert_int_equal(bus_open(url, &b, err, sizeof(err)), 0);
    c = open_consumer(b, "t_heartbeat", 1);
    publish_text(b, "t_heartbeat", "long");
    expect_text(c, &m, "long");

    util_sleep_ms(job_ms());
    assert_int_equal(bus_ack(c, &m), 0);
    expect_ready(b, "t_heartbeat", 0, 1);

    /* Still the same connection: the next message arrives on it. */
    publish_text(b, "t_heartbeat", "next");
    expect_text(c, &m, "next");
    assert_int_equal(m.deliveries, 1);
    assert_int_equal(bus_ack(c, &m), 0);
    bus_consumer_close(c);
    bus_close(b);
}

struct waiter {
    struct bus_consumer *c;
    int rc;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    struct bus_msg m;

    w->rc = bus_next(w->c, 10000, &m);
    return NULL;
}

static void
test_bus_amqp_shutdown_wakes_next_closed(void **state)
{
    struct bus *b = NULL;
    struct waiter w = {0};
    pthread_t t;
    char err[256];
    double t0;

    (void)state;
    assert_int_equal(bus_open(broker.url, &b, err, sizeof(err)), 0);
    w.c = open_consumer(b, "t_shutdown", 1);
    assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
    util_sleep_ms(200);
    t0 = util_now();
    bus_shutdown(b);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, IMGFLOW_ECLOSED);
    assert_true(util_now() - t0 < 1.0);
    assert_int_equal(bus_publish(b, "t_shutdown", "x", 1), IMGFLOW_ECLOSED);
    bus_consumer_close(w.c);
    bus_close(b);
}

/* Call bus_next until it returns want, for up to limit_s seconds. */
static int
next_until(struct bus_consumer *c, int want, double limit_s,
           struct bus_msg *m)
{
    double end = util_now() + limit_s;
    int rc;

    do {
        rc = bus_next(c, 500, m);
    } while (rc != want && util_now() < end);
    return rc;
}

static void
test_bus_amqp_broker_restart_recovers(void **state)
{
    struct bus *b = broker.bus;
    struct bus_consumer *c = open_consumer(b, "t_restart_c", 1);
    struct bus_consumer *c2;
    struct bus_msg m;
    double t0, end;
    int rc;

    (void)state;
    assert_int_equal(bus_declare(b, "t_restart"), 0);
    publish_text(b, "t_restart", "before");

    assert_int_equal(script_run("stop"), 0);
    broker.running = 0;
    t0 = util_now();
    assert_int_equal(bus_publish(b, "t_restart", "x", 1), IMGFLOW_EUNAVAIL);
    assert_true(util_now() - t0 < 6.5);
    assert_int_equal(bus_ping(b), IMGFLOW_EUNAVAIL);
    assert_int_equal(next_until(c, IMGFLOW_EUNAVAIL, 8.0, &m),
                     IMGFLOW_EUNAVAIL);
    assert_int_equal(bus_next(c, 200, &m), IMGFLOW_EUNAVAIL);

    assert_int_equal(script_run("start"), 0);
    broker.running = 1;
    end = util_now() + 20.0;
    do {
        rc = bus_publish(b, "t_restart", "after", 5);
        if (rc != 0) {
            util_sleep_ms(200);
        }
    } while (rc != 0 && util_now() < end);
    assert_int_equal(rc, 0);
    assert_int_equal(bus_ping(b), 0);

    /* The durable queue kept the persistent message across the restart. */
    c2 = open_consumer(b, "t_restart", 2);
    expect_text(c2, &m, "before");
    assert_int_equal(bus_ack(c2, &m), 0);
    expect_text(c2, &m, "after");
    assert_int_equal(bus_ack(c2, &m), 0);
    bus_consumer_close(c2);

    /* The old consumer reconnects by itself and consumes again. */
    publish_text(b, "t_restart_c", "back");
    assert_int_equal(next_until(c, 0, 15.0, &m), 0);
    assert_memory_equal(m.body, "back", 4);
    assert_int_equal(bus_ack(c, &m), 0);
    bus_consumer_close(c);
}

struct mt {
    struct bus *bus;
    pthread_mutex_t lock;
    unsigned char seen[MT_TOTAL];
    int received;
    int failures;
    int producer;
};

static void *
mt_producer(void *arg)
{
    struct mt *t = arg;
    char text[32];
    int id;

    pthread_mutex_lock(&t->lock);
    id = t->producer++;
    pthread_mutex_unlock(&t->lock);

    for (int i = 0; i < MT_MESSAGES; i++) {
        int n = snprintf(text, sizeof(text), "%d", id * MT_MESSAGES + i);

        if (bus_publish(t->bus, "t_mt", text, (size_t)n) != 0) {
            pthread_mutex_lock(&t->lock);
            t->failures++;
            pthread_mutex_unlock(&t->lock);
        }
    }
    return NULL;
}

static void *
mt_consumer(void *arg)
{
    struct mt *t = arg;
    const char *queue = "t_mt";
    struct bus_consumer *c = NULL;
    double end = util_now() + 60.0;
    struct bus_msg m;
    char text[32];
    int done = 0;

    if (bus_consumer_open(t->bus, &queue, 1, 10, &c) != 0) {
        return NULL;
    }

    while (!done && util_now() < end) {
        if (bus_next(c, 200, &m) == 0) {
            size_t n = m.len < sizeof(text) - 1 ? m.len : sizeof(text) - 1;
            long v;

            memcpy(text, m.body, n);
            text[n] = '\0';
            v = strtol(text, NULL, 10);
            pthread_mutex_lock(&t->lock);
            if (v >= 0 && v < MT_TOTAL) {
                t->seen[v]++;
            }
            t->received++;
            pthread_mutex_unlock(&t->lock);
            bus_ack(c, &m);
        }

        pthread_mutex_lock(&t->lock);
        done = t->received >= MT_TOTAL;
        pthread_mutex_unlock(&t->lock);
    }

    bus_consumer_close(c);
    return NULL;
}

static void
test_bus_amqp_threads_exactly_once(void **state)
{
    struct mt *t = calloc(1, sizeof(*t));
    pthread_t prod[MT_PRODUCERS], cons[MT_CONSUMERS];
    struct bus_msg m;
    struct bus_consumer *c;

    (void)state;
    assert_non_null(t);
    t->bus = broker.bus;
    pthread_mutex_init(&t->lock, NULL);
    assert_int_equal(bus_declare(t->bus, "t_mt"), 0);
    for (int i = 0; i < MT_CONSUMERS; i++) {
        assert_int_equal(pthread_create(&cons[i], NULL, mt_consumer, t), 0);
    }

    for (int i = 0; i < MT_PRODUCERS; i++) {
        assert_int_equal(pthread_create(&prod[i], NULL, mt_producer, t), 0);
    }

    for (int i = 0; i < MT_PRODUCERS; i++) {
        pthread_join(prod[i], NULL);
    }

    for (int i = 0; i < MT_CONSUMERS; i++) {
        pthread_join(cons[i], NULL);
    }

    assert_int_equal(t->failures, 0);
    assert_int_equal(t->received, MT_TOTAL);
    for (int i = 0; i < MT_TOTAL; i++) {
        assert_int_equal(t->seen[i], 1);
    }

    c = open_consumer(broker.bus, "t_mt", 1);
    assert_int_equal(bus_next(c, 300, &m), IMGFLOW_EAGAIN);
    bus_consumer_close(c);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_amqp_bad_url_fails),
        cmocka_unit_test(test_bus_amqp_unreachable_fails_without_password),
        cmocka_unit_test(test_bus_amqp_wrong_password_unavailable),
        cmocka_unit_test(test_bus_amqp_publish_order_fifo),
        cmocka_unit_test(test_bus_amqp_message_one_consumer_only),
        cmocka_unit_test(test_bus_amqp_ack_removes_message),
        cmocka_unit_test(test_bus_amqp_nack_requeue_counts_deliveries),
        cmocka_unit_test(test_bus_amqp_nack_drop_removes_message),
        cmocka_unit_test(test_bus_amqp_consumer_close_redelivers_unacked),
        cmocka_unit_test(test_bus_amqp_prefetch_one_limits_inflight),
        cmocka_unit_test(test_bus_amqp_stats_counts_ready_consumers),
        cmocka_unit_test(test_bus_amqp_next_timeout_eagain),
        cmocka_unit_test(test_bus_amqp_heartbeat_long_job_survives),
        cmocka_unit_test(test_bus_amqp_shutdown_wakes_next_closed),
        cmocka_unit_test(test_bus_amqp_threads_exactly_once),
        cmocka_unit_test(test_bus_amqp_broker_restart_recovers),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
