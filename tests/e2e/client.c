/*
 * End-to-end test harness (see client.h).
 * SPDX-License-Identifier: MIT
 */
#include "e2e/client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int
bind_port(int want)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)want);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }

    if (fd >= 0) {
        close(fd);
    }
    return port;
}

int
e2e_free_port(int max)
{
    if (max <= 0) {
        return bind_port(0);
    }

    for (int i = 0; i < 200; i++) {
        int want = 20000 + (int)(((unsigned)getpid() * 7919u + i * 104729u) %
                                 (unsigned)(max - 20000));

        if (bind_port(want) == want) {
            return want;
        }
    }
    return -1;
}

int
e2e_wait_port(int port, double timeout)
{
    struct sockaddr_in a = {0};

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    for (double t = 0; t < timeout; t += 0.1) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int ok = fd >= 0 &&
                 connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

        if (fd >= 0) {
            close(fd);
        }

        if (ok) {
            return 0;
        }

        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

pid_t
e2e_spawn_logged(const char *const *argv, const char *log)
{
    pid_t pid = fork();

    if (pid == 0) {
        if (log != NULL) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

            if (fd >= 0) {
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

pid_t
e2e_spawn(const char *const *argv)
{
    return e2e_spawn_logged(argv, NULL);
}

int
e2e_log_count(const char *log, const char *text)
{
    char line[4096];
    FILE *f = fopen(log, "r");
    int n = 0;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, text) != NULL;
    }

    if (f != NULL) {
        fclose(f);
    }
    return n;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

int
e2e_server_start(struct e2e_server *s, const char *binary,
                 const char *const *extra)
{
    return e2e_server_start_as(s, binary, "up", 0, extra);
}

int
e2e_server_start_as(struct e2e_server *s, const char *binary,
                    const char *command, int port, const char *const *extra)
{
    char listen[64];
    const char *argv[32];
    int n = 0;

    memset(s, 0, sizeof(*s));
    snprintf(s->data, sizeof(s->data), "/tmp/imgflow-e2e-XXXXXX");
    s->port = port > 0 ? port : e2e_free_port(0);
    if (mkdtemp(s->data) == NULL || s->port < 0) {
        return -1;
    }

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    snprintf(s->base, sizeof(s->base), "http://%s", listen);
    argv[n++] = binary;
    argv[n++] = command;
    argv[n++] = "--listen";
    argv[n++] = listen;
    argv[n++] = "--data";
    argv[n++] = s->data;
    while (extra != NULL && *extra != NULL && n < 30) {
        argv[n++] = *extra++;
    }
    argv[n] = NULL;

    s->pid = e2e_spawn(argv);

    /* Ready when health answers; give a sanitizer build time to start. */
    for (int i = 0; i < 300; i++) {
        struct e2e_response r;
        long status;

        e2e_get(s, "/api/v1/health", &r);
        status = r.status;
        e2e_response_clear(&r);
        if (status == 200) {
            return 0;
        }

        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            return -1;
        }
        sleep_ms(100);
    }

    /* Never leave a server behind: it would hold the test's pipes open. */
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

int
e2e_server_stop(struct e2e_server *s)
{
    int status = 0;
    char cmd[300];

    if (s->pid <= 0) {
        return -1;
    }

    kill(s->pid, SIGTERM);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->data);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", s->data);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct e2e_response *r = userdata;
    size_t n = size * nmemb;
    char *p = realloc(r->body, r->len + n + 1);

    if (p == NULL) {
        return 0;
    }

    memcpy(p + r->len, ptr, n);
    r->body = p;
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static void
perform(CURL *curl, const char *url, struct e2e_response *r)
{
    char *type = NULL;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
        curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    }

    if (type != NULL) {
        snprintf(r->type, sizeof(r->type), "%s", type);
    }

    if (r->body != NULL && strstr(r->type, "json") != NULL) {
        r->json = json_loadb(r->body, r->len, 0, NULL);
    }
}

void
e2e_get(const struct e2e_server *s, const char *path,
        struct e2e_response *r)
{
    CURL *curl = curl_easy_init();
    char url[512];

    snprintf(url, sizeof(url), "%s%s", s->base, path);
    perform(curl, url, r);
    curl_easy_cleanup(curl);
}

void
e2e_post(const struct e2e_server *s, const char *path, const void *image,
         size_t len, const char *const *fields, struct e2e_response *r)
{
    CURL *curl = curl_easy_init();
    curl_mime *mime = curl_mime_init(curl);
    curl_mimepart *part;
    char url[512];

    if (image != NULL) {
        part = curl_mime_addpart(mime);
        curl_mime_name(part, "image");
        curl_mime_filename(part, "upload.bin");
        curl_mime_data(part, image, len);
    }

    for (; fields != NULL && fields[0] != NULL; fields += 2) {
        part = curl_mime_addpart(mime);
        curl_mime_name(part, fields[0]);
        curl_mime_data(part, fields[1], CURL_ZERO_TERMINATED);
    }

    snprintf(url, sizeof(url), "%s%s", s->base, path);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    perform(curl, url, r);
    curl_mime_free(mime);
    curl_easy_cleanup(curl);
}

json_t *
e2e_wait(const struct e2e_server *s, const char *id, double timeout)
{
    char path[128];

    snprintf(path, sizeof(path), "/api/v1/status/%s", id);
    for (double waited = 0; waited < timeout; waited += 0.05) {
        struct e2e_response r;
        const char *st;

        e2e_get(s, path, &r);
        st = json_string_value(json_object_get(r.json, "status"));
        if (st != NULL &&
            (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0)) {
            json_t *doc = json_incref(r.json);

            e2e_response_clear(&r);
            return doc;
        }

        e2e_response_clear(&r);
        sleep_ms(50);
    }
    return NULL;
}

void
e2e_response_clear(struct e2e_response *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}
