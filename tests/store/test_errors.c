/*
 * store: every way opening or writing a database can fail that a person
 * will meet, each with the message and hint they see and a check that
 * nothing already written was lost. Mounting (read-only file systems, a
 * full disk) needs root; those tests skip with a message otherwise.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

#define N_KEYS 500ul

struct fixture {
    struct rs_test_db *d;
    char              *dir; /* d->dir */
    char              *db;  /* d->db: where each test's database goes */
    char              *mnt; /* a tmpfs mounted by the test, or NULL */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->d = rs_test_db_make("errors", 0);
    f->dir = f->d->dir;
    f->db = f->d->db;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rs_test_unmount(f->mnt);
    rs_test_db_close(f->d);
    free(f);
    return 0;
}

/* Makes a database at path holding key-0 .. key-(N_KEYS-1), half of them
 * flushed to an SST file, and closes it. */
static void make_db(const char *path)
{
    rs_store_config cfg = {.create_if_missing = 1};
    rs_store *s = rs_test_store_open(path, &cfg);
    rs_err err = RS_ERR_INIT;
    rs_test_put_numbered(s, 0, N_KEYS / 2);
    assert_int_equal(rs_store_flush(s, &err), RS_OK);
    rs_test_put_numbered(s, N_KEYS / 2, N_KEYS);
    rs_store_close(s);
}

/* Reopens path and checks every key make_db wrote. */
static void expect_db_intact(const char *path)
{
    rs_store *s = rs_test_store_open(path, NULL);
    rs_test_expect_numbered(s, NULL, 0, N_KEYS);
    rs_store_close(s);
}

static rs_code open_fails(const char *path, const rs_store_config *cfg, rs_err *err)
{
    rs_store *s = NULL;
    rs_code rc = rs_store_open(path, cfg, &s, err);
    assert_null(s);
    assert_int_equal(rc, err->code);
    print_message("      message: %s\n      hint: %s\n", err->msg, err->hint != NULL ? err->hint : "(none)");
    return rc;
}

/* Opens path expecting a refusal with code, a message that names path and
 * says msg, and a hint that says hint; returns with the refusal in err. */
static void expect_refused(const char *path, const rs_store_config *cfg, rs_code code, const char *msg,
                           const char *hint, rs_err *err)
{
    assert_int_equal(open_fails(path, cfg, err), code);
    if (strstr(err->msg, msg) == NULL || strstr(err->msg, path) == NULL)
        fail_msg("message '%s' lacks '%s' or '%s'", err->msg, msg, path);
    if (err->hint == NULL || strstr(err->hint, hint) == NULL)
        fail_msg("hint '%s' lacks '%s'", err->hint != NULL ? err->hint : "(none)", hint);
}

/* ---- a missing database --------------------------------------------- */

static void open_missing_without_create_is_notfound(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    expect_refused(f->db, NULL, RS_E_NOTFOUND, "no database at", "--create", &err);
    /* a mistyped path must not leave a directory behind */
    struct stat st;
    assert_int_equal(stat(f->db, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void open_empty_directory_without_create_writes_nothing(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mkdir(f->db, 0755), 0);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(open_fails(f->db, NULL, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "no database at"));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", f->db);
    assert_int_equal(system(cmd), 0);
}

static void create_under_missing_parent_is_notfound(void **state)
{
    struct fixture *f = *state;
    char *deep = rs_test_path(f->dir, "no/such/db");
    rs_store_config cfg = {.create_if_missing = 1};
    rs_err err = RS_ERR_INIT;
    expect_refused(deep, &cfg, RS_E_NOTFOUND, "its parent directory does not exist", "create the parent", &err);
    assert_int_equal(err.sys_errno, ENOENT);
    free(deep);
}

/* ---- a database another process holds -------------------------------- */

static void open_locked_by_another_process_is_busy(void **state)
{
    struct fixture *f = *state;
    make_db(f->db);
    char *helper = rs_test_helper("rs_store_helper");
    char *argv[] = {helper, "hold", f->db, NULL};
    int out = -1;
    pid_t pid = rs_test_spawn(argv, &out, -1);
    char line[512];
    assert_true(rs_test_read_line(out, line, sizeof line, 30000) >= 0);
    assert_string_equal(line, "ready");

    rs_err err = RS_ERR_INIT;
    expect_refused(f->db, NULL, RS_E_BUSY, "in use by another process", "stop the other rockstream", &err);

    kill(pid, SIGKILL);
    assert_int_equal(rs_test_wait(pid, 30000), 128 + SIGKILL);
    close(out);
    free(helper);
    expect_db_intact(f->db);
}

/* ---- a damaged CURRENT file ------------------------------------------ */

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap, fp);
    fclose(fp);
    return n;
}

