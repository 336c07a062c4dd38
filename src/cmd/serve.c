/*
 * The serving commands. `imgflow up` runs the whole system in one process:
 * by default on the in-process bus, the in-memory status store and the
 * file object store, with the gateway, its results consumer and a pool of
 * worker threads per algorithm. `imgflow gateway` and `imgflow worker`
 * run one side each, for deployments where a broker shared between
 * processes and machines carries the queues. SIGINT or SIGTERM drains and
 * stops them: running jobs finish and their results are recorded.
 * SPDX-License-Identifier: MIT
 */
#include "cmd/cmd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/error.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/util.h"
#include "gateway/gateway.h"
#include "gateway/results.h"
#include "status/status.h"
#include "store/store.h"
#include "worker/worker.h"

#define MAX_WORKERS 1024

/* What a serving command runs. */
enum role {
    ROLE_GATEWAY = 1, /* status store, results consumer, HTTP gateway */
    ROLE_WORKERS = 2  /* worker threads */
};

struct system {
    struct config cfg;
    unsigned roles;
    struct bus *bus;
    struct status_store *status;
    struct store *store;
    struct gateway_results *results;
    struct gateway *gateway;
    struct worker *workers[MAX_WORKERS];
    int n_workers;
};

static int
open_backends(struct system *s)
{
    char err[256] = "";
    int rc;

    rc = bus_open(s->cfg.broker, &s->bus, err, sizeof(err));
    if (rc == 0 && (s->roles & ROLE_GATEWAY)) {
        rc = status_open(s->cfg.status, s->cfg.status_ttl, &s->status, err,
                         sizeof(err));
    }

    if (rc == 0) {
        rc = store_open(s->cfg.store, &s->store, err, sizeof(err));
    }

    if (rc != 0) {
        log_error(s->cfg.command, "cannot open backends: %s",
                  err[0] ? err : imgflow_strerror(rc));
        return rc;
    }

    for (size_t i = 0; i < algo_count() && rc == 0; i++) {
        rc = bus_declare(s->bus, algo_at(i)->queue);
    }

    if (rc == 0) {
        rc = bus_declare(s->bus, MSG_RESULTS_QUEUE);
    }

    if (rc == 0) {
        rc = bus_declare(s->bus, MSG_DEAD_LETTER_QUEUE);
    }
    return rc;
}

static int
start_workers(struct system *s, const struct image_limits *lim)
{
    struct worker_config wc = {0};
    char name[64];

    wc.bus = s->bus;
    wc.store = s->store;
    wc.limits = *lim;
    wc.max_attempts = s->cfg.max_attempts;
    wc.prefetch = s->cfg.prefetch;
    image_encode_opts_default(&wc.encode);
    if (s->cfg.png_level >= 0) {
        wc.encode.png_level = s->cfg.png_level;
    }
    wc.encode.jpeg_quality = s->cfg.jpeg_quality;

    /* One pool per algorithm, so a slow kernel never starves another. */
    for (size_t i = 0; i < algo_count(); i++) {
        const struct algo *a = algo_at(i);

        if (!config_algorithm_enabled(&s->cfg, a->name)) {
            continue;
        }

        wc.algos[0] = a;
        wc.n_algos = 1;
        for (int k = 0; k < s->cfg.workers; k++) {
            int rc;

            if (s->n_workers == MAX_WORKERS) {
                return IMGFLOW_EINVAL;
            }

            snprintf(name, sizeof(name), "%s-%d", a->name, k + 1);
            wc.name = name;
            rc = worker_start(&wc, &s->workers[s->n_workers]);
            if (rc != 0) {
                return rc;
            }
            s->n_workers++;
        }
    }
    return 0;
}

