/*
 * bench_snapshot: how fast a checkpoint is sealed, how big the archive is,
 * and how much memory sealing takes, against `tar cf - DIR | zstd -3 -T2`
 * on the very same checkpoint in the same run. Two databases: one whose
 * SSTs RocksDB compressed (the usual case) and one stored uncompressed.
 * Also times a checkpoint of a database that keeps taking writes.
 *
 *   bench_snapshot [--keys N] [--value-size B] [--dir DIR] [--threads N] [--min-saving PCT]
 *
 * Each seal runs in a child process (this program re-executed) so its
 * peak RSS is the sealer's alone, not the loader's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/workload.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

struct seal_result {
    double   secs, digest_secs, total_secs;
    uint64_t archive_bytes, compressed_files, files, peak_rss_kib;
};

static void die(const char *what, const rs_err *err)
{
    fprintf(stderr, "bench_snapshot: %s: %s\n", what, err != NULL ? err->msg : "");
    exit(1);
}

/* ---- child: seal one checkpoint into a counting sink ---------------- */

static rs_code count_bytes(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    (void)p;
    (void)err;
    *(uint64_t *)arg += len;
    return RS_OK;
}

static int seal_child(const char *dir, const char *key_path, int threads, rs_snapshot_compress compress,
                      int min_saving)
{
    rs_err err = RS_ERR_INIT;
    rs_snapshot_key *key = NULL;
    if (rs_snapshot_key_load(key_path, &key, &err) != RS_OK)
        die("key", &err);
    uint64_t bytes = 0;
    rs_snapshot_sink sink = {.write = count_bytes, .arg = &bytes};
    rs_snapshot_options o = {.key = key, .zstd_level = 3, .zstd_threads = threads, .compress = compress,
                             .min_saving_pct = min_saving};
    rs_snapshot_manifest *m = NULL;
    rs_snapshot_timing t = {0};
    if (rs_snapshot_seal_dir(dir, &o, &sink, &m, &t, &err) != RS_OK)
        die("seal", &err);
    rs_snapshot_info in;
    rs_snapshot_manifest_info(m, &in);
    printf("%.6f %.6f %.6f %llu %llu %llu\n", (double)t.stream_ns / 1e9, (double)t.digest_ns / 1e9,
           (double)t.seal_ns / 1e9,
           (unsigned long long)in.archive_bytes, (unsigned long long)in.n_files_compressed,
           (unsigned long long)in.n_files);
    rs_snapshot_manifest_destroy(m);
    rs_snapshot_key_destroy(key);
    return 0;
}

/* Runs the seal in a child of its own and reads that child's peak RSS
 * (wait4), not that of tar or zstd, which are children too. */
static struct seal_result run_seal(const char *dir, const char *key_path, int threads, rs_snapshot_compress compress,
                                   int min_saving)
{
    char exe[64], nthreads[16], mode[8], saving[8];
    snprintf(mode, sizeof mode, "%d", (int)compress);
    snprintf(saving, sizeof saving, "%d", min_saving);
    snprintf(exe, sizeof exe, "/proc/%d/exe", (int)getpid());
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe", NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(exe, exe, "--seal-child", dir, key_path, nthreads, mode, saving, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *p = fdopen(fds[0], "r");
    struct seal_result r = {0};
    unsigned long long ab = 0, cf = 0, nf = 0;
    int n = fscanf(p, "%lf %lf %lf %llu %llu %llu", &r.secs, &r.digest_secs, &r.total_secs, &ab, &cf, &nf);
    fclose(p);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || n != 6 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("seal child failed", NULL);
    r.archive_bytes = ab;
    r.compressed_files = cf;
    r.files = nf;
    r.peak_rss_kib = (uint64_t)ru.ru_maxrss;
    return r;
}

/* ---- the reference: tar | zstd -3 -T<threads> ----------------------- */

