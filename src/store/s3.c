/*
 * The S3 object store: inputs and results as objects in one bucket of
 * Amazon S3 or a compatible server (MinIO), so that gateways and workers
 * on several hosts share them. Requests go through libcurl, signed with
 * its built-in AWS Signature Version 4.
 * SPDX-License-Identifier: MIT
 */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"

#define S3_CONNECT_TIMEOUT_S 5   /* seconds to set up TCP (and TLS) */
#define S3_TOTAL_TIMEOUT_S   120 /* seconds for a whole request */
#define S3_TRIES             3   /* one try and two retries */
#define S3_BACKOFF_MS        150 /* first pause; tripled per retry */
#define S3_POOL_MAX          16  /* idle handles kept for their connections */
#define S3_ERROR_BODY_MAX    16384 /* bytes of an error response kept */

/*
 * The payload hash we declare. libcurl 7.88 signs with the value of an
 * x-amz-content-sha256 header when one is given, but never sends one of
 * its own, and S3 refuses signed requests without it. S3 accepts this
 * literal for any method over HTTP and HTTPS; it spares hashing each
 * upload and linking a crypto library for it.
 */
#define S3_PAYLOAD_HEADER "x-amz-content-sha256: UNSIGNED-PAYLOAD"

struct s3_store {
    struct store base;
    char bucket[64];
    char endpoint[256];     /* for logs and errors, credentials redacted */
    char bucket_url[512];   /* the bucket itself: HEAD, PUT */
    char object_url[512];   /* objects are object_url + key */
    char region[64];
    char sigv4[96];         /* "aws:amz:REGION:s3" for CURLOPT_AWS_SIGV4 */
    char *access_key;
    char *secret_key;       /* wiped before it is freed */
    struct curl_slist *headers;     /* every request */
    struct curl_slist *put_headers; /* object uploads */
    pthread_mutex_t pool_lock;      /* guards pool and pool_len */
    CURL *pool[S3_POOL_MAX];        /* idle easy handles */
    int pool_len;
};

/* What store_s3_open() reads from the URL and the environment. */
struct s3_config {
    char bucket[64];
    char endpoint[256];
    char region[64];
    int path_style;     /* 1, 0, or -1 for "by endpoint" */
    int create_bucket;
};

/* One request, as the retry loop repeats it. */
struct s3_request {
    const char *op;         /* for logs: "put", "get", "open", ... */
    const char *method;     /* "GET", "PUT", "HEAD" or "DELETE" */
    const char *key;        /* for logs; NULL for the bucket */
    char url[768];
    const uint8_t *body;    /* PUT only; not owned */
    size_t body_len;        /* bytes */
    size_t body_off;        /* bytes already handed to libcurl */
};

/* What came back: the status, or why none did. */
struct s3_response {
    long status;            /* HTTP status; 0 when no response arrived */
    CURLcode cc;
    char curl_err[CURL_ERROR_SIZE];
    uint8_t *body;          /* malloc'd */
    size_t len;             /* bytes in body */
    size_t cap;             /* bytes allocated */
    size_t limit;           /* bytes kept at most; the rest is dropped */
    int nomem;
};

static pthread_once_t s3_global_once = PTHREAD_ONCE_INIT;
static CURLcode s3_global_rc;

static void
s3_global_init(void)
{
    s3_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The value of one hex digit, or -1. */
static int
hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode the %XX escapes of a URL query value in place. */
static void
percent_decode(char *s)
{
    char *out = s;

    for (; *s != '\0'; s++) {
        int hi = s[0] == '%' ? hex_value(s[1]) : -1;
        int lo = hi >= 0 ? hex_value(s[2]) : -1;

        if (lo >= 0) {
            *out++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *out++ = *s;
        }
    }

    *out = '\0';
}

/* S3's rules for new buckets: 3 to 63 of [a-z0-9.-], alphanumeric ends. */
static int
bucket_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len < 3 || len > 63 || name[0] == '.' || name[0] == '-' ||
        name[len - 1] == '.' || name[len - 1] == '-') {
        return 0;
    }
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") == len;
}

