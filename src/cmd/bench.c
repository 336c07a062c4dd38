/*
 * `imgflow bench [IMAGE ...]`: kernel timings across thread counts, the
 * median of several runs per cell, on the given photos or on a generated
 * 2000x3000 one. Comparisons with other libraries live in bench/.
 * SPDX-License-Identifier: MIT
 */
#include "cmd/cmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static const char synopsis[] =
    "usage: imgflow bench [IMAGE ...] [--threads 1,2,4] [--runs 7]\n"
    "                     [--algorithms LIST] [--PARAM VALUE ...]\n\n"
    "Prints the median kernel time of each algorithm per thread count.\n"
    "Without images it generates a 2000x3000 RGB test photo.\n"
    "  --threads LIST  thread counts to time (default 1,2)\n"
    "  --runs N        runs per cell; the median is shown (default 7)\n"
    "  --PARAM VALUE   an algorithm parameter, e.g. --sigma 3 for blur";

static int
compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A smooth, photo-like RGB image so that no codec is needed. */
static int
generate(struct image *img, uint32_t w, uint32_t h)
{
    int rc = image_alloc(img, w, h, 3);

    for (uint32_t y = 0; rc == 0 && y < h; y++) {
        uint8_t *row = img->pixels + (size_t)y * img->stride;

        for (uint32_t x = 0; x < w; x++) {
            for (int c = 0; c < 3; c++) {
                double v = 128 + 100 * sin(x / (40.0 + 9 * c)) *
                                     cos(y / (55.0 + 7 * c));

                row[x * 3 + c] = (uint8_t)(v + ((x * 7 + y * 13) & 7));
            }
        }
    }
    return rc;
}

static int
parse_threads(const char *text, int *list, int max)
{
    int n = 0;

    while (*text != '\0' && n < max) {
        char *end;
        long v = strtol(text, &end, 10);

        if (end == text || v < 1 || v > ALGO_THREADS_MAX) {
            return -1;
        }
        list[n++] = (int)v;
        text = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') {
            return -1;
        }
    }
    return n;
}

static void
bench_image(const struct config *cfg, const char *label,
            const struct image *img, const int *threads, int n_threads,
            int runs)
{
    for (size_t i = 0; i < algo_count(); i++) {
        const struct algo *a = algo_at(i);
        struct algo_args args;
        double base = 0;

        if (!config_algorithm_enabled(cfg, a->name)) {
            continue;
        }

        algo_args_default(a, &args);
        if (cmd_params_apply(cfg, a, &args) != 0) {
            return;
        }

        args.runs = runs;
        for (int t = 0; t < n_threads; t++) {
            struct algo_timing tm;
            struct image out = {0};
            double med;

            args.threads = threads[t];
            if (algo_execute(a, img, &args, &out, &tm) != 0) {
                fprintf(stderr, "imgflow bench: %s failed\n", a->name);
                return;
            }

            image_free(&out);
            med = median(tm.run_s, runs);
            base = t == 0 ? med : base;
            printf("%-10s %-28.28s %5ux%-5u %7d %10.3f %10.3f %8.2fx\n",
                   a->name, label, img->width, img->height, threads[t],
                   med * 1e3, tm.min_s * 1e3, base / med);
        }
    }
}

static int
load_image(const char *path, struct image *img)
{
    struct image_limits lim;
    char err[256];
    size_t len = 0;
    uint8_t *buf;
    int rc;

    image_limits_default(&lim);
    buf = cmd_read_file(path, lim.max_bytes, &len);
    if (buf == NULL) {
        fprintf(stderr, "imgflow bench: cannot read %s\n", path);
        return IMGFLOW_EIO;
    }

    rc = image_decode(buf, len, &lim, img, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "imgflow bench: %s: %s\n", path, err);
    }

    free(buf);
    return rc;
}

int
cmd_bench(int argc, char **argv)
{
    int threads[16] = {1, 2}, n_threads = 2, runs = 7, rc;
    struct config cfg;
    struct image img = {0};

    rc = config_load(&cfg, "bench", argc, argv);
    if (rc != 0) {
        if (rc == 1) {
            config_usage("bench", synopsis);
        }
        return rc == 1 ? 0 : 2;
    }

    /* threads and runs are lists and counts here, not job parameters. */
    for (int i = 0; i < cfg.n_params; i++) {
        const char *name = cfg.params[i].name;

        if (strcmp(name, "threads") == 0) {
            n_threads = parse_threads(cfg.params[i].value, threads, 16);
        } else if (strcmp(name, "runs") == 0) {
            runs = atoi(cfg.params[i].value);
        } else {
            continue;
        }

        memmove(&cfg.params[i], &cfg.params[i + 1],
                sizeof(cfg.params[0]) * (size_t)(cfg.n_params - i - 1));
        cfg.n_params--;
        i--;
    }

    if (n_threads <= 0 || runs < 1 || runs > ALGO_RUNS_MAX) {
        fprintf(stderr, "imgflow bench: --threads takes a list like 1,2,4 "
                "(1-64) and --runs 1-%d\n", ALGO_RUNS_MAX);
        return 2;
    }

    printf("%-10s %-28s %11s %7s %10s %10s %9s\n", "algorithm", "image",
           "size", "threads", "median_ms", "min_ms", "speedup");
    if (cfg.n_args == 0) {
        if (generate(&img, 2000, 3000) != 0) {
            return 1;
        }
        bench_image(&cfg, "generated", &img, threads, n_threads, runs);
        image_free(&img);
    }

    for (int i = 0; i < cfg.n_args; i++) {
        const char *slash = strrchr(cfg.args[i], '/');

        if (load_image(cfg.args[i], &img) != 0) {
            return 1;
        }
        bench_image(&cfg, slash ? slash + 1 : cfg.args[i], &img, threads,
                    n_threads, runs);
        image_free(&img);
    }
    return 0;
}
