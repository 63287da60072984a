/*
 * SNAPSHOT path: seals a snapshot of the served database into an archive
 * file and its detached manifest on the server's host, as Redis's BGSAVE
 * writes its dump there. The seal (rs_snapshot_take) runs on a thread of
 * its own, so the loop goes on serving reads and writes meanwhile (the
 * checkpoint is hard links); the client that asked is blocked and gets the
 * snapshot's facts once both files are complete. One snapshot at a time.
 * Also INFO persistence's snapshot_* lines.
 *
 * Threads: the loop owns the job; the thread writes only its results and
 * the progress counters, then sets done and wakes the loop, whose hook
 * joins it, records the outcome and replies.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/server_int.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"

/* The seal's threads run at this nice value (see snapshot_thread). */
#define SNAPSHOT_NICE 10

/* What INFO tells of the last snapshot (id, seq, version and size: when
 * it succeeded). Loop only. */
struct snapshot_last {
    int      status;          /* 0: none yet, 1: ok, -1: failed */
    uint64_t ok_unix_s;       /* when the last one that succeeded ended; 0 none */
    int64_t  duration_ms;     /* of the last one, -1 none */
    char     id[48];
    uint64_t seq;
    uint64_t version;
    uint64_t archive_bytes;
    char     path[PATH_MAX];
    char     error[sizeof ((rs_err *)0)->msg];
    uint64_t n_ok, n_failed;
};

struct snapshot_job {
    struct server *srv;
    /* set by the loop before the thread starts; the thread only reads them */
    const rs_snapshot_key *key;
    rs_store *store;
    rs_snapshot_files *files;
    rs_snapshot_sink file_sink;
    uint64_t client_id;
    uint64_t started_ns;
    pthread_t thread;
    int running;               /* loop: a thread to join */
    atomic_int cancel;         /* loop -> thread: stop at the next write */
    atomic_int done;           /* thread -> loop: the results below are set */
    _Atomic uint64_t sealed_bytes, total_bytes;
    /* the thread's results */
    rs_code rc;
    rs_err err;
    rs_snapshot_manifest *manifest;
    struct snapshot_last last;
};

/* ---- the thread ------------------------------------------------------- */

/* The archive's bytes on their way to the file: where a shutdown stops a
 * seal that could otherwise run for many minutes on a large database. */
static rs_code cancellable_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    struct snapshot_job *j = arg;
    if (atomic_load(&j->cancel))
        return rs_err_set(err, RS_E_BUSY, "cancelled: the server is shutting down");
    return j->file_sink.write(j->file_sink.arg, p, len, err);
}

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
    struct snapshot_job *j = arg;
    atomic_store(&j->sealed_bytes, done);
    atomic_store(&j->total_bytes, total);
}