static int
region_valid(const char *region)
{
    size_t len = strlen(region);

    return len > 0 && len < 64 &&
           strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

/* "1", "0", "true", "false" into *out; -1 for anything else. */
static int
parse_flag(const char *value, int *out)
{
    if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0) {
        *out = 1;
    } else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0) {
        *out = 0;
    } else {
        return -1;
    }
    return 0;
}

/* One "name=value" of the URL query into cfg. */
static int
parse_option(char *opt, struct s3_config *cfg, char *err, size_t errlen)
{
    char *value = strchr(opt, '=');
    int bad = 0;

    if (value == NULL) {
        snprintf(err, errlen, "S3 store option without a value: %s", opt);
        return IMGFLOW_EINVAL;
    }

    *value++ = '\0';
    percent_decode(value);
    if (strcmp(opt, "endpoint") == 0) {
        bad = util_strlcpy(cfg->endpoint, value, sizeof(cfg->endpoint)) >=
              sizeof(cfg->endpoint);
    } else if (strcmp(opt, "region") == 0) {
        bad = !region_valid(value);
        util_strlcpy(cfg->region, value, sizeof(cfg->region));
    } else if (strcmp(opt, "path_style") == 0) {
        bad = parse_flag(value, &cfg->path_style) != 0;
    } else if (strcmp(opt, "create_bucket") == 0) {
        bad = parse_flag(value, &cfg->create_bucket) != 0;
    } else {
        snprintf(err, errlen, "unknown S3 store option %s (use endpoint, "
                 "region, path_style or create_bucket)", opt);
        return IMGFLOW_EINVAL;
    }

    if (bad) {
        snprintf(err, errlen, "bad value for S3 store option %s", opt);
        return IMGFLOW_EINVAL;
    }
    return 0;
}

/* The region when the URL names none: environment, then us-east-1. */
static void
default_region(struct s3_config *cfg)
{
    const char *env = getenv("AWS_REGION");

    if (env == NULL || !region_valid(env)) {
        env = getenv("AWS_DEFAULT_REGION");
    }

    if (env == NULL || !region_valid(env)) {
        env = "us-east-1";
    }

    util_strlcpy(cfg->region, env, sizeof(cfg->region));
}

/* Check the endpoint, drop trailing slashes, or build the AWS default. */
static int
check_endpoint(struct s3_config *cfg, char *err, size_t errlen)
{
    size_t len = strlen(cfg->endpoint);

    if (len == 0) {
        snprintf(cfg->endpoint, sizeof(cfg->endpoint),
                 "https://s3.%s.amazonaws.com", cfg->region);

        /* A dotted BUCKET.s3... host would not match S3's certificate. */
        if (cfg->path_style < 0) {
            cfg->path_style = strchr(cfg->bucket, '.') != NULL;
        }
        return 0;
    }

    while (len > 0 && cfg->endpoint[len - 1] == '/') {
        cfg->endpoint[--len] = '\0';
    }

    if ((strncmp(cfg->endpoint, "http://", 7) != 0 &&
         strncmp(cfg->endpoint, "https://", 8) != 0) ||
        strpbrk(cfg->endpoint, "?# \r\n") != NULL) {
        snprintf(err, errlen, "S3 endpoint must be an http:// or https:// "
                 "URL without query");
        return IMGFLOW_EINVAL;
    }

    if (cfg->path_style < 0) {
        cfg->path_style = 1;
    }
    return 0;
}

/*
 * Parse what follows "s3://": BUCKET, an optional "/", then
 * ?endpoint=&region=&path_style=&create_bucket= in any order.
 */
