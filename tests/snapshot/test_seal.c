/*
 * snapshot: sealing and unsealing round trips. A live database taking
 * writes, one taking versioned commits (its version recorded), an empty
 * one, 16 MiB values, each key mode, each compression choice; the unsealed
 * database opens and its digest is the recorded one.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snap_fixture.h"

#define B(s) ((const uint8_t *)(s))

/* Opens the unsealed database and checks its digest and sequence against
 * the manifest, independently of unseal's own check. */
static void check_restored(const char *to, const rs_snapshot_manifest *m)
{
    rs_snapshot_info in;
    rs_snapshot_manifest_info(m, &in);
    rs_store *s = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_open(to, NULL, &s, &err) != RS_OK)
        fail_msg("restored db does not open: %s", err.msg);
    uint8_t d[RS_STORE_DIGEST_BYTES];
    rs_store_digest_stats st;
    assert_int_equal(rs_store_digest(s, NULL, d, &st, &err), RS_OK);
    assert_memory_equal(d, in.content_digest, sizeof d);
    assert_int_equal(st.n_pairs, in.n_pairs);
    assert_true(rs_store_latest_seq(s) >= in.seq);
    rs_store_close(s);
}

/* ---- a live database ------------------------------------------------ */

struct writer {
    rs_store   *store;
    _Atomic int stop;
    _Atomic uint64_t written;
};

static void *keep_writing(void *arg)
{
    struct writer *w = arg;
    rs_err err = RS_ERR_INIT;
    char key[32];
    for (uint64_t i = 0; !atomic_load(&w->stop); i++) {
        int kl = snprintf(key, sizeof key, "live%012llu", (unsigned long long)i);
        if (rs_store_put(w->store, B(key), (size_t)kl, B("during the snapshot"), 19, &err) != RS_OK)
            break;
        atomic_fetch_add(&w->written, 1);
    }
    return NULL;
}

static int wrote_some(void *arg) { return atomic_load(&((struct writer *)arg)->written) > 100; }

/* Seals a snapshot of s while body(arg) runs on a thread of its own: once
 * ready(arg) says it is under way; then sets *stop and joins it. */
static rs_snapshot_manifest *seal_while(struct snap_env *f, rs_store *s, void *(*body)(void *), void *arg,
                                        int (*ready)(void *), _Atomic int *stop, struct membuf *arch)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, body, arg), 0);
    assert_true(rs_test_poll(ready, arg, 10000));
    rs_snapshot_manifest *m = snap_seal(s, f->key, RS_SNAPSHOT_COMPRESS_AUTO, arch);
    atomic_store(stop, 1);
    pthread_join(t, NULL);
    return m;
}

static void round_trip_million_keys_while_writing(void **state)
{
    struct snap_env *f = *state;
    rs_store *s = snap_make_db(f->db, 1000000, 20);
    struct writer w = {.store = s};
    struct membuf arch = {0};
    rs_snapshot_manifest *m = seal_while(f, s, keep_writing, &w, wrote_some, &w.stop, &arch);
    uint64_t after = atomic_load(&w.written);
    rs_snapshot_info in;
    rs_snapshot_manifest_info(m, &in);
    /* the snapshot holds the loaded keys and part of the live writes: a
     * consistent cut, taken while writes went on */
    assert_true(in.n_pairs > 1000000);
    assert_true(in.n_pairs <= 1000000 + after);
    assert_true(atomic_load(&w.written) > in.n_pairs - 1000000);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&arch, f->key, f->to, m, &err), RS_OK);
    check_restored(f->to, m);
    /* the checkpoint beside the database was removed */
    assert_int_equal(snap_dir_entries(f->dir), 3); /* db, k.key, restored */
    rs_snapshot_manifest_destroy(m);
    membuf_free(&arch);
    rs_store_close(s);
}

/* ---- a versioned database ------------------------------------------ */

struct committer {
    rs_store        *store;
    _Atomic int      stop;
    _Atomic uint64_t version; /* the latest committed */
};

/* Commits versions 1, 2, ...: each sets "height" to its number. */
static void *keep_committing(void *arg)
{
    struct committer *c = arg;
    rs_err err = RS_ERR_INIT;
    rs_store_batch *b = NULL;
    if (rs_store_batch_create(&b, &err) != RS_OK)
        return NULL;
    char val[32];
    for (uint64_t v = 1; !atomic_load(&c->stop); v++) {
        rs_store_batch_clear(b);
        int vl = snprintf(val, sizeof val, "%llu", (unsigned long long)v);
        rs_store_batch_put(b, B("height"), 6, B(val), (size_t)vl);
        if (rs_store_commit(c->store, v, b, &err) != RS_OK)
            break;
        atomic_store(&c->version, v);
    }
    rs_store_batch_destroy(b);
    return NULL;
}

