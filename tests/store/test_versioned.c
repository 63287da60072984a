/*
 * store: versioned state, one behaviour at a time. Commit by version (and
 * the refusals, with the messages people see), the commit record and its
 * digest (known answer from the spec in docs/format.md), reads and
 * rollback at the edges, what holds pruning back (pins, a follower, a
 * running read), keep-every, the background pruner, and the hooks
 * snapshots and the WAL use (the version of a sequence, of a raw batch).
 */
#include <inttypes.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit_digest.h"
#include "common/workload.h"
#include "store/store.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

struct fixture {
    char     *dir;
    char     *db;
    rs_store *s;
};

static rs_store *open_with(struct fixture *f, const rs_store_prune_policy *pol, int read_only)
{
    rs_store_config cfg = {.create_if_missing = !read_only, .read_only = read_only, .sync = RS_STORE_SYNC_NONE,
                           .write_buffer_bytes = 1 << 20, .block_cache_bytes = 8 << 20};
    if (pol != NULL)
        cfg.prune = *pol;
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(f->db, &cfg, &s, &err) != RS_OK)
        fail_msg("open: %s", err.msg);
    return s;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("versioned");
    f->db = rs_test_path(f->dir, "db");
    f->s = open_with(f, NULL, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rs_store_close(f->s);
    free(f->db);
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static void reopen(struct fixture *f, const rs_store_prune_policy *pol)
{
    rs_store_close(f->s);
    f->s = NULL;
    f->s = open_with(f, pol, 0);
}

/* Commits version v: "key<v % 10>" = "v<v>", and deletes "gone" on
 * multiples of 7. */
static void commit_block(rs_store *s, uint64_t v)
{
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    char key[32], val[32];
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    int kl = snprintf(key, sizeof key, "key%" PRIu64, v % 10);
    int vl = snprintf(val, sizeof val, "v%" PRIu64, v);
    rs_store_batch_put(b, B(key), (size_t)kl, B(val), (size_t)vl);
    if (v % 7 == 0)
        rs_store_batch_delete(b, B("gone"), 4);
    else
        rs_store_batch_put(b, B("gone"), 4, B(val), (size_t)vl);
    if (rs_store_commit(s, v, b, &err) != RS_OK)
        fail_msg("commit %" PRIu64 ": %s", v, err.msg);
    rs_store_batch_destroy(b);
}

static void commit_blocks(rs_store *s, uint64_t first, uint64_t last)
{
    for (uint64_t v = first; v <= last; v++)
        commit_block(s, v);
}

/* The value of "key<k>" at version v under commit_block: the last version
 * <= v that is k mod 10 (key0 is first written by version 10). */
static void expect_at(rs_store *s, uint64_t v, unsigned k)
{
    char key[16], want[32];
    int kl = snprintf(key, sizeof key, "key%u", k);
    rs_store_value val = {0};
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_get_at(s, v, B(key), (size_t)kl, &val, &err);
    if (v < (k == 0 ? 10 : k)) {
        assert_int_equal(rc, RS_E_NOTFOUND);
        assert_int_equal(err.code, RS_OK);
        return;
    }
    uint64_t last = v - (v - k) % 10;
    snprintf(want, sizeof want, "v%" PRIu64, last);
    if (rc != RS_OK)
        fail_msg("get key%u at %" PRIu64 ": %d %s", k, v, rc, err.msg);
    assert_int_equal(val.len, strlen(want));
    assert_memory_equal(val.data, want, val.len);
    rs_store_value_release(&val);
}

static void expect_refused(rs_store *s, uint64_t v, const char *want)
{
    rs_store_value val = {0};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_get_at(s, v, B("key1"), 4, &val, &err), RS_E_NOTFOUND);
    if (strstr(err.msg, want) == NULL)
        fail_msg("read at %" PRIu64 ": '%s' does not say '%s'", v, err.msg, want);
}

static void range_is(rs_store *s, uint64_t earliest, uint64_t latest)
{
    uint64_t e = 0, l = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_range(s, &e, &l, &err), RS_OK);
    assert_int_equal(e, earliest);
    assert_int_equal(l, latest);
}

static void prune(rs_store *s, rs_store_prune_result *res)
{
    rs_err err = RS_ERR_INIT;
    if (rs_store_prune(s, res, &err) != RS_OK)
        fail_msg("prune: %s", err.msg);
}

/* ------------------------------------------------------------------ */
/* Commit                                                              */
/* ------------------------------------------------------------------ */

static void commit_then_read_every_version(void **state)
{
    struct fixture *f = *state;
    range_is(f->s, 0, 0);
    assert_int_equal(rs_store_version_latest(f->s), 0);
    commit_blocks(f->s, 1, 30);
    range_is(f->s, 1, 30);
    for (uint64_t v = 1; v <= 30; v++)
        for (unsigned k = 0; k < 10; k++)
            expect_at(f->s, v, k);
    /* the latest state is a plain get */
    rs_store_value val = {0};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_get(f->s, NULL, B("key0"), 4, &val, &err), RS_OK);
    assert_memory_equal(val.data, "v30", 3);
    rs_store_value_release(&val);
    /* a deleted key is absent at its version and present before */
    assert_int_equal(rs_store_get_at(f->s, 28, B("gone"), 4, &val, &err), RS_E_NOTFOUND);
    assert_int_equal(rs_store_get_at(f->s, 27, B("gone"), 4, &val, &err), RS_OK);
    assert_memory_equal(val.data, "v27", 3);
    rs_store_value_release(&val);
}

