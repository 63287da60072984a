/*
 * A framed connection: frames go out through a bounded send queue (so many
 * small batches cost one send, and a peer that takes nothing for the send
 * deadline is detected) and come in one at a time, bounded and checked
 * before they are returned. Once the handshake has authenticated both
 * sides every frame is protected (wal_secure): an unencrypted session
 * sends each frame followed by its MAC, an encrypted one each frame as one
 * length-prefixed secretstream message. Either way a frame changed,
 * replayed, reordered or dropped in transit fails to authenticate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/endian.h"
#include "wal/wal_int.h"

#define ABYTES     crypto_secretstream_xchacha20poly1305_ABYTES
#define RBUF       (256u << 10) /* receive buffer */
#define FIRST_OUT  (64u << 10)  /* the send queue's first size */

rs_code wal_conn_create(int fd, const char *peer, uint64_t queue_limit, uint32_t send_deadline_ms, wal_conn **out,
                        rs_err *err)
{
    wal_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return rs_err_set(err, RS_E_NOMEM, "connection to '%s': out of memory", peer);
    }
    c->fd = fd;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->queue_limit = queue_limit;
    c->max_payload = RS_WAL_FRAME_MAX_PAYLOAD;
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
    wal_secure_wipe(&c->sec);
    free(c->out);
    free(c->in);
    free(c->cipher);
    free(c->rbuf);
    free(c);
}

void wal_conn_secure(wal_conn *c, wal_secure *s)
{
    c->sec = *s;
    wal_secure_wipe(s);
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

/* Room for need more bytes in the queue: what is queued is sent first when
 * they would pass the limit; the queue grows (to the limit) when they fit.
 * Returns the place to write, or NULL when need is more than the whole
 * queue (the caller sends from elsewhere). */
static uint8_t *reserve(wal_conn *c, size_t need, rs_code *rc, rs_err *err)
{
    *rc = RS_OK;
    if (c->out_len + need > c->queue_limit && (*rc = wal_conn_flush(c, err)) != RS_OK)
        return NULL;
    if (need > c->queue_limit)
        return NULL;
    size_t want = c->out_len + need;
    if (want > c->out_cap) {
        size_t cap = c->out_cap == 0 ? FIRST_OUT : c->out_cap;
        while (cap < want)
            cap *= 2;
        if (grow(&c->out, &c->out_cap, cap > c->queue_limit ? c->queue_limit : cap) != 0) {
            *rc = rs_err_set(err, RS_E_NOMEM, "peer '%s': no memory for the send queue", c->peer);
            return NULL;
        }
    }
    return c->out + c->out_len;
}

static rs_code send_now(wal_conn *c, const uint8_t *p, size_t len, uint64_t dl, rs_err *err)
{
    rs_code rc = wal_net_send_all(c->fd, p, len, dl, err);
    if (rc == RS_OK)
        atomic_fetch_add(&c->bytes_sent, len);
    return rc;
}

/* Seals header+payload as one message into dst (room for 4 + ABYTES + 2
 * frames checked by the caller). */
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
    crypto_secretstream_xchacha20poly1305_push(&c->sec.tx, dst + 4, &clen, msg, plain, NULL, 0, 0);
    rs_le32_put(dst, (uint32_t)clen);
    c->sec.n_tx++;
    return 4 + (size_t)clen;
}

static rs_code send_sealed(wal_conn *c, const uint8_t *hdr, const rs_wal_frame *f, rs_err *err)
{
    size_t need = 4 + ABYTES + 2 * (RS_WAL_FRAME_HEADER_BYTES + (size_t)f->payload_len);
    rs_code rc;
    uint8_t *dst = reserve(c, need, &rc, err);
    if (rc != RS_OK)
        return rc;
    if (dst == NULL) {
        if (grow(&c->cipher, &c->cipher_cap, need) != 0)
            return rs_err_set(err, RS_E_NOMEM, "peer '%s': no memory to seal a %u-byte frame", c->peer,
                              f->payload_len);
        return send_now(c, c->cipher, seal(c, hdr, f, c->cipher), wal_deadline(c->send_deadline_ms), err);
    }
    c->out_len += seal(c, hdr, f, dst);
    return RS_OK;
}