static int
parse_url(const char *url, struct s3_config *cfg, char *err, size_t errlen)
{
    char copy[1024], *query, *opt, *save = NULL;
    size_t len;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    cfg->path_style = -1;
    cfg->create_bucket = 1;
    if (util_strlcpy(copy, url, sizeof(copy)) >= sizeof(copy)) {
        snprintf(err, errlen, "S3 store URL too long");
        return IMGFLOW_EINVAL;
    }

    query = strchr(copy, '?');
    if (query != NULL) {
        *query++ = '\0';
    }

    len = strlen(copy);
    if (len > 0 && copy[len - 1] == '/') {
        copy[len - 1] = '\0';
    }

    if (!bucket_name_valid(copy)) {
        snprintf(err, errlen, "S3 store needs a bucket name of 3 to 63 "
                 "characters a-z 0-9 . - : s3://BUCKET?endpoint=...");
        return IMGFLOW_EINVAL;
    }

    util_strlcpy(cfg->bucket, copy, sizeof(cfg->bucket));

    for (opt = strtok_r(query, "&", &save); opt != NULL;
         opt = strtok_r(NULL, "&", &save)) {
        rc = parse_option(opt, cfg, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }

    if (cfg->region[0] == '\0') {
        default_region(cfg);
    }
    return check_endpoint(cfg, err, errlen);
}

/*
 * Bucket and object URLs. Path style puts the bucket in the path
 * (ENDPOINT/BUCKET/KEY, what MinIO expects); virtual-hosted style puts it
 * in the host name (https://BUCKET.s3.REGION.amazonaws.com/KEY).
 */
static int
build_urls(struct s3_store *s, const struct s3_config *cfg)
{
    const char *host = strstr(cfg->endpoint, "://") + 3;
    int n, m;

    if (cfg->path_style) {
        n = snprintf(s->bucket_url, sizeof(s->bucket_url), "%s/%s",
                     cfg->endpoint, cfg->bucket);
        m = snprintf(s->object_url, sizeof(s->object_url), "%s/%s/",
                     cfg->endpoint, cfg->bucket);
    } else {
        n = snprintf(s->bucket_url, sizeof(s->bucket_url), "%.*s%s.%s/",
                     (int)(host - cfg->endpoint), cfg->endpoint,
                     cfg->bucket, host);
        m = snprintf(s->object_url, sizeof(s->object_url), "%s",
                     s->bucket_url);
    }

    if (n < 0 || m < 0 || (size_t)n >= sizeof(s->bucket_url) ||
        (size_t)m >= sizeof(s->object_url)) {
        return IMGFLOW_EINVAL;
    }
    return 0;
}

/* The access key, secret and optional session token, from environment. */
static int
load_credentials(struct s3_store *s, char *err, size_t errlen)
{
    const char *key = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    char *line = NULL;
    int rc = 0;

    if (key == NULL || key[0] == '\0' || secret == NULL ||
        secret[0] == '\0') {
        snprintf(err, errlen, "S3 store needs AWS_ACCESS_KEY_ID and "
                 "AWS_SECRET_ACCESS_KEY in the environment");
        return IMGFLOW_EINVAL;
    }

    s->access_key = strdup(key);
    s->secret_key = strdup(secret);
    if (s->access_key == NULL || s->secret_key == NULL) {
        return IMGFLOW_ENOMEM;
    }

    if (token == NULL || token[0] == '\0') {
        return 0;
    }

    /* The token rides in a header, so a line break must not reach it. */
    if (strpbrk(token, "\r\n") != NULL) {
        snprintf(err, errlen, "AWS_SESSION_TOKEN holds a line break");
        return IMGFLOW_EINVAL;
    }

    if (asprintf(&line, "x-amz-security-token: %s", token) < 0) {
        return IMGFLOW_ENOMEM;
    }

    /* On failure curl_slist_append() returns NULL and keeps the list. */
    if (curl_slist_append(s->headers, line) == NULL ||
        curl_slist_append(s->put_headers, line) == NULL) {
        rc = IMGFLOW_ENOMEM;
    }

    explicit_bzero(line, strlen(line));
    free(line);
    return rc;
}

/*
 * The header lists, built once and only read afterwards, so that all
 * threads share them. libcurl adds Host, X-Amz-Date and Authorization.
 */
static int
build_headers(struct s3_store *s)
{
    struct curl_slist *l;

    l = curl_slist_append(NULL, S3_PAYLOAD_HEADER);
    if (l == NULL) {
        return IMGFLOW_ENOMEM;
    }

    s->headers = l;

    l = curl_slist_append(NULL, S3_PAYLOAD_HEADER);
    if (l == NULL) {
        return IMGFLOW_ENOMEM;
    }

    s->put_headers = l;

    l = curl_slist_append(l, "Content-Type: application/octet-stream");
    return l == NULL ? IMGFLOW_ENOMEM : 0;
}

/*
 * An idle easy handle, or a new one; NULL only when out of memory. A
 * handle serves one thread at a time; reusing one keeps its connections
 * (and TLS sessions) instead of dialling S3 for every object.
 */
static CURL *
pool_take(struct s3_store *s)
{
    CURL *h = NULL;

    pthread_mutex_lock(&s->pool_lock);
    if (s->pool_len > 0) {
        h = s->pool[--s->pool_len];
    }

    pthread_mutex_unlock(&s->pool_lock);

    if (h != NULL) {
        /* Options go back to defaults; open connections stay. */
        curl_easy_reset(h);
        return h;
    }
    return curl_easy_init();
}

static void
pool_give(struct s3_store *s, CURL *h)
{
    pthread_mutex_lock(&s->pool_lock);
    if (s->pool_len < S3_POOL_MAX) {
        s->pool[s->pool_len++] = h;
        h = NULL;
    }

    pthread_mutex_unlock(&s->pool_lock);

    if (h != NULL) {
        curl_easy_cleanup(h);
    }
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct s3_response *r = arg;
    size_t n = size * nmemb, keep = n;

    if (r->len + keep > r->limit) {
        keep = r->limit - r->len;
    }

    if (keep == 0) {
        return n;
    }

    if (r->len + keep > r->cap) {
        size_t cap = r->cap > 0 ? r->cap : 65536;
        uint8_t *grown;

        while (cap < r->len + keep) {
            cap *= 2;
        }

        grown = realloc(r->body, cap);
        if (grown == NULL) {
            r->nomem = 1;
            return 0;
        }

        r->body = grown;
        r->cap = cap;
    }

    memcpy(r->body + r->len, data, keep);
    r->len += keep;
    return n;
}

static size_t
on_upload_read(char *dst, size_t size, size_t nmemb, void *arg)
{
    struct s3_request *q = arg;
    size_t n = size * nmemb;

    if (n > q->body_len - q->body_off) {
        n = q->body_len - q->body_off;
    }

    if (n > 0) {
        memcpy(dst, q->body + q->body_off, n);
        q->body_off += n;
    }
    return n;
}

/* libcurl rewinds an upload when it must send it again on a new connection. */
static int
on_upload_seek(void *arg, curl_off_t offset, int origin)
{
    struct s3_request *q = arg;

    if (origin != SEEK_SET || offset < 0 || (size_t)offset > q->body_len) {
        return CURL_SEEKFUNC_CANTSEEK;
    }

    q->body_off = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* The method-specific options: upload source, body or not. */
static void
set_method(CURL *h, struct s3_request *q, const struct s3_store *s)
{
    if (strcmp(q->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload_read);
        curl_easy_setopt(h, CURLOPT_READDATA, q);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_upload_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, q);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)q->body_len);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER,
                         q->key != NULL ? s->put_headers : s->headers);
    } else if (strcmp(q->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(q->method, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
}

/* One HTTP exchange, no retries. */
static void
perform_once(struct s3_store *s, struct s3_request *q,
             struct s3_response *r)
{
    CURL *h = pool_take(s);

    r->status = 0;
    r->len = 0;
    r->curl_err[0] = '\0';
    q->body_off = 0;
    if (h == NULL) {
        r->nomem = 1;
        r->cc = CURLE_OUT_OF_MEMORY;
        return;
    }

    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)S3_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)S3_TOTAL_TIMEOUT_S);
    /* A server that accepts but never answers is given up on early. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 15L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_err);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "imgflow");
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, s->access_key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, s->secret_key);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    set_method(h, q, s);

    r->cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);

    /* The error buffer lives on our stack; the handle outlives the call. */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    pool_give(s, h);
}

