/*
 * Session crypto: the challenge-response proofs and the per-session keys,
 * all derived from the pre-shared key and both sides' fresh nonces with
 * keyed BLAKE2b. The key itself never crosses the wire, and a proof or a
 * session key is worthless in any other session (new nonces each time).
 */
#include <string.h>

#include "wal/wal_int.h"

/* Labels: part of the protocol; changing one breaks every peer. */
static const char *const proof_label[2] = {"rockstream-repl-v1 primary proof",
                                           "rockstream-repl-v1 follower proof"};
static const char *const session_label[2] = {"rockstream-repl-v1 primary->follower",
                                             "rockstream-repl-v1 follower->primary"};

static void derive(const rs_wal_key *key, const char *label, const uint8_t nonce_f[WAL_NONCE_BYTES],
                   const uint8_t nonce_p[WAL_NONCE_BYTES], uint8_t *out, size_t out_len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key->bytes, RS_WAL_KEY_BYTES, out_len);
    crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
    crypto_generichash_update(&st, nonce_f, WAL_NONCE_BYTES);
    crypto_generichash_update(&st, nonce_p, WAL_NONCE_BYTES);
    crypto_generichash_final(&st, out, out_len);
}

void wal_crypto_proof(const rs_wal_key *key, wal_side side, const uint8_t nonce_f[WAL_NONCE_BYTES],
                      const uint8_t nonce_p[WAL_NONCE_BYTES], uint8_t out[WAL_PROOF_BYTES])
{
    derive(key, proof_label[side], nonce_f, nonce_p, out, WAL_PROOF_BYTES);
}

int wal_crypto_proof_ok(const rs_wal_key *key, wal_side side, const uint8_t nonce_f[WAL_NONCE_BYTES],
                        const uint8_t nonce_p[WAL_NONCE_BYTES], const uint8_t proof[WAL_PROOF_BYTES])
{
    uint8_t want[WAL_PROOF_BYTES];
    wal_crypto_proof(key, side, nonce_f, nonce_p, want);
    int ok = sodium_memcmp(want, proof, WAL_PROOF_BYTES) == 0;
    sodium_memzero(want, sizeof want);
    return ok;
}

void wal_crypto_session_key(const rs_wal_key *key, wal_side sender, const uint8_t nonce_f[WAL_NONCE_BYTES],
                            const uint8_t nonce_p[WAL_NONCE_BYTES],
                            uint8_t out[crypto_secretstream_xchacha20poly1305_KEYBYTES])
{
    derive(key, session_label[sender], nonce_f, nonce_p, out, crypto_secretstream_xchacha20poly1305_KEYBYTES);
}
