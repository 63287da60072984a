/*
 * A framed connection: frames go out through a bounded send queue (so many
 * small batches cost one send, and a peer that takes nothing for the send
 * deadline is detected) and come in one at a time, checked before they are
 * returned. With a session key, every frame is one secretstream message,
 * length-prefixed: tampering, truncation and reordering all fail to
 * decrypt.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/endian.h"
#include "wal/wal_int.h"

#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
/* The largest message on the wire: a full frame, sealed. */
#define MAX_WIRE (RS_WAL_FRAME_HEADER_BYTES + RS_WAL_FRAME_MAX_PAYLOAD + ABYTES)
#define RBUF     (256u << 10) /* receive buffer */

rs_code wal_conn_create(int fd, const char *peer, uint64_t queue_limit, uint32_t send_deadline_ms, wal_conn **out,
                        rs_err *err)
{
    wal_conn *c = calloc(1, sizeof *c);
    if (c != NULL) {
        c->out = malloc(queue_limit);
        c->rbuf = malloc(RBUF);
    }
    if (c == NULL || c->out == NULL || c->rbuf == NULL) {
        if (c != NULL) {
            free(c->out);
            free(c->rbuf);
        }
        free(c);
        close(fd);
        return rs_err_set(err, RS_E_NOMEM, "connection to '%s': out of memory", peer);
    }
    c->fd = fd;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->out_cap = queue_limit;
    c->queue_limit = queue_limit;
    c->send_deadline_ms = send_deadline_ms;
    *out = c;
    return RS_OK;
}

void wal_conn_shutdown(wal_conn *c)
{
    if (c != NULL)
        shutdown(c->fd, SHUT_RDWR);
}

void wal_conn_close(wal_conn *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    sodium_memzero(&c->tx, sizeof c->tx);
    sodium_memzero(&c->rx, sizeof c->rx);
    free(c->out);
    free(c->in);
    free(c->cipher);
    free(c->rbuf);
    free(c);
}

void wal_conn_crypto_tx(wal_conn *c, const uint8_t *key,
                        uint8_t header_tx[crypto_secretstream_xchacha20poly1305_HEADERBYTES])
{
    crypto_secretstream_xchacha20poly1305_init_push(&c->tx, header_tx, key);
}

rs_code wal_conn_crypto_rx(wal_conn *c, const uint8_t *key,
                           const uint8_t header_rx[crypto_secretstream_xchacha20poly1305_HEADERBYTES], rs_err *err)
{
    if (crypto_secretstream_xchacha20poly1305_init_pull(&c->rx, header_rx, key) != 0)
        return rs_err_set(err, RS_E_AUTH, "peer '%s': invalid session header", c->peer);
    return RS_OK;
}

/* ---- sending ---------------------------------------------------------- */

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    uint8_t *p = realloc(*buf, need);
    if (p == NULL)
        return -1;
    *buf = p;
    *cap = need;
    return 0;
}

rs_code wal_conn_flush(wal_conn *c, rs_err *err)
{
    if (c->out_len == 0)
        return RS_OK;
    rs_code rc = wal_net_send_all(c->fd, c->out, c->out_len, wal_deadline(c->send_deadline_ms), err);
    if (rc == RS_OK)
        atomic_fetch_add(&c->bytes_sent, c->out_len);
    c->out_len = 0;
    if (rc == RS_E_TIMEOUT)
        rs_err_prefix(err, "peer '%s' took no data for %u ms", c->peer, c->send_deadline_ms);
    return rc;
}

/* Seals header+payload as one message into dst (room checked by caller). */
static size_t seal(wal_conn *c, const uint8_t *hdr, const rs_wal_frame *f, uint8_t *dst)
{
    size_t plain = RS_WAL_FRAME_HEADER_BYTES + f->payload_len;
    /* the plaintext is built after the sealed message's end (the caller
     * reserved room for both): libsodium wants them apart */
    uint8_t *msg = dst + 4 + ABYTES + plain;
    memcpy(msg, hdr, RS_WAL_FRAME_HEADER_BYTES);
    if (f->payload_len > 0)
        memcpy(msg + RS_WAL_FRAME_HEADER_BYTES, f->payload, f->payload_len);
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(&c->tx, dst + 4, &clen, msg, plain, NULL, 0, 0);
    rs_le32_put(dst, (uint32_t)clen);
    return 4 + (size_t)clen;
}

