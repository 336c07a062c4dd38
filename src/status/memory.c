/*
 * The in-memory status store, the embedded default: a JSON object keyed
 * by request id behind one lock. Records older than the TTL are swept
 * while new ones arrive, so a long-running process does not grow forever.
 * SPDX-License-Identifier: MIT
 */
#include "status/status.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/error.h"

struct mem_status {
    struct status_store base;
    pthread_mutex_t lock;
    json_t *docs;      /* request id -> document */
    json_t *born;      /* request id -> creation time, seconds (integer) */
    long ttl_s;
    time_t next_sweep;
};

/* Drop expired records; called with the lock held, at most once a minute. */
static void
sweep(struct mem_status *ms, time_t now)
{
    const char *id;
    json_t *t;
    void *iter_tmp;

    if (now < ms->next_sweep) {
        return;
    }

    ms->next_sweep = now + 60;
    json_object_foreach_safe(ms->born, iter_tmp, id, t)
    {
        if (now - (time_t)json_integer_value(t) > ms->ttl_s) {
            json_object_del(ms->docs, id);
            json_object_del(ms->born, id);
        }
    }
}

/*
 * Store copy (taken) as id's document. With result set, copy was made
 * from that result outside the lock: when another thread recorded id in
 * the meantime, result is merged into that record instead, because
 * overwriting it could move its status backwards.
 */
static int
store_doc(struct mem_status *ms, const char *id, json_t *copy,
          const json_t *result)
{
    time_t now = time(NULL);
    json_t *existing;
    int rc = 0;

    if (copy == NULL) {
        return IMGFLOW_ENOMEM;
    }

    pthread_mutex_lock(&ms->lock);
    sweep(ms, now);
    existing = result != NULL ? json_object_get(ms->docs, id) : NULL;
    if (existing != NULL) {
        status_doc_merge(existing, result);
        json_decref(copy);
    } else if (json_object_set_new(ms->docs, id, copy) != 0 ||
               json_object_set_new(ms->born, id, json_integer(now)) != 0) {
        rc = IMGFLOW_ENOMEM;
    }
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

static int
mem_create(struct status_store *s, const char *id, json_t *doc)
{
    return store_doc((struct mem_status *)s, id, json_deep_copy(doc),
                     NULL);
}

static int
mem_get(struct status_store *s, const char *id, json_t **doc)
{
    struct mem_status *ms = (struct mem_status *)s;
    json_t *d;

    pthread_mutex_lock(&ms->lock);
    d = json_object_get(ms->docs, id);
    *doc = d != NULL ? json_deep_copy(d) : NULL;
    pthread_mutex_unlock(&ms->lock);

    if (d == NULL) {
        return IMGFLOW_ENOTFOUND;
    }
    return *doc != NULL ? 0 : IMGFLOW_ENOMEM;
}

static int
mem_apply(struct status_store *s, const char *id, const json_t *result)
{
    struct mem_status *ms = (struct mem_status *)s;
    json_t *d;

    pthread_mutex_lock(&ms->lock);
    d = json_object_get(ms->docs, id);
    if (d != NULL) {
        status_doc_merge(d, result);
    }
    pthread_mutex_unlock(&ms->lock);

    if (d != NULL) {
        return 0;
    }

    /* A result for a request this process never saw is still recorded. */
    return store_doc(ms, id, status_doc_from_result(result), result);
}

static int
mem_ping(struct status_store *s)
{
    (void)s;
    return 0;
}

static void
mem_close(struct status_store *s)
{
    struct mem_status *ms = (struct mem_status *)s;

    json_decref(ms->docs);
    json_decref(ms->born);
    pthread_mutex_destroy(&ms->lock);
    free(ms);
}

static const struct status_ops mem_ops = {
    .name = "memory",
    .create = mem_create,
    .get = mem_get,
    .apply = mem_apply,
    .ping = mem_ping,
    .close = mem_close,
};

int
status_memory_open(long ttl_s, struct status_store **out)
{
    struct mem_status *ms = calloc(1, sizeof(*ms));

    if (ms == NULL) {
        return IMGFLOW_ENOMEM;
    }

    ms->base.ops = &mem_ops;
    ms->docs = json_object();
    ms->born = json_object();
    ms->ttl_s = ttl_s > 0 ? ttl_s : 7 * 24 * 3600;
    ms->next_sweep = time(NULL) + 60;
    pthread_mutex_init(&ms->lock, NULL);
    if (ms->docs == NULL || ms->born == NULL) {
        mem_close(&ms->base);
        return IMGFLOW_ENOMEM;
    }

    *out = &ms->base;
    return 0;
}
