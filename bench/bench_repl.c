/*
 * bench_repl: replication figures, each against a reference measured in
 * the same run on the same machine.
 *
 *  1. apply rate: the primary writes N batches as fast as it can with one
 *     follower attached; the follower's rate is N over the time until its
 *     applied sequence equals the primary's. Ratio follower / primary.
 *  2. lag: the primary writes at a steady rate (default 100K writes/s); the
 *     follower records now - commit time of every batch it applies. P50,
 *     P99, max.
 *  3. cost: the primary's write rate with 0, 1 and 2 followers attached.
 *     Ratios against 0.
 *
 * Everything runs in this process over loopback TCP, databases on disk
 * under --dir (default $TMPDIR), sync policy "none" on both sides so the
 * figures measure replication, not fsync.
 *
 *   bench_repl [--batches N] [--ops-per-batch K] [--value-size B]
 *              [--rate WRITES_PER_SEC] [--seconds S] [--dir DIR]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/workload.h"
#include "wal/wal.h"

struct opts {
    uint64_t batches, ops, value_size, rate, seconds;
    const char *dir;
};

struct env {
    struct opts     o;
    char           *root;
    rs_store       *primary;
    rs_wal_primary *shipper;
    rs_wal_key      key;
    char            addr[64];
    uint64_t        next_key;
};

static void die(const char *what, const rs_err *err)
{
    fprintf(stderr, "bench_repl: %s: %s\n", what, err->msg);
    exit(1);
}

static rs_store *open_db(const char *path)
{
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE, .disable_statistics = 1};
    rs_err err = RS_ERR_INIT;
    rs_store *s = NULL;
    if (rs_store_open(path, &cfg, &s, &err) != RS_OK)
        die("open", &err);
    return s;
}

/* Writes n batches of o.ops puts; returns the seconds it took. */
static double write_batches(struct env *e, uint64_t n)
{
    rs_workload w = {.seed = 7, .key_size = 16, .value_size = e->o.value_size, .compressibility = 0.5};
    uint8_t key[16], *val = malloc(e->o.value_size);
    rs_store_batch *b = NULL;
    rs_err err = RS_ERR_INIT;
    rs_store_batch_create(&b, &err);
    uint64_t t0 = rs_clock_mono_ns();
    for (uint64_t i = 0; i < n; i++) {
        rs_store_batch_clear(b);
        for (uint64_t j = 0; j < e->o.ops; j++, e->next_key++) {
            rs_workload_key(&w, e->next_key, key);
            rs_workload_value(&w, e->next_key, val);
            rs_store_batch_put(b, key, sizeof key, val, e->o.value_size);
        }
        if (rs_store_write(e->primary, b, &err) != RS_OK)
            die("write", &err);
    }
    double s = (double)(rs_clock_mono_ns() - t0) / 1e9;
    rs_store_batch_destroy(b);
    free(val);
    return s;
}

/* ---- followers ---------------------------------------------------------- */

/* Every batch's lag, in microseconds, sorted at the end. */
struct lag {
    uint32_t *us;
    uint64_t  n, cap;
    int       on;
};

