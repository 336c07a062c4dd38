/*
 * Clocks, timestamps, request ids and string helpers.
 * SPDX-License-Identifier: MIT
 */
#include "core/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/error.h"

double
util_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
util_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* Resume with the time left. */
    }
}

void
util_timestamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    char sec[24];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03ldZ", sec, ts.tv_nsec / 1000000);
}

double
util_timestamp_age(const char *iso)
{
    struct timespec now;
    struct tm tm = {0};
    const char *rest;
    double frac = 0, age;

    rest = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (rest == NULL) {
        return 0;
    }

    if (*rest == '.') {
        frac = strtod(rest, NULL);
    }

    clock_gettime(CLOCK_REALTIME, &now);
    age = (double)(now.tv_sec - timegm(&tm)) + now.tv_nsec / 1e9 - frac;
    return age > 0 ? age : 0;
}

int
util_uuid4(char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    size_t got = 0;
    char *p = buf;

    if (len < UTIL_UUID_LEN + 1) {
        return IMGFLOW_EINVAL;
    }

    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

        if (n < 0 && errno != EINTR) {
            return IMGFLOW_EIO;
        }
        got += n > 0 ? (size_t)n : 0;
    }

    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0x0f];
    }

    *p = '\0';
    return 0;
}

int
util_uuid_valid(const char *text)
{
    for (int i = 0; i < UTIL_UUID_LEN; i++) {
        char c = text[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return 0;
            }
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return text[UTIL_UUID_LEN] == '\0';
}

size_t
util_strlcpy(char *dst, const char *src, size_t len)
{
    size_t n = strlen(src);

    if (len > 0) {
        size_t m = n < len - 1 ? n : len - 1;

        memcpy(dst, src, m);
        dst[m] = '\0';
    }
    return n;
}

void
util_format_mb(char *buf, size_t len, size_t bytes)
{
    double mb = bytes / 1e6;

    if (mb < 10.0) {
        snprintf(buf, len, "%.1fMB", mb);
    } else {
        snprintf(buf, len, "%.0fMB", mb);
    }
}

void
util_url_redact(char *buf, size_t len, const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');

    if (scheme == NULL || at == NULL || (slash != NULL && slash < at)) {
        snprintf(buf, len, "%s", url);
        return;
    }
    snprintf(buf, len, "%.*s***%s", (int)(host - url), url, at);
}
