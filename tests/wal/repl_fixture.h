/*
 * The replication tests' fixture (repl_fixture.c): a primary store with its
 * shipper on 127.0.0.1, followers in their own directories, and the checks
 * the replication tests share. Every helper fails the test on error.
 */
#ifndef RS_TEST_REPL_FIXTURE_H
#define RS_TEST_REPL_FIXTURE_H

#include <stdio.h>

#include "wal/wal.h"
#include "wal/wal_int.h"
#include "testlib/testlib.h"
#include "testlib/teststore.h"

#define WAIT_MS 20000

struct fx {
    char           *dir, *pdb, *fdb;
    rs_store       *store;   /* the primary's */
    rs_wal_primary *primary;
    rs_wal_key      key;
    char            addr[64];
    char           *log_buf; /* what rockstream logged during the test */
    size_t          log_len;
    FILE           *log;
};

/* cmocka setup and teardown: a primary with an empty database, serving. */
int setup(void **state);
int teardown(void **state);

/* Opens (creating) a store the way the tests do: no fsync, 1 MiB memtables. */
rs_store *open_store(const char *path);
/* Starts f->primary on f->store (a free port, in f->addr). */
void start_primary(struct fx *f, int require_encryption);
void start_primary_rate(struct fx *f, int require_encryption, uint64_t resync_rate);
/* ... with this send deadline (the others: 500 ms). */
void start_primary_deadline(struct fx *f, uint32_t send_deadline_ms);

/* Puts "key-<i>" = "value-<i>-<7i>" for i in [from, from + n). */
void write_keys(rs_store *s, int from, int n);

/* rs_test_drop_archived_wal on the primary's database. */
void drop_archived_wal(struct fx *f);

/* A follower of f->addr in f->fdb, named "test-follower". */
rs_wal_follower *start_follower(struct fx *f, const rs_wal_key *key, int encrypt);
rs_wal_follower *start_follower_opts(struct fx *f, const rs_wal_key *key, int encrypt, int allow_discard);

/* Waits until the follower applied the primary's latest sequence. */
void caught_up(rs_wal_follower *fo, rs_store *primary);
/* A digest of every key and value, in order. */
void digest(rs_store *s, uint8_t out[32]);
/* Same keys, values, latest sequence and chain on both sides. */
void same_content(rs_wal_follower *fo, rs_store *primary);
/* rs_test_poll conditions and waits on a follower. */
int resynced(void *arg);
rs_wal_follower_state wait_stopped(rs_wal_follower *fo, rs_wal_follower_status *st);

/* Whether the log holds words now; within 5 s (the primary logs from its
 * own threads). */
int log_has(struct fx *f, const char *words);
int log_says(struct fx *f, const char *words);

/* A hand-driven follower, for what a real one never does: connects,
 * authenticates and asks to stream from the primary's latest. */
wal_conn *raw_follower(struct fx *f);

#endif
