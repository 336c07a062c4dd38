/*
 * Logging to stderr, one whole line per write(2) so that lines from
 * several threads never interleave.
 * SPDX-License-Identifier: MIT
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int log_threshold = LOG_LEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_set_level(enum log_level level)
{
    log_threshold = level;
}

int
log_level_parse(const char *text)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            return i;
        }
    }

    if (strcmp(text, "warning") == 0) {
        return LOG_LEVEL_WARN;
    }
    return -1;
}

int
log_enabled(enum log_level level)
{
    return (int)level <= log_threshold;
}

void
log_write(enum log_level level, const char *component, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n, m;

    if (!log_enabled(level)) {
        return;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "%-5s %s: ", level_names[level],
                 component);

    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0) {
        return;
    }

    n += m;
    if ((size_t)n > sizeof(line) - 40) {
        n = (int)sizeof(line) - 40;
    }

    /* The time goes last: level and component lead for grep and eyes. */
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  " ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\n",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* Nowhere left to report a failure to write the log. */
    }
}
