/*
 * The results consumer: processing_results -> status store. A result it
 * cannot parse is moved to processing_dead_letter, never dropped; a result
 * it cannot store (status backend down) is put back and retried.
 * SPDX-License-Identifier: MIT
 */
#include "gateway/results.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/util.h"

struct gateway_results {
    struct bus *bus;
    struct status_store *status;
    struct bus_consumer *consumer;
    pthread_t thread;
    atomic_int stop;
    atomic_long drain_until_ms; /* 0 while running */
};

static void
handle_result(struct gateway_results *r, struct bus_msg *m)
{
    char err[256];
    json_t *doc = NULL;
    int rc;

    if (msg_result_parse(m->body, m->len, &doc, err, sizeof(err)) != 0) {
        log_error("results", "unreadable result moved to %s reason=\"%s\"",
                  MSG_DEAD_LETTER_QUEUE, err);
        if (bus_publish(r->bus, MSG_DEAD_LETTER_QUEUE, m->body, m->len) != 0) {
            bus_nack(r->consumer, m, 1);
            return;
        }
        bus_ack(r->consumer, m);
        return;
    }

    rc = status_apply(r->status, doc);
    if (rc != 0) {
        log_warn("results", "status store refused an update, retrying "
                 "request_id=%s error=\"%s\"",
                 json_string_value(json_object_get(doc, "request_id")),
                 imgflow_strerror(rc));
        bus_nack(r->consumer, m, 1);
        util_sleep_ms(200);
    } else {
        log_debug("results", "applied request_id=%s status=%s",
                  json_string_value(json_object_get(doc, "request_id")),
                  json_string_value(json_object_get(doc, "status")));
        bus_ack(r->consumer, m);
    }
    json_decref(doc);
}

static void *
results_main(void *arg)
{
    struct gateway_results *r = arg;

    for (;;) {
        struct bus_msg m;
        int rc = bus_next(r->consumer, 200, &m);

        if (rc == 0) {
            handle_result(r, &m);
            continue;
        }

        if (rc != IMGFLOW_EAGAIN && rc != IMGFLOW_ECLOSED) {
            util_sleep_ms(200); /* broker away: reconnects on next use */
        }

        /* Stop once asked and the queue has run dry (or the drain ended). */
        if (rc == IMGFLOW_ECLOSED ||
            (atomic_load(&r->stop) &&
             (rc == IMGFLOW_EAGAIN ||
              util_now() * 1000 > atomic_load(&r->drain_until_ms)))) {
            break;
        }
    }
    return NULL;
}

int
gateway_results_start(struct bus *bus, struct status_store *status,
                      struct gateway_results **out)
{
    const char *queue = MSG_RESULTS_QUEUE;
    struct gateway_results *r = calloc(1, sizeof(*r));
    int rc;

    if (r == NULL) {
        return IMGFLOW_ENOMEM;
    }

    r->bus = bus;
    r->status = status;
    rc = bus_consumer_open(bus, &queue, 1, 64, &r->consumer);
    if (rc != 0) {
        free(r);
        return rc;
    }

    if (pthread_create(&r->thread, NULL, results_main, r) != 0) {
        bus_consumer_close(r->consumer);
        free(r);
        return IMGFLOW_ENOMEM;
    }

    *out = r;
    return 0;
}

void
gateway_results_stop(struct gateway_results *r, int drain_ms)
{
    if (r == NULL) {
        return;
    }

    atomic_store(&r->drain_until_ms, (long)(util_now() * 1000) + drain_ms);
    atomic_store(&r->stop, 1);
    pthread_join(r->thread, NULL);
    bus_consumer_close(r->consumer);
    free(r);
}
