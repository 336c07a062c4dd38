/*
 * The Redis status store, for gateways that share state: one string key
 * "imgflow:status:<request id>" per request holding the compact JSON
 * document, expiring after the TTL. Results are merged with the shared
 * forward-only rule under WATCH/MULTI/EXEC, so concurrent gateways never
 * move a status backwards. Calls share a small pool of hiredis contexts.
 * SPDX-License-Identifier: MIT
 */
#include "status/status.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/util.h"

#define RS_POOL_MAX       8    /* connections per store */
#define RS_TIMEOUT_MS     2000 /* connect, command and pool wait limit */
#define RS_APPLY_ATTEMPTS 16   /* WATCH rounds before apply gives up */
#define RS_KEY_PREFIX     "imgflow:status:"
#define RS_DEFAULT_PORT   6379

/* Why a call failed, for the caller's err or the outage log line. */
struct rs_fail {
    char detail[256]; /* hiredis or Redis text; never a credential */
    int stale;        /* a pooled connection the server had dropped */
};

struct rs_store {
    struct status_store base;
    char host[256];
    char addr[272];     /* "host:port" for messages, without credentials */
    int port;
    int db;
    char user[128];     /* ACL user name, empty for the default user */
    char password[256]; /* empty when the URL has none */
    long ttl_s;
    pthread_mutex_t lock; /* guards idle, n_idle and n_open */
    pthread_cond_t freed; /* a context came back or was closed */
    redisContext *idle[RS_POOL_MAX];
    int n_idle;
    int n_open;           /* contexts alive: idle plus in use */
    atomic_int down;      /* 1 from a failed call to the next success */
};

/* One call's work on a context; returns 0 or an IMGFLOW_E* code. */
typedef int (*rs_work_cb)(struct rs_store *rs, redisContext *c, void *arg,
                          struct rs_fail *f);

static void
rs_fail_set(struct rs_fail *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
rs_fail_set(struct rs_fail *f, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
    va_end(ap);
}

/* The value of a hex digit, or -1. */
static int
url_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode %XX escapes of a URL part into dst; 0, or -1 when too long. */
static int
url_unescape(char *dst, size_t len, const char *src, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = src[i];

        if (c == '%' && i + 2 < n && url_hex(src[i + 1]) >= 0 &&
            url_hex(src[i + 2]) >= 0) {
            c = (char)(url_hex(src[i + 1]) * 16 + url_hex(src[i + 2]));
            i += 2;
        }

        if (o + 1 >= len) {
            return -1;
        }
        dst[o++] = c;
    }

    dst[o] = '\0';
    return 0;
}

/* A decimal number in [min, max] spanning exactly s..end; else -1. */
static long
url_number(const char *s, const char *end, long min, long max)
{
    long v = 0;

    if (s == end || end - s > 10) {
        return -1;
    }

    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    return v >= min && v <= max ? v : -1;
}

/* Split the user information before the '@' into user and password. */
static int
url_parse_userinfo(struct rs_store *rs, const char *s, const char *at,
                   char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', (size_t)(at - s));

    if (colon == NULL) {
        snprintf(err, errlen, "malformed Redis URL: put the password after "
                 "a colon, as in redis://:password@host:6379/0");
        return IMGFLOW_EINVAL;
    }

    if (url_unescape(rs->user, sizeof(rs->user), s, (size_t)(colon - s)) ||
        url_unescape(rs->password, sizeof(rs->password), colon + 1,
                     (size_t)(at - colon - 1))) {
        snprintf(err, errlen, "malformed Redis URL: user or password too "
                 "long");
        return IMGFLOW_EINVAL;
    }
    return 0;
}

