/*
 * The SigV4 signer against AWS's published examples (the S3 API
 * reference's "Signature Calculations for the Authorization Header:
 * Transferring Payload in a Single Chunk": GET object with a range, PUT
 * object, GET bucket lifecycle, GET bucket list), and S3's encoding rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore_int.h"
#include "testlib/testlib.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HOST "examplebucket.s3.amazonaws.com"
#define DATE "20130524T000000Z"

static const struct objstore_sigv4_key aws_key = {
    .access_key_id = "AKIAIOSFODNN7EXAMPLE",
    .secret = (const uint8_t *)"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    .secret_len = 40,
    .region = "us-east-1",
    .service = "s3",
};

static void expect_signature(const struct objstore_sigv4_req *r, const char *signed_headers, const char *sig)
{
    char auth[1024], want[1024];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_sigv4_authorization(r, &aws_key, DATE, auth, sizeof auth, &err), RS_OK);
    snprintf(want, sizeof want,
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
             "SignedHeaders=%s,Signature=%s",
             signed_headers, sig);
    assert_string_equal(auth, want);
}

static void get_object_with_range(void **state)
{
    (void)state;
    struct objstore_header h[] = {{"host", HOST}, {"range", "bytes=0-9"}, {"x-amz-content-sha256", EMPTY_SHA},
                                  {"x-amz-date", DATE}};
    struct objstore_sigv4_req r = {"GET", "/test.txt", "", h, 4, EMPTY_SHA};
    char *canonical = NULL, *signed_headers = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_sigv4_canonical(&r, &canonical, &signed_headers, &err), RS_OK);
    assert_string_equal(canonical, "GET\n/test.txt\n\nhost:" HOST "\nrange:bytes=0-9\nx-amz-content-sha256:" EMPTY_SHA
                                   "\nx-amz-date:" DATE "\n\nhost;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
    char hash[OBJSTORE_SHA256_HEX];
    objstore_sha256_hex((const uint8_t *)canonical, strlen(canonical), hash);
    /* the canonical request's hash in the example's string to sign */
    assert_string_equal(hash, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    free(canonical);
    free(signed_headers);
    expect_signature(&r, "host;range;x-amz-content-sha256;x-amz-date",
                     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void put_object_with_encoded_key(void **state)
{
    (void)state;
    const char *body = "Welcome to Amazon S3.";
    char payload[OBJSTORE_SHA256_HEX];
    objstore_sha256_hex((const uint8_t *)body, strlen(body), payload);
    assert_string_equal(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    char *path_key = objstore_uri_encode("test$file.text", 1);
    char path[64];
    snprintf(path, sizeof path, "/%s", path_key);
    assert_string_equal(path, "/test%24file.text");
    /* headers in any order: the signer sorts them */
    struct objstore_header h[] = {{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                                  {"date", "Fri, 24 May 2013 00:00:00 GMT"},
                                  {"x-amz-date", DATE},
                                  {"host", HOST},
                                  {"x-amz-content-sha256", payload}};
    struct objstore_sigv4_req r = {"PUT", path, "", h, 5, payload};
    expect_signature(&r, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                     "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    free(path_key);
}

static void get_bucket_lifecycle(void **state)
{
    (void)state;
    struct objstore_param q[] = {{"lifecycle", NULL}};
    char *query = objstore_query_canonical(q, 1);
    assert_string_equal(query, "lifecycle=");
    struct objstore_header h[] = {{"host", HOST}, {"x-amz-content-sha256", EMPTY_SHA}, {"x-amz-date", DATE}};
    struct objstore_sigv4_req r = {"GET", "/", query, h, 3, EMPTY_SHA};
    char *canonical = NULL, *signed_headers = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_sigv4_canonical(&r, &canonical, &signed_headers, &err), RS_OK);
    char hash[OBJSTORE_SHA256_HEX];
    objstore_sha256_hex((const uint8_t *)canonical, strlen(canonical), hash);
    assert_string_equal(hash, "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
    expect_signature(&r, "host;x-amz-content-sha256;x-amz-date",
                     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    free(canonical);
    free(signed_headers);
    free(query);
}

static void list_objects_sorts_the_query(void **state)
{
    (void)state;
    struct objstore_param q[] = {{"prefix", "J"}, {"max-keys", "2"}};
    char *query = objstore_query_canonical(q, 2);
    assert_string_equal(query, "max-keys=2&prefix=J");
    struct objstore_header h[] = {{"host", HOST}, {"x-amz-content-sha256", EMPTY_SHA}, {"x-amz-date", DATE}};
    struct objstore_sigv4_req r = {"GET", "/", query, h, 3, EMPTY_SHA};
    expect_signature(&r, "host;x-amz-content-sha256;x-amz-date",
                     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    free(query);
}

static void a_changed_body_changes_the_signature(void **state)
{
    (void)state;
    char a[OBJSTORE_SHA256_HEX], b[OBJSTORE_SHA256_HEX], sa[1024], sb[1024];
    objstore_sha256_hex((const uint8_t *)"part", 4, a);
    objstore_sha256_hex((const uint8_t *)"parT", 4, b);
    struct objstore_header ha[] = {{"host", HOST}, {"x-amz-content-sha256", a}, {"x-amz-date", DATE}};
    struct objstore_header hb[] = {{"host", HOST}, {"x-amz-content-sha256", b}, {"x-amz-date", DATE}};
    struct objstore_sigv4_req ra = {"PUT", "/k", "", ha, 3, a}, rb = {"PUT", "/k", "", hb, 3, b};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_sigv4_authorization(&ra, &aws_key, DATE, sa, sizeof sa, &err), RS_OK);
    assert_int_equal(objstore_sigv4_authorization(&rb, &aws_key, DATE, sb, sizeof sb, &err), RS_OK);
    assert_string_not_equal(sa, sb);
    /* and the secret never appears in what is sent */
    assert_null(strstr(sa, "wJalrXUtnFEMI"));
}

static void uri_encoding_follows_s3(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int keep_slash;
        const char *out;
    } cases[] = {
        {"a b", 1, "a%20b"},
        {"a+b", 1, "a%2Bb"},
        {"100%", 1, "100%25"},
        {"dir/k\xc3\xbc.bin", 1, "dir/k%C3%BC.bin"},
        {"a/b", 0, "a%2Fb"},
        {"A-z_0.9~", 0, "A-z_0.9~"},
        {"=&?#*", 0, "%3D%26%3F%23%2A"},
        {"", 1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = objstore_uri_encode(cases[i].in, cases[i].keep_slash);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
    struct objstore_param q[] = {{"uploadId", "a/b+c"}, {"partNumber", "10"}, {"prefix", "x y/"}};
    char *query = objstore_query_canonical(q, 3);
    assert_string_equal(query, "partNumber=10&prefix=x%20y%2F&uploadId=a%2Fb%2Bc");
    free(query);
}

static void header_values_are_trimmed(void **state)
{
    (void)state;
    struct objstore_header h[] = {{"host", "  h  "}, {"x-amz-meta-a", "one   two"}};
    struct objstore_sigv4_req r = {"GET", "/", "", h, 2, EMPTY_SHA};
    char *canonical = NULL, *signed_headers = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_sigv4_canonical(&r, &canonical, &signed_headers, &err), RS_OK);
    assert_non_null(strstr(canonical, "host:h\nx-amz-meta-a:one two\n"));
    free(canonical);
    free(signed_headers);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_object_with_range),
        cmocka_unit_test(put_object_with_encoded_key),
        cmocka_unit_test(get_bucket_lifecycle),
        cmocka_unit_test(list_objects_sorts_the_query),
        cmocka_unit_test(a_changed_body_changes_the_signature),
        cmocka_unit_test(uri_encoding_follows_s3),
        cmocka_unit_test(header_values_are_trimmed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
