/*
 * Configuration from flags, IMGFLOW_* variables and defaults. One table
 * describes every setting, so --help, the environment and the flags can
 * never disagree.
 * SPDX-License-Identifier: MIT
 */
#include "core/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"
#include "image/image.h"

enum opt_type {
    OPT_STRING,
    OPT_SIZE,
    OPT_INT,
    OPT_FLAG
};

struct opt {
    const char *flag;
    const char *env;
    enum opt_type type;
    size_t offset;
    size_t size;      /* strings: buffer size */
    double min, max;  /* numbers */
    const char *commands;
    const char *help;
};

#define STR(field) OPT_STRING, offsetof(struct config, field), \
    sizeof(((struct config *)0)->field), 0, 0
#define NUM(t, field, lo, hi) t, offsetof(struct config, field), \
    sizeof(((struct config *)0)->field), lo, hi

static const struct opt options[] = {
    {"listen", "IMGFLOW_LISTEN", STR(listen), "up,gateway",
     "HOST:PORT the HTTP API and web UI listen on"},
    {"data", "IMGFLOW_DATA", STR(data), "up,gateway,worker",
     "data directory of the file object store"},
    {"broker", "IMGFLOW_BROKER", STR(broker), "up,gateway,worker",
     "queues: memory, or amqp://user:pass@host:5672/vhost"},
    {"status", "IMGFLOW_STATUS", STR(status), "up,gateway",
     "request status: memory, or redis://host:6379/0"},
    {"store", "IMGFLOW_STORE", STR(store), "up,gateway,worker",
     "object store: file://DIR (default: file:// + the data directory), or "
     "s3://BUCKET?endpoint=http://host:9000&region=us-east-1"},
    {"algorithms", "IMGFLOW_ALGORITHMS", STR(algorithms), "up,worker,bench",
     "comma-separated algorithms to serve (or to time, in bench), or all"},
    {"log-level", "IMGFLOW_LOG_LEVEL", STR(log_level), "*",
     "error, warn, info or debug"},
    {"workers", "IMGFLOW_WORKERS", NUM(OPT_INT, workers, 1, 64),
     "up,worker", "worker threads per algorithm"},
    {"max-upload-bytes", "IMGFLOW_MAX_UPLOAD_BYTES",
     NUM(OPT_SIZE, max_bytes, 1, 4e9), "up,gateway,worker,process",
     "largest accepted upload, bytes"},
    {"max-side", "IMGFLOW_MAX_SIDE", NUM(OPT_SIZE, max_side, 1, 1e6),
     "up,gateway,worker,process", "largest accepted width or height, pixels"},
    {"max-pixels", "IMGFLOW_MAX_PIXELS", NUM(OPT_SIZE, max_pixels, 1, 1e12),
     "up,gateway,worker,process", "largest accepted width*height"},
    {"max-attempts", "IMGFLOW_MAX_ATTEMPTS",
     NUM(OPT_INT, max_attempts, 1, 100), "up,worker",
     "deliveries of one request before it fails and is dead-lettered"},
    {"prefetch", "IMGFLOW_PREFETCH", NUM(OPT_INT, prefetch, 1, 1000),
     "up,worker", "deliveries each worker thread holds at once (1 is fair)"},
    {"status-ttl", "IMGFLOW_STATUS_TTL", NUM(OPT_SIZE, status_ttl, 60, 1e9),
     "up,gateway", "seconds a request's status is kept"},
    {"png-level", "IMGFLOW_PNG_LEVEL", NUM(OPT_INT, png_level, 0, 9),
     "up,worker,process", "zlib level of PNG results (0-9)"},
    {"jpeg-quality", "IMGFLOW_JPEG_QUALITY",
     NUM(OPT_INT, jpeg_quality, 1, 100), "up,worker,process",
     "quality of JPEG results (1-100)"},
    {"gateway", "IMGFLOW_GATEWAY", STR(gateway), "submit",
     "base URL of the gateway"},
    {"format", NULL, STR(format), "submit,process",
     "output format: png, jpeg or webp"},
    {"timeout", NULL, NUM(OPT_INT, timeout, 1, 86400), "submit",
     "seconds to wait for the result"},
    {"quiet", NULL, OPT_FLAG, offsetof(struct config, quiet), 0, 0, 0,
     "submit,process", "print nothing but errors"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static int
command_has(const struct opt *o, const char *command)
{
    size_t n = strlen(command);
    const char *p = o->commands;

    if (strcmp(p, "*") == 0) {
        return 1;
    }

    while ((p = strstr(p, command)) != NULL) {
        if ((p == o->commands || p[-1] == ',') &&
            (p[n] == ',' || p[n] == '\0')) {
            return 1;
        }
        p += n;
    }
    return 0;
}

static void
set_defaults(struct config *cfg, const char *command)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->command = command;
    util_strlcpy(cfg->listen, "127.0.0.1:8080", sizeof(cfg->listen));
    util_strlcpy(cfg->data, "./imgflow-data", sizeof(cfg->data));
    util_strlcpy(cfg->broker, "memory", sizeof(cfg->broker));
    util_strlcpy(cfg->status, "memory", sizeof(cfg->status));
    util_strlcpy(cfg->algorithms, "all", sizeof(cfg->algorithms));
    util_strlcpy(cfg->log_level, "info", sizeof(cfg->log_level));
    util_strlcpy(cfg->gateway, "http://127.0.0.1:8080", sizeof(cfg->gateway));
    cfg->max_bytes = IMAGE_DEFAULT_MAX_BYTES;
    cfg->max_side = 30000;
    cfg->max_pixels = 100000000ull;
    cfg->workers = 1;
    cfg->max_attempts = 3;
    cfg->prefetch = 1;
    cfg->status_ttl = 7L * 24 * 3600;
    cfg->png_level = -1;
    cfg->jpeg_quality = 90;
    cfg->timeout = 300;
}

/* Store one value into its field; err names the flag or variable. */
static int
set_value(struct config *cfg, const struct opt *o, const char *value,
          const char *source)
{
    char *field = (char *)cfg + o->offset;
    char *end;
    double v;

    if (o->type == OPT_STRING) {
        if (util_strlcpy(field, value, o->size) >= o->size) {
            fprintf(stderr, "imgflow: %s is too long (at most %zu bytes)\n",
                    source, o->size - 1);
            return IMGFLOW_EINVAL;
        }
        return 0;
    }

    if (o->type == OPT_FLAG) {
        *(int *)field = 1;
        return 0;
    }

    errno = 0;
    v = strtod(value, &end);
    if (errno != 0 || end == value || *end != '\0' || v < o->min ||
        v > o->max || v != (double)(long long)v) {
        fprintf(stderr,
                "imgflow: %s must be a whole number from %.0f to %.0f, "
                "not '%s'\n",
                source, o->min, o->max, value);
        return IMGFLOW_EINVAL;
    }

    if (o->type == OPT_INT) {
        *(int *)field = (int)v;
    } else if (o->size == sizeof(uint32_t)) {
        *(uint32_t *)field = (uint32_t)v;
    } else {
        *(uint64_t *)field = (uint64_t)v;
    }
    return 0;
}

static int
load_environment(struct config *cfg, const char *command)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct opt *o = &options[i];
        const char *v;

        if (o->env == NULL || !command_has(o, command) ||
            (v = getenv(o->env)) == NULL || v[0] == '\0') {
            continue;
        }

        if (set_value(cfg, o, v, o->env) != 0) {
            return IMGFLOW_EINVAL;
        }
    }
    return 0;
}

