/*
 * bench_store: the store benchmark. Runs one workload through rs_store and
 * through raw RocksDB (same options, same process, rows interleaved so a
 * busy machine hurts both alike), the memory backend, and rs_store chained
 * (as a replicated primary writes), then prints each row with the ratio
 * rs/raw and the target, and the chained rows with theirs: what
 * replication costs the write path. See docs/benchmarks.md.
 *
 *   bench_store [--keys N] [--ops N] [--threads N] [--writers N] [--rounds N]
 *               [--seconds S] [--key-size B] [--value-size B] [--dir DIR]
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/bench_table.h"
#include "common/fs.h"

enum { RS, RAW, MEM, CHAINED, N_TARGETS };
enum { R_FILL, R_PUT, R_GET, R_SCAN, R_GET_MT, R_PUT_MT, R_BATCH_MT, N_ROWS };
enum { S_ALWAYS, S_GROUP, S_GROUP_MANY, S_ALWAYS_MANY, S_ALWAYS_CHAINED, S_ALWAYS_MANY_CHAINED, N_SYNC_ROWS };

#define MAX_ROUNDS 16

struct args {
    struct bench_spec spec;
    int               rounds;  /* each row runs this many slices, alternating targets */
    int               threads; /* for the "both cores" rows */
    int               writers; /* concurrent synced writers */
    const char       *dir;
};

struct run {
    struct args         a;
    char               *dir;
    struct bench_target t[N_TARGETS];
    struct bench_result r[N_ROWS][N_TARGETS];
    struct bench_result sync[N_SYNC_ROWS][2]; /* rs, raw */
    double              compression[N_TARGETS];
};