static rs_code send_sealed(wal_conn *c, const uint8_t *hdr, const rs_wal_frame *f, rs_err *err)
{
    size_t need = 4 + ABYTES + 2 * (RS_WAL_FRAME_HEADER_BYTES + (size_t)f->payload_len);
    if (c->out_len + need > c->out_cap) {
        rs_code rc = wal_conn_flush(c, err);
        if (rc != RS_OK)
            return rc;
    }
    uint8_t *dst;
    if (need <= c->out_cap) {
        dst = c->out + c->out_len;
    } else {
        if (grow(&c->cipher, &c->cipher_cap, need) != 0)
            return rs_err_set(err, RS_E_NOMEM, "peer '%s': no memory to seal a %u-byte frame", c->peer,
                              f->payload_len);
        dst = c->cipher;
    }
    size_t n = seal(c, hdr, f, dst);
    if (dst == c->cipher) {
        rs_code rc = wal_net_send_all(c->fd, dst, n, wal_deadline(c->send_deadline_ms), err);
        if (rc == RS_OK)
            atomic_fetch_add(&c->bytes_sent, n);
        return rc;
    }
    c->out_len += n;
    return RS_OK;
}

static rs_code send_plain(wal_conn *c, const uint8_t *hdr, const rs_wal_frame *f, rs_err *err)
{
    size_t need = RS_WAL_FRAME_HEADER_BYTES + f->payload_len;
    if (c->out_len + need > c->out_cap) {
        rs_code rc = wal_conn_flush(c, err);
        if (rc != RS_OK)
            return rc;
    }
    if (need > c->out_cap) {
        /* bigger than the whole queue: straight from the caller's bytes */
        uint64_t dl = wal_deadline(c->send_deadline_ms);
        rs_code rc = wal_net_send_all(c->fd, hdr, RS_WAL_FRAME_HEADER_BYTES, dl, err);
        if (rc == RS_OK)
            rc = wal_net_send_all(c->fd, f->payload, f->payload_len, dl, err);
        if (rc == RS_OK)
            atomic_fetch_add(&c->bytes_sent, need);
        return rc;
    }
    memcpy(c->out + c->out_len, hdr, RS_WAL_FRAME_HEADER_BYTES);
    if (f->payload_len > 0)
        memcpy(c->out + c->out_len + RS_WAL_FRAME_HEADER_BYTES, f->payload, f->payload_len);
    c->out_len += need;
    return RS_OK;
}

rs_code wal_conn_queue(wal_conn *c, const rs_wal_frame *f, rs_err *err)
{
    uint8_t hdr[RS_WAL_FRAME_HEADER_BYTES];
    rs_wal_frame_encode_header(f, hdr);
    rs_code rc = c->encrypted ? send_sealed(c, hdr, f, err) : send_plain(c, hdr, f, err);
    if (rc == RS_OK)
        atomic_fetch_add(&c->frames_sent, 1);
    return rc;
}

rs_code wal_conn_send(wal_conn *c, const rs_wal_frame *f, rs_err *err)
{
    rs_code rc = wal_conn_queue(c, f, err);
    return rc == RS_OK ? wal_conn_flush(c, err) : rc;
}

rs_code wal_conn_send_msg(wal_conn *c, uint8_t type, const uint8_t *p, size_t len, rs_err *err)
{
    rs_wal_frame f = {.type = type, .payload = p, .payload_len = (uint32_t)len};
    return wal_conn_send(c, &f, err);
}

/* ---- receiving -------------------------------------------------------- */

/* Takes exactly len bytes: from the buffer first, then from the socket,
 * refilling the buffer for small reads and reading large ones in place. */
static rs_code take(wal_conn *c, uint8_t *dst, size_t len, uint64_t dl, rs_err *err)
{
    size_t have = c->rlen - c->rpos;
    size_t n = have < len ? have : len;
    memcpy(dst, c->rbuf + c->rpos, n);
    c->rpos += n;
    dst += n;
    len -= n;
    if (len == 0)
        return RS_OK;
    if (len >= RBUF / 2)
        return wal_net_recv_all(c->fd, dst, len, dl, err);
    c->rpos = c->rlen = 0;
    while (c->rlen < len) {
        ssize_t got = wal_net_recv_some(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, dl, err);
        if (got < 0)
            return err != NULL && err->code != RS_OK ? err->code : RS_E_NETWORK;
        c->rlen += (size_t)got;
    }
    memcpy(dst, c->rbuf, len);
    c->rpos = len;
    return RS_OK;
}