static void *snapshot_thread(void *arg)
{
    struct snapshot_job *j = arg;
    /* Linux's nice is per thread and inherited by the threads this one
     * starts (digest, pipe, zstd workers): when the CPUs are contended the
     * event loop wins, and the snapshot, which nobody waits on by the
     * millisecond, takes longer instead of the clients' replies. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SNAPSHOT_NICE) != 0)
        RS_LOG_DEBUG("serve: snapshot thread keeps its priority: %s", strerror(errno));
    rs_snapshot_sink sink = {.write = cancellable_write, .arg = j};
    rs_snapshot_options opt = {.key = j->key, .progress = on_progress, .progress_arg = j};
    j->rc = rs_snapshot_take(j->store, &opt, &sink, &j->manifest, NULL, &j->err);
    if (j->rc == RS_OK)
        j->rc = rs_snapshot_files_commit(j->files, j->manifest, &j->err);
    atomic_store(&j->done, 1);
    server_wake(j->srv);
    return NULL;
}

/* ---- finishing, on the loop ------------------------------------------- */

static void record(struct snapshot_job *j, const rs_snapshot_info *in)
{
    struct snapshot_last *l = &j->last;
    l->duration_ms = (int64_t)((rs_clock_mono_ns() - j->started_ns) / 1000000);
    snprintf(l->path, sizeof l->path, "%s", rs_snapshot_files_archive_path(j->files));
    if (j->rc != RS_OK) {
        l->status = -1;
        l->n_failed++;
        l->id[0] = '\0';
        l->seq = l->version = l->archive_bytes = 0;
        snprintf(l->error, sizeof l->error, "%s", j->err.msg);
        RS_LOG_WARN("serve: snapshot failed path=%s ms=%lld: %s", l->path, (long long)l->duration_ms, j->err.msg);
        return;
    }
    l->status = 1;
    l->n_ok++;
    l->error[0] = '\0';
    l->ok_unix_s = rs_clock_wall_ns() / 1000000000ull;
    snprintf(l->id, sizeof l->id, "%s", in->id);
    l->seq = in->seq;
    l->version = in->version;
    l->archive_bytes = in->archive_bytes;
    RS_LOG_INFO("serve: snapshot done snapshot=%s seq=%llu version=%llu path=%s archive_bytes=%llu ms=%lld",
                in->id, (unsigned long long)in->seq, (unsigned long long)in->version, l->path, (unsigned long long)in->archive_bytes,
                (long long)l->duration_ms);
}

static void add_field_str(struct resp_buf *b, const char *name, const char *value)
{
    resp_add_bulk_str(b, name);
    resp_add_bulk_str(b, value);
}

static void add_field_int(struct resp_buf *b, const char *name, uint64_t value)
{
    resp_add_bulk_str(b, name);
    resp_add_int(b, (int64_t)value);
}

/* The facts of a snapshot as field-value pairs, the RESP2 shape of a map
 * (as HELLO and CONFIG GET reply), so that scripts read fields by name. */
static void reply_done(struct client *c, const struct snapshot_job *j, const rs_snapshot_info *in)
{
    char digest[2 * RS_STORE_DIGEST_BYTES + 1], hash[2 * RS_SNAPSHOT_HASH_BYTES + 1];
    rs_hex_encode(in->content_digest, sizeof in->content_digest, digest, sizeof digest);
    rs_hex_encode(in->archive_hash, sizeof in->archive_hash, hash, sizeof hash);
    struct resp_buf *b = &c->out;
    resp_add_array(b, 2 * 13);
    add_field_str(b, "id", in->id);
    add_field_int(b, "seq", in->seq);
    add_field_int(b, "version", in->version);
    add_field_str(b, "digest", digest);
    add_field_int(b, "pairs", in->n_pairs);
    add_field_int(b, "files", in->n_files);
    add_field_int(b, "file_bytes", in->file_bytes);
    add_field_int(b, "archive_bytes", in->archive_bytes);
    add_field_str(b, "archive_hash", hash);
    add_field_str(b, "archive", rs_snapshot_files_archive_path(j->files));
    add_field_str(b, "manifest", rs_snapshot_files_manifest_path(j->files));
    add_field_str(b, "key_id", in->key_id);
    add_field_int(b, "duration_ms", (uint64_t)j->last.duration_ms);
}

static void reply_to_client(struct server *srv, struct snapshot_job *j, const rs_snapshot_info *in)
{
    struct client *c = client_by_id(srv, j->client_id);
    if (c == NULL)
        return; /* gone meanwhile: the outcome is in the log and INFO */
    size_t off = c->out.len;
    if (j->rc == RS_OK) {
        reply_done(c, j, in);
        /* its seq and digest tell of data: like any reply that read data, it
         * waits until that data is durable */
        client_hold(srv, c, off, in->seq);
    } else {
        char msg[sizeof j->err.msg + 32];
        snprintf(msg, sizeof msg, "ERR snapshot failed: %s", j->err.msg);
        resp_add_error(&c->out, msg);
    }
    if (c->out.oom)
        client_close(srv, c, "out of memory for replies");
    else
        client_unblock(srv, c);
}

static void finish_hook(struct server *srv, void *arg)
{
    struct snapshot_job *j = arg;
    if (!j->running || !atomic_load(&j->done))
        return;
    pthread_join(j->thread, NULL);
    j->running = 0;
    rs_snapshot_info in = {0};
    if (j->rc == RS_OK)
        rs_snapshot_manifest_info(j->manifest, &in);
    record(j, &in);
    reply_to_client(srv, j, &in);
    rs_snapshot_files_close(j->files); /* removes the temporaries of a failed one */
    j->files = NULL;
    rs_snapshot_manifest_destroy(j->manifest);
    j->manifest = NULL;
}

/* ---- the command ------------------------------------------------------ */

/* The archive's path from argument 1 into out, or replies and returns -1.
 * Absolute: a client cannot know the server's working directory. No NUL
 * or control characters: it is shown in INFO and logs, one line each. */
static int archive_path(struct cmd_ctx *x, char *out, size_t cap)
{
    const uint8_t *p = arg_ptr(x, 1);
    size_t len = arg_len(x, 1);
    if (len == 0 || len >= cap) {
        reply_errorf(x, "ERR snapshot path must be 1 to %zu bytes", cap - 1);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            reply_errorf(x, "ERR snapshot path holds a control character (byte %zu)", i);
            return -1;
        }
    }
    memcpy(out, p, len);
    out[len] = '\0';
    if (out[0] != '/') {
        reply_errorf(x, "ERR snapshot path '%.200s' is not absolute: give the archive's full path on the "
                        "server's host", out);
        return -1;
    }
    return 0;
}

