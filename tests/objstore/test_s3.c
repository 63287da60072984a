/*
 * The S3 backend against a real server: the fixture's radosgw (tests/s3).
 * Round trips of every awkward size, keys that need escaping, put-if-absent
 * and radosgw's If-None-Match, a wrong secret, a missing bucket, an
 * endpoint that is down, pagination past 1000 keys and DeleteObjects
 * batches, incomplete uploads, virtual-hosted addressing, TLS with and
 * without the CA, a credentials-file profile, storage classes, ranges and
 * If-Match; and no secret in any message or log line.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "objstore/objstore_int.h"
#include "s3/s3_env.h"
#include "objstore/obj_fixture.h"
#include "testlib/testlib.h"

#define MIB (1u << 20)
#define PART (5 * MIB)

static struct rs_test_s3 env;
static char prefix[64];

static int group_setup(void **state)
{
    (void)state;
    rs_test_s3_env(&env);
    /* our own corner of the shared bucket */
    snprintf(prefix, sizeof prefix, "test-s3-%d-%llu", (int)getpid(), (unsigned long long)rs_clock_wall_ns());
    return 0;
}

/* Opens s3://bucket/<prefix>/<sub> on the fixture's endpoint. */
static rs_objstore *open_store(const char *sub, rs_objstore_options *opt)
{
    rs_objstore_options o = {.part_bytes = PART, .parallel = 3, .retry_base_ms = 10, .retry_max_ms = 100};
    if (opt != NULL)
        o = *opt;
    if (o.s3_endpoint == NULL)
        o.s3_endpoint = env.endpoint;
    char url[256];
    snprintf(url, sizeof url, "s3://%s/%s/%s", env.bucket, prefix, sub);
    rs_objstore *s = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_objstore_open(url, &o, &s, &err) != RS_OK)
        fail_msg("open %s: %s", url, err.msg);
    return s;
}

static rs_objstore_info upload(rs_objstore *s, const char *key, const uint8_t *p, size_t n)
{
    rs_objstore_upload *u = NULL;
    rs_objstore_info info;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_upload_open(s, key, 0, &u, &err), RS_OK);
    for (size_t at = 0; at < n; at += 1000003)
        assert_int_equal(rs_objstore_upload_write(u, p + at, n - at < 1000003 ? n - at : 1000003, &err), RS_OK);
    if (rs_objstore_upload_commit(u, &info, &err) != RS_OK)
        fail_msg("upload '%s': %s", key, err.msg);
    rs_objstore_upload_close(u);
    return info;
}

static void expect_download(rs_objstore *s, const char *key, const uint8_t *want, size_t n)
{
    struct obj_collect c = {0};
    rs_objstore_sink sink = {obj_collect_write, &c};
    rs_objstore_info info;
    rs_err err = RS_ERR_INIT;
    if (rs_objstore_download(s, key, &sink, &info, &err) != RS_OK)
        fail_msg("download '%s': %s", key, err.msg);
    assert_int_equal(c.len, n);
    assert_int_equal(info.size_bytes, n);
    if (n > 0)
        assert_memory_equal(c.p, want, n);
    free(c.p);
}

/* ------------------------------------------------------------------ */

static void round_trips_of_awkward_sizes(void **state)
{
    (void)state;
    rs_objstore *s = open_store("sizes", NULL);
    const size_t sizes[] = {0, 1, PART, PART + 1, 3 * PART + 12345};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "obj-%zu", sizes[i]);
        uint8_t *data = obj_pattern(sizes[i], (unsigned)i);
        rs_objstore_info info = upload(s, key, data, sizes[i]);
        /* one part or fewer is one PUT (plain MD5 ETag); more is multipart */
        int multipart = strchr(info.etag, '-') != NULL;
        assert_int_equal(multipart, sizes[i] > PART);
        expect_download(s, key, data, sizes[i]);
        rs_objstore_info head;
        rs_err err = RS_ERR_INIT;
        assert_int_equal(rs_objstore_head(s, key, &head, &err), RS_OK);
        assert_int_equal(head.size_bytes, sizes[i]);
        assert_string_equal(head.etag, info.etag);
        assert_true(head.mtime_unix_ms > 0);
        free(data);
    }
    rs_objstore_close(s);
}

