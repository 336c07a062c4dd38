/*
 * `imgflow submit ALGO IN OUT`: a client of the HTTP API. Uploads the
 * image, polls the status until the request ends, downloads the result.
 * SPDX-License-Identifier: MIT
 */
#include "cmd/cmd.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

static const char synopsis[] =
    "usage: imgflow submit ALGORITHM IN OUT [--gateway URL] [--threads N]\n"
    "                      [--runs N] [--PARAM VALUE ...] [--format FMT]\n\n"
    "Uploads IN to a running gateway, waits for the result and writes it to\n"
    "OUT. Exit status: 0 completed, 1 failed or refused, 2 usage, 3 the\n"
    "gateway could not be reached.\n"
    "  --threads N     OpenMP threads of the kernel (1-64, default: cores)\n"
    "  --runs N        kernel runs, timed one by one (1-100, default 1)\n"
    "  --PARAM VALUE   an algorithm parameter, e.g. --sigma 3 for blur";

struct buffer {
    char *data;
    size_t len;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct buffer *b = userdata;
    size_t n = size * nmemb;
    char *p = realloc(b->data, b->len + n + 1);

    if (p == NULL) {
        return 0;
    }

    memcpy(p + b->len, ptr, n);
    b->data = p;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* One request; returns the HTTP status, or -1 when nothing came back. */
static long
perform(CURL *curl, const char *url, curl_mime *mime, struct buffer *body)
{
    long status = -1;

    free(body->data);
    body->data = NULL;
    body->len = 0;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    if (mime != NULL) {
        curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    }

    /*
     * The gateway may answer (404, 413) before the upload is through and
     * close; curl then reports a send error although a response arrived.
     */
    curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status > 0 ? status : -1;
}

static void
add_field(curl_mime *mime, const char *name, const char *value)
{
    curl_mimepart *part = curl_mime_addpart(mime);

    curl_mime_name(part, name);
    curl_mime_data(part, value, CURL_ZERO_TERMINATED);
}

static void
print_error(const char *what, long status, const struct buffer *body)
{
    json_t *doc = body->data ? json_loads(body->data, 0, NULL) : NULL;
    json_t *e = json_object_get(doc, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));

    if (msg == NULL) {
        msg = json_string_value(e);
    }

    fprintf(stderr, "imgflow submit: %s (HTTP %ld): %s\n", what, status,
            msg ? msg : "no details");
    json_decref(doc);
}

static int
upload(CURL *curl, const struct config *cfg, char *id, size_t idlen)
{
    curl_mime *mime = curl_mime_init(curl);
    struct buffer body = {0};
    char url[512];
    json_t *doc;
    long status;
    int rc = 1;

    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "image");
    curl_mime_filedata(part, cfg->args[1]);
    for (int i = 0; i < cfg->n_params; i++) {
        add_field(mime, cfg->params[i].name, cfg->params[i].value);
    }

    if (cfg->format[0] != '\0') {
        add_field(mime, "format", cfg->format);
    }

    snprintf(url, sizeof(url), "%s/api/v1/process/%s", cfg->gateway,
             cfg->args[0]);
    status = perform(curl, url, mime, &body);
    curl_mime_free(mime);
    if (status < 0) {
        fprintf(stderr, "imgflow submit: cannot reach the gateway at %s\n",
                cfg->gateway);
        rc = 3;
    } else if (status != 202) {
        print_error("refused", status, &body);
    } else if ((doc = json_loads(body.data, 0, NULL)) != NULL) {
        const char *s = json_string_value(json_object_get(doc, "request_id"));

        if (s != NULL) {
            util_strlcpy(id, s, idlen);
            rc = 0;
        }
        json_decref(doc);
    }

    free(body.data);
    return rc;
}

