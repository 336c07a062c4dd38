/*
 * The object store: image bytes by key, written by the gateway (inputs)
 * and the worker (results). Backends: file://DIR (the embedded default)
 * and s3://BUCKET (s3.c). Keys are built by imgflow only ("inputs/<id>",
 * "results/<id>.png"), never taken from client input.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_STORE_STORE_H
#define IMGFLOW_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

struct store_ops {
    const char *name;
    int (*put)(struct store *s, const char *key, const void *buf,
               size_t len);
    int (*get)(struct store *s, const char *key, uint8_t **buf,
               size_t *len);
    int (*del)(struct store *s, const char *key);
    int (*ping)(struct store *s);
    void (*close)(struct store *s);
};

struct store {
    const struct store_ops *ops;
};

/*
 * Open from a URL: "file:///path", "file://relative/path" or
 * "s3://BUCKET?..." (see store_s3_open). Returns 0 or a negative
 * IMGFLOW_E* code with err saying why.
 */
int store_open(const char *url, struct store **out, char *err,
               size_t errlen);

/* Write a whole object atomically (readers see all or nothing). */
int store_put(struct store *s, const char *key, const void *buf, size_t len);

/* Read a whole object; *buf is malloc'd for the caller. ENOTFOUND. */
int store_get(struct store *s, const char *key, uint8_t **buf, size_t *len);

/* Remove an object; a missing one is not an error. */
int store_delete(struct store *s, const char *key);

int store_ping(struct store *s);
void store_close(struct store *s);

/* 1 when a key is one imgflow could have built: [a-z0-9._/-], no "..". */
int store_key_valid(const char *key);

int store_file_open(const char *dir, struct store **out, char *err,
                    size_t errlen);

/*
 * The S3 backend (s3.c); url is what follows "s3://":
 * BUCKET?endpoint=URL&region=R&path_style=0|1&create_bucket=0|1, with
 * credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN. Checks (and by default creates) the bucket. Returns
 * 0, IMGFLOW_EINVAL, ENOTFOUND, EUNAVAIL, EIO or ENOMEM, err saying why.
 */
int store_s3_open(const char *url, struct store **out, char *err,
                  size_t errlen);

#endif
