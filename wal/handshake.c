/*
 * The handshake: mutual challenge-response on the pre-shared key, then
 * every message of the session protected (a MAC, or sealed when asked).
 *
 *   follower -> HELLO     {version, flags, nonce_f}
 *   primary  -> CHALLENGE {flags, nonce_p, proof_p [, secretstream header p->f]}
 *   follower -> AUTH      {proof_f [, secretstream header f->p]}
 *
 * The primary proves the key first, so a follower never reveals a proof to
 * a server that does not hold the key. Proofs and session keys cover the
 * transcript (HELLO's payload, CHALLENGE's flags and nonce), so nothing in
 * it can be changed in transit. The follower's half blocks on its
 * connection; the primary's is three steps its listener runs as bytes
 * arrive (admit.c), so an unauthenticated peer holds no thread.
 */
#include <string.h>

#include "common/endian.h"
#include "wal/wal_int.h"

/* ---- follower ---------------------------------------------------------- */

static rs_code check_challenge(wal_conn *c, const rs_wal_frame *f, int encrypt, rs_err *err)
{
    size_t want = 2 + WAL_NONCE_BYTES + WAL_PROOF_BYTES + (encrypt ? WAL_SEAL_HEADER_BYTES : 0);
    if (f->payload_len != want)
        return rs_err_set(err, RS_E_PROTOCOL, "primary '%s' sent a CHALLENGE of %u bytes, expected %zu", c->peer,
                          f->payload_len, want);
    if (rs_le16_get(f->payload) != (encrypt ? WAL_FLAG_ENCRYPT : 0))
        return rs_err_set(err, RS_E_PROTOCOL, "primary '%s' answered with other flags than asked for", c->peer);
    return RS_OK;
}

rs_code wal_handshake_follower(wal_conn *c, const rs_wal_key *key, int encrypt, uint32_t timeout_ms, rs_err *err)
{
    wal_transcript t;
    rs_le16_put(t.hello, WAL_PROTO_VERSION);
    rs_le16_put(t.hello + 2, encrypt ? WAL_FLAG_ENCRYPT : 0);
    randombytes_buf(t.hello + 4, WAL_NONCE_BYTES);
    rs_code rc = wal_conn_send_msg(c, RS_WAL_FRAME_HELLO, t.hello, sizeof t.hello, err);
    rs_wal_frame f;
    if (rc == RS_OK)
        rc = wal_conn_expect(c, RS_WAL_FRAME_CHALLENGE, &f, timeout_ms, err);
    if (rc == RS_OK)
        rc = check_challenge(c, &f, encrypt, err);
    if (rc != RS_OK)
        return rc;
    memcpy(t.challenge, f.payload, sizeof t.challenge);
    if (!wal_crypto_proof_ok(key, WAL_SIDE_PRIMARY, &t, f.payload + sizeof t.challenge)) {
        wal_send_refusal(c, WAL_REFUSE_AUTH, "the primary could not prove it holds the replication key");
        rs_err_set(err, RS_E_AUTH, "primary '%s' failed the key check: its replication key differs from ours",
                   c->peer);
        rs_err_hint(err, "give the follower the key file the primary uses (--repl-key)");
        return RS_E_AUTH;
    }
    wal_secure sec;
    uint8_t auth[WAL_AUTH_MAX];
    wal_crypto_proof(key, WAL_SIDE_FOLLOWER, &t, auth);
    wal_secure_tx(&sec, key, WAL_SIDE_FOLLOWER, &t, encrypt, auth + WAL_PROOF_BYTES);
    rc = wal_secure_rx(&sec, key, WAL_SIDE_PRIMARY, &t, f.payload + sizeof t.challenge + WAL_PROOF_BYTES, err);
    if (rc == RS_OK)
        rc = wal_conn_send_msg(c, RS_WAL_FRAME_AUTH, auth, WAL_PROOF_BYTES + (encrypt ? WAL_SEAL_HEADER_BYTES : 0),
                               err);
    if (rc == RS_OK)
        wal_conn_secure(c, &sec);
    wal_secure_wipe(&sec);
    if (rc != RS_OK)
        rs_err_prefix(err, "primary '%s'", c->peer);
    return rc;
}

/* ---- primary ----------------------------------------------------------- */

rs_code wal_hs_hello(wal_hs *hs, const uint8_t *p, size_t len, int require_encryption, wal_refusal *why,
                     rs_err *err)
{
    *why = WAL_REFUSE_PROTOCOL;
    if (len != WAL_HELLO_BYTES)
        return rs_err_set(err, RS_E_PROTOCOL, "malformed HELLO of %zu bytes", len);
    uint16_t version = rs_le16_get(p);
    if (version != WAL_PROTO_VERSION) {
        rs_err_set(err, RS_E_VERSION, "replication protocol version %u is not supported: this primary speaks "
                   "version %d", version, WAL_PROTO_VERSION);
        rs_err_hint(err, "run the same rockstream release on the primary and its followers");
        return RS_E_VERSION;
    }
    hs->encrypt = (rs_le16_get(p + 2) & WAL_FLAG_ENCRYPT) != 0;
    if (require_encryption && !hs->encrypt) {
        *why = WAL_REFUSE_ENCRYPTION;
        return rs_err_set(err, RS_E_AUTH, "this primary requires an encrypted session");
    }
    memcpy(hs->t.hello, p, WAL_HELLO_BYTES);
    return RS_OK;
}

size_t wal_hs_challenge(wal_hs *hs, const rs_wal_key *key, uint8_t out[WAL_CHALLENGE_MAX])
{
    rs_le16_put(hs->t.challenge, hs->encrypt ? WAL_FLAG_ENCRYPT : 0);
    randombytes_buf(hs->t.challenge + 2, WAL_NONCE_BYTES);
    memcpy(out, hs->t.challenge, sizeof hs->t.challenge);
    uint8_t *proof = out + sizeof hs->t.challenge;
    wal_crypto_proof(key, WAL_SIDE_PRIMARY, &hs->t, proof);
    wal_secure_tx(&hs->sec, key, WAL_SIDE_PRIMARY, &hs->t, hs->encrypt, proof + WAL_PROOF_BYTES);
    return sizeof hs->t.challenge + WAL_PROOF_BYTES + (hs->encrypt ? WAL_SEAL_HEADER_BYTES : 0);
}

rs_code wal_hs_auth(wal_hs *hs, const rs_wal_key *key, const uint8_t *p, size_t len, rs_err *err)
{
    if (len != WAL_PROOF_BYTES + (hs->encrypt ? WAL_SEAL_HEADER_BYTES : 0))
        return rs_err_set(err, RS_E_PROTOCOL, "malformed AUTH of %zu bytes", len);
    rs_code rc = wal_secure_rx(&hs->sec, key, WAL_SIDE_FOLLOWER, &hs->t, p + WAL_PROOF_BYTES, err);
    if (rc == RS_OK && !wal_crypto_proof_ok(key, WAL_SIDE_FOLLOWER, &hs->t, p))
        rc = rs_err_set(err, RS_E_AUTH, "failed the key check: its replication key differs, or its proof was "
                        "changed in transit");
    return rc;
}
