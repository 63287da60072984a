/*
 * The primary's door. Anyone who can reach the replication port can
 * connect, so until a peer has proved it holds the key it gets as little
 * as possible: its handshake runs on the listener thread (no thread of its
 * own), in a fixed buffer of a few hundred bytes (every message is bounded
 * by its type's size before a byte is read), at most max_handshakes at
 * once (more are closed at once) and for at most handshake_ms. Only a
 * peer that authenticated gets a session: a queue, a thread, a place among
 * max_followers (shipper.c). Issue 11: 40 connections announcing 64 MiB
 * HELLOs used to take the primary from 70 MB to 2.6 GB.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/endian.h"
#include "common/log.h"
#include "wal/wal_int.h"

#define ACCEPT_POLL_MS 100                   /* how often the listener looks at the stop flag */
#define WARN_EVERY_NS  (60ull * 1000000000)  /* a flood is said once a minute */

enum step { WANT_HELLO, WANT_AUTH };

/* One connection that has not authenticated yet. */
struct pending {
    int       fd;
    char      peer[64];
    uint64_t  deadline_ns;
    enum step step;
    uint8_t   buf[RS_WAL_FRAME_HEADER_BYTES + WAL_CHALLENGE_MAX]; /* the frame being read */
    size_t    got, want;
    wal_hs    hs;
};

struct door {
    rs_wal_primary *p;
    struct pending *slots;    /* max_handshakes of them; fd < 0: free */
    size_t          n_open;
    uint64_t        next_warn_ns;
};

/* ---- closing, refusing, warning ------------------------------------------ */

static void drop(struct door *d, struct pending *pe)
{
    close(pe->fd);
    wal_secure_wipe(&pe->hs.sec);
    pe->fd = -1;
    d->n_open--;
}

/* Counted, and said once a minute at most: a flood must not flood the log. */
static void note_dropped(struct door *d, const char *peer, const char *why)
{
    atomic_fetch_add(&d->p->n_unauth_dropped, 1);
    uint64_t now = rs_clock_mono_ns();
    if (now < d->next_warn_ns)
        return;
    d->next_warn_ns = now + WARN_EVERY_NS;
    RS_LOG_WARN("replication: closed unauthenticated connection addr=%s: %s (said at most once a minute; "
                "repl_unauth_dropped counts them all)", peer, why);
}

/* A peer refused before it authenticated: told why, in the clear. */
static void refuse_plain(struct door *d, struct pending *pe, wal_refusal why, const rs_err *err)
{
    uint8_t buf[2 + 200];
    size_t n = strnlen(err->msg, 200);
    rs_le16_put(buf, (uint16_t)why);
    memcpy(buf + 2, err->msg, n);
    wal_send_plain_now(pe->fd, RS_WAL_FRAME_REFUSE, buf, 2 + n);
    RS_LOG_WARN("follower=%s refused: %s", pe->peer, err->msg);
    atomic_fetch_add(&d->p->n_refused, 1);
    drop(d, pe);
}

/* ---- the handshake's steps ------------------------------------------------- */

static void on_hello(struct door *d, struct pending *pe, const rs_wal_frame *f)
{
    rs_err err = RS_ERR_INIT;
    wal_refusal why;
    if (wal_hs_hello(&pe->hs, f->payload, f->payload_len, d->p->cfg.require_encryption, &why, &err) != RS_OK) {
        refuse_plain(d, pe, why, &err);
        return;
    }
    uint8_t ch[WAL_CHALLENGE_MAX];
    size_t n = wal_hs_challenge(&pe->hs, &d->p->cfg.key, ch);
    /* a fresh socket's buffer takes a CHALLENGE whole: one that does not
     * is a peer not reading, and is not waited for */
    if (wal_send_plain_now(pe->fd, RS_WAL_FRAME_CHALLENGE, ch, n) != 0) {
        note_dropped(d, pe->peer, "it does not read");
        drop(d, pe);
        return;
    }
    pe->step = WANT_AUTH;
}

/* Authenticated (or refused through the session's protection, which the
 * peer can check): the connection leaves the door. */
