/*
 * The results consumer: reads processing_results and applies each result
 * to the status store, forward only. Runs beside the gateway.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_GATEWAY_RESULTS_H
#define IMGFLOW_GATEWAY_RESULTS_H

#include "bus/bus.h"
#include "status/status.h"

struct gateway_results;

/* Start one consumer thread. bus and status are borrowed. */
int gateway_results_start(struct bus *bus, struct status_store *status,
                          struct gateway_results **out);

/*
 * Apply what is already queued (up to drain_ms), then stop the thread
 * and release it. NULL is fine.
 */
void gateway_results_stop(struct gateway_results *r, int drain_ms);

#endif
