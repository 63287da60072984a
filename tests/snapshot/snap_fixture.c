/* Shared by the snapshot tests; see snap_fixture.h. */
#include "snap_fixture.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rs_code mem_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    (void)err;
    struct membuf *b = arg;
    if (b->len + len > b->cap) {
        size_t cap = b->cap == 0 ? 65536 : b->cap;
        while (cap < b->len + len)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, len);
    b->len += len;
    return RS_OK;
}

static rs_code mem_read(void *arg, uint8_t *buf, size_t cap, size_t *got, rs_err *err)
{
    (void)err;
    struct membuf *b = arg;
    size_t n = b->len - b->pos < cap ? b->len - b->pos : cap;
    if (b->max_read != 0 && n > b->max_read)
        n = b->max_read;
    memcpy(buf, b->p + b->pos, n);
    b->pos += n;
    *got = n;
    return RS_OK;
}

rs_snapshot_sink membuf_sink(struct membuf *b) { return (rs_snapshot_sink){.write = mem_write, .arg = b}; }
rs_snapshot_source membuf_source(struct membuf *b) { return (rs_snapshot_source){.read = mem_read, .arg = b}; }

void membuf_free(struct membuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

rs_snapshot_key *snap_secret_key(const char *dir, const char *name)
{
    char *path = rs_test_path(dir, name);
    char id[17];
    rs_err err = RS_ERR_INIT;
    rs_snapshot_key *k = NULL;
    if (rs_snapshot_keygen(path, RS_SNAPSHOT_KEY_SECRET, id, &err) != RS_OK ||
        rs_snapshot_key_load(path, &k, &err) != RS_OK)
        fail_msg("key: %s", err.msg);
    assert_string_equal(rs_snapshot_key_id(k), id);
    free(path);
    return k;
}

rs_snapshot_key *snap_passphrase_key(const char *pass)
{
    rs_snapshot_key *k = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_snapshot_key_from_passphrase(pass, strlen(pass), 1, 8192, &k, &err) != RS_OK)
        fail_msg("passphrase key: %s", err.msg);
    return k;
}

rs_store *snap_make_db(const char *path, uint64_t n, size_t value_len)
{
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE};
    rs_store *s = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_open(path, &cfg, &s, &err) != RS_OK)
        fail_msg("open '%s': %s", path, err.msg);
    rs_store_batch *b = NULL;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    uint8_t *val = malloc(value_len + 1);
    for (size_t i = 0; i < value_len; i++)
        val[i] = (uint8_t)('a' + i % 23);
    char key[32];
    for (uint64_t i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof key, "k%010llu", (unsigned long long)i);
        rs_store_batch_put(b, (const uint8_t *)key, (size_t)kl, val, value_len);
        if (rs_store_batch_count(b) == 10000 || i + 1 == n) {
            assert_int_equal(rs_store_write(s, b, &err), RS_OK);
            rs_store_batch_clear(b);
        }
    }
    rs_store_batch_destroy(b);
    free(val);
    return s;
}

rs_snapshot_manifest *snap_seal(rs_store *store, const rs_snapshot_key *key, rs_snapshot_compress compress,
                                struct membuf *out)
{
    rs_snapshot_options o = {.key = key, .compress = compress, .zstd_threads = 1};
    rs_snapshot_sink sink = membuf_sink(out);
    rs_snapshot_manifest *m = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_snapshot_take(store, &o, &sink, &m, NULL, &err) != RS_OK)
        fail_msg("take: %s", err.msg);
    return m;
}

rs_code snap_unseal(struct membuf *buf, const rs_snapshot_key *key, const char *to, const rs_snapshot_manifest *expect,
                    rs_err *err)
{
    buf->pos = 0;
    rs_snapshot_source src = membuf_source(buf);
    rs_snapshot_unseal_options o = {.key = key, .expect = expect};
    return rs_snapshot_unseal(&src, to, &o, NULL, err);
}

int snap_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

int snap_env_setup(void **state)
{
    struct snap_env *e = calloc(1, sizeof *e);
    e->dir = rs_test_tmpdir("snapshot");
    e->db = rs_test_path(e->dir, "db");
    e->to = rs_test_path(e->dir, "restored");
    e->key = snap_secret_key(e->dir, "k.key");
    *state = e;
    return 0;
}

int snap_env_teardown(void **state)
{
    struct snap_env *e = *state;
    rs_snapshot_manifest_destroy(e->m);
    membuf_free(&e->arch);
    rs_store_close(e->store);
    rs_snapshot_key_destroy(e->key);
    free(e->db);
    free(e->to);
    rs_test_tmpdir_remove(e->dir);
    free(e);
    return 0;
}
