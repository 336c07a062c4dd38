/*
 * Unit tests of the in-process bus (src/bus/bus.c and memory.c): FIFO
 * order, one consumer per message, acknowledgement and redelivery,
 * prefetch, timeouts, shutdown, fairness across queues, and a stress run
 * of several producer and consumer threads.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/error.h"
#include "core/util.h"

#define STRESS_PRODUCERS 4
#define STRESS_CONSUMERS 4
#define STRESS_MESSAGES  2000 /* per producer */
#define STRESS_TOTAL     (STRESS_PRODUCERS * STRESS_MESSAGES)
#define STRESS_LIMIT_S   120.0

static int
setup_bus(void **state)
{
    struct bus *b = NULL;
    char err[128];

    if (bus_open("memory", &b, err, sizeof(err)) != 0) {
        return -1;
    }

    *state = b;
    return 0;
}

static int
teardown_bus(void **state)
{
    bus_close(*state);
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

/* Receive one message and check its body is text. */
static void
expect_text(struct bus_consumer *c, struct bus_msg *m, const char *text)
{
    assert_int_equal(bus_next(c, 1000, m), 0);
    assert_int_equal(m->len, strlen(text));
    assert_memory_equal(m->body, text, m->len);
}

static void
expect_stats(struct bus *b, const char *queue, long ready, long unacked,
             long consumers)
{
    struct bus_queue_stats st;

    assert_int_equal(bus_stats(b, queue, &st), 0);
    assert_int_equal(st.ready, ready);
    assert_int_equal(st.unacked, unacked);
    assert_int_equal(st.consumers, consumers);
}

static void
test_bus_open_unknown_scheme_fails(void **state)
{
    struct bus *b = NULL;
    char err[128] = "";

    (void)state;
    assert_int_equal(bus_open("kafka://host", &b, err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_true(strlen(err) > 0);
    assert_null(b);
}

static void
test_bus_publish_order_fifo(void **state)
{
    struct bus *b = *state;
    struct bus_consumer *c;
    struct bus_msg m;
    char text[16];

    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "m%d", i);
        publish_text(b, "q", text);
    }

    c = open_consumer(b, "q", 20);
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "m%d", i);
        expect_text(c, &m, text);
        assert_string_equal(m.queue, "q");
        assert_int_equal(m.deliveries, 1);
        assert_int_equal(bus_ack(c, &m), 0);
    }

    expect_stats(b, "q", 0, 0, 1);
    bus_consumer_close(c);
    expect_stats(b, "q", 0, 0, 0);
}

static void
test_bus_message_one_consumer_only(void **state)
{
    struct bus *b = *state;
    struct bus_consumer *c1 = open_consumer(b, "q", 4);
    struct bus_consumer *c2 = open_consumer(b, "q", 4);
    struct bus_msg m, other;

    publish_text(b, "q", "only");
    expect_text(c1, &m, "only");
    assert_int_equal(bus_next(c2, 50, &other), IMGFLOW_EAGAIN);
    assert_int_equal(bus_ack(c1, &m), 0);
    assert_int_equal(bus_next(c2, 50, &other), IMGFLOW_EAGAIN);
    assert_int_equal(bus_next(c1, 50, &other), IMGFLOW_EAGAIN);

    bus_consumer_close(c1);
    bus_consumer_close(c2);
}

static void
test_bus_stats_counts_ready_unacked_consumers(void **state)
{
    struct bus *b = *state;
    struct bus_consumer *c1, *c2;
    struct bus_msg m;

    expect_stats(b, "never-declared", 0, 0, 0);
    assert_int_equal(bus_declare(b, "q"), 0);
    assert_int_equal(bus_declare(b, "q"), 0);
    expect_stats(b, "q", 0, 0, 0);

    publish_text(b, "q", "a");
    publish_text(b, "q", "b");
    publish_text(b, "q", "c");
    c1 = open_consumer(b, "q", 4);
    c2 = open_consumer(b, "q", 4);
    expect_stats(b, "q", 3, 0, 2);

    expect_text(c1, &m, "a");
    expect_stats(b, "q", 2, 1, 2);
    assert_int_equal(bus_ack(c1, &m), 0);
    expect_stats(b, "q", 2, 0, 2);

    bus_consumer_close(c2);
    expect_stats(b, "q", 2, 0, 1);
    bus_consumer_close(c1);
    expect_stats(b, "q", 2, 0, 0);
}

