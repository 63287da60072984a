/*
 * Store helpers shared by the store tests: open a database or fail the
 * test, write and check string keys, through the latest state or a view.
 */
#ifndef RS_TESTSTORE_H
#define RS_TESTSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define B(s) ((const uint8_t *)(s))

/* A test's database: a temporary directory and a store open in it. */
struct rs_test_db {
    int             in_memory; /* the memory backend instead of the disk */
    char           *dir;       /* removed by rs_test_db_close */
    char           *db;        /* dir/db */
    rs_store_config cfg;       /* what it is opened with */
    rs_store       *store;     /* open, or NULL */
};

/* Makes a directory named after tag and the path of a database in it;
 * opens nothing (store is NULL). Fails the test if it cannot. */
struct rs_test_db *rs_test_db_make(const char *tag, int in_memory);

/* rs_test_db_make, then creates the database with cfg (NULL: defaults). */
struct rs_test_db *rs_test_db_open(const char *tag, int in_memory, const rs_store_config *cfg);

/* Closes the store if it is open and opens it again with d->cfg. */
void rs_test_db_reopen(struct rs_test_db *d);

/* Closes the store, removes the directory, frees d. NULL allowed. */
void rs_test_db_close(struct rs_test_db *d);

/* The WAL retention budget at work, by hand: after a flush, waits until
 * RocksDB has moved the WAL files the flush made obsolete into db_dir's
 * archive/ (it does so after the flush returns, on its own time), then
 * deletes the archive. */
void rs_test_drop_archived_wal(const char *db_dir);

/* Opens path with cfg or fails the test with the store's message. */
rs_store *rs_test_store_open(const char *path, const rs_store_config *cfg);

/* Puts a string key and value or fails the test. */
void rs_test_put(rs_store *s, const char *key, const char *val);

/* Asserts that key reads as want (through view when not NULL). */
void rs_test_expect_value(rs_store *s, const rs_store_view *view, const char *key, const char *want);

/* Asserts that key is absent and that absence left err untouched. */
void rs_test_expect_missing(rs_store *s, const rs_store_view *view, const char *key);

/* Reads n keys (at most 16) in one rs_store_multi_get, through view when
 * not NULL, and asserts each: want[i] is its value, or NULL for absent. */
void rs_test_expect_multi(rs_store *s, const rs_store_view *view, size_t n, const char *const *keys,
                          const char *const *want);

/* Sequence numbers a batch of k operations takes in s as it is now: k,
 * and one more for the chain record while s is chained (docs/format.md,
 * "Write batches"). Not for the first write after chaining is turned off
 * (it restarts the chain: k + 1). Tests that map a sequence to the key
 * written there use it, and check it against the store first. */
uint64_t rs_test_batch_seqs(rs_store *s, uint64_t k);

/* What one rs_store_put takes: rs_test_batch_seqs(s, 1). */
uint64_t rs_test_seqs_per_put(rs_store *s);

/* A copy of one batch read back from a store's WAL. */
struct rs_test_batch {
    uint64_t seq;
    uint8_t *rep;
    size_t   len;
};

/* Reads the batches committed from sequence from on, up to max of them,
 * into out (copies: free them with rs_test_batches_free); returns how many. */
size_t rs_test_batches_read(rs_store *s, uint64_t from, struct rs_test_batch *out, size_t max);
void rs_test_batches_free(struct rs_test_batch *b, size_t n);

/* A follower's database: a checkpoint of primary at path (*seq gets its
 * sequence), opened with cfg (NULL: defaults) and made a replica. */
rs_store *rs_test_follower_open(rs_store *primary, const char *path, const rs_store_config *cfg, uint64_t *seq);

/* Writes "key-<i>" = "value-<i>" (the helper's `write` naming) for i in
 * [first, last) with one put each. */
void rs_test_put_numbered(rs_store *s, unsigned long first, unsigned long last);

/* Asserts that "key-<i>" holds "value-<i>" for every i in [first, last). */
void rs_test_expect_numbered(rs_store *s, const rs_store_view *view, unsigned long first, unsigned long last);

#endif