static void commit_wrong_version_is_refused_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    commit_blocks(f->s, 1, 2);
    uint64_t seq = rs_store_latest_seq(f->s);
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_put(b, B("key1"), 4, B("intruder"), 8);
    assert_int_equal(rs_store_commit(f->s, 5, b, &err), RS_E_INVALID);
    assert_string_equal(err.msg, "commit of version 5 refused: expected version 3 (the latest committed is 2)");
    rs_err_clear(&err);
    assert_int_equal(rs_store_commit(f->s, 2, b, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "expected version 3"));
    rs_err_clear(&err);
    assert_int_equal(rs_store_commit(f->s, 0, b, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "versions start at 1"));
    assert_int_equal(rs_store_latest_seq(f->s), seq); /* nothing written */
    expect_at(f->s, 2, 1);
    rs_store_batch_destroy(b);
}

static void commit_with_range_delete_is_refused(void **state)
{
    struct fixture *f = *state;
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_delete_range(b, B("a"), 1, B("z"), 1);
    assert_int_equal(rs_store_commit(f->s, 1, b, &err), RS_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "range delete"));
    assert_non_null(err.hint);
    assert_int_equal(rs_store_version_latest(f->s), 0);
    /* a cleared batch is an ordinary one again */
    rs_store_batch_clear(b);
    rs_store_batch_put(b, B("a"), 1, B("1"), 1);
    assert_int_equal(rs_store_commit(f->s, 1, b, &err), RS_OK);
    rs_store_batch_destroy(b);
}

static void empty_commit_and_duplicate_writes(void **state)
{
    struct fixture *f = *state;
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    assert_int_equal(rs_store_commit(f->s, 1, b, &err), RS_OK); /* a block that wrote nothing */
    rs_store_batch_put(b, B("k"), 1, B("first"), 5);
    rs_store_batch_delete(b, B("k"), 1);
    rs_store_batch_put(b, B("k"), 1, B("last"), 4);
    assert_int_equal(rs_store_commit(f->s, 2, b, &err), RS_OK);
    rs_store_version_info info;
    assert_int_equal(rs_store_version_info_get(f->s, 2, &info, &err), RS_OK);
    assert_int_equal(info.n_writes, 1); /* the write set: the last write of each key */
    rs_store_value val = {0};
    assert_int_equal(rs_store_get_at(f->s, 2, B("k"), 1, &val, &err), RS_OK);
    assert_memory_equal(val.data, "last", 4);
    rs_store_value_release(&val);
    assert_int_equal(rs_store_get_at(f->s, 1, B("k"), 1, &val, &err), RS_E_NOTFOUND);
    rs_store_batch_destroy(b);
}

static void read_only_store_reads_versions_and_refuses_commits(void **state)
{
    struct fixture *f = *state;
    commit_blocks(f->s, 1, 5);
    rs_store *ro = open_with(f, NULL, 1);
    expect_at(ro, 3, 3);
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    assert_int_equal(rs_store_commit(ro, 6, b, &err), RS_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "read-only"));
    rs_err_clear(&err);
    assert_int_equal(rs_store_rollback(ro, 2, &err), RS_E_UNSUPPORTED);
    rs_store_batch_destroy(b);
    rs_store_close(ro);
}

/* Every plain write path refuses, with the message a person sees, and
 * writes nothing. */
static void expect_plain_writes_refused(rs_store *s)
{
    uint64_t seq = rs_store_latest_seq(s);
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_put(b, B("key1"), 4, B("plain"), 5);
    for (int way = 0; way < 4; way++) {
        rs_err e = RS_ERR_INIT;
        uint64_t wseq = 0;
        rs_code rc = way == 0   ? rs_store_put(s, B("key1"), 4, B("plain"), 5, &e)
                     : way == 1 ? rs_store_delete(s, B("key1"), 4, &e)
                     : way == 2 ? rs_store_write(s, b, &e)
                                : rs_store_write_nowait(s, b, &wseq, &e);
        assert_int_equal(rc, RS_E_INVALID);
        assert_non_null(strstr(e.msg, "holds versioned state: write through rs_store_commit"));
        assert_non_null(strstr(e.msg, rs_store_path(s)));
        assert_non_null(e.hint);
    }
    rs_store_batch_destroy(b);
    assert_int_equal(rs_store_latest_seq(s), seq);
}

/* Once a version is committed, plain writes are refused (they would be
 * missing from history, so reads at older versions would see them), from
 * then on and after a reopen; rockstream's own records still write. */
