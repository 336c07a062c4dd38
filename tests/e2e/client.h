/*
 * End-to-end test harness: starts `imgflow up` on a free port with a
 * fresh data directory, and speaks HTTP to it with libcurl.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_TESTS_E2E_CLIENT_H
#define IMGFLOW_TESTS_E2E_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct e2e_server {
    pid_t pid;
    int port;
    char data[256];
    char base[96];   /* http://127.0.0.1:PORT */
};

struct e2e_response {
    long status;     /* HTTP status, -1 when the request failed */
    char *body;      /* NUL-terminated */
    size_t len;
    json_t *json;    /* parsed body when it is JSON, else NULL */
    char type[128];  /* Content-Type */
};

/* Start `BINARY up --listen 127.0.0.1:PORT --data DIR EXTRA...`. */
int e2e_server_start(struct e2e_server *s, const char *binary,
                     const char *const *extra);

/*
 * The same for another serving command ("gateway"); port 0 picks a free
 * one, another port is reused (to restart on the same address).
 */
int e2e_server_start_as(struct e2e_server *s, const char *binary,
                        const char *command, int port,
                        const char *const *extra);

/* Start a program with argv (NULL-terminated); its pid, or -1. */
pid_t e2e_spawn(const char *const *argv);

/* The same with its standard error appended to the file log. */
pid_t e2e_spawn_logged(const char *const *argv, const char *log);

/* How many lines of the file log contain text. */
int e2e_log_count(const char *log, const char *text);

/* A free TCP port on 127.0.0.1 below max (0 for any); -1 if none. */
int e2e_free_port(int max);

/* Wait until something accepts on 127.0.0.1:port; 0, or -1 on timeout. */
int e2e_wait_port(int port, double timeout);

/* SIGTERM, wait; returns the exit status (0 on a clean stop). */
int e2e_server_stop(struct e2e_server *s);

/* GET base+path. */
void e2e_get(const struct e2e_server *s, const char *path,
             struct e2e_response *r);

/*
 * POST a multipart form to base+path: the file bytes as "image" (when
 * image is not NULL) and NULL-terminated name/value pairs.
 */
void e2e_post(const struct e2e_server *s, const char *path,
              const void *image, size_t len, const char *const *fields,
              struct e2e_response *r);

/* Poll the status until completed or failed; the final document. */
json_t *e2e_wait(const struct e2e_server *s, const char *id, double timeout);

void e2e_response_clear(struct e2e_response *r);

#endif
