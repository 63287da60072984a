/*
 * SNAPSHOT path: seals a snapshot of the served database into an archive
 * file and its detached manifest on the server's host, as Redis's BGSAVE
 * writes its dump there. The seal (rs_snapshot_take) runs on a thread of
 * its own, so the loop goes on serving reads and writes meanwhile (the
 * checkpoint is hard links); the client that asked is blocked and gets the
 * snapshot's facts once both files are complete. One snapshot at a time.
 * Also INFO persistence's snapshot_* lines.
 *
 * It is a job (jobs.c): its thread is a struct server_worker, which
 * writes only its results and the progress counters, then wakes the
 * loop, whose poll joins it, records the outcome and replies. The archive
 * goes only where snapshot_dir.c allows.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "server/cmd.h"

/* The seal's threads run at this nice value (see seal). */
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
    /* set by the loop before the thread starts; the thread only reads them */
    const rs_snapshot_key *key;
    rs_store *store;
    rs_snapshot_files *files;
    rs_snapshot_sink file_sink;
    uint64_t client_id;
    uint64_t started_ns;
    struct server_worker worker; /* cancelled: stop at the next write */
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
    if (server_worker_cancelled(&j->worker))
        return rs_err_set(err, RS_E_BUSY, "cancelled: the server is shutting down");
    return j->file_sink.write(j->file_sink.arg, p, len, err);
}

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
    struct snapshot_job *j = arg;
    atomic_store(&j->sealed_bytes, done);
    atomic_store(&j->total_bytes, total);
}

static void seal(void *arg)
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

/* The facts of a snapshot as field-value pairs, the RESP2 shape of a map
 * (as HELLO and CONFIG GET reply), so that scripts read fields by name. */
static void reply_done(struct client *c, const struct snapshot_job *j, const rs_snapshot_info *in)
{
    char digest[2 * RS_STORE_DIGEST_BYTES + 1], hash[2 * RS_SNAPSHOT_HASH_BYTES + 1];
    rs_hex_encode(in->content_digest, sizeof in->content_digest, digest, sizeof digest);
    rs_hex_encode(in->archive_hash, sizeof in->archive_hash, hash, sizeof hash);
    struct resp_buf *b = &c->out;
    server_resp_add_array(b, 2 * 13);
    server_reply_field_str(b, "id", in->id);
    server_reply_field_int(b, "seq", in->seq);
    server_reply_field_int(b, "version", in->version);
    server_reply_field_str(b, "digest", digest);
    server_reply_field_int(b, "pairs", in->n_pairs);
    server_reply_field_int(b, "files", in->n_files);
    server_reply_field_int(b, "file_bytes", in->file_bytes);
    server_reply_field_int(b, "archive_bytes", in->archive_bytes);
    server_reply_field_str(b, "archive_hash", hash);
    server_reply_field_str(b, "archive", rs_snapshot_files_archive_path(j->files));
    server_reply_field_str(b, "manifest", rs_snapshot_files_manifest_path(j->files));
    server_reply_field_str(b, "key_id", in->key_id);
    server_reply_field_int(b, "duration_ms", j->last.duration_ms);
}

static void reply_to_client(struct server *srv, struct snapshot_job *j, const rs_snapshot_info *in)
{
    struct client *c = server_client_by_id(srv, j->client_id);
    if (c == NULL)
        return; /* gone meanwhile: the outcome is in the log and INFO */
    size_t off = c->out.len;
    if (j->rc == RS_OK) {
        reply_done(c, j, in);
        /* its seq and digest tell of data: like any reply that read data, it
         * waits until that data is durable */
        server_client_hold(srv, c, off, in->seq);
    } else {
        char msg[sizeof j->err.msg + 32];
        snprintf(msg, sizeof msg, "ERR snapshot failed: %s", j->err.msg);
        server_resp_add_error(&c->out, msg);
    }
    if (c->out.oom)
        server_client_close(srv, c, "out of memory for replies");
    else
        server_client_unblock(srv, c);
}

