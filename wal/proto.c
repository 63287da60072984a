/*
 * The protocol's message bodies: how IDENTIFY, WELCOME, REFUSE, ACK and
 * HEARTBEAT payloads are laid out (docs/format.md) and read back, every
 * length checked. Frames carry them; conn.c moves them.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/endian.h"
#include "wal/wal_int.h"

#define IDENTITY_FIXED 75 /* db id, history, latest, chain, flags, name length */
#define WELCOME_BYTES  41
#define ACK_BYTES      56
#define HEARTBEAT_BYTES 16
#define REFUSE_MSG_MAX 200
#define CKPT_DATA_MAX  (1u << 20)

/* The most each type of message can carry (docs/format.md): a peer that
 * announces more is refused before anything is read or allocated. */
static const struct {
    const char *name;
    uint32_t    max;
} types[RS_WAL_FRAME__COUNT] = {
    [RS_WAL_FRAME_BATCH] = {"BATCH", RS_WAL_FRAME_MAX_PAYLOAD},
    [RS_WAL_FRAME_HELLO] = {"HELLO", WAL_HELLO_BYTES},
    [RS_WAL_FRAME_CHALLENGE] = {"CHALLENGE", WAL_CHALLENGE_MAX},
    [RS_WAL_FRAME_AUTH] = {"AUTH", WAL_AUTH_MAX},
    [RS_WAL_FRAME_IDENTIFY] = {"IDENTIFY", IDENTITY_FIXED + WAL_NAME_MAX},
    [RS_WAL_FRAME_WELCOME] = {"WELCOME", WELCOME_BYTES},
    [RS_WAL_FRAME_REFUSE] = {"REFUSE", 2 + REFUSE_MSG_MAX},
    [RS_WAL_FRAME_HEARTBEAT] = {"HEARTBEAT", HEARTBEAT_BYTES},
    [RS_WAL_FRAME_ACK] = {"ACK", ACK_BYTES},
    [RS_WAL_FRAME_CKPT_BEGIN] = {"CKPT_BEGIN", 16},
    [RS_WAL_FRAME_CKPT_DATA] = {"CKPT_DATA", CKPT_DATA_MAX},
    [RS_WAL_FRAME_CKPT_END] = {"CKPT_END", 16},
};

uint32_t wal_proto_max_payload(uint8_t type) { return type < RS_WAL_FRAME__COUNT ? types[type].max : 0; }

const char *wal_proto_type_name(uint8_t type)
{
    return type < RS_WAL_FRAME__COUNT && types[type].name != NULL ? types[type].name : "frame of unknown type";
}

size_t wal_identity_encode(const wal_identity *id, uint8_t *out, size_t cap)
{
    size_t name_len = strnlen(id->name, WAL_NAME_MAX);
    if (cap < IDENTITY_FIXED + name_len)
        return 0;
    memcpy(out, id->db_id, 16);
    memcpy(out + 16, id->history, RS_WAL_HISTORY_BYTES);
    rs_le64_put(out + 32, id->latest_seq);
    memcpy(out + 40, id->chain, RS_WAL_CHAIN_BYTES);
    rs_le16_put(out + 72, id->flags);
    out[74] = (uint8_t)name_len;
    memcpy(out + IDENTITY_FIXED, id->name, name_len);
    return IDENTITY_FIXED + name_len;
}

rs_code wal_identity_decode(const uint8_t *p, size_t len, wal_identity *id, rs_err *err)
{
    if (len < IDENTITY_FIXED || p[74] > WAL_NAME_MAX || len != IDENTITY_FIXED + (size_t)p[74])
        return rs_err_set(err, RS_E_PROTOCOL, "IDENTIFY message of %zu bytes is malformed", len);
    memset(id, 0, sizeof *id);
    memcpy(id->db_id, p, 16);
    memcpy(id->history, p + 16, RS_WAL_HISTORY_BYTES);
    id->latest_seq = rs_le64_get(p + 32);
    memcpy(id->chain, p + 40, RS_WAL_CHAIN_BYTES);
    id->flags = rs_le16_get(p + 72);
    memcpy(id->name, p + IDENTITY_FIXED, p[74]);
    /* the name is shown in logs: keep it printable */
    for (size_t i = 0; id->name[i] != '\0'; i++)
        if (id->name[i] < 0x20 || id->name[i] > 0x7e)
            id->name[i] = '?';
    return RS_OK;
}

