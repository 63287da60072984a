/*
 * An attacker in the path, without the key (mitm.c), against an
 * unencrypted session: a batch it changes (chain and checksum recomputed,
 * the follower's ACKs swapped back) is never applied, and WAIT does not
 * count it; a frame it replays, reorders or drops, either way, is noticed
 * as failed authentication, never as a divergence: the follower
 * reconnects and resumes, with no checkpoint sent, and ends up identical.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "mitm.h"
#include "repl_fixture.h"

struct attack_fx {
    struct fx    *f;
    struct mitm  *m;
    rs_wal_follower *fo;
};

/* A follower of f's primary through the attacker, bootstrapped. */
static void through_mitm_enc(struct fx *f, struct attack_fx *a, int encrypt)
{
    char real[64], proxy[64];
    snprintf(real, sizeof real, "%s", f->addr);
    a->f = f;
    a->m = mitm_start(real, proxy);
    assert_non_null(a->m);
    snprintf(f->addr, sizeof f->addr, "%s", proxy);
    write_keys(f->store, 0, 100);
    a->fo = start_follower(f, &f->key, encrypt);
    caught_up(a->fo, f->store);
    snprintf(f->addr, sizeof f->addr, "%s", real);
}

static void through_mitm(struct fx *f, struct attack_fx *a) { through_mitm_enc(f, a, 0); }

static void done(struct attack_fx *a)
{
    rs_wal_follower_stop(a->fo);
    mitm_stop(a->m);
}

static rs_wal_follower_status status(rs_wal_follower *fo)
{
    rs_wal_follower_status st;
    rs_wal_follower_status_get(fo, &st);
    return st;
}

/* The follower's value of key, "" if none. */
static void follower_value(rs_wal_follower *fo, const char *key, char out[16])
{
    out[0] = '\0';
    rs_store *s = rs_wal_follower_store_acquire(fo);
    if (s == NULL)
        return;
    rs_store_value v = {0};
    rs_err err = RS_ERR_INIT;
    if (rs_store_get(s, NULL, B(key), strlen(key), &v, &err) == RS_OK) {
        snprintf(out, 16, "%.*s", (int)v.len, (const char *)v.data);
        rs_store_value_release(&v);
    }
    rs_wal_follower_store_release(fo);
}

/* After an attack: the follower catches up by the stream alone, identical,
 * no checkpoint but its bootstrap, no divergence counted. */
static void recovered_without_resync(struct attack_fx *a)
{
    write_keys(a->f->store, 1000, 10);
    caught_up(a->fo, a->f->store);
    same_content(a->fo, a->f->store);
    rs_wal_follower_status st = status(a->fo);
    assert_int_equal(st.n_resyncs, 1);
    assert_int_equal(st.n_divergences, 0);
    rs_wal_primary_stats ps;
    rs_wal_primary_stats_get(a->f->primary, &ps);
    assert_int_equal(ps.n_checkpoints, 1);
    assert_int_equal(ps.n_divergences, 0);
}

static void changed_batch_is_never_applied(void **state)
{
    struct fx *f = *state;
    struct attack_fx a;
    through_mitm(f, &a);
    mitm_arm(a.m, MITM_TAMPER);
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_put(f->store, B("forge-me"), 8, B("AAAAAAAA"), 8, &err), RS_OK);
    uint64_t seq = rs_store_latest_seq(f->store);
    /* the attacker keeps at it: each session it touches ends, and the
     * forged batch is never applied */
    uint64_t until = rs_clock_mono_ns() + 20000ull * 1000000;
    while (status(a.fo).n_auth_failures < 3 && rs_clock_mono_ns() < until) {
        char v[16];
        follower_value(a.fo, "forge-me", v);
        assert_string_not_equal(v, "BBBBBBBB");
        assert_int_equal(rs_wal_primary_count_acked(f->primary, seq), 0);
        rs_wal_follower_wait_applied(a.fo, seq, 20);
    }
    assert_true(mitm_fired(a.m) >= 3);
    assert_true(status(a.fo).n_auth_failures >= 3);
    assert_true(log_says(f, "possible tampering"));
    mitm_arm(a.m, MITM_PASS);
    assert_int_equal(rs_wal_primary_wait(f->primary, seq, 1, WAIT_MS), 1);
    char v[16];
    follower_value(a.fo, "forge-me", v);
    assert_string_equal(v, "AAAAAAAA");
    recovered_without_resync(&a);
    done(&a);
}

