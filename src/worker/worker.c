/*
 * The worker thread: one bus consumer over its algorithms' queues and the
 * rules that keep every request terminal. A request that can never
 * succeed (unreadable message, unknown algorithm, bad parameters, missing
 * or undecodable input) fails once with a reason and, when its message is
 * malformed, is moved to processing_dead_letter. A request that hit a
 * passing fault (store or bus down) is put back and retried, at most
 * max_attempts deliveries in all.
 * SPDX-License-Identifier: MIT
 */
#include "worker/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/util.h"

struct worker {
    struct worker_config cfg;
    char name[64];
    struct bus_consumer *consumer;
    pthread_t thread;
    atomic_int stop;
    atomic_int busy;
};

/* What handling one delivery decided. */
enum outcome {
    OUTCOME_ACK,     /* done: completed or failed for good */
    OUTCOME_RETRY    /* a passing fault: deliver again */
};

/* Publish a result document; 0 or the bus's error. */
static int
publish_result(struct worker *w, const struct msg_result *r)
{
    json_t *doc = msg_result_build(r);
    char *body = doc ? msg_dump(doc) : NULL;
    int rc = body ? bus_publish(w->cfg.bus, MSG_RESULTS_QUEUE, body,
                                strlen(body))
                  : IMGFLOW_ENOMEM;

    free(body);
    json_decref(doc);
    return rc;
}

/* Where the completed result message of a request is kept. */
static void
record_key(char *buf, size_t len, const char *request_id)
{
    snprintf(buf, len, "results/%s.result.json", request_id);
}

/*
 * Keep the completed result message in the object store, then publish
 * it. A redelivery of a request whose result was kept (its broker ack was
 * lost) then sends the same result again instead of redoing the job.
 */
static int
complete(struct worker *w, const struct msg_result *r)
{
    json_t *doc = msg_result_build(r);
    char *body = doc ? msg_dump(doc) : NULL;
    char key[96];
    int rc = body ? 0 : IMGFLOW_ENOMEM;

    record_key(key, sizeof(key), r->request_id);
    for (long wait_ms = 500; rc == 0; wait_ms *= 2) {
        int put = store_put(w->cfg.store, key, body, strlen(body));

        if (put == 0 || wait_ms > 16000 || atomic_load(&w->stop)) {
            rc = put;
            break;
        }
        util_sleep_ms(wait_ms); /* a short store outage: keep the work */
    }

    if (rc == 0) {
        rc = bus_publish(w->cfg.bus, MSG_RESULTS_QUEUE, body, strlen(body));
    }

    free(body);
    json_decref(doc);
    return rc;
}

/*
 * The attempt a redelivery is. RabbitMQ's classic queues only flag a
 * redelivery, so a job that kills its worker every time would come back
 * forever: the count is kept beside the request in the object store,
 * written only on redeliveries.
 */
static int
count_attempt(struct worker *w, const char *request_id, int deliveries)
{
    char key[96], text[16];
    uint8_t *body = NULL;
    size_t len = 0;
    int attempt = deliveries;

    snprintf(key, sizeof(key), "results/%s.attempts", request_id);
    if (store_get(w->cfg.store, key, &body, &len) == 0 && len < 12) {
        int kept;

        memcpy(text, body, len);
        text[len] = '\0';
        kept = atoi(text);
        attempt = kept + 1 > attempt ? kept + 1 : attempt;
    }

    free(body);
    snprintf(text, sizeof(text), "%d", attempt);
    if (store_put(w->cfg.store, key, text, strlen(text)) != 0) {
        log_warn("worker", "cannot keep the attempt count request_id=%s",
                 request_id);
    }
    return attempt;
}

/* 1 when the request was completed before and its result was sent again. */
static int
resend_kept_result(struct worker *w, const struct msg_request *req,
                   enum outcome *oc)
{
    uint8_t *body = NULL;
    size_t len = 0;
    char key[96];

    record_key(key, sizeof(key), req->request_id);
    if (store_get(w->cfg.store, key, &body, &len) != 0) {
        return 0;
    }

    log_info("worker", "already completed, result sent again request_id=%s",
             req->request_id);
    *oc = bus_publish(w->cfg.bus, MSG_RESULTS_QUEUE, body, len) == 0
              ? OUTCOME_ACK
              : OUTCOME_RETRY;
    free(body);
    return 1;
}

static enum outcome
fail_request(struct worker *w, const struct msg_request *req,
             const char *code, const char *reason, int attempt)
{
    struct msg_result r = {
        .request_id = req->request_id,
        .algorithm = req->algorithm,
        .status = "failed",
        .error_code = code,
        .error = reason,
        .worker = w->name,
        .attempt = attempt,
    };

    log_warn("worker", "request failed request_id=%s algorithm=%s code=%s "
             "reason=\"%s\"", req->request_id, req->algorithm, code, reason);
    return publish_result(w, &r) == 0 ? OUTCOME_ACK : OUTCOME_RETRY;
}

