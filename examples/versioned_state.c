/*
 * versioned_state: a blockchain VM's state store, in miniature.
 *
 *   versioned_state DIR
 *
 * Opens (or creates) the database in DIR, commits 100 blocks after the
 * latest one (each moves a balance between two of 20 accounts and records
 * the block's height), reads an account at an old height, rolls back the
 * last 10 blocks as a chain reorganisation would, and prints each step.
 * The database stays in DIR: `rockstream versions --db DIR` shows it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "example.h"
#include "store/store.h"

#define N_BLOCKS 100
#define N_ACCOUNTS 20
#define REORG_DEPTH 10

static int fail(const char *what, const rs_err *err) { return example_fail("versioned_state", what, err); }

static void account_key(unsigned i, char *out, size_t cap) { snprintf(out, cap, "account/%02u", i); }

/* Block h: account h % 20 gets balance h * 10, account (h + 7) % 20 is
 * closed every 5th block, and "meta/height" says h. */
static void build_block(rs_store_batch *b, uint64_t h)
{
    char key[32], val[32];
    rs_store_batch_clear(b);
    account_key((unsigned)(h % N_ACCOUNTS), key, sizeof key);
    int n = snprintf(val, sizeof val, "%" PRIu64, h * 10);
    rs_store_batch_put(b, (const uint8_t *)key, strlen(key), (const uint8_t *)val, (size_t)n);
    if (h % 5 == 0) {
        account_key((unsigned)((h + 7) % N_ACCOUNTS), key, sizeof key);
        rs_store_batch_delete(b, (const uint8_t *)key, strlen(key));
    }
    n = snprintf(val, sizeof val, "%" PRIu64, h);
    rs_store_batch_put(b, (const uint8_t *)"meta/height", 11, (const uint8_t *)val, (size_t)n);
}

static void print_value(const char *label, rs_code rc, const rs_store_value *v)
{
    if (rc == RS_OK)
        printf("%s = %.*s\n", label, (int)v->len, (const char *)v->data);
    else
        printf("%s is absent\n", label);
}

static int read_back(rs_store *s, uint64_t height)
{
    rs_err err = RS_ERR_INIT;
    rs_store_value v = {0};
    char key[32], label[96];
    account_key((unsigned)(height % N_ACCOUNTS), key, sizeof key);
    rs_code rc = rs_store_get_at(s, height, (const uint8_t *)key, strlen(key), &v, &err);
    if (rc != RS_OK && err.code != RS_OK)
        return fail("read at an old height", &err);
    snprintf(label, sizeof label, "read %s at height %" PRIu64, key, height);
    print_value(label, rc, &v);
    rs_store_value_release(&v);
    rc = rs_store_get(s, NULL, (const uint8_t *)key, strlen(key), &v, &err);
    if (rc != RS_OK && err.code != RS_OK)
        return fail("read the latest value", &err);
    snprintf(label, sizeof label, "read %s at the latest height", key);
    print_value(label, rc, &v);
    rs_store_value_release(&v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: versioned_state DIR\n");
        return 2;
    }
    rs_store_config cfg = {.create_if_missing = 1};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    rs_store_batch *b = NULL;
    if (rs_store_open(argv[1], &cfg, &s, &err) != RS_OK)
        return fail("open", &err);
    if (rs_store_batch_create(&b, &err) != RS_OK)
        return fail("batch", &err);
    uint64_t first = rs_store_version_latest(s) + 1, last = first + N_BLOCKS - 1;
    for (uint64_t h = first; h <= last; h++) {
        build_block(b, h);
        if (rs_store_commit(s, h, b, &err) != RS_OK)
            return fail("commit", &err);
    }
    printf("committed blocks %" PRIu64 "..%" PRIu64 "\n", first, last);
    int bad = read_back(s, first + N_BLOCKS / 2);
    if (!bad && rs_store_rollback(s, last - REORG_DEPTH, &err) != RS_OK)
        bad = fail("rollback", &err);
    if (!bad)
        printf("rolled back %d blocks: latest height is now %" PRIu64 "\n", REORG_DEPTH, rs_store_version_latest(s));
    uint64_t earliest = 0, latest = 0;
    if (!bad && rs_store_version_range(s, &earliest, &latest, &err) != RS_OK)
        bad = fail("versions", &err);
    if (!bad)
        printf("readable heights: [%" PRIu64 ", %" PRIu64 "]; inspect with: rockstream versions --db %s\n", earliest,
               latest, argv[1]);
    rs_store_batch_destroy(b);
    rs_store_close(s);
    return bad;
}
