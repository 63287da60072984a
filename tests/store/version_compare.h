/*
 * Whether two stores hold the same versioned state: the same readable range
 * and kept versions, and each of those versions alike in its record (digest,
 * writes, kept), its whole state (hashed, forward and reversed), and point
 * reads of the accounts of version_blocks.h; and the same latest content
 * digest. A follower against its primary, a converted database against one
 * written by the current code.
 */
#ifndef RS_TEST_VERSION_COMPARE_H
#define RS_TEST_VERSION_COMPARE_H

#include <sodium.h>

#include "testlib/testlib.h"
#include "version_blocks.h"

static inline int vcmp_hash_pair(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    crypto_generichash_state *h = arg;
    uint8_t n[2] = {(uint8_t)kl, (uint8_t)vl};
    crypto_generichash_update(h, n, sizeof n);
    crypto_generichash_update(h, k, kl);
    crypto_generichash_update(h, v, vl);
    return 0;
}

/* The whole state at v, hashed (reversed: a scan from the last key). */
static inline void vcmp_state_hash(rs_store *s, uint64_t v, int reverse, uint8_t out[32])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    rs_store_range r = {.reverse = reverse};
    rs_err err = RS_ERR_INIT;
    if (rs_store_scan_at(s, v, &r, vcmp_hash_pair, &h, &err) != RS_OK)
        fail_msg("scan at %" PRIu64 " on '%s': %s", v, rs_store_path(s), err.msg);
    crypto_generichash_final(&h, out, 32);
}

static inline void vcmp_point_reads(rs_store *a, rs_store *b, uint64_t v)
{
    char key[16];
    rs_err err = RS_ERR_INIT;
    for (unsigned acct = 0; acct < ACCOUNTS; acct += 7) {
        int kl = account_key(acct, key);
        rs_store_value x = {0}, y = {0};
        rs_code rx = rs_store_get_at(a, v, (const uint8_t *)key, (size_t)kl, &x, &err);
        rs_code ry = rs_store_get_at(b, v, (const uint8_t *)key, (size_t)kl, &y, &err);
        if (rx != ry || (rx == RS_OK && (x.len != y.len || memcmp(x.data, y.data, x.len) != 0)))
            fail_msg("version %" PRIu64 ": %s reads differently", v, key);
        rs_store_value_release(&x);
        rs_store_value_release(&y);
    }
}

/* same_seq: the commit sequences too (a follower's are its primary's). */
static inline void vcmp_version(rs_store *a, rs_store *b, uint64_t v, int same_seq)
{
    rs_store_version_info x, y;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_info_get(a, v, &x, &err), RS_OK);
    assert_int_equal(rs_store_version_info_get(b, v, &y, &err), RS_OK);
    if (memcmp(x.digest, y.digest, 32) != 0 || x.n_writes != y.n_writes || x.kept != y.kept ||
        (same_seq && x.commit_seq != y.commit_seq))
        fail_msg("version %" PRIu64 ": records differ", v);
    for (int reverse = 0; reverse < 2; reverse++) {
        uint8_t ha[32], hb[32];
        vcmp_state_hash(a, v, reverse, ha);
        vcmp_state_hash(b, v, reverse, hb);
        if (memcmp(ha, hb, 32) != 0)
            fail_msg("version %" PRIu64 ": states differ (reverse %d)", v, reverse);
    }
    vcmp_point_reads(a, b, v);
}

static inline int vcmp_note_kept(void *arg, uint64_t version)
{
    uint64_t *list = arg;
    if (list[0] < 15)
        list[++list[0]] = version;
    return 0;
}

static inline void vcmp_versions(rs_store *a, rs_store *b, int same_seq)
{
    uint64_t ea = 0, la = 0, eb = 0, lb = 0, ka[16] = {0}, kb[16] = {0};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_range(a, &ea, &la, &err), RS_OK);
    assert_int_equal(rs_store_version_range(b, &eb, &lb, &err), RS_OK);
    assert_int_equal(ea, eb);
    assert_int_equal(la, lb);
    assert_int_equal(rs_store_version_kept_scan(a, vcmp_note_kept, ka, &err), RS_OK);
    assert_int_equal(rs_store_version_kept_scan(b, vcmp_note_kept, kb, &err), RS_OK);
    assert_memory_equal(ka, kb, sizeof ka);
    for (uint64_t i = 1; i <= ka[0]; i++)
        vcmp_version(a, b, ka[i], same_seq);
    for (uint64_t v = ea; v <= la; v++)
        vcmp_version(a, b, v, same_seq);
    uint8_t da[RS_STORE_DIGEST_BYTES], db[RS_STORE_DIGEST_BYTES];
    assert_int_equal(rs_store_digest(a, NULL, da, NULL, &err), RS_OK);
    assert_int_equal(rs_store_digest(b, NULL, db, NULL, &err), RS_OK);
    assert_memory_equal(da, db, sizeof da);
}

#endif