static void plain_writes_are_refused_once_versioned(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    assert_false(rs_store_is_versioned(f->s));
    assert_int_equal(rs_store_put(f->s, B("before"), 6, B("x"), 1, &err), RS_OK); /* not versioned yet */
    commit_blocks(f->s, 1, 1);
    assert_true(rs_store_is_versioned(f->s));
    expect_plain_writes_refused(f->s);
    expect_at(f->s, 1, 1);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(f->s, NULL, B("key1"), 4, &v, &err), RS_OK);
    assert_int_equal(v.len, 2);
    assert_memory_equal(v.data, "v1", 2); /* the commit's value, untouched */
    rs_store_value_release(&v);
    assert_int_equal(rs_store_meta_put(f->s, "test.own", B("x"), 1, &err), RS_OK);
    reopen(f, NULL);
    assert_true(rs_store_is_versioned(f->s));
    expect_plain_writes_refused(f->s);
    commit_blocks(f->s, 2, 2); /* the versioned path goes on */
    /* read-only, the read-only reason comes first */
    rs_store *ro = open_with(f, NULL, 1);
    assert_int_equal(rs_store_put(ro, B("key1"), 4, B("x"), 1, &err), RS_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "read-only"));
    rs_store_close(ro);
}

/* ------------------------------------------------------------------ */
/* The commit record                                                   */
/* ------------------------------------------------------------------ */

static void digest_follows_the_spec_and_chains(void **state)
{
    struct fixture *f = *state;
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    /* out of order, with a key written twice: the digest sorts and keeps the last */
    rs_store_batch_put(b, B("b"), 1, B("2"), 1);
    rs_store_batch_put(b, B("a"), 1, B("0"), 1);
    rs_store_batch_delete(b, B("c"), 1);
    rs_store_batch_put(b, B("a"), 1, B("1"), 1);
    assert_int_equal(rs_store_commit(f->s, 1, b, &err), RS_OK);
    rs_store_batch_clear(b);
    rs_store_batch_delete(b, B("a"), 1);
    assert_int_equal(rs_store_commit(f->s, 2, b, &err), RS_OK);

    uint8_t zero[32] = {0}, d1[32], d2[32];
    const struct spec_write w1[] = {{B("a"), 1, B("1"), 1}, {B("b"), 1, B("2"), 1}, {B("c"), 1, NULL, 0}};
    spec_digest(1, zero, w1, 3, d1);
    const struct spec_write w2[] = {{B("a"), 1, NULL, 0}};
    spec_digest(2, d1, w2, 1, d2);
    rs_store_version_info info;
    assert_int_equal(rs_store_version_info_get(f->s, 1, &info, &err), RS_OK);
    assert_memory_equal(info.digest, d1, 32);
    assert_int_equal(info.n_writes, 3);
    assert_int_equal(rs_store_version_info_get(f->s, 2, &info, &err), RS_OK);
    assert_memory_equal(info.digest, d2, 32);

    /* rolled back and committed again: the same block gives the same digest */
    assert_int_equal(rs_store_rollback(f->s, 1, &err), RS_OK);
    assert_int_equal(rs_store_commit(f->s, 2, b, &err), RS_OK);
    assert_int_equal(rs_store_version_info_get(f->s, 2, &info, &err), RS_OK);
    assert_memory_equal(info.digest, d2, 32);
    rs_store_batch_destroy(b);
}

/* A 2-write block is 2 writes, the versions record, the change list and
 * the version record: 5 sequences, and one more for the chain record while
 * chained (docs/format.md, "Write batches"). The commit's recorded
 * sequence (predicted before the write) is its batch's first. */
static uint64_t commit_checked(rs_store *s, uint64_t v, uint64_t want_seqs)
{
    rs_err err = RS_ERR_INIT;
    uint64_t before = rs_store_latest_seq(s);
    commit_block(s, v);
    rs_store_version_info info;
    assert_int_equal(rs_store_version_info_get(s, v, &info, &err), RS_OK);
    assert_int_equal(info.commit_seq, before + 1);
    assert_int_equal(rs_store_latest_seq(s) - before, want_seqs);
    /* a batch between commits (a meta record of rockstream's, such as the
     * replication history) moves nothing */
    assert_int_equal(rs_store_meta_put(s, "test.between", B("x"), 1, &err), RS_OK);
    return info.commit_seq;
}

static void check_commit_seqs(rs_store *s)
{
    rs_err err = RS_ERR_INIT;
    uint64_t seqs[4] = {0};
    for (uint64_t v = 1; v <= 3; v++)
        seqs[v] = commit_checked(s, v, rs_test_batch_seqs(s, 5));
    uint64_t version = 0, cseq = 0;
    assert_int_equal(rs_store_version_at_seq(s, seqs[2], &version, &cseq, &err), RS_OK);
    assert_int_equal(version, 2);
    assert_int_equal(cseq, seqs[2]);
    assert_int_equal(rs_store_version_at_seq(s, seqs[3] - 1, &version, NULL, &err), RS_OK);
    assert_int_equal(version, 2);
    assert_int_equal(rs_store_version_at_seq(s, rs_store_latest_seq(s), &version, NULL, &err), RS_OK);
    assert_int_equal(version, 3);
    assert_int_equal(rs_store_version_at_seq(s, seqs[1] - 1, &version, NULL, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "before the first readable version"));
}

