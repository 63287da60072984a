/*
 * store: the content digest. Known answers computed independently (Python's
 * hashlib.blake2b over the byte layout docs/format.md gives), equality
 * whatever the files look like, and independence from rockstream's own
 * records and from a concurrent writer when a view is given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "testlib/testlib.h"

#define B(s) ((const uint8_t *)(s))

/* hashlib.blake2b(digest_size=32) over the documented layout */
static const char EMPTY_DIGEST[] = "221e1832c49ea9fc6a68bca5b219f1a459ef8b5a3f0c0ebcb9be04a23ab350e3";
static const char A1_B_DIGEST[] = "9f233ea918eb7052a53b17594e84101b67fb59f3c1fbfd9617a501f280923563";

static rs_store *open_db(const char *path, int in_memory)
{
    rs_store_config cfg = {.create_if_missing = 1, .in_memory = in_memory, .write_buffer_bytes = 1 << 20,
                           .sync = RS_STORE_SYNC_NONE};
    rs_store *s = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_open(path, &cfg, &s, &err) != RS_OK)
        fail_msg("open: %s", err.msg);
    return s;
}

static void digest_hex(rs_store *s, const rs_store_view *v, char out[65], rs_store_digest_stats *stats)
{
    uint8_t d[RS_STORE_DIGEST_BYTES];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_digest(s, v, d, stats, &err), RS_OK);
    for (int i = 0; i < RS_STORE_DIGEST_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void digest_matches_known_answers(void **state)
{
    (void)state;
    char *dir = rs_test_tmpdir("digest");
    char *db = rs_test_path(dir, "db");
    rs_store *s = open_db(db, 0);
    char hex[65];
    rs_store_digest_stats st;
    /* the database id lives in rockstream's own family: not in the digest */
    digest_hex(s, NULL, hex, &st);
    assert_string_equal(hex, EMPTY_DIGEST);
    assert_int_equal(st.n_pairs, 0);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(s, B("b"), 1, B(""), 0, &err), RS_OK);
    assert_int_equal(rs_store_put(s, B("a"), 1, B("1"), 1, &err), RS_OK);
    digest_hex(s, NULL, hex, &st);
    assert_string_equal(hex, A1_B_DIGEST);
    assert_int_equal(st.n_pairs, 2);
    assert_int_equal(st.key_bytes, 2);
    assert_int_equal(st.value_bytes, 1);
    rs_store_close(s);
    free(db);
    rs_test_tmpdir_remove(dir);
}

static void digest_separates_key_and_value_boundaries(void **state)
{
    (void)state;
    rs_store *x = open_db("/mem/boundary-x", 1), *y = open_db("/mem/boundary-y", 1);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(x, B("ab"), 2, B("c"), 1, &err), RS_OK);
    assert_int_equal(rs_store_put(y, B("a"), 1, B("bc"), 2, &err), RS_OK);
    char hx[65], hy[65];
    digest_hex(x, NULL, hx, NULL);
    digest_hex(y, NULL, hy, NULL);
    assert_string_not_equal(hx, hy);
    rs_store_close(x);
    rs_store_close(y);
}

static void digest_is_the_same_whatever_the_files(void **state)
{
    (void)state;
    char *dir = rs_test_tmpdir("digest");
    char *db = rs_test_path(dir, "db");
    rs_store *disk = open_db(db, 0), *mem = open_db("/mem/same-data", 1);
    rs_err err = RS_ERR_INIT;
    char key[32], val[64];
    /* the disk copy is overwritten, flushed and compacted; the memory copy
     * is written once: same data, different histories and files */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 2000; i++) {
            int kl = snprintf(key, sizeof key, "key%06d", i);
            int vl = snprintf(val, sizeof val, "value-%d-%d", i, round);
            assert_int_equal(rs_store_put(disk, B(key), (size_t)kl, B(val), (size_t)vl, &err), RS_OK);
            if (round == 1)
                assert_int_equal(rs_store_put(mem, B(key), (size_t)kl, B(val), (size_t)vl, &err), RS_OK);
        }
        assert_int_equal(rs_store_flush(disk, &err), RS_OK);
    }
    assert_int_equal(rs_store_compact(disk, &err), RS_OK);
    char hd[65], hm[65];
    digest_hex(disk, NULL, hd, NULL);
    digest_hex(mem, NULL, hm, NULL);
    assert_string_equal(hd, hm);
    rs_store_close(disk);
    rs_store_close(mem);
    free(db);
    rs_test_tmpdir_remove(dir);
}

static void digest_at_a_view_ignores_later_writes(void **state)
{
    (void)state;
    rs_store *s = open_db("/mem/view", 1);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(s, B("a"), 1, B("1"), 1, &err), RS_OK);
    assert_int_equal(rs_store_put(s, B("b"), 1, B(""), 0, &err), RS_OK);
    rs_store_view *v = NULL;
    assert_int_equal(rs_store_view_open(s, &v, &err), RS_OK);
    assert_int_equal(rs_store_put(s, B("c"), 1, B("later"), 5, &err), RS_OK);
    char hex[65];
    digest_hex(s, v, hex, NULL);
    assert_string_equal(hex, A1_B_DIGEST);
    rs_store_view_close(v);
    digest_hex(s, NULL, hex, NULL);
    assert_string_not_equal(hex, A1_B_DIGEST);
    rs_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digest_matches_known_answers),
        cmocka_unit_test(digest_separates_key_and_value_boundaries),
        cmocka_unit_test(digest_is_the_same_whatever_the_files),
        cmocka_unit_test(digest_at_a_view_ignores_later_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
