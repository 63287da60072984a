/*
 * A follower's own disk fails, the primary's stream is fine: a batch the
 * follower cannot write for lack of space is a local fault, not a
 * divergence. It retries with backoff, says why (status, log), and once
 * the disk has room resumes where it stopped: identical to the primary,
 * with no checkpoint sent. Issue 11: it used to be answered by a full
 * checkpoint every 5 s, each failing for want of room for a second copy.
 * Needs root (a small tmpfs), else skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "repl_fixture.h"

/* Fills the file system holding dir to the last byte; returns the file. */
static char *fill(const char *dir)
{
    char *path = rs_test_path(dir, "filler");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static uint8_t block[64 << 10];
    size_t chunk = sizeof block;
    while (chunk > 0) {
        if (write(fd, block, chunk) < 0) {
            assert_int_equal(errno, ENOSPC);
            chunk /= 2;
        }
    }
    close(fd);
    return path;
}

/* It failed a write, and has since looked again at least once. */
static int waiting_for_room(void *arg)
{
    rs_wal_follower_status st;
    rs_wal_follower_status_get(arg, &st);
    return st.n_local_errors == 1 && strstr(st.last_error.msg, "still full") != NULL;
}

static void full_disk_is_retried_then_resumed_without_a_checkpoint(void **state)
{
    struct fx *f = *state;
    char *mnt = rs_test_mount_tmpfs(f->dir, "small", 24);
    if (mnt == NULL)
        skip();
    free(f->fdb);
    f->fdb = rs_test_path(mnt, "db");
    write_keys(f->store, 0, 1000);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    caught_up(fo, f->store);
    char *filler = fill(mnt);
    write_keys(f->store, 1000, 4000);
    assert_true(rs_test_poll(waiting_for_room, fo, WAIT_MS));
    assert_true(log_says(f, "cannot write its own database: apply replicated batch: disk full"));
    assert_true(log_says(f, "still full"));
    rs_wal_follower_status st;
    rs_wal_follower_status_get(fo, &st);
    assert_int_equal(st.state != RS_WAL_FOLLOWER_FAILED && st.state != RS_WAL_FOLLOWER_REFUSED, 1);
    /* meanwhile it serves reads */
    rs_store *fs = rs_wal_follower_store_acquire(fo);
    assert_non_null(fs);
    rs_store_value v = {0};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_get(fs, NULL, B("key-000500"), 10, &v, &err), RS_OK);
    rs_store_value_release(&v);
    rs_wal_follower_store_release(fo);
    /* room again: it resumes by the stream */
    assert_int_equal(unlink(filler), 0);
    caught_up(fo, f->store);
    same_content(fo, f->store);
    rs_wal_follower_status_get(fo, &st);
    assert_int_equal(st.n_resyncs, 1);      /* its bootstrap only */
    assert_int_equal(st.n_divergences, 0);
    rs_wal_primary_stats ps;
    rs_wal_primary_stats_get(f->primary, &ps);
    assert_int_equal(ps.n_checkpoints, 1);
    rs_wal_follower_stop(fo);
    free(filler);
    rs_test_unmount(mnt);
}

static int failed_for_space(void *arg)
{
    rs_wal_follower_status st;
    rs_wal_follower_status_get(arg, &st);
    return strstr(st.last_error.msg, "write checkpoint file") != NULL;
}

/* Issue 11: a short write of a checkpoint file was reported with a stale
 * errno ("Resource temporarily unavailable", from the socket). */
static void checkpoint_into_a_disk_too_small_says_no_space(void **state)
{
    struct fx *f = *state;
    char *mnt = rs_test_mount_tmpfs(f->dir, "tiny", 2);
    if (mnt == NULL)
        skip();
    free(f->fdb);
    f->fdb = rs_test_path(mnt, "db");
    /* 4 MB that do not compress: the checkpoint cannot fit */
    rs_err err = RS_ERR_INIT;
    uint8_t val[4096];
    for (int i = 0; i < 1000; i++) {
        char k[16];
        randombytes_buf(val, sizeof val);
        int kl = snprintf(k, sizeof k, "rnd-%d", i);
        assert_int_equal(rs_store_put(f->store, B(k), (size_t)kl, val, sizeof val, &err), RS_OK);
    }
    assert_int_equal(rs_store_flush(f->store, &err), RS_OK);
    rs_wal_follower *fo = start_follower(f, &f->key, 0);
    assert_true(rs_test_poll(failed_for_space, fo, WAIT_MS));
    rs_wal_follower_status st;
    rs_wal_follower_status_get(fo, &st);
    print_message("      %s\n", st.last_error.msg);
    assert_non_null(strstr(st.last_error.msg, "No space left on device"));
    rs_wal_follower_stop(fo);
    rs_test_unmount(mnt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(full_disk_is_retried_then_resumed_without_a_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(checkpoint_into_a_disk_too_small_says_no_space, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
