/*
 * snapshot: every way an archive or its manifest can be wrong is refused
 * with its own message, and nothing is put in place: flipped bytes,
 * truncation, an unknown version, the wrong key or passphrase, an edited
 * or mismatched manifest, a non-empty target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snap_fixture.h"

/* The snapshot environment plus a small database and its archive: small,
 * so that trying many damaged copies stays fast. */
static int setup(void **state)
{
    snap_env_setup(state);
    struct snap_env *f = *state;
    f->store = snap_make_db(f->db, 300, 40);
    f->m = snap_seal(f->store, f->key, RS_SNAPSHOT_COMPRESS_AUTO, &f->arch);
    return 0;
}

/* Nothing at the target, and no temporary directory left beside it. */
static void assert_nothing_in_place(struct snap_env *f)
{
    assert_int_equal(access(f->to, F_OK), -1);
    assert_int_equal(snap_dir_entries(f->dir), 2); /* db, k.key */
}

static size_t header_len(const struct membuf *b) { return (size_t)(b->p[10] | b->p[11] << 8); }

static void flipped_byte_anywhere_fails_and_puts_nothing(void **state)
{
    struct snap_env *f = *state;
    size_t hlen = header_len(&f->arch);
    size_t step = f->arch.len / 300 + 1;
    int tried = 0;
    for (size_t at = 0; at < f->arch.len; at += at < hlen + 64 || at + 64 > f->arch.len ? 1 : step) {
        f->arch.p[at] ^= 0x20;
        rs_err err = RS_ERR_INIT;
        rs_code rc = snap_unseal(&f->arch, f->key, f->to, NULL, &err);
        f->arch.p[at] ^= 0x20;
        if (rc == RS_OK)
            fail_msg("a flipped byte at %zu of %zu went unnoticed", at, f->arch.len);
        if (at >= hlen && rc != RS_E_CORRUPT)
            fail_msg("flip at %zu: code %d: %s", at, rc, err.msg);
        /* past the length prefix of the first chunk, it is the tag that fails */
        if (at >= hlen + 4 && at < f->arch.len - 64 && strstr(err.msg, "authentication failed") == NULL &&
            strstr(err.msg, "length") == NULL && strstr(err.msg, "truncated") == NULL)
            fail_msg("flip at %zu: unexpected message: %s", at, err.msg);
        assert_nothing_in_place(f);
        tried++;
    }
    assert_true(tried > 300);
    /* and the intact archive still unseals */
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&f->arch, f->key, f->to, f->m, &err), RS_OK);
}

static void truncated_archive_says_so(void **state)
{
    struct snap_env *f = *state;
    size_t full = f->arch.len, hlen = header_len(&f->arch);
    size_t cuts[] = {5, hlen - 1, hlen, hlen + 3, hlen + 100, full / 2, full - 17, full - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        f->arch.len = cuts[i];
        rs_err err = RS_ERR_INIT;
        assert_int_equal(snap_unseal(&f->arch, f->key, f->to, NULL, &err), RS_E_CORRUPT);
        if (strstr(err.msg, "archive truncated") == NULL)
            fail_msg("cut at %zu: %s", cuts[i], err.msg);
        assert_nothing_in_place(f);
    }
    f->arch.len = full;
}

static void bytes_after_the_final_chunk_are_refused(void **state)
{
    struct snap_env *f = *state;
    uint8_t extra[1] = {0};
    rs_snapshot_sink sink = membuf_sink(&f->arch);
    sink.write(sink.arg, extra, 1, NULL);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&f->arch, f->key, f->to, NULL, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "after its final chunk"));
    assert_nothing_in_place(f);
}

static void unknown_format_version_is_named(void **state)
{
    struct snap_env *f = *state;
    f->arch.p[8] = 2;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&f->arch, f->key, f->to, NULL, &err), RS_E_VERSION);
    assert_string_equal(err.msg, "archive format version 2 is not supported by this build (it reads 1)");
    assert_nothing_in_place(f);
}

static void not_an_archive_is_named(void **state)
{
    struct snap_env *f = *state;
    memcpy(f->arch.p, "PK\x03\x04", 4);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&f->arch, f->key, f->to, NULL, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "not a rockstream archive"));
}