static rs_code recv_plain(wal_conn *c, rs_wal_frame *f, uint64_t dl, rs_err *err)
{
    if (grow(&c->in, &c->in_cap, RS_WAL_FRAME_HEADER_BYTES) != 0)
        return rs_err_set(err, RS_E_NOMEM, "peer '%s': out of memory", c->peer);
    rs_code rc = take(c, c->in, RS_WAL_FRAME_HEADER_BYTES, dl, err);
    if (rc == RS_OK)
        rc = rs_wal_frame_decode_header(c->in, RS_WAL_FRAME_HEADER_BYTES, f, err);
    if (rc != RS_OK)
        return rc;
    /* the length was bounded by the decoder before this allocation */
    if (grow(&c->in, &c->in_cap, RS_WAL_FRAME_HEADER_BYTES + (size_t)f->payload_len) != 0)
        return rs_err_set(err, RS_E_NOMEM, "peer '%s': no memory for a %u-byte frame", c->peer, f->payload_len);
    rc = take(c, c->in + RS_WAL_FRAME_HEADER_BYTES, f->payload_len, dl, err);
    if (rc != RS_OK)
        return rc;
    return rs_wal_frame_check(c->in, f, c->in + RS_WAL_FRAME_HEADER_BYTES, err);
}

static rs_code recv_sealed(wal_conn *c, rs_wal_frame *f, uint64_t dl, rs_err *err)
{
    uint8_t lenb[4];
    rs_code rc = take(c, lenb, 4, dl, err);
    if (rc != RS_OK)
        return rc;
    uint32_t clen = rs_le32_get(lenb);
    if (clen < ABYTES + RS_WAL_FRAME_HEADER_BYTES || clen > MAX_WIRE)
        return rs_err_set(err, RS_E_CORRUPT, "peer '%s': sealed message of %u bytes is out of bounds", c->peer,
                          clen);
    if (grow(&c->cipher, &c->cipher_cap, clen) != 0 || grow(&c->in, &c->in_cap, clen) != 0)
        return rs_err_set(err, RS_E_NOMEM, "peer '%s': no memory for a %u-byte message", c->peer, clen);
    rc = take(c, c->cipher, clen, dl, err);
    if (rc != RS_OK)
        return rc;
    unsigned long long plen = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&c->rx, c->in, &plen, &tag, c->cipher, clen, NULL, 0) != 0)
        return rs_err_set(err, RS_E_AUTH, "peer '%s': a message failed authentication (tampered or out of order)",
                          c->peer);
    size_t used = 0;
    rc = rs_wal_frame_decode(c->in, (size_t)plen, f, &used, err);
    if (rc == RS_OK && used != plen)
        return rs_err_set(err, RS_E_CORRUPT, "peer '%s': %llu bytes after a frame in one message", c->peer,
                          plen - used);
    return rc;
}

rs_code wal_conn_recv(wal_conn *c, rs_wal_frame *f, uint32_t timeout_ms, rs_err *err)
{
    uint64_t dl = wal_deadline(timeout_ms);
    rs_code rc = c->encrypted ? recv_sealed(c, f, dl, err) : recv_plain(c, f, dl, err);
    if (rc == RS_E_TIMEOUT)
        rs_err_prefix(err, "peer '%s' sent nothing for %u ms", c->peer, timeout_ms);
    return rc;
}

rs_code wal_conn_expect(wal_conn *c, uint8_t type, rs_wal_frame *f, uint32_t timeout_ms, rs_err *err)
{
    rs_code rc = wal_conn_recv(c, f, timeout_ms, err);
    if (rc != RS_OK)
        return rc;
    if (f->type == RS_WAL_FRAME_REFUSE) {
        c->refusal = wal_refusal_code(f);
        return wal_refusal_to_err(f, err);
    }
    if (f->type != type)
        return rs_err_set(err, RS_E_PROTOCOL, "peer '%s' sent a frame of type %u, expected %u", c->peer, f->type,
                          type);
    return RS_OK;
}
