/*
 * wal frames: the exact bytes of a known frame (a format change fails
 * here), round trips, and every way the decoder refuses bad input, with
 * the message a person sees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "wal/wal.h"
#include "testlib/testlib.h"

static const uint8_t payload[] = "batch";

static rs_wal_frame sample(void)
{
    rs_wal_frame f = {.type = RS_WAL_FRAME_BATCH, .flags = RS_STORE_VERSION_ROLLBACK, .count = 3,
                      .first_seq = 0x1122334455667788ull, .commit_time_ns = 1700000000123456789ull,
                      .state_version = 1234567, .payload = payload, .payload_len = 5};
    for (int i = 0; i < RS_WAL_CHAIN_BYTES; i++)
        f.chain[i] = (uint8_t)i;
    return f;
}

/* Written by hand from docs/format.md; only the checksum was computed. */
static const uint8_t golden[RS_WAL_FRAME_HEADER_BYTES] = {
    0x52, 0x53, 0x57, 0x46,                         /* magic "RSWF" */
    0x02,                                           /* version */
    0x01,                                           /* type BATCH */
    0x02, 0x00,                                     /* flags: version kind 2, rollback */
    0x05, 0x00, 0x00, 0x00,                         /* payload length */
    0x03, 0x00, 0x00, 0x00,                         /* count */
    0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* first seq */
    0x15, 0xcd, 0x85, 0x3d, 0xfe, 0x9c, 0x97, 0x17, /* commit time */
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, /* chain */
    0x87, 0xd6, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, /* state version 1234567 */
    0x62, 0xb7, 0xaf, 0x4c, 0xe4, 0x03, 0x29, 0x57, /* XXH3-64 of header[0..72) and the payload */
};

static void header_matches_golden_bytes(void **state)
{
    (void)state;
    rs_wal_frame f = sample();
    uint8_t hdr[RS_WAL_FRAME_HEADER_BYTES];
    rs_wal_frame_encode_header(&f, hdr);
    for (int i = 0; i < RS_WAL_FRAME_HEADER_BYTES; i++)
        if (hdr[i] != golden[i])
            fail_msg("byte %d is 0x%02x, golden 0x%02x", i, hdr[i], golden[i]);
}

static size_t build(uint8_t *buf, const rs_wal_frame *f)
{
    rs_wal_frame_encode_header(f, buf);
    memcpy(buf + RS_WAL_FRAME_HEADER_BYTES, f->payload, f->payload_len);
    return RS_WAL_FRAME_HEADER_BYTES + f->payload_len;
}

static void decode_round_trips(void **state)
{
    (void)state;
    rs_wal_frame f = sample(), g;
    uint8_t buf[128];
    size_t n = build(buf, &f), used = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_wal_frame_decode(buf, n, &g, &used, &err), RS_OK);
    assert_int_equal(used, n);
    assert_int_equal(g.type, f.type);
    assert_int_equal(g.flags, f.flags);
    assert_int_equal(g.count, f.count);
    assert_int_equal(g.first_seq, f.first_seq);
    assert_int_equal(g.commit_time_ns, f.commit_time_ns);
    assert_memory_equal(g.chain, f.chain, RS_WAL_CHAIN_BYTES);
    assert_int_equal(g.state_version, 1234567);
    assert_int_equal(g.payload_len, 5);
    assert_memory_equal(g.payload, "batch", 5);
}

static void expect_refusal(uint8_t *buf, size_t n, rs_code code, const char *words)
{
    rs_wal_frame g;
    size_t used = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_wal_frame_decode(buf, n, &g, &used, &err), code);
    if (strstr(err.msg, words) == NULL)
        fail_msg("message '%s' does not say '%s'", err.msg, words);
}

static void decode_rejects_bad_magic(void **state)
{
    (void)state;
    uint8_t buf[128];
    rs_wal_frame f = sample();
    size_t n = build(buf, &f);
    buf[0] ^= 0xff;
    expect_refusal(buf, n, RS_E_CORRUPT, "bad magic");
}

static void decode_rejects_unknown_version(void **state)
{
    (void)state;
    uint8_t buf[128];
    rs_wal_frame f = sample();
    size_t n = build(buf, &f);
    buf[4] = 9;
    expect_refusal(buf, n, RS_E_VERSION, "format version 9 is not supported");
}

static void decode_rejects_unknown_type(void **state)
{
    (void)state;
    uint8_t buf[128];
    rs_wal_frame f = sample();
    size_t n = build(buf, &f);
    buf[5] = 200;
    expect_refusal(buf, n, RS_E_CORRUPT, "unknown type 200");
}

static void decode_rejects_oversized_length(void **state)
{
    (void)state;
    uint8_t buf[128];
    rs_wal_frame f = sample();
    size_t n = build(buf, &f);
    rs_le32_put(buf + 8, RS_WAL_FRAME_MAX_PAYLOAD + 1);
    expect_refusal(buf, n, RS_E_CORRUPT, "exceeds limit");
}

/* A flag this build does not know, or a version kind on a frame that is
 * not a batch, is a writer it cannot follow: refused, and said so. */
static void decode_rejects_reserved_flags(void **state)
{
    (void)state;
    uint8_t buf[128];
    rs_wal_frame f = sample();
    f.flags = 0x0100;
    size_t n = build(buf, &f);
    expect_refusal(buf, n, RS_E_CORRUPT, "unknown flags 0x0100 for type 1");
    f = sample();
    f.type = RS_WAL_FRAME_HEARTBEAT;
    f.flags = RS_STORE_VERSION_COMMIT;
    n = build(buf, &f);
    expect_refusal(buf, n, RS_E_CORRUPT, "unknown flags 0x0001 for type 8");
}

