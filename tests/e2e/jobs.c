/*
 * End-to-end job helpers (see jobs.h).
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e/jobs.h"
#include "util/ref.h"
#include "util/testutil.h"

/* Photos from the shared folder, else generated PNG and JPEG stand-ins. */
int
e2e_photos_load(struct e2e_photo *photos, int max)
{
    int n_photos = 0;
    const char *shared = testutil_shared_dir();
    char dir[512];
    struct dirent *e;
    DIR *d = NULL;

    if (shared != NULL) {
        snprintf(dir, sizeof(dir), "%s/images", shared);
        d = opendir(dir);
    }

    while (d != NULL && (e = readdir(d)) != NULL && n_photos < max) {
        struct e2e_photo *p = &photos[n_photos];
        char path[1024];

        if (strstr(e->d_name, ".jpg") == NULL) {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        p->bytes = testutil_read_file(path, &p->len);
        if (p->bytes != NULL) {
            snprintf(p->name, sizeof(p->name), "%.120s", e->d_name);
            n_photos++;
        }
    }

    if (d != NULL) {
        closedir(d);
    }

    if (n_photos == 0) {
        struct image img;
        struct image_encode_opts o;
        char err[128];

        printf("shared photos absent: using generated images\n");
        image_encode_opts_default(&o);
        testutil_image(&img, TESTUTIL_PHOTO, 640, 480, 3, 7);
        assert_int_equal(image_encode(&img, IMAGE_FORMAT_JPEG, &o,
                                      &photos[0].bytes, &photos[0].len, err,
                                      sizeof(err)), 0);
        snprintf(photos[0].name, sizeof(photos[0].name), "generated.jpg");
        image_free(&img);
        testutil_image(&img, TESTUTIL_PHOTO, 301, 199, 4, 9);
        assert_int_equal(image_encode(&img, IMAGE_FORMAT_PNG, &o,
                                      &photos[1].bytes, &photos[1].len, err,
                                      sizeof(err)), 0);
        snprintf(photos[1].name, sizeof(photos[1].name), "generated.png");
        image_free(&img);
        n_photos = 2;
    }
    return n_photos;
}

/* Submit and return the request id (asserting 202 and its fields). */
char *
e2e_submit(const struct e2e_server *s, const char *algo, const void *img,
           size_t len, const char *const *fields)
{
    struct e2e_response r;
    char path[128], expect[128];
    const char *id;
    char *copy;

    snprintf(path, sizeof(path), "/api/v1/process/%s", algo);
    e2e_post(s, path, img, len, fields, &r);
    assert_int_equal(r.status, 202);
    id = json_string_value(json_object_get(r.json, "request_id"));
    assert_non_null(id);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")),
                        "queued");
    snprintf(expect, sizeof(expect), "/api/v1/status/%s", id);
    assert_string_equal(
        json_string_value(json_object_get(r.json, "status_url")), expect);
    copy = strdup(id);
    e2e_response_clear(&r);
    return copy;
}

static void
reference(const char *algo, const struct image *in, struct image *out)
{
    if (strcmp(algo, "grayscale") == 0) {
        ref_grayscale(in, out);
    } else if (strcmp(algo, "sobel") == 0) {
        ref_sobel(in, out);
    } else {
        ref_blur(in, 2.0, out);
    }
}

/* The completed document's metadata, checked field by field. */
static void
check_metadata(json_t *doc, const struct image *expect, int threads, int runs)
{
    json_t *result = json_object_get(doc, "result");
    json_t *meta = json_object_get(result, "metadata");

    assert_true(json_is_string(json_object_get(result, "output_image_key")));
    assert_true(json_is_real(json_object_get(result, "processing_time")));
    assert_int_equal(json_integer_value(json_object_get(meta, "threads_used")),
                     threads);
    assert_int_equal(json_integer_value(json_object_get(meta, "runs")), runs);
    assert_int_equal(json_array_size(json_object_get(meta, "kernel_times")),
                     runs);
    assert_true(json_real_value(json_object_get(meta, "kernel_time")) > 0);
    assert_true(json_real_value(json_object_get(meta, "kernel_time_min")) <=
                json_real_value(json_object_get(meta, "kernel_time_max")));
    assert_non_null(strstr(
        json_string_value(json_object_get(meta, "memory_used")), "MB"));
    assert_int_equal(json_integer_value(json_object_get(meta, "width")),
                     expect->width);
    assert_int_equal(json_integer_value(json_object_get(meta, "height")),
                     expect->height);
    assert_int_equal(json_integer_value(json_object_get(meta, "channels")),
                     expect->channels);
    assert_true(json_is_null(json_object_get(doc, "error")));
}

void
e2e_check_completed(const struct e2e_server *s, const char *id,
                    const char *algo, const struct e2e_photo *photo,
                    int threads, int runs)
{
    struct image_limits lim;
    struct image in, want, got;
    struct e2e_response r;
    char err[256], path[128];
    json_t *doc = e2e_wait(s, id, 300);

    image_limits_default(&lim);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "status")),
                        "completed");
    assert_int_equal(image_decode(photo->bytes, photo->len, &lim, &in, err,
                                  sizeof(err)), 0);
    reference(algo, &in, &want);
    check_metadata(doc, &want, threads, runs);

    snprintf(path, sizeof(path), "/api/v1/result/%s", id);
    e2e_get(s, path, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "image/png");
    assert_int_equal(image_decode((uint8_t *)r.body, r.len, &lim, &got, err,
                                  sizeof(err)), 0);
    printf("%s on %s (%ux%u): max difference %d\n", algo, photo->name,
           in.width, in.height, ref_max_diff(&got, &want));
    assert_in_range(ref_max_diff(&got, &want), 0, 1);

    e2e_response_clear(&r);
    image_free(&in);
    image_free(&want);
    image_free(&got);
    json_decref(doc);
}
