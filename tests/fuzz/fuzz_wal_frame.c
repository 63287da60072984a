/*
 * libFuzzer target for the WAL frame decoder and the write-batch reader
 * behind it: any bytes must be refused with an error or decoded within
 * bounds, never read past the input or allocate from an unchecked length.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wal/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rs_wal_frame f;
    size_t used = 0;
    rs_err err = RS_ERR_INIT;
    if (rs_wal_frame_decode(data, size, &f, &used, &err) == RS_OK) {
        if (used > size || f.payload_len > RS_WAL_FRAME_MAX_PAYLOAD)
            __builtin_trap();
        if (f.type == RS_WAL_FRAME_BATCH) {
            rs_wal_frame g;
            rs_err e2 = RS_ERR_INIT;
            rs_wal_frame_from_batch(f.first_seq, f.payload, f.payload_len, &g, &e2);
        }
    }
    /* the batch reader on the raw bytes too */
    rs_store_batch_info info;
    rs_err e3 = RS_ERR_INIT;
    if (rs_store_batch_inspect(data, size, &info, &e3) == RS_OK && info.has_chain &&
        info.chain_offset + 1 + 32 > size)
        __builtin_trap();
    return 0;
}
