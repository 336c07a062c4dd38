/*
 * The RabbitMQ bus (amqp://user:pass@host:port/vhost?heartbeat=S), for a
 * gateway and workers in separate processes or on separate machines. Built
 * on rabbitmq-c, whose connections are not thread-safe: every connection
 * here sits behind its own mutex.
 *
 * Publishing: a pool of BUS_AMQP_POOL connections, each in confirm mode on
 * channel 1; a publish waits (up to 5 s) for the broker's basic.ack of its
 * sequence number. Queues are durable, messages persistent, and sent to
 * the default exchange with the queue name as routing key. Channel 2 of a
 * pool connection serves queue.declare and the passive declare of stats.
 *
 * Consuming: each consumer has its own connection (channel 1, basic.qos
 * prefetch, one basic.consume per queue with the queue name as consumer
 * tag). rabbitmq-c answers heartbeats only inside its own calls, so a
 * keeper thread per consumer (and one for the publisher pool) takes the
 * connection's lock every quarter heartbeat and reads what is pending;
 * deliveries it meets are queued for bus_next. A worker busy for minutes
 * in a kernel therefore keeps its connection and its unacked message.
 *
 * Delivery counts: classic queues do not count deliveries, so a requeue
 * (bus_nack with requeue) publishes a confirmed copy carrying the header
 * x-imgflow-deliveries = n + 1 and then acks the original; the copy goes
 * to the tail of the queue, not its head. A message the broker redelivers
 * by itself (its consumer died) counts one more than its header (or 2
 * without one). If the copy cannot be published, the original is rejected
 * with requeue and counted from the redelivered flag.
 *
 * Limits: stats report unacked = -1 (AMQP has no in-flight count; it needs
 * the management plugin). x-consumer-timeout is sent as a queue argument
 * but RabbitMQ honours it only from 3.12; older brokers need
 * consumer_timeout in rabbitmq.conf above the longest job.
 * SPDX-License-Identifier: MIT
 */
#include "bus/bus.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"

#define BUS_AMQP_POOL          4       /* publisher connections */
#define BUS_AMQP_CHANNEL       1       /* publishing or consuming */
#define BUS_AMQP_SIDE          2       /* declare and stats */
#define BUS_AMQP_CONFIRM_MS    5000    /* wait for basic.ack */
#define BUS_AMQP_CONNECT_MS    2000    /* TCP connect */
#define BUS_AMQP_RPC_MS        5000    /* login and synchronous methods */
#define BUS_AMQP_BACKOFF_MIN   100     /* ms, first reconnect delay */
#define BUS_AMQP_BACKOFF_MAX   5000    /* ms, cap of the doubling */
#define BUS_AMQP_SLICE_MS      100     /* bus_next checks shutdown this often */
#define BUS_AMQP_HEARTBEAT     30      /* s, unless ?heartbeat= says */
#define BUS_AMQP_FRAME_MAX     131072  /* bytes, rabbitmq-c's default */
#define BUS_AMQP_JOB_LIMIT_MS  3600000 /* x-consumer-timeout */
#define BUS_AMQP_HDR_DELIVERIES "x-imgflow-deliveries"

#define COMP "bus"

/* Where to connect; parsed once from the URL. Owns its strings. */
struct amqp_params {
    char *host;
    char *user;
    char *pass;
    char *vhost;
    char *where;   /* "host:port/vhost" for logs and errors, no credentials */
    int port;
    int heartbeat; /* s; 0 disables */
};

/* One broker connection and its reconnect state; guarded by its owner. */
struct amqp_link {
    amqp_connection_state_t conn; /* NULL while down */
    const char *role;             /* "publisher" or "consumer", for logs */
    int side_open;                /* channel BUS_AMQP_SIDE is open */
    uint64_t seq;                 /* last publish sequence number */
    unsigned long generation;     /* bumped on every connect */
    double retry_at;              /* monotonic s; no attempt before */
    long backoff_ms;              /* next delay after a failed attempt */
    char error[160];              /* last failure, for err and logs */
};

struct amqp_pub {
    pthread_mutex_t lock;
    struct amqp_link link;
};

/* A stoppable thread that services idle connections for heartbeats. */
struct amqp_keeper {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    int started;
    long period_ms;
    void (*fn)(void *arg);
    void *arg;
};

struct amqp_bus {
    struct bus base;
    struct amqp_params p;
    struct amqp_pub pool[BUS_AMQP_POOL];
    atomic_uint rr;               /* where the next publisher search starts */
    atomic_int closed;            /* bus_shutdown was called */
    struct amqp_keeper keeper;
};

/* A delivery waiting for bus_next, then msg->priv until ack or nack. */
struct amqp_delivery {
    struct amqp_delivery *next;
    unsigned long generation;     /* of the link it arrived on */
    amqp_envelope_t env;
};

struct amqp_consumer {
    struct bus_consumer base;
    struct amqp_bus *ab;
    char **queues;
    size_t n;
    int prefetch;
    pthread_mutex_t lock;         /* guards link and the pending list */
    struct amqp_link link;
    struct amqp_delivery *head;   /* read from the socket, not yet handed out */
    struct amqp_delivery *tail;
    struct amqp_delivery *flight; /* handed out, not yet settled */
    struct amqp_keeper keeper;
};

static int side_ensure(struct amqp_link *l, const struct amqp_params *p,
                       const char *queue);

static double
deadline_after(long ms)
{
    return util_now() + (double)ms / 1000.0;
}

