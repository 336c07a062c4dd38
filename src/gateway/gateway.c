/*
 * The gateway's HTTP server: libmicrohttpd with a thread per connection
 * (handlers may block on the object store and on broker confirms), the
 * routes of the API under /api/v1, and the embedded web UI at /.
 * SPDX-License-Identifier: MIT
 */
#include "gateway/gateway.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "algo/algo.h"
#include "core/error.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/util.h"
#include "gateway/assets.h"
#include "gateway/gateway_int.h"
#include "gateway/http.h"

#define API "/api/v1/"

static const char *
asset_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot == NULL) {
        return "application/octet-stream";
    }

    if (strcmp(dot, ".html") == 0) {
        return "text/html; charset=utf-8";
    }

    if (strcmp(dot, ".css") == 0) {
        return "text/css; charset=utf-8";
    }

    if (strcmp(dot, ".js") == 0) {
        return "text/javascript; charset=utf-8";
    }
    return "application/octet-stream";
}

static enum MHD_Result
serve_asset(struct MHD_Connection *conn, const char *url)
{
    const char *name = strcmp(url, "/") == 0 ? "index.html" : url + 1;

    for (const struct gateway_asset *a = gateway_assets; a->name; a++) {
        if (strcmp(a->name, name) == 0) {
            return gateway_http_bytes(conn, 200, asset_type(name),
                                      (void *)a->data, a->size, 0);
        }
    }
    return gateway_http_error(conn, 404, "not_found", "no such page: %.100s",
                              url);
}

static json_t *
param_json(const char *name, const char *type, double min, double max,
           double def, const char *description)
{
    int integer = strcmp(type, "integer") == 0;

    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "name", name, "type",
                     type, "minimum",
                     integer ? json_integer((json_int_t)min) : json_real(min),
                     "maximum",
                     integer ? json_integer((json_int_t)max) : json_real(max),
                     "default",
                     integer ? json_integer((json_int_t)def) : json_real(def),
                     "description", description);
}

static json_t *
algorithm_json(struct gateway *gw, const struct algo *a)
{
    struct bus_queue_stats st = {0};
    json_t *params = json_array();
    int bus_ok = bus_stats(gw->cfg.bus, a->queue, &st) == 0;

    json_array_append_new(params, param_json("threads", "integer", 1,
                                             ALGO_THREADS_MAX,
                                             algo_default_threads(),
                                             "OpenMP threads the kernel uses"));
    json_array_append_new(params, param_json("runs", "integer", 1,
                                             ALGO_RUNS_MAX, 1,
                                             "times the kernel runs; "
                                             "kernel_time is the mean"));
    for (int i = 0; i < a->n_params; i++) {
        const struct algo_param *p = &a->params[i];

        json_array_append_new(params, param_json(p->name,
                                                 p->type == ALGO_PARAM_INT
                                                     ? "integer"
                                                     : "number",
                                                 p->min, p->max, p->def,
                                                 p->description));
    }

    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "name", a->name,
                     "description", a->description, "queue", a->queue,
                     "queue_depth", bus_ok ? json_integer(st.ready)
                                           : json_null(),
                     "in_flight", bus_ok ? json_integer(st.unacked)
                                         : json_null(),
                     "consumers", bus_ok ? json_integer(st.consumers)
                                         : json_null(),
                     "parameters", params);
}

static enum MHD_Result
serve_algorithms(struct gateway *gw, struct MHD_Connection *conn)
{
    json_t *list = json_array();

    for (size_t i = 0; i < algo_count(); i++) {
        json_array_append_new(list, algorithm_json(gw, algo_at(i)));
    }

    return gateway_http_json(
        conn, 200,
        json_pack("{s:o, s:{s:I, s:i, s:I}, s:[s, s, s]}", "algorithms",
                  list, "limits", "max_upload_bytes",
                  (json_int_t)gw->cfg.limits.max_bytes, "max_side",
                  (int)gw->cfg.limits.max_side, "max_pixels",
                  (json_int_t)gw->cfg.limits.max_pixels, "formats", "png",
                  "jpeg", "webp"));
}

static enum MHD_Result
serve_health(struct gateway *gw, struct MHD_Connection *conn)
{
    int bus = bus_ping(gw->cfg.bus), st = status_ping(gw->cfg.status);
    int store = store_ping(gw->cfg.store);
    int ok = bus == 0 && st == 0 && store == 0;

    return gateway_http_json(
        conn, ok ? 200 : 503,
        json_pack("{s:s, s:{s:s, s:s, s:s}}", "status",
                  ok ? "ok" : "degraded", "components", "bus",
                  bus == 0 ? "ok" : "down", "status", st == 0 ? "ok" : "down",
                  "store", store == 0 ? "ok" : "down"));
}

