/*
 * POST /api/v1/process/{algorithm}: receive the multipart form, check the
 * parameters and the image header, then store, record and publish. Every
 * refusal happens before anything is stored or queued, and an accepted
 * request that cannot be queued is marked failed, so none is left hanging.
 * SPDX-License-Identifier: MIT
 */
#include "gateway/gateway_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/util.h"
#include "gateway/http.h"

#define MAX_FIELDS      16
#define MAX_FIELD_BYTES 128
#define PP_BUFFER_BYTES (64 * 1024)

/* Room for multipart headers and small fields on top of the image. */
#define FORM_OVERHEAD_BYTES (64 * 1024)

struct field {
    char name[32];
    char value[MAX_FIELD_BYTES];
    size_t len;
};

struct gateway__upload {
    struct gateway *gw;
    const struct algo *a;
    struct MHD_PostProcessor *pp;
    uint8_t *image;
    size_t image_len;
    size_t image_cap;
    int has_image;
    struct field fields[MAX_FIELDS];
    int n_fields;
    unsigned int err_status;   /* first refusal wins; 0 while fine */
    char err_code[32];
    char err_msg[256];
};

static void
refuse(struct gateway__upload *up, unsigned int status, const char *code,
       const char *msg)
{
    if (up->err_status == 0) {
        up->err_status = status;
        util_strlcpy(up->err_code, code, sizeof(up->err_code));
        util_strlcpy(up->err_msg, msg, sizeof(up->err_msg));
    }
}

static void
append_image(struct gateway__upload *up, const char *data, size_t size)
{
    size_t max = up->gw->cfg.limits.max_bytes;
    char msg[128];

    if (size == 0) {
        return; /* MHD may pass NULL data for an empty part */
    }

    if (up->image_len + size > max) {
        snprintf(msg, sizeof(msg), "the upload is larger than the limit of "
                 "%zu bytes", max);
        refuse(up, 413, "too_large", msg);
        return;
    }

    if (up->image_len + size > up->image_cap) {
        size_t cap = up->image_cap ? up->image_cap : 256 * 1024;
        uint8_t *p;

        while (cap < up->image_len + size) {
            cap *= 2;
        }
        cap = cap < max ? cap : max;
        p = realloc(up->image, cap);
        if (p == NULL) {
            refuse(up, 503, "out_of_memory", "the gateway is out of memory");
            return;
        }
        up->image = p;
        up->image_cap = cap;
    }

    memcpy(up->image + up->image_len, data, size);
    up->image_len += size;
}

static struct field *
field_get(struct gateway__upload *up, const char *key)
{
    for (int i = 0; i < up->n_fields; i++) {
        if (strcmp(up->fields[i].name, key) == 0) {
            return &up->fields[i];
        }
    }

    if (up->n_fields == MAX_FIELDS ||
        strlen(key) >= sizeof(up->fields[0].name)) {
        return NULL;
    }

    util_strlcpy(up->fields[up->n_fields].name, key,
                 sizeof(up->fields[0].name));
    return &up->fields[up->n_fields++];
}

static enum MHD_Result
on_post_field(void *cls, enum MHD_ValueKind kind, const char *key,
              const char *filename, const char *content_type,
              const char *transfer_encoding, const char *data, uint64_t off,
              size_t size)
{
    struct gateway__upload *up = cls;
    struct field *f;
    char msg[160];

    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
    (void)off;
    if (up->err_status != 0 || key == NULL) {
        return MHD_YES; /* keep reading so the answer can be sent */
    }

    if (strcmp(key, "image") == 0) {
        up->has_image = 1;
        append_image(up, data, size);
        return MHD_YES;
    }

    if (strcmp(key, "format") != 0 && strcmp(key, "threads") != 0 &&
        strcmp(key, "runs") != 0 && algo_param_index(up->a, key) < 0) {
        snprintf(msg, sizeof(msg), "unknown form field '%.40s' for %s; the "
                 "file goes in a field named 'image'", key, up->a->name);
        refuse(up, 400, "unknown_parameter", msg);
        return MHD_YES;
    }

    f = field_get(up, key);
    if (f != NULL && size == 0) {
        return MHD_YES;
    }

    if (f == NULL || f->len + size >= sizeof(f->value)) {
        snprintf(msg, sizeof(msg), "form field '%.40s' is too long or there "
                 "are too many fields", key);
        refuse(up, 400, "bad_form", msg);
        return MHD_YES;
    }

    memcpy(f->value + f->len, data, size);
    f->len += size;
    f->value[f->len] = '\0';
    return MHD_YES;
}

