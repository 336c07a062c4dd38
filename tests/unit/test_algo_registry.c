/*
 * Unit tests of src/algo/registry.c: the algorithm table, argument
 * defaults and range checks (numbers and form text), and timed
 * execution.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "algo/algo.h"
#include "core/error.h"
#include "util/testutil.h"

static const struct algo *
find(const char *name)
{
    const struct algo *a = algo_find(name);

    assert_non_null(a);
    assert_string_equal(a->name, name);
    return a;
}

static void
test_algo_find_known_names_found(void **state)
{
    (void)state;
    find("grayscale");
    find("sobel");
    find("blur");
    assert_null(algo_find("Grayscale"));
    assert_null(algo_find("emboss"));
    assert_null(algo_find(""));
    assert_null(algo_find(NULL));
}

static void
test_algo_list_order_as_declared(void **state)
{
    (void)state;
    assert_int_equal(algo_count(), 3);
    assert_string_equal(algo_at(0)->name, "grayscale");
    assert_string_equal(algo_at(1)->name, "sobel");
    assert_string_equal(algo_at(2)->name, "blur");
    assert_null(algo_at(3));
}

static void
test_algo_queue_names_exact(void **state)
{
    (void)state;
    assert_string_equal(find("grayscale")->queue, "image_processing");
    assert_string_equal(find("sobel")->queue, "sobel_processing");
    assert_string_equal(find("blur")->queue, "blur_processing");
}

/* Every entry is complete: description, kernel, shape, sane params. */
static void
test_algo_table_entries_complete(void **state)
{
    (void)state;
    for (size_t i = 0; i < algo_count(); i++) {
        const struct algo *a = algo_at(i);

        assert_non_null(a->description);
        assert_true(strlen(a->description) > 10);
        assert_non_null(a->shape);
        assert_non_null(a->run);
        assert_in_range(a->n_params, 0, ALGO_MAX_PARAMS);
        for (int p = 0; p < a->n_params; p++) {
            assert_true(a->params[p].min <= a->params[p].def);
            assert_true(a->params[p].def <= a->params[p].max);
            assert_non_null(a->params[p].description);
        }
    }
}

static void
test_algo_blur_sigma_param_declared(void **state)
{
    const struct algo *a = find("blur");
    const struct algo_param *p;

    (void)state;
    assert_int_equal(a->n_params, 1);
    assert_int_equal(algo_param_index(a, "sigma"), 0);
    assert_int_equal(algo_param_index(a, "radius"), -1);
    assert_int_equal(algo_param_index(find("sobel"), "sigma"), -1);
    p = &a->params[0];
    assert_string_equal(p->name, "sigma");
    assert_int_equal(p->type, ALGO_PARAM_NUMBER);
    assert_true(p->min == 0.1);
    assert_true(p->max == 50.0);
    assert_true(p->def == 2.0);
}

static void
test_algo_defaults_from_cores(void **state)
{
    struct algo_args args;
    int cores = algo_default_threads();

    (void)state;
    assert_in_range(cores, 1, ALGO_THREADS_MAX);
    for (size_t i = 0; i < algo_count(); i++) {
        algo_args_default(algo_at(i), &args);
        assert_int_equal(args.threads, cores);
        assert_int_equal(args.runs, 1);
    }

    algo_args_default(find("blur"), &args);
    assert_true(args.values[0] == 2.0);
}

/* name = value must fail with EINVAL and a message naming it and range. */
static void
check_refused(const char *algo, const char *name, double value,
              const char *range)
{
    const struct algo *a = find(algo);
    struct algo_args args, before;
    char err[128] = "";

    algo_args_default(a, &args);
    before = args;
    assert_int_equal(algo_args_set(a, &args, name, value, err, sizeof(err)),
                     IMGFLOW_EINVAL);
    assert_non_null(strstr(err, name));
    assert_non_null(strstr(err, range));
    assert_memory_equal(&args, &before, sizeof(args));
}

static void
check_accepted(const char *algo, const char *name, double value)
{
    const struct algo *a = find(algo);
    struct algo_args args;
    char err[128] = "";

    algo_args_default(a, &args);
    assert_int_equal(algo_args_set(a, &args, name, value, err, sizeof(err)), 0);
    if (strcmp(name, "threads") == 0) {
        assert_int_equal(args.threads, (int)value);
    } else if (strcmp(name, "runs") == 0) {
        assert_int_equal(args.runs, (int)value);
    } else {
        assert_true(args.values[algo_param_index(a, name)] == value);
    }
}