static int
check_algorithms(const struct config *cfg)
{
    const char *p = cfg->algorithms;
    char name[64];

    if (strcmp(p, "all") == 0) {
        return 0;
    }

    if (*p == '\0') {
        fprintf(stderr, "imgflow: --algorithms is empty; name one or more "
                "algorithms, or all\n");
        return IMGFLOW_EINVAL;
    }

    while (*p != '\0') {
        size_t len = strcspn(p, ",");

        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        if (algo_find(name) == NULL) {
            cmd_unknown_algorithm(name);
            return IMGFLOW_EINVAL;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

/* The embedded bus lives in memory: say what a stop leaves undone. */
static void
report_unfinished(struct system *s)
{
    for (size_t i = 0; s->bus != NULL && i < algo_count(); i++) {
        struct bus_queue_stats st;
        const struct algo *a = algo_at(i);

        if (bus_stats(s->bus, a->queue, &st) == 0 && st.ready > 0) {
            log_warn(s->cfg.command, "requests still queued are dropped "
                     "with the in-memory bus queue=%s count=%ld", a->queue,
                     st.ready);
        }
    }
}

static void
stop_system(struct system *s)
{
    /*
     * Order matters: no new submissions, finish the jobs, apply their
     * results, and only then close the HTTP side, so a job finished
     * during the stop can still be read.
     */
    gateway_drain(s->gateway);
    for (int i = 0; i < s->n_workers; i++) {
        worker_request_stop(s->workers[i]);
    }

    for (int i = 0; i < s->n_workers; i++) {
        worker_join(s->workers[i]);
    }

    gateway_results_stop(s->results, 5000);
    gateway_stop(s->gateway);
    if (strcmp(s->cfg.broker, "memory") == 0) {
        report_unfinished(s);
    }

    if (s->bus != NULL) {
        bus_shutdown(s->bus);
    }

    store_close(s->store);
    status_close(s->status);
    bus_close(s->bus);
}

static void
log_backends(const struct system *s, char *buf, size_t len)
{
    char broker[512], status[512];

    util_url_redact(broker, sizeof(broker), s->cfg.broker);
    util_url_redact(status, sizeof(status), s->cfg.status);
    snprintf(buf, len, "broker=%s status=%s store=%s workers_per_algorithm=%d",
             broker, (s->roles & ROLE_GATEWAY) ? status : "-", s->cfg.store,
             (s->roles & ROLE_WORKERS) ? s->cfg.workers : 0);
}

static int
start_gateway(struct system *s, const struct image_limits *lim)
{
    struct gateway_config gc = {0};
    char backends[2048], err[256];
    int rc;

    rc = gateway_results_start(s->bus, s->status, &s->results);
    if (rc != 0) {
        return rc;
    }

    log_backends(s, backends, sizeof(backends));
    gc.listen = s->cfg.listen;
    gc.bus = s->bus;
    gc.status = s->status;
    gc.store = s->store;
    gc.limits = *lim;
    gc.backends = backends;
    rc = gateway_start(&gc, &s->gateway, err, sizeof(err));
    if (rc != 0) {
        log_error(s->cfg.command, "%s", err);
    }
    return rc;
}

static const char *
synopsis(unsigned roles)
{
    if (roles == ROLE_GATEWAY) {
        return "usage: imgflow gateway [OPTIONS]\n\nRuns the HTTP API, the web "
               "UI and the results consumer. Workers run elsewhere\n"
               "(`imgflow worker`), sharing the broker and the object store.";
    }

    if (roles == ROLE_WORKERS) {
        return "usage: imgflow worker [OPTIONS]\n\nRuns worker threads for "
               "the chosen algorithms. The gateway runs elsewhere\n"
               "(`imgflow gateway`), sharing the broker and the object store.";
    }
    return "usage: imgflow up [OPTIONS]\n\nRuns the gateway, the results "
           "consumer and worker threads in one process; with\n--broker "
           "amqp://... it runs the gateway and a worker process per "
           "algorithm\nas supervised children.";
}

static int
serve(const char *command, unsigned roles, int argc, char **argv)
{
    struct system *s = calloc(1, sizeof(*s));
    struct image_limits lim;
    sigset_t set;
    int rc, sig = 0;

    if (s == NULL) {
        return 1;
    }

    s->roles = roles;
    rc = config_load(&s->cfg, command, argc, argv);
    if (rc != 0 || check_algorithms(&s->cfg) != 0) {
        if (rc == 1) {
            config_usage(command, synopsis(roles));
        }
        free(s);
        return rc == 1 ? 0 : 2;
    }

    /* On a shared broker, `up` runs each side as a supervised process. */
    if (roles == (ROLE_GATEWAY | ROLE_WORKERS) &&
        strcmp(s->cfg.broker, "memory") != 0) {
        rc = cmd_supervise(&s->cfg);
        free(s);
        return rc;
    }

    /* Apart, the two sides can only meet through a shared broker. */
    if (roles != (ROLE_GATEWAY | ROLE_WORKERS) &&
        strcmp(s->cfg.broker, "memory") == 0) {
        fprintf(stderr, "imgflow %s: the in-process bus cannot be shared "
                "between processes; use --broker amqp://... (or `imgflow "
                "up` to run everything in one process)\n", command);
        free(s);
        return 2;
    }

    /*
     * While the backends open, SIGINT and SIGTERM still end the process
     * at once (there is nothing to drain yet); from then on they are
     * taken by sigwait below, never by a worker thread.
     */
    signal(SIGPIPE, SIG_IGN);
    lim.max_bytes = s->cfg.max_bytes;
    lim.max_side = s->cfg.max_side;
    lim.max_pixels = s->cfg.max_pixels;
    rc = open_backends(s);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc == 0 && (roles & ROLE_WORKERS)) {
        rc = start_workers(s, &lim);
    }

    if (rc == 0 && (roles & ROLE_GATEWAY)) {
        rc = start_gateway(s, &lim);
    }

    if (rc == 0) {
        if (roles & ROLE_GATEWAY) {
            log_info(command, "ready url=http://%s/", s->cfg.listen);
        } else {
            log_info(command, "ready workers=%d", s->n_workers);
        }
        sigwait(&set, &sig);
        log_info(command, "stopping signal=%s", sig == SIGINT ? "INT" : "TERM");
    }

    stop_system(s);
    free(s);
    log_info(command, "stopped");
    return rc == 0 ? 0 : 1;
}

int
cmd_up(int argc, char **argv)
{
    return serve("up", ROLE_GATEWAY | ROLE_WORKERS, argc, argv);
}

int
cmd_gateway(int argc, char **argv)
{
    return serve("gateway", ROLE_GATEWAY, argc, argv);
}

int
cmd_worker(int argc, char **argv)
{
    return serve("worker", ROLE_WORKERS, argc, argv);
}