static void commit_seq_is_the_batch_sequence(void **state)
{
    struct fixture *f = *state;
    check_commit_seqs(f->s);
}

static void commit_seq_is_the_batch_sequence_chained(void **state)
{
    struct fixture *f = *state;
    rs_store_set_chained(f->s, 1);
    check_commit_seqs(f->s);
}

/* Across the switches: the first commit after chaining is turned off
 * carries the chain restart (one sequence more, at its end), and each
 * commit's recorded sequence stays its batch's first. */
static void commit_seq_stays_right_across_chaining_switches(void **state)
{
    struct fixture *f = *state;
    commit_checked(f->s, 1, 5);
    rs_store_set_chained(f->s, 1);
    commit_checked(f->s, 2, 6);
    rs_store_set_chained(f->s, 0);
    commit_checked(f->s, 3, 6); /* the restart */
    commit_checked(f->s, 4, 5);
    reopen(f, NULL);
    commit_checked(f->s, 5, 5); /* the restart is on disk: none needed */
}

/* ------------------------------------------------------------------ */
/* The WAL's view: every batch that moves versions says so up front    */
/* ------------------------------------------------------------------ */

struct marks {
    rs_store_version_mark m[16];
    size_t n;
};

/* Reads the database's WAL with the store's own reader, as the WAL tailer
 * does, and asks the store what each batch does to the versions. */
static void read_wal_marks(struct fixture *f, struct marks *out)
{
    struct rs_test_batch b[64];
    size_t n = rs_test_batches_read(f->s, 1, b, 64);
    assert_true(n > 0 && n < 64);
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        rs_store_version_mark m;
        rs_err err = RS_ERR_INIT;
        rs_code rc = rs_store_batch_version(f->s, b[i].rep, b[i].len, &m, &err);
        if (rc == RS_OK && out->n < 16)
            out->m[out->n++] = m;
        else
            assert_int_equal(rc, RS_E_NOTFOUND);
    }
    /* every batch from the first on: the WAL lost none */
    rs_store_batch_info last;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_inspect(f->s, b[n - 1].rep, b[n - 1].len, &last, &err), RS_OK);
    assert_int_equal(b[n - 1].seq + last.count - 1, rs_store_latest_seq(f->s));
    rs_test_batches_free(b, n);
}

static void wal_batches_name_the_version_they_make(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    commit_blocks(f->s, 1, 3);
    /* a batch that does not touch the versions (one of rockstream's own
     * records: plain writes are refused) has no mark */
    assert_int_equal(rs_store_meta_put(f->s, "test.plain", B("x"), 1, &err), RS_OK);
    assert_int_equal(rs_store_rollback(f->s, 2, &err), RS_OK);
    rs_store_prune_policy keep0 = {RS_STORE_PRUNE_CUSTOM, 0, 0, 100};
    reopen(f, &keep0);
    prune(f->s, NULL);
    struct marks got;
    read_wal_marks(f, &got);
    const rs_store_version_mark want[] = {
        {RS_STORE_VERSION_COMMIT, 1, 1}, {RS_STORE_VERSION_COMMIT, 2, 1}, {RS_STORE_VERSION_COMMIT, 3, 1},
        {RS_STORE_VERSION_ROLLBACK, 2, 1}, {RS_STORE_VERSION_PRUNE, 2, 2},
    };
    assert_int_equal(got.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(got.m[i].kind, want[i].kind);
        assert_int_equal(got.m[i].latest, want[i].latest);
        assert_int_equal(got.m[i].earliest, want[i].earliest);
    }
}

static void batch_version_reads_only_the_documented_header(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    rs_store_version_mark m;
    /* golden bytes: header (seq 7, count 1), a put to rs_meta (family 1 in
     * a new database) of "versions" = format 1, kind commit, 9, 4 */
    uint8_t batch[12 + 1 + 1 + 1 + 8 + 1 + 18] = {7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x05, 1, 8,
                                                  'v', 'e', 'r', 's', 'i', 'o', 'n', 's', 18, 1, 1};
    batch[12 + 1 + 1 + 1 + 8 + 1 + 2 + 7] = 9;
    batch[12 + 1 + 1 + 1 + 8 + 1 + 2 + 15] = 4;
    assert_int_equal(rs_store_batch_version(f->s, batch, sizeof batch, &m, &err), RS_OK);
    assert_int_equal(m.kind, RS_STORE_VERSION_COMMIT);
    assert_int_equal(m.latest, 9);
    assert_int_equal(m.earliest, 4);
    /* the same record in another family is not ours */
    batch[13] = 0;
    assert_int_equal(rs_store_batch_version(f->s, batch, sizeof batch, &m, &err), RS_E_NOTFOUND);
    batch[13] = 1;
    /* earliest above latest: corrupt */
    batch[12 + 1 + 1 + 1 + 8 + 1 + 2 + 15] = 10;
    assert_int_equal(rs_store_batch_version(f->s, batch, sizeof batch, &m, &err), RS_E_CORRUPT);
    rs_err_clear(&err);
    assert_int_equal(rs_store_batch_version(f->s, batch, 5, &m, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "shorter than its 12-byte header"));
}