static char *path_in(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (p != NULL)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

/* ---- arguments ------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: bench_store [--keys N] [--ops N] [--threads N] [--writers N] [--rounds N]\n"
                    "                   [--seconds S] [--key-size B] [--value-size B] [--dir DIR]\n"
                    "defaults: 2000000 keys of 16 bytes, 100-byte values half compressible,\n"
                    "ops = keys/2 per random row, 2 threads, 64 synced writers for 3 s per row;\n"
                    "each row runs in 5 rounds alternating the targets (synced rows: 15) and\n"
                    "reports the median\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"keys", required_argument, NULL, 'k'},     {"ops", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 't'},  {"writers", required_argument, NULL, 'w'},
        {"seconds", required_argument, NULL, 's'},  {"key-size", required_argument, NULL, 'K'},
        {"value-size", required_argument, NULL, 'V'}, {"dir", required_argument, NULL, 'd'},
        {"rounds", required_argument, NULL, 'r'},   {"help", no_argument, NULL, 'h'},
        {0},
    };
    *a = (struct args){.spec = {.workload = {.seed = 1, .key_size = 16, .value_size = 100,
                                             .compressibility = 0.5},
                                .n_keys = 2000000, .batch = 1000, .seconds = 3},
                       .rounds = 5, .threads = 2, .writers = 64};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': a->spec.n_keys = strtoull(optarg, NULL, 10); break;
        case 'o': a->spec.ops = strtoull(optarg, NULL, 10); break;
        case 't': a->threads = atoi(optarg); break;
        case 'w': a->writers = atoi(optarg); break;
        case 's': a->spec.seconds = atof(optarg); break;
        case 'K': a->spec.workload.key_size = strtoul(optarg, NULL, 10); break;
        case 'V': a->spec.workload.value_size = strtoul(optarg, NULL, 10); break;
        case 'd': a->dir = optarg; break;
        case 'r': a->rounds = atoi(optarg); break;
        default: usage(); return -1;
        }
    }
    if (a->spec.ops == 0)
        a->spec.ops = a->spec.n_keys / 2;
    if (a->spec.n_keys < 1000 || a->rounds < 1 || a->rounds > MAX_ROUNDS || a->threads < 1 || a->threads > 64 || a->writers < 1 || a->writers > 256 ||
        !(a->spec.seconds > 0) || rs_workload_check(&a->spec.workload) != 0) {
        usage();
        return -1;
    }
    return 0;
}

/* ---- the runs ------------------------------------------------------- */

typedef struct bench_result (*row_fn)(struct bench_target *t, const struct bench_spec *s);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median of each figure over the rounds. */
static struct bench_result median(const struct bench_result *r, int n)
{
    double v[4][MAX_ROUNDS];
    struct bench_result m = {0};
    for (int i = 0; i < n; i++) {
        v[0][i] = r[i].per_sec;
        v[1][i] = (double)r[i].p50_ns;
        v[2][i] = (double)r[i].p99_ns;
        v[3][i] = (double)r[i].p999_ns;
        m.failed |= r[i].failed;
    }
    m.per_sec = median_of(v[0], n);
    m.p50_ns = (uint64_t)median_of(v[1], n);
    m.p99_ns = (uint64_t)median_of(v[2], n);
    m.p999_ns = (uint64_t)median_of(v[3], n);
    return m;
}

/* Runs one row in rounds, each a slice of its work against every target
 * in turn, so a busy moment hurts all targets alike; keeps the medians.
 * Rounds rotate which target goes first: measured here, the first loop of a
 * round ran about 10% faster than the next one on the same database.
 * A fill slice writes the next range of keys. Any failure ends the run. */
static int each(struct run *run, int row, row_fn fn, int threads, int fill)
{
    int rounds = run->a.rounds;
    struct bench_result got[N_TARGETS][MAX_ROUNDS];
    for (int k = 0; k < rounds; k++) {
        struct bench_spec s = run->a.spec;
        s.threads = threads;
        s.ops = (fill ? s.n_keys : s.ops) / (uint64_t)rounds;
        s.first = fill ? (uint64_t)k * s.ops : 0;
        for (int j = 0; j < N_TARGETS; j++) {
            int i = (j + k) % N_TARGETS; /* each round starts with the next target */
            got[i][k] = fn(&run->t[i], &s);
            if (got[i][k].failed)
                return -1;
        }
    }
    for (int i = 0; i < N_TARGETS; i++)
        run->r[row][i] = median(got[i], rounds);
    return 0;
}

static int open_targets(struct run *run)
{
    char *rs = path_in(run->dir, "rs"), *raw = path_in(run->dir, "raw"), *ch = path_in(run->dir, "chained");
    int rc = bench_rs_open(rs, 0, BENCH_SYNC_NONE, &run->t[RS]);
    if (rc == 0)
        rc = bench_raw_open(raw, BENCH_SYNC_NONE, &run->t[RAW]);
    if (rc == 0)
        rc = bench_rs_open("/bench/memory", BENCH_RS_MEMORY, BENCH_SYNC_NONE, &run->t[MEM]);
    if (rc == 0)
        rc = bench_rs_open(ch, BENCH_RS_CHAINED, BENCH_SYNC_NONE, &run->t[CHAINED]);
    free(rs);
    free(raw);
    free(ch);
    return rc;
}

/* Flushes and compacts, measures compression, and warms the block cache
 * with a scan so the get row reads from memory. */
static int settle(struct run *run)
{
    const rs_workload *w = &run->a.spec.workload;
    double logical = (double)run->a.spec.n_keys * (double)(w->key_size + w->value_size);
    for (int i = 0; i < N_TARGETS; i++) {
        if (run->t[i].ops->settle(run->t[i].impl) != 0)
            return -1;
        uint64_t sst = run->t[i].ops->sst_bytes(run->t[i].impl);
        run->compression[i] = sst > 0 ? logical / (double)sst : NAN;
        uint64_t pairs = 0, bytes = 0;
        if (run->t[i].ops->scan(run->t[i].impl, &pairs, &bytes) != 0)
            return -1;
    }
    return 0;
}

static int data_rows(struct run *run)
{
    int threads = run->a.threads;
    fprintf(stderr, "bench: filling %llu keys into each target\n", (unsigned long long)run->a.spec.n_keys);
    if (each(run, R_FILL, bench_fill, 1, 1) != 0 || each(run, R_PUT, bench_random_puts, 1, 0) != 0)
        return -1;
    fprintf(stderr, "bench: compacting and warming the caches\n");
    if (settle(run) != 0)
        return -1;
    fprintf(stderr, "bench: reads, scans and %d-thread rows\n", threads);
    if (each(run, R_GET, bench_random_gets, 1, 0) != 0 || each(run, R_SCAN, bench_scan, 1, 0) != 0 ||
        each(run, R_GET_MT, bench_random_gets, threads, 0) != 0 ||
        each(run, R_PUT_MT, bench_random_puts, threads, 0) != 0 ||
        each(run, R_BATCH_MT, bench_batched_puts, threads, 0) != 0)
        return -1;
    return 0;
}

/* Timed single puts on a fresh database per target, in rounds that
 * alternate the two targets like each() does. */
static int synced(struct run *run, int row, enum bench_sync sync, int writers)
{
    static const char *const names[] = {"sync-always", "sync-group", "sync-many", "sync-always-many",
                                        "sync-always-chained", "sync-always-many-chained"};
    unsigned flags = row == S_ALWAYS_CHAINED || row == S_ALWAYS_MANY_CHAINED ? BENCH_RS_CHAINED : 0;
    /* the disk's fsync time drifts with other I/O: alternate finely */
    int rounds = run->a.rounds * 3 < MAX_ROUNDS ? run->a.rounds * 3 : MAX_ROUNDS;
    struct bench_spec s = run->a.spec;
    s.threads = writers;
    s.seconds /= rounds;
    struct bench_target t[2];
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%s", names[row], i == RS ? "rs" : "raw");
        char *path = path_in(run->dir, name);
        rc = i == RS ? bench_rs_open(path, flags, sync, &t[i]) : bench_raw_open(path, sync, &t[i]);
        free(path);
        if (rc != 0 && i == 1)
            t[0].ops->close(t[0].impl);
    }
    if (rc != 0)
        return -1;
    struct bench_result got[2][MAX_ROUNDS];
    for (int k = 0; k < rounds; k++)
        for (int j = 0; j < 2; j++)
            got[(j + k) % 2][k] = bench_timed_puts(&t[(j + k) % 2], &s);
    for (int i = 0; i < 2; i++) {
        t[i].ops->close(t[i].impl);
        run->sync[row][i] = median(got[i], rounds);
        rc |= run->sync[row][i].failed;
    }
    return rc ? -1 : 0;
}

