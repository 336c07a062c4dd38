/*
 * `imgflow up` on a shared broker: the gateway and one worker process per
 * algorithm run as child processes of this one, which restarts any that
 * dies and, on SIGINT or SIGTERM, passes the signal on and waits for them
 * to drain. The children get the configuration through IMGFLOW_*
 * variables.
 * SPDX-License-Identifier: MIT
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

#define MAX_CHILDREN  (1 + 64)
#define RESTART_MAX_S 30.0 /* longest wait before a restart */
#define STABLE_S      60.0 /* a child up this long has its backoff reset */

struct child {
    char role[16];        /* "gateway" or "worker" */
    int starts;           /* how many times it was started */
    char algorithm[64];   /* workers only */
    pid_t pid;
    double started;       /* util_now() of the last start */
    double backoff_s;     /* wait before the next restart */
    double restart_at;    /* 0 while running */
};

static int
spawn(struct child *c)
{
    pid_t parent = getpid(), pid = fork();

    if (pid < 0) {
        return -1;
    }

    if (pid == 0) {
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);

        /* Children never outlive this supervisor, even one killed hard. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(1); /* the supervisor died before prctl took effect */
        }
        if (c->algorithm[0] != '\0') {
            execl("/proc/self/exe", "imgflow", c->role, "--algorithms",
                  c->algorithm, (char *)NULL);
        } else {
            execl("/proc/self/exe", "imgflow", c->role, (char *)NULL);
        }
        _exit(127);
    }

    c->pid = pid;
    c->starts++;
    c->started = util_now();
    c->restart_at = 0;
    log_info("up", "started %s%s%s pid=%ld", c->role,
             c->algorithm[0] ? " algorithm=" : "", c->algorithm, (long)pid);
    return 0;
}

/* A child ended without being asked: plan its restart with backoff. */
static void
on_child_exit(struct child *c, int status)
{
    double up = util_now() - c->started;

    if (up > STABLE_S) {
        c->backoff_s = 0.5;
    }

    log_error("up", "%s%s%s died pid=%ld %s=%d uptime_s=%.1f restart_in_s=%.1f",
              c->role, c->algorithm[0] ? " algorithm=" : "", c->algorithm,
              (long)c->pid, WIFSIGNALED(status) ? "signal" : "exit",
              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
              up, c->backoff_s);
    c->pid = 0;
    c->restart_at = util_now() + c->backoff_s;
    c->backoff_s = c->backoff_s * 2 < RESTART_MAX_S ? c->backoff_s * 2
                                                     : RESTART_MAX_S;
}

static int
plan_children(const struct config *cfg, struct child *children)
{
    int n = 0;

    snprintf(children[n++].role, sizeof(children[0].role), "gateway");
    for (size_t i = 0; i < algo_count() && n < MAX_CHILDREN; i++) {
        const struct algo *a = algo_at(i);

        if (!config_algorithm_enabled(cfg, a->name)) {
            continue;
        }

        snprintf(children[n].role, sizeof(children[n].role), "worker");
        snprintf(children[n].algorithm, sizeof(children[n].algorithm), "%s",
                 a->name);
        n++;
    }

    for (int i = 0; i < n; i++) {
        children[i].backoff_s = 0.5;
    }
    return n;
}

/*
 * A child that exits on its own within seconds of its first start has a
 * configuration problem (port in use, bad URL): restarting cannot help.
 */
static int
failed_at_start(const struct child *c, int status)
{
    return c->starts == 1 && WIFEXITED(status) &&
           util_now() - c->started < 5.0;
}

/*
 * Reap what ended; restart what is due. Returns 1 once a signal came, -1
 * when a child could not start at all.
 */
static int
supervise_step(struct child *children, int n, const sigset_t *set)
{
    struct timespec wait = {0, 200000000L};
    int status;
    pid_t pid;

    if (sigtimedwait(set, NULL, &wait) > 0) {
        return 1;
    }

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < n; i++) {
            if (children[i].pid != pid) {
                continue;
            }

            if (failed_at_start(&children[i], status)) {
                log_error("up", "%s exited at start (status %d); see its "
                          "message above", children[i].role,
                          WEXITSTATUS(status));
                children[i].pid = 0;
                return -1;
            }
            on_child_exit(&children[i], status);
        }
    }

    for (int i = 0; i < n; i++) {
        if (children[i].pid == 0 && util_now() >= children[i].restart_at &&
            spawn(&children[i]) != 0) {
            log_error("up", "cannot start %s: %s", children[i].role,
                      strerror(errno));
        }
    }
    return 0;
}

int
cmd_supervise(const struct config *cfg)
{
    struct child children[MAX_CHILDREN];
    sigset_t set;
    int n, rc;

    memset(children, 0, sizeof(children));
    if (config_export(cfg) != 0) {
        return 1;
    }

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    n = plan_children(cfg, children);
    log_info("up", "supervising gateway and %d worker process(es)", n - 1);
    while ((rc = supervise_step(children, n, &set)) == 0) {
        /* Every step reaps and restarts; a signal ends the loop. */
    }

    /*
     * Workers first, so the jobs they finish are still applied by the
     * gateway (children[0]), which goes last.
     */
    log_info("up", "stopping children");
    for (int pass = 0; pass < 2; pass++) {
        int from = pass == 0 ? 1 : 0, to = pass == 0 ? n : 1;

        for (int i = from; i < to; i++) {
            if (children[i].pid > 0) {
                kill(children[i].pid, SIGTERM);
            }
        }

        for (int i = from; i < to; i++) {
            if (children[i].pid > 0) {
                waitpid(children[i].pid, NULL, 0);
            }
        }
    }

    log_info("up", "stopped");
    return rc < 0 ? 1 : 0;
}
