/*
 * Session crypto: the challenge-response proofs, the per-session keys and
 * the per-message MAC, all from the pre-shared key and the handshake's
 * transcript (both sides' fresh nonces, the version and the flags) with
 * keyed BLAKE2b. The key itself never crosses the wire, and a proof, a
 * session key or a MAC is worthless in any other session.
 */
#include <string.h>

#include "common/endian.h"
#include "wal/wal_int.h"

/* Labels: part of the protocol (docs/format.md); changing one breaks every
 * peer. Each key has its own, so no two uses ever share a key. */
static const char *const proof_label[2] = {"rockstream-repl-v3 primary proof",
                                           "rockstream-repl-v3 follower proof"};
static const char *const seal_label[2] = {"rockstream-repl-v3 seal primary->follower",
                                          "rockstream-repl-v3 seal follower->primary"};
static const char *const mac_label[2] = {"rockstream-repl-v3 mac primary->follower",
                                         "rockstream-repl-v3 mac follower->primary"};

#define SKB crypto_secretstream_xchacha20poly1305_KEYBYTES

static void derive(const rs_wal_key *key, const char *label, const wal_transcript *t, uint8_t *out,
                   size_t out_len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key->bytes, RS_WAL_KEY_BYTES, out_len);
    crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
    crypto_generichash_update(&st, t->hello, sizeof t->hello);
    crypto_generichash_update(&st, t->challenge, sizeof t->challenge);
    crypto_generichash_final(&st, out, out_len);
}

void wal_crypto_proof(const rs_wal_key *key, wal_side side, const wal_transcript *t, uint8_t out[WAL_PROOF_BYTES])
{
    derive(key, proof_label[side], t, out, WAL_PROOF_BYTES);
}

int wal_crypto_proof_ok(const rs_wal_key *key, wal_side side, const wal_transcript *t,
                        const uint8_t proof[WAL_PROOF_BYTES])
{
    uint8_t want[WAL_PROOF_BYTES];
    wal_crypto_proof(key, side, t, want);
    int ok = sodium_memcmp(want, proof, WAL_PROOF_BYTES) == 0;
    sodium_memzero(want, sizeof want);
    return ok;
}

void wal_secure_tx(wal_secure *s, const rs_wal_key *key, wal_side me, const wal_transcript *t, int encrypt,
                   uint8_t header_tx[WAL_SEAL_HEADER_BYTES])
{
    s->mode = encrypt ? WAL_PROTECT_SEAL : WAL_PROTECT_MAC;
    s->n_tx = 0;
    if (!encrypt) {
        derive(key, mac_label[me], t, s->mac_tx, sizeof s->mac_tx);
        return;
    }
    uint8_t k[SKB];
    derive(key, seal_label[me], t, k, sizeof k);
    crypto_secretstream_xchacha20poly1305_init_push(&s->tx, header_tx, k);
    sodium_memzero(k, sizeof k);
}

rs_code wal_secure_rx(wal_secure *s, const rs_wal_key *key, wal_side peer, const wal_transcript *t,
                      const uint8_t header_rx[WAL_SEAL_HEADER_BYTES], rs_err *err)
{
    s->n_rx = 0;
    if (s->mode == WAL_PROTECT_MAC) {
        derive(key, mac_label[peer], t, s->mac_rx, sizeof s->mac_rx);
        return RS_OK;
    }
    uint8_t k[SKB];
    derive(key, seal_label[peer], t, k, sizeof k);
    int bad = crypto_secretstream_xchacha20poly1305_init_pull(&s->rx, header_rx, k) != 0;
    sodium_memzero(k, sizeof k);
    return bad ? rs_err_set(err, RS_E_AUTH, "invalid session header") : RS_OK;
}

void wal_crypto_mac(const uint8_t key[WAL_MAC_KEY_BYTES], uint64_t counter, const uint8_t *hdr,
                    const uint8_t *payload, size_t len, uint8_t out[WAL_MAC_BYTES])
{
    uint8_t n[8];
    rs_le64_put(n, counter);
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, WAL_MAC_KEY_BYTES, WAL_MAC_BYTES);
    crypto_generichash_update(&st, n, sizeof n);
    crypto_generichash_update(&st, hdr, RS_WAL_FRAME_HEADER_BYTES);
    if (len > 0)
        crypto_generichash_update(&st, payload, len);
    crypto_generichash_final(&st, out, WAL_MAC_BYTES);
}

void wal_secure_wipe(wal_secure *s) { sodium_memzero(s, sizeof *s); }