static void
test_bus_nack_requeue_redelivered(void **state)
{
    struct bus *b = *state;
    struct bus_consumer *c = open_consumer(b, "q", 4);
    struct bus_msg m;
    uint64_t first_tag;

    publish_text(b, "q", "first");
    publish_text(b, "q", "second");
    expect_text(c, &m, "first");
    first_tag = m.tag;
    assert_int_equal(bus_nack(c, &m, 1), 0);
    expect_stats(b, "q", 2, 0, 1);

    /* Requeued at the head, ahead of the message behind it. */
    expect_text(c, &m, "first");
    assert_int_equal(m.deliveries, 2);
    assert_true(m.tag != first_tag);
    assert_int_equal(bus_ack(c, &m), 0);

    expect_text(c, &m, "second");
    assert_int_equal(m.deliveries, 1);
    assert_int_equal(bus_ack(c, &m), 0);
    expect_stats(b, "q", 0, 0, 1);
    bus_consumer_close(c);
}

static void
test_bus_nack_without_requeue_dropped(void **state)
{
    struct bus *b = *state;
    struct bus_consumer *c = open_consumer(b, "q", 4);
    struct bus_msg m;

    publish_text(b, "q", "poison");
    expect_text(c, &m, "poison");
    assert_int_equal(bus_nack(c, &m, 0), 0);
    expect_stats(b, "q", 0, 0, 1);
    assert_int_equal(bus_next(c, 50, &m), IMGFLOW_EAGAIN);
    bus_consumer_close(c);
}

static void
test_bus_consumer_close_redelivers_unacked(void **state)
{
    struct bus *b = *state;
    struct bus_consumer *c1 = open_consumer(b, "q", 4);
    struct bus_consumer *c2 = open_consumer(b, "q", 4);
    struct bus_msg m1, m2, m;

    publish_text(b, "q", "one");
    publish_text(b, "q", "two");
    publish_text(b, "q", "three");
    expect_text(c1, &m1, "one");
    expect_text(c1, &m2, "two");
    expect_stats(b, "q", 1, 2, 2);

    /* Closing without acking gives both back, oldest first. */
    bus_consumer_close(c1);
    expect_stats(b, "q", 3, 0, 1);
    expect_text(c2, &m, "one");
    assert_int_equal(m.deliveries, 2);
    assert_int_equal(bus_ack(c2, &m), 0);
    expect_text(c2, &m, "two");
    assert_int_equal(m.deliveries, 2);
    assert_int_equal(bus_ack(c2, &m), 0);
    expect_text(c2, &m, "three");
    assert_int_equal(m.deliveries, 1);
    assert_int_equal(bus_ack(c2, &m), 0);

    expect_stats(b, "q", 0, 0, 1);
    bus_consumer_close(c2);
}

static void
test_bus_prefetch_one_blocks_until_ack(void **state)
{
    struct bus *b = *state;
    struct bus_consumer *c = open_consumer(b, "q", 1);
    struct bus_msg m, second;

    publish_text(b, "q", "a");
    publish_text(b, "q", "b");
    expect_text(c, &m, "a");
    assert_int_equal(bus_next(c, 50, &second), IMGFLOW_EAGAIN);
    expect_stats(b, "q", 1, 1, 1);

    assert_int_equal(bus_ack(c, &m), 0);
    expect_text(c, &second, "b");
    assert_int_equal(bus_ack(c, &second), 0);
    bus_consumer_close(c);
}

static void
test_bus_next_timeout_returns_eagain(void **state)
{
    struct bus *b = *state;
    struct bus_consumer *c = open_consumer(b, "empty", 1);
    struct bus_msg m;
    double t0, waited;

    t0 = util_now();
    assert_int_equal(bus_next(c, 300, &m), IMGFLOW_EAGAIN);
    waited = util_now() - t0;

    /* Not early; late only by scheduling (generous for sanitizers). */
    assert_true(waited >= 0.29);
    assert_true(waited < 2.0);

    t0 = util_now();
    assert_int_equal(bus_next(c, 0, &m), IMGFLOW_EAGAIN);
    assert_true(util_now() - t0 < 1.0);
    bus_consumer_close(c);
}

struct waiter {
    struct bus_consumer *c;
    int rc;
    double waited; /* seconds */
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    struct bus_msg m;
    double t0 = util_now();

    w->rc = bus_next(w->c, 20000, &m);
    w->waited = util_now() - t0;
    return NULL;
}

