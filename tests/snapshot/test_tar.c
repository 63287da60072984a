/*
 * snapshot: the stages alone. Crafted archives (properly sealed, so only
 * the tar layer is hostile) whose entries try to escape the target are
 * refused before anything is written; the header's bytes are pinned so a
 * format change fails here; zstd runs and raw runs survive the stages in
 * any mix; the compressibility probe tells compressed data from text.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snap_fixture.h"
#include "snapshot/snapshot_int.h"

/* ---- crafted archives ----------------------------------------------- */

struct entry {
    const char *path;
    int type;          /* AE_IFREG, AE_IFLNK, or 0 for a hard link */
    const char *link;  /* symlink target or hard link source */
};

static la_ssize_t tar_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
    (void)a;
    rs_snapshot_sink sink = membuf_sink(ctx);
    sink.write(sink.arg, buf, len, NULL);
    return (la_ssize_t)len;
}

static void build_tar(struct membuf *tar, const struct entry *e, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open(a, tar, NULL, tar_cb, NULL), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].path);
        archive_entry_set_perm(ae, 0644);
        if (e[i].type == 0) {
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_hardlink(ae, e[i].link);
        } else {
            archive_entry_set_filetype(ae, (unsigned)e[i].type);
            if (e[i].type == AE_IFLNK)
                archive_entry_set_symlink(ae, e[i].link);
            else
                archive_entry_set_size(ae, 5);
        }
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (e[i].type == AE_IFREG)
            assert_int_equal(archive_write_data(a, "evil\n", 5), 5);
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
}

/* Seals raw bytes as an archive body with the real encrypt stage. */
static void seal_bytes(const rs_snapshot_key *key, const struct membuf *plain, struct membuf *out)
{
    rs_snapshot_sink sink = membuf_sink(out);
    struct wstage *o = NULL, *enc = NULL;
    uint8_t dk[KEY_BYTES];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snapshot_out_stage_create(&sink, &o, &err), RS_OK);
    assert_int_equal(snapshot_encrypt_stage_create(key, 4096, o, dk, NULL, &enc, &err), RS_OK);
    assert_int_equal(enc->ops->write(enc, plain->p, plain->len, CHUNK_RAW, &err), RS_OK);
    assert_int_equal(enc->ops->finish(enc, &err), RS_OK);
    snapshot_wstage_chain_destroy(enc);
}

static void assert_refused(struct snap_env *f, const struct entry *e, size_t n, const char *want)
{
    struct membuf tar = {0}, arch = {0};
    build_tar(&tar, e, n);
    seal_bytes(f->key, &tar, &arch);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&arch, f->key, f->to, NULL, &err), RS_E_CORRUPT);
    if (strstr(err.msg, want) == NULL)
        fail_msg("expected '%s' in: %s", want, err.msg);
    assert_int_equal(access(f->to, F_OK), -1);
    assert_int_equal(snap_dir_entries(f->dir), 1); /* k.key: nothing else, inside or outside */
    membuf_free(&tar);
    membuf_free(&arch);
}

static void dotdot_entry_is_refused(void **state)
{
    const struct entry e[] = {{"db/CURRENT", AE_IFREG, NULL}, {"db/../../escaped", AE_IFREG, NULL}};
    assert_refused(*state, e, 2, "'db/../../escaped' leads outside the target directory: refused");
}

static void absolute_entry_is_refused(void **state)
{
    struct snap_env *f = *state;
    char *abs = rs_test_path(f->dir, "escaped");
    const struct entry e[] = {{abs, AE_IFREG, NULL}};
    assert_refused(f, e, 1, "has an absolute path: refused");
    free(abs);
}

static void symlink_leading_outside_is_refused(void **state)
{
    const struct entry e[] = {{"db/LOG", AE_IFLNK, "/etc/passwd"}, {"db/LOG", AE_IFREG, NULL}};
    assert_refused(*state, e, 2, "'db/LOG' is a symbolic link to '/etc/passwd': refused");
}

static void hardlink_leading_outside_is_refused(void **state)
{
    const struct entry e[] = {{"db/x.sst", 0, "../../etc/shadow"}};
    assert_refused(*state, e, 1, "is a hard link to '../../etc/shadow': refused");
}

static void nested_or_foreign_entries_are_refused(void **state)
{
    const struct entry nested[] = {{"db/sub/x", AE_IFREG, NULL}};
    assert_refused(*state, nested, 1, "'db/sub/x' is not part of a snapshot");
    const struct entry foreign[] = {{"README", AE_IFREG, NULL}};
    assert_refused(*state, foreign, 1, "'README' is not part of a snapshot");
    const struct entry dev[] = {{"db/fifo", AE_IFIFO, NULL}};
    assert_refused(*state, dev, 1, "'db/fifo' is not a regular file");
}

static void archive_without_manifest_is_refused(void **state)
{
    const struct entry e[] = {{"db/CURRENT", AE_IFREG, NULL}};
    assert_refused(*state, e, 1, "archive has no manifest");
}

/* ---- the header's bytes --------------------------------------------- */

/* Pinned: the encoding of a secret-key header with fixed field values. A
 * change here is a format change: bump RS_SNAPSHOT_STREAM_VERSION and
 * update docs/format.md. */
static const char GOLDEN_HEADER[] =
    "89525345414c0d0a" "0100" "7c00" "01" "01" "01" "00" "00001000" "0102030405060708"
    "202122232425262728292a2b2c2d2e2f3031323334353637"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f"
    "808182838485868788898a8b8c8d8e8f9091929394959697";