static const struct opt *
find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strlen(options[i].flag) == len &&
            strncmp(options[i].flag, name, len) == 0) {
            return &options[i];
        }
    }
    return NULL;
}

static int
takes_params(const char *command)
{
    return strcmp(command, "process") == 0 ||
           strcmp(command, "submit") == 0 || strcmp(command, "bench") == 0;
}

/* One "--name[=value]" argument, with its value possibly in argv[i + 1]. */
static int
parse_flag(struct config *cfg, int argc, char **argv, int *i)
{
    const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct opt *o = find_option(arg, len);
    const char *value = eq ? eq + 1 : NULL;
    char source[80];

    /* Another subcommand's option is unknown here, as in --help. */
    if (o != NULL && !command_has(o, cfg->command)) {
        o = NULL;
    }

    if (o == NULL && !takes_params(cfg->command)) {
        fprintf(stderr, "imgflow %s: unknown option --%.*s (see --help)\n",
                cfg->command, (int)len, arg);
        return IMGFLOW_EINVAL;
    }

    if (o != NULL && o->type == OPT_FLAG) {
        return set_value(cfg, o, "1", arg);
    }

    if (value == NULL) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "imgflow %s: --%.*s needs a value\n",
                    cfg->command, (int)len, arg);
            return IMGFLOW_EINVAL;
        }
        value = argv[++*i];
    }

    if (o == NULL) {
        if (cfg->n_params == CONFIG_MAX_PARAMS || eq != NULL) {
            fprintf(stderr, "imgflow %s: write parameters as --NAME VALUE\n",
                    cfg->command);
            return IMGFLOW_EINVAL;
        }
        cfg->params[cfg->n_params].name = arg;
        cfg->params[cfg->n_params++].value = value;
        return 0;
    }

    snprintf(source, sizeof(source), "--%s", o->flag);
    return set_value(cfg, o, value, source);
}