static struct timeval
timeval_ms(long ms)
{
    struct timeval tv;

    if (ms < 0) {
        ms = 0;
    }

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

static long
ms_until(double deadline)
{
    double left = (deadline - util_now()) * 1000.0;

    return left > 0 ? (long)left : 0;
}

/* Describe a failed rabbitmq-c call in l->error (never with credentials). */
static void
link_describe(struct amqp_link *l, const char *what, amqp_rpc_reply_t r)
{
    const amqp_connection_close_t *cc;
    const amqp_channel_close_t *ch;

    switch (r.reply_type) {
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(l->error, sizeof(l->error), "%s: %s", what,
                 amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            cc = r.reply.decoded;
            snprintf(l->error, sizeof(l->error), "%s: broker closed: %u %.*s",
                     what, cc->reply_code, (int)cc->reply_text.len,
                     (const char *)cc->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            ch = r.reply.decoded;
            snprintf(l->error, sizeof(l->error), "%s: channel closed: %u %.*s",
                     what, ch->reply_code, (int)ch->reply_text.len,
                     (const char *)ch->reply_text.bytes);
        } else {
            snprintf(l->error, sizeof(l->error), "%s: unexpected method %#x",
                     what, r.reply.id);
        }
        break;
    default:
        snprintf(l->error, sizeof(l->error), "%s: no reply", what);
        break;
    }
}

/* Forget a connection that failed; the next use reconnects at once. */
static void
link_drop(struct amqp_link *l, const struct amqp_params *p)
{
    if (l->conn == NULL) {
        return;
    }

    log_warn(COMP, "connection lost role=%s broker=%s error=\"%s\"", l->role,
             p->where, l->error);
    amqp_destroy_connection(l->conn);
    l->conn = NULL;
    l->side_open = 0;
}

/* Close a working connection politely, or just free a broken one. */
static void
link_close(struct amqp_link *l)
{
    if (l->conn == NULL) {
        return;
    }

    amqp_channel_close(l->conn, BUS_AMQP_CHANNEL, AMQP_REPLY_SUCCESS);
    amqp_connection_close(l->conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(l->conn);
    l->conn = NULL;
    l->side_open = 0;
}

/*
 * Handle a method nobody waits for. Returns 0, or IMGFLOW_EUNAVAIL when
 * the connection (or its main channel) is gone and must be dropped.
 */
static int
link_on_method(struct amqp_link *l, const amqp_frame_t *f)
{
    amqp_channel_close_ok_t chok = {0};
    amqp_connection_close_ok_t ccok = {0};
    amqp_rpc_reply_t r = {0};

    r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
    r.reply = f->payload.method;

    switch (f->payload.method.id) {
    case AMQP_CONNECTION_CLOSE_METHOD:
        link_describe(l, "read", r);
        amqp_send_method(l->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ccok);
        return IMGFLOW_EUNAVAIL;
    case AMQP_CHANNEL_CLOSE_METHOD:
        link_describe(l, "read", r);
        amqp_send_method(l->conn, f->channel, AMQP_CHANNEL_CLOSE_OK_METHOD,
                         &chok);
        if (f->channel == BUS_AMQP_SIDE) {
            l->side_open = 0;
            return 0;
        }
        return IMGFLOW_EUNAVAIL;
    case AMQP_BASIC_CANCEL_METHOD:
        /* The broker cancelled a consume (queue deleted): start over. */
        snprintf(l->error, sizeof(l->error), "consumer cancelled by broker");
        return IMGFLOW_EUNAVAIL;
    default:
        return 0;
    }
}

/* Check an RPC's reply; on failure describe it and return EUNAVAIL. */
static int
link_check(struct amqp_link *l, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(l->conn);

    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        return 0;
    }

    link_describe(l, what, r);
    return IMGFLOW_EUNAVAIL;
}

/* TCP connect and AMQP login; the caller sets up channels. */
static int
link_open(struct amqp_link *l, const struct amqp_params *p)
{
    struct timeval connect_tv = timeval_ms(BUS_AMQP_CONNECT_MS);
    struct timeval rpc_tv = timeval_ms(BUS_AMQP_RPC_MS);
    amqp_socket_t *sock;
    amqp_rpc_reply_t r;
    int st;
    int rc = IMGFLOW_EUNAVAIL;

    l->conn = amqp_new_connection();
    if (l->conn == NULL || (sock = amqp_tcp_socket_new(l->conn)) == NULL) {
        snprintf(l->error, sizeof(l->error), "out of memory");
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    st = amqp_socket_open_noblock(sock, p->host, p->port, &connect_tv);
    if (st != AMQP_STATUS_OK) {
        snprintf(l->error, sizeof(l->error), "connect: %s",
                 amqp_error_string2(st));
        goto out;
    }

    amqp_set_handshake_timeout(l->conn, &rpc_tv);
    amqp_set_rpc_timeout(l->conn, &rpc_tv);
    r = amqp_login(l->conn, p->vhost, 0, BUS_AMQP_FRAME_MAX, p->heartbeat,
                   AMQP_SASL_METHOD_PLAIN, p->user, p->pass);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        link_describe(l, "login", r);
        goto out;
    }

    amqp_channel_open(l->conn, BUS_AMQP_CHANNEL);
    rc = link_check(l, "channel.open");

out:
    if (rc != 0 && l->conn != NULL) {
        amqp_destroy_connection(l->conn);
        l->conn = NULL;
    }
    return rc;
}

/* After a failed attempt: wait longer next time, up to the cap. */
static void
link_backoff(struct amqp_link *l, const struct amqp_params *p)
{
    if (l->backoff_ms <= BUS_AMQP_BACKOFF_MIN) {
        log_warn(COMP, "cannot connect role=%s broker=%s error=\"%s\"",
                 l->role, p->where, l->error);
    } else {
        log_debug(COMP, "cannot connect role=%s broker=%s error=\"%s\"",
                  l->role, p->where, l->error);
    }

    l->retry_at = deadline_after(l->backoff_ms);
    l->backoff_ms *= 2;
    if (l->backoff_ms > BUS_AMQP_BACKOFF_MAX) {
        l->backoff_ms = BUS_AMQP_BACKOFF_MAX;
    }
}

static void
link_connected(struct amqp_link *l, const struct amqp_params *p)
{
    if (l->backoff_ms > BUS_AMQP_BACKOFF_MIN || l->generation > 0) {
        log_info(COMP, "connected role=%s broker=%s", l->role, p->where);
    } else {
        log_debug(COMP, "connected role=%s broker=%s", l->role, p->where);
    }

    l->generation++;
    l->seq = 0;
    l->retry_at = 0;
    l->backoff_ms = BUS_AMQP_BACKOFF_MIN;
}

/*
 * Read whatever is pending without waiting: answers heartbeats and notices
 * a broker that closed the connection. Returns 0 or IMGFLOW_EUNAVAIL
 * (dropped). Only for links that expect no deliveries.
 */
static int
link_drain(struct amqp_link *l, const struct amqp_params *p)
{
    struct timeval tv = {0, 0};
    amqp_frame_t f;
    int st;

    for (;;) {
        st = amqp_simple_wait_frame_noblock(l->conn, &f, &tv);
        if (st == AMQP_STATUS_TIMEOUT) {
            break;
        }

        if (st != AMQP_STATUS_OK) {
            snprintf(l->error, sizeof(l->error), "read: %s",
                     amqp_error_string2(st));
            link_drop(l, p);
            return IMGFLOW_EUNAVAIL;
        }

        /* Stray acks of earlier publishes need no answer. */
        if (f.frame_type == AMQP_FRAME_METHOD && link_on_method(l, &f) != 0) {
            link_drop(l, p);
            return IMGFLOW_EUNAVAIL;
        }
    }

    amqp_maybe_release_buffers(l->conn);
    return 0;
}

/* Connect a publisher link: confirm mode on its main channel. */
static int
pub_connect(struct amqp_link *l, const struct amqp_params *p)
{
    int rc = link_open(l, p);

    if (rc == 0) {
        amqp_confirm_select(l->conn, BUS_AMQP_CHANNEL);
        rc = link_check(l, "confirm.select");
        if (rc != 0) {
            amqp_destroy_connection(l->conn);
            l->conn = NULL;
        }
    }

    if (rc == 0) {
        link_connected(l, p);
    } else {
        link_backoff(l, p);
    }
    return rc;
}

/*
 * Make sure a publisher link works: drain it, reconnect when it broke,
 * unless a failed attempt is too recent. 0 or IMGFLOW_EUNAVAIL.
 */
static int
pub_ready(struct amqp_link *l, const struct amqp_params *p)
{
    if (l->conn != NULL && link_drain(l, p) == 0) {
        return 0;
    }

    if (util_now() < l->retry_at) {
        return IMGFLOW_EUNAVAIL;
    }
    return pub_connect(l, p);
}

/* Lock a free publisher connection, or wait for one. */
static struct amqp_pub *
pub_acquire(struct amqp_bus *ab)
{
    unsigned start = atomic_fetch_add(&ab->rr, 1);
    struct amqp_pub *pub;

    for (unsigned k = 0; k < BUS_AMQP_POOL; k++) {
        pub = &ab->pool[(start + k) % BUS_AMQP_POOL];
        if (pthread_mutex_trylock(&pub->lock) == 0) {
            return pub;
        }
    }

    pub = &ab->pool[start % BUS_AMQP_POOL];
    pthread_mutex_lock(&pub->lock);
    return pub;
}

/*
 * Wait for the broker's verdict on publish seq. 0 on basic.ack, 1 when
 * the message was returned (no such queue) and then acked,
 * IMGFLOW_EUNAVAIL on nack, timeout or a lost connection (dropped then,
 * so that a late ack cannot be mistaken for a later message's).
 */
static int
pub_wait_confirm(struct amqp_link *l, const struct amqp_params *p,
                 uint64_t seq)
{
    double deadline = deadline_after(BUS_AMQP_CONFIRM_MS);
    const amqp_basic_ack_t *ack;
    const amqp_basic_nack_t *nack;
    struct timeval tv;
    amqp_frame_t f;
    int returned = 0;
    int st;

    for (;;) {
        tv = timeval_ms(ms_until(deadline));
        st = amqp_simple_wait_frame_noblock(l->conn, &f, &tv);
        if (st != AMQP_STATUS_OK) {
            snprintf(l->error, sizeof(l->error), "waiting for confirm: %s",
                     amqp_error_string2(st));
            break;
        }

        if (f.frame_type != AMQP_FRAME_METHOD) {
            continue;
        }

        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            ack = f.payload.method.decoded;
            if (ack->delivery_tag == seq ||
                (ack->multiple && ack->delivery_tag > seq)) {
                return returned;
            }
        } else if (f.payload.method.id == AMQP_BASIC_RETURN_METHOD) {
            /* Header and body frames follow; the loop skips them. */
            returned = 1;
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            nack = f.payload.method.decoded;
            if (nack->delivery_tag == seq ||
                (nack->multiple && nack->delivery_tag > seq)) {
                log_warn(COMP, "publish refused by broker (nack) broker=%s",
                         p->where);
                return IMGFLOW_EUNAVAIL;
            }
        } else if (link_on_method(l, &f) != 0) {
            break;
        }
    }

    link_drop(l, p);
    return IMGFLOW_EUNAVAIL;
}

/* Publish one persistent message on a ready link and wait for its ack. */
static int
pub_send(struct amqp_link *l, const struct amqp_params *p, const char *queue,
         const void *body, size_t len, int deliveries)
{
    amqp_basic_properties_t props;
    amqp_table_entry_t hdr;
    amqp_bytes_t bytes;
    int st;
    int rc;

    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 2;
    if (deliveries > 1) {
        hdr.key = amqp_cstring_bytes(BUS_AMQP_HDR_DELIVERIES);
        hdr.value.kind = AMQP_FIELD_KIND_I32;
        hdr.value.value.i32 = deliveries;
        props.headers.num_entries = 1;
        props.headers.entries = &hdr;
        props._flags |= AMQP_BASIC_HEADERS_FLAG;
    }

    bytes.bytes = (void *)body;
    bytes.len = len;
    /* Mandatory: a message for a missing queue comes back, not lost. */
    st = amqp_basic_publish(l->conn, BUS_AMQP_CHANNEL, amqp_empty_bytes,
                            amqp_cstring_bytes(queue), 1, 0, &props, bytes);
    if (st != AMQP_STATUS_OK) {
        snprintf(l->error, sizeof(l->error), "publish: %s",
                 amqp_error_string2(st));
        link_drop(l, p);
        return IMGFLOW_EUNAVAIL;
    }

    l->seq++;
    rc = pub_wait_confirm(l, p, l->seq);
    if (l->conn != NULL) {
        amqp_maybe_release_buffers(l->conn);
    }
    return rc;
}

static int
amqp_bus_publish_count(struct amqp_bus *ab, const char *queue,
                       const void *body, size_t len, int deliveries)
{
    struct amqp_pub *pub;
    int rc;

    if (atomic_load(&ab->closed)) {
        return IMGFLOW_ECLOSED;
    }

    pub = pub_acquire(ab);
    rc = pub_ready(&pub->link, &ab->p);
    if (rc == 0) {
        rc = pub_send(&pub->link, &ab->p, queue, body, len, deliveries);
    }

    /* Returned: the queue does not exist yet; create it and send again. */
    if (rc == 1 && (rc = side_ensure(&pub->link, &ab->p, queue)) == 0) {
        rc = pub_send(&pub->link, &ab->p, queue, body, len, deliveries);
        rc = rc == 1 ? IMGFLOW_EUNAVAIL : rc;
    }

    pthread_mutex_unlock(&pub->lock);
    return rc;
}

static int
amqp_bus_publish(struct bus *b, const char *queue, const void *body,
                 size_t len)
{
    return amqp_bus_publish_count((struct amqp_bus *)b, queue, body, len, 1);
}

/* Open the side channel of a ready publisher link when needed. */
static int
side_ready(struct amqp_link *l, const struct amqp_params *p)
{
    if (l->side_open) {
        return 0;
    }

    amqp_channel_open(l->conn, BUS_AMQP_SIDE);
    if (link_check(l, "channel.open") != 0) {
        link_drop(l, p);
        return IMGFLOW_EUNAVAIL;
    }

    l->side_open = 1;
    return 0;
}

/*
 * queue.declare on the side channel. Returns 0 with *ok filled, 1 when a
 * passive declare found no queue (404), IMGFLOW_EINVAL when the broker
 * refused the declaration, IMGFLOW_EUNAVAIL when the link is gone.
 */
static int
side_declare(struct amqp_link *l, const struct amqp_params *p,
             const char *queue, int passive, amqp_queue_declare_ok_t *ok)
{
    amqp_table_entry_t arg;
    amqp_table_t args = {1, &arg};
    amqp_queue_declare_ok_t *r;
    amqp_rpc_reply_t reply;
    const amqp_channel_close_t *cl;
    amqp_channel_close_ok_t chok = {0};

    arg.key = amqp_cstring_bytes("x-consumer-timeout");
    arg.value.kind = AMQP_FIELD_KIND_I32;
    arg.value.value.i32 = BUS_AMQP_JOB_LIMIT_MS;
    r = amqp_queue_declare(l->conn, BUS_AMQP_SIDE, amqp_cstring_bytes(queue),
                           passive, 1, 0, 0,
                           passive ? amqp_empty_table : args);
    if (r != NULL) {
        *ok = *r;
        return 0;
    }

    reply = amqp_get_rpc_reply(l->conn);
    link_describe(l, "queue.declare", reply);
    if (reply.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION ||
        reply.reply.id != AMQP_CHANNEL_CLOSE_METHOD) {
        link_drop(l, p);
        return IMGFLOW_EUNAVAIL;
    }

    /* Only the side channel closed: acknowledge, reopen next time. */
    cl = reply.reply.decoded;
    amqp_send_method(l->conn, BUS_AMQP_SIDE, AMQP_CHANNEL_CLOSE_OK_METHOD,
                     &chok);
    l->side_open = 0;
    return cl->reply_code == AMQP_NOT_FOUND ? 1 : IMGFLOW_EINVAL;
}

/*
 * Make sure a queue exists, on a ready publisher link. A queue that exists
 * already is taken as it is, so that queues created by an earlier
 * deployment with other arguments do not fail an equivalence check.
 */
static int
side_ensure(struct amqp_link *l, const struct amqp_params *p,
            const char *queue)
{
    amqp_queue_declare_ok_t ok;
    int rc = side_ready(l, p);

    if (rc == 0) {
        rc = side_declare(l, p, queue, 1, &ok);
    }

    if (rc == 1 && (rc = side_ready(l, p)) == 0) {
        rc = side_declare(l, p, queue, 0, &ok);
    }

    if (rc != 0) {
        log_error(COMP, "declare failed queue=%s broker=%s error=\"%s\"",
                  queue, p->where, l->error);
        rc = rc == 1 ? IMGFLOW_EUNAVAIL : rc;
    }
    return rc;
}

static int
amqp_bus_declare(struct bus *b, const char *queue)
{
    struct amqp_bus *ab = (struct amqp_bus *)b;
    struct amqp_pub *pub = pub_acquire(ab);
    int rc = pub_ready(&pub->link, &ab->p);

    if (rc == 0) {
        rc = side_ensure(&pub->link, &ab->p, queue);
    }

    pthread_mutex_unlock(&pub->lock);
    return rc;
}

static int
amqp_bus_stats(struct bus *b, const char *queue, struct bus_queue_stats *st)
{
    struct amqp_bus *ab = (struct amqp_bus *)b;
    amqp_queue_declare_ok_t ok;
    struct amqp_pub *pub = pub_acquire(ab);
    int rc = pub_ready(&pub->link, &ab->p);

    if (rc == 0) {
        rc = side_ready(&pub->link, &ab->p);
    }

    if (rc == 0) {
        rc = side_declare(&pub->link, &ab->p, queue, 1, &ok);
    }

    /*
     * TODO: unacked needs the management plugin's HTTP API, as AMQP has
     * no count of delivered, unacknowledged messages; -1 meanwhile.
     */
    memset(st, 0, sizeof(*st));
    if (rc == 0) {
        st->ready = (long)ok.message_count;
        st->unacked = -1;
        st->consumers = (long)ok.consumer_count;
    } else if (rc == 1) {
        rc = 0;
    } else {
        rc = IMGFLOW_EUNAVAIL;
    }

    pthread_mutex_unlock(&pub->lock);
    return rc;
}

static int
amqp_bus_ping(struct bus *b)
{
    struct amqp_bus *ab = (struct amqp_bus *)b;
    struct amqp_pub *pub;
    int rc;

    if (atomic_load(&ab->closed)) {
        return IMGFLOW_ECLOSED;
    }

    pub = pub_acquire(ab);
    rc = pub_ready(&pub->link, &ab->p);
    pthread_mutex_unlock(&pub->lock);
    return rc;
}

static void *
keeper_main(void *arg)
{
    struct amqp_keeper *k = arg;
    struct timespec ts;

    pthread_mutex_lock(&k->lock);
    while (!k->stop) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += k->period_ms / 1000;
        ts.tv_nsec += (k->period_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }

        if (pthread_cond_timedwait(&k->cond, &k->lock, &ts) == ETIMEDOUT &&
            !k->stop) {
            pthread_mutex_unlock(&k->lock);
            k->fn(k->arg);
            pthread_mutex_lock(&k->lock);
        }
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

/* Start a keeper calling fn(arg) every quarter heartbeat (at most 1 s). */
static int
keeper_start(struct amqp_keeper *k, int heartbeat, void (*fn)(void *),
             void *arg)
{
    pthread_condattr_t attr;

    k->period_ms = heartbeat > 0 ? heartbeat * 250L : 1000;
    if (k->period_ms > 1000) {
        k->period_ms = 1000;
    }

    k->fn = fn;
    k->arg = arg;
    pthread_mutex_init(&k->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&k->thread, NULL, keeper_main, k) != 0) {
        pthread_cond_destroy(&k->cond);
        pthread_mutex_destroy(&k->lock);
        return IMGFLOW_ENOMEM;
    }

    k->started = 1;
    return 0;
}

static void
keeper_stop(struct amqp_keeper *k)
{
    if (!k->started) {
        return;
    }

    pthread_mutex_lock(&k->lock);
    k->stop = 1;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cond);
    pthread_mutex_destroy(&k->lock);
    k->started = 0;
}