/* Failures worth another try: the server may answer the next one. */
static int
transient(const struct s3_response *r)
{
    switch (r->cc) {
    case CURLE_OK:
        return r->status == 500 || r->status == 502 || r->status == 503 ||
               r->status == 504 || r->status == 429;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        /* Not CURLE_OPERATION_TIMEDOUT: two more waits would be too long. */
        return 0;
    }
}

/* Our code for a finished exchange. */
static int
classify(const struct s3_response *r)
{
    if (r->nomem) {
        return IMGFLOW_ENOMEM;
    }

    if (r->cc != CURLE_OK || r->status >= 500 || r->status == 429) {
        return IMGFLOW_EUNAVAIL;
    }

    if (r->status >= 200 && r->status < 300) {
        return 0;
    }
    return r->status == 404 ? IMGFLOW_ENOTFOUND : IMGFLOW_EIO;
}

/*
 * The <Code> of an S3 error body ("AccessDenied", "NoSuchKey", ...), or
 * "-" when there is none (HEAD responses have no body). Only the code:
 * the rest of a SignatureDoesNotMatch body echoes the access key and the
 * string that was signed.
 */
static void
error_code(const struct s3_response *r, char *buf, size_t len)
{
    const char *body = (const char *)r->body;
    const char *start = NULL, *end = NULL;
    size_t n;

    util_strlcpy(buf, "-", len);
    if (r->body != NULL) {
        start = memmem(body, r->len, "<Code>", 6);
    }

    if (start != NULL) {
        start += 6;
        end = memmem(start, r->len - (size_t)(start - body), "</Code>", 7);
    }

    if (end == NULL) {
        return;
    }

    /* The body is not NUL-terminated; keep to [start, end). */
    n = (size_t)(end - start);
    if (n == 0 || n >= len) {
        return;
    }

    for (size_t i = 0; i < n; i++) {
        char c = start[i];

        buf[i] = ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '.') ? c : '_';
    }

    buf[n] = '\0';
}