static void
test_algo_threads_out_of_range_refused(void **state)
{
    const char *range = "an integer from 1 to 64";

    (void)state;
    check_refused("sobel", "threads", 0, range);
    check_refused("sobel", "threads", 65, range);
    check_refused("sobel", "threads", -3, range);
    check_refused("sobel", "threads", 2.5, range);
    check_refused("sobel", "threads", NAN, range);
    check_refused("sobel", "threads", INFINITY, range);
    check_accepted("sobel", "threads", 1);
    check_accepted("sobel", "threads", 64);

    {
        const struct algo *a = find("grayscale");
        struct algo_args args;
        char err[128];

        algo_args_default(a, &args);
        algo_args_set(a, &args, "threads", 0, err, sizeof(err));
        assert_string_equal(err, "threads must be an integer from 1 to 64");
    }
}

static void
test_algo_runs_out_of_range_refused(void **state)
{
    const char *range = "an integer from 1 to 100";

    (void)state;
    check_refused("blur", "runs", 0, range);
    check_refused("blur", "runs", 101, range);
    check_refused("blur", "runs", 1.5, range);
    check_accepted("blur", "runs", 1);
    check_accepted("blur", "runs", 100);
}

static void
test_algo_sigma_out_of_range_refused(void **state)
{
    const char *range = "a number from 0.1 to 50";

    (void)state;
    check_refused("blur", "sigma", 0.05, range);
    check_refused("blur", "sigma", 51, range);
    check_refused("blur", "sigma", -2, range);
    check_refused("blur", "sigma", NAN, range);
    check_refused("blur", "sigma", -INFINITY, range);
    check_accepted("blur", "sigma", 0.1);
    check_accepted("blur", "sigma", 50);
    check_accepted("blur", "sigma", 7.5);
}

static void
test_algo_unknown_name_not_found(void **state)
{
    const struct algo *a = find("blur");
    struct algo_args args;
    char err[128] = "";

    (void)state;
    algo_args_default(a, &args);
    assert_int_equal(algo_args_set(a, &args, "radius", 3, err, sizeof(err)),
                     IMGFLOW_ENOTFOUND);
    assert_non_null(strstr(err, "radius"));
    assert_int_equal(
        algo_args_set_text(a, &args, "radius", "3", err, sizeof(err)),
        IMGFLOW_ENOTFOUND);
    assert_int_equal(
        algo_args_set(find("grayscale"), &args, "sigma", 2, NULL, 0),
        IMGFLOW_ENOTFOUND);
    assert_int_equal(algo_args_set(a, &args, NULL, 2, NULL, 0), IMGFLOW_EINVAL);
}

static void
test_algo_text_not_number_refused(void **state)
{
    static const char *const bad[] = {
        "2x", "", " 3", "3 ", "0x3", "nan", "inf", "1e", "--2", "3,5", "+",
    };
    const struct algo *a = find("blur");
    struct algo_args args;
    char err[128];

    (void)state;
    algo_args_default(a, &args);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(
            algo_args_set_text(a, &args, "threads", bad[i], err, sizeof(err)),
            IMGFLOW_EINVAL);
        assert_string_equal(err, "threads must be an integer from 1 to 64");
        assert_int_equal(
            algo_args_set_text(a, &args, "sigma", bad[i], err, sizeof(err)),
            IMGFLOW_EINVAL);
        assert_non_null(strstr(err, "sigma"));
    }
    assert_int_equal(
        algo_args_set_text(a, &args, "threads", NULL, err, sizeof(err)),
        IMGFLOW_EINVAL);
}

static void
test_algo_text_number_accepted(void **state)
{
    const struct algo *a = find("blur");
    struct algo_args args;
    char err[128];

    (void)state;
    algo_args_default(a, &args);
    assert_int_equal(
        algo_args_set_text(a, &args, "threads", "3", err, sizeof(err)), 0);
    assert_int_equal(args.threads, 3);
    assert_int_equal(
        algo_args_set_text(a, &args, "runs", "12", err, sizeof(err)), 0);
    assert_int_equal(args.runs, 12);
    assert_int_equal(
        algo_args_set_text(a, &args, "sigma", "2.5", err, sizeof(err)), 0);
    assert_true(args.values[0] == 2.5);
    assert_int_equal(
        algo_args_set_text(a, &args, "sigma", "1e1", err, sizeof(err)), 0);
    assert_true(args.values[0] == 10.0);
    assert_int_equal(
        algo_args_set_text(a, &args, "sigma", ".5", err, sizeof(err)), 0);
    assert_true(args.values[0] == 0.5);
    assert_int_equal(
        algo_args_set_text(a, &args, "threads", "4.0", err, sizeof(err)), 0);
    assert_int_equal(args.threads, 4);
}