/* Poll until the request ends; *doc is its final status document. */
static int
wait_done(CURL *curl, const struct config *cfg, const char *id, json_t **doc)
{
    double deadline = util_now() + cfg->timeout;
    struct buffer body = {0};
    char url[512], last[16] = "";
    int rc = 3;

    snprintf(url, sizeof(url), "%s/api/v1/status/%s", cfg->gateway, id);
    while (util_now() < deadline) {
        long status = perform(curl, url, NULL, &body);
        const char *s;

        if (status != 200) {
            print_error("status request failed", status, &body);
            break;
        }

        *doc = json_loads(body.data, 0, NULL);
        s = json_string_value(json_object_get(*doc, "status"));
        if (s != NULL && strcmp(s, last) != 0 && !cfg->quiet) {
            fprintf(stderr, "%s: %s\n", id, s);
            util_strlcpy(last, s, sizeof(last));
        }

        if (s != NULL && (!strcmp(s, "completed") || !strcmp(s, "failed"))) {
            rc = 0;
            break;
        }

        json_decref(*doc);
        *doc = NULL;
        util_sleep_ms(200);
    }

    if (rc == 3 && *doc == NULL && util_now() >= deadline) {
        fprintf(stderr, "imgflow submit: no result after %d s\n",
                cfg->timeout);
    }

    free(body.data);
    return rc;
}

static int
download(CURL *curl, const struct config *cfg, const char *id)
{
    struct buffer body = {0};
    char url[512];
    FILE *f;
    long status;
    int rc = 1;

    snprintf(url, sizeof(url), "%s/api/v1/result/%s", cfg->gateway, id);
    status = perform(curl, url, NULL, &body);
    if (status != 200) {
        print_error("cannot download the result", status, &body);
    } else if ((f = fopen(cfg->args[2], "wb")) == NULL ||
               fwrite(body.data, 1, body.len, f) != body.len ||
               fclose(f) != 0) {
        fprintf(stderr, "imgflow submit: cannot write %s\n", cfg->args[2]);
    } else {
        rc = 0;
    }

    free(body.data);
    return rc;
}

static void
print_summary(json_t *doc, const char *out)
{
    json_t *meta = json_object_get(json_object_get(doc, "result"),
                                   "metadata");

    printf("completed: %s\n", out);
    printf("kernel_time %.6f s (min %.6f, max %.6f), threads %d, runs %d, "
           "memory %s, processing_time %.3f s\n",
           json_number_value(json_object_get(meta, "kernel_time")),
           json_number_value(json_object_get(meta, "kernel_time_min")),
           json_number_value(json_object_get(meta, "kernel_time_max")),
           (int)json_integer_value(json_object_get(meta, "threads_used")),
           (int)json_integer_value(json_object_get(meta, "runs")),
           json_string_value(json_object_get(meta, "memory_used")),
           json_number_value(json_object_get(
               json_object_get(doc, "result"), "processing_time")));
}

int
cmd_submit(int argc, char **argv)
{
    struct config cfg;
    json_t *doc = NULL;
    char id[64];
    CURL *curl;
    int rc;

    rc = config_load(&cfg, "submit", argc, argv);
    if (rc == 1 || (rc == 0 && cfg.n_args != 3)) {
        config_usage("submit", synopsis);
        return rc == 1 ? 0 : 2;
    }

    if (rc != 0) {
        return 2;
    }

    if (access(cfg.args[1], R_OK) != 0) {
        fprintf(stderr, "imgflow submit: cannot read %s\n", cfg.args[1]);
        return 1;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    rc = curl ? upload(curl, &cfg, id, sizeof(id)) : 3;
    if (rc == 0) {
        rc = wait_done(curl, &cfg, id, &doc);
    }

    if (rc == 0) {
        const char *s = json_string_value(json_object_get(doc, "status"));
        json_t *e = json_object_get(doc, "error");

        if (strcmp(s, "completed") == 0) {
            rc = download(curl, &cfg, id);
            if (rc == 0 && !cfg.quiet) {
                print_summary(doc, cfg.args[2]);
            }
        } else {
            fprintf(stderr, "imgflow submit: request %s failed: %s\n", id,
                    json_string_value(json_object_get(e, "message")));
            rc = 1;
        }
    }

    json_decref(doc);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return rc;
}