/* Keeper of the publisher pool: service idle connections only. */
static void
bus_keep(void *arg)
{
    struct amqp_bus *ab = arg;

    for (int i = 0; i < BUS_AMQP_POOL; i++) {
        struct amqp_pub *pub = &ab->pool[i];

        if (pthread_mutex_trylock(&pub->lock) != 0) {
            continue;
        }

        if (pub->link.conn != NULL) {
            link_drain(&pub->link, &ab->p);
        }
        pthread_mutex_unlock(&pub->lock);
    }
}

/* Connect a consumer link: qos and one consume per queue. */
static int
cons_connect(struct amqp_consumer *c)
{
    const struct amqp_params *p = &c->ab->p;
    struct amqp_link *l = &c->link;
    int rc = link_open(l, p);

    if (rc == 0) {
        amqp_basic_qos(l->conn, BUS_AMQP_CHANNEL, 0, (uint16_t)c->prefetch,
                       0);
        rc = link_check(l, "basic.qos");
    }

    for (size_t i = 0; i < c->n && rc == 0; i++) {
        amqp_bytes_t q = amqp_cstring_bytes(c->queues[i]);

        amqp_basic_consume(l->conn, BUS_AMQP_CHANNEL, q, q, 0, 0, 0,
                           amqp_empty_table);
        rc = link_check(l, "basic.consume");
    }

    if (rc == 0) {
        link_connected(l, p);
        return 0;
    }

    if (l->conn != NULL) {
        amqp_destroy_connection(l->conn);
        l->conn = NULL;
    }

    link_backoff(l, p);
    return rc;
}