static int committed_some(void *arg) { return atomic_load(&((struct committer *)arg)->version) >= 10; }

/* A snapshot taken while versions are committed records the version its
 * checkpoint holds, the one of its sequence (not the live database's a
 * moment later), and the unsealed database holds it and reads at it. */
static void versioned_snapshot_records_the_version_it_holds(void **state)
{
    struct snap_env *f = *state;
    rs_store *s = snap_make_db(f->db, 1000, 20);
    struct committer c = {.store = s};
    struct membuf arch = {0};
    rs_snapshot_manifest *m = seal_while(f, s, keep_committing, &c, committed_some, &c.stop, &arch);
    rs_snapshot_info in;
    rs_snapshot_manifest_info(m, &in);
    print_message("      snapshot at seq %llu holds version %llu; %llu committed in all\n",
                  (unsigned long long)in.seq, (unsigned long long)in.version,
                  (unsigned long long)atomic_load(&c.version));
    assert_true(in.version >= 10 && in.version <= atomic_load(&c.version));
    uint64_t at_seq = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_at_seq(s, in.seq, &at_seq, NULL, &err), RS_OK);
    assert_int_equal(at_seq, in.version);

    assert_int_equal(snap_unseal(&arch, f->key, f->to, m, &err), RS_OK);
    rs_store *r = NULL;
    rs_store_config ro = {.read_only = 1};
    assert_int_equal(rs_store_open(f->to, &ro, &r, &err), RS_OK);
    assert_int_equal(rs_store_version_latest(r), in.version);
    rs_store_value v = {0};
    char want[32];
    snprintf(want, sizeof want, "%llu", (unsigned long long)in.version - 1);
    assert_int_equal(rs_store_get_at(r, in.version - 1, B("height"), 6, &v, &err), RS_OK);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.data, want, v.len);
    rs_store_value_release(&v);
    rs_store_close(r);
    rs_snapshot_manifest_destroy(m);
    membuf_free(&arch);
    rs_store_close(s);
}

static void empty_database_round_trips(void **state)
{
    struct snap_env *f = *state;
    rs_store *s = snap_make_db(f->db, 0, 0);
    struct membuf arch = {0};
    rs_snapshot_manifest *m = snap_seal(s, f->key, RS_SNAPSHOT_COMPRESS_AUTO, &arch);
    rs_snapshot_info in;
    rs_snapshot_manifest_info(m, &in);
    assert_int_equal(in.n_pairs, 0);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(snap_unseal(&arch, f->key, f->to, NULL, &err), RS_OK);
    check_restored(f->to, m);
    rs_snapshot_manifest_destroy(m);
    membuf_free(&arch);
    rs_store_close(s);
}

static void values_of_16_mib_round_trip(void **state)
{
    struct snap_env *f = *state;
    rs_store *s = snap_make_db(f->db, 0, 0);
    size_t len = 16u << 20;
    uint8_t *val = malloc(len);
    rs_err err = RS_ERR_INIT;
    for (int k = 0; k < 3; k++) {
        /* random: incompressible, so chunks and zstd frames both get big */
        for (size_t i = 0; i < len; i += 8) {
            uint64_t x = (i + (uint64_t)k * len) * 0x9E3779B97F4A7C15ull;
            x ^= x >> 29;
            memcpy(val + i, &x, 8);
        }
        char key[8];
        snprintf(key, sizeof key, "big%d", k);
        assert_int_equal(rs_store_put(s, B(key), 4, val, len, &err), RS_OK);
    }
    assert_int_equal(rs_store_flush(s, &err), RS_OK);
    struct membuf arch = {0};
    rs_snapshot_manifest *m = snap_seal(s, f->key, RS_SNAPSHOT_COMPRESS_ALL, &arch);
    arch.max_read = 7777; /* an odd read size: reads straddle every boundary */
    assert_int_equal(snap_unseal(&arch, f->key, f->to, m, &err), RS_OK);
    check_restored(f->to, m);
    rs_store *r = NULL;
    assert_int_equal(rs_store_open(f->to, NULL, &r, &err), RS_OK);
    rs_store_value v = {0};
    assert_int_equal(rs_store_get(r, NULL, B("big2"), 4, &v, &err), RS_OK);
    assert_int_equal(v.len, len);
    assert_memory_equal(v.data, val, len);
    rs_store_value_release(&v);
    rs_store_close(r);
    free(val);
    rs_snapshot_manifest_destroy(m);
    membuf_free(&arch);
    rs_store_close(s);
}

