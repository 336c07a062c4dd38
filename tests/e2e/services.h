/*
 * Private RabbitMQ, Redis and S3-compatible servers for end-to-end tests,
 * on free loopback ports under one temporary directory, always stopped at
 * the end.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_TESTS_E2E_SERVICES_H
#define IMGFLOW_TESTS_E2E_SERVICES_H

#include <sys/types.h>

struct e2e_services {
    char source[512];   /* source tree, for scripts/ */
    char dir[64];       /* everything the servers write */
    int rabbit_port;
    int redis_port;
    int s3_port;
    pid_t redis_pid;
    pid_t s3_pid;
    char broker[128];   /* amqp://... */
    char status[128];   /* redis://... */
    char store[160];    /* s3://...; AWS_* are set for children */
};

/* Start all three; 0, or -1 after saying what failed. */
int e2e_services_start(struct e2e_services *sv);

/* Stop all three and remove their directory. */
void e2e_services_stop(struct e2e_services *sv);

/* "start" or "stop" the RabbitMQ node (durable data kept between). */
int e2e_services_rabbit(struct e2e_services *sv, const char *mode);

/* Start Redis (again, on the same port once it ran). */
int e2e_services_redis_start(struct e2e_services *sv);

/* Start the S3 server (again, on the same port and data once it ran). */
int e2e_services_s3_start(struct e2e_services *sv);

/* Signal a child and reap it; *pid becomes 0. */
void e2e_stop_pid(pid_t *pid, int sig);

#endif