/* Each damage is refused as corruption; the damaged file is left as it
 * was (rockstream changed nothing), and putting CURRENT back shows every
 * key intact. */
static void open_with_corrupt_current_is_corrupt(void **state)
{
    struct fixture *f = *state;
    static const struct { const char *bytes; size_t len; } damage[] = {
        {"MANIFEST-999999\n", 16},      /* names a manifest that is not there */
        {"\x01\x02garbage", 9},         /* not a manifest name at all */
        {"", 0},                        /* truncated to nothing */
    };
    make_db(f->db);
    char *current = rs_test_path(f->db, "CURRENT");
    char good[256], now[256];
    size_t good_len = read_file(current, good, sizeof good);
    assert_true(good_len > 0);

    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        write_file(current, damage[i].bytes, damage[i].len);
        rs_err err = RS_ERR_INIT;
        expect_refused(f->db, NULL, RS_E_CORRUPT, "is corrupt", "restore it from a backup", &err);
        assert_int_equal(read_file(current, now, sizeof now), damage[i].len);
        assert_memory_equal(now, damage[i].bytes, damage[i].len);
    }
    write_file(current, good, good_len);
    expect_db_intact(f->db);
    free(current);
}

/* ---- directories we may not write ------------------------------------ */

static void open_as_user_without_permission_is_eacces(void **state)
{
    struct fixture *f = *state;
    if (!rs_test_is_root()) {
        print_message("      skipped: needs root to run the opener as another user (nobody)\n");
        skip();
    }
    make_db(f->db);
    /* let the other user reach the database directory, not write it */
    assert_int_equal(chmod(f->dir, 0755), 0);
    char *helper = rs_test_helper("rs_store_helper");
    char *argv[] = {helper, "open", f->db, NULL};
    int out = -1;
    pid_t pid = rs_test_spawn(argv, &out, 65534);
    char line[512];
    char hint[512];
    if (rs_test_read_line(out, line, sizeof line, 30000) < 0) {
        /* 127: the helper could not even start as nobody, e.g. the build
         * is under a directory only root may enter */
        int status = rs_test_wait(pid, 30000);
        close(out);
        if (status != 127)
            fail_msg("the helper said nothing and exited %d", status);
        print_message("      skipped: user nobody cannot run %s (a build under /root?)\n", helper);
        free(helper);
        skip();
    }
    assert_true(rs_test_read_line(out, hint, sizeof hint, 30000) > 0);
    print_message("      helper as uid 65534: %s\n      %s\n", line, hint);
    assert_int_equal(rs_test_wait(pid, 30000), 1);
    close(out);
    free(helper);
    char want[16];
    snprintf(want, sizeof want, "%d ", RS_E_IO);
    assert_memory_equal(line, want, strlen(want));
    assert_non_null(strstr(line, "permission denied on database"));
    assert_non_null(strstr(hint, "run as a user that may read and write"));
    expect_db_intact(f->db);
}

/* Mounts a tmpfs of size_mib at dir/name; returns 0, or -1 (and the test
 * skips) when this process may not mount. */
static int mount_tmpfs(struct fixture *f, const char *name, int size_mib)
{
    f->mnt = rs_test_mount_tmpfs(f->dir, name, size_mib);
    return f->mnt != NULL ? 0 : -1;
}

static void remount(struct fixture *f, unsigned long flags, const char *opts)
{
    if (mount("tmpfs", f->mnt, "tmpfs", MS_REMOUNT | flags, opts) != 0)
        fail_msg("remount '%s' (%s): %s", f->mnt, opts, strerror(errno));
}

static void open_on_read_only_file_system_is_erofs(void **state)
{
    struct fixture *f = *state;
    if (mount_tmpfs(f, "ro", 16) != 0)
        skip();
    char *db = rs_test_path(f->mnt, "db");
    make_db(db);
    remount(f, MS_RDONLY, "size=16m");

    rs_err err = RS_ERR_INIT;
    expect_refused(db, NULL, RS_E_IO, "is on a read-only file system", "remount it read-write", &err);
    assert_int_equal(err.sys_errno, EROFS);
    /* reading needs no writes: a read-only open works on it */
    rs_store_config ro = {.read_only = 1};
    rs_store *s = rs_test_store_open(db, &ro);
    rs_test_expect_numbered(s, NULL, 0, N_KEYS);
    rs_store_close(s);

    remount(f, 0, "size=16m");
    expect_db_intact(db);
    free(db);
}

/* ---- a full disk ---------------------------------------------------- */

/* Writes 4 KiB values until the store refuses; returns how many puts were
 * acknowledged, and the refusal in err. */