enum MHD_Result
gateway__upload_begin(struct gateway *gw, struct MHD_Connection *conn,
                      const struct algo *a, struct gateway__upload **upp)
{
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    "Content-Type");
    const char *clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   "Content-Length");
    size_t max = gw->cfg.limits.max_bytes;
    struct gateway__upload *up;

    *upp = NULL;
    if (clen != NULL && strtoull(clen, NULL, 10) > max + FORM_OVERHEAD_BYTES) {
        return gateway_http_error(conn, 413, "too_large",
                                  "the upload is larger than the limit of "
                                  "%zu bytes", max);
    }

    if (ctype == NULL || strncasecmp(ctype, "multipart/form-data", 19) != 0) {
        return gateway_http_error(conn, 415, "unsupported_media_type",
                                  "send the image as multipart/form-data in "
                                  "a field named 'image'");
    }

    up = calloc(1, sizeof(*up));
    if (up == NULL) {
        return MHD_NO;
    }

    up->gw = gw;
    up->a = a;
    up->pp = MHD_create_post_processor(conn, PP_BUFFER_BYTES, on_post_field,
                                       up);
    if (up->pp == NULL) {
        free(up);
        return gateway_http_error(conn, 400, "bad_form",
                                  "the multipart form has no usable boundary");
    }

    *upp = up;
    return MHD_YES;
}

/* Parameters from the form fields into args; 0 or a queued refusal. */
static int
collect_args(struct gateway__upload *up, struct algo_args *args,
             enum image_format *fmt)
{
    char msg[200];

    algo_args_default(up->a, args);
    *fmt = IMAGE_FORMAT_PNG;
    for (int i = 0; i < up->n_fields; i++) {
        struct field *f = &up->fields[i];
        int rc;

        if (strcmp(f->name, "format") == 0) {
            *fmt = image_format_parse(f->value);
            if (*fmt == IMAGE_FORMAT_UNKNOWN) {
                refuse(up, 400, "bad_parameter",
                       "format must be png, jpeg or webp");
                return IMGFLOW_EINVAL;
            }
            continue;
        }

        /* Unknown names were refused while the form was read. */
        rc = algo_args_set_text(up->a, args, f->name, f->value, msg,
                                sizeof(msg));
        if (rc != 0) {
            refuse(up, 400, "bad_parameter", msg);
            return rc;
        }
    }
    return 0;
}

static const char *
probe_code(int rc)
{
    switch (rc) {
    case IMGFLOW_ETOOBIG:
        return "too_large";
    case IMGFLOW_EFORMAT:
        return "unsupported_format";
    case IMGFLOW_EREFUSED:
        return "image_too_large";
    default:
        return "unreadable_image";
    }
}

static json_t *
status_document(const char *id, const struct algo *a, json_t *request,
                const struct image_info *info, size_t bytes,
                const char *input_key)
{
    char ts[32];

    util_timestamp(ts, sizeof(ts));
    return json_pack(
        "{s:s, s:s, s:s, s:O, s:O, s:{s:s, s:i, s:i, s:i, s:I}, s:s, s:s,"
        " s:s, s:n, s:n}",
        "request_id", id, "algorithm", a->name, "status", "queued",
        "parameters", json_object_get(request, "parameters"),
        "output_format", json_object_get(request, "output_format"), "input",
        "format", image_format_name(info->format), "width", (int)info->width,
        "height", (int)info->height, "channels", info->channels, "bytes",
        (json_int_t)bytes, "input_key", input_key, "created_at", ts,
        "updated_at", ts, "result", "error");
}

/* A request recorded but never queued must still end: mark it failed. */
static void
fail_unqueued(struct gateway *gw, const char *id, const struct algo *a)
{
    struct msg_result r = {
        .request_id = id,
        .algorithm = a->name,
        .status = "failed",
        .error_code = "broker_unavailable",
        .error = "the request could not be queued: the broker is unavailable",
        .worker = "gateway",
    };
    json_t *doc = msg_result_build(&r);

    if (doc != NULL) {
        status_apply(gw->cfg.status, doc);
        json_decref(doc);
    }
}

/* Store the input, record the status, publish; answer 202 or 503. */
static enum MHD_Result
accept_request(struct gateway__upload *up, struct MHD_Connection *conn,
               const struct image_info *info, const struct algo_args *args,
               enum image_format fmt)
{
    struct gateway *gw = up->gw;
    char id[40], key[96], url[96];
    json_t *req = NULL, *doc = NULL;
    char *body = NULL;
    enum MHD_Result ret;
    int rc;

    if (util_uuid4(id, sizeof(id)) != 0) {
        return gateway_http_error(conn, 500, "internal", "no randomness");
    }

