/*
 * common/secret_file: a private file is read whole into locked memory; a
 * file group or others can access, a symbolic link, a directory, a FIFO, a
 * missing file and an oversized one are each refused with the message a
 * person sees, and none of those messages quotes the file's content.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret_file.h"
#include "testlib/testlib.h"

#define SECRET "s3cr3t-passw0rd\n"

static int setup(void **state)
{
    *state = rs_test_file_create("secret", "pass");
    return 0;
}

static int teardown(void **state)
{
    rs_test_file_destroy(*state);
    return 0;
}

static void write_file(const char *path, const char *text, unsigned mode)
{
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* Reads path expecting code; the message must name the file and never
 * hold the secret. */
static void assert_refused(const char *path, size_t max, unsigned flags, rs_code code, const char *want)
{
    rs_secret_file s = {.text = (char *)"stale", .len = 5};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_secret_file_read(path, "password file", max, flags, &s, &err), code);
    if (strstr(err.msg, want) == NULL)
        fail_msg("expected '%s' in: %s", want, err.msg);
    assert_non_null(strstr(err.msg, path));
    assert_null(strstr(err.msg, "s3cr3t"));
    assert_null(s.text);
    assert_int_equal(s.len, 0);
}

static void private_file_is_read_whole(void **state)
{
    struct rs_test_file *f = *state;
    write_file(f->path, SECRET, 0600);
    rs_secret_file s;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_secret_file_read(f->path, "password file", 64, 0, &s, &err), RS_OK);
    assert_int_equal(s.len, strlen(SECRET));
    assert_string_equal(s.text, SECRET);
    assert_int_equal(s.mode, 0600);
    rs_secret_file_release(&s);
    assert_null(s.text);
    rs_secret_file_release(&s); /* twice, and NULL: harmless */
    rs_secret_file_release(NULL);
}

static void exactly_the_bound_is_read_one_more_is_refused(void **state)
{
    struct rs_test_file *f = *state;
    write_file(f->path, SECRET, 0400);
    rs_secret_file s;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_secret_file_read(f->path, "password file", strlen(SECRET), 0, &s, &err), RS_OK);
    assert_string_equal(s.text, SECRET);
    rs_secret_file_release(&s);
    assert_refused(f->path, strlen(SECRET) - 1, 0, RS_E_INVALID, "is 16 bytes, more than the 15 a password file");
}

static void accessible_by_group_or_others_is_refused(void **state)
{
    struct rs_test_file *f = *state;
    write_file(f->path, SECRET, 0640);
    assert_refused(f->path, 64, 0, RS_E_AUTH, "accessible by group or others (mode 0640)");
    write_file(f->path, SECRET, 0604);
    assert_refused(f->path, 64, 0, RS_E_AUTH, "(mode 0604)");
    rs_err err = RS_ERR_INIT;
    rs_secret_file s;
    assert_int_equal(rs_secret_file_read(f->path, "password file", 64, 0, &s, &err), RS_E_AUTH);
    assert_string_equal(err.hint, "make it private with: chmod 600 <file>");
}

static void shared_file_is_read_then_checked_by_the_caller(void **state)
{
    struct rs_test_file *f = *state;
    write_file(f->path, "public key\n", 0644);
    rs_secret_file s;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_secret_file_read(f->path, "key file", 64, RS_SECRET_FILE_MAY_BE_SHARED, &s, &err), RS_OK);
    assert_int_equal(s.mode, 0644);
    assert_int_equal(rs_secret_file_check_private(f->path, "key file", s.mode, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "key file"));
    assert_non_null(strstr(err.msg, "(mode 0644)"));
    rs_err_clear(&err);
    assert_int_equal(rs_secret_file_check_private(f->path, "key file", 0600, &err), RS_OK);
    assert_int_equal(err.code, RS_OK);
    rs_secret_file_release(&s);
}

static void symbolic_link_is_refused_not_followed(void **state)
{
    struct rs_test_file *f = *state;
    char *real = rs_test_path(f->dir, "real");
    write_file(real, SECRET, 0600);
    assert_int_equal(symlink(real, f->path), 0);
    assert_refused(f->path, 64, 0, RS_E_INVALID, "is a symbolic link: refusing to follow it");
    free(real);
}

static void missing_directory_and_fifo_are_refused(void **state)
{
    struct rs_test_file *f = *state;
    assert_refused(f->path, 64, 0, RS_E_NOTFOUND, "No such file");
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_refused(f->path, 64, 0, RS_E_INVALID, "is not a regular file");
    assert_int_equal(rmdir(f->path), 0);
    /* a FIFO would block a plain open until a writer came */
    assert_int_equal(mkfifo(f->path, 0600), 0);
    assert_refused(f->path, 64, 0, RS_E_INVALID, "is not a regular file");
    rs_secret_file s;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_secret_file_read("", "password file", 64, 0, &s, &err), RS_E_INVALID);
    assert_string_equal(err.msg, "no password file given");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(private_file_is_read_whole),
        T(exactly_the_bound_is_read_one_more_is_refused),
        T(accessible_by_group_or_others_is_refused),
        T(shared_file_is_read_then_checked_by_the_caller),
        T(symbolic_link_is_refused_not_followed),
        T(missing_directory_and_fifo_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