static void header_bytes_are_pinned(void **state)
{
    (void)state;
    struct seal_header h = {.version = 1, .content = SEAL_CONTENT_SNAPSHOT, .compression = SEAL_COMPRESSION_PER_CHUNK,
                            .key_mode = SEAL_MODE_SECRET, .chunk_bytes = 1u << 20};
    for (int i = 0; i < 8; i++)
        h.key_id[i] = (uint8_t)(1 + i);
    for (int i = 0; i < 24; i++)
        h.nonce[i] = (uint8_t)(0x20 + i), h.stream[i] = (uint8_t)(0x80 + i);
    for (int i = 0; i < 48; i++)
        h.wrapped[i] = (uint8_t)(0x40 + i);
    snapshot_seal_header_encode(&h);
    char hex[2 * SEAL_HEADER_MAX + 1];
    rs_hex_encode(h.raw, h.len, hex, sizeof hex);
    assert_string_equal(hex, GOLDEN_HEADER);
    struct seal_header back;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snapshot_seal_header_decode(h.raw, h.len, &back, &err), RS_OK);
    assert_int_equal(back.chunk_bytes, 1u << 20);
    assert_memory_equal(back.wrapped, h.wrapped, sizeof h.wrapped);
    /* a chunk size past the bound is refused before anything is allocated */
    h.raw[19] = 0x7f;
    assert_int_equal(snapshot_seal_header_decode(h.raw, h.len, &back, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "chunk size"));
}

/* ---- zstd and raw runs through the stages ---------------------------- */

static rs_code collect(struct rstage *last, struct membuf *out, rs_err *err)
{
    uint8_t buf[3000];
    for (;;) {
        size_t got = 0;
        enum chunk_kind kind;
        rs_code rc = last->ops->read(last, buf, sizeof buf, &got, &kind, err);
        if (rc != RS_OK || got == 0)
            return rc;
        rs_snapshot_sink s = membuf_sink(out);
        s.write(s.arg, buf, got, err);
    }
}

static void mixed_runs_survive_the_stages(void **state)
{
    struct snap_env *f = *state;
    struct membuf arch = {0}, plain = {0}, back = {0};
    rs_snapshot_sink sink = membuf_sink(&arch), psink = membuf_sink(&plain);
    struct wstage *o = NULL, *enc = NULL, *z = NULL;
    uint8_t dk[KEY_BYTES], dk2[KEY_BYTES];
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snapshot_out_stage_create(&sink, &o, &err), RS_OK);
    assert_int_equal(snapshot_encrypt_stage_create(f->key, 5000, o, dk, NULL, &enc, &err), RS_OK);
    assert_int_equal(snapshot_zstd_stage_create(3, 2, enc, &z, &err), RS_OK);
    uint8_t piece[20000];
    for (int run = 0; run < 12; run++) {
        for (size_t i = 0; i < sizeof piece; i++)
            piece[i] = run % 3 == 0 ? (uint8_t)(i * 2654435761u >> 13) : (uint8_t)('a' + (i + run) % 7);
        size_t n = 1000 + (size_t)run * 1500;
        enum chunk_kind kind = run % 2 ? CHUNK_ZSTD : CHUNK_RAW;
        assert_int_equal(z->ops->write(z, piece, n, kind, &err), RS_OK);
        psink.write(psink.arg, piece, n, &err);
    }
    assert_int_equal(z->ops->finish(z, &err), RS_OK);
    snapshot_wstage_chain_destroy(z);

    rs_snapshot_source src = membuf_source(&arch);
    struct rstage *in = NULL, *dec = NULL, *unz = NULL;
    assert_int_equal(snapshot_in_stage_create(&src, NULL, NULL, &in, &err), RS_OK);
    assert_int_equal(snapshot_decrypt_stage_create(in, f->key, NULL, dk2, &dec, &err), RS_OK);
    assert_int_equal(snapshot_unzstd_stage_create(dec, &unz, &err), RS_OK);
    assert_int_equal(collect(unz, &back, &err), RS_OK);
    assert_int_equal(back.len, plain.len);
    assert_memory_equal(back.p, plain.p, plain.len);
    assert_memory_equal(dk, dk2, sizeof dk);
    snapshot_rstage_chain_destroy(unz);
    membuf_free(&arch);
    membuf_free(&plain);
    membuf_free(&back);
}

static void probe_tells_compressed_from_text(void **state)
{
    struct snap_env *f = *state;
    char *path = rs_test_path(f->dir, "sample");
    size_t len = 1u << 20;
    uint8_t *buf = malloc(len);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)("key=value;"[i % 10]);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        assert_int_equal(write(fd, buf, len), (ssize_t)len);
        assert_int_equal(snapshot_probe_compressibility(fd, len, 3, 5), pass == 0 ? CHUNK_RAW : CHUNK_ZSTD);
        close(fd);
    }
    free(buf);
    free(path);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, snap_env_setup, snap_env_teardown)
    const struct CMUnitTest tests[] = {
        T(dotdot_entry_is_refused),
        T(absolute_entry_is_refused),
        T(symlink_leading_outside_is_refused),
        T(hardlink_leading_outside_is_refused),
        T(nested_or_foreign_entries_are_refused),
        T(archive_without_manifest_is_refused),
        T(header_bytes_are_pinned),
        T(mixed_runs_survive_the_stages),
        T(probe_tells_compressed_from_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
