/*
 * libFuzzer target for rs_store_batch_version, which reads raw WriteBatch
 * bytes as they come from the WAL (and, on a follower or a restore, from
 * the network or an archive): it must never read past the bytes given, and
 * what it accepts must be a well-formed versions record.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

/* CHECK() must hold in every build the fuzzer runs */
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            abort();                                                         \
    } while (0)

/* One in-memory store for the whole run: the parser needs its rs_meta
 * family's id. Reachable from here, so not a leak. */
static rs_store *store;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    rs_err err = RS_ERR_INIT;
    if (store == NULL) {
        rs_store_config cfg = {.create_if_missing = 1, .in_memory = 1};
        if (rs_store_open("/fuzz-batch-version", &cfg, &store, &err) != RS_OK) {
            fprintf(stderr, "fuzz_batch_version: open: %s\n", err.msg);
            abort();
        }
    }
    /* a copy of exactly len bytes, so ASan sees any read past them */
    uint8_t *copy = malloc(len == 0 ? 1 : len);
    CHECK(copy != NULL);
    for (size_t i = 0; i < len; i++)
        copy[i] = data[i];
    rs_store_version_mark m;
    rs_code rc = rs_store_batch_version(store, copy, len, &m, &err);
    CHECK(rc == RS_OK || rc == RS_E_NOTFOUND || rc == RS_E_CORRUPT);
    if (rc == RS_OK)
        CHECK(m.kind >= RS_STORE_VERSION_COMMIT && m.kind <= RS_STORE_VERSION_PRUNE && m.earliest <= m.latest);
    if (rc == RS_E_CORRUPT)
        CHECK(err.msg[0] != '\0');
    free(copy);
    return 0;
}