/* ---- key modes and compression choices ------------------------------ */

static void round_trip_with(struct snap_env *f, const rs_snapshot_key *seal, const rs_snapshot_key *open,
                            rs_snapshot_compress compress)
{
    rs_store *s = snap_make_db(f->db, 5000, 100);
    struct membuf arch = {0};
    rs_snapshot_manifest *m = snap_seal(s, seal, compress, &arch);
    rs_err err = RS_ERR_INIT;
    if (snap_unseal(&arch, open, f->to, NULL, &err) != RS_OK)
        fail_msg("unseal: %s", err.msg);
    check_restored(f->to, m);
    rs_snapshot_manifest_destroy(m);
    membuf_free(&arch);
    rs_store_close(s);
}

static void passphrase_round_trips(void **state)
{
    rs_snapshot_key *k = snap_passphrase_key("correct horse battery staple");
    round_trip_with(*state, k, k, RS_SNAPSHOT_COMPRESS_AUTO);
    rs_snapshot_key_destroy(k);
}

static void public_key_seals_and_pair_unseals(void **state)
{
    struct snap_env *f = *state;
    char *pair_path = rs_test_path(f->dir, "pair.key"), *pub_path = rs_test_path(f->dir, "pair.key.pub");
    char id[17];
    rs_err err = RS_ERR_INIT;
    rs_snapshot_key *pair = NULL, *pub = NULL;
    assert_int_equal(rs_snapshot_keygen(pair_path, RS_SNAPSHOT_KEY_PAIR, id, &err), RS_OK);
    assert_int_equal(rs_snapshot_key_load(pair_path, &pair, &err), RS_OK);
    assert_int_equal(rs_snapshot_key_load(pub_path, &pub, &err), RS_OK);
    assert_string_equal(rs_snapshot_key_id(pub), id);
    assert_string_equal(rs_snapshot_key_id(pair), id);
    assert_false(rs_snapshot_key_can_unseal(pub));
    round_trip_with(f, pub, pair, RS_SNAPSHOT_COMPRESS_NONE);
    rs_snapshot_key_destroy(pair);
    rs_snapshot_key_destroy(pub);
    free(pair_path);
    free(pub_path);
}

static void public_key_host_cannot_unseal(void **state)
{
    struct snap_env *f = *state;
    char *pair_path = rs_test_path(f->dir, "pair.key"), *pub_path = rs_test_path(f->dir, "pair.key.pub");
    char id[17];
    rs_err err = RS_ERR_INIT;
    rs_snapshot_key *pub = NULL;
    assert_int_equal(rs_snapshot_keygen(pair_path, RS_SNAPSHOT_KEY_PAIR, id, &err), RS_OK);
    assert_int_equal(rs_snapshot_key_load(pub_path, &pub, &err), RS_OK);
    rs_store *s = snap_make_db(f->db, 100, 10);
    struct membuf arch = {0};
    rs_snapshot_manifest *m = snap_seal(s, pub, RS_SNAPSHOT_COMPRESS_AUTO, &arch);
    assert_int_equal(snap_unseal(&arch, pub, f->to, NULL, &err), RS_E_AUTH);
    assert_non_null(strstr(err.msg, "public key"));
    assert_non_null(strstr(err.msg, "not open them"));
    assert_int_equal(access(f->to, F_OK), -1);
    /* nor verify its manifest */
    uint8_t *text = NULL;
    size_t len = 0;
    rs_snapshot_manifest *back = NULL;
    assert_int_equal(rs_snapshot_manifest_encode(m, &text, &len, &err), RS_OK);
    rs_err_clear(&err);
    assert_int_equal(rs_snapshot_manifest_decode(text, len, pub, &back, &err), RS_E_AUTH);
    free(text);
    rs_snapshot_manifest_destroy(m);
    membuf_free(&arch);
    rs_store_close(s);
    rs_snapshot_key_destroy(pub);
    free(pair_path);
    free(pub_path);
}

static void every_compression_choice_round_trips(void **state)
{
    struct snap_env *f = *state;
    round_trip_with(f, f->key, f->key, RS_SNAPSHOT_COMPRESS_ALL);
    rs_test_tmpdir_remove(rs_test_path(f->dir, "restored"));
    char *db = rs_test_path(f->dir, "db");
    rs_test_tmpdir_remove(db);
    round_trip_with(f, f->key, f->key, RS_SNAPSHOT_COMPRESS_NONE);
}

