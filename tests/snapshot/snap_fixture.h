/*
 * Shared by the snapshot tests: archives in memory (a growing buffer as
 * sink and source), keys made on the spot, small databases, and checks
 * that a failed unseal left nothing behind.
 */
#ifndef RS_TEST_SNAP_FIXTURE_H
#define RS_TEST_SNAP_FIXTURE_H

#include "snapshot/snapshot.h"
#include "testlib/testlib.h"

struct membuf {
    uint8_t *p;
    size_t   len, cap, pos;
    size_t   max_read; /* 0: any; else the source hands out at most this per call */
};

rs_snapshot_sink membuf_sink(struct membuf *b);
rs_snapshot_source membuf_source(struct membuf *b);
void membuf_free(struct membuf *b);

/* What most snapshot tests start from: a temporary directory with a key
 * (k.key) in it, the paths of a database and of a restore target, and
 * optional parts a test fills (closed by snap_env_teardown). */
struct snap_env {
    char *dir, *db, *to;
    rs_snapshot_key *key;
    rs_store *store;
    struct membuf arch;
    rs_snapshot_manifest *m;
};

/* cmocka setup and teardown for a struct snap_env in *state. */
int snap_env_setup(void **state);
int snap_env_teardown(void **state);

/* A fresh secret key (keygen into dir, then load). */
rs_snapshot_key *snap_secret_key(const char *dir, const char *name);
/* A passphrase key with the cheapest Argon2id parameters (tests only). */
rs_snapshot_key *snap_passphrase_key(const char *pass);

/* Opens (creating) the database at path and writes n keys "k<i>" with
 * values of value_len bytes (compressible text). */
rs_store *snap_make_db(const char *path, uint64_t n, size_t value_len);

/* Takes and seals a snapshot of store into out; fails the test on error. */
rs_snapshot_manifest *snap_seal(rs_store *store, const rs_snapshot_key *key, rs_snapshot_compress compress,
                                struct membuf *out);

/* Unseals buf (from its start) into to. */
rs_code snap_unseal(struct membuf *buf, const rs_snapshot_key *key, const char *to,
                    const rs_snapshot_manifest *expect, rs_err *err);

/* Number of entries in dir besides "." and "..". */
int snap_dir_entries(const char *dir);

#endif
