/*
 * The handshake: mutual challenge-response on the pre-shared key, and the
 * switch to an encrypted session when asked for.
 *
 *   follower -> HELLO     {version, flags, nonce_f}
 *   primary  -> CHALLENGE {flags, nonce_p, proof_p [, secretstream header p->f]}
 *   follower -> AUTH      {proof_f [, secretstream header f->p]}
 *
 * The primary proves the key first, so a follower never reveals a proof to
 * a server that does not hold the key. Either side that finds the other's
 * proof wrong says so in a REFUSE before closing, so both logs tell why.
 */
#include <string.h>

#include "common/endian.h"
#include "common/log.h"
#include "wal/wal_int.h"

#define HB crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SKB crypto_secretstream_xchacha20poly1305_KEYBYTES

static void session_keys(wal_conn *c, const rs_wal_key *key, wal_side me, const uint8_t *nf, const uint8_t *np,
                         uint8_t header_tx[HB])
{
    uint8_t k[SKB];
    wal_crypto_session_key(key, me, nf, np, k);
    wal_conn_crypto_tx(c, k, header_tx);
    sodium_memzero(k, sizeof k);
}

static rs_code session_rx(wal_conn *c, const rs_wal_key *key, wal_side peer, const uint8_t *nf, const uint8_t *np,
                          const uint8_t header_rx[HB], rs_err *err)
{
    uint8_t k[SKB];
    wal_crypto_session_key(key, peer, nf, np, k);
    rs_code rc = wal_conn_crypto_rx(c, k, header_rx, err);
    sodium_memzero(k, sizeof k);
    return rc;
}

/* ---- follower --------------------------------------------------------- */

rs_code wal_handshake_follower(wal_conn *c, const rs_wal_key *key, int encrypt, uint32_t timeout_ms, rs_err *err)
{
    uint8_t hello[4 + WAL_NONCE_BYTES];
    uint8_t nf[WAL_NONCE_BYTES];
    randombytes_buf(nf, sizeof nf);
    rs_le16_put(hello, WAL_PROTO_VERSION);
    rs_le16_put(hello + 2, encrypt ? WAL_FLAG_ENCRYPT : 0);
    memcpy(hello + 4, nf, sizeof nf);
    rs_code rc = wal_conn_send_msg(c, RS_WAL_FRAME_HELLO, hello, sizeof hello, err);
    rs_wal_frame f;
    if (rc == RS_OK)
        rc = wal_conn_expect(c, RS_WAL_FRAME_CHALLENGE, &f, timeout_ms, err);
    if (rc != RS_OK)
        return rc;
    size_t want = 2 + WAL_NONCE_BYTES + WAL_PROOF_BYTES + (encrypt ? HB : 0);
    if (f.payload_len != want)
        return rs_err_set(err, RS_E_PROTOCOL, "primary '%s' sent a CHALLENGE of %u bytes, expected %zu", c->peer,
                          f.payload_len, want);
    uint8_t np[WAL_NONCE_BYTES];
    memcpy(np, f.payload + 2, sizeof np);
    if (!wal_crypto_proof_ok(key, WAL_SIDE_PRIMARY, nf, np, f.payload + 2 + WAL_NONCE_BYTES)) {
        wal_send_refusal(c, WAL_REFUSE_AUTH, "the primary could not prove it holds the replication key");
        rs_err_set(err, RS_E_AUTH, "primary '%s' failed the key check: its replication key differs from ours",
                   c->peer);
        rs_err_hint(err, "give the follower the key file the primary uses (--repl-key)");
        return RS_E_AUTH;
    }
    uint8_t auth[WAL_PROOF_BYTES + HB];
    wal_crypto_proof(key, WAL_SIDE_FOLLOWER, nf, np, auth);
    if (encrypt) {
        rc = session_rx(c, key, WAL_SIDE_PRIMARY, nf, np, f.payload + 2 + WAL_NONCE_BYTES + WAL_PROOF_BYTES, err);
        if (rc != RS_OK)
            return rc;
        session_keys(c, key, WAL_SIDE_FOLLOWER, nf, np, auth + WAL_PROOF_BYTES);
    }
    rc = wal_conn_send_msg(c, RS_WAL_FRAME_AUTH, auth, WAL_PROOF_BYTES + (encrypt ? HB : 0), err);
    c->encrypted = encrypt;
    return rc;
}

