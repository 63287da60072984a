/*
 * Keys in memory: the struct, its locked secret buffer, key ids, and keys
 * made from a passphrase. Key files are read and written in
 * snapshot_keyfile.c; how a key wraps an archive's data key is in
 * snapshot_header.c.
 */
#include <string.h>

#include "snapshot/snapshot_int.h"

/* Wire constant: the string whose keyed hash is a key id. Changing it
 * changes every key id. */
static const char KEY_ID_DOMAIN[] = "rockstream key id v1";

#define PASSPHRASE_MAX 1024
#define DEFAULT_OPSLIMIT 3
#define DEFAULT_MEMLIMIT (64u * 1024 * 1024)

void snapshot_key_id_of(const uint8_t material[KEY_BYTES], uint8_t id[RS_SNAPSHOT_KEY_ID_BYTES])
{
    crypto_generichash(id, RS_SNAPSHOT_KEY_ID_BYTES, (const uint8_t *)KEY_ID_DOMAIN, sizeof KEY_ID_DOMAIN - 1,
                       material, KEY_BYTES);
}

rs_code snapshot_key_alloc(rs_snapshot_key_kind kind, size_t secret_len, rs_snapshot_key **out, rs_err *err)
{
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    rs_snapshot_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return rs_err_set(err, RS_E_NOMEM, "key: out of memory");
    k->kind = kind;
    if (secret_len > 0) {
        /* sodium_malloc: guarded, locked (never swapped), wiped on free */
        k->secret = sodium_malloc(secret_len);
        if (k->secret == NULL) {
            free(k);
            return rs_err_set(err, RS_E_NOMEM, "key: no locked memory for the secret");
        }
        k->secret_len = secret_len;
    }
    *out = k;
    return RS_OK;
}

void rs_snapshot_key_destroy(rs_snapshot_key *k)
{
    if (k == NULL)
        return;
    if (k->secret != NULL)
        sodium_free(k->secret);
    sodium_memzero(k, sizeof *k);
    free(k);
}

rs_code rs_snapshot_key_from_passphrase(const char *pass, size_t len, uint64_t opslimit, size_t memlimit,
                                        rs_snapshot_key **out, rs_err *err)
{
    if (pass == NULL || len == 0)
        return rs_err_set(err, RS_E_INVALID, "the passphrase is empty");
    if (len > PASSPHRASE_MAX)
        return rs_err_set(err, RS_E_INVALID, "the passphrase is %zu bytes, at most %d are allowed", len,
                          PASSPHRASE_MAX);
    if (opslimit > SEAL_PWHASH_OPS_MAX || memlimit > SEAL_PWHASH_MEM_MAX)
        return rs_err_set(err, RS_E_INVALID, "passphrase hashing limits above %u passes or %llu bytes",
                          SEAL_PWHASH_OPS_MAX, (unsigned long long)SEAL_PWHASH_MEM_MAX);
    rs_snapshot_key *k = NULL;
    rs_code rc = snapshot_key_alloc(RS_SNAPSHOT_KEY_PASSPHRASE, len, &k, err);
    if (rc != RS_OK)
        return rc;
    memcpy(k->secret, pass, len);
    k->opslimit = opslimit != 0 ? opslimit : DEFAULT_OPSLIMIT;
    k->memlimit = memlimit != 0 ? memlimit : DEFAULT_MEMLIMIT;
    if (k->opslimit < crypto_pwhash_OPSLIMIT_MIN)
        k->opslimit = crypto_pwhash_OPSLIMIT_MIN;
    if (k->memlimit < crypto_pwhash_MEMLIMIT_MIN)
        k->memlimit = crypto_pwhash_MEMLIMIT_MIN;
    *out = k;
    return RS_OK;
}

rs_snapshot_key_kind rs_snapshot_key_kind_of(const rs_snapshot_key *k) { return k->kind; }
const char *rs_snapshot_key_id(const rs_snapshot_key *k) { return k->id_hex; }
int rs_snapshot_key_can_unseal(const rs_snapshot_key *k) { return k->kind != RS_SNAPSHOT_KEY_PUBLIC; }

const char *rs_snapshot_key_describe(const rs_snapshot_key *k)
{
    switch (k->kind) {
    case RS_SNAPSHOT_KEY_SECRET: return "secret key";
    case RS_SNAPSHOT_KEY_PASSPHRASE: return "passphrase";
    case RS_SNAPSHOT_KEY_PUBLIC: return "public key";
    case RS_SNAPSHOT_KEY_PAIR: return "key pair";
    }
    return "key";
}

rs_code snapshot_key_refuse_public(const rs_snapshot_key *k, rs_err *err)
{
    rs_err_set(err, RS_E_AUTH, "key %s is a public key: it can seal archives but not open them", k->id_hex);
    rs_err_hint(err, "use the key pair file keygen --public wrote (not its .pub)");
    return RS_E_AUTH;
}