/* One line of detail for logs and open errors: never credentials. */
static void
describe(const struct s3_response *r, char *buf, size_t len)
{
    char code[64];

    if (r->cc != CURLE_OK) {
        snprintf(buf, len, "%s", r->curl_err[0] != '\0' ?
                 r->curl_err : curl_easy_strerror(r->cc));
        return;
    }

    error_code(r, code, sizeof(code));
    if (strcmp(code, "-") == 0) {
        snprintf(buf, len, "HTTP %ld", r->status);
    } else {
        snprintf(buf, len, "HTTP %ld code=%s", r->status, code);
    }
}

/*
 * Run a request, retrying transient failures up to S3_TRIES times in all
 * when retry is set. r keeps the last response; the caller frees r->body.
 */
static int
s3_request_run(struct s3_store *s, struct s3_request *q,
               struct s3_response *r, int retry)
{
    char detail[CURL_ERROR_SIZE + 64];
    long pause = S3_BACKOFF_MS;
    int rc = 0;

    for (int attempt = 1; attempt <= S3_TRIES; attempt++) {
        perform_once(s, q, r);
        rc = classify(r);
        if (!retry || attempt == S3_TRIES || !transient(r)) {
            break;
        }

        describe(r, detail, sizeof(detail));
        log_warn("store", "s3 %s failed, will retry bucket=%s key=%s "
                 "attempt=%d error=\"%s\"", q->op, s->bucket,
                 q->key ? q->key : "-", attempt, detail);
        util_sleep_ms(pause);
        pause *= 3;
    }
    return rc;
}

/* Log a failed object operation once, with what S3 or libcurl said. */
static void
log_failure(const struct s3_store *s, const struct s3_request *q,
            const struct s3_response *r, int rc)
{
    char detail[CURL_ERROR_SIZE + 64];

    describe(r, detail, sizeof(detail));
    log_error("store", "s3 %s failed bucket=%s key=%s error=\"%s\" (%s)",
              q->op, s->bucket, q->key ? q->key : "-", detail,
              imgflow_strerror(rc));
}

/* Fill in the parts of a request every operation needs. */
static void
s3_request_init(struct s3_request *q, const struct s3_store *s,
                const char *op, const char *method, const char *key)
{
    memset(q, 0, sizeof(*q));
    q->op = op;
    q->method = method;
    q->key = key;
    if (key != NULL) {
        snprintf(q->url, sizeof(q->url), "%s%s", s->object_url, key);
    } else {
        util_strlcpy(q->url, s->bucket_url, sizeof(q->url));
    }
}