static void
test_bus_shutdown_wakes_blocked_next(void **state)
{
    struct bus *b = *state;
    struct waiter w = {open_consumer(b, "q", 1), 0, 0};
    struct bus_msg m;
    pthread_t t;

    assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
    util_sleep_ms(150);
    bus_shutdown(b);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.rc, IMGFLOW_ECLOSED);
    assert_true(w.waited < 10.0);

    /* After shutdown nothing waits and nothing is accepted. */
    assert_int_equal(bus_next(w.c, 1000, &m), IMGFLOW_ECLOSED);
    assert_int_equal(bus_publish(b, "q", "x", 1), IMGFLOW_ECLOSED);
    assert_int_equal(bus_ping(b), IMGFLOW_ECLOSED);
    bus_consumer_close(w.c);
}

static void
test_bus_consumer_queues_round_robin(void **state)
{
    static const char *const queues[] = {"qa", "qb", "qc"};
    struct bus *b = *state;
    struct bus_consumer *c = NULL;
    struct bus_msg m;
    char text[16];
    int taken[3] = {0, 0, 0};

    for (int i = 0; i < 4; i++) {
        for (int q = 0; q < 3; q++) {
            snprintf(text, sizeof(text), "%s-%d", queues[q], i);
            publish_text(b, queues[q], text);
        }
    }
    assert_int_equal(bus_consumer_open(b, queues, 3, 16, &c), 0);

    /* While every queue has work, deliveries take turns, each in order. */
    for (int i = 0; i < 12; i++) {
        int q = i % 3;

        assert_int_equal(bus_next(c, 1000, &m), 0);
        assert_string_equal(m.queue, queues[q]);
        snprintf(text, sizeof(text), "%s-%d", queues[q], taken[q]++);
        assert_int_equal(m.len, strlen(text));
        assert_memory_equal(m.body, text, m.len);
        assert_int_equal(bus_ack(c, &m), 0);
    }

    /* A busy queue does not starve a quiet one. */
    for (int i = 0; i < 5; i++) {
        publish_text(b, "qa", "busy");
    }
    publish_text(b, "qc", "quiet");
    expect_text(c, &m, "busy");
    assert_int_equal(bus_ack(c, &m), 0);
    expect_text(c, &m, "quiet");
    assert_int_equal(bus_ack(c, &m), 0);

    expect_stats(b, "qa", 4, 0, 1);
    expect_stats(b, "qb", 0, 0, 1);
    bus_consumer_close(c);
    expect_stats(b, "qa", 4, 0, 0);
}

static void
test_bus_consumer_open_no_queues_fails(void **state)
{
    struct bus *b = *state;
    struct bus_consumer *c = NULL;

    assert_int_equal(bus_consumer_open(b, NULL, 0, 1, &c), IMGFLOW_EINVAL);
    assert_null(c);
}

/* Shared by the stress threads; counts are guarded by lock. */
struct stress {
    struct bus *bus;
    pthread_mutex_t lock;
    int seen[STRESS_PRODUCERS][STRESS_MESSAGES];
    long received;
    long bad; /* malformed bodies or redeliveries */
    long publish_errors;
    double deadline; /* util_now() seconds */
};

struct stress_thread {
    struct stress *s;
    struct bus_consumer *c;
    int id;
};

static void *
producer_main(void *arg)
{
    struct stress_thread *t = arg;
    char body[32];

    for (int i = 0; i < STRESS_MESSAGES; i++) {
        int n = snprintf(body, sizeof(body), "%d:%d", t->id, i);

        if (bus_publish(t->s->bus, "stress", body, (size_t)n) != 0) {
            pthread_mutex_lock(&t->s->lock);
            t->s->publish_errors++;
            pthread_mutex_unlock(&t->s->lock);
        }
    }
    return NULL;
}

