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
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"
#include "version_blocks.h"

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

/* ---- the two answer alike --------------------------------------------- */

static int hash_pair(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    crypto_generichash_state *h = arg;
    uint8_t n[2] = {(uint8_t)kl, (uint8_t)vl};
    crypto_generichash_update(h, n, sizeof n);
    crypto_generichash_update(h, k, kl);
    crypto_generichash_update(h, v, vl);
    return 0;
}

static void state_hash(rs_store *s, uint64_t v, uint8_t out[32])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    rs_err err = RS_ERR_INIT;
    if (rs_store_scan_at(s, v, NULL, hash_pair, &h, &err) != RS_OK)
        fail_msg("scan at %" PRIu64 " on '%s': %s", v, rs_store_path(s), err.msg);
    crypto_generichash_final(&h, out, 32);
}

static void same_at(struct fixture *f, uint64_t v)
{
    rs_store_version_info p, q;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_info_get(f->primary, v, &p, &err), RS_OK);
    assert_int_equal(rs_store_version_info_get(f->follower, v, &q, &err), RS_OK);
    assert_memory_equal(p.digest, q.digest, 32);
    assert_int_equal(p.commit_seq, q.commit_seq);
    uint8_t hp[32], hq[32];
    state_hash(f->primary, v, hp);
    state_hash(f->follower, v, hq);
    if (memcmp(hp, hq, 32) != 0)
        fail_msg("version %" PRIu64 ": the follower's state differs from the primary's", v);
    char key[16];
    for (unsigned a = 0; a < ACCOUNTS; a += 13) {
        int kl = account_key(a, key);
        rs_store_value x = {0}, y = {0};
        rs_code rx = rs_store_get_at(f->primary, v, (const uint8_t *)key, (size_t)kl, &x, &err);
        rs_code ry = rs_store_get_at(f->follower, v, (const uint8_t *)key, (size_t)kl, &y, &err);
        assert_int_equal(rx, ry);
        if (rx == RS_OK) {
            assert_int_equal(x.len, y.len);
            assert_memory_equal(x.data, y.data, x.len);
        }
        rs_store_value_release(&x);
        rs_store_value_release(&y);
    }
}

static int note_kept(void *arg, uint64_t version)
{
    uint64_t *k = arg;
    if (k[0] < 15)
        k[++k[0]] = version;
    return 0;
}

/* The same readable range and kept versions; each alike. */
static void same_versions(struct fixture *f)
{
    ship(f);
    uint64_t e = 0, l = 0, fe = 0, fl = 0, kp[16] = {0}, kf[16] = {0};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_range(f->primary, &e, &l, &err), RS_OK);
    assert_int_equal(rs_store_version_range(f->follower, &fe, &fl, &err), RS_OK);
    assert_int_equal(e, fe);
    assert_int_equal(l, fl);
    assert_int_equal(rs_store_version_kept_scan(f->primary, note_kept, kp, &err), RS_OK);
    assert_int_equal(rs_store_version_kept_scan(f->follower, note_kept, kf, &err), RS_OK);
    assert_memory_equal(kp, kf, sizeof kp);
    for (uint64_t i = 1; i <= kp[0]; i++)
        same_at(f, kp[i]);
    for (uint64_t v = e; v <= l; v++)
        same_at(f, v);
    uint8_t dp[RS_STORE_DIGEST_BYTES], dq[RS_STORE_DIGEST_BYTES];
    assert_int_equal(rs_store_digest(f->primary, NULL, dp, NULL, &err), RS_OK);
    assert_int_equal(rs_store_digest(f->follower, NULL, dq, NULL, &err), RS_OK);
    assert_memory_equal(dp, dq, sizeof dp);
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