/* Arms a one-shot attack, writes until it fired and was noticed. */
static void one_shot(struct fx *f, struct attack_fx *a, mitm_attack attack, int noticed_by_primary)
{
    rs_wal_primary_stats ps;
    mitm_arm(a->m, attack);
    uint64_t until = rs_clock_mono_ns() + 20000ull * 1000000;
    for (int i = 0; rs_clock_mono_ns() < until; i++) {
        write_keys(f->store, 200 + i, 1);
        rs_wal_primary_stats_get(f->primary, &ps);
        uint64_t noticed = noticed_by_primary ? ps.n_auth_failures : status(a->fo).n_auth_failures;
        if (mitm_fired(a->m) == 1 && noticed == 1)
            break;
        rs_wal_follower_wait_applied(a->fo, rs_store_latest_seq(f->store), 20);
    }
    assert_int_equal(mitm_fired(a->m), 1);
    rs_wal_primary_stats_get(f->primary, &ps);
    assert_int_equal(noticed_by_primary ? ps.n_auth_failures : status(a->fo).n_auth_failures, 1);
    recovered_without_resync(a);
}

static void replayed_batch_is_noticed(void **state)
{
    struct attack_fx a;
    through_mitm(*state, &a);
    one_shot(*state, &a, MITM_REPLAY, 0);
    done(&a);
}

static void reordered_batch_is_noticed(void **state)
{
    struct attack_fx a;
    through_mitm(*state, &a);
    one_shot(*state, &a, MITM_REORDER, 0);
    done(&a);
}

static void dropped_batch_is_noticed(void **state)
{
    struct attack_fx a;
    through_mitm(*state, &a);
    one_shot(*state, &a, MITM_DROP, 0);
    done(&a);
}

static void dropped_ack_is_noticed_by_the_primary(void **state)
{
    struct attack_fx a;
    through_mitm(*state, &a);
    one_shot(*state, &a, MITM_DROP_ACK, 1);
    done(&a);
}

static void flipped_byte_is_retried_unencrypted(void **state)
{
    struct attack_fx a;
    through_mitm(*state, &a);
    one_shot(*state, &a, MITM_FLIP, 0);
    done(&a);
}

/* Issue 11: encrypted, the same fault used to stop the follower for good
 * ("a message failed authentication"): it is a transport fault too. */
static void flipped_byte_is_retried_encrypted(void **state)
{
    struct fx *f = *state;
    rs_wal_primary_stop(f->primary);
    start_primary(f, 1);
    struct attack_fx a;
    through_mitm_enc(f, &a, 1);
    one_shot(f, &a, MITM_FLIP, 0);
    assert_int_equal(status(a.fo).state, RS_WAL_FOLLOWER_STREAMING);
    done(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(changed_batch_is_never_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(replayed_batch_is_noticed, setup, teardown),
        cmocka_unit_test_setup_teardown(reordered_batch_is_noticed, setup, teardown),
        cmocka_unit_test_setup_teardown(dropped_batch_is_noticed, setup, teardown),
        cmocka_unit_test_setup_teardown(dropped_ack_is_noticed_by_the_primary, setup, teardown),
        cmocka_unit_test_setup_teardown(flipped_byte_is_retried_unencrypted, setup, teardown),
        cmocka_unit_test_setup_teardown(flipped_byte_is_retried_encrypted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
