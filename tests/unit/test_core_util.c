/*
 * Unit tests of src/core/util.c: UUIDv4 request ids and their check,
 * bounded string copies, ISO 8601 timestamps and "45MB"-style sizes.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/util.h"

#define N_DRAWS 1000

static const char *const valid_uuid = "0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b";

/* 1 when text matches the extended regular expression re. */
static int
matches(const char *re, const char *text)
{
    regex_t rx;
    int rc;

    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    rc = regexec(&rx, text, 0, NULL, 0);
    regfree(&rx);
    return rc == 0;
}

static void
test_util_uuid4_draw_version4_variant(void **state)
{
    char id[UTIL_UUID_LEN + 1];

    (void)state;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(util_uuid4(id, sizeof(id)), 0);
        assert_int_equal(strlen(id), UTIL_UUID_LEN);
        assert_true(util_uuid_valid(id));
        assert_true(matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                            "[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                            id));
    }
}

static int
compare_ids(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void
test_util_uuid4_many_draws_unique(void **state)
{
    char(*ids)[UTIL_UUID_LEN + 1] = calloc(N_DRAWS, sizeof(*ids));

    (void)state;
    assert_non_null(ids);
    for (int i = 0; i < N_DRAWS; i++) {
        assert_int_equal(util_uuid4(ids[i], sizeof(ids[i])), 0);
    }

    /* Sorted, any duplicate sits next to its twin. */
    qsort(ids, N_DRAWS, sizeof(*ids), compare_ids);
    for (int i = 1; i < N_DRAWS; i++) {
        assert_string_not_equal(ids[i - 1], ids[i]);
    }
    free(ids);
}

static void
test_util_uuid4_short_buffer_fails(void **state)
{
    char id[UTIL_UUID_LEN];

    (void)state;
    assert_int_equal(util_uuid4(id, sizeof(id)), IMGFLOW_EINVAL);
}

static void
test_util_uuid_valid_canonical_accepted(void **state)
{
    (void)state;
    assert_true(util_uuid_valid(valid_uuid));
    assert_true(util_uuid_valid("00000000-0000-0000-0000-000000000000"));

    /* Any version is a valid id, not only 4. */
    assert_true(util_uuid_valid("5b0f6a7e-3c1d-1e2a-9f00-000000000001"));
}

static void
test_util_uuid_valid_upper_case_refused(void **state)
{
    (void)state;
    assert_false(util_uuid_valid("0B9E7F5E-1C2D-4E3F-8A9B-0C1D2E3F4A5B"));
    assert_false(util_uuid_valid("0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5B"));
}

static void
test_util_uuid_valid_wrong_length_refused(void **state)
{
    (void)state;
    assert_false(util_uuid_valid(""));
    assert_false(util_uuid_valid("0b9e7f5e"));
    assert_false(util_uuid_valid("0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5"));
    assert_false(util_uuid_valid("0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b0"));
    assert_false(util_uuid_valid("0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b "));
}

static void
test_util_uuid_valid_missing_dashes_refused(void **state)
{
    (void)state;
    assert_false(util_uuid_valid("0b9e7f5e1c2d4e3f8a9b0c1d2e3f4a5b"));
    assert_false(util_uuid_valid("0b9e7f5e1c2d-4e3f-8a9b-0c1d2e3f4a5b"));

    /* Right length, dash in the wrong place. */
    assert_false(util_uuid_valid("0b9e7f5-e1c2d-4e3f-8a9b-0c1d2e3f4a5b"));
    assert_false(util_uuid_valid("0b9e7f5e_1c2d_4e3f_8a9b_0c1d2e3f4a5b"));
    assert_false(util_uuid_valid("0b9e7f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5g"));
}

static void
test_util_strlcpy_long_source_truncated(void **state)
{
    char buf[8];

    (void)state;
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(util_strlcpy(buf, "abcdefghijkl", sizeof(buf)), 12);
    assert_string_equal(buf, "abcdefg");

    /* Exactly one byte too long still loses its last byte. */
    assert_int_equal(util_strlcpy(buf, "12345678", sizeof(buf)), 8);
    assert_string_equal(buf, "1234567");
}

static void
test_util_strlcpy_short_source_copied(void **state)
{
    char buf[8];

    (void)state;
    assert_int_equal(util_strlcpy(buf, "abc", sizeof(buf)), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(util_strlcpy(buf, "1234567", sizeof(buf)), 7);
    assert_string_equal(buf, "1234567");
    assert_int_equal(util_strlcpy(buf, "", sizeof(buf)), 0);
    assert_string_equal(buf, "");
}

static void
test_util_strlcpy_zero_length_untouched(void **state)
{
    char buf[4] = "zzz";

    (void)state;
    assert_int_equal(util_strlcpy(buf, "abc", 0), 3);
    assert_string_equal(buf, "zzz");

    /* A one-byte buffer holds only the terminator. */
    assert_int_equal(util_strlcpy(buf, "abc", 1), 3);
    assert_string_equal(buf, "");
}

static void
test_util_timestamp_format_iso8601_utc(void **state)
{
    char ts[32];
    struct tm tm;
    time_t before, after, t;

    (void)state;
    before = time(NULL);
    util_timestamp(ts, sizeof(ts));
    after = time(NULL);
    assert_true(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                        "[0-9]{2}\\.[0-9]{3}Z$",
                        ts));

    /* It is the current time in UTC, not local time. */
    memset(&tm, 0, sizeof(tm));
    assert_non_null(strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm));
    t = timegm(&tm);
    assert_true(t >= before && t <= after);
}

static void
test_util_format_mb_sizes_formatted(void **state)
{
    char buf[32];

    (void)state;
    util_format_mb(buf, sizeof(buf), 45000000);
    assert_string_equal(buf, "45MB");
    util_format_mb(buf, sizeof(buf), 300000);
    assert_string_equal(buf, "0.3MB");
    util_format_mb(buf, sizeof(buf), 0);
    assert_string_equal(buf, "0.0MB");
    util_format_mb(buf, sizeof(buf), 2500000);
    assert_string_equal(buf, "2.5MB");
    util_format_mb(buf, sizeof(buf), 1234000000);
    assert_string_equal(buf, "1234MB");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_uuid4_draw_version4_variant),
        cmocka_unit_test(test_util_uuid4_many_draws_unique),
        cmocka_unit_test(test_util_uuid4_short_buffer_fails),
        cmocka_unit_test(test_util_uuid_valid_canonical_accepted),
        cmocka_unit_test(test_util_uuid_valid_upper_case_refused),
        cmocka_unit_test(test_util_uuid_valid_wrong_length_refused),
        cmocka_unit_test(test_util_uuid_valid_missing_dashes_refused),
        cmocka_unit_test(test_util_strlcpy_long_source_truncated),
        cmocka_unit_test(test_util_strlcpy_short_source_copied),
        cmocka_unit_test(test_util_strlcpy_zero_length_untouched),
        cmocka_unit_test(test_util_timestamp_format_iso8601_utc),
        cmocka_unit_test(test_util_format_mb_sizes_formatted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