int
config_load(struct config *cfg, const char *command, int argc, char **argv)
{
    int level;

    set_defaults(cfg, command);
    if (load_environment(cfg, command) != 0) {
        return IMGFLOW_EINVAL;
    }

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return 1;
        }

        if (strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0') {
            if (parse_flag(cfg, argc, argv, &i) != 0) {
                return IMGFLOW_EINVAL;
            }
        } else if (cfg->n_args < CONFIG_MAX_ARGS) {
            cfg->args[cfg->n_args++] = argv[i];
        } else {
            fprintf(stderr, "imgflow %s: too many arguments\n", command);
            return IMGFLOW_EINVAL;
        }
    }

    if (cfg->store[0] == '\0') {
        snprintf(cfg->store, sizeof(cfg->store), "file://%s", cfg->data);
    }

    level = log_level_parse(cfg->log_level);
    if (level < 0) {
        fprintf(stderr, "imgflow: log level must be error, warn, info or "
                        "debug, not '%s'\n", cfg->log_level);
        return IMGFLOW_EINVAL;
    }

    log_set_level((enum log_level)level);
    return 0;
}

void
config_usage(const char *command, const char *synopsis)
{
    struct config def;

    set_defaults(&def, command);
    printf("%s\n\nOptions (flag, environment variable, default):\n",
           synopsis);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct opt *o = &options[i];
        const char *field = (const char *)&def + o->offset;
        char dflt[64] = "";

        if (!command_has(o, command)) {
            continue;
        }

        if (o->type == OPT_STRING) {
            snprintf(dflt, sizeof(dflt), "%s", field);
        } else if (o->type == OPT_INT) {
            snprintf(dflt, sizeof(dflt), "%d", *(const int *)field);
        } else if (o->type == OPT_SIZE && o->size == sizeof(uint32_t)) {
            snprintf(dflt, sizeof(dflt), "%u", *(const uint32_t *)field);
        } else if (o->type == OPT_SIZE) {
            snprintf(dflt, sizeof(dflt), "%llu",
                     (unsigned long long)*(const uint64_t *)field);
        }

        if (strcmp(o->flag, "store") == 0) {
            snprintf(dflt, sizeof(dflt), "file://<data>");
        } else if (strcmp(o->flag, "png-level") == 0) {
            struct image_encode_opts enc;

            image_encode_opts_default(&enc);
            snprintf(dflt, sizeof(dflt), "%d", enc.png_level);
        }

        printf("  --%-18s %-26s %s\n      %s\n", o->flag,
               o->env ? o->env : "", dflt, o->help);
    }
}

int
config_algorithm_enabled(const struct config *cfg, const char *name)
{
    size_t n = strlen(name);
    const char *p = cfg->algorithms;

    if (strcmp(p, "all") == 0) {
        return 1;
    }

    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == n && strncmp(p, name, n) == 0) {
            return 1;
        }

        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    return 0;
}

int
config_export(const struct config *cfg)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct opt *o = &options[i];
        const char *field = (const char *)cfg + o->offset;
        char value[1024];

        if (o->env == NULL) {
            continue;
        }

        if (o->type == OPT_STRING) {
            snprintf(value, sizeof(value), "%s", field);
        } else if (o->type == OPT_INT || o->type == OPT_FLAG) {
            snprintf(value, sizeof(value), "%d", *(const int *)field);
        } else if (o->size == sizeof(uint32_t)) {
            snprintf(value, sizeof(value), "%u", *(const uint32_t *)field);
        } else {
            snprintf(value, sizeof(value), "%llu",
                     (unsigned long long)*(const uint64_t *)field);
        }

        /* A negative int means "built-in default": leave it unset. */
        if (value[0] == '-') {
            unsetenv(o->env);
        } else if (setenv(o->env, value, 1) != 0) {
            return IMGFLOW_ENOMEM;
        }
    }
    return 0;
}
