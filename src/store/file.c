/*
 * The file object store, the embedded default: one file per key under a
 * data directory. Writes go to a temporary name and are renamed into
 * place, so a reader never sees half an image.
 * SPDX-License-Identifier: MIT
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/util.h"

struct file_store {
    struct store base;
    char dir[PATH_MAX / 2];
};

/* mkdir -p for the directories of path (not its last component). */
static int
make_parents(char *path)
{
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }

        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            *p = '/';
            return IMGFLOW_EIO;
        }
        *p = '/';
    }
    return 0;
}

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            return IMGFLOW_EIO;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
file_put(struct store *s, const char *key, const void *buf, size_t len)
{
    struct file_store *fs = (struct file_store *)s;
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    int fd = -1, rc;

    snprintf(path, sizeof(path), "%s/%s", fs->dir, key);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%lx", path, (long)getpid(),
             (unsigned long)gettid());
    if (make_parents(path) != 0) {
        return IMGFLOW_EIO;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return IMGFLOW_EIO;
    }

    rc = write_all(fd, buf, len);
    if (close(fd) != 0 && rc == 0) {
        rc = IMGFLOW_EIO;
    }

    if (rc == 0 && rename(tmp, path) != 0) {
        rc = IMGFLOW_EIO;
    }

    if (rc != 0) {
        unlink(tmp);
    }
    return rc;
}

static int
file_get(struct store *s, const char *key, uint8_t **buf, size_t *len)
{
    struct file_store *fs = (struct file_store *)s;
    char path[PATH_MAX];
    uint8_t *data = NULL;
    struct stat st;
    size_t got = 0;
    int fd, rc = 0;

    snprintf(path, sizeof(path), "%s/%s", fs->dir, key);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? IMGFLOW_ENOTFOUND : IMGFLOW_EIO;
    }

    if (fstat(fd, &st) != 0 || (data = malloc((size_t)st.st_size + 1)) ==
                                   NULL) {
        rc = IMGFLOW_ENOMEM;
        goto out;
    }

    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            rc = IMGFLOW_EIO;
            goto out;
        }
        got += (size_t)n;
    }

    *buf = data;
    *len = got;
    data = NULL;

out:
    free(data);
    close(fd);
    return rc;
}

static int
file_del(struct store *s, const char *key)
{
    struct file_store *fs = (struct file_store *)s;
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", fs->dir, key);
    if (unlink(path) != 0 && errno != ENOENT) {
        return IMGFLOW_EIO;
    }
    return 0;
}

static int
file_ping(struct store *s)
{
    struct file_store *fs = (struct file_store *)s;

    return access(fs->dir, W_OK) == 0 ? 0 : IMGFLOW_EUNAVAIL;
}

static void
file_close(struct store *s)
{
    free(s);
}

static int removed_tmp; /* only touched under nftw in store_file_open */

static int
on_tmp_entry(const char *path, const struct stat *st, int type,
             struct FTW *ftw)
{
    (void)st;
    if (type == FTW_F && strstr(path + ftw->base, ".tmp.") != NULL &&
        unlink(path) == 0) {
        removed_tmp++;
    }
    return 0;
}

/*
 * A process killed in the middle of file_put leaves its temporary file;
 * nothing reads those, so they are removed when the store opens.
 */
static void
remove_leftovers(const char *dir)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

    pthread_mutex_lock(&lock);
    removed_tmp = 0;
    nftw(dir, on_tmp_entry, 16, FTW_PHYS);
    if (removed_tmp > 0) {
        log_info("store", "removed unfinished writes dir=%s count=%d", dir,
                 removed_tmp);
    }
    pthread_mutex_unlock(&lock);
}

static const struct store_ops file_ops = {
    .name = "file",
    .put = file_put,
    .get = file_get,
    .del = file_del,
    .ping = file_ping,
    .close = file_close,
};

int
store_file_open(const char *dir, struct store **out, char *err,
                size_t errlen)
{
    struct file_store *fs;
    char probe[PATH_MAX];

    if (dir[0] == '\0' || strlen(dir) >= sizeof(fs->dir) - 1) {
        snprintf(err, errlen, "file store needs a directory: file://DIR");
        return IMGFLOW_EINVAL;
    }

    fs = calloc(1, sizeof(*fs));
    if (fs == NULL) {
        return IMGFLOW_ENOMEM;
    }

    fs->base.ops = &file_ops;
    util_strlcpy(fs->dir, dir, sizeof(fs->dir));
    snprintf(probe, sizeof(probe), "%s/x", fs->dir);
    if (make_parents(probe) != 0 || access(fs->dir, W_OK) != 0) {
        snprintf(err, errlen, "cannot create or write data directory %s: %s",
                 fs->dir, strerror(errno));
        free(fs);
        return IMGFLOW_EIO;
    }

    remove_leftovers(fs->dir);
    *out = &fs->base;
    return 0;
}