static double run_tar_zstd(const char *dir, int threads, uint64_t *out_bytes)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "tar cf - -C '%s' . | zstd -3 -T%d -q -c | wc -c", dir, threads);
    uint64_t t0 = rs_clock_mono_ns();
    FILE *p = popen(cmd, "r");
    unsigned long long n = 0;
    if (p == NULL || fscanf(p, "%llu", &n) != 1)
        die("tar | zstd failed (are tar and zstd installed?)", NULL);
    pclose(p);
    *out_bytes = n;
    return (double)(rs_clock_mono_ns() - t0) / 1e9;
}

/* ---- databases ------------------------------------------------------ */

static rs_store *load_db(const char *path, uint64_t keys, size_t value_size, int compressed)
{
    rs_store_config cfg = {.create_if_missing = 1, .sync = RS_STORE_SYNC_NONE};
    if (!compressed)
        cfg.upper_compression = cfg.bottom_compression = RS_STORE_COMPRESSION_NONE;
    rs_store *s = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_open(path, &cfg, &s, &err) != RS_OK)
        die("open", &err);
    rs_workload w = {.seed = 7, .key_size = 16, .value_size = value_size, .compressibility = 0.5};
    uint8_t key[16], *val = malloc(value_size);
    rs_store_batch *b = NULL;
    rs_store_batch_create(&b, &err);
    for (uint64_t i = 0; i < keys; i++) {
        rs_workload_key(&w, i, key);
        rs_workload_value(&w, i, val);
        rs_store_batch_put(b, key, sizeof key, val, value_size);
        if (rs_store_batch_count(b) == 1000 || i + 1 == keys) {
            if (rs_store_write(s, b, &err) != RS_OK)
                die("load", &err);
            rs_store_batch_clear(b);
        }
    }
    rs_store_batch_destroy(b);
    free(val);
    /* settle the data in the bottom level, as a long-lived database is */
    if (rs_store_compact(s, &err) != RS_OK)
        die("compact", &err);
    return s;
}

struct writer {
    rs_store *s;
    _Atomic int stop;
};

static void *keep_writing(void *arg)
{
    struct writer *w = arg;
    rs_err err = RS_ERR_INIT;
    uint8_t key[16], val[200] = {0};
    for (uint64_t i = 0; !atomic_load(&w->stop); i++) {
        memcpy(key, "live", 4);
        memcpy(key + 4, &i, 8);
        rs_store_put(w->s, key, sizeof key, val, sizeof val, &err);
    }
    return NULL;
}

/* Checkpoint time while another thread writes. */
static double checkpoint_live(rs_store *s, const char *cp)
{
    struct writer w = {.s = s};
    pthread_t t;
    pthread_create(&t, NULL, keep_writing, &w);
    rs_clock_sleep_us(200000);
    rs_err err = RS_ERR_INIT;
    uint64_t t0 = rs_clock_mono_ns();
    if (rs_store_checkpoint(s, cp, NULL, &err) != RS_OK)
        die("checkpoint", &err);
    double secs = (double)(rs_clock_mono_ns() - t0) / 1e9;
    atomic_store(&w.stop, 1);
    pthread_join(t, NULL);
    return secs;
}

/* ---- one case ------------------------------------------------------- */

