/*
 * Private servers for end-to-end tests (see services.h).
 * SPDX-License-Identifier: MIT
 */
#include "e2e/services.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e/client.h"

void
e2e_stop_pid(pid_t *pid, int sig)
{
    if (*pid > 0) {
        kill(*pid, sig);
        waitpid(*pid, NULL, 0);
        *pid = 0;
    }
}

int
e2e_services_rabbit(struct e2e_services *sv, const char *mode)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "%s/scripts/rabbitmq-test-server %s %d "
             "%s/rabbit >/dev/null", sv->source, mode, sv->rabbit_port,
             sv->dir);
    return system(cmd) == 0 ? 0 : -1;
}

int
e2e_services_redis_start(struct e2e_services *sv)
{
    char port[16];
    int p = sv->redis_port > 0 ? sv->redis_port : e2e_free_port(0);
    const char *argv[] = {"/usr/bin/redis-server", "--port", port, "--save",
                          "", "--appendonly", "no", "--bind", "127.0.0.1",
                          "--dir", sv->dir, NULL};

    snprintf(port, sizeof(port), "%d", p);
    sv->redis_pid = e2e_spawn(argv);
    sv->redis_port = p;
    snprintf(sv->status, sizeof(sv->status), "redis://127.0.0.1:%d/0", p);
    return e2e_wait_port(p, 20);
}

int
e2e_services_s3_start(struct e2e_services *sv)
{
    char port[16], script[600], sdir[128];
    int p = sv->s3_port > 0 ? sv->s3_port : e2e_free_port(0);
    const char *argv[] = {"/bin/sh", script, "--port", port, "--dir", sdir,
                          NULL};

    snprintf(port, sizeof(port), "%d", p);
    snprintf(script, sizeof(script), "%s/scripts/s3-test-server",
             sv->source);
    snprintf(sdir, sizeof(sdir), "%s/s3", sv->dir);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    sv->s3_pid = e2e_spawn(argv);
    sv->s3_port = p;
    snprintf(sv->store, sizeof(sv->store),
             "s3://imgflow?endpoint=http://127.0.0.1:%d", p);
    return e2e_wait_port(p, 180); /* the first run installs s3rver */
}

int
e2e_services_start(struct e2e_services *sv)
{
    const char *src = getenv("IMGFLOW_SOURCE_DIR");

    memset(sv, 0, sizeof(*sv));
    snprintf(sv->source, sizeof(sv->source), "%s", src ? src : ".");
    snprintf(sv->dir, sizeof(sv->dir), "/tmp/imgflow-dist-XXXXXX");
    if (mkdtemp(sv->dir) == NULL ||
        (sv->rabbit_port = e2e_free_port(45000)) < 0) {
        return -1;
    }

    snprintf(sv->broker, sizeof(sv->broker),
             "amqp://guest:guest@127.0.0.1:%d/", sv->rabbit_port);
    if (e2e_services_rabbit(sv, "start") != 0 ||
        e2e_services_redis_start(sv) != 0 ||
        e2e_services_s3_start(sv) != 0) {
        fprintf(stderr, "cannot start RabbitMQ, Redis or the S3 server "
                "(scripts/install-deps installs them)\n");
        e2e_services_stop(sv);
        return -1;
    }
    return 0;
}

void
e2e_services_stop(struct e2e_services *sv)
{
    char cmd[128];

    e2e_stop_pid(&sv->s3_pid, SIGTERM);
    e2e_stop_pid(&sv->redis_pid, SIGTERM);
    if (sv->rabbit_port > 0) {
        e2e_services_rabbit(sv, "stop");
    }

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sv->dir);
    if (sv->dir[0] != '\0' && system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", sv->dir);
    }
}
