/*
 * Reads RocksDB's WriteBatch representation (the bytes a WAL record and a
 * replicated frame carry): a 12-byte header (sequence, count) and tagged
 * records. It finds the records the commit path adds: the commit-time
 * stamp (every batch) and the chain record (chained batches, and chain
 * restarts), and checks that the header's count matches the records.
 * Pure: no database needed, so it is fuzzed.
 */
#include <string.h>

#include "common/endian.h"
#include "store/store_int.h"

/* RocksDB's record tags (db/dbformat.h, ValueType). They are RocksDB's
 * on-disk format: fixed forever. */
enum {
    TAG_DELETION = 0x0,
    TAG_VALUE = 0x1,
    TAG_MERGE = 0x2,
    TAG_LOG_DATA = 0x3,
    TAG_CF_DELETION = 0x4,
    TAG_CF_VALUE = 0x5,
    TAG_CF_MERGE = 0x6,
    TAG_SINGLE_DELETION = 0x7,
    TAG_CF_SINGLE_DELETION = 0x8,
    TAG_NOOP = 0xD,
    TAG_CF_RANGE_DELETION = 0xE,
    TAG_RANGE_DELETION = 0xF,
    TAG_CF_BLOB_INDEX = 0x10,
    TAG_BLOB_INDEX = 0x11,
    TAG_DELETION_WITH_TS = 0x14,
    TAG_WIDE_COLUMN = 0x16,
    TAG_CF_WIDE_COLUMN = 0x17,
};

struct cursor {
    const uint8_t *p;
    size_t         left;
    const uint8_t *base; /* the batch's first byte, for offsets */
    uint32_t       meta_cf; /* the id of the family chain records go to */
};

