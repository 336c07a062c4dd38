/*
 * Response helpers for the gateway's handlers.
 * SPDX-License-Identifier: MIT
 */
#include "gateway/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/msg.h"

static void
add_common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
}

enum MHD_Result
gateway_http_bytes(struct MHD_Connection *conn, unsigned int status,
                   const char *type, void *buf, size_t len, int take)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (take) {
        resp = MHD_create_response_from_buffer_with_free_callback(len, buf,
                                                                  free);
    } else {
        resp = MHD_create_response_from_buffer(len, buf,
                                               MHD_RESPMEM_MUST_COPY);
    }

    if (resp == NULL) {
        if (take) {
            free(buf);
        }
        return MHD_NO;
    }

    MHD_add_response_header(resp, "Content-Type", type);
    add_common_headers(resp);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result
gateway_http_json(struct MHD_Connection *conn, unsigned int status,
                  json_t *doc)
{
    char *text = doc ? msg_dump(doc) : NULL;

    json_decref(doc);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";

        return gateway_http_bytes(conn, 500, "application/json",
                                  (void *)oom, sizeof(oom) - 1, 0);
    }
    return gateway_http_bytes(conn, status, "application/json", text,
                              strlen(text), 1);
}

enum MHD_Result
gateway_http_error(struct MHD_Connection *conn, unsigned int status,
                   const char *code, const char *fmt, ...)
{
    char message[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return gateway_http_json(conn, status,
                             json_pack("{s:{s:s, s:s}}", "error", "code",
                                       code, "message", message));
}

unsigned int
gateway_http_status(int err)
{
    switch (err) {
    case IMGFLOW_EINVAL:
        return 400;
    case IMGFLOW_ENOTFOUND:
        return 404;
    case IMGFLOW_ETOOBIG:
        return 413;
    case IMGFLOW_EFORMAT:
        return 415;
    case IMGFLOW_EREFUSED:
    case IMGFLOW_ECORRUPT:
        return 422;
    case IMGFLOW_EUNAVAIL:
    case IMGFLOW_ECLOSED:
        return 503;
    default:
        return 500;
    }
}