static void on_applied(void *arg, uint64_t last_seq, uint64_t commit_time_ns)
{
    (void)last_seq;
    struct lag *l = arg;
    if (!l->on || l->n == l->cap)
        return;
    uint64_t now = rs_clock_wall_ns();
    uint64_t us = now > commit_time_ns ? (now - commit_time_ns) / 1000u : 0;
    l->us[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(const struct lag *l, double p)
{
    if (l->n == 0)
        return 0;
    uint64_t i = (uint64_t)((double)(l->n - 1) * p);
    return l->us[i] / 1000.0;
}

static rs_wal_follower *follow(struct env *e, int i, struct lag *lag)
{
    char *path = NULL;
    if (asprintf(&path, "%s/follower%d", e->root, i) < 0)
        exit(1);
    rs_wal_follower_config fc = {.db_path = path, .primary_addr = e->addr, .key = e->key, .name = "bench",
                                 .store_cfg = {.sync = RS_STORE_SYNC_NONE, .disable_statistics = 1},
                                 .applied_fn = lag != NULL ? on_applied : NULL, .applied_arg = lag};
    rs_err err = RS_ERR_INIT;
    rs_wal_follower *f = NULL;
    if (rs_wal_follower_start(&fc, &f, &err) != RS_OK)
        die("follower", &err);
    free(path);
    uint64_t want = rs_store_latest_seq(e->primary);
    if (rs_wal_follower_wait_applied(f, want, 60000) < want) {
        fprintf(stderr, "bench_repl: follower did not catch up\n");
        exit(1);
    }
    return f;
}

static void unfollow(struct env *e, rs_wal_follower *f, int i)
{
    rs_wal_follower_stop(f);
    char *path = NULL;
    if (asprintf(&path, "%s/follower%d", e->root, i) < 0)
        exit(1);
    rs_fs_remove_tree(path, NULL);
    free(path);
}

/* ---- the three measurements ------------------------------------------------ */

/* Returns the primary's write rate in writes per second. */
static double apply_rate(struct env *e)
{
    rs_wal_follower *f = follow(e, 0, NULL);
    uint64_t t0 = rs_clock_mono_ns();
    double write_s = write_batches(e, e->o.batches);
    uint64_t want = rs_store_latest_seq(e->primary);
    if (rs_wal_follower_wait_applied(f, want, 600000) < want) {
        fprintf(stderr, "bench_repl: follower fell behind for good\n");
        exit(1);
    }
    double total_s = (double)(rs_clock_mono_ns() - t0) / 1e9;
    double pw = (double)e->o.batches / write_s, fw = (double)e->o.batches / total_s;
    printf("apply rate: primary wrote %llu batches of %llu puts in %.2f s (%.0f batches/s); follower caught up "
           "after %.2f s (%.0f batches/s): ratio %.2f (target >= 0.90)\n",
           (unsigned long long)e->o.batches, (unsigned long long)e->o.ops, write_s, pw, total_s, fw, fw / pw);
    unfollow(e, f, 0);
    return pw * (double)e->o.ops;
}

/* Returns the share of milliseconds in which the writer was late. */
static double steady_lag(struct env *e, uint64_t rate)
{
    struct lag lag = {.cap = rate * e->o.seconds * 2 / e->o.ops + 1000};
    lag.us = malloc(lag.cap * sizeof *lag.us);
    rs_wal_follower *f = follow(e, 0, &lag);
    lag.on = 1;
    uint64_t per_tick = rate / 1000 / e->o.ops; /* batches per millisecond */
    if (per_tick == 0)
        per_tick = 1;
    uint64_t t0 = rs_clock_mono_ns(), ticks = e->o.seconds * 1000, behind = 0;
    for (uint64_t t = 0; t < ticks; t++) {
        write_batches(e, per_tick);
        uint64_t due = t0 + (t + 1) * 1000000u, now = rs_clock_mono_ns();
        if (now < due)
            rs_clock_sleep_us((due - now) / 1000u);
        else
            behind++;
    }
    double secs = (double)(rs_clock_mono_ns() - t0) / 1e9;
    uint64_t want = rs_store_latest_seq(e->primary);
    rs_wal_follower_wait_applied(f, want, 60000);
    lag.on = 0;
    qsort(lag.us, lag.n, sizeof *lag.us, by_value);
    printf("lag at %.0f writes/s for %.1f s (%llu batches applied, writer late in %llu of %llu ms): "
           "P50 %.3f ms, P99 %.3f ms, max %.3f ms (target P99 <= 10 ms)\n",
           (double)(ticks * per_tick * e->o.ops) / secs, secs, (unsigned long long)lag.n,
           (unsigned long long)behind, (unsigned long long)ticks, percentile_ms(&lag, 0.50),
           percentile_ms(&lag, 0.99), percentile_ms(&lag, 1.0));
    unfollow(e, f, 0);
    free(lag.us);
    return (double)behind / (double)ticks;
}

static void primary_cost(struct env *e)
{
    double rate[3];
    for (int n = 0; n <= 2; n++) {
        rs_wal_follower *f[2] = {NULL, NULL};
        for (int i = 0; i < n; i++)
            f[i] = follow(e, i, NULL);
        rate[n] = (double)e->o.batches / write_batches(e, e->o.batches);
        uint64_t want = rs_store_latest_seq(e->primary);
        for (int i = 0; i < n; i++) {
            rs_wal_follower_wait_applied(f[i], want, 600000);
            unfollow(e, f[i], i);
        }
    }
    printf("primary write rate: 0 followers %.0f batches/s; 1 follower %.0f (%.2f); 2 followers %.0f (%.2f) "
           "(target >= 0.90 with 2)\n", rate[0], rate[1], rate[1] / rate[0], rate[2], rate[2] / rate[0]);
}

static void parse(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"batches", required_argument, NULL, 'n'}, {"ops-per-batch", required_argument, NULL, 'k'},
        {"value-size", required_argument, NULL, 'v'}, {"rate", required_argument, NULL, 'r'},
        {"seconds", required_argument, NULL, 's'}, {"dir", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0}};
    *o = (struct opts){.batches = 200000, .ops = 1, .value_size = 100, .rate = 100000, .seconds = 5,
                       .dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp"};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': o->batches = strtoull(optarg, NULL, 10); break;
        case 'k': o->ops = strtoull(optarg, NULL, 10); break;
        case 'v': o->value_size = strtoull(optarg, NULL, 10); break;
        case 'r': o->rate = strtoull(optarg, NULL, 10); break;
        case 's': o->seconds = strtoull(optarg, NULL, 10); break;
        case 'd': o->dir = optarg; break;
        default: fprintf(stderr, "usage: see the comment at the top of bench/bench_repl.c\n"); exit(2);
        }
    }
    if (o->batches == 0 || o->ops == 0 || o->value_size == 0 || o->rate == 0 || o->seconds == 0) {
        fprintf(stderr, "bench_repl: every number must be positive\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    struct env e = {0};
    parse(argc, argv, &e.o);
    rs_log_set_level(RS_LOG_WARN);
    if (sodium_init() < 0 || asprintf(&e.root, "%s/bench-repl-%d", e.o.dir, (int)getpid()) < 0)
        return 1;
    rs_err err = RS_ERR_INIT;
    if (rs_fs_mkdir_p(e.root, 0700, &err) != RS_OK)
        die("mkdir", &err);
    char *pdb = NULL;
    if (asprintf(&pdb, "%s/primary", e.root) < 0)
        return 1;
    e.primary = open_db(pdb);
    randombytes_buf(e.key.bytes, sizeof e.key.bytes);
    rs_wal_primary_config pc = {.listen_addr = "127.0.0.1:0", .key = e.key};
    if (rs_wal_primary_start(e.primary, &pc, &e.shipper, &err) != RS_OK)
        die("primary", &err);
    snprintf(e.addr, sizeof e.addr, "127.0.0.1:%u", rs_wal_primary_port(e.shipper));
    printf("bench_repl: %llu batches x %llu puts, %llu-byte values, loopback, sync none, shared machine\n",
           (unsigned long long)e.o.batches, (unsigned long long)e.o.ops, (unsigned long long)e.o.value_size);
    double max_rate = apply_rate(&e);
    if (steady_lag(&e, e.o.rate) > 0.10) {
        /* the writer could not hold the rate on this machine: the lag then
         * only measures the backlog; say so and measure at a rate it holds */
        printf("  (the writer could not hold %llu writes/s here; again at half the primary's rate with a "
               "follower attached:)\n", (unsigned long long)e.o.rate);
        steady_lag(&e, (uint64_t)(max_rate / 2));
    }
    primary_cost(&e);
    rs_wal_primary_stop(e.shipper);
    rs_store_close(e.primary);
    rs_fs_remove_tree(e.root, NULL);
    free(pdb);
    free(e.root);
    return 0;
}