static int start_thread(struct snapshot_job *j, rs_err *err)
{
    if (pthread_create(&j->thread, NULL, snapshot_thread, j) != 0)
        return rs_err_set(err, RS_E_INTERNAL, "could not start the snapshot thread");
    pthread_setname_np(j->thread, "rs-snapshot");
    return RS_OK;
}

static void snapshot_cmd(struct cmd_ctx *x)
{
    struct snapshot_job *j = x->srv->snapshot;
    char path[PATH_MAX];
    if (j->key == NULL) {
        reply_errorf(x, "ERR no snapshot key configured: archives are always encrypted; start serve with "
                        "--key FILE (a public key .pub is enough) or --passphrase");
        return;
    }
    if (j->running) {
        reply_errorf(x, "BUSY a snapshot is already in progress (to '%.200s', for %llu s): wait for it to end "
                        "(INFO persistence, snapshot_in_progress)", rs_snapshot_files_archive_path(j->files),
                     (unsigned long long)((rs_clock_mono_ns() - j->started_ns) / 1000000000ull));
        return;
    }
    if (archive_path(x, path, sizeof path) != 0)
        return;
    rs_err err = RS_ERR_INIT;
    j->store = server_reader(x); /* applies this client's earlier writes: the snapshot holds them */
    if (rs_snapshot_files_open(path, NULL, &j->files, &err) != RS_OK) {
        reply_rs_err(x, &err);
        return;
    }
    j->client_id = x->c->id;
    j->started_ns = rs_clock_mono_ns();
    j->rc = RS_OK;
    j->err = (rs_err)RS_ERR_INIT;
    atomic_store(&j->done, 0);
    atomic_store(&j->cancel, 0);
    atomic_store(&j->sealed_bytes, 0);
    atomic_store(&j->total_bytes, 0);
    j->file_sink = rs_snapshot_files_sink(j->files);
    if (start_thread(j, &err) != RS_OK) {
        rs_snapshot_files_close(j->files);
        j->files = NULL;
        reply_rs_err(x, &err);
        return;
    }
    j->running = 1;
    RS_LOG_INFO("serve: snapshot started path=%s client=%llu", path, (unsigned long long)x->c->id);
    client_block(x->srv, x->c);
}

