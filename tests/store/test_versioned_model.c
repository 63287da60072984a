/*
 * store: versioned state against a model. A seeded random sequence of
 * commits, reads and scans at random versions, rollbacks, pins, prunes
 * under changing policies, compactions (so the history filter really
 * drops) and reopens, each checked against an in-memory copy of every
 * version. Phase one prunes on request, so the model knows the readable
 * range exactly; phase two lets the background pruner run and checks that
 * whatever it did is allowed. RS_TEST_SEED=N replays another sequence;
 * RS_TEST_CHECK_ALL=1 checks every version after every step (slow: to find
 * the first step that goes wrong) and says which step that was.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/workload.h"
#include "store/store.h"
#include "testlib/testlib.h"

/* Keys chosen to stress the history encoding: empty, zero bytes, 0xff,
 * and keys that are prefixes of others. */
static const struct {
    const char *b;
    size_t      len;
} KEYS[] = {
    {"", 0},        {"\0", 1},     {"\0\0", 2},    {"\0\x01", 2},  {"\x01", 1},   {"a", 1},
    {"a\0", 2},     {"a\0b", 3},   {"a\xff", 2},   {"ab", 2},      {"abc", 3},    {"b", 1},
    {"b\0\0\0", 4}, {"ba", 2},     {"c", 1},       {"cc", 2},      {"d\x01\0", 3}, {"e", 1},
    {"\xff", 1},    {"\xff\0", 2}, {"\xff\xff", 2}, {"z", 1},       {"zz\0", 3},   {"zzz", 3},
};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])
#define MAX_VAL 24
#define MAX_VERSIONS 4096

struct mval {
    uint8_t present, len;
    uint8_t b[MAX_VAL];
};

struct mstate {
    struct mval v[NKEYS];
};

struct model {
    struct mstate *states;      /* states[v]: as of version v; [0] empty */
    uint8_t       *kept;        /* kept[v]: keep-every kept it */
    uint64_t       latest, earliest;
    uint64_t       pins[8];
    size_t         n_pins;
    uint64_t       follower;    /* 0: none */
    rs_store_prune_policy pol;
};

struct fixture {
    char     *dir;
    char     *db;
    rs_store *s;
    uint64_t  rng;
    struct model m;
    uint64_t  seed;
    uint64_t  n_checked;
    int       check_each; /* RS_TEST_CHECK_ALL */
    int       step;
};

static uint64_t rnd(struct fixture *f, uint64_t n)
{
    f->rng = rs_workload_mix(f->rng);
    return f->rng % n;
}

/* ------------------------------------------------------------------ */

static void open_store(struct fixture *f, const rs_store_prune_policy *pol)
{
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE, .write_buffer_bytes = 256 << 10,
                           .block_cache_bytes = 8 << 20, .background_jobs = 2};
    if (pol != NULL)
        cfg.prune = *pol;
    rs_err err = RS_ERR_INIT;
    if (rs_store_open(f->db, &cfg, &f->s, &err) != RS_OK)
        fail_msg("seed %" PRIu64 ": open: %s", f->seed, err.msg);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    const char *seed = getenv("RS_TEST_SEED");
    f->seed = seed != NULL ? strtoull(seed, NULL, 10) : 20240611;
    f->rng = f->seed;
    f->check_each = getenv("RS_TEST_CHECK_ALL") != NULL;
    f->dir = rs_test_tmpdir("vmodel");
    f->db = rs_test_path(f->dir, "db");
    f->m.states = calloc(MAX_VERSIONS + 1, sizeof *f->m.states);
    f->m.kept = calloc(MAX_VERSIONS + 1, 1);
    f->m.pol.mode = RS_STORE_PRUNE_NOTHING;
    open_store(f, &f->m.pol);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rs_store_close(f->s);
    free(f->m.states);
    free(f->m.kept);
    free(f->db);
    rs_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ */
/* What the model says                                                 */
/* ------------------------------------------------------------------ */

static int readable(const struct model *m, uint64_t v)
{
    if (v == 0 || v > m->latest)
        return 0;
    return v >= m->earliest || m->kept[v];
}

