/*
 * S3's XML replies as objstore_xml.c reads them: every reply the S3
 * backend parses, as AWS and radosgw write them, plus error replies,
 * errors inside a 200, truncated and malformed documents, oversized and
 * over-nested elements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore_int.h"
#include "testlib/testlib.h"

#define NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

static rs_code list(const char *xml, const char *strip, struct objstore_page *page, rs_err *err)
{
    memset(page, 0, sizeof *page);
    return objstore_xml_list(xml, strlen(xml), strip, page, err);
}

static void error_reply(void **state)
{
    (void)state;
    const char *xml = DECL "<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message>"
                           "<Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>";
    struct objstore_s3_error e;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_xml_error(xml, strlen(xml), &e, &err), RS_OK);
    assert_string_equal(e.code, "NoSuchKey");
    assert_string_equal(e.message, "The resource you requested does not exist");
    /* radosgw's, with an empty message */
    const char *rgw = DECL "<Error><Code>NoSuchBucket</Code><Message></Message><BucketName>b</BucketName>"
                           "<RequestId>tx0-1</RequestId><HostId>1-default</HostId></Error>";
    assert_int_equal(objstore_xml_error(rgw, strlen(rgw), &e, &err), RS_OK);
    assert_string_equal(e.code, "NoSuchBucket");
    assert_string_equal(e.message, "");
}

static void truncated_error_reply(void **state)
{
    (void)state;
    const char *xml = DECL "<Error><Code>SlowDown</Code><Mess";
    struct objstore_s3_error e;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_xml_error(xml, strlen(xml), &e, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "malformed XML reply"));
    rs_err_clear(&err);
    assert_int_equal(objstore_xml_error("", 0, &e, &err), RS_E_PROTOCOL);
    rs_err_clear(&err);
    assert_int_equal(objstore_xml_error("<html>502 Bad Gateway</html>", 28, &e, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "<html>"));
}

static void initiate_reply(void **state)
{
    (void)state;
    const char *xml = DECL "<InitiateMultipartUploadResult" NS "><Bucket>b</Bucket><Key>k</Key>"
                           "<UploadId>2~iCw_lDY8VoNGabfa1KqS0GUhaRWSSgD</UploadId></InitiateMultipartUploadResult>";
    char *id = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_xml_initiate(xml, strlen(xml), &id, &err), RS_OK);
    assert_string_equal(id, "2~iCw_lDY8VoNGabfa1KqS0GUhaRWSSgD");
    free(id);
    const char *none = DECL "<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>";
    assert_int_equal(objstore_xml_initiate(none, strlen(none), &id, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "without an UploadId"));
    rs_err_clear(&err);
    assert_int_equal(objstore_xml_initiate(xml, strlen(xml) - 20, &id, &err), RS_E_PROTOCOL);
}

static void complete_reply_and_error_inside_200(void **state)
{
    (void)state;
    const char *ok = DECL "<CompleteMultipartUploadResult" NS "><Location>http://h/b/k</Location><Bucket>b</Bucket>"
                          "<Key>k</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
                          "</CompleteMultipartUploadResult>";
    char etag[RS_OBJSTORE_ETAG_MAX];
    struct objstore_s3_error e;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_xml_complete(ok, strlen(ok), etag, &e, &err), RS_OK);
    assert_string_equal(etag, "3858f62230ac3c915f300c664312c11f-9");
    assert_string_equal(e.code, "");
    /* S3 may send 200, then whitespace, then an error */
    const char *failed = DECL "\n  \n<Error><Code>InternalError</Code><Message>We encountered an internal error. "
                              "Please try again.</Message></Error>";
    assert_int_equal(objstore_xml_complete(failed, strlen(failed), etag, &e, &err), RS_OK);
    assert_string_equal(e.code, "InternalError");
    assert_non_null(strstr(e.message, "internal error"));
    assert_int_equal(objstore_xml_complete(ok, 60, etag, &e, &err), RS_E_PROTOCOL);
}

