/*
 * The in-process bus, the embedded default: FIFO queues in memory behind
 * one lock, with the broker's delivery rules (one consumer per message,
 * in flight until acknowledged, redelivered at the head of its queue when
 * refused with requeue or when its consumer closes).
 * SPDX-License-Identifier: MIT
 */
#include "bus/bus.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/util.h"

struct mem_msg {
    struct mem_msg *next;
    struct mem_msg *prev;     /* only on a consumer's in-flight list */
    struct mem_queue *queue;
    int deliveries;
    uint64_t tag;
    size_t len;
    uint8_t body[];
};

struct mem_queue {
    struct mem_queue *next;
    struct mem_msg *head;
    struct mem_msg *tail;
    long ready;
    long unacked;
    long consumers;
    char name[];
};

struct mem_bus {
    struct bus base;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled when a message becomes ready */
    struct mem_queue *queues;
    int closed;
};

struct mem_consumer {
    struct bus_consumer base;
    struct mem_queue **queues;
    size_t n;
    size_t rr;               /* next queue to look at first: fairness */
    int prefetch;
    int inflight;
    struct mem_msg *flight;  /* doubly linked in-flight list */
    uint64_t next_tag;
};

/* Find or create a queue; called with the lock held. */
static struct mem_queue *
queue_get(struct mem_bus *mb, const char *name)
{
    struct mem_queue *q;
    size_t len = strlen(name);

    for (q = mb->queues; q != NULL; q = q->next) {
        if (strcmp(q->name, name) == 0) {
            return q;
        }
    }

    q = calloc(1, sizeof(*q) + len + 1);
    if (q == NULL) {
        return NULL;
    }

    memcpy(q->name, name, len + 1);
    q->next = mb->queues;
    mb->queues = q;
    return q;
}

static void
queue_push_tail(struct mem_queue *q, struct mem_msg *m)
{
    m->next = NULL;
    if (q->tail != NULL) {
        q->tail->next = m;
    } else {
        q->head = m;
    }

    q->tail = m;
    q->ready++;
}

static void
queue_push_head(struct mem_queue *q, struct mem_msg *m)
{
    m->next = q->head;
    q->head = m;
    if (q->tail == NULL) {
        q->tail = m;
    }
    q->ready++;
}

static struct mem_msg *
queue_pop(struct mem_queue *q)
{
    struct mem_msg *m = q->head;

    if (m != NULL) {
        q->head = m->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        q->ready--;
        m->next = NULL;
    }
    return m;
}

static int
mem_declare(struct bus *b, const char *queue)
{
    struct mem_bus *mb = (struct mem_bus *)b;
    struct mem_queue *q;

    pthread_mutex_lock(&mb->lock);
    q = queue_get(mb, queue);
    pthread_mutex_unlock(&mb->lock);
    return q != NULL ? 0 : IMGFLOW_ENOMEM;
}

static int
mem_publish(struct bus *b, const char *queue, const void *body, size_t len)
{
    struct mem_bus *mb = (struct mem_bus *)b;
    struct mem_msg *m = malloc(sizeof(*m) + len);
    struct mem_queue *q;
    int rc = 0;

    if (m == NULL) {
        return IMGFLOW_ENOMEM;
    }

    memset(m, 0, sizeof(*m));
    memcpy(m->body, body, len);
    m->len = len;

    pthread_mutex_lock(&mb->lock);
    q = mb->closed ? NULL : queue_get(mb, queue);
    if (q == NULL) {
        rc = mb->closed ? IMGFLOW_ECLOSED : IMGFLOW_ENOMEM;
        free(m);
    } else {
        m->queue = q;
        queue_push_tail(q, m);
        pthread_cond_broadcast(&mb->cond);
    }

    pthread_mutex_unlock(&mb->lock);
    return rc;
}

static int
mem_consumer_open(struct bus *b, const char *const *queues, size_t n,
                  int prefetch, struct bus_consumer **out)
{
    struct mem_bus *mb = (struct mem_bus *)b;
    struct mem_consumer *c = calloc(1, sizeof(*c));
    int rc = 0;

    if (c == NULL || n == 0 ||
        (c->queues = calloc(n, sizeof(*c->queues))) == NULL) {
        free(c);
        return n == 0 ? IMGFLOW_EINVAL : IMGFLOW_ENOMEM;
    }

    c->base.bus = b;
    c->n = n;
    c->prefetch = prefetch > 0 ? prefetch : 1;

    pthread_mutex_lock(&mb->lock);
    for (size_t i = 0; i < n && rc == 0; i++) {
        c->queues[i] = queue_get(mb, queues[i]);
        if (c->queues[i] == NULL) {
            rc = IMGFLOW_ENOMEM;
        }
    }

    for (size_t i = 0; i < n && rc == 0; i++) {
        c->queues[i]->consumers++;
    }
    pthread_mutex_unlock(&mb->lock);

    if (rc != 0) {
        free(c->queues);
        free(c);
        return rc;
    }

    *out = &c->base;
    return 0;
}

/* Take the next ready message for c, round-robin over its queues. */
static struct mem_msg *
consumer_take(struct mem_consumer *c)
{
    for (size_t k = 0; k < c->n; k++) {
        struct mem_queue *q = c->queues[(c->rr + k) % c->n];
        struct mem_msg *m = queue_pop(q);

        if (m != NULL) {
            c->rr = (c->rr + k + 1) % c->n;
            q->unacked++;
            m->deliveries++;
            m->tag = ++c->next_tag;
            m->next = c->flight;
            m->prev = NULL;
            if (c->flight != NULL) {
                c->flight->prev = m;
            }
            c->flight = m;
            c->inflight++;
            return m;
        }
    }
    return NULL;
}