/* Record one delivery; returns the number received so far. */
static long
stress_record(struct stress *s, const struct bus_msg *m)
{
    char body[32];
    int p, i, end = 0;
    long n;

    snprintf(body, sizeof(body), "%.*s", (int)m->len, (const char *)m->body);
    pthread_mutex_lock(&s->lock);
    if (sscanf(body, "%d:%d%n", &p, &i, &end) == 2 && (size_t)end == m->len &&
        p >= 0 && p < STRESS_PRODUCERS && i >= 0 && i < STRESS_MESSAGES &&
        m->deliveries == 1) {
        s->seen[p][i]++;
    } else {
        s->bad++;
    }
    n = ++s->received;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static void *
consumer_main(void *arg)
{
    struct stress_thread *t = arg;
    struct stress *s = t->s;

    for (;;) {
        struct bus_msg m;
        long received;
        int rc = bus_next(t->c, 20, &m);

        if (rc == 0) {
            stress_record(s, &m);
            if (bus_ack(t->c, &m) != 0) {
                pthread_mutex_lock(&s->lock);
                s->bad++;
                pthread_mutex_unlock(&s->lock);
            }
        } else if (rc != IMGFLOW_EAGAIN) {
            break;
        }

        pthread_mutex_lock(&s->lock);
        received = s->received;
        pthread_mutex_unlock(&s->lock);
        if (received >= STRESS_TOTAL || util_now() > s->deadline) {
            break;
        }
    }
    return NULL;
}

static void
test_bus_stress_threads_exactly_once(void **state)
{
    struct stress *s = calloc(1, sizeof(*s));
    struct stress_thread prod[STRESS_PRODUCERS], cons[STRESS_CONSUMERS];
    pthread_t prod_t[STRESS_PRODUCERS], cons_t[STRESS_CONSUMERS];

    assert_non_null(s);
    s->bus = *state;
    s->deadline = util_now() + STRESS_LIMIT_S;
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < STRESS_CONSUMERS; i++) {
        cons[i] = (struct stress_thread){
            s, open_consumer(s->bus, "stress", 1 + i * 3), i};
        assert_int_equal(
            pthread_create(&cons_t[i], NULL, consumer_main, &cons[i]), 0);
    }

    for (int i = 0; i < STRESS_PRODUCERS; i++) {
        prod[i] = (struct stress_thread){s, NULL, i};
        assert_int_equal(
            pthread_create(&prod_t[i], NULL, producer_main, &prod[i]), 0);
    }

    for (int i = 0; i < STRESS_PRODUCERS; i++) {
        assert_int_equal(pthread_join(prod_t[i], NULL), 0);
    }

    for (int i = 0; i < STRESS_CONSUMERS; i++) {
        assert_int_equal(pthread_join(cons_t[i], NULL), 0);
    }

    /* Every message arrived once, none twice, none mangled. */
    assert_int_equal(s->publish_errors, 0);
    assert_int_equal(s->bad, 0);
    assert_int_equal(s->received, STRESS_TOTAL);
    for (int p = 0; p < STRESS_PRODUCERS; p++) {
        for (int i = 0; i < STRESS_MESSAGES; i++) {
            assert_int_equal(s->seen[p][i], 1);
        }
    }

    expect_stats(s->bus, "stress", 0, 0, STRESS_CONSUMERS);
    for (int i = 0; i < STRESS_CONSUMERS; i++) {
        bus_consumer_close(cons[i].c);
    }

    expect_stats(s->bus, "stress", 0, 0, 0);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_open_unknown_scheme_fails),
        cmocka_unit_test_setup_teardown(test_bus_publish_order_fifo, setup_bus,
                                        teardown_bus),
        cmocka_unit_test_setup_teardown(test_bus_message_one_consumer_only,
                                        setup_bus, teardown_bus),
        cmocka_unit_test_setup_teardown(
            test_bus_stats_counts_ready_unacked_consumers, setup_bus,
            teardown_bus),
        cmocka_unit_test_setup_teardown(test_bus_nack_requeue_redelivered,
                                        setup_bus, teardown_bus),
        cmocka_unit_test_setup_teardown(test_bus_nack_without_requeue_dropped,
                                        setup_bus, teardown_bus),
        cmocka_unit_test_setup_teardown(
            test_bus_consumer_close_redelivers_unacked, setup_bus,
            teardown_bus),
        cmocka_unit_test_setup_teardown(test_bus_prefetch_one_blocks_until_ack,
                                        setup_bus, teardown_bus),
        cmocka_unit_test_setup_teardown(test_bus_next_timeout_returns_eagain,
                                        setup_bus, teardown_bus),
        cmocka_unit_test_setup_teardown(test_bus_shutdown_wakes_blocked_next,
                                        setup_bus, teardown_bus),
        cmocka_unit_test_setup_teardown(test_bus_consumer_queues_round_robin,
                                        setup_bus, teardown_bus),
        cmocka_unit_test_setup_teardown(test_bus_consumer_open_no_queues_fails,
                                        setup_bus, teardown_bus),
        cmocka_unit_test_setup_teardown(test_bus_stress_threads_exactly_once,
                                        setup_bus, teardown_bus),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
