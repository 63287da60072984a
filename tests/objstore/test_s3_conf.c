/*
 * Opening S3 stores, without a server: bucket names, endpoints, regions,
 * part sizes, and where credentials come from (the environment, the shared
 * credentials file and its profiles) with the messages a person sees, none
 * of which holds a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore_int.h"
#include "testlib/testlib.h"

#define SECRET "s3cr3t-never-shown-0123456789abcdef"

static int setup(void **state)
{
    (void)state;
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    return 0;
}

static rs_code open_s3(const char *url, const rs_objstore_options *opt, rs_objstore **s, rs_err *err)
{
    rs_code rc = rs_objstore_open(url, opt, s, err);
    assert_null(strstr(err->msg, SECRET));
    assert_true(err->hint == NULL || strstr(err->hint, SECRET) == NULL);
    return rc;
}

static void bad_bucket_names_say_why(void **state)
{
    (void)state;
    static const struct {
        const char *url, *says;
    } cases[] = {
        {"s3://ab/x", "3 to 63 characters"},
        {"s3://My_Bucket/x", "lower-case letters"},
        {"s3://-bucket/x", "begin and end"},
        {"s3://a..b/x", "'..'"},
        {"s3://192.168.1.1/x", "IP address"},
        {"s3://b%20c/x", "lower-case letters"},
        {"s3://bucket/a//b", "empty, '.' or '..' segment"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rs_objstore *s = NULL;
        rs_err err = RS_ERR_INIT;
        assert_int_equal(open_s3(cases[i].url, NULL, &s, &err), RS_E_INVALID);
        if (strstr(err.msg, cases[i].says) == NULL)
            fail_msg("'%s': '%s' lacks '%s'", cases[i].url, err.msg, cases[i].says);
    }
}

static void endpoints_regions_and_addressing(void **state)
{
    (void)state;
    rs_objstore *s = NULL;
    rs_err err = RS_ERR_INIT;
    /* AWS's endpoint for the region, virtual-hosted */
    setenv("AWS_REGION", "eu-west-3", 1);
    assert_int_equal(open_s3("s3://bucket/dir/", NULL, &s, &err), RS_OK);
    assert_string_equal(rs_objstore_describe(s), "s3://bucket/dir/ at https://s3.eu-west-3.amazonaws.com");
    struct objstore_s3_conf *c = s->be; /* the backend's first member */
    assert_true(c->virtual_hosted);
    rs_objstore_close(s);
    /* a bucket with dots stays path-style (TLS wildcards cover one label) */
    assert_int_equal(open_s3("s3://my.bucket", NULL, &s, &err), RS_OK);
    assert_false(((struct objstore_s3_conf *)s->be)->virtual_hosted);
    rs_objstore_close(s);
    /* the environment's endpoint, path-style; the option wins over it */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:10", 1);
    assert_int_equal(open_s3("s3://bucket", NULL, &s, &err), RS_OK);
    assert_string_equal(rs_objstore_describe(s), "s3://bucket/ at http://127.0.0.1:10");
    assert_false(((struct objstore_s3_conf *)s->be)->virtual_hosted);
    rs_objstore_close(s);
    rs_objstore_options opt = {.s3_endpoint = "https://minio.example:9000", .s3_addressing = RS_OBJSTORE_ADDRESSING_VIRTUAL};
    assert_int_equal(open_s3("s3://bucket", &opt, &s, &err), RS_OK);
    assert_string_equal(rs_objstore_describe(s), "s3://bucket/ at https://minio.example:9000");
    assert_true(((struct objstore_s3_conf *)s->be)->virtual_hosted);
    rs_objstore_close(s);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_REGION");
    static const struct {
        rs_objstore_options opt;
        const char *says;
    } bad[] = {
        {{.s3_endpoint = "ftp://h"}, "must start with http:// or https://"},
        {{.s3_endpoint = "http://h/bucket"}, "has a path"},
        {{.s3_endpoint = "http://user:pw@h"}, "holds credentials"},
        {{.s3_region = "Mars 1"}, "not a region name"},
        {{.part_bytes = 1 << 20}, "below S3's minimum"},
        {{.s3_sse = "rot13"}, "AES256 or aws:kms"},
        {{.s3_sse = "AES256", .s3_sse_kms_key_id = "k"}, "needs server-side encryption aws:kms"},
        {{.s3_storage_class = "STANDARD\r\nX-Evil: 1"}, "HTTP headers cannot carry"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rs_err_clear(&err);
        assert_int_equal(open_s3("s3://bucket", &bad[i].opt, &s, &err), RS_E_INVALID);
        if (strstr(err.msg, bad[i].says) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].says);
    }
}

static void credentials_come_from_env_then_file(void **state)
{
    (void)state;
    rs_objstore *s = NULL;
    rs_err err = RS_ERR_INIT;
    /* half set: say which half */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(open_s3("s3://bucket", NULL, &s, &err), RS_E_AUTH);
    assert_string_equal(err.msg, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    unsetenv("AWS_ACCESS_KEY_ID");
    /* none at all */
    rs_err_clear(&err);
    assert_int_equal(open_s3("s3://bucket", NULL, &s, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "no S3 credentials"));
    assert_non_null(strstr(err.hint, "AWS_ACCESS_KEY_ID"));
    /* a credentials file with two profiles */
    char *dir = rs_test_tmpdir("s3conf");
    char *file = rs_test_path(dir, "credentials");
    FILE *f = fopen(file, "w");
    fprintf(f, "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = " SECRET "\n\n"
               "[backup]\naws_access_key_id=AKIDBACKUP\naws_secret_access_key=" SECRET "x\n"
               "aws_session_token = tok\n");
    fclose(f);
    setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
    assert_int_equal(open_s3("s3://bucket", NULL, &s, &err), RS_OK);
    struct objstore_s3_conf *c = s->be;
    assert_string_equal(c->access_key_id, "AKIDDEFAULT");
    assert_null(c->session_token);
    rs_objstore_close(s);
    setenv("AWS_PROFILE", "backup", 1);
    assert_int_equal(open_s3("s3://bucket", NULL, &s, &err), RS_OK);
    c = s->be;
    assert_string_equal(c->access_key_id, "AKIDBACKUP");
    assert_string_equal(c->session_token, "tok");
    assert_int_equal(c->secret_len, strlen(SECRET) + 1);
    rs_objstore_close(s);
    rs_objstore_options opt = {.s3_profile = "nobody"};
    rs_err_clear(&err);
    assert_int_equal(open_s3("s3://bucket", &opt, &s, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "no profile 'nobody'"));
    unsetenv("AWS_PROFILE");
    rs_test_tmpdir_remove(dir);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(bad_bucket_names_say_why, setup),
        cmocka_unit_test_setup(endpoints_regions_and_addressing, setup),
        cmocka_unit_test_setup(credentials_come_from_env_then_file, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
