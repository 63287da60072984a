/*
 * embed_store: the smallest program that embeds rockstream's store. It
 * opens (or creates) a database in the directory it is given, writes a few
 * accounts in one atomic batch, reads one back, scans them in order through
 * a consistent view, and prints the database's statistics.
 *
 *   embed_store DIR
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "example.h"
#include "store/store.h"

static int fail(const char *what, const rs_err *err) { return example_fail("embed_store", what, err); }

/* Writes account:0 .. account:4 atomically: all or none. */
static rs_code write_accounts(rs_store *db, rs_err *err)
{
    rs_store_batch *batch = NULL;
    rs_code rc = rs_store_batch_create(&batch, err);
    if (rc != RS_OK)
        return rc;
    for (int i = 0; i < 5; i++) {
        char key[32], val[32];
        int klen = snprintf(key, sizeof key, "account:%d", i);
        int vlen = snprintf(val, sizeof val, "balance=%d", 100 * (i + 1));
        rs_store_batch_put(batch, (const uint8_t *)key, (size_t)klen, (const uint8_t *)val, (size_t)vlen);
    }
    /* returns once the batch is durable: by default, after a group fsync */
    rc = rs_store_write(db, batch, err);
    rs_store_batch_destroy(batch);
    return rc;
}

static int print_pair(void *arg, const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len)
{
    (void)arg;
    printf("  %.*s = %.*s\n", (int)key_len, (const char *)key, (int)val_len, (const char *)val);
    return 0; /* non-zero would stop the scan */
}

/* Scans every account at one sequence number, whatever is written meanwhile. */
static rs_code scan_accounts(rs_store *db, rs_err *err)
{
    rs_store_view *view = NULL;
    rs_code rc = rs_store_view_open(db, &view, err);
    if (rc != RS_OK)
        return rc;
    rs_store_range range = {.prefix = (const uint8_t *)"account:", .prefix_len = 8};
    printf("accounts as of sequence %" PRIu64 ":\n", rs_store_view_seq(view));
    rc = rs_store_scan(db, view, &range, print_pair, NULL, err);
    rs_store_view_close(view);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: embed_store DIR\n");
        return 2;
    }
    rs_store_config cfg = {.create_if_missing = 1}; /* zero fields: the tuned defaults */
    rs_err err = RS_ERR_INIT;
    rs_store *db = NULL;
    if (rs_store_open(argv[1], &cfg, &db, &err) != RS_OK)
        return fail(argv[1], &err);

    int status = 0;
    rs_store_value val = {0};
    rs_store_stats st;
    if (write_accounts(db, &err) != RS_OK)
        status = fail("write", &err);
    else if (rs_store_get(db, NULL, (const uint8_t *)"account:2", 9, &val, &err) != RS_OK)
        status = fail("get account:2", &err);
    if (status == 0) {
        printf("account:2 holds %.*s\n", (int)val.len, (const char *)val.data);
        rs_store_value_release(&val);
        if (scan_accounts(db, &err) != RS_OK)
            status = fail("scan", &err);
    }
    if (status == 0 && rs_store_stats_get(db, &st, &err) == RS_OK)
        printf("latest_seq=%" PRIu64 " estimated_keys=%" PRIu64 " wal_syncs=%" PRIu64 "\n", st.latest_seq,
               st.estimated_keys, st.wal_syncs);
    rs_store_close(db);
    return status;
}