static void run_case(const char *name, const char *root, const char *key, uint64_t keys, size_t value_size,
                     int compressed, int threads, int min_saving)
{
    char db[4096], cp[4200];
    snprintf(db, sizeof db, "%s/%s", root, name);
    snprintf(cp, sizeof cp, "%s/%s.checkpoint", root, name);
    printf("\n== %s: %llu keys, %zu-byte values (half compressible), SSTs %s\n", name, (unsigned long long)keys,
           value_size, compressed ? "compressed by RocksDB (LZ4 middle levels, zstd bottom)" : "uncompressed");
    fflush(stdout);
    uint64_t t0 = rs_clock_mono_ns();
    rs_store *s = load_db(db, keys, value_size, compressed);
    printf("loaded and compacted in %.1f s\n", (double)(rs_clock_mono_ns() - t0) / 1e9);
    double cp_secs = checkpoint_live(s, cp);
    rs_store_close(s);
    uint64_t files = 0;
    rs_err err = RS_ERR_INIT;
    rs_fs_tree_bytes(cp, &files, &err);
    printf("checkpoint of the live database (a writer running): %.3f s, %.1f MB of files\n", cp_secs,
           (double)files / 1e6);

    /* twice each, alternating, best of two: the page cache is warm for all */
    uint64_t ref_bytes = 0;
    double ref = run_tar_zstd(cp, threads, &ref_bytes);
    struct seal_result ours = run_seal(cp, key, threads, RS_SNAPSHOT_COMPRESS_AUTO, min_saving);
    double ref2 = run_tar_zstd(cp, threads, &ref_bytes);
    struct seal_result ours2 = run_seal(cp, key, threads, RS_SNAPSHOT_COMPRESS_AUTO, min_saving);
    struct seal_result raw = run_seal(cp, key, threads, RS_SNAPSHOT_COMPRESS_NONE, min_saving);
    if (ref2 < ref)
        ref = ref2;
    if (ours2.secs < ours.secs)
        ours = ours2;
    double mb = (double)files / 1e6;
    printf("tar | zstd -3 -T%d : %6.2f s  %7.1f MB/s  output %8.1f MB (%.1f%% of input)\n", threads, ref, mb / ref,
           (double)ref_bytes / 1e6, 100.0 * (double)ref_bytes / (double)files);
    printf("rockstream seal    : %6.2f s  %7.1f MB/s  output %8.1f MB (%.1f%% of input), %llu of %llu files "
           "through zstd\n", ours.secs, mb / ours.secs, (double)ours.archive_bytes / 1e6,
           100.0 * (double)ours.archive_bytes / (double)files, (unsigned long long)ours.compressed_files,
           (unsigned long long)ours.files);
    printf("  content digest   : %6.2f s on its own thread; whole snapshot (files, digest, manifest) %.2f s, "
           "%.1f MB/s\n", ours.digest_secs, ours.total_secs, mb / ours.total_secs);
    printf("ratios             : speed %.2fx tar|zstd, size %+.2f%% vs tar|zstd\n", ref / ours.secs,
           100.0 * ((double)ours.archive_bytes / (double)ref_bytes - 1.0));
    printf("peak RSS of the sealing process: %.1f MiB\n", (double)ours.peak_rss_kib / 1024.0);
    printf("for scale, --compress none: files %.2f s (%.1f MB/s, %.2fx tar|zstd), whole snapshot %.2f s, "
           "output %+.2f%% vs tar|zstd\n", raw.secs, mb / raw.secs, ref / raw.secs, raw.total_secs,
           100.0 * ((double)raw.archive_bytes / (double)ref_bytes - 1.0));
    rs_fs_remove_tree(cp, &err);
    rs_fs_remove_tree(db, &err);
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "--seal-child") == 0) {
        if (getenv("RS_BENCH_DEBUG") != NULL)
            rs_log_set_level(RS_LOG_DEBUG); /* shows each file's compression decision */
        return seal_child(argv[2], argv[3], atoi(argv[4]), (rs_snapshot_compress)atoi(argv[5]), atoi(argv[6]));
    }
    uint64_t keys = 3000000;
    size_t value_size = 200;
    int threads = 2, min_saving = 0; /* 0: the library's default */
    const char *base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--keys") == 0)
            keys = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--value-size") == 0)
            value_size = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            base = argv[i + 1];
        else if (strcmp(argv[i], "--min-saving") == 0)
            min_saving = atoi(argv[i + 1]);
    }
    char root[4096], key[4200];
    snprintf(root, sizeof root, "%s/rs-bench-snapshot-XXXXXX", base);
    if (mkdtemp(root) == NULL)
        die("mkdtemp", NULL);
    snprintf(key, sizeof key, "%s/bench.key", root);
    char id[17];
    rs_err err = RS_ERR_INIT;
    if (rs_snapshot_keygen(key, RS_SNAPSHOT_KEY_SECRET, id, &err) != RS_OK)
        die("keygen", &err);
    printf("bench_snapshot: seal vs tar | zstd -3 -T%d on the same checkpoint, in %s\n", threads, root);
    run_case("compressed", root, key, keys, value_size, 1, threads, min_saving);
    run_case("uncompressed", root, key, keys / 3, value_size, 0, threads, min_saving);
    rs_fs_remove_tree(root, &err);
    return 0;
}