static rs_code collect_keys(void *arg, const char *key, const rs_objstore_info *info, rs_err *err)
{
    (void)err;
    (void)info;
    char *out = arg;
    strcat(out, key);
    strcat(out, "|");
    return RS_OK;
}

static void keys_that_need_escaping(void **state)
{
    (void)state;
    rs_objstore *s = open_store("esc ape+d%", NULL);
    const char *keys[] = {
        "a b/plus+sign", "per%cent/%2F", ("\xc3\xbcnic\xc3\xb8" "de/\xe2\x82\xac"), "q?a=b&c#d", "xml<&>'\"",
    };
    rs_err err = RS_ERR_INIT;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (rs_objstore_put(s, keys[i], (const uint8_t *)keys[i], strlen(keys[i]), NULL, &err) != RS_OK)
            fail_msg("put '%s': %s", keys[i], err.msg);
        expect_download(s, keys[i], (const uint8_t *)keys[i], strlen(keys[i]));
    }
    char listing[512] = "";
    assert_int_equal(rs_objstore_list(s, "", collect_keys, listing, &err), RS_OK);
    assert_string_equal(listing, "a b/plus+sign|per%cent/%2F|q?a=b&c#d|xml<&>'\"|\xc3\xbcnic\xc3\xb8"
                                 "de/\xe2\x82\xac|");
    assert_int_equal(rs_objstore_remove_many(s, keys, 5, &err), RS_OK);
    listing[0] = '\0';
    assert_int_equal(rs_objstore_list(s, "", collect_keys, listing, &err), RS_OK);
    assert_string_equal(listing, "");
    rs_objstore_close(s);
}

static void put_if_absent_and_if_none_match(void **state)
{
    (void)state;
    rs_objstore *s = open_store("cas", NULL);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put_if_absent(s, "manifest", (const uint8_t *)"one", 3, NULL, &err), RS_OK);
    assert_int_equal(rs_objstore_put_if_absent(s, "manifest", (const uint8_t *)"two", 3, NULL, &err), RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "already exists"));
    /* the server itself refuses: a conditional PUT past the HEAD's check */
    rs_err_clear(&err);
    rs_objstore_info info;
    assert_int_equal(s->ops->put(s->be, "manifest", (const uint8_t *)"three", 5, 1, &info, &err), RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "HTTP 412 PreconditionFailed"));
    assert_non_null(strstr(err.msg, "refusing to replace"));
    expect_download(s, "manifest", (const uint8_t *)"one", 3);
    rs_objstore_close(s);
}

static void a_wrong_secret_is_access_denied(void **state)
{
    (void)state;
    const char *wrong = "wrong-secret-0123456789-never-shown";
    char *right = strdup(env.secret);
    setenv("AWS_SECRET_ACCESS_KEY", wrong, 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *log = obj_capture_log(&buf, &len, RS_LOG_TRACE);
    rs_objstore *s = open_store("denied", NULL);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put(s, "k", (const uint8_t *)"v", 1, NULL, &err), RS_E_AUTH);
    obj_release_log(log);
    setenv("AWS_SECRET_ACCESS_KEY", right, 1);
    assert_non_null(strstr(err.msg, "HTTP 403 SignatureDoesNotMatch: access denied"));
    assert_non_null(strstr(err.msg, env.endpoint));
    assert_non_null(strstr(err.msg, env.bucket));
    assert_non_null(strstr(err.hint, "AWS_SECRET_ACCESS_KEY"));
    rs_objstore_stats st;
    rs_objstore_stats_get(s, &st);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.requests, 1);
    /* neither secret, nor a signature, in the message, hint or log */
    const char *texts[] = {err.msg, err.hint, buf};
    for (size_t i = 0; i < 3; i++) {
        assert_null(strstr(texts[i], wrong));
        assert_null(strstr(texts[i], right));
        assert_null(strstr(texts[i], "Signature="));
    }
    free(buf);
    free(right);
    rs_objstore_close(s);
}

