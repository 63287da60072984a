/*
 * wal key files: made private and never overwritten, read back, and
 * refused when readable by others or not a key file, with the message a
 * person sees and nothing of the key in it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wal/wal.h"
#include "testlib/testlib.h"

static int setup(void **state)
{
    *state = rs_test_file_create("keyfile", "repl.key");
    return 0;
}

static int teardown(void **state)
{
    rs_test_file_destroy(*state);
    return 0;
}

static void created_private_and_read_back(void **state)
{
    struct rs_test_file *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_wal_key_create_file(f->path, &err), RS_OK);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    rs_wal_key a, b;
    assert_int_equal(rs_wal_key_read(f->path, &a, &err), RS_OK);
    assert_int_equal(rs_wal_key_read(f->path, &b, &err), RS_OK);
    assert_memory_equal(a.bytes, b.bytes, RS_WAL_KEY_BYTES);
    FILE *in = fopen(f->path, "r");
    char line[128];
    assert_non_null(fgets(line, sizeof line, in));
    fclose(in);
    assert_int_equal(strncmp(line, "rockstream-repl-key-v1 ", 23), 0);
    assert_int_equal(strlen(line), 23 + 64 + 1);
}

static void never_overwritten(void **state)
{
    struct rs_test_file *f = *state;
    rs_err err = RS_ERR_INIT;
    rs_wal_key a, b;
    assert_int_equal(rs_wal_key_create_file(f->path, &err), RS_OK);
    assert_int_equal(rs_wal_key_read(f->path, &a, &err), RS_OK);
    assert_int_equal(rs_wal_key_create_file(f->path, &err), RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "File exists"));
    assert_int_equal(rs_wal_key_read(f->path, &b, &err), RS_OK);
    assert_memory_equal(a.bytes, b.bytes, RS_WAL_KEY_BYTES);
}

static void readable_by_others_is_refused(void **state)
{
    struct rs_test_file *f = *state;
    rs_err err = RS_ERR_INIT;
    rs_wal_key k;
    assert_int_equal(rs_wal_key_create_file(f->path, &err), RS_OK);
    assert_int_equal(chmod(f->path, 0644), 0);
    assert_int_equal(rs_wal_key_read(f->path, &k, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "is accessible by group or others (mode 0644)"));
    assert_string_equal(err.hint, "make it private with: chmod 600 <file>");
}

static void not_a_key_file_is_refused_without_echoing_it(void **state)
{
    struct rs_test_file *f = *state;
    FILE *out = fopen(f->path, "w");
    fputs("rockstream-repl-key-v1 zzzzsecretzzzz\n", out);
    fclose(out);
    chmod(f->path, 0600);
    rs_err err = RS_ERR_INIT;
    rs_wal_key k;
    assert_int_equal(rs_wal_key_read(f->path, &k, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "is not a replication key file"));
    assert_null(strstr(err.msg, "secret"));
    rs_err_clear(&err);
    assert_int_equal(rs_wal_key_read("/nonexistent/repl.key", &k, &err), RS_E_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(created_private_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(never_overwritten, setup, teardown),
        cmocka_unit_test_setup_teardown(readable_by_others_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(not_a_key_file_is_refused_without_echoing_it, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