/* ------------------------------------------------------------------ */
/* Reads and rollback at the edges                                     */
/* ------------------------------------------------------------------ */

static void pruned_and_future_versions_are_refused_with_the_range(void **state)
{
    struct fixture *f = *state;
    expect_refused(f->s, 1, "no version has been committed");
    commit_blocks(f->s, 1, 12);
    rs_store_prune_policy keep4 = {RS_STORE_PRUNE_CUSTOM, 4, 0, 100};
    reopen(f, &keep4);
    rs_store_prune_result res;
    prune(f->s, &res);
    assert_int_equal(res.earliest_before, 1);
    assert_int_equal(res.earliest_after, 8);
    assert_int_equal(res.versions_pruned, 7);
    range_is(f->s, 8, 12);
    expect_refused(f->s, 7, "read at version 7: pruned; readable versions are [8, 12]");
    expect_refused(f->s, 13, "read at version 13: not committed yet; readable versions are [8, 12]");
    expect_refused(f->s, 0, "readable versions are [8, 12]");
    for (uint64_t v = 8; v <= 12; v++)
        expect_at(f->s, v, (unsigned)(v % 10));
    /* a scan is refused the same way */
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_scan_at(f->s, 3, NULL, NULL, NULL, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "scan at version 3: pruned; readable versions are [8, 12]"));
    /* so is a rollback below the range, and nothing changes */
    rs_err_clear(&err);
    assert_int_equal(rs_store_rollback(f->s, 5, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "rollback to version 5: pruned; readable versions are [8, 12]"));
    range_is(f->s, 8, 12);
    /* compactions drop the pruned history; the readable range still reads */
    assert_int_equal(rs_store_compact(f->s, &err), RS_OK);
    for (uint64_t v = 8; v <= 12; v++)
        for (unsigned k = 0; k < 10; k++)
            expect_at(f->s, v, k);
}

static void rollback_restores_values_deletes_and_absence(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    commit_blocks(f->s, 1, 20);
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_put(b, B("newcomer"), 8, B("x"), 1);
    rs_store_batch_delete(b, B("key5"), 4);
    assert_int_equal(rs_store_commit(f->s, 21, b, &err), RS_OK);
    assert_int_equal(rs_store_rollback(f->s, 21, &err), RS_OK); /* to latest: nothing */
    range_is(f->s, 1, 21);
    assert_int_equal(rs_store_rollback(f->s, 13, &err), RS_OK);
    range_is(f->s, 1, 13);
    rs_store_value val = {0};
    assert_int_equal(rs_store_get(f->s, NULL, B("newcomer"), 8, &val, &err), RS_E_NOTFOUND);
    assert_int_equal(rs_store_get(f->s, NULL, B("key5"), 4, &val, &err), RS_OK);
    assert_memory_equal(val.data, "v5", 2);
    rs_store_value_release(&val);
    assert_int_equal(rs_store_get(f->s, NULL, B("gone"), 4, &val, &err), RS_OK);
    assert_memory_equal(val.data, "v13", 3);
    rs_store_value_release(&val);
    for (uint64_t v = 1; v <= 13; v++)
        for (unsigned k = 0; k < 10; k++)
            expect_at(f->s, v, k);
    expect_refused(f->s, 14, "not committed yet; readable versions are [1, 13]");
    /* and the chain goes on from there */
    commit_blocks(f->s, 14, 16);
    expect_at(f->s, 16, 6);
    rs_store_batch_destroy(b);
}

struct pairs {
    char text[512];
    int  stop_after; /* 0: never */
    int  n;
};

static int append_pair(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    struct pairs *p = arg;
    size_t len = strlen(p->text);
    snprintf(p->text + len, sizeof p->text - len, "%.*s=%.*s,", (int)kl, (const char *)k, (int)vl, (const char *)v);
    return ++p->n == p->stop_after;
}

static void scan_is(rs_store *s, uint64_t v, const rs_store_range *r, int stop_after, const char *want)
{
    struct pairs p = {.stop_after = stop_after};
    rs_err err = RS_ERR_INIT;
    if (rs_store_scan_at(s, v, r, append_pair, &p, &err) != RS_OK)
        fail_msg("scan at %" PRIu64 ": %s", v, err.msg);
    assert_string_equal(p.text, want);
}

static void scan_at_is_the_state_of_its_version(void **state)
{
    struct fixture *f = *state;
    commit_blocks(f->s, 1, 14);
    rs_store_range all = {0}, keys = {.prefix = B("key"), .prefix_len = 3};
    scan_is(f->s, 6, &keys, 0, "key1=v1,key2=v2,key3=v3,key4=v4,key5=v5,key6=v6,");
    scan_is(f->s, 6, &all, 0, "gone=v6,key1=v1,key2=v2,key3=v3,key4=v4,key5=v5,key6=v6,");
    /* "gone" was deleted by version 7 and written again by 8 */
    scan_is(f->s, 7, &all, 2, "key1=v1,key2=v2,");
    scan_is(f->s, 8, &all, 1, "gone=v8,");
    rs_store_range rev = {.reverse = 1, .limit = 3};
    scan_is(f->s, 13, &rev, 0, "key9=v9,key8=v8,key7=v7,");
    rs_store_range window = {.start = B("key2"), .start_len = 4, .end = B("key5"), .end_len = 4};
    scan_is(f->s, 12, &window, 0, "key2=v12,key3=v3,key4=v4,");
    scan_is(f->s, 14, &all, 0,
            "key0=v10,key1=v11,key2=v12,key3=v13,key4=v14,key5=v5,key6=v6,key7=v7,key8=v8,key9=v9,");
}

