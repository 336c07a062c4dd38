/*
 * Pieces the subcommands share.
 * SPDX-License-Identifier: MIT
 */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"

int
cmd_params_apply(const struct config *cfg, const struct algo *a,
                 struct algo_args *args)
{
    char err[200];

    for (int i = 0; i < cfg->n_params; i++) {
        const struct config_param *p = &cfg->params[i];
        int rc = algo_args_set_text(a, args, p->name, p->value, err,
                                    sizeof(err));

        if (rc == IMGFLOW_ENOTFOUND) {
            fprintf(stderr, "imgflow %s: unknown option --%s for %s\n",
                    cfg->command, p->name, a->name);
            return IMGFLOW_EINVAL;
        }

        if (rc != 0) {
            fprintf(stderr, "imgflow %s: %s\n", cfg->command, err);
            return rc;
        }
    }
    return 0;
}

void
cmd_unknown_algorithm(const char *name)
{
    fprintf(stderr, "imgflow: unknown algorithm '%s'; one of:", name);
    for (size_t i = 0; i < algo_count(); i++) {
        fprintf(stderr, "%s %s", i ? "," : "", algo_at(i)->name);
    }
    fprintf(stderr, "\n");
}

uint8_t *
cmd_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;

    if (f == NULL) {
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        (size_t)size <= max && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size + 1)) != NULL) {
        if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)size;
    }

    fclose(f);
    return buf;
}
