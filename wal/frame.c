/*
 * The frame codec: a fixed 80-byte little-endian header and a payload, one
 * format on the wire and in archived segments (docs/format.md). The decoder
 * bounds the payload length before anyone allocates and names what failed:
 * magic, version, type, length or checksum. No I/O here.
 */
#include <string.h>
/* header-only xxhash: the streaming state is a plain struct, with no ABI
 * tie to the shared library's version */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/endian.h"
#include "wal/wal.h"

/* Header field offsets: wire format, see the warning in wal.h. */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_TYPE = 5,
    OFF_FLAGS = 6,
    OFF_LEN = 8,
    OFF_COUNT = 12,
    OFF_SEQ = 16,
    OFF_TIME = 24,
    OFF_CHAIN = 32,
    OFF_STATE_VERSION = 64,
    OFF_CHECKSUM = 72,
};

/* XXH3-64 over the header up to the checksum field, then the payload. */
static uint64_t checksum(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, hdr, OFF_CHECKSUM);
    if (len > 0)
        XXH3_64bits_update(&st, payload, len);
    return XXH3_64bits_digest(&st);
}

void rs_wal_frame_encode_header(const rs_wal_frame *f, uint8_t out[RS_WAL_FRAME_HEADER_BYTES])
{
    rs_le32_put(out + OFF_MAGIC, RS_WAL_FRAME_MAGIC);
    out[OFF_VERSION] = RS_WAL_FRAME_VERSION;
    out[OFF_TYPE] = f->type;
    rs_le16_put(out + OFF_FLAGS, f->flags);
    rs_le32_put(out + OFF_LEN, f->payload_len);
    rs_le32_put(out + OFF_COUNT, f->count);
    rs_le64_put(out + OFF_SEQ, f->first_seq);
    rs_le64_put(out + OFF_TIME, f->commit_time_ns);
    memcpy(out + OFF_CHAIN, f->chain, RS_WAL_CHAIN_BYTES);
    rs_le64_put(out + OFF_STATE_VERSION, f->state_version);
    rs_le64_put(out + OFF_CHECKSUM, checksum(out, f->payload, f->payload_len));
}

rs_code rs_wal_frame_decode_header(const uint8_t *hdr, size_t len, rs_wal_frame *f, rs_err *err)
{
    if (len < RS_WAL_FRAME_HEADER_BYTES)
        return rs_err_set(err, RS_E_CORRUPT, "frame header of %zu bytes, expected %d", len,
                          RS_WAL_FRAME_HEADER_BYTES);
    uint32_t magic = rs_le32_get(hdr + OFF_MAGIC);
    if (magic != RS_WAL_FRAME_MAGIC)
        return rs_err_set(err, RS_E_CORRUPT, "frame: bad magic 0x%08x, expected 0x%08x", magic,
                          RS_WAL_FRAME_MAGIC);
    memset(f, 0, sizeof *f);
    f->version = hdr[OFF_VERSION];
    if (f->version != RS_WAL_FRAME_VERSION)
        return rs_err_set(err, RS_E_VERSION, "frame: format version %u is not supported (this build reads %d)",
                          f->version, RS_WAL_FRAME_VERSION);
    f->type = hdr[OFF_TYPE];
    if (f->type == 0 || f->type >= RS_WAL_FRAME__COUNT)
        return rs_err_set(err, RS_E_CORRUPT, "frame: unknown type %u", f->type);
    f->flags = rs_le16_get(hdr + OFF_FLAGS);
    f->payload_len = rs_le32_get(hdr + OFF_LEN);
    f->count = rs_le32_get(hdr + OFF_COUNT);
    f->first_seq = rs_le64_get(hdr + OFF_SEQ);
    if (f->payload_len > RS_WAL_FRAME_MAX_PAYLOAD)
        return rs_err_set(err, RS_E_CORRUPT, "frame at seq %llu: payload length %u exceeds limit %u",
                          (unsigned long long)f->first_seq, f->payload_len, RS_WAL_FRAME_MAX_PAYLOAD);
    f->commit_time_ns = rs_le64_get(hdr + OFF_TIME);
    memcpy(f->chain, hdr + OFF_CHAIN, RS_WAL_CHAIN_BYTES);
    f->state_version = rs_le64_get(hdr + OFF_STATE_VERSION);
    /* reserved bits, or a version kind outside a batch, are a writer this
     * build does not know: refused rather than half understood */
    uint16_t allowed = f->type == RS_WAL_FRAME_BATCH ? RS_WAL_FRAME_FLAG_VERSION_KIND : 0;
    if ((f->flags & ~allowed) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "frame at seq %llu: unknown flags 0x%04x for type %u",
                          (unsigned long long)f->first_seq, f->flags, f->type);
    return RS_OK;
}