static int get_varint32(struct cursor *c, uint32_t *out)
{
    uint32_t v = 0;
    for (int shift = 0; shift <= 28; shift += 7) {
        if (c->left == 0)
            return -1;
        uint8_t b = *c->p++;
        c->left--;
        v |= (uint32_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* A length-prefixed slice: varint32 length, then the bytes. */
static int get_slice(struct cursor *c, const uint8_t **data, uint32_t *len)
{
    if (get_varint32(c, len) != 0 || *len > c->left)
        return -1;
    *data = c->p;
    c->p += *len;
    c->left -= *len;
    return 0;
}

/* How a tag is laid out: whether it names a column family, how many
 * slices follow, and whether it consumes a sequence number. */
struct tag_shape {
    int known, has_cf, n_slices, counts;
};

static struct tag_shape shape_of(uint8_t tag)
{
    switch (tag) {
    case TAG_DELETION: case TAG_SINGLE_DELETION: case TAG_DELETION_WITH_TS:
        return (struct tag_shape){1, 0, 1, 1};
    case TAG_VALUE: case TAG_MERGE: case TAG_RANGE_DELETION: case TAG_BLOB_INDEX: case TAG_WIDE_COLUMN:
        return (struct tag_shape){1, 0, 2, 1};
    case TAG_CF_DELETION: case TAG_CF_SINGLE_DELETION:
        return (struct tag_shape){1, 1, 1, 1};
    case TAG_CF_VALUE: case TAG_CF_MERGE: case TAG_CF_RANGE_DELETION: case TAG_CF_BLOB_INDEX:
    case TAG_CF_WIDE_COLUMN:
        return (struct tag_shape){1, 1, 2, 1};
    case TAG_LOG_DATA:
        return (struct tag_shape){1, 0, 1, 0};
    case TAG_NOOP:
        return (struct tag_shape){1, 0, 0, 0};
    default:
        return (struct tag_shape){0, 0, 0, 0};
    }
}

/* One record, whole: its tag, family (0 when the tag names none) and
 * slices (key, then value; a log-data record's blob is its key). The one
 * place store/ reads a record of a WriteBatch. */
static rs_code read_record(struct cursor *c, struct store_batch_rec *rec, int *counts, rs_err *err)
{
    const uint8_t *at = c->p;
    *rec = (struct store_batch_rec){.found = 1, .tag = *c->p++, .offset = (size_t)(at - c->base)};
    c->left--;
    struct tag_shape sh = shape_of(rec->tag);
    if (!sh.known)
        return rs_err_set(err, RS_E_CORRUPT, "write batch: record type 0x%02x at offset %zu is not supported",
                          rec->tag, rec->offset);
    if ((sh.has_cf && get_varint32(c, &rec->cf) != 0) ||
        (sh.n_slices >= 1 && get_slice(c, &rec->key, &rec->key_len) != 0) ||
        (sh.n_slices >= 2 && get_slice(c, &rec->value, &rec->value_len) != 0))
        return rs_err_set(err, RS_E_CORRUPT, "write batch: record at offset %zu is truncated", rec->offset);
    rec->has_value = sh.n_slices >= 2;
    *counts = sh.counts;
    return RS_OK;
}

static void note_stamp(const struct store_batch_rec *rec, rs_store_batch_info *out)
{
    if (rec->key_len == STORE_STAMP_BYTES && memcmp(rec->key, STORE_STAMP_MAGIC, 4) == 0)
        out->commit_time_ns = rs_le64_get(rec->key + 4);
}

/* The chain record: a put of the chain key into the meta family (its id
 * is the database's: 1 unless the database was adopted with families of its
 * own, docs/format.md). */
static void note_chain(const struct store_batch_rec *rec, uint32_t meta_cf, rs_store_batch_info *out)
{
    if (rec->cf != meta_cf || rec->key_len != sizeof STORE_CHAIN_KEY - 1 ||
        memcmp(rec->key, STORE_CHAIN_KEY, rec->key_len) != 0 || rec->value_len != RS_STORE_CHAIN_BYTES)
        return;
    out->has_chain = 1;
    out->chain_offset = rec->offset;
    memcpy(out->chain, rec->value, RS_STORE_CHAIN_BYTES);
    out->chain_restart = rs_store_chain_is_restart(out->chain);
}

static rs_code parse_record(struct cursor *c, rs_store_batch_info *out, uint32_t *n_counted, rs_err *err)
{
    struct store_batch_rec rec;
    int counts = 0;
    rs_code rc = read_record(c, &rec, &counts, err);
    if (rc != RS_OK)
        return rc;
    *n_counted += (uint32_t)counts;
    if (rec.tag == TAG_LOG_DATA)
        note_stamp(&rec, out);
    /* only the batch's last record can be the chain record */
    else if (rec.tag == TAG_CF_VALUE && c->left == 0)
        note_chain(&rec, c->meta_cf, out);
    return RS_OK;
}

static rs_code check_header(size_t len, rs_err *err)
{
    if (len < STORE_BATCH_HEADER)
        return rs_err_set(err, RS_E_CORRUPT, "write batch of %zu bytes is shorter than its %d-byte header", len,
                          STORE_BATCH_HEADER);
    return RS_OK;
}

rs_code store_batch_first(const uint8_t *rep, size_t len, struct store_batch_rec *out, rs_err *err)
{
    memset(out, 0, sizeof *out);
    rs_code rc = check_header(len, err);
    if (rc != RS_OK || len == STORE_BATCH_HEADER)
        return rc;
    struct cursor c = {rep + STORE_BATCH_HEADER, len - STORE_BATCH_HEADER, rep, 0}; /* the caller judges the family */
    int counts = 0;
    return read_record(&c, out, &counts, err);
}

rs_code rs_store_batch_inspect(const rs_store *store, const uint8_t *rep, size_t len, rs_store_batch_info *out,
                               rs_err *err)
{
    memset(out, 0, sizeof *out);
    rs_code rc = check_header(len, err);
    if (rc != RS_OK)
        return rc;
    out->first_seq = rs_le64_get(rep);
    out->count = rs_le32_get(rep + 8);
    struct cursor c = {rep + STORE_BATCH_HEADER, len - STORE_BATCH_HEADER, rep,
                       store != NULL ? store->meta_cf_id : STORE_META_CF_ID};
    uint32_t n_counted = 0;
    while (c.left > 0 && (rc = parse_record(&c, out, &n_counted, err)) == RS_OK)
        ;
    if (rc != RS_OK)
        return rc;
    if (n_counted != out->count)
        return rs_err_set(err, RS_E_CORRUPT, "write batch at seq %llu: header counts %u records, found %u",
                          (unsigned long long)out->first_seq, out->count, n_counted);
    return RS_OK;
}
