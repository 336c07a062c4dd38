/*
 * Helpers the gateway's handlers share: JSON and error responses, and the
 * mapping from project error codes to HTTP statuses.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_GATEWAY_HTTP_H
#define IMGFLOW_GATEWAY_HTTP_H

#include <jansson.h>
#include <microhttpd.h>

/* Queue doc as the JSON body; takes ownership of doc. */
enum MHD_Result gateway_http_json(struct MHD_Connection *conn,
                                  unsigned int status, json_t *doc);

/* Queue {"error": {"code": code, "message": ...}} with status. */
enum MHD_Result gateway_http_error(struct MHD_Connection *conn,
                                   unsigned int status, const char *code,
                                   const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Queue bytes (copied or taken: buf is freed with free() when taken). */
enum MHD_Result gateway_http_bytes(struct MHD_Connection *conn,
                                   unsigned int status, const char *type,
                                   void *buf, size_t len, int take);

/* HTTP status for a project error code. */
unsigned int gateway_http_status(int err);

#endif