/* A message that can never be processed: keep it for operators. */
static enum outcome
dead_letter(struct worker *w, const struct bus_msg *m, const char *why)
{
    log_error("worker", "message moved to %s queue=%s reason=\"%s\"",
              MSG_DEAD_LETTER_QUEUE, m->queue, why);
    return bus_publish(w->cfg.bus, MSG_DEAD_LETTER_QUEUE, m->body, m->len) ==
                   0
               ? OUTCOME_ACK
               : OUTCOME_RETRY;
}

static const struct algo *
served_algo(const struct worker *w, const char *name, const char *queue)
{
    for (size_t i = 0; i < w->cfg.n_algos; i++) {
        const struct algo *a = w->cfg.algos[i];

        if (strcmp(a->name, name) == 0 && strcmp(a->queue, queue) == 0) {
            return a;
        }
    }
    return NULL;
}

/*
 * Retry a store call that hit a passing fault (store down, not a missing
 * key) for up to about 30 s, so that a short outage costs neither the
 * work already done nor one of the request's attempts.
 */
static int
store_retrying(struct worker *w, const char *what, const char *request_id,
               int (*call)(struct worker *w, void *arg), void *arg)
{
    long wait_ms = 500;
    int rc;

    while ((rc = call(w, arg)) != 0 && rc != IMGFLOW_ENOTFOUND &&
           rc != IMGFLOW_EINVAL && wait_ms <= 16000 &&
           !atomic_load(&w->stop)) {
        log_warn("worker", "cannot %s, retrying in %ld ms request_id=%s "
                 "error=\"%s\"", what, wait_ms, request_id,
                 imgflow_strerror(rc));
        util_sleep_ms(wait_ms);
        wait_ms *= 2;
    }
    return rc;
}

struct store_call {
    const char *key;
    const uint8_t *buf;
    size_t len;
    uint8_t **out;
    size_t *outlen;
};

static int
call_get(struct worker *w, void *arg)
{
    struct store_call *c = arg;

    return store_get(w->cfg.store, c->key, c->out, c->outlen);
}

static int
call_put(struct worker *w, void *arg)
{
    struct store_call *c = arg;

    return store_put(w->cfg.store, c->key, c->buf, c->len);
}

/* Fetch, run, store, publish; the request is known good by now. */
static enum outcome
run_job(struct worker *w, const struct msg_request *req,
        const struct algo *a, const struct algo_args *args, int attempt)
{
    enum image_format fmt = image_format_parse(req->output_format);
    struct worker_job job = {0};
    struct msg_result r = {0};
    char err[256], key[96];
    double t0 = util_now(), t1;
    double queued = util_timestamp_age(req->timestamp);
    uint8_t *input = NULL;
    size_t len = 0;
    enum outcome oc;
    int rc;

    struct store_call get = {req->image_key, NULL, 0, &input, &len};

    rc = store_retrying(w, "read input", req->request_id, call_get, &get);
    if (rc == IMGFLOW_ENOTFOUND || rc == IMGFLOW_EINVAL) {
        return fail_request(w, req, "input_missing", "the input image is "
                            "not in the object store", attempt);
    }

    if (rc != 0) {
        log_warn("worker", "cannot read input, will retry request_id=%s "
                 "error=\"%s\"", req->request_id, imgflow_strerror(rc));
        return OUTCOME_RETRY;
    }

    r.fetch_time = util_now() - t0;
    rc = worker_job_run(input, len, a, args, &w->cfg.limits, fmt,
                        &w->cfg.encode, &job, err, sizeof(err));
    free(input);
    if (rc != 0) {
        oc = fail_request(w, req, job.error_code, err, attempt);
        goto out;
    }

    snprintf(key, sizeof(key), "results/%s.%s", req->request_id,
             image_format_ext(fmt));
    t1 = util_now();
    struct store_call put = {key, job.encoded, job.encoded_len, NULL, NULL};

    rc = store_retrying(w, "store result", req->request_id, call_put, &put);
    if (rc != 0) {
        log_warn("worker", "cannot store result, will retry request_id=%s "
                 "error=\"%s\"", req->request_id, imgflow_strerror(rc));
        oc = OUTCOME_RETRY;
        goto out;
    }

    r.request_id = req->request_id;
    r.algorithm = a->name;
    r.status = "completed";
    r.output_key = key;
    r.worker = w->name;
    r.timing = &job.timing;
    r.threads_used = args->threads;
    r.runs = args->runs;
    r.store_time = util_now() - t1;
    r.processing_time = util_now() - t0;
    r.queue_time = queued;
    r.decode_time = job.decode_s;
    r.encode_time = job.encode_s;
    r.memory_used = job.memory_bytes;
    r.output_bytes = job.encoded_len;
    r.width = job.width;
    r.height = job.height;
    r.channels = job.channels;
    r.format = image_format_name(fmt);
    r.attempt = attempt;
    oc = complete(w, &r) == 0 ? OUTCOME_ACK : OUTCOME_RETRY;
    log_info("worker", "completed request_id=%s algorithm=%s %ux%u "
             "threads=%d runs=%d kernel_ms=%.3f processing_ms=%.1f "
             "queued_ms=%.1f", req->request_id, a->name, job.width,
             job.height, args->threads, args->runs,
             job.timing.mean_s * 1e3, r.processing_time * 1e3,
             queued * 1e3);

out:
    worker_job_clear(&job);
    return oc;
}