static void
test_algo_execute_timing_sane(void **state)
{
    struct image in, out;
    struct algo_args args;
    struct algo_timing timing;

    (void)state;
    testutil_image(&in, TESTUTIL_PHOTO, 300, 200, 3, 1);
    for (size_t i = 0; i < algo_count(); i++) {
        const struct algo *a = algo_at(i);

        algo_args_default(a, &args);
        assert_int_equal(algo_args_set(a, &args, "runs", 5, NULL, 0), 0);
        assert_int_equal(algo_args_set(a, &args, "threads", 2, NULL, 0), 0);
        assert_int_equal(algo_execute(a, &in, &args, &out, &timing), 0);

        assert_non_null(out.pixels);
        assert_int_equal(out.width, 300);
        assert_int_equal(out.height, 200);
        for (int r = 0; r < 5; r++) {
            assert_true(timing.run_s[r] > 0.0);
            assert_true(timing.run_s[r] < 10.0);
        }
        assert_true(timing.run_s[5] == 0.0);
        assert_true(timing.min_s <= timing.mean_s);
        assert_true(timing.mean_s <= timing.max_s);
        assert_true(timing.min_s > 0.0);
        image_free(&out);
    }
    image_free(&in);
}

static void
test_algo_execute_output_shapes(void **state)
{
    static const int gray_channels[5] = {0, 1, 2, 1, 2};

    (void)state;
    for (int c = 1; c <= 4; c++) {
        struct image in, out;
        struct algo_args args;
        struct algo_timing timing;

        testutil_image(&in, TESTUTIL_GRADIENT, 9, 4, c, 1);
        algo_args_default(find("grayscale"), &args);
        assert_int_equal(
            algo_execute(find("grayscale"), &in, &args, &out, &timing), 0);
        assert_int_equal(out.channels, gray_channels[c]);
        image_free(&out);

        algo_args_default(find("sobel"), &args);
        assert_int_equal(algo_execute(find("sobel"), &in, &args, &out, &timing),
                         0);
        assert_int_equal(out.channels, 1);
        image_free(&out);

        algo_args_default(find("blur"), &args);
        assert_int_equal(algo_execute(find("blur"), &in, &args, &out, &timing),
                         0);
        assert_int_equal(out.channels, c);
        image_free(&out);
        image_free(&in);
    }
}

/* Arguments that bypassed algo_args_set() are still checked. */
static void
test_algo_execute_bad_args_refused(void **state)
{
    const struct algo *a = find("blur");
    struct image in, out;
    struct algo_args args;
    struct algo_timing timing;

    (void)state;
    testutil_image(&in, TESTUTIL_NOISE, 8, 8, 3, 1);

    algo_args_default(a, &args);
    args.threads = 0;
    assert_int_equal(algo_execute(a, &in, &args, &out, &timing),
                     IMGFLOW_EINVAL);
    assert_null(out.pixels);

    algo_args_default(a, &args);
    args.runs = ALGO_RUNS_MAX + 1;
    assert_int_equal(algo_execute(a, &in, &args, &out, &timing),
                     IMGFLOW_EINVAL);

    algo_args_default(a, &args);
    args.values[0] = 0.0;
    assert_int_equal(algo_execute(a, &in, &args, &out, &timing),
                     IMGFLOW_EINVAL);
    assert_null(out.pixels);

    algo_args_default(a, &args);
    in.channels = 5;
    assert_int_equal(algo_execute(a, &in, &args, &out, &timing),
                     IMGFLOW_EINVAL);
    in.channels = 3;
    assert_int_equal(algo_execute(a, &in, &args, NULL, &timing),
                     IMGFLOW_EINVAL);
    image_free(&in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_algo_find_known_names_found),
        cmocka_unit_test(test_algo_list_order_as_declared),
        cmocka_unit_test(test_algo_queue_names_exact),
        cmocka_unit_test(test_algo_table_entries_complete),
        cmocka_unit_test(test_algo_blur_sigma_param_declared),
        cmocka_unit_test(test_algo_defaults_from_cores),
        cmocka_unit_test(test_algo_threads_out_of_range_refused),
        cmocka_unit_test(test_algo_runs_out_of_range_refused),
        cmocka_unit_test(test_algo_sigma_out_of_range_refused),
        cmocka_unit_test(test_algo_unknown_name_not_found),
        cmocka_unit_test(test_algo_text_not_number_refused),
        cmocka_unit_test(test_algo_text_number_accepted),
        cmocka_unit_test(test_algo_execute_timing_sane),
        cmocka_unit_test(test_algo_execute_output_shapes),
        cmocka_unit_test(test_algo_execute_bad_args_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