/* ---- primary ---------------------------------------------------------- */

static rs_code read_hello(wal_conn *c, int require_encryption, uint32_t timeout_ms, uint8_t nf[WAL_NONCE_BYTES],
                          int *encrypt, rs_err *err)
{
    rs_wal_frame f;
    rs_code rc = wal_conn_expect(c, RS_WAL_FRAME_HELLO, &f, timeout_ms, err);
    if (rc != RS_OK)
        return rc;
    if (f.payload_len != 4 + WAL_NONCE_BYTES) {
        wal_send_refusal(c, WAL_REFUSE_PROTOCOL, "malformed HELLO");
        return rs_err_set(err, RS_E_PROTOCOL, "follower '%s' sent a malformed HELLO", c->peer);
    }
    uint16_t version = rs_le16_get(f.payload);
    if (version != WAL_PROTO_VERSION) {
        wal_send_refusal(c, WAL_REFUSE_PROTOCOL, "replication protocol version not supported by the primary");
        return rs_err_set(err, RS_E_VERSION, "follower '%s' speaks protocol version %u, this primary %d", c->peer,
                          version, WAL_PROTO_VERSION);
    }
    *encrypt = (rs_le16_get(f.payload + 2) & WAL_FLAG_ENCRYPT) != 0;
    if (require_encryption && !*encrypt) {
        wal_send_refusal(c, WAL_REFUSE_ENCRYPTION, "this primary requires an encrypted session");
        return rs_err_set(err, RS_E_AUTH, "follower '%s' did not ask for encryption, which this primary requires",
                          c->peer);
    }
    memcpy(nf, f.payload + 4, WAL_NONCE_BYTES);
    return RS_OK;
}

rs_code wal_handshake_primary(wal_conn *c, const rs_wal_key *key, int require_encryption, uint32_t timeout_ms,
                              rs_err *err)
{
    uint8_t nf[WAL_NONCE_BYTES], np[WAL_NONCE_BYTES];
    int encrypt = 0;
    rs_code rc = read_hello(c, require_encryption, timeout_ms, nf, &encrypt, err);
    if (rc != RS_OK)
        return rc;
    randombytes_buf(np, sizeof np);
    uint8_t ch[2 + WAL_NONCE_BYTES + WAL_PROOF_BYTES + HB];
    rs_le16_put(ch, encrypt ? WAL_FLAG_ENCRYPT : 0);
    memcpy(ch + 2, np, sizeof np);
    wal_crypto_proof(key, WAL_SIDE_PRIMARY, nf, np, ch + 2 + WAL_NONCE_BYTES);
    if (encrypt)
        session_keys(c, key, WAL_SIDE_PRIMARY, nf, np, ch + 2 + WAL_NONCE_BYTES + WAL_PROOF_BYTES);
    rc = wal_conn_send_msg(c, RS_WAL_FRAME_CHALLENGE, ch, sizeof ch - (encrypt ? 0 : HB), err);
    rs_wal_frame f;
    if (rc == RS_OK)
        rc = wal_conn_expect(c, RS_WAL_FRAME_AUTH, &f, timeout_ms, err);
    if (rc != RS_OK) {
        rs_err_prefix(err, "follower '%s'", c->peer);
        return rc;
    }
    if (f.payload_len != WAL_PROOF_BYTES + (encrypt ? HB : 0))
        return rs_err_set(err, RS_E_PROTOCOL, "follower '%s' sent an AUTH of %u bytes", c->peer, f.payload_len);
    if (!wal_crypto_proof_ok(key, WAL_SIDE_FOLLOWER, nf, np, f.payload)) {
        wal_send_refusal(c, WAL_REFUSE_AUTH, "wrong replication key: the primary refuses this follower");
        return rs_err_set(err, RS_E_AUTH, "follower '%s' failed the key check: its replication key differs",
                          c->peer);
    }
    if (encrypt) {
        rc = session_rx(c, key, WAL_SIDE_FOLLOWER, nf, np, f.payload + WAL_PROOF_BYTES, err);
        if (rc != RS_OK)
            return rc;
    }
    c->encrypted = encrypt;
    return RS_OK;
}