static int
mem_next(struct bus_consumer *bc, int timeout_ms, struct bus_msg *msg)
{
    struct mem_consumer *c = (struct mem_consumer *)bc;
    struct mem_bus *mb = (struct mem_bus *)bc->bus;
    struct mem_msg *m = NULL;
    struct timespec deadline;
    int rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&mb->lock);
    for (;;) {
        if (mb->closed) {
            rc = IMGFLOW_ECLOSED;
            break;
        }

        if (c->inflight < c->prefetch && (m = consumer_take(c)) != NULL) {
            break;
        }

        if (pthread_cond_timedwait(&mb->cond, &mb->lock, &deadline) ==
            ETIMEDOUT) {
            rc = IMGFLOW_EAGAIN;
            break;
        }
    }
    pthread_mutex_unlock(&mb->lock);

    if (m != NULL) {
        msg->queue = m->queue->name;
        msg->body = m->body;
        msg->len = m->len;
        msg->tag = m->tag;
        msg->deliveries = m->deliveries;
        msg->priv = m;
    }
    return rc;
}

/* Unlink m from c's in-flight list; called with the lock held. */
static void
consumer_unlink(struct mem_consumer *c, struct mem_msg *m)
{
    if (m->prev != NULL) {
        m->prev->next = m->next;
    } else {
        c->flight = m->next;
    }

    if (m->next != NULL) {
        m->next->prev = m->prev;
    }

    m->next = m->prev = NULL;
    m->queue->unacked--;
    c->inflight--;
}

static int
mem_settle(struct bus_consumer *bc, struct bus_msg *msg, int requeue)
{
    struct mem_consumer *c = (struct mem_consumer *)bc;
    struct mem_bus *mb = (struct mem_bus *)bc->bus;
    struct mem_msg *m = msg->priv;

    if (m == NULL) {
        return IMGFLOW_EINVAL;
    }

    pthread_mutex_lock(&mb->lock);
    consumer_unlink(c, m);
    if (requeue) {
        queue_push_head(m->queue, m);
        m = NULL;
    }

    /* A freed prefetch slot or a requeued message may unblock a waiter. */
    pthread_cond_broadcast(&mb->cond);
    pthread_mutex_unlock(&mb->lock);

    free(m);
    memset(msg, 0, sizeof(*msg));
    return 0;
}

static int
mem_ack(struct bus_consumer *bc, struct bus_msg *msg)
{
    return mem_settle(bc, msg, 0);
}

static int
mem_nack(struct bus_consumer *bc, struct bus_msg *msg, int requeue)
{
    return mem_settle(bc, msg, requeue);
}

static void
mem_consumer_close(struct bus_consumer *bc)
{
    struct mem_consumer *c = (struct mem_consumer *)bc;
    struct mem_bus *mb = (struct mem_bus *)bc->bus;

    pthread_mutex_lock(&mb->lock);
    while (c->flight != NULL) {
        struct mem_msg *m = c->flight;

        consumer_unlink(c, m);
        queue_push_head(m->queue, m);
    }

    for (size_t i = 0; i < c->n; i++) {
        c->queues[i]->consumers--;
    }

    pthread_cond_broadcast(&mb->cond);
    pthread_mutex_unlock(&mb->lock);
    free(c->queues);
    free(c);
}

static int
mem_stats(struct bus *b, const char *queue, struct bus_queue_stats *st)
{
    struct mem_bus *mb = (struct mem_bus *)b;
    struct mem_queue *q;

    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&mb->lock);
    for (q = mb->queues; q != NULL; q = q->next) {
        if (strcmp(q->name, queue) == 0) {
            st->ready = q->ready;
            st->unacked = q->unacked;
            st->consumers = q->consumers;
            break;
        }
    }
    pthread_mutex_unlock(&mb->lock);
    return 0;
}

static int
mem_ping(struct bus *b)
{
    struct mem_bus *mb = (struct mem_bus *)b;
    int closed;

    pthread_mutex_lock(&mb->lock);
    closed = mb->closed;
    pthread_mutex_unlock(&mb->lock);
    return closed ? IMGFLOW_ECLOSED : 0;
}

static void
mem_shutdown(struct bus *b)
{
    struct mem_bus *mb = (struct mem_bus *)b;

    pthread_mutex_lock(&mb->lock);
    mb->closed = 1;
    pthread_cond_broadcast(&mb->cond);
    pthread_mutex_unlock(&mb->lock);
}

static void
mem_close(struct bus *b)
{
    struct mem_bus *mb = (struct mem_bus *)b;
    struct mem_queue *q = mb->queues;

    while (q != NULL) {
        struct mem_queue *next = q->next;
        struct mem_msg *m;

        while ((m = queue_pop(q)) != NULL) {
            free(m);
        }

        free(q);
        q = next;
    }

    pthread_cond_destroy(&mb->cond);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

static const struct bus_ops mem_ops = {
    .name = "memory",
    .declare = mem_declare,
    .publish = mem_publish,
    .consumer_open = mem_consumer_open,
    .next = mem_next,
    .ack = mem_ack,
    .nack = mem_nack,
    .consumer_close = mem_consumer_close,
    .stats = mem_stats,
    .ping = mem_ping,
    .shutdown = mem_shutdown,
    .close = mem_close,
};

int
bus_memory_open(struct bus **out)
{
    struct mem_bus *mb = calloc(1, sizeof(*mb));
    pthread_condattr_t attr;

    if (mb == NULL) {
        return IMGFLOW_ENOMEM;
    }

    mb->base.ops = &mem_ops;
    pthread_mutex_init(&mb->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&mb->cond, &attr);
    pthread_condattr_destroy(&attr);
    *out = &mb->base;
    return 0;
}