static int
s3_put(struct store *base, const char *key, const void *buf, size_t len)
{
    struct s3_store *s = (struct s3_store *)base;
    struct s3_response r = {.limit = S3_ERROR_BODY_MAX};
    struct s3_request q;
    int rc;

    s3_request_init(&q, s, "put", "PUT", key);
    q.body = buf;
    q.body_len = len;
    rc = s3_request_run(s, &q, &r, 1);
    if (rc != 0) {
        log_failure(s, &q, &r, rc);
    }

    free(r.body);
    return rc;
}

static int
s3_get(struct store *base, const char *key, uint8_t **buf, size_t *len)
{
    struct s3_store *s = (struct s3_store *)base;
    struct s3_response r = {.limit = SIZE_MAX};
    struct s3_request q;
    int rc;

    s3_request_init(&q, s, "get", "GET", key);
    rc = s3_request_run(s, &q, &r, 1);
    if (rc == 0 && r.body == NULL) {
        /* An empty object still gets a buffer the caller can free. */
        r.body = malloc(1);
        rc = r.body == NULL ? IMGFLOW_ENOMEM : 0;
    }

    if (rc == 0) {
        *buf = r.body;
        *len = r.len;
        r.body = NULL;
    } else if (rc != IMGFLOW_ENOTFOUND) {
        log_failure(s, &q, &r, rc);
    }

    free(r.body);
    return rc;
}

static int
s3_del(struct store *base, const char *key)
{
    struct s3_store *s = (struct s3_store *)base;
    struct s3_response r = {.limit = S3_ERROR_BODY_MAX};
    struct s3_request q;
    int rc;

    s3_request_init(&q, s, "delete", "DELETE", key);
    rc = s3_request_run(s, &q, &r, 1);
    if (rc == IMGFLOW_ENOTFOUND) {
        rc = 0;
    }

    if (rc != 0) {
        log_failure(s, &q, &r, rc);
    }

    free(r.body);
    return rc;
}

static int
s3_ping(struct store *base)
{
    struct s3_store *s = (struct s3_store *)base;
    struct s3_response r = {.limit = S3_ERROR_BODY_MAX};
    struct s3_request q;
    int rc;

    /* Health checks want a quick answer, so no retries here. */
    s3_request_init(&q, s, "ping", "HEAD", NULL);
    rc = s3_request_run(s, &q, &r, 0);
    free(r.body);
    return rc;
}

static void
s3_close(struct store *base)
{
    struct s3_store *s = (struct s3_store *)base;

    for (int i = 0; i < s->pool_len; i++) {
        curl_easy_cleanup(s->pool[i]);
    }

    pthread_mutex_destroy(&s->pool_lock);
    curl_slist_free_all(s->headers);
    curl_slist_free_all(s->put_headers);
    if (s->secret_key != NULL) {
        explicit_bzero(s->secret_key, strlen(s->secret_key));
    }

    free(s->secret_key);
    free(s->access_key);
    free(s);
}

static const struct store_ops s3_ops = {
    .name = "s3",
    .put = s3_put,
    .get = s3_get,
    .del = s3_del,
    .ping = s3_ping,
    .close = s3_close,
};

/*
 * PUT the bucket. Outside us-east-1, S3 wants the region in the body.
 * A 409 means someone made it meanwhile; the caller looks again.
 */
static int
create_bucket(struct s3_store *s, struct s3_response *r)
{
    struct s3_request q;
    char body[256];
    int n = 0;

    if (strcmp(s->region, "us-east-1") != 0) {
        n = snprintf(body, sizeof(body),
                     "<CreateBucketConfiguration xmlns="
                     "\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                     "<LocationConstraint>%s</LocationConstraint>"
                     "</CreateBucketConfiguration>", s->region);
    }

    s3_request_init(&q, s, "create bucket", "PUT", NULL);
    q.body = (const uint8_t *)body;
    q.body_len = (size_t)n;
    return s3_request_run(s, &q, r, 0);
}

