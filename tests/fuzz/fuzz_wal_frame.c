/*
 * libFuzzer target for the WAL frame decoder and the write-batch reader
 * behind it: any bytes must be refused with an error or decoded within
 * bounds, never read past the input or allocate from an unchecked length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wal/wal.h"

/* One in-memory store for the whole run: a batch's versioned-state mark is
 * read against its rs_meta family. Reachable from here, so not a leak. */
static rs_store *store;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (store == NULL) {
        rs_store_config cfg = {.create_if_missing = 1, .in_memory = 1};
        rs_err oe = RS_ERR_INIT;
        if (rs_store_open("/fuzz-wal-frame", &cfg, &store, &oe) != RS_OK) {
            fprintf(stderr, "fuzz_wal_frame: open: %s\n", oe.msg);
            abort();
        }
    }
    rs_wal_frame f;
    size_t used = 0;
    rs_err err = RS_ERR_INIT;
    if (rs_wal_frame_decode(data, size, &f, &used, &err) == RS_OK) {
        if (used > size || f.payload_len > RS_WAL_FRAME_MAX_PAYLOAD)
            __builtin_trap();
        if (f.type == RS_WAL_FRAME_BATCH) {
            rs_wal_frame g;
            rs_err e2 = RS_ERR_INIT;
            if (rs_wal_frame_from_batch(store, f.first_seq, f.payload, f.payload_len, &g, &e2) == RS_OK &&
                (g.flags & ~RS_WAL_FRAME_FLAG_VERSION_KIND) != 0)
                __builtin_trap();
        }
    }
    /* the batch reader on the raw bytes too */
    rs_store_batch_info info;
    rs_err e3 = RS_ERR_INIT;
    if (rs_store_batch_inspect(NULL, data, size, &info, &e3) == RS_OK && info.has_chain &&
        info.chain_offset + 1 + 32 > size)
        __builtin_trap();
    return 0;
}