static int sync_rows(struct run *run)
{
    fprintf(stderr, "bench: synced writes, %.0f s per row\n", run->a.spec.seconds);
    if (synced(run, S_ALWAYS, BENCH_SYNC_ALWAYS, 1) != 0 || synced(run, S_GROUP, BENCH_SYNC_GROUP, 1) != 0 ||
        synced(run, S_GROUP_MANY, BENCH_SYNC_GROUP, run->a.writers) != 0 ||
        synced(run, S_ALWAYS_MANY, BENCH_SYNC_ALWAYS, run->a.writers) != 0 ||
        synced(run, S_ALWAYS_CHAINED, BENCH_SYNC_ALWAYS, 1) != 0 ||
        synced(run, S_ALWAYS_MANY_CHAINED, BENCH_SYNC_ALWAYS, run->a.writers) != 0)
        return -1;
    return 0;
}

/* ---- the report ----------------------------------------------------- */

static double us(uint64_t ns) { return (double)ns / 1000.0; }

static int line(const char *label, double rs, double raw, double mem, int lower, double target, const char *text,
                int decimals)
{
    struct bench_line l = {.label = label, .rs = rs, .raw = raw, .memory = mem, .decimals = decimals,
                           .lower_is_better = lower, .target = target, .target_text = text};
    return bench_table_line(&l);
}

static int rate_line(const struct run *run, const char *label, int row, double target, const char *text)
{
    const struct bench_result *r = run->r[row];
    return line(label, r[RS].per_sec, r[RAW].per_sec, r[MEM].per_sec, 0, target, text, 0);
}

static int latency_lines(const struct run *run, const char *what, int row, double p99_target, const char *text)
{
    const struct bench_result *r = run->r[row];
    char label[3][64];
    snprintf(label[0], sizeof label[0], "%s P50, us", what);
    snprintf(label[1], sizeof label[1], "%s P99, us", what);
    snprintf(label[2], sizeof label[2], "%s P999, us", what);
    int ok = line(label[0], us(r[RS].p50_ns), us(r[RAW].p50_ns), us(r[MEM].p50_ns), 1, NAN, NULL, 1);
    ok &= line(label[1], us(r[RS].p99_ns), us(r[RAW].p99_ns), us(r[MEM].p99_ns), 1, p99_target, text, 1);
    ok &= line(label[2], us(r[RS].p999_ns), us(r[RAW].p999_ns), us(r[MEM].p999_ns), 1, NAN, NULL, 1);
    return ok;
}

