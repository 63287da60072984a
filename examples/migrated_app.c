/*
 * migrated_app: tests/migration/rocksdb_app.c's orders, moved from the raw
 * RocksDB C API to rs_store (docs/migration.md walks through each call).
 * It opens the database that program wrote (rockstream adopts it: its
 * column families, their options and its data are kept), reads an order,
 * adds a batch of orders atomically, and counts the orders through a
 * consistent view.
 *
 *   migrated_app DIR
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "example.h"
#include "store/store.h"

static int fail(const char *what, const rs_err *err) { return example_fail("migrated_app", what, err); }

/* was: rocksdb_writebatch_put in a loop, then rocksdb_write */
static rs_code add_orders(rs_store *db, int from, int to, rs_err *err)
{
    rs_store_batch *b = NULL;
    rs_code rc = rs_store_batch_create(&b, err);
    for (int i = from; rc == RS_OK && i < to; i++) {
        char k[32], v[32];
        int kl = snprintf(k, sizeof k, "order:%06d", i), vl = snprintf(v, sizeof v, "qty=%d", i % 7 + 1);
        rs_store_batch_put(b, (const uint8_t *)k, (size_t)kl, (const uint8_t *)v, (size_t)vl);
    }
    if (rc == RS_OK)
        rc = rs_store_write(db, b, err); /* durable on return (group commit) */
    rs_store_batch_destroy(b);
    return rc;
}

static int count_pair(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len)
{
    (void)key, (void)key_len, (void)val, (void)val_len;
    (*(uint64_t *)arg)++;
    return 0;
}

/* was: rocksdb_create_snapshot, rocksdb_create_iterator with it, seek to
 * the prefix, stop past it */
static rs_code count_orders(rs_store *db, uint64_t *n, rs_err *err)
{
    rs_store_view *view = NULL;
    rs_code rc = rs_store_view_open(db, &view, err);
    if (rc != RS_OK)
        return rc;
    rs_store_range orders = {.prefix = (const uint8_t *)"order:", .prefix_len = 6};
    *n = 0;
    rc = rs_store_scan(db, view, &orders, count_pair, n, err);
    rs_store_view_close(view);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: migrated_app DIR\n");
        return 2;
    }
    /* was: rocksdb_open_column_families with every family's options; the
     * database must exist (create_if_missing is 0) */
    rs_store *db = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_open(argv[1], NULL, &db, &err) != RS_OK)
        return fail(argv[1], &err);
    /* was: rocksdb_get, and rocksdb_free of the value */
    rs_store_value v = {0};
    int status = 0;
    uint64_t n = 0;
    if (rs_store_get(db, NULL, (const uint8_t *)"order:000042", 12, &v, &err) != RS_OK)
        status = fail("get order:000042", &err);
    else
        printf("order:000042 = %.*s\n", (int)v.len, (const char *)v.data);
    rs_store_value_release(&v);
    if (status == 0 && add_orders(db, 2000, 2100, &err) != RS_OK)
        status = fail("write", &err);
    if (status == 0 && count_orders(db, &n, &err) != RS_OK)
        status = fail("scan", &err);
    if (status == 0)
        printf("%" PRIu64 " orders at sequence %" PRIu64 "\n", n, rs_store_latest_seq(db));
    rs_store_close(db);
    return status;
}
