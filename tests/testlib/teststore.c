/* Store helpers for the tests; see teststore.h. */
#include "testlib/teststore.h"

#include <stdio.h>
#include <string.h>

#include "testlib/testlib.h"

rs_store *rs_test_store_open(const char *path, const rs_store_config *cfg)
{
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(path, cfg, &s, &err) != RS_OK)
        fail_msg("open '%s': %s", path, err.msg);
    return s;
}

void rs_test_put(rs_store *s, const char *key, const char *val)
{
    rs_err err = RS_ERR_INIT;
    if (rs_store_put(s, B(key), strlen(key), B(val), strlen(val), &err) != RS_OK)
        fail_msg("put '%s': %s", key, err.msg);
}

void rs_test_expect_value(rs_store *s, const rs_store_view *view, const char *key, const char *want)
{
    rs_store_value v = {0};
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_get(s, view, B(key), strlen(key), &v, &err);
    if (rc != RS_OK)
        fail_msg("get '%s': %s (%s)", key, rs_code_name(rc), err.msg);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.data, want, v.len);
    rs_store_value_release(&v);
}

void rs_test_expect_missing(rs_store *s, const rs_store_view *view, const char *key)
{
    rs_store_value v = {0};
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_get(s, view, B(key), strlen(key), &v, &err);
    if (rc != RS_E_NOTFOUND)
        fail_msg("get '%s': expected notfound, got %s", key, rs_code_name(rc));
    assert_int_equal(err.code, RS_OK); /* a missing key is not a failure */
}

void rs_test_put_numbered(rs_store *s, unsigned long first, unsigned long last)
{
    char key[32], val[32];
    for (unsigned long i = first; i < last; i++) {
        snprintf(key, sizeof key, "key-%lu", i);
        snprintf(val, sizeof val, "value-%lu", i);
        rs_test_put(s, key, val);
    }
}

void rs_test_expect_numbered(rs_store *s, const rs_store_view *view, unsigned long first, unsigned long last)
{
    char key[32], val[32];
    for (unsigned long i = first; i < last; i++) {
        snprintf(key, sizeof key, "key-%lu", i);
        snprintf(val, sizeof val, "value-%lu", i);
        rs_test_expect_value(s, view, key, val);
    }
}
