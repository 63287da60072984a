/*
 * The in-test attacker (mitm.h). Each connection gets two threads, one per
 * direction, that read whole frames (a MAC follows each frame past the
 * handshake when the follower speaks protocol 3: HELLO says) and write
 * them on, changed or not. Everything it computes is from docs/format.md:
 * the XXH3 checksum, the chain (BLAKE2b of the previous chain and the
 * batch's records before its chain record, the record's 32-byte value
 * being the batch's last bytes).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/endian.h"
#include "mitm.h"
#include "store/store.h"

#define HDR        80
#define TAG        16
#define MAX_FRAME  (HDR + (2u << 20) + TAG) /* the tests' frames are small */
#define CHAIN_REC  41                       /* tag, cf, key "chain", value: 1+1+1+5+1+32 */
#define RING       4096

enum { T_BATCH = 1, T_HELLO = 2, T_CHALLENGE = 3, T_AUTH = 4, T_IDENTIFY = 5, T_ACK = 9 };

struct session;

struct mitm {
    int             lfd;
    char            primary[64];
    pthread_t       acceptor;
    atomic_int      stopping;
    atomic_int      attack;
    atomic_int      fired;
    pthread_mutex_t mu;               /* sessions */
    struct session *sessions;
};

/* One connection through the proxy. */
struct session {
    struct mitm    *m;
    struct session *next;
    pthread_t       thread;
    int             from_f, to_p;     /* follower side, primary side */
    atomic_int      version;          /* the protocol HELLO asked for */
    atomic_int      encrypted;        /* ... and whether sealed */
    pthread_mutex_t mu;               /* the chains below */
    uint8_t         chain[32];        /* what the follower holds (forged or not) */
    struct {
        uint64_t seq;
        uint8_t  real[32];            /* the primary's chain after the batch ending at seq */
    } ring[RING];
    uint64_t        n_ring;
};

struct pipe_dir {
    struct session *s;
    int             in, out;
    int             to_follower;      /* the primary-to-follower direction */
};

/* ---- frames ------------------------------------------------------------- */

static int read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t got = recv(fd, p, n, 0);
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t put = send(fd, p, n, MSG_NOSIGNAL);
        if (put <= 0)
            return -1;
        p += put;
        n -= (size_t)put;
    }
    return 0;
}

static void rechecksum(uint8_t *f)
{
    uint32_t len = rs_le32_get(f + 8);
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, f, 72);
    XXH3_64bits_update(&st, f + HDR, len);
    rs_le64_put(f + 72, XXH3_64bits_digest(&st));
}

/* Reads one frame (and its MAC, past the handshake of a version 3
 * session) into buf; returns its size, or 0 when the connection ends. */
static size_t read_frame(struct pipe_dir *d, uint8_t *buf, int n_frames)
{
    if (read_all(d->in, buf, HDR) != 0)
        return 0;
    uint32_t len = rs_le32_get(buf + 8);
    /* past the handshake: the follower's third frame on (HELLO, AUTH), the
     * primary's second on (CHALLENGE) */
    int past = n_frames >= (d->to_follower ? 1 : 2);
    if (past && atomic_load(&d->s->encrypted)) {
        /* a sealed message: u32 length, then as many bytes (the header
         * read above is its first 80) */
        size_t total = 4 + rs_le32_get(buf);
        if (total < HDR || total > MAX_FRAME || read_all(d->in, buf + HDR, total - HDR) != 0)
            return 0;
        return total;
    }
    int protected = atomic_load(&d->s->version) >= 3 && past;
    size_t total = HDR + len + (protected ? TAG : 0);
    if (total > MAX_FRAME || read_all(d->in, buf + HDR, total - HDR) != 0)
        return 0;
    return total;
}

/* ---- what the attacker rewrites ----------------------------------------- */

