/*
 * The object store interface: URL dispatch and key checks.
 * SPDX-License-Identifier: MIT
 */
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"

int
store_open(const char *url, struct store **out, char *err, size_t errlen)
{
    if (strncmp(url, "file://", 7) == 0) {
        return store_file_open(url + 7, out, err, errlen);
    }

    if (strncmp(url, "s3://", 5) == 0) {
        return store_s3_open(url + 5, out, err, errlen);
    }

    snprintf(err, errlen, "unknown store URL scheme (use file:// or s3://)");
    return IMGFLOW_EINVAL;
}

int
store_key_valid(const char *key)
{
    size_t len = strlen(key);

    if (len == 0 || len > 200 || key[0] == '/' || strstr(key, "..")) {
        return 0;
    }

    for (size_t i = 0; i < len; i++) {
        char c = key[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-' || c == '/')) {
            return 0;
        }
    }
    return 1;
}

int
store_put(struct store *s, const char *key, const void *buf, size_t len)
{
    if (!store_key_valid(key)) {
        return IMGFLOW_EINVAL;
    }
    return s->ops->put(s, key, buf, len);
}

int
store_get(struct store *s, const char *key, uint8_t **buf, size_t *len)
{
    if (!store_key_valid(key)) {
        return IMGFLOW_EINVAL;
    }
    return s->ops->get(s, key, buf, len);
}

int
store_delete(struct store *s, const char *key)
{
    if (!store_key_valid(key)) {
        return IMGFLOW_EINVAL;
    }
    return s->ops->del(s, key);
}

int
store_ping(struct store *s)
{
    return s->ops->ping(s);
}

void
store_close(struct store *s)
{
    if (s != NULL) {
        s->ops->close(s);
    }
}