static void wrong_key_names_both_ids(void **state)
{
    struct snap_env *f = *state;
    rs_snapshot_key *other = snap_secret_key(f->dir, "other.key");
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&f->arch, other, f->to, NULL, &err), RS_E_AUTH);
    char want[128];
    snprintf(want, sizeof want, "archive sealed with key %s, you gave key %s", rs_snapshot_key_id(f->key),
             rs_snapshot_key_id(other));
    assert_string_equal(err.msg, want);
    assert_int_equal(access(f->to, F_OK), -1);
    rs_snapshot_key_destroy(other);
}

static void wrong_passphrase_is_named(void **state)
{
    struct snap_env *f = *state;
    rs_snapshot_key *good = snap_passphrase_key("right"), *bad = snap_passphrase_key("wrong");
    struct membuf arch = {0};
    rs_snapshot_manifest *m = snap_seal(f->store, good, RS_SNAPSHOT_COMPRESS_AUTO, &arch);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&arch, bad, f->to, NULL, &err), RS_E_AUTH);
    assert_string_equal(err.msg, "wrong passphrase for this archive");
    rs_err_clear(&err);
    /* a key file where a passphrase sealed it, and the other way round */
    assert_int_equal(snap_unseal(&arch, f->key, f->to, NULL, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "sealed with a passphrase, you gave key"));
    rs_err_clear(&err);
    assert_int_equal(snap_unseal(&f->arch, good, f->to, NULL, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "you gave a passphrase"));
    assert_int_equal(access(f->to, F_OK), -1);
    rs_snapshot_manifest_destroy(m);
    membuf_free(&arch);
    rs_snapshot_key_destroy(good);
    rs_snapshot_key_destroy(bad);
}

static void edited_manifest_is_detected(void **state)
{
    struct snap_env *f = *state;
    uint8_t *text = NULL;
    size_t len = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_manifest_encode(f->m, &text, &len, &err), RS_OK);
    /* raise the recorded sequence by one: valid JSON, wrong MAC */
    char *seq = strstr((char *)text, "\\\"sequence\\\":");
    assert_non_null(seq);
    seq += strlen("\\\"sequence\\\":");
    *seq = *seq == '9' ? '1' : (char)(*seq + 1);
    rs_snapshot_manifest *back = NULL;
    assert_int_equal(rs_snapshot_manifest_decode(text, len, f->key, &back, &err), RS_E_CORRUPT);
    assert_string_equal(err.msg, "manifest authentication failed: it was edited or damaged");
    free(text);
}

static void manifest_of_another_snapshot_is_refused(void **state)
{
    struct snap_env *f = *state;
    struct membuf other = {0};
    rs_snapshot_manifest *m2 = snap_seal(f->store, f->key, RS_SNAPSHOT_COMPRESS_AUTO, &other);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&f->arch, f->key, f->to, m2, &err), RS_E_CORRUPT);
    assert_non_null(strstr(err.msg, "does not describe this archive"));
    assert_nothing_in_place(f);
    rs_snapshot_manifest_destroy(m2);
    membuf_free(&other);
}

static void non_empty_target_is_refused_and_untouched(void **state)
{
    struct snap_env *f = *state;
    assert_int_equal(mkdir(f->to, 0755), 0);
    char *keep = rs_test_path(f->to, "precious");
    FILE *fp = fopen(keep, "w");
    fputs("mine", fp);
    fclose(fp);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&f->arch, f->key, f->to, NULL, &err), RS_E_EXISTS);
    assert_non_null(strstr(err.msg, "is not empty"));
    assert_int_equal(snap_dir_entries(f->to), 1);
    assert_int_equal(access(keep, F_OK), 0);
    free(keep);
    /* an empty directory is fine: it is replaced */
    rs_test_tmpdir_remove(rs_test_path(f->dir, "restored"));
    assert_int_equal(mkdir(f->to, 0755), 0);
    assert_int_equal(snap_unseal(&f->arch, f->key, f->to, NULL, &err), RS_OK);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, snap_env_teardown)
    const struct CMUnitTest tests[] = {
        T(flipped_byte_anywhere_fails_and_puts_nothing),
        T(truncated_archive_says_so),
        T(bytes_after_the_final_chunk_are_refused),
        T(unknown_format_version_is_named),
        T(not_an_archive_is_named),
        T(wrong_key_names_both_ids),
        T(wrong_passphrase_is_named),
        T(edited_manifest_is_detected),
        T(manifest_of_another_snapshot_is_refused),
        T(non_empty_target_is_refused_and_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
