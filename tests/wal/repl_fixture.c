/*
 * The replication tests' fixture: a primary store with its shipper on
 * 127.0.0.1 (a free port), followers in their own directories, and the
 * checks they share (caught up, same content, what the log says).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "common/log.h"
#include "repl_fixture.h"

rs_store *open_store(const char *path)
{
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE, .write_buffer_bytes = 1 << 20};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(path, &cfg, &s, &err) != RS_OK)
        fail_msg("open %s: %s", path, err.msg);
    return s;
}

static void start_primary_cfg(struct fx *f, int require_encryption, uint64_t resync_rate, uint32_t deadline_ms)
{
    rs_wal_primary_config pc = {.listen_addr = "127.0.0.1:0", .key = f->key, .heartbeat_ms = 100,
                                .timeout_ms = 3000, .require_encryption = require_encryption,
                                .send_deadline_ms = deadline_ms, .queue_bytes = 1u << 20,
                                .resync_bytes_per_sec = resync_rate};
    rs_err err = RS_ERR_INIT;
    if (rs_wal_primary_start(f->store, &pc, &f->primary, &err) != RS_OK)
        fail_msg("primary: %s", err.msg);
    snprintf(f->addr, sizeof f->addr, "127.0.0.1:%u", rs_wal_primary_port(f->primary));
}

void start_primary_rate(struct fx *f, int require_encryption, uint64_t resync_rate)
{
    start_primary_cfg(f, require_encryption, resync_rate, 500);
}

void start_primary_deadline(struct fx *f, uint32_t send_deadline_ms)
{
    start_primary_cfg(f, 0, 0, send_deadline_ms);
}

void start_primary(struct fx *f, int require_encryption) { start_primary_rate(f, require_encryption, 0); }

int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = rs_test_tmpdir("repl");
    f->pdb = rs_test_path(f->dir, "primary");
    f->fdb = rs_test_path(f->dir, "follower");
    f->store = open_store(f->pdb);
    randombytes_buf(f->key.bytes, sizeof f->key.bytes);
    f->log = open_memstream(&f->log_buf, &f->log_len);
    rs_log_set_stream(f->log);
    start_primary(f, 0);
    *state = f;
    return 0;
}

int teardown(void **state)
{
    struct fx *f = *state;
    rs_wal_primary_stop(f->primary);
    rs_store_close(f->store);
    rs_log_set_stream(NULL);
    fclose(f->log);
    free(f->log_buf);
    free(f->pdb);
    free(f->fdb);
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

void write_keys(rs_store *s, int from, int n)
{
    rs_err err = RS_ERR_INIT;
    char k[32], v[64];
    for (int i = from; i < from + n; i++) {
        int kl = snprintf(k, sizeof k, "key-%06d", i);
        int vl = snprintf(v, sizeof v, "value-%d-%d", i, i * 7);
        if (rs_store_put(s, B(k), (size_t)kl, B(v), (size_t)vl, &err) != RS_OK)
            fail_msg("put: %s", err.msg);
    }
}

rs_wal_follower *start_follower_opts(struct fx *f, const rs_wal_key *key, int encrypt, int allow_discard)
{
    rs_wal_follower_config fc = {.allow_discard = allow_discard, .db_path = f->fdb, .primary_addr = f->addr, .key = *key, .encrypt = encrypt,
                                 .name = "test-follower", .heartbeat_ms = 100, .timeout_ms = 3000, .retry_ms = 20,
                                 .store_cfg = {.sync = RS_STORE_SYNC_NONE, .write_buffer_bytes = 1 << 20}};
    rs_err err = RS_ERR_INIT;
    rs_wal_follower *fo = NULL;
    if (rs_wal_follower_start(&fc, &fo, &err) != RS_OK)
        fail_msg("follower: %s", err.msg);
    return fo;
}

rs_wal_follower *start_follower(struct fx *f, const rs_wal_key *key, int encrypt)
{
    return start_follower_opts(f, key, encrypt, 0);
}

void caught_up(rs_wal_follower *fo, rs_store *primary)
{
    uint64_t want = rs_store_latest_seq(primary);
    uint64_t got = rs_wal_follower_wait_applied(fo, want, WAIT_MS);
    if (got != want) {
        rs_wal_follower_status st;
        rs_wal_follower_status_get(fo, &st);
        fail_msg("follower at seq %llu, primary at %llu (state %d, last error: %s)", (unsigned long long)got,
                 (unsigned long long)want, st.state, st.last_error.msg);
    }
}

/* A digest of every key and value, in order. */
static int digest_pair(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    crypto_generichash_state *st = arg;
    uint64_t lens[2] = {kl, vl};
    crypto_generichash_update(st, (const uint8_t *)lens, sizeof lens);
    crypto_generichash_update(st, k, kl);
    crypto_generichash_update(st, v, vl);
    return 0;
}