    snprintf(key, sizeof(key), "inputs/%s.%s", id,
             image_format_ext(info->format));
    rc = store_put(gw->cfg.store, key, up->image, up->image_len);
    if (rc != 0) {
        log_error("gateway", "cannot store input request_id=%s error=\"%s\"",
                  id, imgflow_strerror(rc));
        return gateway_http_error(conn, 503, "store_unavailable",
                                  "the object store is unavailable");
    }

    req = msg_request_build(id, up->a, args, key, image_format_name(fmt));
    doc = req ? status_document(id, up->a, req, info, up->image_len, key)
              : NULL;
    body = req ? msg_dump(req) : NULL;
    if (doc == NULL || body == NULL) {
        ret = gateway_http_error(conn, 500, "internal", "out of memory");
        goto out;
    }

    rc = status_create(gw->cfg.status, id, doc);
    if (rc != 0) {
        log_error("gateway", "cannot record status request_id=%s error=\"%s\"",
                  id, imgflow_strerror(rc));
        ret = gateway_http_error(conn, 503, "status_unavailable",
                                 "the status store is unavailable");
        goto out;
    }

    rc = bus_publish(gw->cfg.bus, up->a->queue, body, strlen(body));
    if (rc != 0) {
        log_error("gateway", "cannot queue request_id=%s queue=%s error=\"%s\"",
                  id, up->a->queue, imgflow_strerror(rc));
        fail_unqueued(gw, id, up->a);
        ret = gateway_http_json(
            conn, 503,
            json_pack("{s:{s:s, s:s}, s:s}", "error", "code",
                      "broker_unavailable", "message",
                      "the request could not be queued: the broker is "
                      "unavailable; it is recorded as failed",
                      "request_id", id));
        goto out;
    }

    log_debug("gateway", "queued request_id=%s algorithm=%s bytes=%zu "
              "threads=%d runs=%d", id, up->a->name, up->image_len,
              args->threads, args->runs);
    snprintf(url, sizeof(url), "/api/v1/status/%s", id);
    ret = gateway_http_json(conn, 202,
                            json_pack("{s:s, s:s, s:s, s:s+}", "request_id",
                                      id, "status", "queued", "status_url",
                                      url, "result_url", "/api/v1/result/",
                                      id));

out:
    free(body);
    json_decref(doc);
    json_decref(req);
    return ret;
}

static enum MHD_Result
finish(struct gateway__upload *up, struct MHD_Connection *conn)
{
    struct image_info info;
    struct algo_args args;
    enum image_format fmt;
    char msg[256];
    int rc;

    /* Destroying the processor tells whether the body was complete. */
    rc = MHD_destroy_post_processor(up->pp) == MHD_YES;
    up->pp = NULL;
    if (!rc) {
        refuse(up, 400, "bad_form", "the multipart body is malformed or "
               "incomplete");
    }

    if (up->err_status == 0 && !up->has_image) {
        refuse(up, 400, "missing_image", "the form has no field named "
               "'image' with the file");
    } else if (up->err_status == 0 && up->image_len == 0) {
        refuse(up, 400, "empty_image", "the uploaded file is empty");
    }

    if (up->err_status == 0) {
        collect_args(up, &args, &fmt);
    }

    if (up->err_status == 0) {
        rc = image_probe(up->image, up->image_len, &up->gw->cfg.limits,
                         &info, msg, sizeof(msg));
        if (rc != 0) {
            refuse(up, gateway_http_status(rc), probe_code(rc), msg);
        }
    }

    if (up->err_status != 0) {
        log_info("gateway", "refused upload algorithm=%s status=%u code=%s "
                 "reason=\"%s\"", up->a->name, up->err_status, up->err_code,
                 up->err_msg);
        return gateway_http_error(conn, up->err_status, up->err_code, "%s",
                                  up->err_msg);
    }
    return accept_request(up, conn, &info, &args, fmt);
}

enum MHD_Result
gateway__upload_feed(struct gateway__upload *up, struct MHD_Connection *conn,
                     const char *data, size_t *size)
{
    if (*size == 0) {
        return finish(up, conn);
    }

    if (up->err_status == 0 &&
        MHD_post_process(up->pp, data, *size) != MHD_YES) {
        refuse(up, 400, "bad_form", "the multipart body is malformed");
    }

    *size = 0;
    return MHD_YES;
}

void
gateway__upload_free(struct gateway__upload *up)
{
    if (up == NULL) {
        return;
    }

    if (up->pp != NULL) {
        MHD_destroy_post_processor(up->pp);
    }

    free(up->image);
    free(up);
}
