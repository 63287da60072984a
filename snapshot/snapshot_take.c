/*
 * Sealing: take a checkpoint of a live database (rs_snapshot_take), or seal
 * one that exists (rs_snapshot_seal_dir). Opens the checkpoint read-only
 * for its sequence, id and content digest, then streams its files through
 * tar -> zstd -> pipe -> encrypt -> out, the manifest last, and completes the
 * manifest with the archive's size and hash.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "snapshot/snapshot_int.h"

#define DEFAULT_LEVEL   3
#define DEFAULT_THREADS 2
#define DEFAULT_CHUNK   (1024u * 1024)
/* zstd saves 2-5% on SSTs RocksDB compressed with zstd, at several times
 * the CPU of sealing them raw: below 5% the space is not worth it. */
#define DEFAULT_MIN_SAVING_PCT 5
/* The digest pass reads every block once: a small cache is enough. */
#define DIGEST_CACHE_BYTES (8u * 1024 * 1024)

/* The digest reads the whole database once more, as long as sealing it:
 * it runs on its own thread meanwhile and is joined before the manifest,
 * the one thing that needs it, is written. */
struct digest_job {
    rs_store *store;
    pthread_t thread;
    int       started;
    uint8_t   digest[RS_STORE_DIGEST_BYTES];
    rs_store_digest_stats stats;
    uint64_t  ns;
    rs_code   rc;
    rs_err    err;
};

struct seal_run {
    rs_snapshot_options opt;
    const char *dir;
    char      **names;     /* the checkpoint's files, sorted */
    size_t      n_names;
    uint64_t    total_bytes;
    uint64_t    done_bytes;
    struct manifest_head head;
    struct seal_header header;
    uint8_t     dk[KEY_BYTES];
    char        host[256];
    struct digest_job digest;
    rs_snapshot_timing timing;
    uint64_t    t0;        /* the seal began */
};

static rs_code resolve_options(const rs_snapshot_options *in, rs_snapshot_options *o, rs_err *err)
{
    *o = *in;
    if (o->key == NULL)
        return rs_err_set(err, RS_E_INVALID, "no key given: an archive is always encrypted");
    if (o->zstd_level == 0)
        o->zstd_level = DEFAULT_LEVEL;
    if (o->zstd_threads == 0)
        o->zstd_threads = DEFAULT_THREADS;
    if (o->chunk_bytes == 0)
        o->chunk_bytes = DEFAULT_CHUNK;
    if (o->min_saving_pct == 0)
        o->min_saving_pct = DEFAULT_MIN_SAVING_PCT;
    if (o->min_saving_pct < 1 || o->min_saving_pct > 90)
        return rs_err_set(err, RS_E_INVALID, "minimum saving %d%% outside 1..90", o->min_saving_pct);
    if (o->zstd_level < 1 || o->zstd_level > 19)
        return rs_err_set(err, RS_E_INVALID, "zstd level %d outside 1..19", o->zstd_level);
    if (o->zstd_threads < 1 || o->zstd_threads > 64)
        return rs_err_set(err, RS_E_INVALID, "zstd threads %d outside 1..64", o->zstd_threads);
    if (o->chunk_bytes < 4096 || o->chunk_bytes > SEAL_CHUNK_MAX)
        return rs_err_set(err, RS_E_INVALID, "chunk size %zu outside 4096..%u", o->chunk_bytes, SEAL_CHUNK_MAX);
    return RS_OK;
}

/* ---- the checkpoint's facts ----------------------------------------- */

static void *digest_worker(void *arg)
{
    struct digest_job *j = arg;
    uint64_t t0 = rs_clock_mono_ns();
    j->rc = rs_store_digest(j->store, NULL, j->digest, &j->stats, &j->err);
    j->ns = rs_clock_mono_ns() - t0;
    return NULL;
}

