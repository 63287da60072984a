/*
 * An attacker in the path between a follower and its primary, for the
 * tests (mitm.c): a TCP proxy on 127.0.0.1 that reads the replication
 * stream message by message and, when armed, changes,
 * replays, reorders or drops what goes by. It holds no key: it rewrites
 * what anyone can recompute (checksums, the chain record, an ACK's chain),
 * as the attack in issue 11 did.
 */
#ifndef RS_TEST_MITM_H
#define RS_TEST_MITM_H

#include <stdatomic.h>
#include <stdint.h>

typedef enum mitm_attack {
    MITM_PASS = 0,     /* forward as is */
    MITM_TAMPER,       /* every BATCH holding "AAAAAAAA": "BBBBBBBB" instead, chain and
                          checksum recomputed, and ACKs' chains swapped back */
    MITM_REPLAY,       /* the next BATCH twice */
    MITM_REORDER,      /* the next BATCH after the frame that follows it */
    MITM_DROP,         /* the next BATCH not at all */
    MITM_DROP_ACK,     /* the next ACK (follower to primary) not at all */
    MITM_FLIP,         /* one byte of the next message to the follower flipped
                          (encrypted sessions too) */
} mitm_attack;

struct mitm;

/* Listens on 127.0.0.1 (a free port, written to addr) and forwards every
 * connection to primary_addr. */
struct mitm *mitm_start(const char *primary_addr, char addr[64]);
void mitm_stop(struct mitm *m);
/* Arms an attack (PASS disarms). REPLAY, REORDER, DROP, DROP_ACK and FLIP
 * fire once, on the next matching frame of a session past its handshake;
 * all but FLIP need an unencrypted session. */
void mitm_arm(struct mitm *m, mitm_attack attack);
/* How many times an attack fired so far. */
int mitm_fired(struct mitm *m);

#endif