void digest(rs_store *s, uint8_t out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    rs_store_range all = {0};
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_scan(s, NULL, &all, digest_pair, &st, &err), RS_OK);
    crypto_generichash_final(&st, out, 32);
}

void same_content(rs_wal_follower *fo, rs_store *primary)
{
    uint8_t a[32], b[32];
    digest(primary, a);
    rs_store *fs = rs_wal_follower_store_acquire(fo);
    assert_non_null(fs);
    digest(fs, b);
    assert_int_equal(rs_store_latest_seq(fs), rs_store_latest_seq(primary));
    uint64_t s1, s2;
    uint8_t c1[32], c2[32];
    rs_store_chain(primary, &s1, c1);
    rs_store_chain(fs, &s2, c2);
    rs_wal_follower_store_release(fo);
    assert_memory_equal(a, b, 32);
    assert_int_equal(s1, s2);
    assert_memory_equal(c1, c2, 32);
}

int resynced(void *arg)
{
    rs_wal_follower_status st;
    rs_wal_follower_status_get(arg, &st);
    return st.n_resyncs > 0;
}

void drop_archived_wal(struct fx *f) { rs_test_drop_archived_wal(f->pdb); }

rs_wal_follower_state wait_stopped(rs_wal_follower *fo, rs_wal_follower_status *st)
{
    for (int i = 0; i < WAIT_MS / 10; i++) {
        rs_wal_follower_status_get(fo, st);
        if (st->state == RS_WAL_FOLLOWER_REFUSED || st->state == RS_WAL_FOLLOWER_FAILED)
            return st->state;
        rs_wal_follower_wait_applied(fo, UINT64_MAX, 10);
    }
    return st->state;
}

int log_has(struct fx *f, const char *words)
{
    /* writers hold the stream's lock too: the buffer cannot move meanwhile */
    flockfile(f->log);
    fflush(f->log);
    int found = f->log_buf != NULL && strstr(f->log_buf, words) != NULL;
    funlockfile(f->log);
    return found;
}

struct log_probe {
    struct fx  *f;
    const char *words;
};

static int probe(void *arg)
{
    struct log_probe *p = arg;
    return log_has(p->f, p->words);
}

/* The primary logs from its own threads: give it a moment. */
int log_says(struct fx *f, const char *words)
{
    struct log_probe p = {f, words};
    return rs_test_poll(probe, &p, 5000);
}

/* Connects, authenticates and asks to stream from the primary's latest. */
wal_conn *raw_follower(struct fx *f)
{
    rs_err err = RS_ERR_INIT;
    int fd = -1;
    wal_conn *c = NULL;
    assert_int_equal(wal_net_connect(f->addr, 3000, &fd, &err), RS_OK);
    assert_int_equal(wal_conn_create(fd, f->addr, 1u << 16, 3000, &c, &err), RS_OK);
    assert_int_equal(wal_handshake_follower(c, &f->key, 0, 3000, &err), RS_OK);
    wal_identity id = {.name = "raw"};
    rs_store_id(f->store, id.db_id);
    assert_int_equal(rs_wal_history_current(f->store, id.history, &err), RS_OK);
    rs_store_chain(f->store, &id.latest_seq, id.chain);
    uint8_t buf[128];
    size_t n = wal_identity_encode(&id, buf, sizeof buf);
    assert_int_equal(wal_conn_send_msg(c, RS_WAL_FRAME_IDENTIFY, buf, n, &err), RS_OK);
    rs_wal_frame fr;
    assert_int_equal(wal_conn_expect(c, RS_WAL_FRAME_WELCOME, &fr, 3000, &err), RS_OK);
    return c;
}