/* ------------------------------------------------------------------ */
/* What holds pruning back                                             */
/* ------------------------------------------------------------------ */

static void pins_hold_pruning_until_unpinned(void **state)
{
    struct fixture *f = *state;
    commit_blocks(f->s, 1, 20);
    rs_store_prune_policy everything = {RS_STORE_PRUNE_CUSTOM, 0, 0, 1000};
    reopen(f, &everything);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_pin(f->s, 5, &err), RS_OK);
    assert_int_equal(rs_store_pin(f->s, 5, &err), RS_OK); /* pins nest */
    assert_int_equal(rs_store_pin(f->s, 9, &err), RS_OK);
    prune(f->s, NULL);
    range_is(f->s, 5, 20);
    expect_at(f->s, 5, 5);
    rs_store_unpin(f->s, 5);
    prune(f->s, NULL);
    range_is(f->s, 5, 20);
    rs_store_unpin(f->s, 5);
    prune(f->s, NULL);
    range_is(f->s, 9, 20);
    rs_store_unpin(f->s, 9);
    prune(f->s, NULL);
    range_is(f->s, 20, 20);
    /* a pruned version cannot be pinned */
    assert_int_equal(rs_store_pin(f->s, 10, &err), RS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "pin version 10: pruned; readable versions are [20, 20]"));
}

static void slowest_follower_holds_pruning(void **state)
{
    struct fixture *f = *state;
    commit_blocks(f->s, 1, 20);
    rs_store_prune_policy keep2 = {RS_STORE_PRUNE_CUSTOM, 2, 0, 1000};
    reopen(f, &keep2);
    rs_store_follower_version_set(f->s, 11);
    prune(f->s, NULL);
    range_is(f->s, 11, 20);
    rs_store_follower_version_set(f->s, 3); /* behind what is pruned: holds, never lowers */
    prune(f->s, NULL);
    range_is(f->s, 11, 20);
    rs_store_follower_version_clear(f->s);
    prune(f->s, NULL);
    range_is(f->s, 18, 20);
}

struct reader_prunes {
    rs_store *s;
    int       calls;
    rs_store_prune_result res;
};

static int prune_inside_scan(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    struct reader_prunes *r = arg;
    if (r->calls++ == 0)
        prune(r->s, &r->res);
    return 0;
}

static void running_read_holds_pruning(void **state)
{
    struct fixture *f = *state;
    commit_blocks(f->s, 1, 20);
    rs_store_prune_policy everything = {RS_STORE_PRUNE_CUSTOM, 0, 0, 1000};
    reopen(f, &everything);
    struct reader_prunes r = {.s = f->s};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_scan_at(f->s, 6, NULL, prune_inside_scan, &r, &err), RS_OK);
    assert_int_equal(r.res.earliest_after, 6); /* not past the read */
    assert_true(r.calls > 1);
    range_is(f->s, 6, 20);
    prune(f->s, NULL);
    range_is(f->s, 20, 20);
}

/* ------------------------------------------------------------------ */
/* Keep-every, policies, the pruner thread                             */
/* ------------------------------------------------------------------ */

static int collect_kept(void *arg, uint64_t version)
{
    uint64_t *list = arg;
    list[++list[0]] = version;
    return 0;
}

static void keep_every_keeps_its_versions_readable(void **state)
{
    struct fixture *f = *state;
    commit_blocks(f->s, 1, 40);
    rs_store_prune_policy pol = {RS_STORE_PRUNE_CUSTOM, 5, 10, 1000};
    reopen(f, &pol);
    rs_store_prune_result res;
    prune(f->s, &res);
    range_is(f->s, 35, 40);
    assert_int_equal(res.versions_pruned, 34 - 3);
    assert_true(res.kept_entries > 0);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_compact(f->s, &err), RS_OK);
    for (uint64_t v = 10; v <= 30; v += 10)
        for (unsigned k = 0; k < 10; k++)
            expect_at(f->s, v, k);
    expect_refused(f->s, 11, "pruned; readable versions are [35, 40]");
    uint64_t kept[8] = {0};
    assert_int_equal(rs_store_version_kept_scan(f->s, collect_kept, kept, &err), RS_OK);
    assert_int_equal(kept[0], 3);
    assert_int_equal(kept[1], 10);
    assert_int_equal(kept[3], 30);
    rs_store_version_info info;
    assert_int_equal(rs_store_version_info_get(f->s, 20, &info, &err), RS_OK);
    assert_true(info.kept);
    /* kept versions stay kept when the policy stops keeping */
    rs_store_prune_policy no_keep = {RS_STORE_PRUNE_CUSTOM, 0, 0, 1000};
    reopen(f, &no_keep);
    commit_blocks(f->s, 41, 60);
    prune(f->s, NULL);
    assert_int_equal(rs_store_compact(f->s, &err), RS_OK);
    for (unsigned k = 0; k < 10; k++)
        expect_at(f->s, 30, k);
}

