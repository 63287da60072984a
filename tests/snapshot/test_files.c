/*
 * An archive and its detached manifest as files (rs_snapshot_files), what
 * `rockstream snapshot` and serve's SNAPSHOT write: both appear only when
 * complete, an existing file is never replaced, and a failure at any step
 * leaves no file behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snap_fixture.h"

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void assert_file_holds(const char *path, const char *text)
{
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    assert_int_equal(n, (ssize_t)strlen(text));
    assert_string_equal(buf, text);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    uint8_t *p = malloc((size_t)st.st_size + 1);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return p;
}

/* Takes a snapshot of f->store into files; returns take's code. */
static rs_code take_into(struct snap_env *f, rs_snapshot_files *files, rs_snapshot_manifest **m, rs_err *err)
{
    rs_snapshot_options o = {.key = f->key, .zstd_threads = 1};
    rs_snapshot_sink sink = rs_snapshot_files_sink(files);
    return rs_snapshot_take(f->store, &o, &sink, m, NULL, err);
}

static void commit_puts_both_in_place(void **state)
{
    struct snap_env *f = *state;
    f->store = snap_make_db(f->db, 5000, 100);
    char *arch = rs_test_path(f->dir, "a.rsa"), *man = rs_test_path(f->dir, "a.rsa.manifest");
    rs_snapshot_files *files = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_files_open(arch, NULL, &files, &err), RS_OK);
    assert_string_equal(rs_snapshot_files_manifest_path(files), man);
    assert_int_equal(take_into(f, files, &f->m, &err), RS_OK);
    assert_int_equal(access(arch, F_OK), -1); /* nothing under the names before commit */
    assert_int_equal(access(man, F_OK), -1);
    assert_int_equal(rs_snapshot_files_commit(files, f->m, &err), RS_OK);
    rs_snapshot_files_close(files);
    assert_int_equal(snap_dir_entries(f->dir), 4); /* db, k.key, a.rsa, its manifest: no temporaries */

    /* the detached manifest is authentic and describes the archive file */
    size_t mlen = 0, alen = 0;
    uint8_t *mtext = read_all(man, &mlen), *atext = read_all(arch, &alen);
    rs_snapshot_manifest *back = NULL;
    assert_int_equal(rs_snapshot_manifest_decode(mtext, mlen, f->key, &back, &err), RS_OK);
    rs_snapshot_info in;
    rs_snapshot_manifest_info(back, &in);
    assert_int_equal(in.archive_bytes, alen);
    assert_int_equal(in.n_pairs, 5000);
    struct membuf buf = {.p = atext, .len = alen, .cap = alen};
    assert_int_equal(snap_unseal(&buf, f->key, f->to, back, &err), RS_OK);
    rs_snapshot_manifest_destroy(back);
    free(mtext);
    free(atext);
    free(arch);
    free(man);
}

static void open_refuses_an_existing_archive_or_manifest(void **state)
{
    struct snap_env *f = *state;
    char *arch = rs_test_path(f->dir, "a.rsa"), *man = rs_test_path(f->dir, "b.rsa.manifest");
    char *b = rs_test_path(f->dir, "b.rsa");
    write_file(arch, "mine");
    write_file(man, "also mine");
    rs_snapshot_files *files = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_files_open(arch, NULL, &files, &err), RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "already exists: refusing to replace it"));
    rs_err_clear(&err);
    /* the archive's name is free but its manifest's is not */
    assert_int_equal(rs_snapshot_files_open(b, NULL, &files, &err), RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "b.rsa.manifest' already exists"));
    assert_null(files);
    assert_int_equal(snap_dir_entries(f->dir), 3); /* k.key and the two files: no temporary left */
    assert_file_holds(arch, "mine");
    assert_file_holds(man, "also mine");
    free(arch);
    free(man);
    free(b);
}

static void open_refuses_a_missing_directory(void **state)
{
    struct snap_env *f = *state;
    char *arch = rs_test_path(f->dir, "nodir/a.rsa");
    rs_snapshot_files *files = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_files_open(arch, NULL, &files, &err), RS_E_IO);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_non_null(strstr(err.msg, "nodir/a.rsa"));
    assert_null(files);
    free(arch);
}

static void close_without_commit_leaves_nothing(void **state)
{
    struct snap_env *f = *state;
    char *arch = rs_test_path(f->dir, "a.rsa");
    rs_snapshot_files *files = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_files_open(arch, NULL, &files, &err), RS_OK);
    rs_snapshot_sink sink = rs_snapshot_files_sink(files);
    assert_int_equal(sink.write(sink.arg, (const uint8_t *)"partial", 7, &err), RS_OK);
    assert_int_equal(snap_dir_entries(f->dir), 3); /* k.key and two temporaries */
    rs_snapshot_files_close(files);
    assert_int_equal(snap_dir_entries(f->dir), 1);
    free(arch);
}

/* Someone takes the manifest's name while the seal runs: the manifest
 * cannot be put in place, so the archive, already named, goes again and
 * the other file is untouched. */
static void manifest_failure_removes_the_archive(void **state)
{
    struct snap_env *f = *state;
    f->store = snap_make_db(f->db, 1000, 100);
    char *arch = rs_test_path(f->dir, "a.rsa"), *man = rs_test_path(f->dir, "a.manifest");
    rs_snapshot_files *files = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_files_open(arch, man, &files, &err), RS_OK);
    assert_int_equal(take_into(f, files, &f->m, &err), RS_OK);
    write_file(man, "not yours");
    assert_int_equal(rs_snapshot_files_commit(files, f->m, &err), RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "manifest '"));
    rs_snapshot_files_close(files);
    assert_int_equal(access(arch, F_OK), -1);
    assert_file_holds(man, "not yours");
    assert_int_equal(snap_dir_entries(f->dir), 3); /* db, k.key, the other file */
    free(arch);
    free(man);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(commit_puts_both_in_place, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(open_refuses_an_existing_archive_or_manifest, snap_env_setup,
                                        snap_env_teardown),
        cmocka_unit_test_setup_teardown(open_refuses_a_missing_directory, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(close_without_commit_leaves_nothing, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(manifest_failure_removes_the_archive, snap_env_setup, snap_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