static void poll_job(struct server *srv, void *state)
{
    struct snapshot_job *j = state;
    if (!server_worker_reap(&j->worker))
        return;
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

static void snapshot_cmd(struct cmd_ctx *x)
{
    struct snapshot_job *j = server_job_state(x->srv, &server_job_snapshot);
    char path[PATH_MAX];
    if (j->key == NULL) {
        server_reply_errorf(x, "ERR no snapshot key configured: archives are always encrypted; start serve with "
                               "--key FILE (a public key .pub is enough) or --passphrase");
        return;
    }
    if (j->worker.running) {
        server_reply_errorf(x, "BUSY a snapshot is already in progress (to '%.200s', for %llu s): wait for it to "
                               "end (INFO persistence, snapshot_in_progress)",
                            rs_snapshot_files_archive_path(j->files),
                            (unsigned long long)((rs_clock_mono_ns() - j->started_ns) / 1000000000ull));
        return;
    }
    rs_err err = RS_ERR_INIT;
    if (server_snapshot_path(x->srv->setup, arg_ptr(x, 1), arg_len(x, 1), path, sizeof path, &err) != RS_OK) {
        server_reply_rs_err(x, &err);
        return;
    }
    j->store = server_reader(x); /* applies this client's earlier writes: the snapshot holds them */
    if (rs_snapshot_files_open(path, NULL, &j->files, &err) != RS_OK) {
        server_reply_rs_err(x, &err);
        return;
    }
    j->client_id = x->c->id;
    j->started_ns = rs_clock_mono_ns();
    j->rc = RS_OK;
    j->err = (rs_err)RS_ERR_INIT;
    atomic_store(&j->sealed_bytes, 0);
    atomic_store(&j->total_bytes, 0);
    j->file_sink = rs_snapshot_files_sink(j->files);
    if (server_worker_start(&j->worker, x->srv, "rs-snapshot", seal, j, &err) != RS_OK) {
        rs_snapshot_files_close(j->files);
        j->files = NULL;
        server_reply_rs_err(x, &err);
        return;
    }
    RS_LOG_INFO("serve: snapshot started path=%s client=%llu", path, (unsigned long long)x->c->id);
    server_client_block(x->srv, x->c);
}

static const struct server_cmd cmds[] = {
    {"snapshot", 2, CMD_ADMIN, snapshot_cmd, "server",
     "Seals a snapshot into an archive and its manifest in the server's snapshot directory; replies when both "
     "are complete",
     "path"},
};

const struct server_cmd_set server_cmds_snapshot = {cmds, sizeof cmds / sizeof cmds[0]};

/* ---- the job: lifecycle and INFO --------------------------------------- */

static rs_code create_job(struct server *srv, void **state, rs_err *err)
{
    struct snapshot_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return rs_err_set(err, RS_E_NOMEM, "serve: out of memory");
    j->key = srv->cfg->snapshot_key;
    j->last.duration_ms = -1;
    *state = j;
    return RS_OK;
}

/* A shutdown: the seal stops at its next write, and its client gets the
 * error before the connection closes. */
static void cancel_job(struct server *srv, void *state)
{
    (void)srv;
    struct snapshot_job *j = state;
    if (!j->worker.running)
        return;
    RS_LOG_INFO("serve: cancelling the snapshot in progress path=%s", rs_snapshot_files_archive_path(j->files));
    server_worker_cancel(&j->worker);
}

static int job_busy(const void *state) { return ((const struct snapshot_job *)state)->worker.running; }

static void destroy_job(void *state)
{
    struct snapshot_job *j = state;
    if (j == NULL)
        return;
    server_worker_stop(&j->worker);
    rs_snapshot_files_close(j->files);
    rs_snapshot_manifest_destroy(j->manifest);
    free(j);
}

/* Redis's rdb_* fields, renamed: rockstream's snapshots are not RDB files. */
static void info_current(const struct snapshot_job *j, FILE *f)
{
    int running = j->worker.running;
    int64_t current_ms = running ? (int64_t)((rs_clock_mono_ns() - j->started_ns) / 1000000) : -1;
    fprintf(f, "snapshot_in_progress:%d\r\nsnapshot_current_path:%s\r\nsnapshot_current_duration_ms:%lld\r\n"
               "snapshot_current_sealed_bytes:%llu\r\nsnapshot_current_total_bytes:%llu\r\n",
            running, running ? rs_snapshot_files_archive_path(j->files) : "", (long long)current_ms,
            running ? (unsigned long long)atomic_load(&j->sealed_bytes) : 0,
            running ? (unsigned long long)atomic_load(&j->total_bytes) : 0);
}

static void report_job(struct server *srv, void *state, FILE *f)
{
    (void)srv;
    const struct snapshot_job *j = state;
    const struct snapshot_last *l = &j->last;
    fprintf(f, "snapshot_key:%s\r\nsnapshot_key_id:%s\r\n",
            j->key != NULL ? rs_snapshot_key_describe(j->key) : "none", j->key != NULL ? rs_snapshot_key_id(j->key) : "");
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

const struct server_job_type server_job_snapshot = {
    .name = "snapshot",
    .section = "persistence",
    .create = create_job,
    .poll = poll_job,
    .cancel = cancel_job,
    .busy = job_busy,
    .report = report_job,
    .destroy = destroy_job,
};
