/*
 * The deterministic chain the crash test and its helper share: block v
 * writes some of ACCOUNTS accounts and deletes a few, all chosen from v
 * alone, so the test can rebuild the state of any version.
 */
#ifndef RS_TEST_VERSION_BLOCKS_H
#define RS_TEST_VERSION_BLOCKS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/workload.h"
#include "store/store.h"

#define ACCOUNTS 200
#define BLOCK_WRITES 60
#define BLOCK_DELETES 6
#define VALUE_BYTES 120

/* What block v does to account a: 1 put, -1 delete, 0 nothing (a later
 * write of the same account in the block wins, as in a batch). */
static inline int block_touches(uint64_t v, unsigned a)
{
    int what = 0;
    for (unsigned i = 0; i < BLOCK_WRITES + BLOCK_DELETES; i++)
        if (rs_workload_mix(v * 1000 + i) % ACCOUNTS == a)
            what = i < BLOCK_WRITES ? 1 : -1;
    return what;
}

static inline int account_key(unsigned a, char *out) { return snprintf(out, 16, "acct%03u", a); }

/* The value block v gives account a: its version and the account, padded. */
static inline void account_value(uint64_t v, unsigned a, uint8_t out[VALUE_BYTES])
{
    memset(out, '.', VALUE_BYTES);
    int n = snprintf((char *)out, VALUE_BYTES, "v%" PRIu64 "-a%u", v, a);
    out[n] = '.';
}

static inline void block_build(uint64_t v, rs_store_batch *b)
{
    char key[16];
    uint8_t val[VALUE_BYTES];
    rs_store_batch_clear(b);
    for (unsigned i = 0; i < BLOCK_WRITES + BLOCK_DELETES; i++) {
        unsigned a = (unsigned)(rs_workload_mix(v * 1000 + i) % ACCOUNTS);
        int kl = account_key(a, key);
        if (i < BLOCK_WRITES) {
            account_value(v, a, val);
            rs_store_batch_put(b, (const uint8_t *)key, (size_t)kl, val, sizeof val);
        } else {
            rs_store_batch_delete(b, (const uint8_t *)key, (size_t)kl);
        }
    }
}

#endif