static void policy_is_checked_and_recorded(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    rs_store_prune_policy bad = {RS_STORE_PRUNE_CUSTOM, 10, 0, 0};
    assert_int_equal(rs_store_prune_policy_check(&bad, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "interval 0 would never prune"));
    rs_err_clear(&err);
    rs_store_prune_policy preset = {RS_STORE_PRUNE_EVERYTHING, 3, 0, 0};
    assert_int_equal(rs_store_prune_policy_check(&preset, &err), RS_E_INVALID);
    assert_non_null(strstr(err.msg, "takes no numbers"));
    rs_store_close(f->s);
    rs_store_config cfg = {.prune = bad};
    rs_err_clear(&err);
    assert_int_equal(rs_store_open(f->db, &cfg, &f->s, &err), RS_E_INVALID);
    f->s = open_with(f, NULL, 0);

    rs_store_prune_mode mode;
    assert_int_equal(rs_store_prune_mode_parse("everything", &mode), 0);
    assert_int_equal(mode, RS_STORE_PRUNE_EVERYTHING);
    assert_int_not_equal(rs_store_prune_mode_parse("sometimes", &mode), 0);
    /* presets spelled out; the one a prune used is recorded for later opens */
    rs_store_prune_policy got;
    rs_store_prune_policy def = {RS_STORE_PRUNE_DEFAULT, 0, 0, 0};
    reopen(f, &def);
    rs_store_prune_policy_get(f->s, &got);
    assert_int_equal(got.keep_recent, 362880);
    assert_int_equal(got.interval, 10);
    rs_store_prune_policy pol = {RS_STORE_PRUNE_CUSTOM, 7, 3, 5};
    reopen(f, &pol);
    prune(f->s, NULL);
    reopen(f, NULL);
    rs_store_prune_policy_get(f->s, &got);
    assert_int_equal(got.mode, RS_STORE_PRUNE_CUSTOM);
    assert_int_equal(got.keep_recent, 7);
    assert_int_equal(got.keep_every, 3);
    assert_int_equal(got.interval, 5);
}

struct bg {
    struct fixture *f;
    uint64_t        want_earliest;
};

static int pruned_to(void *arg)
{
    struct bg *b = arg;
    uint64_t e = 0, l = 0;
    rs_err err = RS_ERR_INIT;
    return rs_store_version_range(b->f->s, &e, &l, &err) == RS_OK && e >= b->want_earliest;
}

/* The pruner counts a round just after writing the earliest it made, so
 * its counters trail the version range by a moment. */
static int rounds_counted(void *arg)
{
    struct bg *b = arg;
    rs_store_stats st;
    rs_err err = RS_ERR_INIT;
    return rs_store_stats_get(b->f->s, &st, &err) == RS_OK && st.version_earliest >= b->want_earliest &&
           st.prune_versions >= b->want_earliest - 1;
}

static void pruner_thread_prunes_at_each_interval(void **state)
{
    struct fixture *f = *state;
    rs_store_prune_policy pol = {RS_STORE_PRUNE_CUSTOM, 3, 0, 5};
    reopen(f, &pol);
    commit_blocks(f->s, 1, 14); /* the last interval boundary is 10 */
    /* a round keeps 3 before the latest it finds: 7 if it ran at 10, up
     * to 11 if it ran after the commits that followed */
    struct bg b = {f, 7};
    assert_true(rs_test_poll(pruned_to, &b, 10000));
    uint64_t e = 0, l = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_range(f->s, &e, &l, &err), RS_OK);
    assert_true(e >= 7 && e <= 11);
    commit_blocks(f->s, 15, 15);
    b.want_earliest = 12;
    assert_true(rs_test_poll(rounds_counted, &b, 10000));
    rs_store_stats st;
    assert_int_equal(rs_store_stats_get(f->s, &st, &err), RS_OK);
    assert_true(st.prune_rounds >= 2);
    assert_int_equal(st.prune_versions, 11);
    assert_int_equal(st.version_latest, 15);
    assert_int_equal(st.version_earliest, 12);
    /* "everything": the latest only, every 10 versions */
    rs_store_prune_policy all = {RS_STORE_PRUNE_EVERYTHING, 0, 0, 0};
    reopen(f, &all);
    commit_blocks(f->s, 16, 20);
    b.want_earliest = 20;
    assert_true(rs_test_poll(pruned_to, &b, 10000));
    range_is(f->s, 20, 20);
}

/* Values are random bytes: whether RocksDB has compacted the history into
 * a compressed level before the prune (flushes come from the memtable
 * size and from the live-WAL bound, store_options.c) then does not change
 * its size, which the test compares. */
