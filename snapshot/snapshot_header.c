/*
 * The sealed-stream header (docs/format.md, "Sealed stream"): what an
 * archive is, how its chunks are sized, which key sealed it, and the
 * archive's data key wrapped for that key. Encoding, decoding with every
 * length and range checked, and recovering the data key with a clear error
 * for each way the key can be wrong.
 */
#include <string.h>

#include "snapshot/snapshot_int.h"

/* Wire constant: the KDF context of the manifest MAC key (8 bytes). */
static const char MANIFEST_KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = {'r', 's', 'm', 'a', 'n', 'i', 'f', '1'};

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Bytes of the mode-specific part after the fixed 28. */
static size_t mode_bytes(uint8_t mode)
{
    switch (mode) {
    case SEAL_MODE_SECRET: return crypto_secretbox_NONCEBYTES + KEY_BYTES + crypto_secretbox_MACBYTES;
    case SEAL_MODE_PASSPHRASE:
        return crypto_pwhash_SALTBYTES + 16 + crypto_secretbox_NONCEBYTES + KEY_BYTES + crypto_secretbox_MACBYTES;
    case SEAL_MODE_PUBLIC: return KEY_BYTES + crypto_box_SEALBYTES;
    default: return 0;
    }
}

static size_t header_bytes(uint8_t mode)
{
    return SEAL_FIXED_LEN + mode_bytes(mode) + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
}

void snapshot_manifest_mac_key(const uint8_t dk[KEY_BYTES], uint8_t mk[KEY_BYTES])
{
    crypto_kdf_derive_from_key(mk, KEY_BYTES, 1, MANIFEST_KDF_CONTEXT, dk);
}

/* ---- sealing -------------------------------------------------------- */

