/*
 * Small helpers every module uses: clocks, ISO 8601 timestamps, UUIDv4
 * request ids, bounded string copies.
 * SPDX-License-Identifier: MIT
 */
#ifndef IMGFLOW_CORE_UTIL_H
#define IMGFLOW_CORE_UTIL_H

#include <stddef.h>

#define UTIL_UUID_LEN 36 /* characters, without the NUL */

/* Seconds on the monotonic clock. */
double util_now(void);

/* Sleep for ms milliseconds (interrupted sleeps resume). */
void util_sleep_ms(long ms);

/* Current UTC time as "2025-06-27T11:00:00.123Z" into buf (>= 25 bytes). */
void util_timestamp(char *buf, size_t len);

/* Seconds since a util_timestamp() value (0 if unreadable or future). */
double util_timestamp_age(const char *iso);

/*
 * A random version 4 UUID in lower-case canonical form into
 * buf (>= 37 bytes). Returns 0 or IMGFLOW_EIO when no randomness is
 * available.
 */
int util_uuid4(char *buf, size_t len);

/* 1 when text is a canonical lower-case UUID (any version), else 0. */
int util_uuid_valid(const char *text);

/* strlcpy: copies at most len-1 bytes, always terminates; source length. */
size_t util_strlcpy(char *dst, const char *src, size_t len);

/*
 * Copy a URL for logs with any "user:password@" replaced by "***@", so
 * that credentials never reach a log line or an error message.
 */
void util_url_redact(char *buf, size_t len, const char *url);

/* "45MB"-style size for a byte count (one decimal below 10 MB). */
void util_format_mb(char *buf, size_t len, size_t bytes);

#endif