static void list_reply_with_pages(void **state)
{
    (void)state;
    const char *xml = DECL "<ListBucketResult" NS "><Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount>"
                           "<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
                           "<Contents><Key>p/a</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
                           "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
                           "<StorageClass>STANDARD</StorageClass></Contents>"
                           "<Contents><Key>p/b/c &amp; d</Key><LastModified>2009-10-12T17:50:31Z</LastModified>"
                           "<ETag>&quot;e&quot;</ETag><Size>0</Size></Contents>"
                           "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
                           "</ListBucketResult>";
    struct objstore_page page;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(list(xml, "p/", &page, &err), RS_OK);
    assert_int_equal(page.n, 2);
    assert_string_equal(page.items[0].key, "a");
    assert_int_equal(page.items[0].info.size_bytes, 434234);
    assert_string_equal(page.items[0].info.etag, "fba9dede5f27731c9771645a39863328");
    assert_int_equal(page.items[0].info.mtime_unix_ms, 1255369830000LL);
    assert_string_equal(page.items[1].key, "b/c & d");
    assert_int_equal(page.items[1].info.size_bytes, 0);
    assert_true(page.truncated);
    assert_string_equal(page.next[0], "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    objstore_page_clear(&page);
}

static void list_reply_url_encoded(void **state)
{
    (void)state;
    /* EncodingType comes after the keys, as AWS orders it */
    const char *xml = DECL "<ListBucketResult" NS "><IsTruncated>false</IsTruncated>"
                           "<Contents><Key>dir/a+b%2Bc%25%C3%BC</Key><Size>1</Size></Contents>"
                           "<EncodingType>url</EncodingType></ListBucketResult>";
    struct objstore_page page;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(list(xml, "dir/", &page, &err), RS_OK);
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].key, "a b+c%\xc3\xbc");
    assert_false(page.truncated);
    objstore_page_clear(&page);
    const char *bad = DECL "<ListBucketResult><Contents><Key>a%G1</Key><Size>1</Size></Contents>"
                           "<EncodingType>url</EncodingType></ListBucketResult>";
    assert_int_equal(list(bad, "", &page, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "not url-encoded"));
    objstore_page_clear(&page);
}

static void list_reply_rejects_what_cannot_be(void **state)
{
    (void)state;
    struct objstore_page page;
    rs_err err = RS_ERR_INIT;
    const char *outside = DECL "<ListBucketResult><Contents><Key>q/a</Key><Size>1</Size></Contents></ListBucketResult>";
    assert_int_equal(list(outside, "p/", &page, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "outside prefix"));
    objstore_page_clear(&page);
    rs_err_clear(&err);
    const char *endless = DECL "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
    assert_int_equal(list(endless, "", &page, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "without a continuation"));
    objstore_page_clear(&page);
    rs_err_clear(&err);
    const char *size = DECL "<ListBucketResult><Contents><Key>a</Key><Size>12x</Size></Contents></ListBucketResult>";
    assert_int_equal(list(size, "", &page, &err), RS_E_PROTOCOL);
    objstore_page_clear(&page);
    rs_err_clear(&err);
    const char *nokey = DECL "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>";
    assert_int_equal(list(nokey, "", &page, &err), RS_E_PROTOCOL);
    objstore_page_clear(&page);
    rs_err_clear(&err);
    const char *truncated = DECL "<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Cont";
    assert_int_equal(list(truncated, "", &page, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "truncated?"));
    objstore_page_clear(&page);
    rs_err_clear(&err);
    const char *other = DECL "<ListAllMyBucketsResult></ListAllMyBucketsResult>";
    assert_int_equal(list(other, "", &page, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "expected <ListBucketResult>"));
    objstore_page_clear(&page);
}

static void oversized_and_deep_elements(void **state)
{
    (void)state;
    size_t n = 5000;
    char *xml = malloc(n + 128);
    int at = sprintf(xml, "<ListBucketResult><Contents><Key>");
    memset(xml + at, 'k', n);
    strcpy(xml + at + n, "</Key></Contents></ListBucketResult>");
    struct objstore_page page;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(list(xml, "", &page, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "more than 4096 bytes"));
    objstore_page_clear(&page);
    free(xml);
    rs_err_clear(&err);
    const char *deep = "<ListBucketResult><a><b><c><d><e><f><g><h><i></i></h></g></f></e></d></c></b></a></ListBucketResult>";
    assert_int_equal(list(deep, "", &page, &err), RS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "nests deeper"));
    objstore_page_clear(&page);
}

