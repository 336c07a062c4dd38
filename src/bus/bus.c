/*
 * The bus interface: URL dispatch to a backend and thin wrappers.
 * SPDX-License-Identifier: MIT
 */
#include "bus/bus.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"

int
bus_open(const char *url, struct bus **out, char *err, size_t errlen)
{
    if (strcmp(url, "memory") == 0 || strcmp(url, "memory://") == 0) {
        return bus_memory_open(out);
    }

    if (strncmp(url, "amqp://", 7) == 0 || strncmp(url, "amqps://", 8) == 0) {
        return bus_amqp_open(url, out, err, errlen);
    }

    snprintf(err, errlen, "unknown broker URL scheme (use memory or amqp://)");
    return IMGFLOW_EINVAL;
}

int
bus_declare(struct bus *b, const char *queue)
{
    return b->ops->declare(b, queue);
}

int
bus_publish(struct bus *b, const char *queue, const void *body, size_t len)
{
    return b->ops->publish(b, queue, body, len);
}

int
bus_consumer_open(struct bus *b, const char *const *queues, size_t n,
                  int prefetch, struct bus_consumer **out)
{
    return b->ops->consumer_open(b, queues, n, prefetch, out);
}

int
bus_stats(struct bus *b, const char *queue, struct bus_queue_stats *st)
{
    return b->ops->stats(b, queue, st);
}

int
bus_ping(struct bus *b)
{
    return b->ops->ping(b);
}

void
bus_shutdown(struct bus *b)
{
    b->ops->shutdown(b);
}

void
bus_close(struct bus *b)
{
    if (b != NULL) {
        b->ops->close(b);
    }
}

int
bus_next(struct bus_consumer *c, int timeout_ms, struct bus_msg *msg)
{
    return c->bus->ops->next(c, timeout_ms, msg);
}

int
bus_ack(struct bus_consumer *c, struct bus_msg *msg)
{
    return c->bus->ops->ack(c, msg);
}

int
bus_nack(struct bus_consumer *c, struct bus_msg *msg, int requeue)
{
    return c->bus->ops->nack(c, msg, requeue);
}

void
bus_consumer_close(struct bus_consumer *c)
{
    if (c != NULL) {
        c->bus->ops->consumer_close(c);
    }
}