static rs_code digest_start(struct seal_run *r, struct digest_job *j, rs_err *err)
{
    rs_store_config cfg = {.read_only = 1, .block_cache_bytes = DIGEST_CACHE_BYTES, .disable_statistics = 1};
    rs_code rc = rs_store_open(r->dir, &cfg, &j->store, err);
    if (rc != RS_OK)
        return rc;
    r->head.seq = rs_store_latest_seq(j->store);
    /* the checkpoint's own record, so the version and the sequence are
     * those of the same files */
    r->head.version = rs_store_version_latest(j->store);
    rs_store_id(j->store, r->head.database_id);
    j->err = (rs_err)RS_ERR_INIT;
    if (pthread_create(&j->thread, NULL, digest_worker, j) != 0)
        return rs_err_set(err, RS_E_INTERNAL, "could not start the digest thread");
    pthread_setname_np(j->thread, "rs-digest");
    j->started = 1;
    return RS_OK;
}

/* Waits for the digest and closes the checkpoint's store. */
static rs_code digest_finish(struct digest_job *j, rs_snapshot_timing *t, rs_err *err)
{
    rs_code rc = RS_OK;
    if (j->started) {
        pthread_join(j->thread, NULL);
        j->started = 0;
        if ((rc = j->rc) != RS_OK && err != NULL && err->code == RS_OK)
            *err = j->err;
        t->digest_ns = j->ns;
    }
    rs_store_close(j->store);
    j->store = NULL;
    return rc;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static rs_code list_files(struct seal_run *r, rs_err *err)
{
    DIR *d = opendir(r->dir);
    if (d == NULL)
        return rs_err_sys(err, RS_E_IO, errno, "checkpoint '%s'", r->dir);
    rs_code rc = RS_OK;
    size_t cap = 0;
    struct dirent *de;
    while (rc == RS_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            rc = rs_err_sys(err, RS_E_IO, errno, "checkpoint file '%s'", de->d_name);
        else if (!S_ISREG(st.st_mode))
            rc = rs_err_set(err, RS_E_UNSUPPORTED, "checkpoint '%s' holds '%s', which is not a regular file",
                            r->dir, de->d_name);
        if (rc != RS_OK)
            break;
        char **grown = rs_array_grow(r->names, &cap, r->n_names, sizeof *r->names, 64);
        if (grown == NULL) {
            rc = rs_err_set(err, RS_E_NOMEM, "out of memory listing '%s'", r->dir);
            break;
        }
        r->names = grown;
        if ((r->names[r->n_names] = strdup(de->d_name)) == NULL)
            rc = rs_err_set(err, RS_E_NOMEM, "out of memory listing '%s'", r->dir);
        else
            r->n_names++;
        r->total_bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    if (rc == RS_OK)
        qsort(r->names, r->n_names, sizeof *r->names, cmp_names);
    return rc;
}

/* ---- streaming ------------------------------------------------------ */

static void on_progress(void *arg, size_t n)
{
    struct seal_run *r = arg;
    r->done_bytes += n;
    if (r->opt.progress != NULL)
        r->opt.progress(r->opt.progress_arg, r->done_bytes, r->total_bytes);
}

static enum chunk_kind choose_kind(const struct seal_run *r, int fd, uint64_t size)
{
    switch (r->opt.compress) {
    case RS_SNAPSHOT_COMPRESS_ALL: return CHUNK_ZSTD;
    case RS_SNAPSHOT_COMPRESS_NONE: return CHUNK_RAW;
    default: return snapshot_probe_compressibility(fd, size, r->opt.zstd_level, r->opt.min_saving_pct);
    }
}

static rs_code add_file(struct seal_run *r, struct tar_writer *tw, rs_snapshot_manifest *m, const char *name,
                        rs_err *err)
{
    char path[PATH_MAX], entry[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    snprintf(entry, sizeof entry, TAR_DB_PREFIX "%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "checkpoint file '%s'", path);
    struct stat st;
    rs_code rc = fstat(fd, &st) == 0 ? RS_OK : rs_err_sys(err, RS_E_IO, errno, "checkpoint file '%s'", path);
    uint8_t hash[RS_SNAPSHOT_HASH_BYTES];
    enum chunk_kind kind = CHUNK_RAW;
    if (rc == RS_OK) {
        kind = choose_kind(r, fd, (uint64_t)st.st_size);
        RS_LOG_DEBUG("seal file=%s bytes=%lld compression=%s", name, (long long)st.st_size,
                     kind == CHUNK_ZSTD ? "zstd" : "none (already compressed)");
        rc = snapshot_tar_writer_add_fd(tw, entry, fd, (uint64_t)st.st_size, kind, hash, err);
    }
    close(fd);
    if (rc == RS_OK)
        rc = snapshot_manifest_add_file(m, name, (uint64_t)st.st_size, hash, kind == CHUNK_ZSTD, err);
    return rc;
}

static rs_code stream_all(struct seal_run *r, struct tar_writer *tw, rs_snapshot_manifest *m, rs_err *err)
{
    snapshot_tar_writer_on_progress(tw, on_progress, r);
    rs_code rc = RS_OK;
    for (size_t i = 0; i < r->n_names && rc == RS_OK; i++)
        rc = add_file(r, tw, m, r->names[i], err);
    r->timing.stream_ns = rs_clock_mono_ns() - r->t0;
    rs_code drc = digest_finish(&r->digest, &r->timing, err);
    if (rc == RS_OK && (rc = drc) == RS_OK)
        snapshot_manifest_set_digest(m, r->digest.digest, &r->digest.stats);
    char *inner = NULL;
    size_t inner_len = 0;
    if (rc == RS_OK)
        rc = snapshot_manifest_inner_json(m, &inner, &inner_len, err);
    if (rc == RS_OK)
        rc = snapshot_tar_writer_add_bytes(tw, TAR_MANIFEST_NAME, (const uint8_t *)inner, inner_len, CHUNK_ZSTD, err);
    free(inner);
    if (rc == RS_OK)
        rc = snapshot_tar_writer_close(tw, err);
    return rc;
}

/* Builds out <- encrypt <- zstd, streams, finishes; on RS_OK *m is done. */
static rs_code seal_stream(struct seal_run *r, const rs_snapshot_sink *sink, rs_snapshot_manifest **out, rs_err *err)
{
    struct wstage *o = NULL, *enc = NULL, *pipe = NULL, *z = NULL;
    struct tar_writer *tw = NULL;
    rs_snapshot_manifest *m = NULL;
    rs_code rc = snapshot_out_stage_create(sink, &o, err);
    if (rc == RS_OK)
        rc = snapshot_encrypt_stage_create(r->opt.key, r->opt.chunk_bytes, o, r->dk, &r->header, &enc, err);
    if (rc == RS_OK)
        rc = snapshot_pipe_stage_create(enc, &pipe, err);
    if (rc == RS_OK)
        rc = snapshot_zstd_stage_create(r->opt.zstd_level, r->opt.zstd_threads, pipe, &z, err);
    if (rc == RS_OK)
        rc = snapshot_tar_writer_open(z, &tw, err);
    r->head.header = &r->header;
    if (rc == RS_OK)
        rc = snapshot_manifest_create(&r->head, r->dk, &m, err);
    if (rc == RS_OK)
        rc = stream_all(r, tw, m, err);
    if (rc == RS_OK)
        rc = z->ops->finish(z, err);
    if (rc == RS_OK) {
        uint64_t bytes = 0;
        uint8_t hash[RS_SNAPSHOT_HASH_BYTES];
        snapshot_out_stage_result(o, &bytes, hash);
        snapshot_manifest_set_archive(m, bytes, hash);
        *out = m;
        m = NULL;
    }
    snapshot_tar_writer_destroy(tw);
    rs_snapshot_manifest_destroy(m);
    snapshot_wstage_chain_destroy(z != NULL ? z : pipe != NULL ? pipe : enc != NULL ? enc : o);
    return rc;
}

static void release_run(struct seal_run *r)
{
    for (size_t i = 0; i < r->n_names; i++)
        free(r->names[i]);
    free(r->names);
    sodium_memzero(r->dk, sizeof r->dk);
}

rs_code rs_snapshot_seal_dir(const char *dir, const rs_snapshot_options *opt, const rs_snapshot_sink *sink,
                             rs_snapshot_manifest **manifest, rs_snapshot_timing *timing, rs_err *err)
{
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    struct seal_run r = {.dir = dir};
    rs_code rc = resolve_options(opt, &r.opt, err);
    if (rc != RS_OK)
        return rc;
    if (gethostname(r.host, sizeof r.host - 1) != 0)
        strcpy(r.host, "unknown");
    r.head.host = r.host;
    r.head.source = r.opt.source != NULL ? r.opt.source : dir;
    r.t0 = rs_clock_mono_ns();
    rc = digest_start(&r, &r.digest, err);
    if (rc == RS_OK)
        rc = list_files(&r, err);
    if (rc == RS_OK)
        rc = seal_stream(&r, sink, manifest, err);
    digest_finish(&r.digest, &r.timing, NULL); /* after a failure: stop it, keep the first error */
    r.timing.seal_ns = rs_clock_mono_ns() - r.t0;
    release_run(&r);
    if (rc != RS_OK)
        rs_err_prefix(err, "seal '%s'", dir);
    if (rc == RS_OK && timing != NULL) {
        timing->digest_ns = r.timing.digest_ns;
        timing->stream_ns = r.timing.stream_ns;
        timing->seal_ns = r.timing.seal_ns;
    }
    return rc;
}

/* ---- a live database ------------------------------------------------ */

/* "<dir of db>/.<name of db>.snapshot-<pid>-XXXXXX": beside the database,
 * so the checkpoint's hard links stay on its file system; the pid lets a
 * later process sweep it if this one dies (rs_snapshot_sweep). */
static rs_code make_temp_beside(const char *db, char *out, size_t cap, rs_err *err)
{
    char *a = strdup(db), *b = strdup(db);
    rs_code rc = RS_OK;
    if (a == NULL || b == NULL)
        rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
    else if ((size_t)snprintf(out, cap, "%s/.%s" SNAPSHOT_CHECKPOINT_MARK "%ld-XXXXXX", dirname(a), basename(b),
                              (long)getpid()) >= cap)
        rc = rs_err_set(err, RS_E_INVALID, "database path '%s' is too long", db);
    else if (mkdtemp(out) == NULL)
        rc = rs_err_sys(err, RS_E_IO, errno, "making a checkpoint directory beside '%s'", db);
    free(a);
    free(b);
    return rc;
}

rs_code rs_snapshot_take(rs_store *store, const rs_snapshot_options *opt, const rs_snapshot_sink *sink,
                         rs_snapshot_manifest **manifest, rs_snapshot_timing *timing, rs_err *err)
{
    rs_snapshot_options o;
    rs_code rc = resolve_options(opt, &o, err);
    if (rc != RS_OK)
        return rc;
    if (rs_store_config_get(store)->in_memory)
        return rs_err_set(err, RS_E_UNSUPPORTED, "snapshot of '%s': an in-memory database has no files to seal",
                          rs_store_path(store));
    char tmp[PATH_MAX], cp[PATH_MAX + 16];
    if ((rc = make_temp_beside(rs_store_path(store), tmp, sizeof tmp, err)) != RS_OK)
        return rc;
    snprintf(cp, sizeof cp, "%s/checkpoint", tmp);
    uint64_t t0 = rs_clock_mono_ns();
    rc = rs_store_checkpoint(store, cp, NULL, err);
    uint64_t checkpoint_ns = rs_clock_mono_ns() - t0;
    if (o.source == NULL)
        o.source = rs_store_path(store);
    if (rc == RS_OK) {
        RS_LOG_DEBUG("checkpoint taken dir=%s ms=%.1f", cp, (double)checkpoint_ns / 1e6);
        rc = rs_snapshot_seal_dir(cp, &o, sink, manifest, timing, err);
    }
    rs_err cleanup = RS_ERR_INIT;
    if (rs_fs_remove_tree(tmp, &cleanup) != RS_OK)
        RS_LOG_WARN("snapshot: could not remove checkpoint dir=%s: %s", tmp, cleanup.msg);
    if (rc == RS_OK && timing != NULL)
        timing->checkpoint_ns = checkpoint_ns;
    return rc;
}