static void on_auth(struct door *d, struct pending *pe, const rs_wal_frame *f)
{
    rs_wal_primary *p = d->p;
    rs_err err = RS_ERR_INIT;
    rs_code rc = wal_hs_auth(&pe->hs, &p->cfg.key, f->payload, f->payload_len, &err);
    wal_conn *c = NULL;
    rs_err cerr = RS_ERR_INIT;
    int fd = pe->fd;
    pe->fd = -1; /* the connection takes it, even on failure */
    d->n_open--;
    if (wal_conn_create(fd, pe->peer, p->cfg.queue_bytes, p->cfg.send_deadline_ms, &c, &cerr) != RS_OK) {
        wal_secure_wipe(&pe->hs.sec);
        RS_LOG_ERR("follower=%s dropped: %s", pe->peer, cerr.msg);
        return;
    }
    wal_conn_secure(c, &pe->hs.sec);
    c->max_payload = WAL_FOLLOWER_MSG_MAX; /* a follower sends small messages only */
    if (rc != RS_OK) {
        wal_send_refusal(c, WAL_REFUSE_AUTH, "wrong replication key: the primary refuses this follower");
        RS_LOG_WARN("follower=%s refused: %s", pe->peer, err.msg);
        atomic_fetch_add(&p->n_refused, 1);
        wal_conn_close(c);
        return;
    }
    wal_primary_start_session(p, c);
}

/* The follower refused our proof: its key differs. */
static void on_refused(struct door *d, struct pending *pe, const rs_wal_frame *f)
{
    rs_err err = RS_ERR_INIT;
    wal_refusal_to_err(f, &err);
    RS_LOG_WARN("follower=%s handshake failed: %s", pe->peer, err.msg);
    atomic_fetch_add(&d->p->n_refused, 1);
    drop(d, pe);
}

/* The header is in: is it what this step expects, no longer than its
 * type allows? Then the payload is read into the same buffer. */
static int header_ok(struct door *d, struct pending *pe)
{
    rs_wal_frame f;
    rs_err err = RS_ERR_INIT;
    uint8_t want = pe->step == WANT_HELLO ? RS_WAL_FRAME_HELLO : RS_WAL_FRAME_AUTH;
    if (rs_wal_frame_decode_header(pe->buf, RS_WAL_FRAME_HEADER_BYTES, &f, &err) != RS_OK) {
        note_dropped(d, pe->peer, err.msg);
        return 0;
    }
    if ((f.type != want && !(pe->step == WANT_AUTH && f.type == RS_WAL_FRAME_REFUSE)) ||
        f.payload_len > wal_proto_max_payload(f.type) ||
        f.payload_len > sizeof pe->buf - RS_WAL_FRAME_HEADER_BYTES) {
        char why[128];
        snprintf(why, sizeof why, "a %s of %u bytes where a %s was due", wal_proto_type_name(f.type),
                 f.payload_len, wal_proto_type_name(want));
        note_dropped(d, pe->peer, why);
        return 0;
    }
    pe->want = RS_WAL_FRAME_HEADER_BYTES + f.payload_len;
    return 1;
}

static void on_frame(struct door *d, struct pending *pe)
{
    rs_wal_frame f;
    rs_err err = RS_ERR_INIT;
    if (rs_wal_frame_decode_header(pe->buf, RS_WAL_FRAME_HEADER_BYTES, &f, &err) != RS_OK ||
        rs_wal_frame_check(pe->buf, &f, pe->buf + RS_WAL_FRAME_HEADER_BYTES, &err) != RS_OK) {
        note_dropped(d, pe->peer, err.msg);
        drop(d, pe);
        return;
    }
    pe->got = 0;
    pe->want = RS_WAL_FRAME_HEADER_BYTES;
    if (f.type == RS_WAL_FRAME_REFUSE)
        on_refused(d, pe, &f);
    else if (pe->step == WANT_HELLO)
        on_hello(d, pe, &f);
    else
        on_auth(d, pe, &f);
}

/* Reads what the peer sent, exactly up to the end of the frame due (a
 * follower sends IDENTIFY right after AUTH: those bytes are its session's). */
static void on_readable(struct door *d, struct pending *pe)
{
    ssize_t n = recv(pe->fd, pe->buf + pe->got, pe->want - pe->got, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        drop(d, pe); /* gone: nothing to say */
        return;
    }
    if (n < 0)
        return;
    pe->got += (size_t)n;
    if (pe->got < pe->want)
        return;
    if (pe->want == RS_WAL_FRAME_HEADER_BYTES && !header_ok(d, pe)) {
        drop(d, pe);
        return;
    }
    if (pe->got == pe->want)
        on_frame(d, pe);
}

