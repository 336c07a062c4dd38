/*
 * The subcommands of the imgflow binary; main.c dispatches to them.
 * Each returns the process exit status.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_CMD_CMD_H
#define IMGFLOW_CMD_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "algo/algo.h"
#include "core/config.h"

int cmd_up(int argc, char **argv);
int cmd_gateway(int argc, char **argv);
int cmd_worker(int argc, char **argv);

/*
 * Run the gateway and one worker process per algorithm as children of
 * this process, restarting any that dies, until SIGINT or SIGTERM.
 */
int cmd_supervise(const struct config *cfg);
int cmd_process(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/*
 * Apply cfg's --NAME VALUE parameters to args for algorithm a; prints
 * what is wrong and returns IMGFLOW_EINVAL on a bad one.
 */
int cmd_params_apply(const struct config *cfg, const struct algo *a,
                     struct algo_args *args);

/*
 * Read a whole file of at most max bytes; malloc'd for the caller, NULL
 * when it is missing, unreadable or larger.
 */
uint8_t *cmd_read_file(const char *path, size_t max, size_t *len);

/* Print "imgflow: unknown algorithm X; one of: a, b, c" to stderr. */
void cmd_unknown_algorithm(const char *name);

#endif
