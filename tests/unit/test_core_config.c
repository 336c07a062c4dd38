/*
 * Unit tests of src/core/config.c: the defaults of DESIGN.md, IMGFLOW_*
 * variables over defaults, flags over variables, both flag forms, refusal
 * of unknown flags and bad numbers, algorithm parameters for `process`,
 * and the enabled-algorithms list.
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"

#define ARGC(argv) ((int)(sizeof(argv) / sizeof(argv[0])))

static const char *const variables[] = {
    "IMGFLOW_LISTEN",     "IMGFLOW_DATA",       "IMGFLOW_BROKER",
    "IMGFLOW_STATUS",     "IMGFLOW_STORE",      "IMGFLOW_ALGORITHMS",
    "IMGFLOW_LOG_LEVEL",  "IMGFLOW_WORKERS",    "IMGFLOW_MAX_UPLOAD_BYTES",
    "IMGFLOW_MAX_SIDE",   "IMGFLOW_MAX_PIXELS", "IMGFLOW_MAX_ATTEMPTS",
    "IMGFLOW_STATUS_TTL", "IMGFLOW_PNG_LEVEL",  "IMGFLOW_JPEG_QUALITY",
    "IMGFLOW_GATEWAY",
};

/* Every case starts from an environment without IMGFLOW_* settings. */
static int
clear_environment(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(variables) / sizeof(variables[0]); i++) {
        unsetenv(variables[i]);
    }
    return 0;
}

static void
test_config_defaults_match_design(void **state)
{
    char *argv[] = {"up"};
    struct config cfg;

    (void)state;
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), 0);
    assert_string_equal(cfg.command, "up");
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_string_equal(cfg.data, "./imgflow-data");
    assert_string_equal(cfg.broker, "memory");
    assert_string_equal(cfg.status, "memory");
    assert_string_equal(cfg.store, "file://./imgflow-data");
    assert_string_equal(cfg.algorithms, "all");
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.workers, 1);
    assert_int_equal(cfg.max_bytes, 50000000);
    assert_int_equal(cfg.max_side, 30000);
    assert_int_equal(cfg.max_pixels, 100000000);
    assert_int_equal(cfg.n_args, 0);
    assert_int_equal(cfg.n_params, 0);
}

static void
test_config_env_listen_overrides_default(void **state)
{
    char *argv[] = {"up"};
    struct config cfg;

    (void)state;
    setenv("IMGFLOW_LISTEN", "0.0.0.0:9090", 1);
    setenv("IMGFLOW_WORKERS", "3", 1);
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), 0);
    assert_string_equal(cfg.listen, "0.0.0.0:9090");
    assert_int_equal(cfg.workers, 3);

    /* An empty variable counts as unset. */
    setenv("IMGFLOW_LISTEN", "", 1);
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
}

static void
test_config_flag_overrides_env(void **state)
{
    char *argv[] = {"up", "--listen", "10.0.0.1:7000", "--workers", "5"};
    struct config cfg;

    (void)state;
    setenv("IMGFLOW_LISTEN", "0.0.0.0:9090", 1);
    setenv("IMGFLOW_WORKERS", "3", 1);
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), 0);
    assert_string_equal(cfg.listen, "10.0.0.1:7000");
    assert_int_equal(cfg.workers, 5);
}

static void
test_config_flag_equals_form_accepted(void **state)
{
    char *argv[] = {"up", "--listen=[::1]:8081", "--workers=4",
                    "--max-side=1000", "--broker=amqp://u:p@h:5672/v"};
    struct config cfg;

    (void)state;
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), 0);
    assert_string_equal(cfg.listen, "[::1]:8081");
    assert_int_equal(cfg.workers, 4);
    assert_int_equal(cfg.max_side, 1000);
    assert_string_equal(cfg.broker, "amqp://u:p@h:5672/v");
}

static void
test_config_store_follows_data_dir(void **state)
{
    char *argv[] = {"up", "--data", "/srv/imgflow"};
    char *argv_store[] = {"up", "--data", "/srv/imgflow", "--store",
                          "file:///elsewhere"};
    struct config cfg;

    (void)state;
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), 0);
    assert_string_equal(cfg.store, "file:///srv/imgflow");

    /* An explicit store wins over the one derived from the data dir. */
    assert_int_equal(config_load(&cfg, "up", ARGC(argv_store), argv_store), 0);
    assert_string_equal(cfg.store, "file:///elsewhere");
}

static void
test_config_unknown_flag_up_refused(void **state)
{
    char *argv[] = {"up", "--sigma", "3"};
    char *argv_eq[] = {"up", "--no-such-flag=1"};
    struct config cfg;

    (void)state;
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), IMGFLOW_EINVAL);
    assert_int_equal(config_load(&cfg, "up", ARGC(argv_eq), argv_eq),
                     IMGFLOW_EINVAL);
}

static void
test_config_other_command_flag_refused(void **state)
{
    char *argv_up[] = {"up", "--timeout", "5"};
    char *argv_gw[] = {"gateway", "--workers", "2"};
    char *argv_pr[] = {"process", "--workers", "2", "blur", "a", "b"};
    struct config cfg;

    (void)state;

    /* A flag that exists, but for another subcommand, is unknown here. */
    assert_int_equal(config_load(&cfg, "up", ARGC(argv_up), argv_up),
                     IMGFLOW_EINVAL);
    assert_int_equal(config_load(&cfg, "gateway", ARGC(argv_gw), argv_gw),
                     IMGFLOW_EINVAL);

    /* ...so for process it is an algorithm parameter, not a setting. */
    assert_int_equal(config_load(&cfg, "process", ARGC(argv_pr), argv_pr), 0);
    assert_int_equal(cfg.workers, 1);
    assert_int_equal(cfg.n_params, 1);
    assert_string_equal(cfg.params[0].name, "workers");
    assert_string_equal(cfg.params[0].value, "2");
}