/* ---- the loop --------------------------------------------------------------- */

static void admit(struct door *d, int fd, const char *peer)
{
    rs_wal_primary *p = d->p;
    if (d->n_open >= p->cfg.max_handshakes) {
        close(fd);
        note_dropped(d, peer, "too many connections are already authenticating");
        return;
    }
    for (size_t i = 0; i < p->cfg.max_handshakes; i++) {
        struct pending *pe = &d->slots[i];
        if (pe->fd >= 0)
            continue;
        memset(pe, 0, sizeof *pe);
        pe->fd = fd;
        snprintf(pe->peer, sizeof pe->peer, "%s", peer);
        pe->deadline_ns = rs_clock_mono_ns() + (uint64_t)p->cfg.handshake_ms * 1000000u;
        pe->step = WANT_HELLO;
        pe->want = RS_WAL_FRAME_HEADER_BYTES;
        d->n_open++;
        return;
    }
}

static void expire(struct door *d)
{
    uint64_t now = rs_clock_mono_ns();
    for (size_t i = 0; i < d->p->cfg.max_handshakes; i++) {
        struct pending *pe = &d->slots[i];
        if (pe->fd >= 0 && now >= pe->deadline_ns) {
            char why[64];
            snprintf(why, sizeof why, "no handshake within %u ms", d->p->cfg.handshake_ms);
            note_dropped(d, pe->peer, why);
            drop(d, pe);
        }
    }
}

/* Waits for the listener or a pending connection, at most until the next
 * deadline or the next look at the stop flag. */
static void wait_and_serve(struct door *d, struct pollfd *pfd)
{
    rs_wal_primary *p = d->p;
    size_t n = 0, max = p->cfg.max_handshakes;
    pfd[n++] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
    uint64_t now = rs_clock_mono_ns(), next = now + ACCEPT_POLL_MS * 1000000ull;
    for (size_t i = 0; i < max; i++) {
        pfd[1 + i] = (struct pollfd){.fd = d->slots[i].fd, .events = POLLIN};
        if (d->slots[i].fd >= 0 && d->slots[i].deadline_ns < next)
            next = d->slots[i].deadline_ns;
    }
    int timeout = next > now ? (int)((next - now + 999999) / 1000000) : 0;
    if (poll(pfd, 1 + max, timeout) <= 0)
        return;
    for (size_t i = 0; i < max; i++)
        if (d->slots[i].fd >= 0 && (pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR)))
            on_readable(d, &d->slots[i]);
    for (int k = 0; (pfd[0].revents & POLLIN) && k < 64; k++) { /* take what is waiting */
        int fd = -1;
        char peer[64];
        rs_err err = RS_ERR_INIT;
        rs_code rc = wal_net_accept(p->lfd, 0, &fd, peer, sizeof peer, &err);
        if (rc == RS_OK)
            admit(d, fd, peer);
        else if (rc != RS_E_TIMEOUT)
            RS_LOG_WARN("replication listener: %s", err.msg);
        if (rc != RS_OK)
            break;
    }
}

void *wal_listener_main(void *arg)
{
    rs_wal_primary *p = arg;
    struct door d = {.p = p};
    d.slots = calloc(p->cfg.max_handshakes, sizeof *d.slots);
    struct pollfd *pfd = calloc(1 + p->cfg.max_handshakes, sizeof *pfd);
    if (d.slots == NULL || pfd == NULL) {
        RS_LOG_ERR("replication listener: out of memory: no follower can connect");
        free(d.slots);
        free(pfd);
        return NULL;
    }
    for (size_t i = 0; i < p->cfg.max_handshakes; i++)
        d.slots[i].fd = -1;
    while (!atomic_load(&p->stopping)) {
        wait_and_serve(&d, pfd);
        expire(&d);
        wal_primary_reap(p, 0);
    }
    for (size_t i = 0; i < p->cfg.max_handshakes; i++)
        if (d.slots[i].fd >= 0)
            drop(&d, &d.slots[i]);
    wal_primary_reap(p, 1);
    free(d.slots);
    free(pfd);
    return NULL;
}