static void prune_reclaims_history_space(void **state)
{
    struct fixture *f = *state;
    rs_err err = RS_ERR_INIT;
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_workload wl = {.seed = 6, .key_size = 8, .value_size = 512, .compressibility = 0};
    uint8_t val[512];
    char key[16];
    for (uint64_t v = 1; v <= 200; v++) {
        rs_store_batch_clear(b);
        for (int i = 0; i < 20; i++) {
            int kl = snprintf(key, sizeof key, "k%03d", i);
            rs_workload_value(&wl, v * 20 + (uint64_t)i, val);
            rs_store_batch_put(b, B(key), (size_t)kl, val, sizeof val);
        }
        assert_int_equal(rs_store_commit(f->s, v, b, &err), RS_OK);
    }
    rs_store_batch_destroy(b);
    assert_int_equal(rs_store_flush(f->s, &err), RS_OK);
    rs_store_stats before, after;
    assert_int_equal(rs_store_stats_get(f->s, &before, &err), RS_OK);
    /* 199 x 20 overwritten values of 512 random bytes: 2 MB, compressed or not */
    assert_true(before.history_sst_bytes > 1900000);
    rs_store_prune_policy pol = {RS_STORE_PRUNE_CUSTOM, 10, 0, 1000};
    reopen(f, &pol);
    rs_store_prune_result res;
    prune(f->s, &res);
    assert_int_equal(res.earliest_after, 190);
    assert_true(res.reclaimed_bytes > 0);
    assert_int_equal(rs_store_stats_get(f->s, &after, &err), RS_OK);
    assert_true(after.history_sst_bytes < before.history_sst_bytes / 4);
    assert_int_equal(after.prune_compactions, 1);
    assert_int_equal(after.prune_reclaimed_bytes, res.reclaimed_bytes);
    assert_int_equal(after.prune_pending_bytes, 0);
}

static void versions_survive_reopen(void **state)
{
    struct fixture *f = *state;
    commit_blocks(f->s, 1, 9);
    rs_store_prune_policy keep3 = {RS_STORE_PRUNE_CUSTOM, 3, 0, 1000};
    reopen(f, &keep3);
    prune(f->s, NULL);
    reopen(f, NULL);
    range_is(f->s, 6, 9);
    expect_at(f->s, 6, 6);
    commit_blocks(f->s, 10, 10);
    range_is(f->s, 6, 10);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_reload(f->s, &err), RS_OK);
    range_is(f->s, 6, 10);
}

/* A database made before versioned state existed has only the default
 * and rs_meta families (plain RocksDB: only the default one). Read-only,
 * they cannot be created: it opens with what it has, holds no versions,
 * and reads as before; opened for writing, it gains them. */
static void database_without_history_opens_read_only(void **state)
{
    struct fixture *f = *state;
    rs_store_close(f->s);
    f->s = NULL;
    char *old = rs_test_path(f->dir, "old");
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    char *errptr = NULL;
    rocksdb_t *db = rocksdb_open(o, old, &errptr);
    assert_null(errptr);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put(db, wo, "k", 1, "v", 1, &errptr);
    assert_null(errptr);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_close(db);
    rocksdb_options_destroy(o);

    rs_store_config ro_cfg = {.read_only = 1};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_open(old, &ro_cfg, &f->s, &err), RS_OK);
    range_is(f->s, 0, 0);
    rs_store_value val = {0};
    assert_int_equal(rs_store_get(f->s, NULL, B("k"), 1, &val, &err), RS_OK);
    rs_store_value_release(&val);
    expect_refused(f->s, 1, "no version has been committed");
    rs_store_stats st;
    assert_int_equal(rs_store_stats_get(f->s, &st, &err), RS_OK);
    assert_int_equal(st.history_sst_bytes, 0);
    rs_store_close(f->s);
    rs_store_config rw_cfg = {.sync = RS_STORE_SYNC_NONE};
    assert_int_equal(rs_store_open(old, &rw_cfg, &f->s, &err), RS_OK);
    commit_blocks(f->s, 1, 2);
    expect_at(f->s, 2, 2);
    free(old);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(commit_then_read_every_version),
        T(commit_wrong_version_is_refused_and_changes_nothing),
        T(commit_with_range_delete_is_refused),
        T(empty_commit_and_duplicate_writes),
        T(read_only_store_reads_versions_and_refuses_commits),
        T(plain_writes_are_refused_once_versioned),
        T(digest_follows_the_spec_and_chains),
        T(commit_seq_is_the_batch_sequence),
        T(commit_seq_is_the_batch_sequence_chained),
        T(commit_seq_stays_right_across_chaining_switches),
        T(wal_batches_name_the_version_they_make),
        T(batch_version_reads_only_the_documented_header),
        T(pruned_and_future_versions_are_refused_with_the_range),
        T(rollback_restores_values_deletes_and_absence),
        T(scan_at_is_the_state_of_its_version),
        T(pins_hold_pruning_until_unpinned),
        T(slowest_follower_holds_pruning),
        T(running_read_holds_pruning),
        T(keep_every_keeps_its_versions_readable),
        T(policy_is_checked_and_recorded),
        T(pruner_thread_prunes_at_each_interval),
        T(prune_reclaims_history_space),
        T(versions_survive_reopen),
        T(database_without_history_opens_read_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
