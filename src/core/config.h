/*
 * Configuration: command-line flags over IMGFLOW_* environment variables
 * over defaults, for every subcommand. Flags a subcommand does not know
 * are refused, except for `process`, `submit` and `bench`, where
 * `--NAME VALUE` sets an algorithm parameter.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_CORE_CONFIG_H
#define IMGFLOW_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_PARAMS 16
#define CONFIG_MAX_ARGS   8

struct config_param {
    const char *name;
    const char *value;
};

struct config {
    const char *command;
    char listen[128];        /* HOST:PORT */
    char data[512];          /* data directory */
    char broker[512];        /* memory | amqp://... */
    char status[512];        /* memory | redis://... */
    char store[600];         /* file://DIR | s3://... */
    char algorithms[512];    /* comma list, or "all" */
    char log_level[16];
    char gateway[256];       /* submit: gateway base URL */
    char format[8];          /* output format: png | jpeg | webp */
    size_t max_bytes;        /* upload limit, bytes */
    uint32_t max_side;       /* pixels */
    uint64_t max_pixels;
    int workers;             /* worker threads per algorithm */
    int max_attempts;        /* deliveries before dead-lettering */
    int prefetch;            /* deliveries a worker thread holds at once */
    long status_ttl;         /* seconds */
    int png_level;
    int jpeg_quality;
    int timeout;             /* submit: seconds to wait for a result */
    int quiet;

    /* Positional arguments and algorithm parameters, pointing into argv. */
    const char *args[CONFIG_MAX_ARGS];
    int n_args;
    struct config_param params[CONFIG_MAX_PARAMS];
    int n_params;
};

/*
 * Fill cfg for a subcommand from defaults, then the environment, then
 * argv (argv[0] is the subcommand). Returns 0, 1 when --help was printed,
 * or IMGFLOW_EINVAL after printing what is wrong to stderr.
 */
int config_load(struct config *cfg, const char *command, int argc,
                char **argv);

/* Print a subcommand's options with their variables and defaults. */
void config_usage(const char *command, const char *synopsis);

/*
 * Put every setting that has an IMGFLOW_* variable into the environment,
 * so that child processes started with it see the same configuration.
 * Returns 0 or IMGFLOW_ENOMEM.
 */
int config_export(const struct config *cfg);

/* 1 when name is in cfg->algorithms (or it is "all"). */
int config_algorithm_enabled(const struct config *cfg, const char *name);

#endif