static void a_missing_bucket_says_so(void **state)
{
    (void)state;
    rs_objstore_options opt = {.s3_endpoint = env.endpoint};
    rs_objstore *s = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_open("s3://rs-no-such-bucket/dir", &opt, &s, &err), RS_OK);
    assert_int_equal(rs_objstore_put(s, "k", (const uint8_t *)"v", 1, NULL, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "HTTP 404 NoSuchBucket: the bucket does not exist"));
    assert_non_null(strstr(err.hint, "create the bucket"));
    rs_err_clear(&err);
    rs_objstore_info info;
    assert_int_equal(rs_objstore_head(s, "k", &info, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "bucket 'rs-no-such-bucket'"));
    assert_non_null(strstr(err.msg, "does not exist"));
    rs_err_clear(&err);
    char listing[16] = "";
    assert_int_equal(rs_objstore_list(s, "", collect_keys, listing, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "NoSuchBucket"));
    rs_objstore_close(s);
}

static void an_endpoint_that_is_down_fails_in_bounded_time(void **state)
{
    (void)state;
    /* a port nobody listens on: bind one, note it, close it */
    int port = 0;
    {
        FILE *p = popen("/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind((\"127.0.0.1\",0));"
                        "print(s.getsockname()[1])'", "r");
        assert_int_equal(fscanf(p, "%d", &port), 1);
        pclose(p);
    }
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);
    rs_objstore_options opt = {.s3_endpoint = endpoint, .max_attempts = 4, .retry_base_ms = 50,
                               .retry_max_ms = 200, .retry_total_ms = 3000, .connect_timeout_ms = 1000};
    rs_objstore *s = open_store("down", &opt);
    rs_err err = RS_ERR_INIT;
    uint64_t t0 = rs_clock_mono_ns();
    assert_int_equal(rs_objstore_put(s, "k", (const uint8_t *)"v", 1, NULL, &err), RS_E_NETWORK);
    uint64_t ms = (rs_clock_mono_ns() - t0) / 1000000;
    assert_true(ms < 3000 + 1000);
    assert_non_null(strstr(err.msg, endpoint));
    assert_non_null(strstr(err.msg, "gave up after 4 attempts"));
    rs_objstore_close(s);
}

struct filler {
    rs_objstore *s;
    int from, to;
};

static void *fill(void *arg)
{
    struct filler *f = arg;
    for (int i = f->from; i < f->to; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%05d", i);
        rs_err err = RS_ERR_INIT;
        if (rs_objstore_put(f->s, key, (const uint8_t *)key, 6, NULL, &err) != RS_OK)
            fail_msg("put %s: %s", key, err.msg);
    }
    return NULL;
}

static rs_code check_order(void *arg, const char *key, const rs_objstore_info *info, rs_err *err)
{
    (void)err;
    int *n = arg;
    char want[32];
    snprintf(want, sizeof want, "k%05d", *n);
    assert_string_equal(key, want);
    assert_int_equal(info->size_bytes, 6);
    (*n)++;
    return RS_OK;
}

