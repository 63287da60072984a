/*
 * rocksdb_app: an application written against the raw RocksDB C API, as it
 * was before it moved to rs_store (docs/migration.md quotes it). Its
 * database has two column families: "default" with orders, "accounts" with
 * balances, each with options of its own; writes go in batches that span
 * both. The tests use it as "another program": it makes a database for
 * rockstream to adopt, and it checks, read-only, what is in a copy
 * rockstream made (a follower, an unsealed snapshot).
 *
 *   rocksdb_app create DIR          orders 0..999, accounts user:000..099
 *   rocksdb_app verify DIR N_ORDERS the orders and accounts are all there
 */
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ACCOUNTS 100

static int check(char *errptr, const char *what)
{
    if (errptr == NULL)
        return 0;
    fprintf(stderr, "rocksdb_app: %s: %s\n", what, errptr);
    free(errptr);
    return 1;
}

/* The accounts family's own options: a bloom filter, 8 KiB blocks, 8 MiB
 * memtables, zstd. docs/migration.md: rockstream keeps them. */
static rocksdb_options_t *accounts_options(void)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_block_based_options_set_block_size(t, 8192);
    rocksdb_options_set_block_based_table_factory(o, t);
    rocksdb_block_based_options_destroy(t);
    rocksdb_options_set_write_buffer_size(o, 8u << 20);
    rocksdb_options_set_compression(o, rocksdb_zstd_compression);
    return o;
}

static void flush(rocksdb_t *db, rocksdb_column_family_handle_t *const *cf, char **err)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i < 2 && *err == NULL; i++)
        rocksdb_flush_cf(db, fo, cf[i], err);
    rocksdb_flushoptions_destroy(fo);
}

static int create(const char *dir)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    rocksdb_options_set_write_buffer_size(o, 4u << 20);
    rocksdb_options_t *acc = accounts_options();
    const char *names[] = {"default", "accounts"};
    const rocksdb_options_t *opts[] = {o, acc};
    rocksdb_column_family_handle_t *cf[2];
    char *err = NULL;
    rocksdb_t *db = rocksdb_open_column_families(o, dir, 2, names, opts, cf, &err);
    if (check(err, "open"))
        return 1;
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(wo, 1);
    /* each batch: 100 orders and one account, atomically */
    for (int b = 0; b < 10 && err == NULL; b++) {
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        for (int i = b * 100; i < (b + 1) * 100; i++) {
            char k[32], v[32];
            int kl = snprintf(k, sizeof k, "order:%06d", i), vl = snprintf(v, sizeof v, "qty=%d", i % 7 + 1);
            rocksdb_writebatch_put(wb, k, (size_t)kl, v, (size_t)vl);
        }
        for (int a = b * 10; a < (b + 1) * 10; a++) {
            char k[32], v[32];
            int kl = snprintf(k, sizeof k, "user:%03d", a), vl = snprintf(v, sizeof v, "balance=%d", a * 10);
            rocksdb_writebatch_put_cf(wb, cf[1], k, (size_t)kl, v, (size_t)vl);
        }
        rocksdb_write(db, wo, wb, &err);
        rocksdb_writebatch_destroy(wb);
        /* the first half reaches SST files; the rest stays in the WAL, for
         * the adopter to recover */
        if (b == 4 && err == NULL)
            flush(db, cf, &err);
    }
    int rc = check(err, "write");
    rocksdb_column_family_handle_destroy(cf[0]);
    rocksdb_column_family_handle_destroy(cf[1]);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_close(db);
    rocksdb_options_destroy(acc);
    rocksdb_options_destroy(o);
    return rc;
}

/* Counts the keys of family cf starting with prefix whose values look like
 * what create wrote. */
static long count(rocksdb_t *db, rocksdb_column_family_handle_t *cf, const char *prefix, const char *val_prefix)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db, ro, cf);
    long n = 0;
    size_t plen = strlen(prefix);
    for (rocksdb_iter_seek(it, prefix, plen); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);
        if (kl < plen || memcmp(k, prefix, plen) != 0)
            break;
        n += vl > strlen(val_prefix) && memcmp(v, val_prefix, strlen(val_prefix)) == 0;
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return n;
}

static int verify(const char *dir, long want_orders)
{
    /* read-only: only the families this program knows, whatever else the
     * database has now */
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_t *acc = accounts_options();
    const char *names[] = {"default", "accounts"};
    const rocksdb_options_t *opts[] = {o, acc};
    rocksdb_column_family_handle_t *cf[2];
    char *err = NULL;
    rocksdb_t *db = rocksdb_open_for_read_only_column_families(o, dir, 2, names, opts, cf, 0, &err);
    if (check(err, "open read-only"))
        return 1;
    long orders = count(db, cf[0], "order:", "qty="), accounts = count(db, cf[1], "user:", "balance=");
    printf("orders=%ld accounts=%ld\n", orders, accounts);
    rocksdb_column_family_handle_destroy(cf[0]);
    rocksdb_column_family_handle_destroy(cf[1]);
    rocksdb_close(db);
    rocksdb_options_destroy(acc);
    rocksdb_options_destroy(o);
    return orders == want_orders && accounts == N_ACCOUNTS ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "create") == 0)
        return create(argv[2]);
    if (argc == 4 && strcmp(argv[1], "verify") == 0)
        return verify(argv[2], atol(argv[3]));
    fprintf(stderr, "usage: rocksdb_app create DIR | rocksdb_app verify DIR N_ORDERS\n");
    return 2;
}