/* header, payload and, once the session is authenticated, the MAC. */
static rs_code send_plain(wal_conn *c, const uint8_t *hdr, const rs_wal_frame *f, rs_err *err)
{
    uint8_t tag[WAL_MAC_BYTES];
    size_t tag_len = c->sec.mode == WAL_PROTECT_MAC ? WAL_MAC_BYTES : 0;
    if (tag_len > 0)
        wal_crypto_mac(c->sec.mac_tx, c->sec.n_tx++, hdr, f->payload, f->payload_len, tag);
    size_t need = RS_WAL_FRAME_HEADER_BYTES + f->payload_len + tag_len;
    rs_code rc;
    uint8_t *dst = reserve(c, need, &rc, err);
    if (rc != RS_OK)
        return rc;
    if (dst == NULL) {
        /* bigger than the whole queue: straight from the caller's bytes */
        uint64_t dl = wal_deadline(c->send_deadline_ms);
        rc = send_now(c, hdr, RS_WAL_FRAME_HEADER_BYTES, dl, err);
        if (rc == RS_OK)
            rc = send_now(c, f->payload, f->payload_len, dl, err);
        return rc == RS_OK && tag_len > 0 ? send_now(c, tag, tag_len, dl, err) : rc;
    }
    memcpy(dst, hdr, RS_WAL_FRAME_HEADER_BYTES);
    if (f->payload_len > 0)
        memcpy(dst + RS_WAL_FRAME_HEADER_BYTES, f->payload, f->payload_len);
    memcpy(dst + RS_WAL_FRAME_HEADER_BYTES + f->payload_len, tag, tag_len);
    c->out_len += need;
    return RS_OK;
}