static enum outcome
handle(struct worker *w, const struct bus_msg *m)
{
    struct msg_request req;
    struct algo_args args;
    const struct algo *a;
    char err[256], reason[320];
    enum outcome oc;
    int attempt;

    if (msg_request_parse(m->body, m->len, &req, err, sizeof(err)) != 0) {
        oc = dead_letter(w, m, err);
        if (oc == OUTCOME_ACK && req.request_id[0] != '\0') {
            util_strlcpy(req.algorithm, "unknown", sizeof(req.algorithm));
            oc = fail_request(w, &req, "bad_message", err, m->deliveries);
        }
        return oc;
    }

    if (m->deliveries > 1 && resend_kept_result(w, &req, &oc)) {
        goto out;
    }

    attempt = m->deliveries > 1
                  ? count_attempt(w, req.request_id, m->deliveries)
                  : 1;
    if (attempt > w->cfg.max_attempts) {
        snprintf(reason, sizeof(reason), "gave up after %d attempts",
                 w->cfg.max_attempts);
        oc = dead_letter(w, m, reason);
        oc = oc == OUTCOME_ACK ? fail_request(w, &req, "too_many_attempts",
                                              reason, attempt)
                               : oc;
        goto out;
    }

    a = served_algo(w, req.algorithm, m->queue);
    if (a == NULL) {
        snprintf(reason, sizeof(reason), "algorithm '%s' is not served on "
                 "queue %s", req.algorithm, m->queue);
        oc = dead_letter(w, m, reason);
        oc = oc == OUTCOME_ACK ? fail_request(w, &req, "unknown_algorithm",
                                              reason, attempt)
                               : oc;
        goto out;
    }

    if (msg_request_args(&req, a, &args, err, sizeof(err)) != 0) {
        oc = dead_letter(w, m, err);
        oc = oc == OUTCOME_ACK ? fail_request(w, &req, "bad_parameter", err,
                                              attempt)
                               : oc;
        goto out;
    }

    /* Tell the UI the job is running; a lost notice only hides that. */
    struct msg_result started = {
        .request_id = req.request_id,
        .algorithm = a->name,
        .status = "processing",
        .worker = w->name,
        .attempt = attempt,
    };
    publish_result(w, &started);
    oc = run_job(w, &req, a, &args, attempt);

out:
    msg_request_clear(&req);
    return oc;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    while (!atomic_load(&w->stop)) {
        struct bus_msg m;
        int rc = bus_next(w->consumer, 250, &m);

        if (rc == IMGFLOW_EAGAIN) {
            continue;
        }

        if (rc == IMGFLOW_ECLOSED) {
            break;
        }

        if (rc != 0) {
            /* The broker is away; the consumer reconnects on next use. */
            util_sleep_ms(500);
            continue;
        }

        atomic_store(&w->busy, 1);
        if (handle(w, &m) == OUTCOME_ACK) {
            bus_ack(w->consumer, &m);
        } else {
            /* Back off so a dependency that is down is not hammered. */
            util_sleep_ms(500);
            bus_nack(w->consumer, &m, 1);
        }
        atomic_store(&w->busy, 0);
    }
    return NULL;
}

int
worker_start(const struct worker_config *cfg, struct worker **out)
{
    const char *queues[WORKER_MAX_ALGOS];
    struct worker *w = calloc(1, sizeof(*w));
    int rc;

    if (w == NULL) {
        return IMGFLOW_ENOMEM;
    }

    w->cfg = *cfg;
    util_strlcpy(w->name, cfg->name ? cfg->name : "worker", sizeof(w->name));
    w->cfg.name = w->name;
    for (size_t i = 0; i < cfg->n_algos; i++) {
        queues[i] = cfg->algos[i]->queue;
    }

    rc = bus_consumer_open(cfg->bus, queues, cfg->n_algos,
                           cfg->prefetch > 0 ? cfg->prefetch : 1,
                           &w->consumer);
    if (rc != 0) {
        free(w);
        return rc;
    }

    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        bus_consumer_close(w->consumer);
        free(w);
        return IMGFLOW_ENOMEM;
    }

    *out = w;
    return 0;
}

void
worker_request_stop(struct worker *w)
{
    atomic_store(&w->stop, 1);
}

void
worker_join(struct worker *w)
{
    if (w == NULL) {
        return;
    }

    worker_request_stop(w);
    pthread_join(w->thread, NULL);
    bus_consumer_close(w->consumer);
    free(w);
}

int
worker_busy(const struct worker *w)
{
    return atomic_load(&w->busy);
}
