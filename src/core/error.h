/*
 * Project-wide error codes. Every function that can fail returns 0 or one
 * of these negative values; only the gateway maps them to HTTP statuses.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_CORE_ERROR_H
#define IMGFLOW_CORE_ERROR_H

enum imgflow_err {
    IMGFLOW_OK = 0,
    IMGFLOW_EINVAL = -1,      /* bad parameter or malformed message */
    IMGFLOW_ENOMEM = -2,      /* allocation failed */
    IMGFLOW_EIO = -3,         /* a read or write failed */
    IMGFLOW_ENOTFOUND = -4,   /* no such key, request or algorithm */
    IMGFLOW_ETOOBIG = -5,     /* upload larger than the byte limit */
    IMGFLOW_EFORMAT = -6,     /* not an image format we read */
    IMGFLOW_EREFUSED = -7,    /* an image we refuse (limits) */
    IMGFLOW_ECORRUPT = -8,    /* a damaged or unsupported image */
    IMGFLOW_EAGAIN = -9,      /* not ready; call again later */
    IMGFLOW_EUNAVAIL = -10,   /* a backend is down */
    IMGFLOW_ETIMEDOUT = -11,  /* a time limit passed */
    IMGFLOW_ECLOSED = -12,    /* the object is shutting down */
    IMGFLOW_EINTERNAL = -13   /* a bug or an unexpected library state */
};

/* A short English phrase for an error code; never NULL. */
const char *imgflow_strerror(int err);

#endif