static void
test_config_unknown_flag_process_collected_param(void **state)
{
    char *argv[] = {"process",   "--sigma", "3",       "blur",     "in.png",
                    "--threads", "2",       "out.png", "--format", "jpeg"};
    struct config cfg;

    (void)state;
    assert_int_equal(config_load(&cfg, "process", ARGC(argv), argv), 0);
    assert_int_equal(cfg.n_params, 2);
    assert_string_equal(cfg.params[0].name, "sigma");
    assert_string_equal(cfg.params[0].value, "3");
    assert_string_equal(cfg.params[1].name, "threads");
    assert_string_equal(cfg.params[1].value, "2");

    /* Known flags and positional arguments are kept apart. */
    assert_string_equal(cfg.format, "jpeg");
    assert_int_equal(cfg.n_args, 3);
    assert_string_equal(cfg.args[0], "blur");
    assert_string_equal(cfg.args[1], "in.png");
    assert_string_equal(cfg.args[2], "out.png");
}

static void
test_config_bad_number_refused(void **state)
{
    static const char *const values[] = {"abc", "0",  "65", "2.5",
                                         "-1",  "4x", ""};
    char *env_argv[] = {"up"};
    struct config cfg;

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char *argv[] = {"up", "--workers", (char *)values[i]};

        assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv),
                         IMGFLOW_EINVAL);
    }

    /* Over the range of a size limit too, and from the environment. */
    {
        char *argv[] = {"up", "--max-side", "2000000"};

        assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv),
                         IMGFLOW_EINVAL);
    }

    setenv("IMGFLOW_WORKERS", "many", 1);
    assert_int_equal(config_load(&cfg, "up", ARGC(env_argv), env_argv),
                     IMGFLOW_EINVAL);
}

static void
test_config_flag_missing_value_refused(void **state)
{
    char *argv[] = {"up", "--listen"};
    struct config cfg;

    (void)state;
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), IMGFLOW_EINVAL);
}

static void
test_config_bad_log_level_refused(void **state)
{
    char *argv[] = {"up", "--log-level", "verbose"};
    char *argv_ok[] = {"up", "--log-level", "info"};
    struct config cfg;

    (void)state;
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), IMGFLOW_EINVAL);
    assert_int_equal(config_load(&cfg, "up", ARGC(argv_ok), argv_ok), 0);
}

static void
test_config_help_returns_one(void **state)
{
    char *argv[] = {"up", "--workers", "2", "--help"};
    char *argv_short[] = {"process", "-h"};
    struct config cfg;

    (void)state;
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), 1);
    assert_int_equal(config_load(&cfg, "process", ARGC(argv_short), argv_short),
                     1);
}

static void
test_config_algorithm_enabled_list_matched(void **state)
{
    char *argv[] = {"up", "--algorithms", "sobel,blur"};
    char *argv_all[] = {"up"};
    struct config cfg;

    (void)state;
    assert_int_equal(config_load(&cfg, "up", ARGC(argv), argv), 0);
    assert_true(config_algorithm_enabled(&cfg, "sobel"));
    assert_true(config_algorithm_enabled(&cfg, "blur"));
    assert_false(config_algorithm_enabled(&cfg, "grayscale"));

    /* Whole names only, no prefixes or suffixes. */
    assert_false(config_algorithm_enabled(&cfg, "sob"));
    assert_false(config_algorithm_enabled(&cfg, "blurry"));
    assert_false(config_algorithm_enabled(&cfg, "sobel,blur"));
    assert_false(config_algorithm_enabled(&cfg, ""));

    assert_int_equal(config_load(&cfg, "up", ARGC(argv_all), argv_all), 0);
    assert_true(config_algorithm_enabled(&cfg, "grayscale"));
    assert_true(config_algorithm_enabled(&cfg, "anything"));
}

int
main(void)
{
#define CONFIG_TEST(f) cmocka_unit_test_setup(f, clear_environment)
    const struct CMUnitTest tests[] = {
        CONFIG_TEST(test_config_defaults_match_design),
        CONFIG_TEST(test_config_env_listen_overrides_default),
        CONFIG_TEST(test_config_flag_overrides_env),
        CONFIG_TEST(test_config_flag_equals_form_accepted),
        CONFIG_TEST(test_config_store_follows_data_dir),
        CONFIG_TEST(test_config_unknown_flag_up_refused),
        CONFIG_TEST(test_config_other_command_flag_refused),
        CONFIG_TEST(test_config_unknown_flag_process_collected_param),
        CONFIG_TEST(test_config_bad_number_refused),
        CONFIG_TEST(test_config_flag_missing_value_refused),
        CONFIG_TEST(test_config_bad_log_level_refused),
        CONFIG_TEST(test_config_help_returns_one),
        CONFIG_TEST(test_config_algorithm_enabled_list_matched),
    };
#undef CONFIG_TEST

    return cmocka_run_group_tests(tests, NULL, NULL);
}
