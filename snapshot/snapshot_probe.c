/*
 * The per-file compression decision. Most of a checkpoint is SST files
 * whose blocks RocksDB compressed already (LZ4, zstd): zstd saves about 2%
 * on them at the cost of most of the sealing time. A fast trial compression
 * of a sample from the middle of the file (past the first blocks, before
 * the index and filter at the end) tells the two apart; WAL, MANIFEST,
 * OPTIONS and the uncompressed L0/L1 files compress well and take zstd.
 */
#include <stdlib.h>
#include <unistd.h>
#include <zstd.h>

#include "snapshot/snapshot_int.h"

#define SAMPLE_BYTES   (256u * 1024)
#define SMALL_FILE     (64u * 1024)  /* always compressed: cheap either way */
enum chunk_kind snapshot_probe_compressibility(int fd, uint64_t size, int level, int min_saving_pct)
{
    if (size <= SMALL_FILE)
        return CHUNK_ZSTD;
    size_t n = size < SAMPLE_BYTES ? (size_t)size : SAMPLE_BYTES;
    off_t at = (off_t)((size - n) / 2);
    size_t cap = ZSTD_compressBound(n);
    uint8_t *sample = malloc(n), *out = malloc(cap);
    enum chunk_kind kind = CHUNK_ZSTD; /* if the probe cannot run, compress */
    ssize_t got = sample != NULL && out != NULL ? pread(fd, sample, n, at) : -1;
    if (got > 0) {
        size_t c = ZSTD_compress(out, cap, sample, (size_t)got, level);
        if (!ZSTD_isError(c) && c * 100 > (size_t)got * (size_t)(100 - min_saving_pct))
            kind = CHUNK_RAW;
    }
    free(sample);
    free(out);
    return kind;
}