static void remember_real(struct session *s, const uint8_t *f)
{
    uint64_t last = rs_le64_get(f + 16) + rs_le32_get(f + 12) - 1;
    pthread_mutex_lock(&s->mu);
    s->ring[s->n_ring % RING].seq = last;
    memcpy(s->ring[s->n_ring % RING].real, f + 32, 32);
    s->n_ring++;
    pthread_mutex_unlock(&s->mu);
}

/* Changes the value and makes the batch a link of the chain the follower
 * holds, so its checks pass: chain = BLAKE2b(chain || records). */
static void forge(struct session *s, uint8_t *f)
{
    uint32_t len = rs_le32_get(f + 8);
    uint8_t *batch = f + HDR;
    uint8_t *hit = memmem(batch, len, "AAAAAAAA", 8);
    if (hit != NULL) {
        memcpy(hit, "BBBBBBBB", 8);
        atomic_fetch_add(&s->m->fired, 1);
    }
    pthread_mutex_lock(&s->mu);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, s->chain, 32);
    crypto_generichash_update(&st, batch + 12, len - 12 - CHAIN_REC);
    crypto_generichash_final(&st, s->chain, 32);
    memcpy(batch + len - 32, s->chain, 32);
    memcpy(f + 32, s->chain, 32);
    pthread_mutex_unlock(&s->mu);
    rechecksum(f);
}

/* An ACK's chain is the follower's (forged) one: the primary is shown its
 * own instead, so it sees no divergence. */
static void unforge_ack(struct session *s, uint8_t *f)
{
    uint64_t acked = rs_le64_get(f + HDR);
    pthread_mutex_lock(&s->mu);
    for (uint64_t i = s->n_ring > RING ? s->n_ring - RING : 0; i < s->n_ring; i++)
        if (s->ring[i % RING].seq == acked && memcmp(f + HDR + 16, s->ring[i % RING].real, 32) != 0) {
            memcpy(f + HDR + 16, s->ring[i % RING].real, 32);
            rechecksum(f);
        }
    pthread_mutex_unlock(&s->mu);
}

/* Takes an armed one-shot attack if it applies to this frame. */
static int take_attack(struct mitm *m, mitm_attack want)
{
    int expected = want;
    if (!atomic_compare_exchange_strong(&m->attack, &expected, MITM_PASS))
        return 0;
    atomic_fetch_add(&m->fired, 1);
    return 1;
}

static void *pump(void *arg)
{
    struct pipe_dir *d = arg;
    struct session *s = d->s;
    uint8_t *buf = malloc(MAX_FRAME), *held = malloc(MAX_FRAME);
    size_t held_len = 0;
    for (int n = 0; buf != NULL && held != NULL; n++) {
        size_t len = read_frame(d, buf, n);
        if (len == 0)
            break;
        uint8_t type = buf[5];
        if (!d->to_follower && type == T_HELLO && n == 0) {
            atomic_store(&s->version, rs_le16_get(buf + HDR));
            atomic_store(&s->encrypted, (rs_le16_get(buf + HDR + 2) & 1) != 0);
        }
        int past_handshake = n >= (d->to_follower ? 1 : 2);
        if (d->to_follower && past_handshake && atomic_load(&s->encrypted)) {
            if (take_attack(s->m, MITM_FLIP))
                buf[len / 2] ^= 0x01;
            if (write_all(d->out, buf, len) != 0)
                break;
            continue;
        }
        if (!d->to_follower && type == T_IDENTIFY) {
            pthread_mutex_lock(&s->mu);
            memcpy(s->chain, buf + HDR + 40, 32);
            pthread_mutex_unlock(&s->mu);
        }
        int attack = atomic_load(&s->m->attack);
        int out = 1;
        if (d->to_follower && type == T_BATCH) {
            remember_real(s, buf);
            if (attack == MITM_TAMPER)
                forge(s, buf);
            else {
                pthread_mutex_lock(&s->mu);
                memcpy(s->chain, buf + 32, 32);
                pthread_mutex_unlock(&s->mu);
            }
            if (past_handshake && take_attack(s->m, MITM_FLIP))
                buf[HDR + rs_le32_get(buf + 8) / 2] ^= 0x01;
            if (past_handshake && take_attack(s->m, MITM_DROP))
                out = 0;
            else if (past_handshake && take_attack(s->m, MITM_REPLAY))
                out = 2;
            else if (past_handshake && take_attack(s->m, MITM_REORDER)) {
                memcpy(held, buf, len);
                held_len = len;
                continue;
            }
        }
        if (!d->to_follower && type == T_ACK) {
            if (attack == MITM_TAMPER)
                unforge_ack(s, buf);
            if (take_attack(s->m, MITM_DROP_ACK))
                out = 0;
        }
        for (int k = 0; k < out; k++)
            if (write_all(d->out, buf, len) != 0)
                goto done;
        if (held_len > 0 && write_all(d->out, held, held_len) != 0)
            break;
        held_len = 0;
    }
done:
    free(buf);
    free(held);
    shutdown(d->in, SHUT_RDWR);
    shutdown(d->out, SHUT_RDWR);
    return NULL;
}