/* The optional ":port" and "/db" after the host, from p. */
static int
url_parse_tail(struct rs_store *rs, const char *p, char *err, size_t errlen)
{
    long port = RS_DEFAULT_PORT, db = 0;
    const char *end;

    if (*p == ':') {
        end = p + 1 + strcspn(p + 1, "/");
        port = url_number(p + 1, end, 1, 65535);
        p = end;
    }

    if (*p == '/' && p[1] != '\0') {
        db = url_number(p + 1, p + strlen(p), 0, 1000000);
        p += strlen(p);
    } else if (*p == '/') {
        p++;
    }

    if (port < 0 || db < 0 || *p != '\0') {
        snprintf(err, errlen, "malformed Redis URL: %s", port < 0
                 ? "bad port" : db < 0 ? "bad database number"
                 : "unexpected text after the database number");
        return IMGFLOW_EINVAL;
    }

    rs->port = (int)port;
    rs->db = (int)db;
    snprintf(rs->addr, sizeof(rs->addr), strchr(rs->host, ':') ? "[%s]:%d"
             : "%s:%d", rs->host, rs->port);
    return 0;
}

/*
 * Read redis://[[user]:password@]host[:port][/db] into rs. The host may
 * be an IPv6 address in brackets. A password must escape '@' and '/':
 * util_url_redact() and every URL parser split at them. The error never
 * quotes the URL, which may hold a password.
 */
static int
url_parse(struct rs_store *rs, const char *url, char *err, size_t errlen)
{
    const char *s = url + strlen("redis://"), *at = strchr(s, '@');
    const char *host, *end, *p;

    if (at != NULL && (strchr(at + 1, '@') != NULL ||
                       (size_t)(at - s) > strcspn(s, "/?#"))) {
        snprintf(err, errlen, "malformed Redis URL: escape '@', '/' and '%%' "
                 "in the password as %%40, %%2F and %%25");
        return IMGFLOW_EINVAL;
    }

    if (at != NULL && url_parse_userinfo(rs, s, at, err, errlen) != 0) {
        return IMGFLOW_EINVAL;
    }

    host = at != NULL ? at + 1 : s;
    if (*host == '[') {
        end = strchr(++host, ']');
        p = end != NULL ? end + 1 : NULL;
    } else {
        end = host + strcspn(host, ":/?#");
        p = end;
    }

    if (end == NULL || end == host ||
        (size_t)(end - host) >= sizeof(rs->host)) {
        snprintf(err, errlen, "malformed Redis URL: missing or bad host "
                 "(use redis://[:password@]host[:port][/db])");
        return IMGFLOW_EINVAL;
    }

    memcpy(rs->host, host, (size_t)(end - host));
    rs->host[end - host] = '\0';
    return url_parse_tail(rs, p, err, errlen);
}

/*
 * Check a reply: 0, or IMGFLOW_EUNAVAIL with f filled when the connection
 * failed (reply NULL) or Redis answered with an error.
 */
static int
rs_check(redisContext *c, redisReply *r, struct rs_fail *f)
{
    /* Read errno first: it tells a reset peer from a timeout. */
    int e = errno;

    if (r == NULL && c->err == REDIS_ERR_IO && e == EAGAIN) {
        /* hiredis reports the socket timeout as a failed read. */
        rs_fail_set(f, "no answer within %d ms", RS_TIMEOUT_MS);
        return IMGFLOW_EUNAVAIL;
    }

    if (r == NULL) {
        f->stale = c->err == REDIS_ERR_EOF ||
                   (c->err == REDIS_ERR_IO && (e == ECONNRESET ||
                                               e == EPIPE));
        rs_fail_set(f, "%s", c->errstr[0] ? c->errstr : "no reply");
        return IMGFLOW_EUNAVAIL;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        rs_fail_set(f, "%s", r->str);
        return IMGFLOW_EUNAVAIL;
    }
    return 0;
}

/* Send a command and wait for its reply, checked by rs_check. */
static int
rs_command(redisContext *c, struct rs_fail *f, redisReply **out,
           const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    *out = redisvCommand(c, fmt, ap);
    va_end(ap);
    return rs_check(c, *out, f);
}

/* Read the next pipelined reply, checked by rs_check. */
static int
rs_read(redisContext *c, struct rs_fail *f, redisReply **out)
{
    void *r = NULL;

    if (redisGetReply(c, &r) != REDIS_OK) {
        r = NULL;
    }

    *out = r;
    return rs_check(c, *out, f);
}

