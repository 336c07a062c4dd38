/*
 * Logging: one line per event on stderr, level and component first, then
 * a message and key=value fields, e.g.
 *   info gateway: listening address=127.0.0.1:8080
 * Any thread may log; lines are written whole.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_CORE_LOG_H
#define IMGFLOW_CORE_LOG_H

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG
};

/* Set the threshold; lines above it are dropped. */
void log_set_level(enum log_level level);

/* Parse "error", "warn", "info" or "debug"; -1 for anything else. */
int log_level_parse(const char *text);

/* Whether a level is currently written (to skip building costly fields). */
int log_enabled(enum log_level level);

void log_write(enum log_level level, const char *component, const char *fmt,
               ...) __attribute__((format(printf, 3, 4)));

#define log_error(comp, ...) log_write(LOG_LEVEL_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_write(LOG_LEVEL_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_write(LOG_LEVEL_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...) log_write(LOG_LEVEL_DEBUG, comp, __VA_ARGS__)

#endif
