/*
 * snapshot: key files. keygen writes 0600 and never replaces a file;
 * loading fails closed, with a message naming the problem, for a missing
 * file, a file others can read, a wrong length, a damaged id, junk; and a
 * seal with no usable key writes nothing at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snap_fixture.h"

static int setup(void **state)
{
    *state = rs_test_file_create("keys", "k.key");
    return 0;
}

static int teardown(void **state)
{
    rs_test_file_destroy(*state);
    return 0;
}

static void keygen(struct rs_test_file *f)
{
    char id[17];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_keygen(f->path, RS_SNAPSHOT_KEY_SECRET, id, &err), RS_OK);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *buf = calloc(1, 4096);
    assert_true(fread(buf, 1, 4095, fp) > 0);
    fclose(fp);
    return buf;
}

static void rewrite(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    chmod(path, 0600);
}

static rs_code load(struct rs_test_file *f, rs_err *err)
{
    rs_snapshot_key *k = NULL;
    rs_code rc = rs_snapshot_key_load(f->path, &k, err);
    rs_snapshot_key_destroy(k);
    return rc;
}

static void keygen_writes_private_file_and_never_replaces(void **state)
{
    struct rs_test_file *f = *state;
    keygen(f);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *before = slurp(f->path);
    char id[17];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_keygen(f->path, RS_SNAPSHOT_KEY_SECRET, id, &err), RS_E_EXISTS);
    char *after = slurp(f->path);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void keygen_public_writes_pair_and_shareable_half(void **state)
{
    struct rs_test_file *f = *state;
    char id[17];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_keygen(f->path, RS_SNAPSHOT_KEY_PAIR, id, &err), RS_OK);
    char *pub = rs_test_path(f->dir, "k.key.pub");
    struct stat st;
    assert_int_equal(stat(pub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    char *text = slurp(pub);
    assert_null(strstr(text, "secret:"));
    assert_non_null(strstr(text, "type: public"));
    free(text);
    /* a second keygen refuses, whichever of the two exists */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(rs_snapshot_keygen(f->path, RS_SNAPSHOT_KEY_PAIR, id, &err), RS_E_EXISTS);
    assert_int_equal(access(f->path, F_OK), -1);
    free(pub);
}

static void missing_key_is_notfound(void **state)
{
    struct rs_test_file *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(load(f, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "k.key"));
}

static void key_readable_by_others_is_refused(void **state)
{
    struct rs_test_file *f = *state;
    keygen(f);
    chmod(f->path, 0640);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(load(f, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "accessible by group or others (mode 0640)"));
    assert_non_null(err.hint);
}

static void wrong_length_key_is_refused(void **state)
{
    struct rs_test_file *f = *state;
    keygen(f);
    char *text = slurp(f->path);
    char *secret = strstr(text, "secret: ");
    strcpy(secret + 8 + 62, "\n"); /* 31 bytes */
    rewrite(f->path, text);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(load(f, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "secret key is 31 bytes, expected 32"));
    free(text);
}

static void damaged_key_is_refused(void **state)
{
    struct rs_test_file *f = *state;
    keygen(f);
    char *text = slurp(f->path);
    char *secret = strstr(text, "secret: ") + 8;
    secret[0] = secret[0] == 'a' ? 'b' : 'a';
    rewrite(f->path, text);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(load(f, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "it is damaged"));
    rewrite(f->path, "just some text\n");
    rs_err_clear(&err);
    assert_int_equal(load(f, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "is not a rockstream key file"));
    free(text);
}

static void directory_as_key_is_refused(void **state)
{
    struct rs_test_file *f = *state;
    /* tests may run as root, who can read any file: a directory stands in
     * for an unreadable key */
    assert_int_equal(mkdir(f->path, 0700), 0);
    rs_err err = RS_ERR_INIT;
    assert_true(load(f, &err) != RS_OK);
    assert_non_null(strstr(err.msg, "k.key"));
}

static void seal_without_a_key_writes_nothing(void **state)
{
    struct rs_test_file *f = *state;
    char *db = rs_test_path(f->dir, "db");
    rs_store *s = snap_make_db(db, 10, 10);
    struct membuf out = {0};
    rs_snapshot_sink sink = membuf_sink(&out);
    rs_snapshot_options o = {0};
    rs_snapshot_manifest *m = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_take(s, &o, &sink, &m, NULL, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "always encrypted"));
    assert_int_equal(out.len, 0);
    assert_null(m);
    rs_store_close(s);
    free(db);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(keygen_writes_private_file_and_never_replaces),
        T(keygen_public_writes_pair_and_shareable_half),
        T(missing_key_is_notfound),
        T(key_readable_by_others_is_refused),
        T(wrong_length_key_is_refused),
        T(damaged_key_is_refused),
        T(directory_as_key_is_refused),
        T(seal_without_a_key_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