static void uploads_reply(void **state)
{
    (void)state;
    const char *xml = DECL "<ListMultipartUploadsResult" NS "><Bucket>b</Bucket><KeyMarker></KeyMarker>"
                           "<UploadIdMarker></UploadIdMarker><NextKeyMarker>p/my%20movie.m2ts</NextKeyMarker>"
                           "<NextUploadIdMarker>YW55IGlkZWEgd2h5</NextUploadIdMarker><MaxUploads>2</MaxUploads>"
                           "<IsTruncated>true</IsTruncated>"
                           "<Upload><Key>p/my%20divisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5n</UploadId>"
                           "<Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>"
                           "<Upload><Key>p/my%20movie.m2ts</Key><UploadId>YW55IGlkZWEgd2h5</UploadId>"
                           "<Initiated>2010-11-10T20:49:33.000Z</Initiated></Upload>"
                           "<EncodingType>url</EncodingType></ListMultipartUploadsResult>";
    struct objstore_page page = {0};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(objstore_xml_uploads(xml, strlen(xml), "p/", &page, &err), RS_OK);
    assert_int_equal(page.n, 2);
    assert_string_equal(page.items[0].key, "my divisor");
    assert_string_equal(page.items[0].upload_id, "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5n");
    assert_int_equal(page.items[0].info.mtime_unix_ms, 1289422113000LL);
    assert_string_equal(page.items[1].key, "my movie.m2ts");
    assert_true(page.truncated);
    assert_string_equal(page.next[0], "p/my movie.m2ts"); /* decoded: it goes back as a parameter */
    assert_string_equal(page.next[1], "YW55IGlkZWEgd2h5");
    objstore_page_clear(&page);
    assert_int_equal(objstore_xml_uploads(xml, 200, "p/", &page, &err), RS_E_PROTOCOL);
    objstore_page_clear(&page);
}

static void delete_reply(void **state)
{
    (void)state;
    char failed[RS_OBJSTORE_KEY_MAX + 1];
    struct objstore_s3_error e;
    rs_err err = RS_ERR_INIT;
    const char *quiet = DECL "<DeleteResult" NS "/>";
    assert_int_equal(objstore_xml_delete(quiet, strlen(quiet), failed, &e, &err), RS_OK);
    assert_string_equal(e.code, "");
    const char *partial = DECL "<DeleteResult" NS "><Deleted><Key>a</Key></Deleted>"
                               "<Error><Key>p/b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                               "<Error><Key>p/c</Key><Code>InternalError</Code><Message>x</Message></Error>"
                               "</DeleteResult>";
    assert_int_equal(objstore_xml_delete(partial, strlen(partial), failed, &e, &err), RS_OK);
    assert_string_equal(failed, "p/b");
    assert_string_equal(e.code, "AccessDenied");
    assert_string_equal(e.message, "Access Denied");
    const char *whole = DECL "<Error><Code>MalformedXML</Code><Message>bad</Message></Error>";
    assert_int_equal(objstore_xml_delete(whole, strlen(whole), failed, &e, &err), RS_OK);
    assert_string_equal(e.code, "MalformedXML");
    assert_int_equal(objstore_xml_delete(partial, 90, failed, &e, &err), RS_E_PROTOCOL);
}

static void escaping_and_dates(void **state)
{
    (void)state;
    char *esc = objstore_xml_escape("a&b<c>\"d'e \xc3\xbc");
    assert_string_equal(esc, "a&amp;b&lt;c&gt;&quot;d&apos;e \xc3\xbc");
    free(esc);
    assert_int_equal(objstore_iso8601_ms("1970-01-01T00:00:01.500Z"), 1500);
    assert_int_equal(objstore_iso8601_ms("2013-05-24T00:00:00Z"), 1369353600000LL);
    assert_int_equal(objstore_iso8601_ms("yesterday"), -1);
    assert_int_equal(objstore_iso8601_ms("2013-13-24T00:00:00Z"), -1);
    char etag[RS_OBJSTORE_ETAG_MAX];
    objstore_etag_copy(etag, "\"abc-2\"\r\n", 9);
    assert_string_equal(etag, "abc-2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_reply),
        cmocka_unit_test(truncated_error_reply),
        cmocka_unit_test(initiate_reply),
        cmocka_unit_test(complete_reply_and_error_inside_200),
        cmocka_unit_test(list_reply_with_pages),
        cmocka_unit_test(list_reply_url_encoded),
        cmocka_unit_test(list_reply_rejects_what_cannot_be),
        cmocka_unit_test(oversized_and_deep_elements),
        cmocka_unit_test(uploads_reply),
        cmocka_unit_test(delete_reply),
        cmocka_unit_test(escaping_and_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
