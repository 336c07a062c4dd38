/*
 * What the gateway's files share: the gateway itself and the upload
 * handler's entry points.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_GATEWAY_GATEWAY_INT_H
#define IMGFLOW_GATEWAY_GATEWAY_INT_H

#include <microhttpd.h>
#include <stdatomic.h>

#include "algo/algo.h"
#include "gateway/gateway.h"

struct gateway {
    struct gateway_config cfg;
    struct MHD_Daemon *daemon;
    int port;
    atomic_int draining; /* set by gateway_drain: refuse submissions */
};

struct gateway__upload;

/*
 * First call of POST /api/v1/process/{algorithm}: check what the headers
 * allow. Either queues an error response (and returns with *up NULL) or
 * creates the upload state in *up.
 */
enum MHD_Result gateway__upload_begin(struct gateway *gw,
                                      struct MHD_Connection *conn,
                                      const struct algo *a,
                                      struct gateway__upload **up);

/* Feed body bytes; on the final call (size 0) answer the request. */
enum MHD_Result gateway__upload_feed(struct gateway__upload *up,
                                     struct MHD_Connection *conn,
                                     const char *data, size_t *size);

void gateway__upload_free(struct gateway__upload *up);

#endif
