/*
 * rockstream load: fill a database with a synthetic workload (common/
 * workload.h), in atomic batches, from one or more threads, with a progress
 * line; then print the database's statistics.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/workload.h"

enum { OPT_KEYS = CLI_OPT_LAST_SHARED, OPT_KEY_SIZE, OPT_VALUE_SIZE, OPT_COMPRESSIBILITY, OPT_BATCH, OPT_SEED,
       OPT_SEQUENTIAL, OPT_THREADS };

struct load_args {
    struct cli_store_args store;
    rs_workload           workload;
    uint64_t              keys;
    uint64_t              batch;
    long                  threads;
};

struct load_shared {
    const struct load_args *args;
    rs_store              *store;
    _Atomic uint64_t       next;     /* first index of the next unclaimed batch */
    _Atomic uint64_t       done;     /* keys written */
    _Atomic int            failed;
    pthread_mutex_t        err_mu;
    rs_err                 err;
};

static void record_failure(struct load_shared *sh, const rs_err *e)
{
    pthread_mutex_lock(&sh->err_mu);
    if (sh->err.code == RS_OK)
        sh->err = *e;
    pthread_mutex_unlock(&sh->err_mu);
    atomic_store(&sh->failed, 1);
}

/* Each worker claims batches of indexes until the work runs out. */
static void *load_worker(void *arg)
{
    struct load_shared *sh = arg;
    const struct load_args *a = sh->args;
    uint8_t *key = malloc(a->workload.key_size);
    uint8_t *val = malloc(a->workload.value_size + 1);
    rs_store_batch *b = NULL;
    rs_err e = RS_ERR_INIT;
    if (key == NULL || val == NULL || rs_store_batch_create(&b, &e) != RS_OK) {
        rs_err_set(&e, RS_E_NOMEM, "load: out of memory");
        record_failure(sh, &e);
        goto out;
    }
    while (!atomic_load(&sh->failed)) {
        uint64_t first = atomic_fetch_add(&sh->next, a->batch);
        if (first >= a->keys)
            break;
        uint64_t last = first + a->batch < a->keys ? first + a->batch : a->keys;
        rs_store_batch_clear(b);
        for (uint64_t i = first; i < last; i++) {
            rs_workload_key(&a->workload, i, key);
            rs_workload_value(&a->workload, i, val);
            rs_store_batch_put(b, key, a->workload.key_size, val, a->workload.value_size);
        }
        if (rs_store_write(sh->store, b, &e) != RS_OK) {
            rs_err_prefix(&e, "load batch at key %llu", (unsigned long long)first);
            record_failure(sh, &e);
            break;
        }
        atomic_fetch_add(&sh->done, last - first);
    }
out:
    rs_store_batch_destroy(b);
    free(key);
    free(val);
    return NULL;
}

