/* Store helpers for the tests; see teststore.h. */
#include "testlib/teststore.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib/testlib.h"

rs_store *rs_test_store_open(const char *path, const rs_store_config *cfg)
{
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(path, cfg, &s, &err) != RS_OK)
        fail_msg("open '%s': %s", path, err.msg);
    return s;
}

struct rs_test_db *rs_test_db_make(const char *tag, int in_memory)
{
    struct rs_test_db *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->in_memory = in_memory;
    d->dir = rs_test_tmpdir(tag);
    d->db = rs_test_path(d->dir, "db");
    return d;
}

struct rs_test_db *rs_test_db_open(const char *tag, int in_memory, const rs_store_config *cfg)
{
    struct rs_test_db *d = rs_test_db_make(tag, in_memory);
    if (cfg != NULL)
        d->cfg = *cfg;
    d->cfg.create_if_missing = 1;
    d->cfg.in_memory = in_memory;
    d->store = rs_test_store_open(d->db, &d->cfg);
    return d;
}

void rs_test_db_reopen(struct rs_test_db *d)
{
    rs_store_close(d->store);
    d->store = NULL;
    d->store = rs_test_store_open(d->db, &d->cfg);
}

void rs_test_db_close(struct rs_test_db *d)
{
    if (d == NULL)
        return;
    rs_store_close(d->store);
    free(d->db);
    rs_test_tmpdir_remove(d->dir);
    free(d);
}

void rs_test_put(rs_store *s, const char *key, const char *val)
{
    rs_err err = RS_ERR_INIT;
    if (rs_store_put(s, B(key), strlen(key), B(val), strlen(val), &err) != RS_OK)
        fail_msg("put '%s': %s", key, err.msg);
}

void rs_test_expect_value(rs_store *s, const rs_store_view *view, const char *key, const char *want)
{
    rs_store_value v = {0};
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_get(s, view, B(key), strlen(key), &v, &err);
    if (rc != RS_OK)
        fail_msg("get '%s': %s (%s)", key, rs_code_name(rc), err.msg);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.data, want, v.len);
    rs_store_value_release(&v);
}

void rs_test_expect_missing(rs_store *s, const rs_store_view *view, const char *key)
{
    rs_store_value v = {0};
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_get(s, view, B(key), strlen(key), &v, &err);
    if (rc != RS_E_NOTFOUND)
        fail_msg("get '%s': expected notfound, got %s", key, rs_code_name(rc));
    assert_int_equal(err.code, RS_OK); /* a missing key is not a failure */
}

void rs_test_expect_multi(rs_store *s, const rs_store_view *view, size_t n, const char *const *keys,
                          const char *const *want)
{
    const uint8_t *k[16];
    size_t lens[16];
    rs_store_value vals[16];
    rs_code codes[16];
    rs_err err = RS_ERR_INIT;
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        k[i] = B(keys[i]);
        lens[i] = strlen(keys[i]);
    }
    assert_int_equal(rs_store_multi_get(s, view, n, k, lens, vals, codes, &err), RS_OK);
    for (size_t i = 0; i < n; i++) {
        if (want[i] == NULL) {
            assert_int_equal(codes[i], RS_E_NOTFOUND);
            continue;
        }
        assert_int_equal(codes[i], RS_OK);
        assert_int_equal(vals[i].len, strlen(want[i]));
        assert_memory_equal(vals[i].data, want[i], vals[i].len);
        rs_store_value_release(&vals[i]);
    }
}

void rs_test_put_numbered(rs_store *s, unsigned long first, unsigned long last)
{
    char key[32], val[32];
    for (unsigned long i = first; i < last; i++) {
        snprintf(key, sizeof key, "key-%lu", i);
        snprintf(val, sizeof val, "value-%lu", i);
        rs_test_put(s, key, val);
    }
}

void rs_test_expect_numbered(rs_store *s, const rs_store_view *view, unsigned long first, unsigned long last)
{
    char key[32], val[32];
    for (unsigned long i = first; i < last; i++) {
        snprintf(key, sizeof key, "key-%lu", i);
        snprintf(val, sizeof val, "value-%lu", i);
        rs_test_expect_value(s, view, key, val);
    }
}

uint64_t rs_test_batch_seqs(rs_store *s, uint64_t k) { return k + (rs_store_is_chained(s) ? 1 : 0); }

uint64_t rs_test_seqs_per_put(rs_store *s) { return rs_test_batch_seqs(s, 1); }

size_t rs_test_batches_read(rs_store *s, uint64_t from, struct rs_test_batch *out, size_t max)
{
    rs_store_wal_iter *it = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_wal_iter_open(s, from, &it, &err) != RS_OK)
        fail_msg("WAL reader from seq %llu: %s", (unsigned long long)from, err.msg);
    size_t n = 0, len;
    const uint8_t *rep;
    uint64_t seq;
    while (n < max && rs_store_wal_iter_next(it, &seq, &rep, &len, &err) == RS_OK) {
        out[n] = (struct rs_test_batch){.seq = seq, .rep = malloc(len), .len = len};
        assert_non_null(out[n].rep);
        memcpy(out[n].rep, rep, len);
        n++;
    }
    rs_store_wal_iter_close(it);
    return n;
}

void rs_test_batches_free(struct rs_test_batch *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(b[i].rep);
}

rs_store *rs_test_follower_open(rs_store *primary, const char *path, const rs_store_config *cfg, uint64_t *seq)
{
    rs_err err = RS_ERR_INIT;
    if (rs_store_checkpoint(primary, path, seq, &err) != RS_OK)
        fail_msg("checkpoint into '%s': %s", path, err.msg);
    rs_store *s = rs_test_store_open(path, cfg);
    rs_store_set_replica(s, 1);
    return s;
}

/* How many WAL files (*.log) a database directory holds. */
static int live_wal_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".log") == 0;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

static int one_live_wal(void *arg) { return live_wal_files(arg) == 1; }

void rs_test_drop_archived_wal(const char *db_dir)
{
    assert_true(rs_test_poll(one_live_wal, (void *)db_dir, 20000));
    char *cmd = NULL;
    assert_true(asprintf(&cmd, "rm -f %s/archive/*.log", db_dir) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}