rs_code rs_wal_frame_check(const uint8_t hdr[RS_WAL_FRAME_HEADER_BYTES], rs_wal_frame *f, const uint8_t *payload,
                           rs_err *err)
{
    uint64_t want = rs_le64_get(hdr + OFF_CHECKSUM);
    uint64_t got = checksum(hdr, payload, f->payload_len);
    if (want != got)
        return rs_err_set(err, RS_E_CORRUPT, "frame at seq %llu: checksum mismatch (header says %016llx, content %016llx)",
                          (unsigned long long)f->first_seq, (unsigned long long)want, (unsigned long long)got);
    f->payload = payload;
    return RS_OK;
}

rs_code rs_wal_frame_decode(const uint8_t *buf, size_t len, rs_wal_frame *f, size_t *used, rs_err *err)
{
    rs_code rc = rs_wal_frame_decode_header(buf, len, f, err);
    if (rc != RS_OK)
        return rc;
    if (len - RS_WAL_FRAME_HEADER_BYTES < f->payload_len)
        return rs_err_set(err, RS_E_CORRUPT, "frame at seq %llu: payload of %u bytes truncated to %zu",
                          (unsigned long long)f->first_seq, f->payload_len, len - RS_WAL_FRAME_HEADER_BYTES);
    rc = rs_wal_frame_check(buf, f, buf + RS_WAL_FRAME_HEADER_BYTES, err);
    if (rc == RS_OK)
        *used = RS_WAL_FRAME_HEADER_BYTES + f->payload_len;
    return rc;
}

rs_code rs_wal_frame_from_batch(rs_store *store, uint64_t first_seq, const uint8_t *rep, size_t len,
                                rs_wal_frame *f, rs_err *err)
{
    if (len > RS_WAL_FRAME_MAX_PAYLOAD)
        return rs_err_set(err, RS_E_UNSUPPORTED, "batch at seq %llu has %zu bytes, over the frame limit of %u",
                          (unsigned long long)first_seq, len, RS_WAL_FRAME_MAX_PAYLOAD);
    rs_store_batch_info info;
    rs_code rc = rs_store_batch_inspect(store, rep, len, &info, err);
    if (rc != RS_OK)
        return rc;
    rs_store_version_mark mark = {0};
    rc = rs_store_batch_version(store, rep, len, &mark, err);
    if (rc != RS_OK && rc != RS_E_NOTFOUND)
        return rc;
    memset(f, 0, sizeof *f);
    if (rc == RS_OK) {
        f->flags = (uint16_t)mark.kind & RS_WAL_FRAME_FLAG_VERSION_KIND;
        f->state_version = mark.latest;
    }
    f->type = RS_WAL_FRAME_BATCH;
    f->version = RS_WAL_FRAME_VERSION;
    f->first_seq = first_seq;
    f->count = info.count;
    f->commit_time_ns = info.commit_time_ns;
    if (info.has_chain)
        memcpy(f->chain, info.chain, RS_WAL_CHAIN_BYTES);
    f->payload = rep;
    f->payload_len = (uint32_t)len;
    return RS_OK;
}