static void
cons_free_pending(struct amqp_consumer *c)
{
    while (c->head != NULL) {
        struct amqp_delivery *d = c->head;

        c->head = d->next;
        amqp_destroy_envelope(&d->env);
        free(d);
    }
    c->tail = NULL;
}

/* Forget a handed-out delivery; c->lock held. */
static void
cons_unlink(struct amqp_consumer *c, struct amqp_delivery *d)
{
    struct amqp_delivery **pp = &c->flight;

    while (*pp != NULL && *pp != d) {
        pp = &(*pp)->next;
    }

    if (*pp == d) {
        *pp = d->next;
    }
    amqp_destroy_envelope(&d->env);
    free(d);
}

/* Drop the consumer link; its unacked messages return to the broker. */
static void
cons_drop(struct amqp_consumer *c)
{
    link_drop(&c->link, &c->ab->p);
    cons_free_pending(c);
}

/*
 * Read one frame's worth from the consumer link, waiting up to ms: a
 * delivery is queued on the pending list. Returns 0 (something was read),
 * IMGFLOW_EAGAIN (nothing came) or IMGFLOW_EUNAVAIL (link dropped).
 * Called with c->lock held.
 */
static int
cons_pump(struct amqp_consumer *c, long ms)
{
    struct amqp_link *l = &c->link;
    struct timeval tv = timeval_ms(ms);
    struct amqp_delivery *d;
    amqp_rpc_reply_t r;
    amqp_frame_t f;
    int rc = 0;

    if ((d = calloc(1, sizeof(*d))) == NULL) {
        return IMGFLOW_ENOMEM;
    }

    amqp_maybe_release_buffers(l->conn);
    r = amqp_consume_message(l->conn, &d->env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        d->generation = l->generation;
        if (c->tail != NULL) {
            c->tail->next = d;
        } else {
            c->head = d;
        }
        c->tail = d;
        return 0;
    }

    free(d);
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_TIMEOUT) {
        return IMGFLOW_EAGAIN;
    }

    /* Something other than a delivery is waiting: read and handle it. */
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        int st = amqp_simple_wait_frame(l->conn, &f);

        if (st != AMQP_STATUS_OK) {
            r.library_error = st;
        } else if (f.frame_type != AMQP_FRAME_METHOD ||
                   link_on_method(l, &f) == 0) {
            return 0;
        } else {
            rc = IMGFLOW_EUNAVAIL;
        }
    }

    if (rc == 0) {
        link_describe(l, "consume", r);
    }

    cons_drop(c);
    return IMGFLOW_EUNAVAIL;
}

