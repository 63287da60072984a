/*
 * common/atomic_file: a committed file holds all its bytes with exactly the
 * mode asked for; until then the final name shows nothing (or the old
 * file) and the temporary is private; an abandoned or refused write leaves
 * no temporary; NO_REPLACE never replaces a file, even one that appears
 * while the new one is written; a write the system refuses is RS_E_IO.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "testlib/testlib.h"

static int setup(void **state)
{
    *state = rs_test_file_create("atomic", "port");
    return 0;
}

static int teardown(void **state)
{
    rs_test_file_destroy(*state);
    return 0;
}

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    size_t n = fread(buf, 1, cap - 1, in);
    buf[n] = '\0';
    fclose(in);
}

/* The entries of dir, and the one whose name starts with "port.tmp-". */
static int count_entries(const char *dir, char *tmp_name, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (tmp_name != NULL && strncmp(e->d_name, "port.tmp-", 9) == 0)
            snprintf(tmp_name, cap, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* The directory holds path alone (no temporary left), with text in it. */
static void assert_only_file(const struct rs_test_file *f, const char *text)
{
    char buf[64];
    slurp(f->path, buf, sizeof buf);
    assert_string_equal(buf, text);
    assert_int_equal(count_entries(f->dir, NULL, 0), 1);
}

static void put_writes_the_bytes_with_the_exact_mode(void **state)
{
    struct rs_test_file *f = *state;
    mode_t old = umask(077);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_atomic_file_put(f->path, "127.0.0.1:6379\n", 15, 0644, 0, &err), RS_OK);
    umask(old);
    assert_only_file(f, "127.0.0.1:6379\n");
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
}

static void replaces_by_default_and_shows_the_old_file_until_commit(void **state)
{
    struct rs_test_file *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_atomic_file_put(f->path, "old\n", 4, 0600, 0, &err), RS_OK);
    rs_atomic_file *af = NULL;
    assert_int_equal(rs_atomic_file_open(f->path, 0644, 0, &af, &err), RS_OK);
    assert_int_equal(rs_atomic_file_write(af, "new ", 4, &err), RS_OK);
    assert_int_equal(rs_atomic_file_write(af, "file\n", 5, &err), RS_OK);
    char buf[64], tmp[4096] = "";
    slurp(f->path, buf, sizeof buf);
    assert_string_equal(buf, "old\n");
    /* the temporary is private until it is named, whatever the final mode */
    assert_int_equal(count_entries(f->dir, tmp, sizeof tmp), 2);
    struct stat st;
    assert_int_equal(stat(tmp, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    assert_int_equal(rs_atomic_file_named(af), 0);
    assert_int_equal(rs_atomic_file_commit(af, &err), RS_OK);
    assert_int_equal(rs_atomic_file_named(af), 1);
    rs_atomic_file_close(af);
    assert_only_file(f, "new file\n");
}

static void abandoned_write_leaves_nothing(void **state)
{
    struct rs_test_file *f = *state;
    rs_atomic_file *af = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_atomic_file_open(f->path, 0600, 0, &af, &err), RS_OK);
    assert_int_equal(rs_atomic_file_write(af, "half", 4, &err), RS_OK);
    rs_atomic_file_close(af);
    rs_atomic_file_close(NULL);
    assert_int_equal(count_entries(f->dir, NULL, 0), 0);
}

static void no_replace_refuses_an_existing_file(void **state)
{
    struct rs_test_file *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_atomic_file_put(f->path, "first\n", 6, 0600, RS_ATOMIC_FILE_NO_REPLACE, &err), RS_OK);
    assert_int_equal(rs_atomic_file_put(f->path, "second\n", 7, 0600, RS_ATOMIC_FILE_NO_REPLACE, &err),
                     RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "/port' already exists: refusing to replace it"));
    assert_only_file(f, "first\n");
}

/* The name appears while the file is written (another keygen, say): the
 * commit refuses, the newcomer stays, the temporary goes. */
static void no_replace_holds_against_a_race(void **state)
{
    struct rs_test_file *f = *state;
    rs_atomic_file *af = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_atomic_file_open(f->path, 0600, RS_ATOMIC_FILE_NO_REPLACE, &af, &err), RS_OK);
    assert_int_equal(rs_atomic_file_write(af, "mine\n", 5, &err), RS_OK);
    FILE *other = fopen(f->path, "w");
    fputs("theirs\n", other);
    fclose(other);
    assert_int_equal(rs_atomic_file_commit(af, &err), RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "already exists"));
    assert_int_equal(rs_atomic_file_named(af), 0);
    rs_atomic_file_close(af);
    assert_only_file(f, "theirs\n");
}

static void missing_directory_and_refused_writes_are_io_errors(void **state)
{
    struct rs_test_file *f = *state;
    char *bad = rs_test_path(f->dir, "no/such/dir/file");
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_atomic_file_put(bad, "x", 1, 0600, 0, &err), RS_E_IO);
    assert_non_null(strstr(err.msg, "creating '"));
    free(bad);
    /* a file-size limit makes write(2) fail as a full disk would; in a
     * child, so the limit does not outlive the test */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = {.rlim_cur = 4, .rlim_max = RLIM_INFINITY};
        setrlimit(RLIMIT_FSIZE, &lim);
        rs_err e2 = RS_ERR_INIT;
        rs_code rc = rs_atomic_file_put(f->path, "too long", 8, 0600, 0, &e2);
        _exit(rc == RS_E_IO && strstr(e2.msg, "writing '") != NULL && e2.sys_errno != 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_entries(f->dir, NULL, 0), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(put_writes_the_bytes_with_the_exact_mode),
        T(replaces_by_default_and_shows_the_old_file_until_commit),
        T(abandoned_write_leaves_nothing),
        T(no_replace_refuses_an_existing_file),
        T(no_replace_holds_against_a_race),
        T(missing_directory_and_refused_writes_are_io_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
