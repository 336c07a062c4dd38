/*
 * The gateway: the HTTP API and web UI on libmicrohttpd. It stores each
 * upload in the object store, records the request as queued in the status
 * store, publishes the request message to its algorithm's queue and
 * answers 202; status, results and inputs are read back through it. The
 * results consumer beside it (results.h) keeps the status store current.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_GATEWAY_GATEWAY_H
#define IMGFLOW_GATEWAY_GATEWAY_H

#include "bus/bus.h"
#include "image/image.h"
#include "status/status.h"
#include "store/store.h"

struct gateway;

struct gateway_config {
    const char *listen;          /* HOST:PORT; port 0 picks a free one */
    struct bus *bus;             /* borrowed; outlives the gateway */
    struct status_store *status; /* borrowed */
    struct store *store;         /* borrowed */
    struct image_limits limits;
    const char *backends;        /* "broker=memory status=memory ..." */
};

/*
 * Start serving on the configured address with its own threads. Returns
 * 0, IMGFLOW_EINVAL (bad address) or IMGFLOW_EIO (cannot listen), with
 * err saying why.
 */
int gateway_start(const struct gateway_config *cfg, struct gateway **out,
                  char *err, size_t errlen);

/* The TCP port actually bound. */
int gateway_port(const struct gateway *gw);

/*
 * Refuse new submissions with 503 from now on, while status and result
 * reads go on being served (so that jobs finishing during a shutdown can
 * still be fetched). Any thread.
 */
void gateway_drain(struct gateway *gw);

/* Stop accepting, finish the requests in progress, release everything. */
void gateway_stop(struct gateway *gw);

#endif
