/* common/err: the first error wins, context is prepended, codes have names. */
#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "testlib/testlib.h"

static void first_error_wins(void **state)
{
    (void)state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_err_set(&err, RS_E_IO, "read '%s'", "a"), RS_E_IO);
    assert_int_equal(rs_err_set(&err, RS_E_CORRUPT, "cleanup failed"), RS_E_CORRUPT);
    assert_int_equal(err.code, RS_E_IO);
    assert_string_equal(err.msg, "read 'a'");
}

static void prefix_adds_context(void **state)
{
    (void)state;
    rs_err err = RS_ERR_INIT;
    rs_err_set(&err, RS_E_NOTFOUND, "no snapshot");
    rs_err_prefix(&err, "restore '%s'", "x1");
    assert_string_equal(err.msg, "restore 'x1': no snapshot");
}

static void prefix_truncates_never_overflows(void **state)
{
    (void)state;
    rs_err err = RS_ERR_INIT;
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rs_err_set(&err, RS_E_IO, "%s", big);
    rs_err_prefix(&err, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
}

static void prefix_leaves_clear_err_alone(void **state)
{
    (void)state;
    rs_err err = RS_ERR_INIT;
    rs_err_prefix(&err, "context");
    assert_int_equal(err.code, RS_OK);
    assert_string_equal(err.msg, "");
}

static void sys_appends_strerror(void **state)
{
    (void)state;
    rs_err err = RS_ERR_INIT;
    rs_err_sys(&err, RS_E_IO, ENOSPC, "write '%s'", "f");
    assert_int_equal(err.sys_errno, ENOSPC);
    assert_string_equal(err.msg, "write 'f': No space left on device");
}

static void null_err_is_allowed(void **state)
{
    (void)state;
    assert_int_equal(rs_err_set(NULL, RS_E_BUSY, "x"), RS_E_BUSY);
    rs_err_prefix(NULL, "y");
    rs_err_clear(NULL);
}

static void codes_have_stable_names(void **state)
{
    (void)state;
    assert_string_equal(rs_code_name(RS_OK), "ok");
    assert_string_equal(rs_code_name(RS_E_CORRUPT), "corrupt");
    assert_string_equal(rs_code_name(RS_E_INTERNAL), "internal");
    assert_string_equal(rs_code_name((rs_code)999), "unknown");
    /* exit codes are the numeric values: they must never move */
    assert_int_equal(RS_E_NOTFOUND, 4);
    assert_int_equal(RS_E_CORRUPT, 6);
    assert_int_equal(RS_E_BUSY, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_error_wins),
        cmocka_unit_test(prefix_adds_context),
        cmocka_unit_test(prefix_truncates_never_overflows),
        cmocka_unit_test(prefix_leaves_clear_err_alone),
        cmocka_unit_test(sys_appends_strerror),
        cmocka_unit_test(null_err_is_allowed),
        cmocka_unit_test(codes_have_stable_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