/* Keeper of one consumer: read pending frames while its owner works. */
static void
cons_keep(void *arg)
{
    struct amqp_consumer *c = arg;

    pthread_mutex_lock(&c->lock);
    while (c->link.conn != NULL && cons_pump(c, 0) == 0) {
        continue;
    }
    pthread_mutex_unlock(&c->lock);
}

static void
cons_free(struct amqp_consumer *c)
{
    for (size_t i = 0; i < c->n && c->queues != NULL; i++) {
        free(c->queues[i]);
    }

    free(c->queues);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int
amqp_bus_consumer_open(struct bus *b, const char *const *queues, size_t n,
                       int prefetch, struct bus_consumer **out)
{
    struct amqp_bus *ab = (struct amqp_bus *)b;
    struct amqp_consumer *c = NULL;
    int rc = 0;

    if (n == 0 || prefetch > 65535) {
        return IMGFLOW_EINVAL;
    }

    /* Consuming creates the queues, as the memory bus does. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = amqp_bus_declare(b, queues[i]);
    }

    if (rc != 0) {
        goto out;
    }

    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->queues = calloc(n, sizeof(*c->queues))) == NULL) {
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    pthread_mutex_init(&c->lock, NULL);
    c->base.bus = b;
    c->ab = ab;
    c->prefetch = prefetch > 0 ? prefetch : 1;
    c->link.role = "consumer";
    c->link.backoff_ms = BUS_AMQP_BACKOFF_MIN;
    for (c->n = 0; c->n < n; c->n++) {
        if ((c->queues[c->n] = strdup(queues[c->n])) == NULL) {
            rc = IMGFLOW_ENOMEM;
            goto out;
        }
    }

    rc = cons_connect(c);
    if (rc == 0) {
        rc = keeper_start(&c->keeper, ab->p.heartbeat, cons_keep, c);
    }

out:
    if (rc != 0 && c != NULL) {
        link_close(&c->link);
        if (c->queues != NULL) {
            cons_free(c);
        } else {
            free(c);
        }
        c = NULL;
    }

    *out = c != NULL ? &c->base : NULL;
    return rc;
}

/* Count the deliveries of an envelope: our header, plus the broker's flag. */
static int
delivery_count(const amqp_envelope_t *env)
{
    const amqp_basic_properties_t *props = &env->message.properties;
    long n = 0;

    if (props->_flags & AMQP_BASIC_HEADERS_FLAG) {
        for (int i = 0; i < props->headers.num_entries; i++) {
            const amqp_table_entry_t *e = &props->headers.entries[i];
            const amqp_field_value_t *v = &e->value;

            if (e->key.len != strlen(BUS_AMQP_HDR_DELIVERIES) ||
                memcmp(e->key.bytes, BUS_AMQP_HDR_DELIVERIES, e->key.len)) {
                continue;
            }

            if (v->kind == AMQP_FIELD_KIND_I32) {
                n = v->value.i32;
            } else if (v->kind == AMQP_FIELD_KIND_I64) {
                n = (long)v->value.i64;
            } else if (v->kind == AMQP_FIELD_KIND_U32) {
                n = (long)v->value.u32;
            }
        }
    }

    if (n < 1 || n > 1000000) {
        n = 1;
    }
    return (int)(env->redelivered ? n + 1 : n);
}

/* Hand the first pending delivery to the caller. c->lock held. */
static void
cons_take(struct amqp_consumer *c, struct bus_msg *msg)
{
    struct amqp_delivery *d = c->head;
    const amqp_bytes_t *tag = &d->env.consumer_tag;

    c->head = d->next;
    if (c->head == NULL) {
        c->tail = NULL;
    }

    d->next = c->flight;
    c->flight = d;
    msg->queue = c->queues[0];
    for (size_t i = 0; i < c->n; i++) {
        if (tag->len == strlen(c->queues[i]) &&
            memcmp(tag->bytes, c->queues[i], tag->len) == 0) {
            msg->queue = c->queues[i];
        }
    }

    msg->body = d->env.message.body.bytes;
    msg->len = d->env.message.body.len;
    msg->tag = d->env.delivery_tag;
    msg->deliveries = delivery_count(&d->env);
    msg->priv = d;
}

/*
 * While the link is down: wait (within the caller's deadline) for the
 * backoff to pass, then try once. 0 when connected, else EUNAVAIL or
 * ECLOSED. c->lock held; the keeper has nothing to do meanwhile.
 */
static int
cons_reconnect(struct amqp_consumer *c, double deadline)
{
    while (util_now() < c->link.retry_at) {
        long ms = ms_until(deadline < c->link.retry_at ? deadline
                                                       : c->link.retry_at);

        if (atomic_load(&c->ab->closed)) {
            return IMGFLOW_ECLOSED;
        }

        if (util_now() >= deadline) {
            return IMGFLOW_EUNAVAIL;
        }
        util_sleep_ms(ms < BUS_AMQP_SLICE_MS ? ms + 1 : BUS_AMQP_SLICE_MS);
    }

    return cons_connect(c) == 0 ? 0 : IMGFLOW_EUNAVAIL;
}

static int
amqp_bus_next(struct bus_consumer *bc, int timeout_ms, struct bus_msg *msg)
{
    struct amqp_consumer *c = (struct amqp_consumer *)bc;
    double deadline = deadline_after(timeout_ms > 0 ? timeout_ms : 0);
    int rc = IMGFLOW_EAGAIN;
    long left;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (atomic_load(&c->ab->closed)) {
            rc = IMGFLOW_ECLOSED;
            break;
        }

        if (c->head != NULL) {
            cons_take(c, msg);
            rc = 0;
            break;
        }

        if (c->link.conn == NULL && (rc = cons_reconnect(c, deadline)) != 0) {
            break;
        }

        left = ms_until(deadline);
        rc = cons_pump(c, left < BUS_AMQP_SLICE_MS ? left : BUS_AMQP_SLICE_MS);
        if (rc == IMGFLOW_EAGAIN && left == 0) {
            break;
        }

        if (rc != 0 && rc != IMGFLOW_EAGAIN) {
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/*
 * Settle a delivery with basic.ack (reject < 0), basic.reject without
 * requeue (reject == 1) or with requeue (reject == 2), then release it.
 */
static int
cons_settle(struct amqp_consumer *c, struct bus_msg *msg, int how)
{
    struct amqp_delivery *d = msg->priv;
    struct amqp_link *l = &c->link;
    int st = AMQP_STATUS_OK;
    int rc = 0;

    pthread_mutex_lock(&c->lock);
    if (l->conn == NULL || d->generation != l->generation) {
        /* Its connection is gone, so the broker requeued it already. */
        rc = IMGFLOW_EUNAVAIL;
    } else if (how == 0) {
        st = amqp_basic_ack(l->conn, BUS_AMQP_CHANNEL, msg->tag, 0);
    } else {
        st = amqp_basic_reject(l->conn, BUS_AMQP_CHANNEL, msg->tag, how == 2);
    }

    if (st != AMQP_STATUS_OK) {
        snprintf(l->error, sizeof(l->error), "settle: %s",
                 amqp_error_string2(st));
        cons_drop(c);
        rc = IMGFLOW_EUNAVAIL;
    }

    cons_unlink(c, d);
    pthread_mutex_unlock(&c->lock);
    memset(msg, 0, sizeof(*msg));
    return rc;
}

static int
amqp_bus_ack(struct bus_consumer *bc, struct bus_msg *msg)
{
    if (msg->priv == NULL) {
        return IMGFLOW_EINVAL;
    }
    return cons_settle((struct amqp_consumer *)bc, msg, 0);
}

static int
amqp_bus_nack(struct bus_consumer *bc, struct bus_msg *msg, int requeue)
{
    struct amqp_consumer *c = (struct amqp_consumer *)bc;
    int rc;

    if (msg->priv == NULL) {
        return IMGFLOW_EINVAL;
    }

    if (!requeue) {
        return cons_settle(c, msg, 1);
    }

    /* A counted copy first; only once the broker holds it, drop this one. */
    rc = amqp_bus_publish_count(c->ab, msg->queue, msg->body, msg->len,
                                msg->deliveries + 1);
    if (rc != 0) {
        log_warn(COMP, "requeue copy failed, rejecting with requeue "
                 "queue=%s error=\"%s\"", msg->queue, imgflow_strerror(rc));
        return cons_settle(c, msg, 2);
    }
    return cons_settle(c, msg, 0);
}

static void
amqp_bus_consumer_close(struct bus_consumer *bc)
{
    struct amqp_consumer *c = (struct amqp_consumer *)bc;

    keeper_stop(&c->keeper);
    pthread_mutex_lock(&c->lock);
    cons_free_pending(c);
    while (c->flight != NULL) {
        cons_unlink(c, c->flight);
    }
    link_close(&c->link);
    pthread_mutex_unlock(&c->lock);
    cons_free(c);
}

static void
amqp_bus_shutdown(struct bus *b)
{
    atomic_store(&((struct amqp_bus *)b)->closed, 1);
}

static void
params_free(struct amqp_params *p)
{
    free(p->host);
    free(p->user);
    free(p->pass);
    free(p->vhost);
    free(p->where);
}

static void
amqp_bus_close(struct bus *b)
{
    struct amqp_bus *ab = (struct amqp_bus *)b;

    keeper_stop(&ab->keeper);
    for (int i = 0; i < BUS_AMQP_POOL; i++) {
        link_close(&ab->pool[i].link);
        pthread_mutex_destroy(&ab->pool[i].lock);
    }

    params_free(&ab->p);
    free(ab);
}

static const struct bus_ops amqp_bus_ops = {
    .name = "amqp",
    .declare = amqp_bus_declare,
    .publish = amqp_bus_publish,
    .consumer_open = amqp_bus_consumer_open,
    .next = amqp_bus_next,
    .ack = amqp_bus_ack,
    .nack = amqp_bus_nack,
    .consumer_close = amqp_bus_consumer_close,
    .stats = amqp_bus_stats,
    .ping = amqp_bus_ping,
    .shutdown = amqp_bus_shutdown,
    .close = amqp_bus_close,
};

/* Read "?heartbeat=S" (the only query parameter); cuts the query off. */
static int
params_query(char *url, struct amqp_params *p)
{
    char *q = strchr(url, '?');
    char *end;
    long v;

    p->heartbeat = BUS_AMQP_HEARTBEAT;
    if (q == NULL) {
        return 0;
    }

    *q++ = '\0';
    if (*q == '\0') {
        return 0;
    }

    if (strncmp(q, "heartbeat=", 10) != 0) {
        return IMGFLOW_EINVAL;
    }

    errno = 0;
    v = strtol(q + 10, &end, 10);
    if (errno != 0 || *end != '\0' || end == q + 10 || v < 0 || v > 3600) {
        return IMGFLOW_EINVAL;
    }

    p->heartbeat = (int)v;
    return 0;
}

static int
params_parse(const char *url, struct amqp_params *p, char *err,
             size_t errlen)
{
    struct amqp_connection_info info;
    char *copy = strdup(url);
    size_t wlen;
    int rc = IMGFLOW_EINVAL;

    if (copy == NULL) {
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    if (params_query(copy, p) != 0) {
        snprintf(err, errlen, "bad broker URL query (only heartbeat=S)");
        goto out;
    }

    amqp_default_connection_info(&info);
    if (amqp_parse_url(copy, &info) != AMQP_STATUS_OK) {
        snprintf(err, errlen, "bad broker URL (amqp://user:pass@host:port/"
                 "vhost)");
        goto out;
    }

    if (info.ssl) {
        snprintf(err, errlen, "amqps:// is not supported yet");
        goto out;
    }

    /* An empty path means the default vhost, not one named "". */
    p->host = strdup(info.host);
    p->user = strdup(info.user);
    p->pass = strdup(info.password);
    p->vhost = strdup(info.vhost[0] != '\0' ? info.vhost : "/");
    p->port = info.port;
    wlen = strlen(info.host) + strlen(p->vhost ? p->vhost : "") + 16;
    p->where = malloc(wlen);
    rc = IMGFLOW_ENOMEM;
    if (p->host != NULL && p->user != NULL && p->pass != NULL &&
        p->vhost != NULL && p->where != NULL) {
        snprintf(p->where, wlen, "%s:%d%s%s", p->host, p->port,
                 p->vhost[0] == '/' ? "" : "/", p->vhost);
        rc = 0;
    }

out:
    free(copy);
    return rc;
}

/*
 * Open the RabbitMQ bus for url ("amqp://user:pass@host:port/vhost", with
 * an optional "?heartbeat=S", default 30 s). Connects one publisher
 * connection at once, so a wrong address or password shows here. The
 * caller owns *out (bus_close). Returns 0, IMGFLOW_EINVAL (bad URL),
 * IMGFLOW_ENOMEM or IMGFLOW_EUNAVAIL; err never holds the password.
 * Any thread.
 */
int
bus_amqp_open(const char *url, struct bus **out, char *err, size_t errlen)
{
    struct amqp_bus *ab = calloc(1, sizeof(*ab));
    int rc;

    *out = NULL;
    if (ab == NULL) {
        return IMGFLOW_ENOMEM;
    }

    ab->base.ops = &amqp_bus_ops;
    for (int i = 0; i < BUS_AMQP_POOL; i++) {
        pthread_mutex_init(&ab->pool[i].lock, NULL);
        ab->pool[i].link.role = "publisher";
        ab->pool[i].link.backoff_ms = BUS_AMQP_BACKOFF_MIN;
    }

    rc = params_parse(url, &ab->p, err, errlen);
    if (rc != 0) {
        goto out;
    }

    rc = pub_connect(&ab->pool[0].link, &ab->p);
    if (rc != 0) {
        snprintf(err, errlen, "cannot connect to broker %s: %s", ab->p.where,
                 ab->pool[0].link.error);
        goto out;
    }

    rc = keeper_start(&ab->keeper, ab->p.heartbeat, bus_keep, ab);
    if (rc == 0) {
        log_info(COMP, "connected broker=%s heartbeat=%ds", ab->p.where,
                 ab->p.heartbeat);
    }

out:
    if (rc != 0) {
        amqp_bus_close(&ab->base);
        ab = NULL;
    }

    *out = ab != NULL ? &ab->base : NULL;
    return rc;
}