/* 1 when r is the status reply word (OK, QUEUED, PONG). */
static int
rs_is_status(const redisReply *r, const char *word)
{
    return r->type == REDIS_REPLY_STATUS && strcmp(r->str, word) == 0;
}

/* Log in as the URL's user, for a password the server requires. */
static int
conn_auth(struct rs_store *rs, redisContext *c, struct rs_fail *f)
{
    redisReply *r = NULL;
    int rc;

    if (rs->user[0] != '\0') {
        rc = rs_command(c, f, &r, "AUTH %s %s", rs->user, rs->password);
    } else {
        rc = rs_command(c, f, &r, "AUTH %s", rs->password);
    }

    /* Servers do not echo the password, but make sure of it. */
    if (rc != 0) {
        char why[sizeof(f->detail)];

        snprintf(why, sizeof(why), "%s", strstr(f->detail, rs->password)
                 ? "authentication failed" : f->detail);
        rs_fail_set(f, "Redis at %s refused the password: %.160s", rs->addr,
                    why);
    }

    freeReplyObject(r);
    return rc;
}

/* A new connection, logged in and on the URL's database. */
static int
conn_open(struct rs_store *rs, redisContext **out, struct rs_fail *f)
{
    struct timeval tv = {RS_TIMEOUT_MS / 1000, RS_TIMEOUT_MS % 1000 * 1000};
    redisReply *r = NULL;
    redisContext *c;
    int rc = 0;

    c = redisConnectWithTimeout(rs->host, rs->port, tv);
    if (c == NULL) {
        rs_fail_set(f, "cannot connect to Redis at %s: out of memory",
                    rs->addr);
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    if (c->err != 0 || redisSetTimeout(c, tv) != REDIS_OK) {
        rs_fail_set(f, "cannot connect to Redis at %s: %s", rs->addr,
                    c->err ? c->errstr : "cannot set the timeout");
        rc = IMGFLOW_EUNAVAIL;
        goto out;
    }

    if (rs->password[0] != '\0') {
        rc = conn_auth(rs, c, f);
    }

    if (rc == 0 && rs->db != 0) {
        rc = rs_command(c, f, &r, "SELECT %d", rs->db);
        if (rc != 0) {
            char why[sizeof(f->detail)];

            snprintf(why, sizeof(why), "%s", f->detail);
            rs_fail_set(f, "Redis at %s refused database %d: %.160s",
                        rs->addr, rs->db, why);
        }
    }

out:
    freeReplyObject(r);
    if (rc != 0 && c != NULL) {
        redisFree(c);
        c = NULL;
    }

    *out = c;
    return rc;
}

/*
 * Take a context: an idle one (reused set), or a new connection while
 * fewer than RS_POOL_MAX are open. With all of them busy, wait for one
 * at most RS_TIMEOUT_MS.
 */
static int
pool_take(struct rs_store *rs, redisContext **out, int *reused,
          struct rs_fail *f)
{
    struct timespec deadline;
    redisContext *c = NULL;
    int rc = 0, wait_rc = 0, connect = 0;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += RS_TIMEOUT_MS / 1000;
    deadline.tv_nsec += RS_TIMEOUT_MS % 1000 * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&rs->lock);
    while (rs->n_idle == 0 && rs->n_open >= RS_POOL_MAX && wait_rc == 0) {
        wait_rc = pthread_cond_timedwait(&rs->freed, &rs->lock, &deadline);
    }

    if (rs->n_idle > 0) {
        c = rs->idle[--rs->n_idle];
    } else if (rs->n_open < RS_POOL_MAX) {
        rs->n_open++;
        connect = 1;
    }
    pthread_mutex_unlock(&rs->lock);

    /* Connect outside the lock: it can take the whole timeout. */
    if (connect) {
        rc = conn_open(rs, &c, f);
    } else if (c == NULL) {
        rs_fail_set(f, "all %d connections to Redis at %s stayed busy",
                    RS_POOL_MAX, rs->addr);
        rc = IMGFLOW_EUNAVAIL;
    }

    if (rc != 0 && connect) {
        pthread_mutex_lock(&rs->lock);
        rs->n_open--;
        pthread_cond_signal(&rs->freed);
        pthread_mutex_unlock(&rs->lock);
    }

    *reused = !connect;
    *out = c;
    return rc;
}

