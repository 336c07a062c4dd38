/*
 * The status store: one JSON document per request, written by the gateway
 * when it accepts an upload and updated from processing_results. Backends:
 * "memory" (the embedded default) and redis://. Updates never go
 * backwards: queued < processing < completed | failed, and a terminal
 * status is final.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_STATUS_STATUS_H
#define IMGFLOW_STATUS_STATUS_H

#include <jansson.h>

struct status_store;

struct status_ops {
    const char *name;
    int (*create)(struct status_store *s, const char *id, json_t *doc);
    int (*get)(struct status_store *s, const char *id, json_t **doc);
    int (*apply)(struct status_store *s, const char *id,
                 const json_t *result);
    int (*ping)(struct status_store *s);
    void (*close)(struct status_store *s);
};

struct status_store {
    const struct status_ops *ops;
};

/*
 * Open a store from a URL: "memory" or "redis://host:port/db". ttl_s is
 * how long records live (seconds). Returns 0, IMGFLOW_EINVAL or
 * IMGFLOW_EUNAVAIL with err saying why.
 */
int status_open(const char *url, long ttl_s, struct status_store **out,
                char *err, size_t errlen);

/* Store a new request's document (the store keeps its own copy). */
int status_create(struct status_store *s, const char *id, json_t *doc);

/*
 * The document of a request: a new reference the caller releases.
 * 0, IMGFLOW_ENOTFOUND or IMGFLOW_EUNAVAIL.
 */
int status_get(struct status_store *s, const char *id, json_t **doc);

/*
 * Apply a result message (already checked by msg_result_parse). Creates
 * the record when the request is unknown; ignores a result that would move
 * the status backwards. Idempotent. 0 or IMGFLOW_EUNAVAIL.
 */
int status_apply(struct status_store *s, const json_t *result);

int status_ping(struct status_store *s);
void status_close(struct status_store *s);

/*
 * Merge a result message into a status document in place, following the
 * forward-only rule. Returns 1 when doc changed, 0 when the result was
 * stale or a duplicate. Shared by every backend.
 */
int status_doc_merge(json_t *doc, const json_t *result);

/* A fresh document for a result whose request this store never saw. */
json_t *status_doc_from_result(const json_t *result);

/* Rank of a status word: queued 0, processing 1, terminal 2, unknown -1. */
int status_rank(const char *status);

int status_memory_open(long ttl_s, struct status_store **out);

/*
 * Open the Redis store at url, redis://[[user]:password@]host[:port][/db],
 * port 6379 and db 0 by default; a password escapes '@', '/' and '%' as
 * %40, %2F and %25. Connects and pings once, so a Redis that is down
 * fails here. Records expire after ttl_s seconds. Returns 0,
 * IMGFLOW_EINVAL for a malformed URL or IMGFLOW_EUNAVAIL, with err saying
 * why and never quoting the password. Any thread may then call the store.
 * The process must ignore SIGPIPE: hiredis writes to sockets the server
 * may have closed.
 */
int status_redis_open(const char *url, long ttl_s, struct status_store **out,
                      char *err, size_t errlen);

#endif