static int report_single(const struct run *run)
{
    bench_table_header("single thread (rs/raw >= 0.95 on every row; latencies <= 1.05)");
    int ok = rate_line(run, "random get (in cache), ops/s", R_GET, 100e3, ">= 100K");
    ok &= rate_line(run, "random put (no sync), ops/s", R_PUT, 50e3, ">= 50K");
    ok &= rate_line(run, "batched put (1000/batch), ops/s", R_FILL, 200e3, ">= 200K");
    ok &= line("forward scan, MB/s", run->r[R_SCAN][RS].per_sec, run->r[R_SCAN][RAW].per_sec,
               run->r[R_SCAN][MEM].per_sec, 0, 500, ">= 500 MB/s", 0);
    ok &= line("synced put (always), ops/s", run->sync[S_ALWAYS][RS].per_sec, run->sync[S_ALWAYS][RAW].per_sec,
               NAN, 0, NAN, NULL, 0);
    ok &= line("synced put (group, 1 writer), ops/s", run->sync[S_GROUP][RS].per_sec,
               run->sync[S_ALWAYS][RAW].per_sec, NAN, 0, NAN, "raw: sync=true", 0);
    ok &= latency_lines(run, "get", R_GET, 10000, "< 10 ms");
    ok &= latency_lines(run, "put", R_PUT, 10000, "< 10 ms");
    ok &= line("compression (raw bytes / SST bytes)", run->compression[RS], run->compression[RAW],
               run->compression[MEM], 0, NAN, "half-compressible values", 2);
    return ok;
}

static int report_tuned(const struct run *run)
{
    char title[128];
    snprintf(title, sizeof title, "tuned defaults using both cores (%d threads; synced: %d writers)", run->a.threads,
             run->a.writers);
    bench_table_header(title);
    int ok = rate_line(run, "random get (in cache), ops/s", R_GET_MT, 500e3, ">= 500K");
    ok &= rate_line(run, "random put (no sync), ops/s", R_PUT_MT, 300e3, ">= 300K");
    ok &= rate_line(run, "batched put (1000/batch), ops/s", R_BATCH_MT, 1e6, "toward 1M");
    ok &= line("get P99, us", us(run->r[R_GET_MT][RS].p99_ns), us(run->r[R_GET_MT][RAW].p99_ns),
               us(run->r[R_GET_MT][MEM].p99_ns), 1, 2000, "<= 2 ms", 1);
    ok &= line("put P99, us", us(run->r[R_PUT_MT][RS].p99_ns), us(run->r[R_PUT_MT][RAW].p99_ns),
               us(run->r[R_PUT_MT][MEM].p99_ns), 1, 2000, "<= 2 ms", 1);
    const struct bench_result *many = run->sync[S_GROUP_MANY];
    double single = run->sync[S_ALWAYS][RS].per_sec;
    ok &= line("synced put (group, many writers), ops/s", many[RS].per_sec, many[RAW].per_sec, NAN, 0, 10 * single,
               "raw: sync=true; >= 10x always", 0);
    /* ALWAYS promises the same durability per write; concurrent writers
     * must still share fsyncs, as RocksDB's write groups do for raw */
    const struct bench_result *always = run->sync[S_ALWAYS_MANY];
    ok &= line("synced put (always, many writers), ops/s", always[RS].per_sec, always[RAW].per_sec, NAN, 0, NAN,
               "raw: sync=true", 0);
    printf("%-40s %12.1fx  (group with %d writers over always with 1)\n", "group commit gain", many[RS].per_sec / single,
           run->a.writers);
    printf("%-40s %12.1fx  (always with %d writers over always with 1; raw %.1fx)\n", "write group gain",
           always[RS].per_sec / single, run->a.writers, always[RAW].per_sec / run->sync[S_ALWAYS][RAW].per_sec);
    return ok;
}