static void expect_range_error(struct fixture *f, const rs_err *err, uint64_t v, const char *what)
{
    char want[96];
    snprintf(want, sizeof want, "readable versions are [%" PRIu64 ", %" PRIu64 "]", f->m.earliest, f->m.latest);
    if (f->m.latest == 0)
        snprintf(want, sizeof want, "no version has been committed");
    if (err->code != RS_E_NOTFOUND || strstr(err->msg, want) == NULL)
        fail_msg("seed %" PRIu64 ": %s at %" PRIu64 ": expected '%s', got %d '%s'", f->seed, what, v, want,
                 err->code, err->msg);
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

static void op_commit(struct fixture *f)
{
    struct model *m = &f->m;
    if (m->latest >= MAX_VERSIONS)
        return;
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_batch_create(&b, &err), RS_OK);
    struct mstate next = m->states[m->latest];
    size_t n = 1 + rnd(f, 6);
    for (size_t i = 0; i < n; i++) {
        size_t k = rnd(f, NKEYS);
        if (rnd(f, 4) == 0) {
            rs_store_batch_delete(b, (const uint8_t *)KEYS[k].b, KEYS[k].len);
            next.v[k].present = 0;
        } else {
            struct mval *mv = &next.v[k];
            mv->present = 1;
            mv->len = (uint8_t)rnd(f, MAX_VAL + 1);
            for (size_t j = 0; j < mv->len; j++)
                mv->b[j] = (uint8_t)rnd(f, 256);
            rs_store_batch_put(b, (const uint8_t *)KEYS[k].b, KEYS[k].len, mv->b, mv->len);
        }
    }
    if (rnd(f, 20) == 0) { /* a wrong version is refused and changes nothing */
        uint64_t wrong = m->latest + 2 + rnd(f, 3);
        assert_int_equal(rs_store_commit(f->s, wrong, b, &err), RS_E_INVALID);
        char want[64];
        snprintf(want, sizeof want, "expected version %" PRIu64, m->latest + 1);
        assert_non_null(strstr(err.msg, want));
        assert_int_equal(rs_store_version_latest(f->s), m->latest);
        rs_err_clear(&err);
    }
    if (rs_store_commit(f->s, m->latest + 1, b, &err) != RS_OK)
        fail_msg("seed %" PRIu64 ": commit %" PRIu64 ": %s", f->seed, m->latest + 1, err.msg);
    rs_store_batch_destroy(b);
    m->latest++;
    m->states[m->latest] = next;
    m->kept[m->latest] = 0;
    if (m->earliest == 0)
        m->earliest = 1;
}

static void check_get(struct fixture *f, uint64_t v, size_t k)
{
    rs_err err = RS_ERR_INIT;
    rs_store_value val = {0};
    rs_code rc = rs_store_get_at(f->s, v, (const uint8_t *)KEYS[k].b, KEYS[k].len, &val, &err);
    if (!readable(&f->m, v)) {
        assert_int_not_equal(rc, RS_OK);
        expect_range_error(f, &err, v, "get");
        return;
    }
    const struct mval *want = &f->m.states[v].v[k];
    if (rc == RS_E_NOTFOUND && err.code == RS_OK && !want->present)
        return;
    if (rc != RS_OK || !want->present || val.len != want->len || memcmp(val.data, want->b, val.len) != 0)
        fail_msg("seed %" PRIu64 " step %d: get key %zu at %" PRIu64 " (latest %" PRIu64 ", earliest %" PRIu64
                 "): rc %d '%s', want %s",
                 f->seed, f->step, k, v, f->m.latest, f->m.earliest, rc, err.msg,
                 want->present ? "a value" : "absent");
    rs_store_value_release(&val);
    f->n_checked++;
}

static void op_get(struct fixture *f)
{
    uint64_t v = rnd(f, f->m.latest + 3);
    check_get(f, v, rnd(f, NKEYS));
}

/* ---- scans ---------------------------------------------------------- */

struct got {
    size_t  n;
    size_t  keys[NKEYS + 1];
    int     mismatch;
    const struct mstate *st;
};

static size_t key_index(const uint8_t *k, size_t len)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (KEYS[i].len == len && memcmp(KEYS[i].b, k, len) == 0)
            return i;
    return NKEYS;
}

static int collect(void *arg, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    struct got *g = arg;
    size_t i = key_index(k, klen);
    if (i == NKEYS || g->n == NKEYS || !g->st->v[i].present || g->st->v[i].len != vlen ||
        memcmp(g->st->v[i].b, v, vlen) != 0) {
        g->mismatch = 1;
        return 1;
    }
    g->keys[g->n++] = i;
    return 0;
}