/* Look up a request's document; queues the error response when absent. */
static json_t *
lookup(struct gateway *gw, struct MHD_Connection *conn, const char *id,
       enum MHD_Result *ret)
{
    json_t *doc = NULL;
    int rc;

    if (!util_uuid_valid(id)) {
        *ret = gateway_http_error(conn, 400, "bad_request_id",
                                  "request ids are UUIDs like "
                                  "0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b");
        return NULL;
    }

    rc = status_get(gw->cfg.status, id, &doc);
    if (rc == IMGFLOW_ENOTFOUND) {
        *ret = gateway_http_error(conn, 404, "unknown_request",
                                  "no request with id %s", id);
    } else if (rc != 0) {
        *ret = gateway_http_error(conn, 503, "status_unavailable",
                                  "the status store is unavailable");
    }
    return doc;
}

static enum MHD_Result
serve_status(struct gateway *gw, struct MHD_Connection *conn, const char *id)
{
    enum MHD_Result ret = MHD_NO;
    json_t *doc = lookup(gw, conn, id, &ret);
    char url[96];

    if (doc == NULL) {
        return ret;
    }

    snprintf(url, sizeof(url), API "status/%s", id);
    json_object_set_new(doc, "status_url", json_string(url));
    snprintf(url, sizeof(url), API "input/%s", id);
    json_object_set_new(doc, "input_url", json_string(url));
    snprintf(url, sizeof(url), API "result/%s", id);
    json_object_set_new(doc, "result_url", json_string(url));
    return gateway_http_json(conn, 200, doc);
}

static enum MHD_Result
serve_object(struct gateway *gw, struct MHD_Connection *conn,
             const char *key, enum image_format fmt)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = key ? store_get(gw->cfg.store, key, &buf, &len)
                 : IMGFLOW_ENOTFOUND;

    if (rc == IMGFLOW_ENOTFOUND) {
        return gateway_http_error(conn, 404, "object_missing",
                                  "the image is no longer in the store");
    }

    if (rc != 0) {
        return gateway_http_error(conn, 503, "store_unavailable",
                                  "the object store is unavailable");
    }
    return gateway_http_bytes(conn, 200, image_format_mime(fmt), buf, len, 1);
}

static enum MHD_Result
serve_result(struct gateway *gw, struct MHD_Connection *conn, const char *id)
{
    enum MHD_Result ret = MHD_NO;
    json_t *doc = lookup(gw, conn, id, &ret), *result;
    const char *status, *key, *fmt;

    if (doc == NULL) {
        return ret;
    }

    status = json_string_value(json_object_get(doc, "status"));
    result = json_object_get(doc, "result");
    key = json_string_value(json_object_get(result, "output_image_key"));
    fmt = json_string_value(
        json_object_get(json_object_get(result, "metadata"), "format"));
    if (status == NULL || strcmp(status, "completed") != 0) {
        int failed = status && strcmp(status, "failed") == 0;

        ret = gateway_http_error(conn, 409, failed ? "failed" : "not_ready",
                                 failed ? "the request failed; see its status"
                                        : "the result is not ready; status "
                                          "is %s",
                                 status ? status : "unknown");
    } else {
        ret = serve_object(gw, conn, key,
                           image_format_parse(fmt ? fmt : "png"));
    }

    json_decref(doc);
    return ret;
}

static enum MHD_Result
serve_input(struct gateway *gw, struct MHD_Connection *conn, const char *id)
{
    enum MHD_Result ret = MHD_NO;
    json_t *doc = lookup(gw, conn, id, &ret);
    const char *fmt;

    if (doc == NULL) {
        return ret;
    }

    fmt = json_string_value(
        json_object_get(json_object_get(doc, "input"), "format"));
    ret = serve_object(gw, conn,
                       json_string_value(json_object_get(doc, "input_key")),
                       image_format_parse(fmt ? fmt : ""));
    json_decref(doc);
    return ret;
}