/* ---- connections ----------------------------------------------------------- */

static int connect_to(const char *addr)
{
    char host[64];
    snprintf(host, sizeof host, "%s", addr);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *serve_session(void *arg)
{
    struct session *s = arg;
    struct pipe_dir up = {.s = s, .in = s->from_f, .out = s->to_p, .to_follower = 0};
    struct pipe_dir down = {.s = s, .in = s->to_p, .out = s->from_f, .to_follower = 1};
    pthread_t t;
    pthread_create(&t, NULL, pump, &up);
    pump(&down);
    pthread_join(t, NULL);
    return NULL;
}

static void *acceptor(void *arg)
{
    struct mitm *m = arg;
    while (!atomic_load(&m->stopping)) {
        int fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int up = connect_to(m->primary);
        if (up < 0) {
            close(fd);
            continue;
        }
        struct session *s = calloc(1, sizeof *s);
        s->m = m;
        s->from_f = fd;
        s->to_p = up;
        pthread_mutex_init(&s->mu, NULL);
        pthread_mutex_lock(&m->mu);
        s->next = m->sessions;
        m->sessions = s;
        pthread_create(&s->thread, NULL, serve_session, s);
        pthread_mutex_unlock(&m->mu);
    }
    return NULL;
}

struct mitm *mitm_start(const char *primary_addr, char addr[64])
{
    struct mitm *m = calloc(1, sizeof *m);
    snprintf(m->primary, sizeof m->primary, "%s", primary_addr);
    m->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(m->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(m->lfd, 16) != 0 ||
        getsockname(m->lfd, (struct sockaddr *)&sa, &sl) != 0) {
        close(m->lfd);
        free(m);
        return NULL;
    }
    snprintf(addr, 64, "127.0.0.1:%u", ntohs(sa.sin_port));
    pthread_mutex_init(&m->mu, NULL);
    pthread_create(&m->acceptor, NULL, acceptor, m);
    return m;
}

void mitm_stop(struct mitm *m)
{
    if (m == NULL)
        return;
    atomic_store(&m->stopping, 1);
    shutdown(m->lfd, SHUT_RDWR);
    pthread_join(m->acceptor, NULL);
    close(m->lfd);
    while (m->sessions != NULL) {
        struct session *s = m->sessions;
        m->sessions = s->next;
        shutdown(s->from_f, SHUT_RDWR);
        shutdown(s->to_p, SHUT_RDWR);
        pthread_join(s->thread, NULL);
        close(s->from_f);
        close(s->to_p);
        pthread_mutex_destroy(&s->mu);
        free(s);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void mitm_arm(struct mitm *m, mitm_attack attack) { atomic_store(&m->attack, attack); }

int mitm_fired(struct mitm *m) { return atomic_load(&m->fired); }