static int cmp_key_index(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    size_t n = KEYS[i].len < KEYS[j].len ? KEYS[i].len : KEYS[j].len;
    int c = memcmp(KEYS[i].b, KEYS[j].b, n);
    if (c != 0)
        return c;
    return KEYS[i].len < KEYS[j].len ? -1 : KEYS[i].len > KEYS[j].len;
}

static int in_range(size_t i, const rs_store_range *r)
{
    const uint8_t *k = (const uint8_t *)KEYS[i].b;
    size_t len = KEYS[i].len;
    if (r->prefix != NULL && (len < r->prefix_len || memcmp(k, r->prefix, r->prefix_len) != 0))
        return 0;
    if (r->start != NULL) {
        size_t n = len < r->start_len ? len : r->start_len;
        int c = memcmp(k, r->start, n);
        if (c < 0 || (c == 0 && len < r->start_len))
            return 0;
    }
    if (r->end != NULL) {
        size_t n = len < r->end_len ? len : r->end_len;
        int c = memcmp(k, r->end, n);
        if (c > 0 || (c == 0 && len >= r->end_len))
            return 0;
    }
    return 1;
}

static void check_scan(struct fixture *f, uint64_t v, const rs_store_range *r)
{
    struct got g = {.st = &f->m.states[v]};
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_scan_at(f->s, v, r, collect, &g, &err);
    if (!readable(&f->m, v)) {
        assert_int_not_equal(rc, RS_OK);
        expect_range_error(f, &err, v, "scan");
        return;
    }
    if (rc != RS_OK || g.mismatch)
        fail_msg("seed %" PRIu64 ": scan at %" PRIu64 ": rc %d '%s' mismatch %d", f->seed, v, rc, err.msg,
                 g.mismatch);
    size_t want[NKEYS], n = 0;
    for (size_t i = 0; i < NKEYS; i++)
        if (f->m.states[v].v[i].present && in_range(i, r))
            want[n++] = i;
    qsort(want, n, sizeof want[0], cmp_key_index);
    if (r->reverse)
        for (size_t i = 0; i < n / 2; i++) {
            size_t t = want[i];
            want[i] = want[n - 1 - i];
            want[n - 1 - i] = t;
        }
    if (r->limit != 0 && n > r->limit)
        n = (size_t)r->limit;
    if (g.n != n || memcmp(g.keys, want, n * sizeof want[0]) != 0)
        fail_msg("seed %" PRIu64 ": scan at %" PRIu64 " (reverse %d, limit %" PRIu64 "): %zu keys, want %zu",
                 f->seed, v, r->reverse, r->limit, g.n, n);
    f->n_checked++;
}

static void op_scan(struct fixture *f)
{
    rs_store_range r = {0};
    size_t a = rnd(f, NKEYS), b = rnd(f, NKEYS);
    switch (rnd(f, 4)) {
    case 0: break;
    case 1: r.prefix = (const uint8_t *)KEYS[a].b; r.prefix_len = KEYS[a].len; break;
    case 2: r.start = (const uint8_t *)KEYS[a].b; r.start_len = KEYS[a].len; break;
    default:
        r.start = (const uint8_t *)KEYS[a].b;
        r.start_len = KEYS[a].len;
        r.end = (const uint8_t *)KEYS[b].b;
        r.end_len = KEYS[b].len;
    }
    r.reverse = (int)rnd(f, 2);
    r.limit = rnd(f, 3) == 0 ? 1 + rnd(f, 5) : 0;
    check_scan(f, rnd(f, f->m.latest + 2), &r);
}

/* ---- rollback, prune, pins ----------------------------------------- */

static void op_rollback(struct fixture *f)
{
    struct model *m = &f->m;
    if (m->latest == 0)
        return;
    uint64_t back = rnd(f, 8);
    uint64_t to = m->latest > back ? m->latest - back : 1;
    if (rnd(f, 8) == 0 && m->earliest > 1)
        to = m->earliest - 1;
    rs_err err = RS_ERR_INIT;
    rs_code rc = rs_store_rollback(f->s, to, &err);
    if (to < m->earliest) {
        assert_int_equal(rc, RS_E_NOTFOUND);
        expect_range_error(f, &err, to, "rollback");
        return;
    }
    if (rc != RS_OK)
        fail_msg("seed %" PRIu64 ": rollback to %" PRIu64 ": %s", f->seed, to, err.msg);
    m->latest = to;
}

