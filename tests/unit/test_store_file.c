/*
 * Unit tests of the object store interface (src/store/store.c) and its
 * file backend (file.c), each case in a fresh mkdtemp directory: round
 * trips, nested keys, missing objects, deletes, key checks and atomic
 * writes that leave no temporary files behind.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "store/store.h"

#define INPUT_KEY "inputs/0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b.jpg"

struct fixture {
    char dir[64]; /* the mkdtemp data directory */
    struct store *store;
};

static int
setup_store(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char url[128], err[256];

    if (f == NULL) {
        return -1;
    }

    snprintf(f->dir, sizeof(f->dir), "/tmp/imgflow-store-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }

    snprintf(url, sizeof(url), "file://%s", f->dir);
    if (store_open(url, &f->store, err, sizeof(err)) != 0) {
        rmdir(f->dir);
        free(f);
        return -1;
    }

    *state = f;
    return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static int
teardown_store(void **state)
{
    struct fixture *f = *state;

    store_close(f->store);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Count of names under the walked tree that contain ".tmp.". */
static int tmp_files;

static int
count_tmp(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    if (strstr(path + ftw->base, ".tmp.") != NULL) {
        tmp_files++;
    }
    return 0;
}

static void
put_text(struct store *s, const char *key, const char *text)
{
    assert_int_equal(store_put(s, key, text, strlen(text)), 0);
}

static void
expect_object(struct store *s, const char *key, const void *data, size_t len)
{
    uint8_t *buf = NULL;
    size_t got = 0;

    assert_int_equal(store_get(s, key, &buf, &got), 0);
    assert_non_null(buf);
    assert_int_equal(got, len);
    if (len > 0) {
        assert_memory_equal(buf, data, len);
    }
    free(buf);
}

static void
test_store_put_get_round_trip(void **state)
{
    struct fixture *f = *state;
    size_t len = 300 * 1000 + 7;
    uint8_t *data = malloc(len);

    assert_non_null(data);

    /* Every byte value, NULs included. */
    for (size_t i = 0; i < len; i++) {
        data[i] = (uint8_t)(i * 131 + (i >> 9));
    }

    assert_int_equal(store_put(f->store, INPUT_KEY, data, len), 0);
    expect_object(f->store, INPUT_KEY, data, len);
    assert_int_equal(store_ping(f->store), 0);
    free(data);
}

static void
test_store_put_empty_object_round_trip(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(store_put(f->store, "results/empty.png", "", 0), 0);
    expect_object(f->store, "results/empty.png", "", 0);
}

static void
test_store_put_existing_key_replaced(void **state)
{
    struct fixture *f = *state;

    put_text(f->store, "results/x.png", "a much longer first version");
    put_text(f->store, "results/x.png", "short");
    expect_object(f->store, "results/x.png", "short", 5);
}

static void
test_store_put_nested_key_creates_dirs(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    struct stat st;

    put_text(f->store, "results/2025/06/27/deep.png", "deep");
    snprintf(path, sizeof(path), "%s/results/2025/06/27", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(path, sizeof(path), "%s/results/2025/06/27/deep.png", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 4);
    expect_object(f->store, "results/2025/06/27/deep.png", "deep", 4);

    /* A sibling in an existing directory is fine too. */
    put_text(f->store, "results/2025/06/27/other.png", "other");
    expect_object(f->store, "results/2025/06/27/other.png", "other", 5);
}

static void
test_store_get_missing_notfound(void **state)
{
    struct fixture *f = *state;
    uint8_t *buf = NULL;
    size_t len = 0;

    assert_int_equal(store_get(f->store, INPUT_KEY, &buf, &len),
                     IMGFLOW_ENOTFOUND);
    assert_null(buf);
    assert_int_equal(store_get(f->store, "no/such/dir/x.png", &buf, &len),
                     IMGFLOW_ENOTFOUND);
    assert_null(buf);
}

static void
test_store_delete_twice_succeeds(void **state)
{
    struct fixture *f = *state;
    uint8_t *buf = NULL;
    size_t len = 0;

    put_text(f->store, INPUT_KEY, "bytes");
    assert_int_equal(store_delete(f->store, INPUT_KEY), 0);
    assert_int_equal(store_get(f->store, INPUT_KEY, &buf, &len),
                     IMGFLOW_ENOTFOUND);
    assert_int_equal(store_delete(f->store, INPUT_KEY), 0);
    assert_int_equal(store_delete(f->store, "never/written.png"), 0);
}

static void
test_store_key_valid_hostile_refused(void **state)
{
    char long_key[301];

    (void)state;
    memset(long_key, 'a', 300);
    long_key[300] = '\0';
    assert_false(store_key_valid("../x"));
    assert_false(store_key_valid("/etc/passwd"));
    assert_false(store_key_valid("a/../b"));
    assert_false(store_key_valid("inputs/.."));
    assert_false(store_key_valid("A"));
    assert_false(store_key_valid("inputs/X.png"));
    assert_false(store_key_valid(""));
    assert_false(store_key_valid(long_key));
    assert_false(store_key_valid("inputs/a b.png"));
    assert_false(store_key_valid("inputs\\x.png"));
    assert_false(store_key_valid("inputs/x.png\n"));
}

static void
test_store_key_valid_built_keys_accepted(void **state)
{
    (void)state;
    assert_true(store_key_valid(INPUT_KEY));
    assert_true(
        store_key_valid("results/0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b.png"));
    assert_true(store_key_valid("a"));
    assert_true(store_key_valid("results/x_1.webp"));
}

static void
test_store_put_invalid_key_einval(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;

    assert_int_equal(store_put(f->store, "../escape", "x", 1), IMGFLOW_EINVAL);
    assert_int_equal(store_put(f->store, "/tmp/escape", "x", 1),
                     IMGFLOW_EINVAL);
    assert_int_equal(store_put(f->store, "a/../b", "x", 1), IMGFLOW_EINVAL);
    assert_int_equal(store_put(f->store, "", "x", 1), IMGFLOW_EINVAL);

    /* Nothing was written beside the data directory. */
    snprintf(path, sizeof(path), "%s/../escape", f->dir);
    assert_int_not_equal(access(path, F_OK), 0);

    assert_int_equal(store_get(f->store, "../escape", &buf, &len),
                     IMGFLOW_EINVAL);
    assert_null(buf);
    assert_int_equal(store_delete(f->store, "../escape"), IMGFLOW_EINVAL);
}

static void
test_store_put_no_tmp_files_left(void **state)
{
    struct fixture *f = *state;

    put_text(f->store, INPUT_KEY, "first");
    put_text(f->store, INPUT_KEY, "second");
    put_text(f->store, "results/a/b.png", "nested");
    put_text(f->store, "top.png", "top");
    assert_int_equal(store_delete(f->store, "top.png"), 0);

    tmp_files = 0;
    assert_int_equal(nftw(f->dir, count_tmp, 16, FTW_PHYS), 0);
    assert_int_equal(tmp_files, 0);
}

static void
test_store_open_bad_url_fails(void **state)
{
    struct store *s = NULL;
    char err[256] = "";

    (void)state;
    assert_int_equal(store_open("ftp://host/dir", &s, err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_true(strlen(err) > 0);
    assert_null(s);
    assert_int_equal(store_open("file://", &s, err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_null(s);
}

static void
test_store_open_missing_dir_created(void **state)
{
    struct fixture *f = *state;
    struct store *s = NULL;
    char url[256], err[256];

    snprintf(url, sizeof(url), "file://%s/new/data", f->dir);
    assert_int_equal(store_open(url, &s, err, sizeof(err)), 0);
    put_text(s, "inputs/x.png", "x");
    expect_object(s, "inputs/x.png", "x", 1);
    store_close(s);

    /* Both stores see one file system. */
    expect_object(f->store, "new/data/inputs/x.png", "x", 1);
}

int
main(void)
{
#define STORE_TEST(f)                                                          \
    cmocka_unit_test_setup_teardown(f, setup_store, teardown_store)
    const struct CMUnitTest tests[] = {
        STORE_TEST(test_store_put_get_round_trip),
        STORE_TEST(test_store_put_empty_object_round_trip),
        STORE_TEST(test_store_put_existing_key_replaced),
        STORE_TEST(test_store_put_nested_key_creates_dirs),
        STORE_TEST(test_store_get_missing_notfound),
        STORE_TEST(test_store_delete_twice_succeeds),
        cmocka_unit_test(test_store_key_valid_hostile_refused),
        cmocka_unit_test(test_store_key_valid_built_keys_accepted),
        STORE_TEST(test_store_put_invalid_key_einval),
        STORE_TEST(test_store_put_no_tmp_files_left),
        cmocka_unit_test(test_store_open_bad_url_fails),
        STORE_TEST(test_store_open_missing_dir_created),
    };
#undef STORE_TEST

    return cmocka_run_group_tests(tests, NULL, NULL);
}