size_t wal_welcome_encode(const wal_welcome *w, uint8_t *out, size_t cap)
{
    if (cap < WELCOME_BYTES)
        return 0;
    memcpy(out, w->db_id, 16);
    memcpy(out + 16, w->history, RS_WAL_HISTORY_BYTES);
    rs_le64_put(out + 32, w->primary_seq);
    out[40] = w->mode;
    return WELCOME_BYTES;
}

rs_code wal_welcome_decode(const uint8_t *p, size_t len, wal_welcome *w, rs_err *err)
{
    if (len != WELCOME_BYTES || p[40] > WAL_MODE_CHECKPOINT)
        return rs_err_set(err, RS_E_PROTOCOL, "WELCOME message of %zu bytes is malformed", len);
    memcpy(w->db_id, p, 16);
    memcpy(w->history, p + 16, RS_WAL_HISTORY_BYTES);
    w->primary_seq = rs_le64_get(p + 32);
    w->mode = p[40];
    return RS_OK;
}

rs_code wal_send_refusal(wal_conn *c, wal_refusal why, const char *msg)
{
    uint8_t buf[2 + REFUSE_MSG_MAX];
    size_t n = strnlen(msg, REFUSE_MSG_MAX);
    rs_le16_put(buf, (uint16_t)why);
    memcpy(buf + 2, msg, n);
    rs_err ignored = RS_ERR_INIT; /* the peer may already be gone: nothing to add */
    return wal_conn_send_msg(c, RS_WAL_FRAME_REFUSE, buf, 2 + n, &ignored);
}

int wal_refusal_code(const rs_wal_frame *f)
{
    return f->type == RS_WAL_FRAME_REFUSE && f->payload_len >= 2 ? rs_le16_get(f->payload) : 0;
}

static rs_code refusal_code_to_rs(int why)
{
    switch (why) {
    case WAL_REFUSE_AUTH: case WAL_REFUSE_ENCRYPTION: return RS_E_AUTH;
    case WAL_REFUSE_DATABASE: case WAL_REFUSE_HISTORY: case WAL_REFUSE_AHEAD: return RS_E_INVALID;
    case WAL_REFUSE_BUSY: return RS_E_BUSY;
    case WAL_REFUSE_DIVERGED: return RS_E_CORRUPT;
    case WAL_REFUSE_BEHIND: return RS_E_GAP;
    default: return RS_E_PROTOCOL;
    }
}

rs_code wal_refusal_to_err(const rs_wal_frame *f, rs_err *err)
{
    int why = wal_refusal_code(f);
    char msg[REFUSE_MSG_MAX + 1] = "";
    if (f->payload_len > 2) {
        size_t n = f->payload_len - 2 > REFUSE_MSG_MAX ? REFUSE_MSG_MAX : f->payload_len - 2;
        memcpy(msg, f->payload + 2, n);
        msg[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (msg[i] < 0x20 || msg[i] > 0x7e)
                msg[i] = '?';
    }
    return rs_err_set(err, refusal_code_to_rs(why), "refused by peer: %s", msg);
}

rs_code wal_send_ack(wal_conn *c, const wal_ack *a, rs_err *err)
{
    uint8_t buf[ACK_BYTES];
    rs_le64_put(buf, a->applied_seq);
    rs_le64_put(buf + 8, a->durable_seq);
    memcpy(buf + 16, a->chain, RS_WAL_CHAIN_BYTES);
    rs_le64_put(buf + 48, a->applied_version);
    return wal_conn_send_msg(c, RS_WAL_FRAME_ACK, buf, sizeof buf, err);
}

rs_code wal_ack_decode(const rs_wal_frame *f, wal_ack *a, rs_err *err)
{
    if (f->payload_len != ACK_BYTES)
        return rs_err_set(err, RS_E_PROTOCOL, "ACK message of %u bytes is malformed", f->payload_len);
    a->applied_seq = rs_le64_get(f->payload);
    a->durable_seq = rs_le64_get(f->payload + 8);
    memcpy(a->chain, f->payload + 16, RS_WAL_CHAIN_BYTES);
    a->applied_version = rs_le64_get(f->payload + 48);
    return RS_OK;
}

rs_code wal_send_heartbeat(wal_conn *c, uint64_t latest_seq, rs_err *err)
{
    uint8_t buf[HEARTBEAT_BYTES];
    rs_le64_put(buf, latest_seq);
    rs_le64_put(buf + 8, rs_clock_wall_ns());
    return wal_conn_send_msg(c, RS_WAL_FRAME_HEARTBEAT, buf, sizeof buf, err);
}

uint64_t wal_heartbeat_seq(const rs_wal_frame *f)
{
    return f->payload_len == HEARTBEAT_BYTES ? rs_le64_get(f->payload) : 0;
}