static void pages_past_1000_keys_and_batched_removal(void **state)
{
    (void)state;
    enum { N = 1003, THREADS = 4 };
    rs_objstore *s = open_store("many", NULL);
    pthread_t t[THREADS];
    struct filler f[THREADS];
    for (int i = 0; i < THREADS; i++) {
        f[i] = (struct filler){s, i * N / THREADS, (i + 1) * N / THREADS};
        pthread_create(&t[i], NULL, fill, &f[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int n = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_list(s, "k", check_order, &n, &err), RS_OK);
    assert_int_equal(n, N);
    rs_objstore_stats st;
    rs_objstore_stats_get(s, &st);
    uint64_t before = st.requests;
    char *keys[N];
    for (int i = 0; i < N; i++) {
        keys[i] = malloc(16);
        snprintf(keys[i], 16, "k%05d", i);
    }
    assert_int_equal(rs_objstore_remove_many(s, (const char *const *)keys, N, &err), RS_OK);
    rs_objstore_stats_get(s, &st);
    assert_int_equal(st.requests - before, 2); /* 1000 + 3 */
    n = 0;
    assert_int_equal(rs_objstore_list(s, "", check_order, &n, &err), RS_OK);
    assert_int_equal(n, 0);
    for (int i = 0; i < N; i++)
        free(keys[i]);
    rs_objstore_close(s);
}

static void incomplete_uploads_are_listed_and_aborted(void **state)
{
    (void)state;
    rs_objstore *s = open_store("mpu", NULL);
    uint8_t *data = obj_pattern(PART + 10, 3);
    rs_objstore_upload *u = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_upload_open(s, "left behind", 0, &u, &err), RS_OK);
    assert_int_equal(rs_objstore_upload_write(u, data, PART + 10, &err), RS_OK); /* the upload began */
    struct obj_seen seen = {0};
    assert_int_equal(rs_objstore_list_uploads(s, "", obj_remember_upload, &seen, &err), RS_OK);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.key, "left behind");
    rs_objstore_info info;
    assert_int_equal(rs_objstore_head(s, "left behind", &info, &err), RS_E_NOTFOUND);
    rs_err_clear(&err);
    assert_int_equal(rs_objstore_abort_upload(s, seen.key, seen.id, &err), RS_OK);
    assert_int_equal(rs_objstore_abort_upload(s, seen.key, seen.id, &err), RS_OK); /* gone: fine */
    seen.n = 0;
    assert_int_equal(rs_objstore_list_uploads(s, "", obj_remember_upload, &seen, &err), RS_OK);
    assert_int_equal(seen.n, 0);
    /* its owner cannot complete it any more */
    assert_int_equal(rs_objstore_upload_commit(u, NULL, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "NoSuchUpload"));
    rs_objstore_upload_close(u);
    free(data);
    rs_objstore_close(s);
}

static void virtual_hosted_addressing(void **state)
{
    (void)state;
    rs_objstore_options opt = {.s3_endpoint = env.endpoint_vhost, .s3_addressing = RS_OBJSTORE_ADDRESSING_VIRTUAL,
                               .part_bytes = PART};
    rs_objstore *s = open_store("vhost", &opt);
    uint8_t *data = obj_pattern(PART + 77, 4);
    upload(s, "v k", data, PART + 77);
    expect_download(s, "v k", data, PART + 77);
    char listing[64] = "";
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_list(s, "", collect_keys, listing, &err), RS_OK);
    assert_string_equal(listing, "v k|");
    free(data);
    rs_objstore_close(s);
}

static void tls_needs_the_servers_ca(void **state)
{
    (void)state;
    rs_objstore_options opt = {.s3_endpoint = env.endpoint_tls, .s3_ca_file = env.ca_file, .part_bytes = PART};
    rs_objstore *s = open_store("tls", &opt);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put(s, "t", (const uint8_t *)"tls", 3, NULL, &err), RS_OK);
    expect_download(s, "t", (const uint8_t *)"tls", 3);
    rs_objstore_close(s);
    /* the system's CAs do not know the fixture's certificate */
    opt.s3_ca_file = NULL;
    s = open_store("tls", &opt);
    rs_objstore_info info;
    assert_int_equal(rs_objstore_head(s, "t", &info, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "TLS"));
    assert_non_null(strstr(err.hint, "--s3-ca-file"));
    rs_objstore_stats st;
    rs_objstore_stats_get(s, &st);
    assert_int_equal(st.retries, 0);
    rs_objstore_close(s);
}