static rs_code passphrase_kek(const rs_snapshot_key *key, const uint8_t *salt, uint64_t ops, uint64_t mem,
                              uint8_t kek[KEY_BYTES], rs_err *err)
{
    if (crypto_pwhash(kek, KEY_BYTES, (const char *)key->secret, key->secret_len, salt, ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return rs_err_set(err, RS_E_NOMEM, "passphrase hashing needs %llu MiB of memory it could not get",
                          (unsigned long long)(mem >> 20));
    return RS_OK;
}

rs_code snapshot_seal_header_create(const rs_snapshot_key *key, uint32_t chunk_bytes, struct seal_header *h,
                                    uint8_t dk[KEY_BYTES], rs_err *err)
{
    memset(h, 0, sizeof *h);
    h->version = RS_SNAPSHOT_STREAM_VERSION;
    h->content = SEAL_CONTENT_SNAPSHOT;
    h->compression = SEAL_COMPRESSION_PER_CHUNK;
    h->chunk_bytes = chunk_bytes;
    crypto_secretstream_xchacha20poly1305_keygen(dk);
    uint8_t kek[KEY_BYTES];
    const uint8_t *wrap_key = key->secret;
    switch (key->kind) {
    case RS_SNAPSHOT_KEY_PUBLIC:
    case RS_SNAPSHOT_KEY_PAIR:
        h->key_mode = SEAL_MODE_PUBLIC;
        memcpy(h->key_id, key->id, sizeof h->key_id);
        crypto_box_seal(h->sealed, dk, KEY_BYTES, key->pub);
        return RS_OK;
    case RS_SNAPSHOT_KEY_PASSPHRASE:
        h->key_mode = SEAL_MODE_PASSPHRASE;
        randombytes_buf(h->salt, sizeof h->salt);
        h->opslimit = key->opslimit;
        h->memlimit = key->memlimit;
        if (passphrase_kek(key, h->salt, h->opslimit, h->memlimit, kek, err) != RS_OK)
            return err != NULL ? err->code : RS_E_NOMEM;
        snapshot_key_id_of(kek, h->key_id);
        wrap_key = kek;
        break;
    case RS_SNAPSHOT_KEY_SECRET:
        h->key_mode = SEAL_MODE_SECRET;
        memcpy(h->key_id, key->id, sizeof h->key_id);
        break;
    }
    randombytes_buf(h->nonce, sizeof h->nonce);
    crypto_secretbox_easy(h->wrapped, dk, KEY_BYTES, h->nonce, wrap_key);
    sodium_memzero(kek, sizeof kek);
    return RS_OK;
}

void snapshot_seal_header_encode(struct seal_header *h)
{
    uint8_t *p = h->raw;
    h->len = header_bytes(h->key_mode);
    memset(p, 0, h->len);
    memcpy(p, SEAL_MAGIC, SEAL_MAGIC_LEN);
    put_le16(p + 8, h->version);
    put_le16(p + 10, (uint16_t)h->len);
    p[12] = h->content;
    p[13] = h->compression;
    p[14] = h->key_mode;
    p[15] = 0;
    put_le32(p + 16, h->chunk_bytes);
    memcpy(p + 20, h->key_id, sizeof h->key_id);
    uint8_t *m = p + SEAL_FIXED_LEN;
    if (h->key_mode == SEAL_MODE_PUBLIC) {
        memcpy(m, h->sealed, sizeof h->sealed);
        m += sizeof h->sealed;
    } else {
        if (h->key_mode == SEAL_MODE_PASSPHRASE) {
            memcpy(m, h->salt, sizeof h->salt);
            put_le64(m + 16, h->opslimit);
            put_le64(m + 24, h->memlimit);
            m += 32;
        }
        memcpy(m, h->nonce, sizeof h->nonce);
        memcpy(m + sizeof h->nonce, h->wrapped, sizeof h->wrapped);
        m += sizeof h->nonce + sizeof h->wrapped;
    }
    memcpy(m, h->stream, sizeof h->stream);
}

/* ---- reading -------------------------------------------------------- */

rs_code snapshot_seal_header_length(const uint8_t *p, size_t *len, rs_err *err)
{
    if (memcmp(p, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "not a rockstream archive (bad magic bytes)");
    uint16_t version = get_le16(p + 8);
    if (version != RS_SNAPSHOT_STREAM_VERSION) {
        rs_err_set(err, RS_E_VERSION, "archive format version %u is not supported by this build (it reads %d)",
                   version, RS_SNAPSHOT_STREAM_VERSION);
        rs_err_hint(err, "use the rockstream release that wrote it, or a newer one");
        return RS_E_VERSION;
    }
    uint16_t n = get_le16(p + 10);
    if (mode_bytes(p[14]) == 0)
        return rs_err_set(err, RS_E_CORRUPT, "archive header: unknown key mode %u", p[14]);
    if (n != header_bytes(p[14]))
        return rs_err_set(err, RS_E_CORRUPT, "archive header: length %u does not match key mode %u (%zu)", n, p[14],
                          header_bytes(p[14]));
    *len = n;
    return RS_OK;
}

static rs_code check_ranges(const struct seal_header *h, rs_err *err)
{
    if (h->content != SEAL_CONTENT_SNAPSHOT)
        return rs_err_set(err, RS_E_UNSUPPORTED, "archive holds content type %u, not a snapshot", h->content);
    if (h->compression != SEAL_COMPRESSION_PER_CHUNK)
        return rs_err_set(err, RS_E_UNSUPPORTED, "archive uses compression scheme %u this build does not know",
                          h->compression);
    if (h->chunk_bytes == 0 || h->chunk_bytes > SEAL_CHUNK_MAX)
        return rs_err_set(err, RS_E_CORRUPT, "archive header: chunk size %u outside 1..%u", h->chunk_bytes,
                          SEAL_CHUNK_MAX);
    if (h->key_mode == SEAL_MODE_PASSPHRASE &&
        (h->opslimit < crypto_pwhash_OPSLIMIT_MIN || h->opslimit > SEAL_PWHASH_OPS_MAX ||
         h->memlimit < crypto_pwhash_MEMLIMIT_MIN || h->memlimit > SEAL_PWHASH_MEM_MAX))
        return rs_err_set(err, RS_E_CORRUPT, "archive header: passphrase hashing asks for %llu passes and %llu "
                          "bytes, outside the limits %u and %llu", (unsigned long long)h->opslimit,
                          (unsigned long long)h->memlimit, SEAL_PWHASH_OPS_MAX,
                          (unsigned long long)SEAL_PWHASH_MEM_MAX);
    return RS_OK;
}

rs_code snapshot_seal_header_decode(const uint8_t *p, size_t len, struct seal_header *h, rs_err *err)
{
    size_t need = 0;
    memset(h, 0, sizeof *h);
    if (len < SEAL_FIXED_LEN)
        return rs_err_set(err, RS_E_CORRUPT, "archive truncated in its header (%zu bytes)", len);
    rs_code rc = snapshot_seal_header_length(p, &need, err);
    if (rc != RS_OK)
        return rc;
    if (len < need)
        return rs_err_set(err, RS_E_CORRUPT, "archive truncated in its header (%zu of %zu bytes)", len, need);
    h->version = get_le16(p + 8);
    h->content = p[12];
    h->compression = p[13];
    h->key_mode = p[14];
    h->chunk_bytes = get_le32(p + 16);
    memcpy(h->key_id, p + 20, sizeof h->key_id);
    const uint8_t *m = p + SEAL_FIXED_LEN;
    if (h->key_mode == SEAL_MODE_PUBLIC) {
        memcpy(h->sealed, m, sizeof h->sealed);
        m += sizeof h->sealed;
    } else {
        if (h->key_mode == SEAL_MODE_PASSPHRASE) {
            memcpy(h->salt, m, sizeof h->salt);
            h->opslimit = get_le64(m + 16);
            h->memlimit = get_le64(m + 24);
            m += 32;
        }
        memcpy(h->nonce, m, sizeof h->nonce);
        memcpy(h->wrapped, m + sizeof h->nonce, sizeof h->wrapped);
        m += sizeof h->nonce + sizeof h->wrapped;
    }
    memcpy(h->stream, m, sizeof h->stream);
    memcpy(h->raw, p, need);
    h->len = need;
    return check_ranges(h, err);
}

/* ---- opening -------------------------------------------------------- */

static const char *mode_name(uint8_t mode)
{
    switch (mode) {
    case SEAL_MODE_SECRET: return "a secret key";
    case SEAL_MODE_PASSPHRASE: return "a passphrase";
    case SEAL_MODE_PUBLIC: return "a public key";
    default: return "an unknown key mode";
    }
}

static rs_code mode_mismatch(const struct seal_header *h, const rs_snapshot_key *key, rs_err *err)
{
    char id[17];
    rs_hex_encode(h->key_id, sizeof h->key_id, id, sizeof id);
    if (key->kind == RS_SNAPSHOT_KEY_PASSPHRASE)
        return rs_err_set(err, RS_E_AUTH, "archive was sealed with %s (key %s), you gave a passphrase",
                          mode_name(h->key_mode), id);
    if (h->key_mode == SEAL_MODE_PASSPHRASE)
        return rs_err_set(err, RS_E_AUTH, "archive was sealed with a passphrase, you gave key %s", key->id_hex);
    return rs_err_set(err, RS_E_AUTH, "archive was sealed with %s (key %s), you gave %s %s", mode_name(h->key_mode),
                      id, key->kind == RS_SNAPSHOT_KEY_SECRET ? "secret key" : "key pair", key->id_hex);
}

static int key_matches_mode(const struct seal_header *h, const rs_snapshot_key *key)
{
    switch (h->key_mode) {
    case SEAL_MODE_SECRET: return key->kind == RS_SNAPSHOT_KEY_SECRET;
    case SEAL_MODE_PASSPHRASE: return key->kind == RS_SNAPSHOT_KEY_PASSPHRASE;
    default: return key->kind == RS_SNAPSHOT_KEY_PUBLIC || key->kind == RS_SNAPSHOT_KEY_PAIR;
    }
}

static rs_code open_passphrase(const struct seal_header *h, const rs_snapshot_key *key, uint8_t dk[KEY_BYTES],
                               rs_err *err)
{
    uint8_t kek[KEY_BYTES], id[RS_SNAPSHOT_KEY_ID_BYTES];
    rs_code rc = passphrase_kek(key, h->salt, h->opslimit, h->memlimit, kek, err);
    if (rc != RS_OK)
        return rc;
    snapshot_key_id_of(kek, id);
    if (sodium_memcmp(id, h->key_id, sizeof id) != 0)
        rc = rs_err_set(err, RS_E_AUTH, "wrong passphrase for this archive");
    else if (crypto_secretbox_open_easy(dk, h->wrapped, sizeof h->wrapped, h->nonce, kek) != 0)
        rc = rs_err_set(err, RS_E_CORRUPT, "archive header: the wrapped data key failed authentication");
    sodium_memzero(kek, sizeof kek);
    return rc;
}

rs_code snapshot_seal_header_open(const struct seal_header *h, const rs_snapshot_key *key, uint8_t dk[KEY_BYTES],
                                  rs_err *err)
{
    if (!key_matches_mode(h, key))
        return mode_mismatch(h, key, err);
    if (h->key_mode == SEAL_MODE_PASSPHRASE)
        return open_passphrase(h, key, dk, err);
    if (sodium_memcmp(h->key_id, key->id, sizeof key->id) != 0) {
        char id[17];
        rs_hex_encode(h->key_id, sizeof h->key_id, id, sizeof id);
        return rs_err_set(err, RS_E_AUTH, "archive sealed with key %s, you gave key %s", id, key->id_hex);
    }
    if (h->key_mode == SEAL_MODE_PUBLIC) {
        if (key->kind == RS_SNAPSHOT_KEY_PUBLIC)
            return snapshot_key_refuse_public(key, err);
        if (crypto_box_seal_open(dk, h->sealed, sizeof h->sealed, key->pub, key->secret) != 0)
            return rs_err_set(err, RS_E_CORRUPT, "archive header: the sealed data key failed authentication");
        return RS_OK;
    }
    if (crypto_secretbox_open_easy(dk, h->wrapped, sizeof h->wrapped, h->nonce, key->secret) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "archive header: the wrapped data key failed authentication");
    return RS_OK;
}