static rs_code run_load(const struct load_args *a, rs_store *store, rs_err *err)
{
    struct load_shared sh = {.args = a, .store = store, .err = RS_ERR_INIT};
    pthread_mutex_init(&sh.err_mu, NULL);
    pthread_t tids[64];
    long started = 0;
    for (; started < a->threads; started++)
        if (pthread_create(&tids[started], NULL, load_worker, &sh) != 0)
            break;

    struct cli_progress p;
    cli_progress_begin(&p, "loaded", "keys", a->keys);
    uint64_t per_key = a->workload.key_size + a->workload.value_size;
    uint64_t t0 = rs_clock_mono_ns();
    while (atomic_load(&sh.done) < a->keys && !atomic_load(&sh.failed) && started > 0) {
        rs_clock_sleep_us(50000);
        cli_progress_update(&p, atomic_load(&sh.done), atomic_load(&sh.done) * per_key);
    }
    for (long i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    cli_progress_end(&p);
    pthread_mutex_destroy(&sh.err_mu);
    if (started == 0)
        return rs_err_set(err, RS_E_INTERNAL, "load: could not start a worker thread");
    if (sh.err.code != RS_OK) {
        *err = sh.err;
        return err->code;
    }
    double secs = (double)(rs_clock_mono_ns() - t0) / 1e9;
    printf("loaded %llu keys (%.1f MB) in %.2f s: %.0f keys/s, %.1f MB/s, %ld thread%s\n",
           (unsigned long long)a->keys, (double)(a->keys * per_key) / 1e6, secs, (double)a->keys / secs,
           (double)(a->keys * per_key) / 1e6 / secs, a->threads, a->threads == 1 ? "" : "s");
    return RS_OK;
}

static rs_code load_option(int opt, const char *arg, void *ctx, rs_err *err)
{
    struct load_args *a = ctx;
    long l = 0;
    char *end = NULL;
    switch (opt) {
    case OPT_KEYS:
        if (cli_parse_count(arg, &a->keys) != 0 || a->keys == 0)
            return rs_err_set(err, RS_E_INVALID, "--keys '%s': expected a count like 1M", arg);
        return RS_OK;
    case OPT_KEY_SIZE:
        if (cli_parse_int(arg, 8, RS_WORKLOAD_MAX_KEY, &l) != 0)
            return rs_err_set(err, RS_E_INVALID, "--key-size '%s': expected 8 to %d bytes", arg,
                              RS_WORKLOAD_MAX_KEY);
        a->workload.key_size = (size_t)l;
        return RS_OK;
    case OPT_VALUE_SIZE:
        if (cli_parse_int(arg, 0, RS_WORKLOAD_MAX_VALUE, &l) != 0)
            return rs_err_set(err, RS_E_INVALID, "--value-size '%s': expected 0 to %u bytes", arg,
                              RS_WORKLOAD_MAX_VALUE);
        a->workload.value_size = (size_t)l;
        return RS_OK;
    case OPT_COMPRESSIBILITY:
        a->workload.compressibility = strtod(arg, &end);
        if (end == arg || *end != '\0' || !(a->workload.compressibility >= 0 && a->workload.compressibility <= 1))
            return rs_err_set(err, RS_E_INVALID, "--compressibility '%s': expected 0.0 to 1.0", arg);
        return RS_OK;
    case OPT_BATCH:
        if (cli_parse_count(arg, &a->batch) != 0 || a->batch == 0 || a->batch > 1000000)
            return rs_err_set(err, RS_E_INVALID, "--batch '%s': expected 1 to 1000000 keys", arg);
        return RS_OK;
    case OPT_SEED:
        if (cli_parse_count(arg, &a->workload.seed) != 0)
            return rs_err_set(err, RS_E_INVALID, "--seed '%s': expected a number", arg);
        return RS_OK;
    case OPT_SEQUENTIAL: a->workload.sequential = 1; return RS_OK;
    case OPT_THREADS:
        if (cli_parse_int(arg, 1, 64, &a->threads) != 0)
            return rs_err_set(err, RS_E_INVALID, "--threads '%s': expected 1 to 64", arg);
        return RS_OK;
    }
    return RS_E_INVALID;
}

static int load_main(int argc, char **argv, rs_err *err)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS,
        {"keys", required_argument, NULL, OPT_KEYS},
        {"key-size", required_argument, NULL, OPT_KEY_SIZE},
        {"value-size", required_argument, NULL, OPT_VALUE_SIZE},
        {"compressibility", required_argument, NULL, OPT_COMPRESSIBILITY},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"seed", required_argument, NULL, OPT_SEED},
        {"sequential", no_argument, NULL, OPT_SEQUENTIAL},
        {"threads", required_argument, NULL, OPT_THREADS},
        {0},
    };
    struct load_args a = {
        .workload = {.seed = 1, .key_size = 16, .value_size = 100, .compressibility = 0.5},
        .keys = 1000000, .batch = 1000, .threads = 1,
    };
    a.store.cfg.create_if_missing = 1;
    int help_shown = 0;
    rs_code rc = cli_parse_args(&cli_cmd_load, argc, argv, longopts, &a.store, load_option, &a, &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    if (optind < argc)
        return cli_usage_error(&cli_cmd_load, err, "unexpected argument '%s'", argv[optind]);

    rs_store *store = NULL;
    rc = cli_store_open(&a.store, &store, err);
    if (rc != RS_OK)
        return rc;
    rc = run_load(&a, store, err);
    if (rc == RS_OK)
        rc = cli_print_stats(stdout, store, err);
    rs_store_close(store);
    return rc;
}

const struct cli_cmd cli_cmd_load = {
    .name = "load",
    .summary = "fill a database with a synthetic workload",
    .usage = "load --db DIR [--keys N] [--key-size B] [--value-size B] [options]",
    .help =
        "\nWrites N keys in atomic batches and prints the database's statistics. The\n"
        "same seed always writes the same keys and values. Creates the database if\n"
        "it does not exist.\n\n"
        "Workload options:\n"
        "  --keys N               how many keys (1M; k, M, G suffixes are powers of 1000)\n"
        "  --key-size B           key length in bytes, at least 8 (16)\n"
        "  --value-size B         value length in bytes (100)\n"
        "  --compressibility F    share of each value a compressor can remove, 0..1 (0.5)\n"
        "  --batch N              keys per atomic batch (1000)\n"
        "  --seed N               changes which keys and values are written (1)\n"
        "  --sequential           keys in ascending order (default: scattered)\n"
        "  --threads N            writer threads (1)\n",
    .example = "rockstream load --db /tmp/demo --keys 2M --value-size 100 --sync none",
    .uses_store = 1,
    .run = load_main,
};
