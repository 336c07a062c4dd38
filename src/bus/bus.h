/*
 * The bus: named queues between the gateway and the workers. Backends:
 * "memory" (in-process, the embedded default) and amqp:// for
 * RabbitMQ. Semantics follow the broker's: a message is delivered to one
 * consumer, stays "in flight" until acknowledged, and a message that was
 * not acknowledged (nack with requeue, or its consumer closed) is
 * delivered again with its delivery count raised.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_BUS_BUS_H
#define IMGFLOW_BUS_BUS_H

#include <stddef.h>
#include <stdint.h>

struct bus;
struct bus_consumer;

/* One delivery. body is owned by the bus until bus_ack/bus_nack. */
struct bus_msg {
    const char *queue;  /* the queue it came from */
    uint8_t *body;
    size_t len;         /* bytes */
    uint64_t tag;       /* delivery tag, unique per consumer */
    int deliveries;     /* 1 on the first delivery */
    void *priv;         /* backend state */
};

struct bus_queue_stats {
    long ready;     /* messages waiting */
    long unacked;   /* delivered, not yet acknowledged */
    long consumers; /* open consumers reading the queue */
};

/* Operations a backend provides; see the wrappers below for contracts. */
struct bus_ops {
    const char *name;
    int (*declare)(struct bus *b, const char *queue);
    int (*publish)(struct bus *b, const char *queue, const void *body,
                   size_t len);
    int (*consumer_open)(struct bus *b, const char *const *queues, size_t n,
                         int prefetch, struct bus_consumer **out);
    int (*next)(struct bus_consumer *c, int timeout_ms, struct bus_msg *msg);
    int (*ack)(struct bus_consumer *c, struct bus_msg *msg);
    int (*nack)(struct bus_consumer *c, struct bus_msg *msg, int requeue);
    void (*consumer_close)(struct bus_consumer *c);
    int (*stats)(struct bus *b, const char *queue,
                 struct bus_queue_stats *st);
    int (*ping)(struct bus *b);
    void (*shutdown)(struct bus *b);
    void (*close)(struct bus *b);
};

/* Every backend's handles start with these. */
struct bus {
    const struct bus_ops *ops;
};

struct bus_consumer {
    struct bus *bus;
};

/*
 * Open a bus from a URL: "memory" or "amqp://user:pass@host:port/vhost".
 * On failure err says why (never with credentials). Returns 0,
 * IMGFLOW_EINVAL (bad URL) or IMGFLOW_EUNAVAIL.
 */
int bus_open(const char *url, struct bus **out, char *err, size_t errlen);

/* Make sure a queue exists (idempotent). */
int bus_declare(struct bus *b, const char *queue);

/*
 * Publish a persistent message; returns only once the bus holds it (the
 * broker confirmed). 0, IMGFLOW_EUNAVAIL or IMGFLOW_ECLOSED. Any thread.
 */
int bus_publish(struct bus *b, const char *queue, const void *body,
                size_t len);

/*
 * A consumer reading from n queues, with at most prefetch unacknowledged
 * deliveries. One thread uses a consumer at a time.
 */
int bus_consumer_open(struct bus *b, const char *const *queues, size_t n,
                      int prefetch, struct bus_consumer **out);

/*
 * Wait up to timeout_ms for the next delivery. Returns 0 with msg filled,
 * IMGFLOW_EAGAIN on timeout, IMGFLOW_ECLOSED once the bus shuts down.
 */
int bus_next(struct bus_consumer *c, int timeout_ms, struct bus_msg *msg);

/* Acknowledge: the message is gone for good. Releases msg's body. */
int bus_ack(struct bus_consumer *c, struct bus_msg *msg);

/* Refuse: with requeue it is delivered again, else it is dropped. */
int bus_nack(struct bus_consumer *c, struct bus_msg *msg, int requeue);

/* Close a consumer; its unacknowledged messages are delivered again. */
void bus_consumer_close(struct bus_consumer *c);

/* Depth, in-flight and consumer count of a queue (0s if never declared). */
int bus_stats(struct bus *b, const char *queue, struct bus_queue_stats *st);

/* 0 when the backend is reachable, else IMGFLOW_EUNAVAIL. */
int bus_ping(struct bus *b);

/* Wake every waiting consumer with IMGFLOW_ECLOSED; new waits fail too. */
void bus_shutdown(struct bus *b);

/* Release the bus; every consumer must be closed first. NULL is fine. */
void bus_close(struct bus *b);

/* The memory backend (used by bus_open for "memory"). */
int bus_memory_open(struct bus **out);

/*
 * The RabbitMQ backend (used by bus_open for amqp://); see amqp.c. URL
 * "amqp://user:pass@host:port/vhost", optionally "?heartbeat=S".
 */
int bus_amqp_open(const char *url, struct bus **out, char *err,
                  size_t errlen);

#endif