static uint64_t model_floor(const struct model *m)
{
    const rs_store_prune_policy *p = &m->pol;
    if (p->mode == RS_STORE_PRUNE_NOTHING || m->latest <= p->keep_recent)
        return m->earliest;
    uint64_t floor = m->latest - p->keep_recent;
    for (size_t i = 0; i < m->n_pins; i++)
        if (m->pins[i] >= m->earliest && m->pins[i] < floor)
            floor = m->pins[i];
    if (m->follower != 0 && m->follower < floor)
        floor = m->follower;
    return floor > m->earliest ? floor : m->earliest;
}

static void op_prune(struct fixture *f)
{
    struct model *m = &f->m;
    rs_store_prune_result res;
    rs_err err = RS_ERR_INIT;
    if (rs_store_prune(f->s, &res, &err) != RS_OK)
        fail_msg("seed %" PRIu64 ": prune: %s", f->seed, err.msg);
    uint64_t e_new = model_floor(m);
    for (uint64_t v = m->earliest; v < e_new; v++)
        if (m->pol.keep_every > 0 && v % m->pol.keep_every == 0)
            m->kept[v] = 1;
    if (e_new != res.earliest_after)
        fail_msg("seed %" PRIu64 ": prune went to %" PRIu64 ", model says %" PRIu64, f->seed, res.earliest_after,
                 e_new);
    m->earliest = e_new;
}

static void op_pin(struct fixture *f)
{
    struct model *m = &f->m;
    rs_err err = RS_ERR_INIT;
    if (m->n_pins > 0 && rnd(f, 2) == 0) {
        rs_store_unpin(f->s, m->pins[--m->n_pins]);
        return;
    }
    if (m->n_pins == sizeof m->pins / sizeof m->pins[0] || m->latest == 0)
        return;
    uint64_t v = m->earliest + rnd(f, m->latest - m->earliest + 1);
    assert_int_equal(rs_store_pin(f->s, v, &err), RS_OK);
    m->pins[m->n_pins++] = v;
}

static void op_follower(struct fixture *f)
{
    struct model *m = &f->m;
    if (rnd(f, 2) == 0 || m->latest == 0) {
        rs_store_follower_version_clear(f->s);
        m->follower = 0;
        return;
    }
    m->follower = m->earliest + rnd(f, m->latest - m->earliest + 1);
    rs_store_follower_version_set(f->s, m->follower);
}

/* Phase one: a huge interval, so only rs_store_prune prunes ("everything"
 * is keep-recent 0 here: the preset's interval of 10 would prune by
 * itself). The recorded policy is one of these too. */
static void random_policy(struct fixture *f, rs_store_prune_policy *p)
{
    switch (rnd(f, 5)) {
    case 0: *p = (rs_store_prune_policy){RS_STORE_PRUNE_RECORDED, 0, 0, 0}; break;
    case 1: *p = (rs_store_prune_policy){RS_STORE_PRUNE_NOTHING, 0, 0, 0}; break;
    case 2: *p = (rs_store_prune_policy){RS_STORE_PRUNE_CUSTOM, 0, 0, 1000000}; break;
    default:
        *p = (rs_store_prune_policy){RS_STORE_PRUNE_CUSTOM, rnd(f, 12), rnd(f, 3) == 0 ? 0 : 2 + rnd(f, 6), 1000000};
    }
}

static void op_reopen(struct fixture *f)
{
    struct model *m = &f->m;
    rs_store_close(f->s);
    random_policy(f, &m->pol);
    open_store(f, &m->pol);
    rs_store_prune_policy_get(f->s, &m->pol);
    m->n_pins = 0; /* pins live in memory only */
    m->follower = 0;
    uint64_t e = 0, l = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_range(f->s, &e, &l, &err), RS_OK);
    assert_int_equal(l, m->latest);
    assert_int_equal(e, m->earliest);
}

static void op_compact(struct fixture *f)
{
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_compact(f->s, &err), RS_OK);
}

/* Every readable version, every key; and one version's full scan. */
static void check_all(struct fixture *f)
{
    for (uint64_t v = 0; v <= f->m.latest + 1; v++)
        for (size_t k = 0; k < NKEYS; k += 3)
            check_get(f, v, k);
    rs_store_range all = {0};
    check_scan(f, f->m.latest, &all);
}

