/*
 * store: a follower's versioned state is its primary's. The follower starts
 * from a checkpoint and applies the primary's WAL batches byte for byte
 * (rs_store_apply_replicated: the keys carry their timestamps), reloading
 * its view of the versions after each batch that changes them, as wal/'s
 * follower does. At several heights, after commits with deletes, a
 * rollback in place, prune rounds that keep versions, and compactions on
 * both sides, the two answer every read alike: each readable and kept
 * version's record and digest, its whole state (hashed), point reads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"
#include "version_compare.h"

struct fixture {
    char     *dir;
    rs_store *primary;
    rs_store *follower;
    uint64_t  next_seq; /* the follower's next batch */
};

static const rs_store_prune_policy POLICY = {RS_STORE_PRUNE_CUSTOM, 8, 5, 1u << 30};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("vfollow");
    char *p = rs_test_path(f->dir, "primary");
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE, .prune = POLICY};
    f->primary = rs_test_store_open(p, &cfg);
    rs_store_set_chained(f->primary, 1); /* a primary that serves followers */
    free(p);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rs_store_close(f->follower);
    rs_store_close(f->primary);
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void commit(struct fixture *f, uint64_t first, uint64_t last)
{
    rs_err err = RS_ERR_INIT;
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    for (uint64_t v = first; v <= last; v++) {
        block_build(v, b);
        if (rs_store_commit(f->primary, v, b, &err) != RS_OK)
            fail_msg("commit %" PRIu64 ": %s", v, err.msg);
    }
    rs_store_batch_destroy(b);
}

/* Ships every batch the follower has not applied yet. */
static void ship(struct fixture *f)
{
    struct rs_test_batch b[256];
    size_t n;
    rs_err err = RS_ERR_INIT;
    while ((n = rs_test_batches_read(f->primary, f->next_seq, b, 256)) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (rs_store_apply_replicated(f->follower, b[i].seq, b[i].rep, b[i].len, &err) != RS_OK)
                fail_msg("apply seq %" PRIu64 ": %s", b[i].seq, err.msg);
            rs_store_version_mark m;
            if (rs_store_batch_version(f->follower, b[i].rep, b[i].len, &m, &err) == RS_OK)
                assert_int_equal(rs_store_version_reload(f->follower, &err), RS_OK);
        }
        f->next_seq = rs_store_latest_seq(f->follower) + 1;
        rs_test_batches_free(b, n);
    }
    assert_int_equal(rs_store_latest_seq(f->follower), rs_store_latest_seq(f->primary));
}

static void start_follower(struct fixture *f)
{
    char *p = rs_test_path(f->dir, "follower");
    uint64_t seq = 0;
    rs_store_config cfg = {.sync = RS_STORE_SYNC_NONE};
    f->follower = rs_test_follower_open(f->primary, p, &cfg, &seq);
    f->next_seq = seq + 1;
    free(p);
}

/* Ships what the follower lacks, then compares every version. */
static void same_versions(struct fixture *f)
{
    ship(f);
    vcmp_versions(f->primary, f->follower, 1);
}

static void follower_answers_every_height_alike(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    commit(f, 1, 12);
    start_follower(f); /* from a checkpoint at 12 */
    commit(f, 13, 30);
    same_versions(f);
    /* a reorganisation, in place on the primary, applied by the follower */
    assert_int_equal(rs_store_rollback(f->primary, 26, &err), RS_OK);
    same_versions(f);
    commit(f, 27, 40);
    same_versions(f);
    /* prune rounds keep every fifth version; compactions collect below */
    assert_int_equal(rs_store_prune(f->primary, NULL, &err), RS_OK);
    same_versions(f);
    assert_int_equal(rs_store_compact(f->follower, &err), RS_OK);
    assert_int_equal(rs_store_compact(f->primary, &err), RS_OK);
    same_versions(f);
    commit(f, 41, 55);
    assert_int_equal(rs_store_rollback(f->primary, 50, &err), RS_OK);
    commit(f, 51, 60);
    assert_int_equal(rs_store_prune(f->primary, NULL, &err), RS_OK);
    assert_int_equal(rs_store_compact(f->follower, &err), RS_OK);
    same_versions(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(follower_answers_every_height_alike, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
