/*
 * Text for the project-wide error codes.
 * SPDX-License-Identifier: MIT
 */
#include "core/error.h"

const char *
imgflow_strerror(int err)
{
    switch (err) {
    case IMGFLOW_OK:
        return "success";
    case IMGFLOW_EINVAL:
        return "invalid argument";
    case IMGFLOW_ENOMEM:
        return "out of memory";
    case IMGFLOW_EIO:
        return "input/output error";
    case IMGFLOW_ENOTFOUND:
        return "not found";
    case IMGFLOW_ETOOBIG:
        return "too large";
    case IMGFLOW_EFORMAT:
        return "unsupported format";
    case IMGFLOW_EREFUSED:
        return "refused by limits";
    case IMGFLOW_ECORRUPT:
        return "corrupt or unsupported data";
    case IMGFLOW_EAGAIN:
        return "try again";
    case IMGFLOW_EUNAVAIL:
        return "service unavailable";
    case IMGFLOW_ETIMEDOUT:
        return "timed out";
    case IMGFLOW_ECLOSED:
        return "closed";
    case IMGFLOW_EINTERNAL:
        return "internal error";
    }
    return "unknown error";
}
