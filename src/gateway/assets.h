/*
 * The web UI's files, embedded at build time by cmake/embed.cmake.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_GATEWAY_ASSETS_H
#define IMGFLOW_GATEWAY_ASSETS_H

#include <stddef.h>

struct gateway_asset {
    const char *name;          /* base name, e.g. "index.html" */
    const unsigned char *data; /* NUL-terminated for convenience */
    size_t size;               /* bytes, without the NUL */
};

/* Terminated by an entry whose name is NULL. */
extern const struct gateway_asset gateway_assets[];

#endif