static const struct server_cmd cmds[] = {
    {"snapshot", 2, 0, snapshot_cmd, "server",
     "Seals a snapshot into an archive and its manifest on the server's host; replies when both are complete",
     "path"},
};

const struct server_cmd_set server_cmds_snapshot = {cmds, sizeof cmds / sizeof cmds[0]};

/* ---- lifecycle and INFO ----------------------------------------------- */

rs_code snapshot_job_create(struct server *srv, rs_err *err)
{
    struct snapshot_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return rs_err_set(err, RS_E_NOMEM, "serve: out of memory");
    j->srv = srv;
    j->key = srv->cfg.snapshot_key;
    j->last.duration_ms = -1;
    srv->snapshot = j;
    return server_hook_add(srv, finish_hook, j, err);
}

void snapshot_job_cancel(struct server *srv)
{
    struct snapshot_job *j = srv->snapshot;
    if (j != NULL && j->running) {
        RS_LOG_INFO("serve: cancelling the snapshot in progress path=%s", rs_snapshot_files_archive_path(j->files));
        atomic_store(&j->cancel, 1);
    }
}

int snapshot_job_running(const struct server *srv) { return srv->snapshot != NULL && srv->snapshot->running; }

void snapshot_job_destroy(struct server *srv)
{
    struct snapshot_job *j = srv->snapshot;
    if (j == NULL)
        return;
    if (j->running) {
        atomic_store(&j->cancel, 1);
        pthread_join(j->thread, NULL);
    }
    rs_snapshot_files_close(j->files);
    rs_snapshot_manifest_destroy(j->manifest);
    free(j);
    srv->snapshot = NULL;
}

/* Redis's rdb_* fields, renamed: rockstream's snapshots are not RDB files. */
static void info_current(const struct snapshot_job *j, FILE *f)
{
    int64_t current_ms = j->running ? (int64_t)((rs_clock_mono_ns() - j->started_ns) / 1000000) : -1;
    fprintf(f, "snapshot_in_progress:%d\r\nsnapshot_current_path:%s\r\nsnapshot_current_duration_ms:%lld\r\n"
               "snapshot_current_sealed_bytes:%llu\r\nsnapshot_current_total_bytes:%llu\r\n",
            j->running, j->running ? rs_snapshot_files_archive_path(j->files) : "", (long long)current_ms,
            j->running ? (unsigned long long)atomic_load(&j->sealed_bytes) : 0,
            j->running ? (unsigned long long)atomic_load(&j->total_bytes) : 0);
}

void snapshot_job_info(struct server *srv, FILE *f)
{
    const struct snapshot_job *j = srv->snapshot;
    const struct snapshot_last *l = &j->last;
    fprintf(f, "snapshot_key:%s\r\nsnapshot_key_id:%s\r\n", j->key != NULL ? cli_key_describe(j->key) : "none",
            j->key != NULL ? rs_snapshot_key_id(j->key) : "");
    info_current(j, f);
    fprintf(f, "snapshot_last_status:%s\r\nsnapshot_last_time:%llu\r\nsnapshot_last_duration_ms:%lld\r\n"
               "snapshot_last_path:%s\r\nsnapshot_last_id:%s\r\nsnapshot_last_seq:%llu\r\n"
               "snapshot_last_version:%llu\r\nsnapshot_last_archive_bytes:%llu\r\nsnapshot_last_error:%s\r\n"
               "snapshots_taken:%llu\r\nsnapshots_failed:%llu\r\n",
            l->status == 0 ? "none" : l->status > 0 ? "ok" : "err", (unsigned long long)l->ok_unix_s,
            (long long)l->duration_ms, l->path, l->id, (unsigned long long)l->seq, (unsigned long long)l->version,
            (unsigned long long)l->archive_bytes, l->error, (unsigned long long)l->n_ok,
            (unsigned long long)l->n_failed);
}