static enum MHD_Result
route_get(struct gateway *gw, struct MHD_Connection *conn, const char *url)
{
    if (strncmp(url, API, strlen(API)) != 0) {
        return serve_asset(conn, url);
    }

    url += strlen(API);
    if (strcmp(url, "algorithms") == 0) {
        return serve_algorithms(gw, conn);
    }

    if (strcmp(url, "health") == 0) {
        return serve_health(gw, conn);
    }

    if (strncmp(url, "status/", 7) == 0) {
        return serve_status(gw, conn, url + 7);
    }

    if (strncmp(url, "result/", 7) == 0) {
        return serve_result(gw, conn, url + 7);
    }

    if (strncmp(url, "input/", 6) == 0) {
        return serve_input(gw, conn, url + 6);
    }
    return gateway_http_error(conn, 404, "not_found", "no such endpoint: "
                              "%.100s", url);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_data_size, void **con_cls)
{
    struct gateway *gw = cls;
    const char *name = url + strlen(API "process/");
    const struct algo *a;

    (void)version;
    if (*con_cls != NULL) {
        return gateway__upload_feed(*con_cls, conn, upload_data,
                                    upload_data_size);
    }

    if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
        strncmp(url, API "process/", strlen(API "process/")) == 0) {
        return gateway_http_error(conn, 405, "method_not_allowed",
                                  "submit with POST and a multipart form");
    }

    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        return route_get(gw, conn, url);
    }

    if (strcmp(method, "POST") != 0) {
        return gateway_http_error(conn, 405, "method_not_allowed",
                                  "%s is not supported here", method);
    }

    if (strncmp(url, API "process/", strlen(API "process/")) != 0) {
        return gateway_http_error(conn, 404, "not_found",
                                  "no such endpoint: POST %.100s", url);
    }

    if (atomic_load(&gw->draining)) {
        return gateway_http_error(conn, 503, "shutting_down",
                                  "the service is shutting down; submit "
                                  "again in a moment");
    }

    a = algo_find(name);
    if (a == NULL) {
        return gateway_http_error(conn, 404, "unknown_algorithm",
                                  "unknown algorithm '%.64s'; GET "
                                  API "algorithms lists them", name);
    }

    /* Either an error is queued now, or the upload state is in *con_cls. */
    return gateway__upload_begin(gw, conn, a,
                                 (struct gateway__upload **)con_cls);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    gateway__upload_free(*con_cls);
    *con_cls = NULL;
}

/* Resolve "HOST:PORT", "[V6]:PORT" or ":PORT" into addr. */
static int
parse_listen(const char *listen, struct sockaddr_storage *addr,
             socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    struct addrinfo hints = {0}, *res = NULL;
    size_t hlen;

    if (colon == NULL || colon[1] == '\0') {
        return IMGFLOW_EINVAL;
    }

    hlen = (size_t)(colon - listen);
    if (hlen >= sizeof(host)) {
        return IMGFLOW_EINVAL;
    }

    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && hlen >= 2 && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res) != 0 ||
        res == NULL) {
        return IMGFLOW_EINVAL;
    }

    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int
gateway_start(const struct gateway_config *cfg, struct gateway **out,
              char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    const union MHD_DaemonInfo *info;
    struct gateway *gw;
    socklen_t alen;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                         MHD_USE_ITC;

    if (parse_listen(cfg->listen, &addr, &alen) != 0) {
        snprintf(err, errlen, "cannot use listen address '%s' (want "
                 "HOST:PORT)", cfg->listen);
        return IMGFLOW_EINVAL;
    }

    gw = calloc(1, sizeof(*gw));
    if (gw == NULL) {
        return IMGFLOW_ENOMEM;
    }

    gw->cfg = *cfg;
    if (addr.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }

    gw->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, gw, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        gw, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512, MHD_OPTION_END);
    if (gw->daemon == NULL) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not "
                 "allowed)", cfg->listen);
        free(gw);
        return IMGFLOW_EIO;
    }

    info = MHD_get_daemon_info(gw->daemon, MHD_DAEMON_INFO_BIND_PORT);
    gw->port = info ? info->port : 0;
    log_info("gateway", "listening address=%s port=%d %s", cfg->listen,
             gw->port, cfg->backends ? cfg->backends : "");
    *out = gw;
    return 0;
}

void
gateway_drain(struct gateway *gw)
{
    if (gw != NULL) {
        atomic_store(&gw->draining, 1);
    }
}

int
gateway_port(const struct gateway *gw)
{
    return gw->port;
}

void
gateway_stop(struct gateway *gw)
{
    MHD_socket fd;

    if (gw == NULL) {
        return;
    }

    /* Stop accepting, then give the requests in progress time to end. */
    fd = MHD_quiesce_daemon(gw->daemon);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
    }

    for (int i = 0; i < 100; i++) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(
            gw->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

        if (info == NULL || info->num_connections == 0) {
            break;
        }
        util_sleep_ms(50);
    }

    MHD_stop_daemon(gw->daemon);
    free(gw);
}