static void phase_on_request(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 2500; i++) {
        uint64_t r = rnd(f, 100);
        if (r < 45)
            op_commit(f);
        else if (r < 65)
            op_get(f);
        else if (r < 75)
            op_scan(f);
        else if (r < 80)
            op_rollback(f);
        else if (r < 86)
            op_prune(f);
        else if (r < 89)
            op_pin(f);
        else if (r < 91)
            op_follower(f);
        else if (r < 94)
            op_compact(f);
        else if (r < 96)
            op_reopen(f);
        f->step = i;
        if (i % 500 == 499 || f->check_each)
            check_all(f);
    }
    check_all(f);
    assert_true(f->n_checked > 1000);
}

/* ------------------------------------------------------------------ */
/* Phase two: the background pruner                                    */
/* ------------------------------------------------------------------ */

/* What the store says now; records what keep-every kept on the way. */
static void observe(struct fixture *f)
{
    struct model *m = &f->m;
    uint64_t e = 0, l = 0;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_version_range(f->s, &e, &l, &err), RS_OK);
    assert_int_equal(l, m->latest);
    assert_true(e >= m->earliest);
    for (uint64_t v = m->earliest; v < e; v++)
        if (m->pol.keep_every > 0 && v % m->pol.keep_every == 0)
            m->kept[v] = 1;
    m->earliest = e;
}

/* A read may race a round: a success must be right; a refusal must be for
 * a version that is pruned once the read is over. */
static void racing_get(struct fixture *f)
{
    struct model *m = &f->m;
    observe(f);
    uint64_t v = m->earliest > 3 ? m->earliest - 3 + rnd(f, m->latest - m->earliest + 5) : rnd(f, m->latest + 2);
    size_t k = rnd(f, NKEYS);
    rs_err err = RS_ERR_INIT;
    rs_store_value val = {0};
    rs_code rc = rs_store_get_at(f->s, v, (const uint8_t *)KEYS[k].b, KEYS[k].len, &val, &err);
    observe(f);
    if (rc == RS_OK || (rc == RS_E_NOTFOUND && err.code == RS_OK)) {
        const struct mval *want = &m->states[v].v[k];
        int same = rc == RS_OK ? want->present && val.len == want->len && memcmp(val.data, want->b, val.len) == 0
                               : !want->present;
        if (!same || v == 0 || v > m->latest)
            fail_msg("seed %" PRIu64 ": racing get of key %zu at %" PRIu64 " is wrong", f->seed, k, v);
        rs_store_value_release(&val);
        f->n_checked++;
        return;
    }
    if (readable(m, v))
        fail_msg("seed %" PRIu64 ": racing get at %" PRIu64 " refused though readable [%" PRIu64 ", %" PRIu64
                 "]: %s",
                 f->seed, v, m->earliest, m->latest, err.msg);
}

static void phase_background(void **state)
{
    struct fixture *f = *state;
    struct model *m = &f->m;
    rs_store_close(f->s);
    m->pol = (rs_store_prune_policy){RS_STORE_PRUNE_CUSTOM, 6, 4, 2};
    open_store(f, &m->pol);
    observe(f);
    for (int i = 0; i < 2500; i++) {
        uint64_t r = rnd(f, 100);
        if (r < 55)
            op_commit(f);
        else if (r < 85)
            racing_get(f);
        else if (r < 90 && m->latest > m->earliest + 2) {
            observe(f);
            uint64_t to = m->latest - 1 - rnd(f, 2);
            rs_err err = RS_ERR_INIT;
            rs_code rc = rs_store_rollback(f->s, to, &err);
            if (rc == RS_OK)
                m->latest = to;
            observe(f);
            if (rc != RS_OK && to >= m->earliest)
                fail_msg("seed %" PRIu64 ": rollback to %" PRIu64 " refused: %s", f->seed, to, err.msg);
        } else if (r < 93) {
            op_compact(f);
        }
    }
    rs_store_stats st;
    rs_err err = RS_ERR_INIT;
    assert_int_equal(rs_store_stats_get(f->s, &st, &err), RS_OK);
    assert_true(st.prune_rounds > 0);
    assert_int_equal(st.version_latest, m->latest);
    /* the pruner stops with the store: then the range holds still; what
     * its last rounds kept, they kept under the policy of this phase */
    rs_store_close(f->s);
    rs_store_prune_policy nothing = {RS_STORE_PRUNE_NOTHING, 0, 0, 0};
    open_store(f, &nothing);
    observe(f);
    m->pol = nothing;
    check_all(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(phase_on_request, setup, teardown),
        cmocka_unit_test_setup_teardown(phase_background, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
