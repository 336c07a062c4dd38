/*
 * The status store interface, and the forward-only merge of result
 * messages into status documents that every backend shares.
 * SPDX-License-Identifier: MIT
 */
#include "status/status.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"

int
status_open(const char *url, long ttl_s, struct status_store **out,
            char *err, size_t errlen)
{
    if (strcmp(url, "memory") == 0 || strcmp(url, "memory://") == 0) {
        return status_memory_open(ttl_s, out);
    }

    if (strncmp(url, "redis://", 8) == 0) {
        return status_redis_open(url, ttl_s, out, err, errlen);
    }

    snprintf(err, errlen, "unknown status URL scheme (use memory or redis://)");
    return IMGFLOW_EINVAL;
}

int
status_create(struct status_store *s, const char *id, json_t *doc)
{
    return s->ops->create(s, id, doc);
}

int
status_get(struct status_store *s, const char *id, json_t **doc)
{
    return s->ops->get(s, id, doc);
}

int
status_apply(struct status_store *s, const json_t *result)
{
    const char *id =
        json_string_value(json_object_get(result, "request_id"));

    if (id == NULL) {
        return IMGFLOW_EINVAL;
    }
    return s->ops->apply(s, id, result);
}

int
status_ping(struct status_store *s)
{
    return s->ops->ping(s);
}

void
status_close(struct status_store *s)
{
    if (s != NULL) {
        s->ops->close(s);
    }
}

int
status_rank(const char *status)
{
    if (status == NULL) {
        return -1;
    }

    if (strcmp(status, "queued") == 0) {
        return 0;
    }

    if (strcmp(status, "processing") == 0) {
        return 1;
    }

    if (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0) {
        return 2;
    }
    return -1;
}

int
status_doc_merge(json_t *doc, const json_t *result)
{
    const char *old = json_string_value(json_object_get(doc, "status"));
    const char *new = json_string_value(json_object_get(result, "status"));
    const char *err, *code;
    char ts[32];

    /* Forward only: a late or redelivered message never undoes progress. */
    if (status_rank(new) <= status_rank(old)) {
        return 0;
    }

    util_timestamp(ts, sizeof(ts));
    json_object_set_new(doc, "status", json_string(new));
    json_object_set_new(doc, "updated_at", json_string(ts));
    json_object_set(doc, "worker", json_object_get(result, "worker"));

    if (strcmp(new, "processing") == 0) {
        json_object_set_new(doc, "started_at", json_string(ts));
    } else if (strcmp(new, "completed") == 0) {
        json_t *res = json_object_get(result, "result");

        json_object_set_new(doc, "result", json_deep_copy(res));
        json_object_set_new(doc, "error", json_null());
    } else {
        err = json_string_value(json_object_get(result, "error"));
        code = json_string_value(json_object_get(result, "error_code"));
        json_object_set_new(doc, "error",
                            json_pack("{s:s, s:s}", "code",
                                      code ? code : "failed", "message",
                                      err ? err : "processing failed"));
    }
    return 1;
}

json_t *
status_doc_from_result(const json_t *result)
{
    json_t *doc = json_pack(
        "{s:O, s:O, s:s, s:n, s:n}", "request_id",
        json_object_get(result, "request_id"), "algorithm",
        json_object_get(result, "algorithm"), "status", "unknown", "result",
        "error");

    if (doc != NULL) {
        status_doc_merge(doc, result);
    }
    return doc;
}
