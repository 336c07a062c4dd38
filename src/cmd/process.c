/*
 * `imgflow process ALGO IN OUT`: one image on the command line, no
 * services. The output format follows --format, else OUT's extension.
 * SPDX-License-Identifier: MIT
 */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/util.h"
#include "worker/worker.h"

static const char synopsis[] =
    "usage: imgflow process ALGORITHM IN OUT [--threads N] [--runs N]\n"
    "                       [--PARAM VALUE ...] [--format png|jpeg|webp]\n\n"
    "Processes one image file with no services and prints the timings.\n"
    "  --threads N     OpenMP threads of the kernel (1-64, default: cores)\n"
    "  --runs N        kernel runs, timed one by one (1-100, default 1)\n"
    "  --PARAM VALUE   an algorithm parameter, e.g. --sigma 3 for blur\n"
    "                  (GET /api/v1/algorithms or the README list them)";

static enum image_format
output_format(const struct config *cfg, const char *path)
{
    const char *dot = strrchr(path, '.');

    if (cfg->format[0] != '\0') {
        return image_format_parse(cfg->format);
    }
    return dot ? image_format_parse(dot + 1) : IMAGE_FORMAT_PNG;
}

static int
write_output(const char *path, const struct worker_job *job)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL) {
        return IMGFLOW_EIO;
    }

    ok = fwrite(job->encoded, 1, job->encoded_len, f) == job->encoded_len;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : IMGFLOW_EIO;
}

static void
print_report(const struct algo *a, const struct algo_args *args,
             const struct worker_job *job, const char *out)
{
    char mem[32];

    util_format_mb(mem, sizeof(mem), job->memory_bytes);
    printf("%s: %ux%u, %d channel(s) -> %s (%zu bytes)\n", a->name,
           job->width, job->height, job->channels, out, job->encoded_len);
    printf("threads %d, runs %d: kernel mean %.3f ms (min %.3f, max %.3f)\n",
           args->threads, args->runs, job->timing.mean_s * 1e3,
           job->timing.min_s * 1e3, job->timing.max_s * 1e3);
    printf("decode %.1f ms, encode %.1f ms, memory %s\n", job->decode_s * 1e3,
           job->encode_s * 1e3, mem);
}

int
cmd_process(int argc, char **argv)
{
    struct image_limits lim;
    struct image_encode_opts enc;
    struct worker_job job = {0};
    struct algo_args args;
    const struct algo *a;
    enum image_format fmt;
    struct config cfg;
    uint8_t *input = NULL;
    size_t len = 0;
    char err[256];
    int rc;

    rc = config_load(&cfg, "process", argc, argv);
    if (rc == 1 || (rc == 0 && cfg.n_args != 3)) {
        config_usage("process", synopsis);
        return rc == 1 ? 0 : 2;
    }

    if (rc != 0) {
        return 2;
    }

    a = algo_find(cfg.args[0]);
    if (a == NULL) {
        cmd_unknown_algorithm(cfg.args[0]);
        return 2;
    }

    algo_args_default(a, &args);
    if (cmd_params_apply(&cfg, a, &args) != 0) {
        return 2;
    }

    fmt = output_format(&cfg, cfg.args[2]);
    if (fmt == IMAGE_FORMAT_UNKNOWN) {
        fprintf(stderr, "imgflow process: cannot tell the output format of "
                "%s; use --format png|jpeg|webp\n", cfg.args[2]);
        return 2;
    }

    lim.max_bytes = cfg.max_bytes;
    lim.max_side = cfg.max_side;
    lim.max_pixels = cfg.max_pixels;
    input = cmd_read_file(cfg.args[1], lim.max_bytes, &len);
    if (input == NULL) {
        fprintf(stderr, "imgflow process: cannot read %s (missing, "
                "unreadable or over %zu bytes)\n", cfg.args[1], lim.max_bytes);
        return 1;
    }

    image_encode_opts_default(&enc);
    if (cfg.png_level >= 0) {
        enc.png_level = cfg.png_level;
    }
    enc.jpeg_quality = cfg.jpeg_quality;

    rc = worker_job_run(input, len, a, &args, &lim, fmt, &enc, &job, err,
                        sizeof(err));
    free(input);
    if (rc != 0) {
        fprintf(stderr, "imgflow process: %s: %s\n", cfg.args[1], err);
        return 1;
    }

    rc = write_output(cfg.args[2], &job);
    if (rc != 0) {
        fprintf(stderr, "imgflow process: cannot write %s\n", cfg.args[2]);
    } else if (!cfg.quiet) {
        print_report(a, &args, &job, cfg.args[2]);
    }

    worker_job_clear(&job);
    return rc == 0 ? 0 : 1;
}
