/*
 * A versioned history with everything a conversion must carry: keys
 * written before the first version (plain writes), commits with puts and
 * deletes (the chain of version_blocks.h), a rollback and the versions
 * committed again, and two prune rounds under keep-recent 12 and
 * keep-every 10. fixtures/layout1.tar.gz is a database this built with
 * rockstream's layout 1 (`rs_version_helper chain DIR`, built at commit
 * 3eb0287, the last one with layout 1); test_versioned_migrate.c builds it
 * again with the current layout and compares the two, version by version.
 */
#ifndef RS_TEST_VERSION_CHAIN_H
#define RS_TEST_VERSION_CHAIN_H

#include "version_blocks.h"

#define CHAIN_PLAIN_KEYS 10
#define CHAIN_LATEST 75

/* The pruning policy the chain prunes with: only when asked. */
static const rs_store_prune_policy CHAIN_POLICY = {RS_STORE_PRUNE_CUSTOM, 12, 10, 1u << 30};

static inline int chain_fail(const char *what, const rs_err *err)
{
    fprintf(stderr, "version chain: %s: %s\n", what, err->msg);
    return -1;
}

static inline int chain_commit(rs_store *s, rs_store_batch *b, uint64_t first, uint64_t last)
{
    rs_err err = RS_ERR_INIT;
    for (uint64_t v = first; v <= last; v++) {
        block_build(v, b);
        if (rs_store_commit(s, v, b, &err) != RS_OK)
            return chain_fail("commit", &err);
    }
    return 0;
}

/* Steps on an open store (given CHAIN_POLICY): 0 or -1 (said on stderr). */
static inline int chain_steps(rs_store *s)
{
    rs_err err = RS_ERR_INIT;
    char key[16], val[16];
    for (unsigned i = 0; i < CHAIN_PLAIN_KEYS; i++) {
        int kl = snprintf(key, sizeof key, "plain/%02u", i);
        int vl = snprintf(val, sizeof val, "p%u", i);
        if (rs_store_put(s, (const uint8_t *)key, (size_t)kl, (const uint8_t *)val, (size_t)vl, &err) != RS_OK)
            return chain_fail("plain put", &err);
    }
    rs_store_batch *b = NULL;
    if (rs_store_batch_create(&b, &err) != RS_OK)
        return chain_fail("batch", &err);
    int rc = chain_commit(s, b, 1, 40);
    if (rc == 0 && rs_store_rollback(s, 35, &err) != RS_OK)
        rc = chain_fail("rollback", &err);
    if (rc == 0)
        rc = chain_commit(s, b, 36, 50);
    if (rc == 0 && rs_store_prune(s, NULL, &err) != RS_OK)
        rc = chain_fail("prune", &err);
    if (rc == 0)
        rc = chain_commit(s, b, 51, 70);
    if (rc == 0 && rs_store_prune(s, NULL, &err) != RS_OK)
        rc = chain_fail("prune", &err);
    if (rc == 0)
        rc = chain_commit(s, b, 71, CHAIN_LATEST);
    rs_store_batch_destroy(b);
    return rc;
}

static inline rs_store_config chain_config(int create)
{
    rs_store_config cfg = {.create_if_missing = create, .sync = RS_STORE_SYNC_NONE, .prune = CHAIN_POLICY,
                           .write_buffer_bytes = 1 << 20};
    return cfg;
}

#endif