/* Return a context; keep 0 (or a context in error) closes it instead. */
static void
pool_give(struct rs_store *rs, redisContext *c, int keep)
{
    keep = keep && c->err == 0;
    if (!keep) {
        redisFree(c);
    }

    pthread_mutex_lock(&rs->lock);
    if (keep) {
        rs->idle[rs->n_idle++] = c;
    } else {
        rs->n_open--;
    }
    pthread_cond_signal(&rs->freed);
    pthread_mutex_unlock(&rs->lock);
}

/* Close every idle context, after one turned out to be dropped. */
static void
pool_flush(struct rs_store *rs)
{
    redisContext *old[RS_POOL_MAX];
    int n;

    pthread_mutex_lock(&rs->lock);
    n = rs->n_idle;
    memcpy(old, rs->idle, sizeof(old[0]) * (size_t)n);
    rs->n_idle = 0;
    rs->n_open -= n;
    pthread_cond_broadcast(&rs->freed);
    pthread_mutex_unlock(&rs->lock);

    for (int i = 0; i < n; i++) {
        redisFree(old[i]);
    }
}

/* Record a failed call; the first of an outage is logged. */
static void
outage_begin(struct rs_store *rs, const char *op, const char *id,
             const struct rs_fail *f)
{
    if (atomic_exchange(&rs->down, 1) == 0) {
        log_warn("status", "Redis unavailable, calls fail until it answers "
                 "again address=%s op=%s request_id=%s error=\"%s\"",
                 rs->addr, op, id ? id : "-", f->detail);
    }
}

/* Record a successful call; the first after an outage is logged. */
static void
outage_end(struct rs_store *rs)
{
    if (atomic_load(&rs->down) && atomic_exchange(&rs->down, 0) == 1) {
        log_info("status", "Redis available again address=%s", rs->addr);
    }
}

/*
 * Run work on a pooled context. A context goes back to the pool only
 * after a clean success or a missing key; any other outcome may leave it
 * mid-transaction, so it is closed. When a pooled context proves to have
 * been dropped by the server (a Redis restart drops them all), the idle
 * ones are closed too and the work runs once more on a new connection,
 * so a restart between calls costs no failed call. Work must be safe to
 * repeat: every use here is idempotent.
 */
static int
rs_run(struct rs_store *rs, const char *op, const char *id, rs_work_cb work,
       void *arg)
{
    struct rs_fail f = {"", 0};
    redisContext *c = NULL;
    int rc, reused = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        f.stale = 0;
        rc = pool_take(rs, &c, &reused, &f);
        if (rc != 0) {
            break;
        }

        rc = work(rs, c, arg, &f);
        pool_give(rs, c, rc == 0 || rc == IMGFLOW_ENOTFOUND);
        if (rc != IMGFLOW_EUNAVAIL || !(reused && f.stale)) {
            break;
        }
        pool_flush(rs);
    }

    if (rc == IMGFLOW_EUNAVAIL) {
        outage_begin(rs, op, id, &f);
    } else if (rc == 0 || rc == IMGFLOW_ENOTFOUND) {
        outage_end(rs);
    }
    return rc;
}

/* The Redis key of a request; 0 or IMGFLOW_EINVAL for an absurd id. */
static int
rs_key(char *buf, size_t len, const char *id)
{
    int n = snprintf(buf, len, RS_KEY_PREFIX "%s", id);

    return n > 0 && (size_t)n < len ? 0 : IMGFLOW_EINVAL;
}

struct rs_set_arg {
    const char *key;
    const char *text; /* the compact JSON document */
};