rs_code wal_conn_queue(wal_conn *c, const rs_wal_frame *f, rs_err *err)
{
    uint8_t hdr[RS_WAL_FRAME_HEADER_BYTES];
    rs_wal_frame_encode_header(f, hdr);
    rs_code rc = c->sec.mode == WAL_PROTECT_SEAL ? send_sealed(c, hdr, f, err) : send_plain(c, hdr, f, err);
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

int wal_send_plain_now(int fd, uint8_t type, const uint8_t *p, size_t len)
{
    uint8_t buf[RS_WAL_FRAME_HEADER_BYTES + 256];
    if (len > sizeof buf - RS_WAL_FRAME_HEADER_BYTES)
        return -1;
    rs_wal_frame f = {.type = type, .payload = p, .payload_len = (uint32_t)len};
    rs_wal_frame_encode_header(&f, buf);
    memcpy(buf + RS_WAL_FRAME_HEADER_BYTES, p, len);
    size_t n = RS_WAL_FRAME_HEADER_BYTES + len;
    return send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n ? 0 : -1;
}

/* ---- receiving -------------------------------------------------------- */

/* Takes exactly len bytes: from the buffer first, then from the socket,
 * refilling the buffer for small reads and reading large ones in place. */
static rs_code take(wal_conn *c, uint8_t *dst, size_t len, uint64_t dl, rs_err *err)
{
    size_t have = c->rlen - c->rpos;
    size_t n = have < len ? have : len;
    if (n > 0)
        memcpy(dst, c->rbuf + c->rpos, n);
    c->rpos += n;
    dst += n;
    len -= n;
    if (len == 0)
        return RS_OK;
    if (len >= RBUF / 2)
        return wal_net_recv_all(c->fd, dst, len, dl, err);
    if (c->rbuf == NULL && (c->rbuf = malloc(RBUF)) == NULL)
        return rs_err_set(err, RS_E_NOMEM, "peer '%s': out of memory", c->peer);
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

/* The length a peer announces, bounded by what its type can carry (a HELLO
 * is 36 bytes, whoever sends it) and by what this connection takes, before
 * a byte of the payload is read or allocated. */
static rs_code check_length(const wal_conn *c, const rs_wal_frame *f, rs_err *err)
{
    uint64_t max = wal_proto_max_payload(f->type);
    if (max > c->max_payload)
        max = c->max_payload;
    if (f->payload_len > max)
        return rs_err_set(err, RS_E_PROTOCOL, "peer '%s' announced a %s of %u bytes, more than the %llu it can have",
                          c->peer, wal_proto_type_name(f->type), f->payload_len, (unsigned long long)max);
    return RS_OK;
}

static rs_code auth_failed(wal_conn *c, rs_err *err)
{
    c->auth_failed = 1;
    return rs_err_set(err, RS_E_CORRUPT, "message %llu from peer '%s' failed authentication (changed, replayed, "
                      "reordered or dropped in transit)", (unsigned long long)c->sec.n_rx, c->peer);
}

static rs_code check_mac(wal_conn *c, const rs_wal_frame *f, const uint8_t *tag, rs_err *err)
{
    uint8_t want[WAL_MAC_BYTES];
    wal_crypto_mac(c->sec.mac_rx, c->sec.n_rx, c->in, c->in + RS_WAL_FRAME_HEADER_BYTES, f->payload_len, want);
    if (sodium_memcmp(want, tag, WAL_MAC_BYTES) != 0)
        return auth_failed(c, err);
    c->sec.n_rx++;
    return RS_OK;
}

static rs_code recv_plain(wal_conn *c, rs_wal_frame *f, uint64_t dl, rs_err *err)
{
    if (grow(&c->in, &c->in_cap, RS_WAL_FRAME_HEADER_BYTES) != 0)
        return rs_err_set(err, RS_E_NOMEM, "peer '%s': out of memory", c->peer);
    rs_code rc = take(c, c->in, RS_WAL_FRAME_HEADER_BYTES, dl, err);
    if (rc != RS_OK)
        return rc;
    rc = rs_wal_frame_decode_header(c->in, RS_WAL_FRAME_HEADER_BYTES, f, err);
    if (rc == RS_OK)
        rc = check_length(c, f, err);
    if (rc != RS_OK) {
        /* after the handshake only tampering (or a broken peer) sends a
         * header that does not parse: its MAC cannot even be read */
        c->auth_failed = c->sec.mode == WAL_PROTECT_MAC;
        return rc;
    }
    size_t tag_len = c->sec.mode == WAL_PROTECT_MAC ? WAL_MAC_BYTES : 0;
    if (grow(&c->in, &c->in_cap, RS_WAL_FRAME_HEADER_BYTES + (size_t)f->payload_len + tag_len) != 0)
        return rs_err_set(err, RS_E_NOMEM, "peer '%s': no memory for a %u-byte frame", c->peer, f->payload_len);
    rc = take(c, c->in + RS_WAL_FRAME_HEADER_BYTES, f->payload_len + tag_len, dl, err);
    if (rc == RS_OK && tag_len > 0)
        rc = check_mac(c, f, c->in + RS_WAL_FRAME_HEADER_BYTES + f->payload_len, err);
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
    if (clen < ABYTES + RS_WAL_FRAME_HEADER_BYTES || clen > ABYTES + RS_WAL_FRAME_HEADER_BYTES + c->max_payload)
        return rs_err_set(err, RS_E_PROTOCOL, "peer '%s': sealed message of %u bytes is out of bounds", c->peer,
                          clen);
    if (grow(&c->cipher, &c->cipher_cap, clen) != 0 || grow(&c->in, &c->in_cap, clen) != 0)
        return rs_err_set(err, RS_E_NOMEM, "peer '%s': no memory for a %u-byte message", c->peer, clen);
    rc = take(c, c->cipher, clen, dl, err);
    if (rc != RS_OK)
        return rc;
    unsigned long long plen = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&c->sec.rx, c->in, &plen, &tag, c->cipher, clen, NULL, 0) != 0)
        return auth_failed(c, err);
    c->sec.n_rx++;
    size_t used = 0;
    rc = rs_wal_frame_decode(c->in, (size_t)plen, f, &used, err);
    if (rc == RS_OK)
        rc = check_length(c, f, err);
    if (rc == RS_OK && used != plen)
        return rs_err_set(err, RS_E_CORRUPT, "peer '%s': %llu bytes after a frame in one message", c->peer,
                          plen - used);
    return rc;
}

rs_code wal_conn_recv(wal_conn *c, rs_wal_frame *f, uint32_t timeout_ms, rs_err *err)
{
    uint64_t dl = wal_deadline(timeout_ms);
    rs_code rc = c->sec.mode == WAL_PROTECT_SEAL ? recv_sealed(c, f, dl, err) : recv_plain(c, f, dl, err);
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
        return rs_err_set(err, RS_E_PROTOCOL, "peer '%s' sent a %s, expected a %s", c->peer,
                          wal_proto_type_name(f->type), wal_proto_type_name(type));
    return RS_OK;
}