/* Chained rows: rs_store chained against the same raw RocksDB rows. The
 * 5% bound is for the layer a database nobody replicates pays; these say
 * what replication adds. */
static int chained_line(const char *label, double ch, double raw, int lower, int decimals)
{
    struct bench_line l = {.label = label, .rs = ch, .raw = raw, .memory = NAN, .decimals = decimals,
                           .lower_is_better = lower, .unbounded = 1, .target = NAN, .target_text = NULL};
    return bench_table_line(&l);
}

static int report_chained(const struct run *run)
{
    char label[64];
    bench_table_header("chaining on: a replicated primary's writes (rs_store chained against raw; no 5% bound)");
    int ok = chained_line("batched put (1000/batch), ops/s", run->r[R_FILL][CHAINED].per_sec,
                          run->r[R_FILL][RAW].per_sec, 0, 0);
    ok &= chained_line("random put (no sync), ops/s", run->r[R_PUT][CHAINED].per_sec, run->r[R_PUT][RAW].per_sec, 0, 0);
    ok &= chained_line("put P50, us", us(run->r[R_PUT][CHAINED].p50_ns), us(run->r[R_PUT][RAW].p50_ns), 1, 1);
    ok &= chained_line("put P99, us", us(run->r[R_PUT][CHAINED].p99_ns), us(run->r[R_PUT][RAW].p99_ns), 1, 1);
    snprintf(label, sizeof label, "random put, %d threads, ops/s", run->a.threads);
    ok &= chained_line(label, run->r[R_PUT_MT][CHAINED].per_sec, run->r[R_PUT_MT][RAW].per_sec, 0, 0);
    snprintf(label, sizeof label, "batched put, %d threads, ops/s", run->a.threads);
    ok &= chained_line(label, run->r[R_BATCH_MT][CHAINED].per_sec, run->r[R_BATCH_MT][RAW].per_sec, 0, 0);
    ok &= chained_line("synced put (always), ops/s", run->sync[S_ALWAYS_CHAINED][RS].per_sec,
                       run->sync[S_ALWAYS_CHAINED][RAW].per_sec, 0, 0);
    snprintf(label, sizeof label, "synced put (always, %d writers), ops/s", run->a.writers);
    ok &= chained_line(label, run->sync[S_ALWAYS_MANY_CHAINED][RS].per_sec,
                       run->sync[S_ALWAYS_MANY_CHAINED][RAW].per_sec, 0, 0);
    return ok;
}

int main(int argc, char **argv)
{
    struct run *run = calloc(1, sizeof *run);
    if (run == NULL || parse_args(argc, argv, &run->a) != 0)
        return 2;
    /* a directory of its own inside --dir, so removing it at the end
     * removes nothing else */
    const char *base = run->a.dir != NULL ? run->a.dir : getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    run->dir = path_in(base, "rs-bench-XXXXXX");
    if (run->dir == NULL || mkdtemp(run->dir) == NULL) {
        perror("bench: working directory");
        return 1;
    }
    const rs_workload *w = &run->a.spec.workload;
    printf("rockstream store benchmark: %llu keys, %zu-byte keys, %zu-byte values (compressibility %.1f),\n"
           "%llu operations per random row, %ld CPUs, RocksDB through its C API, in %s\n",
           (unsigned long long)run->a.spec.n_keys, w->key_size, w->value_size, w->compressibility,
           (unsigned long long)run->a.spec.ops, sysconf(_SC_NPROCESSORS_ONLN), run->dir);
    int rc = open_targets(run) == 0 && data_rows(run) == 0 ? 0 : 1;
    for (int i = 0; i < N_TARGETS; i++)
        if (run->t[i].ops != NULL)
            run->t[i].ops->close(run->t[i].impl);
    if (rc == 0)
        rc = sync_rows(run) == 0 ? 0 : 1;
    if (rc == 0) {
        int ok = report_single(run);
        ok &= report_tuned(run);
        ok &= report_chained(run);
        printf("\n%s\n", ok ? "every target met" : "some targets MISSED (see the rows marked)");
    }
    rs_fs_remove_tree(run->dir, NULL);
    free(run->dir);
    free(run);
    return rc;
}