static void decode_rejects_checksum_mismatch(void **state)
{
    (void)state;
    uint8_t buf[128];
    rs_wal_frame f = sample();
    size_t n = build(buf, &f);
    buf[n - 1] ^= 1; /* one bit of the payload */
    expect_refusal(buf, n, RS_E_CORRUPT, "checksum mismatch");
    buf[n - 1] ^= 1;
    buf[20] ^= 1; /* one bit of the header */
    expect_refusal(buf, n, RS_E_CORRUPT, "checksum mismatch");
}

static void decode_rejects_every_truncation(void **state)
{
    (void)state;
    uint8_t buf[128];
    rs_wal_frame f = sample();
    size_t n = build(buf, &f);
    for (size_t cut = 0; cut < n; cut++) {
        rs_wal_frame g;
        size_t used;
        rs_err err = RS_ERR_INIT;
        assert_int_equal(rs_wal_frame_decode(buf, cut, &g, &used, &err), RS_E_CORRUPT);
    }
}

static rs_store *open_memory_store(void)
{
    rs_store_config cfg = {.create_if_missing = 1, .in_memory = 1};
    rs_store *s = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_open("/frame-test", &cfg, &s, &err) != RS_OK)
        fail_msg("open: %s", err.msg);
    return s;
}

static void frame_from_batch_reads_stamp_and_chain(void **state)
{
    (void)state;
    rs_store *s = open_memory_store();
    uint8_t rep[96];
    size_t n = rs_test_sample_batch(rep, 5, 42, 0x5a, NULL);
    rs_wal_frame f;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_wal_frame_from_batch(s, 5, rep, n, &f, &err), RS_OK);
    assert_int_equal(f.type, RS_WAL_FRAME_BATCH);
    assert_int_equal(f.first_seq, 5);
    assert_int_equal(f.count, 2);
    assert_int_equal(f.commit_time_ns, 42);
    assert_int_equal(f.chain[0], 0x5a);
    assert_int_equal(f.flags, 0); /* no versions record: no version kind */
    assert_int_equal(f.state_version, 0);
    assert_ptr_equal(f.payload, rep);
    rep[n - 41] = 0x7f; /* an unknown record type where the chain record was */
    assert_int_equal(rs_wal_frame_from_batch(s, 5, rep, n, &f, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "not supported"));
    rs_store_close(s);
}

/* Every batch of store's WAL from seq 1 as a frame; their payloads point
 * into the iterator, so each frame's header is checked right here. */
static void wal_frames(rs_store *s, uint16_t *flags, uint64_t *versions, size_t *n)
{
    rs_store_wal_iter *it = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_wal_iter_open(s, 1, &it, &err), RS_OK);
    uint64_t seq;
    const uint8_t *rep;
    size_t len;
    rs_code rc;
    for (*n = 0; (rc = rs_store_wal_iter_next(it, &seq, &rep, &len, &err)) == RS_OK; (*n)++) {
        rs_wal_frame f;
        assert_true(*n < 8);
        assert_int_equal(rs_wal_frame_from_batch(s, seq, rep, len, &f, &err), RS_OK);
        flags[*n] = f.flags;
        versions[*n] = f.state_version;
    }
    assert_int_equal(rc, RS_E_NOTFOUND);
    rs_store_wal_iter_close(it);
}

/* A versioned commit's frame says COMMIT and the version it makes, a
 * rollback's ROLLBACK and the version it returns to; other batches none. */
static void frame_from_batch_carries_the_version_a_batch_makes(void **state)
{
    (void)state;
    char *dir = rs_test_tmpdir("frame-version");
    char *db = rs_test_path(dir, "db");
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE};
    rs_store *s = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_open(db, &cfg, &s, &err), RS_OK);
    assert_int_equal(rs_store_meta_put(s, "test.plain", (const uint8_t *)"x", 1, &err), RS_OK);
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    rs_store_batch_put(b, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1);
    assert_int_equal(rs_store_commit(s, 1, b, &err), RS_OK);
    assert_int_equal(rs_store_commit(s, 2, b, &err), RS_OK);
    assert_int_equal(rs_store_rollback(s, 1, &err), RS_OK);
    rs_store_batch_destroy(b);

    uint16_t flags[8];
    uint64_t versions[8];
    size_t n = 0;
    wal_frames(s, flags, versions, &n);
    /* the database id (written at create, unchained), the meta record, two
     * commits, the rollback */
    assert_int_equal(n, 5);
    const uint16_t want_flags[] = {0, 0, RS_STORE_VERSION_COMMIT, RS_STORE_VERSION_COMMIT, RS_STORE_VERSION_ROLLBACK};
    const uint64_t want_versions[] = {0, 0, 1, 2, 1};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(flags[i], want_flags[i]);
        assert_int_equal(versions[i], want_versions[i]);
    }
    rs_store_close(s);
    free(db);
    rs_test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_matches_golden_bytes),
        cmocka_unit_test(decode_round_trips),
        cmocka_unit_test(decode_rejects_bad_magic),
        cmocka_unit_test(decode_rejects_unknown_version),
        cmocka_unit_test(decode_rejects_unknown_type),
        cmocka_unit_test(decode_rejects_oversized_length),
        cmocka_unit_test(decode_rejects_reserved_flags),
        cmocka_unit_test(decode_rejects_checksum_mismatch),
        cmocka_unit_test(decode_rejects_every_truncation),
        cmocka_unit_test(frame_from_batch_reads_stamp_and_chain),
        cmocka_unit_test(frame_from_batch_carries_the_version_a_batch_makes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