static unsigned long fill_until_refused(rs_store *s, rs_err *err)
{
    static uint8_t val[4096];
    memset(val, 'v', sizeof val);
    char key[32];
    for (unsigned long i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "fill-%06lu", i);
        if (rs_store_put(s, B(key), (size_t)n, val, sizeof val, err) != RS_OK)
            return i;
    }
    fail_msg("wrote 400 MB to an 8 MiB file system without an error");
    return 0;
}

static void write_to_full_disk_is_enospc_and_keeps_acknowledged_writes(void **state)
{
    struct fixture *f = *state;
    if (mount_tmpfs(f, "full", 8) != 0)
        skip();
    char *db = rs_test_path(f->mnt, "db");
    /* small memtables, so flushes hit the full disk too, not only the WAL */
    rs_store_config cfg = {.create_if_missing = 1, .write_buffer_bytes = 1 << 20};
    rs_store *s = rs_test_store_open(db, &cfg);
    rs_err err = RS_ERR_INIT;
    unsigned long acked = fill_until_refused(s, &err);
    print_message("      %lu puts acknowledged; then: %s\n      hint: %s\n", acked, err.msg,
                  err.hint != NULL ? err.hint : "(none)");
    assert_true(acked > 100);
    assert_int_equal(err.code, RS_E_IO);
    assert_int_equal(err.sys_errno, ENOSPC);
    assert_non_null(strstr(err.msg, "disk full"));
    assert_non_null(err.hint);
    rs_store_close(s);

    remount(f, 0, "size=64m");
    s = rs_test_store_open(db, &cfg);
    static uint8_t want[4096];
    memset(want, 'v', sizeof want);
    char key[32];
    for (unsigned long i = 0; i < acked; i++) {
        int n = snprintf(key, sizeof key, "fill-%06lu", i);
        rs_store_value v = {0};
        rs_err e = RS_ERR_INIT;
        if (rs_store_get(s, NULL, B(key), (size_t)n, &v, &e) != RS_OK)
            fail_msg("acknowledged key '%s' lost after the disk filled: %s", key, e.msg);
        assert_int_equal(v.len, sizeof want);
        assert_memory_equal(v.data, want, sizeof want);
        rs_store_value_release(&v);
    }
    /* and it takes writes again */
    rs_test_put(s, "after", "space");
    rs_store_close(s);
    free(db);
}

/* ---- bad configuration ---------------------------------------------- */

static void expect_invalid(struct fixture *f, const rs_store_config *cfg, const char *needle, int has_hint)
{
    rs_err err = RS_ERR_INIT;
    assert_int_equal(open_fails(f->db, cfg, &err), RS_E_INVALID);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("message '%s' does not contain '%s'", err.msg, needle);
    assert_int_equal(err.hint != NULL, has_hint);
    struct stat st;
    assert_int_equal(stat(f->db, &st), -1); /* refused before touching the disk */
}

static void invalid_configuration_is_refused_before_touching_disk(void **state)
{
    struct fixture *f = *state;
    char *hot = rs_test_path(f->dir, "hot"), *cold = rs_test_path(f->dir, "cold");
    rs_store_config c = {.create_if_missing = 1, .n_tiers = 2};
    c.tiers[0].path = hot;
    c.tiers[1].path = cold;
    char want[512];
    snprintf(want, sizeof want, "storage tier '%s' needs a target size", hot);
    expect_invalid(f, &c, want, 1);
    c.tiers[0].target_bytes = 1 << 20;
    c.tiers[1].path = "";
    expect_invalid(f, &c, "storage tier 1 has no path", 0);
    c.n_tiers = RS_STORE_MAX_TIERS + 1;
    expect_invalid(f, &c, "at most 4 are supported", 0);

    c = (rs_store_config){.create_if_missing = 1, .zstd_level = 99};
    expect_invalid(f, &c, "zstd level 99 is outside -7..22", 1);
    c = (rs_store_config){.create_if_missing = 1, .sync = (rs_store_sync)42};
    expect_invalid(f, &c, "unknown sync policy 42", 0);
    c = (rs_store_config){.create_if_missing = 1};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(open_fails("", &c, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "no database path"));
    free(hot);
    free(cold);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(open_missing_without_create_is_notfound),
        T(open_empty_directory_without_create_writes_nothing),
        T(create_under_missing_parent_is_notfound),
        T(open_locked_by_another_process_is_busy),
        T(open_with_corrupt_current_is_corrupt),
        T(open_as_user_without_permission_is_eacces),
        T(open_on_read_only_file_system_is_erofs),
        T(write_to_full_disk_is_enospc_and_keeps_acknowledged_writes),
        T(invalid_configuration_is_refused_before_touching_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