/* HEAD the bucket and, when missing and allowed, create it. */
static int
check_bucket(struct s3_store *s, int create, char *err, size_t errlen)
{
    struct s3_response r = {.limit = S3_ERROR_BODY_MAX};
    char detail[CURL_ERROR_SIZE + 64];
    struct s3_request q;
    int rc;

    s3_request_init(&q, s, "open", "HEAD", NULL);
    rc = s3_request_run(s, &q, &r, 0);
    if (rc == IMGFLOW_ENOTFOUND && create) {
        rc = create_bucket(s, &r);
        if (r.cc == CURLE_OK && r.status == 409) {
            rc = s3_request_run(s, &q, &r, 0);
        } else if (rc == 0) {
            log_info("store", "s3 bucket created bucket=%s endpoint=%s",
                     s->bucket, s->endpoint);
        }
    }

    describe(&r, detail, sizeof(detail));
    if (rc == IMGFLOW_ENOTFOUND) {
        snprintf(err, errlen, "S3 bucket %s does not exist at %s "
                 "(create_bucket=0)", s->bucket, s->endpoint);
    } else if (rc == IMGFLOW_EUNAVAIL) {
        snprintf(err, errlen, "cannot reach S3 endpoint %s for bucket %s: "
                 "%s", s->endpoint, s->bucket, detail);
    } else if (rc != 0 && r.status == 403) {
        snprintf(err, errlen, "S3 at %s denied access to bucket %s (check "
                 "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, the region and "
                 "the clock): %s", s->endpoint, s->bucket, detail);
    } else if (rc != 0) {
        snprintf(err, errlen, "S3 at %s refused bucket %s (wrong region?): "
                 "%s", s->endpoint, s->bucket, detail);
    }

    free(r.body);
    return rc;
}

/*
 * Open the S3 store for url, the text after "s3://":
 * BUCKET?endpoint=URL&region=R&path_style=0|1&create_bucket=0|1.
 * Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN. Checks that the bucket exists, creating it unless
 * create_bucket=0, so that a wrong setting fails at start. On success
 * *out belongs to the caller (store_close); any thread may then use it.
 * Returns 0, IMGFLOW_EINVAL (URL, credentials missing), ENOTFOUND (no
 * bucket), EUNAVAIL (unreachable), EIO (refused) or ENOMEM, err saying
 * why. Call from one thread at a time while others may use open stores.
 */
int
store_s3_open(const char *url, struct store **out, char *err,
              size_t errlen)
{
    struct s3_store *s = NULL;
    struct s3_config cfg;
    int rc;

    pthread_once(&s3_global_once, s3_global_init);
    if (s3_global_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl did not initialise: %s",
                 curl_easy_strerror(s3_global_rc));
        return IMGFLOW_EINTERNAL;
    }

    rc = parse_url(url, &cfg, err, errlen);
    if (rc != 0) {
        return rc;
    }

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return IMGFLOW_ENOMEM;
    }

    s->base.ops = &s3_ops;
    pthread_mutex_init(&s->pool_lock, NULL);
    util_strlcpy(s->bucket, cfg.bucket, sizeof(s->bucket));
    util_strlcpy(s->region, cfg.region, sizeof(s->region));
    util_url_redact(s->endpoint, sizeof(s->endpoint), cfg.endpoint);
    snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", cfg.region);
    if (build_urls(s, &cfg) != 0) {
        snprintf(err, errlen, "S3 endpoint URL too long");
        rc = IMGFLOW_EINVAL;
        goto out;
    }

    rc = build_headers(s);
    if (rc == 0) {
        rc = load_credentials(s, err, errlen);
    }

    if (rc == 0) {
        rc = check_bucket(s, cfg.create_bucket, err, errlen);
    }

    if (rc == 0) {
        log_info("store", "s3 store ready bucket=%s endpoint=%s region=%s "
                 "addressing=%s", s->bucket, s->endpoint, s->region,
                 cfg.path_style ? "path" : "virtual-host");
        *out = &s->base;
        s = NULL;
    }

out:
    if (rc == IMGFLOW_ENOMEM) {
        snprintf(err, errlen, "out of memory opening the S3 store");
    }

    if (s != NULL) {
        s3_close(&s->base);
    }
    return rc;
}