static int
work_set(struct rs_store *rs, redisContext *c, void *arg, struct rs_fail *f)
{
    struct rs_set_arg *a = arg;
    redisReply *r = NULL;
    int rc;

    rc = rs_command(c, f, &r, "SET %s %s EX %ld", a->key, a->text,
                    rs->ttl_s);
    if (rc == 0 && !rs_is_status(r, "OK")) {
        rs_fail_set(f, "unexpected reply to SET");
        rc = IMGFLOW_EUNAVAIL;
    }

    freeReplyObject(r);
    return rc;
}

static int
rs_create(struct status_store *s, const char *id, json_t *doc)
{
    struct rs_store *rs = (struct rs_store *)s;
    char key[128], *text = NULL;
    struct rs_set_arg a;
    int rc;

    rc = rs_key(key, sizeof(key), id);
    if (rc != 0) {
        goto out;
    }

    text = msg_dump(doc);
    if (text == NULL) {
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    a = (struct rs_set_arg){key, text};
    rc = rs_run(rs, "create", id, work_set, &a);

out:
    free(text);
    return rc;
}

/*
 * Parse a stored document; IMGFLOW_EINTERNAL when something other than
 * this store wrote the key.
 */
static int
rs_parse(const redisReply *r, const char *key, json_t **doc)
{
    json_error_t jerr;

    *doc = json_loadb(r->str, r->len, 0, &jerr);
    if (*doc == NULL || !json_is_object(*doc)) {
        log_warn("status", "stored status is not a JSON object key=%s "
                 "error=\"%s\"", key, *doc ? "not an object" : jerr.text);
        json_decref(*doc);
        *doc = NULL;
        return IMGFLOW_EINTERNAL;
    }
    return 0;
}

struct rs_get_arg {
    const char *key;
    json_t *doc; /* out: a new reference */
};

static int
work_get(struct rs_store *rs, redisContext *c, void *arg, struct rs_fail *f)
{
    struct rs_get_arg *a = arg;
    redisReply *r = NULL;
    int rc;

    (void)rs;
    rc = rs_command(c, f, &r, "GET %s", a->key);
    if (rc != 0) {
        goto out;
    }

    if (r->type == REDIS_REPLY_NIL) {
        rc = IMGFLOW_ENOTFOUND;
    } else if (r->type == REDIS_REPLY_STRING) {
        rc = rs_parse(r, a->key, &a->doc);
    } else {
        rs_fail_set(f, "unexpected reply to GET");
        rc = IMGFLOW_EUNAVAIL;
    }

out:
    freeReplyObject(r);
    return rc;
}

static int
rs_get(struct status_store *s, const char *id, json_t **doc)
{
    struct rs_store *rs = (struct rs_store *)s;
    struct rs_get_arg a = {NULL, NULL};
    char key[128];
    int rc;

    *doc = NULL;
    rc = rs_key(key, sizeof(key), id);
    if (rc == IMGFLOW_EINVAL) {
        return IMGFLOW_ENOTFOUND;
    }

    a.key = key;
    rc = rs_run(rs, "get", id, work_get, &a);
    if (rc == 0) {
        *doc = a.doc;
    }
    return rc;
}

struct rs_apply_arg {
    const char *key;
    const json_t *result;
};

/*
 * The merged document for a watched key's current value r: 0 with *doc
 * set and *changed 1 when it needs writing.
 */
static int
apply_merge(const struct rs_apply_arg *a, const redisReply *r, json_t **doc,
            int *changed, struct rs_fail *f)
{
    int rc = 0;

    *doc = NULL;
    *changed = 0;
    if (r->type == REDIS_REPLY_NIL) {
        /* A result for a request no gateway recorded is still kept. */
        *doc = status_doc_from_result(a->result);
        *changed = 1;
        rc = *doc != NULL ? 0 : IMGFLOW_ENOMEM;
    } else if (r->type == REDIS_REPLY_STRING) {
        rc = rs_parse(r, a->key, doc);
        *changed = rc == 0 && status_doc_merge(*doc, a->result);
    } else {
        rs_fail_set(f, "unexpected reply to GET");
        rc = IMGFLOW_EUNAVAIL;
    }
    return rc;
}

/*
 * Write doc unless the watched key changed since it was read: MULTI, SET
 * and EXEC go in one round trip. *aborted is 1 when EXEC was refused.
 */
static int
apply_write(struct rs_store *rs, redisContext *c, const char *key,
            const json_t *doc, int *aborted, struct rs_fail *f)
{
    redisReply *multi = NULL, *set = NULL, *exec = NULL;
    char *text = msg_dump(doc);
    int rc = IMGFLOW_ENOMEM;

    *aborted = 0;
    if (text == NULL) {
        goto out;
    }

    /* A failed append leaves replies unmatched; the context is closed. */
    if (redisAppendCommand(c, "MULTI") != REDIS_OK ||
        redisAppendCommand(c, "SET %s %s EX %ld", key, text,
                           rs->ttl_s) != REDIS_OK ||
        redisAppendCommand(c, "EXEC") != REDIS_OK) {
        goto out;
    }

    rc = rs_read(c, f, &multi);
    if (rc == 0) {
        rc = rs_read(c, f, &set);
    }

    if (rc == 0) {
        rc = rs_read(c, f, &exec);
    }

    if (rc == 0 && (!rs_is_status(multi, "OK") ||
                    !rs_is_status(set, "QUEUED"))) {
        rs_fail_set(f, "unexpected reply to MULTI or SET");
        rc = IMGFLOW_EUNAVAIL;
    } else if (rc == 0 && exec->type == REDIS_REPLY_NIL) {
        *aborted = 1;
    } else if (rc == 0 && (exec->type != REDIS_REPLY_ARRAY ||
                           exec->elements != 1 ||
                           !rs_is_status(exec->element[0], "OK"))) {
        rs_fail_set(f, "unexpected reply to EXEC");
        rc = IMGFLOW_EUNAVAIL;
    }

out:
    freeReplyObject(exec);
    freeReplyObject(set);
    freeReplyObject(multi);
    free(text);
    return rc;
}

/*
 * One optimistic round: WATCH and GET in one round trip, merge in C,
 * then write in a transaction, or UNWATCH when nothing changed.
 */
static int
apply_round(struct rs_store *rs, redisContext *c,
            const struct rs_apply_arg *a, int *aborted, struct rs_fail *f)
{
    redisReply *watch = NULL, *get = NULL, *unwatch = NULL;
    json_t *doc = NULL;
    int rc, changed = 0;

    *aborted = 0;
    if (redisAppendCommand(c, "WATCH %s", a->key) != REDIS_OK ||
        redisAppendCommand(c, "GET %s", a->key) != REDIS_OK) {
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    rc = rs_read(c, f, &watch);
    if (rc == 0) {
        rc = rs_read(c, f, &get);
    }

    if (rc == 0) {
        rc = apply_merge(a, get, &doc, &changed, f);
    }

    if (rc == 0 && changed) {
        rc = apply_write(rs, c, a->key, doc, aborted, f);
    } else if (rc == 0) {
        /* Stale or duplicate: release the watch so the context is clean. */
        rc = rs_command(c, f, &unwatch, "UNWATCH");
    }

out:
    freeReplyObject(unwatch);
    freeReplyObject(get);
    freeReplyObject(watch);
    json_decref(doc);
    return rc;
}

static int
work_apply(struct rs_store *rs, redisContext *c, void *arg,
           struct rs_fail *f)
{
    int rc = 0, aborted = 1;

    /*
     * Each aborted round means another writer moved the record forward,
     * and a record moves at most three times, so a few rounds suffice.
     */
    for (int i = 0; i < RS_APPLY_ATTEMPTS && aborted && rc == 0; i++) {
        rc = apply_round(rs, c, arg, &aborted, f);
    }
    return rc == 0 && aborted ? IMGFLOW_EAGAIN : rc;
}

static int
rs_apply(struct status_store *s, const char *id, const json_t *result)
{
    struct rs_store *rs = (struct rs_store *)s;
    struct rs_apply_arg a = {NULL, result};
    char key[128];
    int rc;

    rc = rs_key(key, sizeof(key), id);
    if (rc != 0) {
        return rc;
    }

    a.key = key;
    return rs_run(rs, "apply", id, work_apply, &a);
}

static int
work_ping(struct rs_store *rs, redisContext *c, void *arg, struct rs_fail *f)
{
    redisReply *r = NULL;
    int rc;

    (void)rs;
    (void)arg;
    rc = rs_command(c, f, &r, "PING");
    if (rc == 0 && !rs_is_status(r, "PONG")) {
        rs_fail_set(f, "unexpected reply to PING");
        rc = IMGFLOW_EUNAVAIL;
    }

    freeReplyObject(r);
    return rc;
}

static int
rs_ping(struct status_store *s)
{
    return rs_run((struct rs_store *)s, "ping", NULL, work_ping, NULL);
}

static void
rs_close(struct status_store *s)
{
    struct rs_store *rs = (struct rs_store *)s;

    for (int i = 0; i < rs->n_idle; i++) {
        redisFree(rs->idle[i]);
    }

    pthread_cond_destroy(&rs->freed);
    pthread_mutex_destroy(&rs->lock);
    explicit_bzero(rs->password, sizeof(rs->password));
    free(rs);
}

static const struct status_ops rs_ops = {
    .name = "redis",
    .create = rs_create,
    .get = rs_get,
    .apply = rs_apply,
    .ping = rs_ping,
    .close = rs_close,
};

/* The pool's lock and condition; the condition waits on CLOCK_MONOTONIC. */
static int
rs_init_sync(struct rs_store *rs)
{
    pthread_condattr_t attr;
    int rc = IMGFLOW_EINTERNAL;

    if (pthread_condattr_init(&attr) != 0) {
        return rc;
    }

    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
        pthread_cond_init(&rs->freed, &attr) == 0) {
        if (pthread_mutex_init(&rs->lock, NULL) == 0) {
            rc = 0;
        } else {
            pthread_cond_destroy(&rs->freed);
        }
    }

    pthread_condattr_destroy(&attr);
    return rc;
}

/* Connect and ping once, so that open reports a Redis that is down. */
static int
rs_open_check(struct rs_store *rs, char *err, size_t errlen)
{
    struct rs_fail f = {"", 0};
    redisContext *c = NULL;
    int rc, reused;

    rc = pool_take(rs, &c, &reused, &f);
    if (rc != 0) {
        snprintf(err, errlen, "%s", f.detail);
        return rc;
    }

    rc = work_ping(rs, c, NULL, &f);
    pool_give(rs, c, rc == 0);
    if (rc != 0) {
        snprintf(err, errlen, "Redis at %s did not answer PING: %s",
                 rs->addr, f.detail);
    }
    return rc;
}

int
status_redis_open(const char *url, long ttl_s, struct status_store **out,
                  char *err, size_t errlen)
{
    struct rs_store *rs = calloc(1, sizeof(*rs));
    int rc, synced = 0;

    *out = NULL;
    if (rs == NULL) {
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    rs->base.ops = &rs_ops;
    rs->ttl_s = ttl_s > 0 ? ttl_s : 7 * 24 * 3600;
    rc = url_parse(rs, url, err, errlen);
    if (rc != 0) {
        goto out;
    }

    rc = rs_init_sync(rs);
    if (rc != 0) {
        snprintf(err, errlen, "cannot initialise the Redis connection pool");
        goto out;
    }

    synced = 1;
    rc = rs_open_check(rs, err, errlen);
    if (rc != 0) {
        goto out;
    }

    log_info("status", "Redis status store ready address=%s db=%d ttl_s=%ld",
             rs->addr, rs->db, rs->ttl_s);
    *out = &rs->base;

out:
    if (rc != 0 && synced) {
        rs_close(&rs->base);
    } else if (rc != 0 && rs != NULL) {
        explicit_bzero(rs->password, sizeof(rs->password));
        free(rs);
    }
    return rc;
}
