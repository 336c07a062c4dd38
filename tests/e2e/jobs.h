/*
 * End-to-end job helpers shared by the suites: the photos to process,
 * submitting, and checking a completed request's document and pixels
 * against the double-precision references.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_TESTS_E2E_JOBS_H
#define IMGFLOW_TESTS_E2E_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "e2e/client.h"

#define E2E_MAX_PHOTOS 8

/*
 * Kernel runs that keep a blur (sigma 13) busy for a second or more, so a
 * test can act while the job runs. Sanitizers slow the kernels about a
 * hundredfold, so fewer runs give them the same time.
 */
#ifdef __SANITIZE_ADDRESS__
#define E2E_LONG_RUNS "3"
#else
#define E2E_LONG_RUNS "100"
#endif

struct e2e_photo {
    char name[128];
    uint8_t *bytes;
    size_t len;
};

/*
 * The JPEG photos of the shared folder, or generated JPEG and PNG
 * stand-ins when it is absent. Returns how many were loaded.
 */
int e2e_photos_load(struct e2e_photo *photos, int max);

/* POST, assert 202 and its fields; the request id (caller frees). */
char *e2e_submit(const struct e2e_server *s, const char *algo,
                 const void *img, size_t len, const char *const *fields);

/*
 * Wait for id to complete and check its metadata and its result's pixels
 * against the reference of algo (blur: sigma 2) on photo.
 */
void e2e_check_completed(const struct e2e_server *s, const char *id,
                         const char *algo, const struct e2e_photo *photo,
                         int threads, int runs);

#endif