/* ---- the detached manifest ------------------------------------------ */

static void detached_manifest_verifies_and_records_the_archive(void **state)
{
    struct snap_env *f = *state;
    rs_store *s = snap_make_db(f->db, 1000, 50);
    struct membuf arch = {0};
    rs_snapshot_manifest *m = snap_seal(s, f->key, RS_SNAPSHOT_COMPRESS_AUTO, &arch);
    uint8_t *text = NULL;
    size_t len = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_snapshot_manifest_encode(m, &text, &len, &err), RS_OK);
    rs_snapshot_manifest *back = NULL;
    assert_int_equal(rs_snapshot_manifest_decode(text, len, f->key, &back, &err), RS_OK);
    rs_snapshot_info a, b;
    rs_snapshot_manifest_info(m, &a);
    rs_snapshot_manifest_info(back, &b);
    assert_string_equal(a.id, b.id);
    assert_int_equal(b.archive_bytes, arch.len);
    assert_int_equal(b.seq, a.seq);
    assert_int_equal(b.version, 0); /* no versioned state yet */
    assert_memory_equal(a.content_digest, b.content_digest, sizeof a.content_digest);
    assert_string_equal(b.key_id, rs_snapshot_key_id(f->key));
    assert_int_equal(snap_unseal(&arch, f->key, f->to, back, &err), RS_OK);
    /* the secret never reaches the manifest */
    char *key_path = rs_test_path(f->dir, "k.key");
    FILE *kf = fopen(key_path, "r");
    char line[256], secret_hex[65] = "";
    while (fgets(line, sizeof line, kf) != NULL)
        if (strncmp(line, "secret: ", 8) == 0)
            memcpy(secret_hex, line + 8, 64);
    fclose(kf);
    free(key_path);
    assert_int_equal(strlen(secret_hex), 64);
    assert_null(memmem(text, len, secret_hex, 64));
    free(text);
    rs_snapshot_manifest_destroy(back);
    rs_snapshot_manifest_destroy(m);
    membuf_free(&arch);
    rs_store_close(s);
}

/* ---- a failing sink --------------------------------------------------- */

struct failing_sink {
    int calls, fail_at;
};

static rs_code fail_nth(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    (void)p;
    (void)len;
    struct failing_sink *fs = arg;
    if (++fs->calls >= fs->fail_at)
        return rs_err_set(err, RS_E_IO, "upload part %d: no space left", fs->calls);
    return RS_OK;
}

static void sink_failure_stops_the_seal_with_its_error(void **state)
{
    struct snap_env *f = *state;
    rs_store *s = snap_make_db(f->db, 20000, 100);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_flush(s, &err), RS_OK);
    /* the first call (the header), one in the middle, the last */
    for (int at = 1; at <= 3; at++) {
        struct failing_sink fs = {.fail_at = at == 3 ? 1000000 : at == 2 ? 2 : 1};
        rs_snapshot_sink sink = {.write = fail_nth, .arg = &fs};
        rs_snapshot_options o = {.key = f->key, .compress = RS_SNAPSHOT_COMPRESS_NONE, .chunk_bytes = 4096};
        rs_snapshot_manifest *m = NULL;
        rs_err_clear(&err);
        rs_code rc = rs_snapshot_take(s, &o, &sink, &m, NULL, &err);
        if (at == 3) {
            fs.fail_at = fs.calls; /* now fail on the very last write */
            fs.calls = 0;
            rs_snapshot_manifest_destroy(m);
            m = NULL;
            rs_err_clear(&err);
            rc = rs_snapshot_take(s, &o, &sink, &m, NULL, &err);
        }
        assert_int_equal(rc, RS_E_IO);
        assert_non_null(strstr(err.msg, "no space left"));
        assert_null(m);
        assert_int_equal(snap_dir_entries(f->dir), 2); /* db, k.key: the checkpoint is gone */
    }
    rs_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_million_keys_while_writing, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(versioned_snapshot_records_the_version_it_holds, snap_env_setup,
                                        snap_env_teardown),
        cmocka_unit_test_setup_teardown(empty_database_round_trips, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(values_of_16_mib_round_trip, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(passphrase_round_trips, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(public_key_seals_and_pair_unseals, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(public_key_host_cannot_unseal, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(every_compression_choice_round_trips, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(detached_manifest_verifies_and_records_the_archive, snap_env_setup, snap_env_teardown),
        cmocka_unit_test_setup_teardown(sink_failure_stops_the_seal_with_its_error, snap_env_setup, snap_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
