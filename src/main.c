/*
 * imgflow: one binary, several roles. This file only dispatches to the
 * subcommands in src/cmd/.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"up", cmd_up, "run the whole system in one process (gateway, workers)"},
    {"gateway", cmd_gateway, "run the HTTP API and results consumer alone"},
    {"worker", cmd_worker, "run worker threads alone"},
    {"process", cmd_process, "process one image file, no services"},
    {"submit", cmd_submit, "upload an image to a gateway, wait, download"},
    {"bench", cmd_bench, "time the kernels across thread counts"},
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: imgflow COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\n'imgflow COMMAND --help' lists a command's options.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }

    if (strcmp(argv[1], "--version") == 0) {
        printf("imgflow 0.1.0\n");
        return 0;
    }

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }

    fprintf(stderr, "imgflow: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