static void a_profile_from_the_credentials_file(void **state)
{
    (void)state;
    char *dir = rs_test_tmpdir("s3creds");
    char *file = rs_test_path(dir, "credentials");
    FILE *f = fopen(file, "w");
    fprintf(f, "[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n"
               "[rockstream]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
            env.access_key_id, env.secret);
    fclose(f);
    char *id = strdup(env.access_key_id), *secret = strdup(env.secret);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
    rs_objstore_options opt = {.s3_profile = "rockstream", .part_bytes = PART};
    rs_objstore *s = open_store("profile", &opt);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put(s, "p", (const uint8_t *)"p", 1, NULL, &err), RS_OK);
    rs_objstore_close(s);
    opt.s3_profile = NULL; /* default: a user radosgw does not know */
    s = open_store("profile", &opt);
    assert_int_equal(rs_objstore_put(s, "p", (const uint8_t *)"p", 1, NULL, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "InvalidAccessKeyId"));
    rs_objstore_close(s);
    setenv("AWS_ACCESS_KEY_ID", id, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    free(id);
    free(secret);
    free(file);
    rs_test_tmpdir_remove(dir);
}

static void storage_classes(void **state)
{
    (void)state;
    rs_objstore_options opt = {.s3_storage_class = "STANDARD", .part_bytes = PART};
    rs_objstore *s = open_store("class", &opt);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_objstore_put(s, "std", (const uint8_t *)"s", 1, NULL, &err), RS_OK);
    rs_objstore_close(s);
    opt.s3_storage_class = "NO_SUCH_CLASS";
    s = open_store("class", &opt);
    assert_int_equal(rs_objstore_put(s, "bogus", (const uint8_t *)"s", 1, NULL, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "HTTP 400 Invalid")); /* radosgw: InvalidArgument; AWS: InvalidStorageClass */
    rs_objstore_close(s);
}

static void ranges_and_a_changed_object(void **state)
{
    (void)state;
    rs_objstore_options opt = {.part_bytes = PART, .parallel = 2};
    rs_objstore *s = open_store("ranges", &opt);
    size_t n = 6 * PART;
    uint8_t *data = obj_pattern(n, 5);
    upload(s, "r", data, n);
    struct obj_collect c = {0};
    rs_objstore_sink sink = {obj_collect_write, &c};
    rs_err err = RS_ERR_INIT;
    /* across a part boundary */
    assert_int_equal(rs_objstore_get(s, "r", PART - 10, 20, &sink, NULL, &err), RS_OK);
    assert_int_equal(c.len, 20);
    assert_memory_equal(c.p, data + PART - 10, 20);
    assert_int_equal(rs_objstore_get(s, "r", n, 1, &sink, NULL, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "HTTP 416 InvalidRange"));
    rs_err_clear(&err);
    /* a reader started on one version finds the object replaced */
    rs_objstore_reader *r = NULL;
    assert_int_equal(rs_objstore_reader_open(s, "r", &r, &err), RS_OK);
    uint8_t *buf = malloc(PART);
    size_t got = 0;
    assert_int_equal(rs_objstore_reader_read(r, buf, PART, &got, &err), RS_OK);
    assert_int_equal(rs_objstore_put(s, "r", (const uint8_t *)"new", 3, NULL, &err), RS_OK);
    obj_expect_changed(r, buf, PART);
    rs_objstore_reader_close(r);
    free(buf);
    free(c.p);
    free(data);
    rs_objstore_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips_of_awkward_sizes),
        cmocka_unit_test(keys_that_need_escaping),
        cmocka_unit_test(put_if_absent_and_if_none_match),
        cmocka_unit_test(a_wrong_secret_is_access_denied),
        cmocka_unit_test(a_missing_bucket_says_so),
        cmocka_unit_test(an_endpoint_that_is_down_fails_in_bounded_time),
        cmocka_unit_test(pages_past_1000_keys_and_batched_removal),
        cmocka_unit_test(incomplete_uploads_are_listed_and_aborted),
        cmocka_unit_test(virtual_hosted_addressing),
        cmocka_unit_test(tls_needs_the_servers_ca),
        cmocka_unit_test(a_profile_from_the_credentials_file),
        cmocka_unit_test(storage_classes),
        cmocka_unit_test(ranges_and_a_changed_object),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
