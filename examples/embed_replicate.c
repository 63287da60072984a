/*
 * embed_replicate: an application that keeps a warm standby of its
 * database. It opens its database as a primary, serves followers on a
 * local port, and (to be self-contained) runs one follower in the same
 * process, in another directory; in production the follower is another
 * machine running `rockstream follow` or this same code. It writes, waits
 * until the follower has applied every write, and compares the two
 * databases' content digests.
 *
 *   embed_replicate DIR     (DIR/primary, DIR/standby, DIR/repl.key)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "example.h"
#include "store/store.h"
#include "wal/wal.h"

#define WAIT_MS 30000

static int fail(const char *what, const rs_err *err) { return example_fail("embed_replicate", what, err); }

static void path_in(const char *dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

/* The pre-shared key both sides prove they hold: made once, mode 0600. */
static rs_code load_key(const char *dir, rs_wal_key *key, rs_err *err)
{
    char path[4096];
    path_in(dir, "repl.key", path, sizeof path);
    rs_code rc = rs_wal_key_create_file(path, err);
    if (rc == RS_E_EXISTS) {
        rs_err_clear(err);
        rc = RS_OK;
    }
    return rc == RS_OK ? rs_wal_key_read(path, key, err) : rc;
}

static rs_code write_orders(rs_store *db, int n, rs_err *err)
{
    for (int i = 0; i < n; i++) {
        char key[32], val[32];
        int klen = snprintf(key, sizeof key, "order:%06d", i);
        int vlen = snprintf(val, sizeof val, "qty=%d", i % 7 + 1);
        rs_code rc = rs_store_put(db, (const uint8_t *)key, (size_t)klen, (const uint8_t *)val, (size_t)vlen, err);
        if (rc != RS_OK)
            return rc;
    }
    return RS_OK;
}

/* Waits for the standby to apply everything the primary wrote, then
 * compares what both hold. */
static int check_standby(rs_store *primary, rs_wal_follower *standby)
{
    uint64_t want = rs_store_latest_seq(primary);
    uint64_t got = rs_wal_follower_wait_applied(standby, want, WAIT_MS);
    rs_wal_follower_status st;
    rs_wal_follower_status_get(standby, &st);
    if (got < want) {
        fprintf(stderr, "embed_replicate: the standby applied %" PRIu64 " of %" PRIu64 ": %s\n", got, want,
                st.last_error.msg);
        return 1;
    }
    uint8_t dp[RS_STORE_DIGEST_BYTES], ds[RS_STORE_DIGEST_BYTES];
    rs_err err = RS_ERR_INIT;
    rs_store *copy = rs_wal_follower_store_acquire(standby);
    rs_code rc = copy == NULL ? RS_E_UNSUPPORTED : rs_store_digest(copy, NULL, ds, NULL, &err);
    rs_wal_follower_store_release(standby);
    if (rc == RS_OK)
        rc = rs_store_digest(primary, NULL, dp, NULL, &err);
    if (rc != RS_OK)
        return fail("digest", &err);
    printf("standby applied sequence %" PRIu64 " (%" PRIu64 " checkpoint installed)\n", got, st.n_resyncs);
    printf("content digests %s\n", memcmp(dp, ds, sizeof dp) == 0 ? "equal" : "DIFFER");
    return memcmp(dp, ds, sizeof dp) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: embed_replicate DIR\n");
        return 2;
    }
    if (mkdir(argv[1], 0700) != 0 && errno != EEXIST) {
        perror(argv[1]);
        return 1;
    }
    char primary_path[4096], standby_path[4096], addr[64];
    path_in(argv[1], "primary", primary_path, sizeof primary_path);
    path_in(argv[1], "standby", standby_path, sizeof standby_path);
    rs_err err = RS_ERR_INIT;
    rs_wal_key key;
    if (load_key(argv[1], &key, &err) != RS_OK)
        return fail("key", &err);

    rs_store_config cfg = {.create_if_missing = 1};
    rs_store *db = NULL;
    if (rs_store_open(primary_path, &cfg, &db, &err) != RS_OK)
        return fail(primary_path, &err);
    /* serve followers: port 0 picks a free one */
    rs_wal_primary_config pc = {.listen_addr = "127.0.0.1:0", .key = key};
    rs_wal_primary *primary = NULL;
    if (rs_wal_primary_start(db, &pc, &primary, &err) != RS_OK) {
        rs_store_close(db);
        return fail("serve followers", &err);
    }
    snprintf(addr, sizeof addr, "127.0.0.1:%u", rs_wal_primary_port(primary));
    printf("primary %s serves followers on %s\n", primary_path, addr);

    /* the standby: an empty directory is bootstrapped from a checkpoint */
    rs_wal_follower_config fc = {.db_path = standby_path, .primary_addr = addr, .key = key, .name = "standby"};
    rs_wal_follower *standby = NULL;
    int status = 0;
    if (rs_wal_follower_start(&fc, &standby, &err) != RS_OK)
        status = fail("follow", &err);
    else if (write_orders(db, 1000, &err) != RS_OK)
        status = fail("write", &err);
    else
        status = check_standby(db, standby);
    rs_wal_follower_stop(standby);
    rs_wal_primary_stop(primary);
    rs_store_close(db);
    return status;
}
