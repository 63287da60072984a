/*
 * The follower: its lifecycle, its connection loop (connect, session,
 * back off, again), its status, read access to its database, and
 * promotion. A follower whose primary refuses it (key, database, history)
 * stops and says why: retrying would only be refused again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "wal/wal_int.h"

#define RETRY_MAX_MS 5000
#define ROOM_TO_RESUME (4u << 20) /* free bytes before a full disk is tried again */

static void config_resolve(rs_wal_follower_config *c)
{
    if (c->heartbeat_ms == 0)
        c->heartbeat_ms = 500;
    if (c->timeout_ms == 0)
        c->timeout_ms = 5000;
    if (c->retry_ms == 0)
        c->retry_ms = 100;
}

void wal_follower_set_state(rs_wal_follower *f, rs_wal_follower_state state)
{
    pthread_mutex_lock(&f->mu);
    f->st.state = state;
    pthread_cond_broadcast(&f->applied_cv); /* wait_store gives up on a stopped follower */
    pthread_mutex_unlock(&f->mu);
}

void wal_follower_note_local_fault(rs_wal_follower *f)
{
    pthread_mutex_lock(&f->mu);
    f->local_fault = 1;
    f->st.n_local_errors++;
    pthread_mutex_unlock(&f->mu);
}

/* ---- the database --------------------------------------------------------- */

rs_code wal_follower_open_store(rs_wal_follower *f, rs_store **out, rs_err *err)
{
    rs_store_config cfg = f->cfg.store_cfg;
    cfg.create_if_missing = 0; /* never an empty database of our own: its id write would be ours */
    cfg.read_only = 0;
    rs_code rc = rs_store_open(f->db_path, &cfg, out, err);
    if (rc == RS_OK)
        rs_store_set_replica(*out, 1);
    return rc;
}

rs_code wal_follower_swap_store(rs_wal_follower *f, rs_code (*between)(rs_wal_follower *f, void *arg, rs_err *err),
                                void *arg, rs_err *err)
{
    /* from here, wait_store says "none" until the new one is open, so a
     * reader told to let go does not take the old one again */
    pthread_mutex_lock(&f->mu);
    f->has_store = 0;
    pthread_mutex_unlock(&f->mu);
    if (f->store != NULL && f->cfg.swap_fn != NULL)
        f->cfg.swap_fn(f->cfg.swap_arg); /* readers: let go of the old one */
    pthread_rwlock_wrlock(&f->store_lock);
    rs_store_close(f->store);
    f->store = NULL;
    rs_code rc = between != NULL ? between(f, arg, err) : RS_OK;
    if (rc == RS_OK)
        rc = wal_follower_open_store(f, &f->store, err);
    pthread_mutex_lock(&f->mu);
    f->has_store = rc == RS_OK;
    pthread_mutex_unlock(&f->mu);
    pthread_rwlock_unlock(&f->store_lock);
    return rc;
}

/* An absent or empty directory means: bootstrap from the primary. */
static int dir_is_empty(const char *path)
{
    char cmd_path[4096];
    snprintf(cmd_path, sizeof cmd_path, "%s/CURRENT", path);
    struct stat st;
    if (stat(path, &st) != 0)
        return 1;
    uint64_t bytes = 0;
    return stat(cmd_path, &st) != 0 && rs_fs_tree_bytes(path, &bytes, NULL) == RS_OK && bytes == 0;
}

/* ---- the connection loop -------------------------------------------------- */

static int stopped(rs_wal_follower *f) { return atomic_load(&f->stop); }

static void backoff(rs_wal_follower *f, uint32_t *delay_ms)
{
    uint64_t until = rs_clock_mono_ns() + (uint64_t)*delay_ms * 1000000u;
    while (!stopped(f) && rs_clock_mono_ns() < until)
        rs_clock_sleep_us(10000);
    *delay_ms = *delay_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : *delay_ms * 2;
}

/* Refusals that retrying cannot cure stop the follower: the key, another
 * database, a diverged history, a follower ahead, an unknown protocol, and
 * a primary whose WAL moved past a checkpoint just installed (a resync
 * that cannot catch up must not loop). */
static int is_final(rs_wal_follower *f, const rs_err *e)
{
    pthread_mutex_lock(&f->mu);
    int why = f->last_refusal, fresh = f->fresh_install;
    pthread_mutex_unlock(&f->mu);
    if (why == WAL_REFUSE_BEHIND)
        return fresh;
    return e->code == RS_E_AUTH || e->code == RS_E_INVALID || e->code == RS_E_VERSION;
}

/* A database the primary calls diverged (history, or ahead of it) is
 * rebuilt only when the operator allowed it: it may hold the only copy of
 * writes the new primary never had. Another database never is. */
static int may_discard(rs_wal_follower *f)
{
    pthread_mutex_lock(&f->mu);
    int diverged = f->last_refusal == WAL_REFUSE_HISTORY || f->last_refusal == WAL_REFUSE_AHEAD;
    int yes = diverged && f->cfg.allow_discard && !f->resync_pending;
    if (yes)
        f->resync_pending = 1;
    pthread_mutex_unlock(&f->mu);
    return yes;
}

static void record_error(rs_wal_follower *f, const rs_err *e)
{
    pthread_mutex_lock(&f->mu);
    f->st.last_error = *e;
    pthread_mutex_unlock(&f->mu);
}

static rs_code connect_once(rs_wal_follower *f, rs_err *err)
{
    int fd = -1;
    rs_code rc = wal_net_connect(f->primary_addr, f->cfg.timeout_ms, &fd, err);
    wal_conn *c = NULL;
    if (rc == RS_OK)
        rc = wal_conn_create(fd, f->primary_addr, 64u << 10, f->cfg.timeout_ms, &c, err);
    if (rc != RS_OK)
        return rc;
    pthread_mutex_lock(&f->mu);
    f->conn = c;
    f->st.n_connects++;
    if (stopped(f))
        wal_conn_shutdown(c); /* stop came while connecting: end at once */
    pthread_mutex_unlock(&f->mu);
    rc = wal_follower_session(f, c, err);
    pthread_mutex_lock(&f->mu);
    f->conn = NULL;
    f->last_refusal = c->refusal;
    f->st.n_auth_failures += c->auth_failed;
    pthread_mutex_unlock(&f->mu);
    if (c->auth_failed && rc != RS_OK)
        rs_err_hint(err, "possible tampering on the path to the primary: the follower reconnects, and never "
                         "applies what failed");
    wal_conn_close(c);
    return rc;
}

/* After its own store failed a write, RocksDB must not be written to again
 * (Debian's build asserts on the next append to a WAL that failed one): it
 * is closed and opened afresh before the follower reconnects, once the
 * disk has room (until then it keeps serving reads). A reopen that fails
 * leaves no store, and is tried again before anything else. */
static rs_code recover_store(rs_wal_follower *f, rs_err *err)
{
    struct statvfs vfs;
    if (statvfs(f->db_path, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < ROOM_TO_RESUME)
        return rs_err_set(err, RS_E_IO, "the disk holding '%s' is still full (%llu bytes free)", f->db_path,
                          (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    rs_code rc = wal_follower_swap_store(f, NULL, NULL, err);
    if (rc != RS_OK) {
        rs_err_prefix(err, "reopen its database");
        return rc;
    }
    RS_LOG_INFO("follower of %s: reopened its database after a failed write; resuming", f->primary_addr);
    pthread_mutex_lock(&f->mu);
    f->local_fault = 0;
    pthread_mutex_unlock(&f->mu);
    return RS_OK;
}

static int needs_recovery(rs_wal_follower *f)
{
    pthread_mutex_lock(&f->mu);
    int yes = f->local_fault;
    pthread_mutex_unlock(&f->mu);
    return yes;
}

static void *follower_main(void *arg)
{
    rs_wal_follower *f = arg;
    uint32_t delay = f->cfg.retry_ms;
    while (!stopped(f)) {
        rs_err err = RS_ERR_INIT;
        wal_follower_set_state(f, RS_WAL_FOLLOWER_CONNECTING);
        rs_code rc = needs_recovery(f) ? recover_store(f, &err) : RS_OK;
        if (rc == RS_OK)
            rc = connect_once(f, &err);
        if (stopped(f))
            break;
        if (rc == RS_OK)
            continue;
        record_error(f, &err);
        if (may_discard(f)) {
            RS_LOG_WARN("follower of %s: discarding its diverged database, as allowed, to rebuild it by "
                        "checkpoint: %s", f->primary_addr, err.msg);
            continue;
        }
        if (is_final(f, &err)) {
            RS_LOG_ERR("follower of %s stopped: %s", f->primary_addr, err.msg);
            wal_follower_set_state(f, err.code == RS_E_GAP ? RS_WAL_FOLLOWER_FAILED : RS_WAL_FOLLOWER_REFUSED);
            if (f->cfg.stopped_fn != NULL)
                f->cfg.stopped_fn(f->cfg.stopped_arg);
            return NULL;
        }
        RS_LOG_WARN("follower of %s: %s; retrying in %u ms%s%s", f->primary_addr, err.msg, delay,
                    err.hint != NULL ? ": " : "", err.hint != NULL ? err.hint : "");
        backoff(f, &delay);
        pthread_mutex_lock(&f->mu);
        if (f->st.state == RS_WAL_FOLLOWER_STREAMING)
            delay = f->cfg.retry_ms;
        pthread_mutex_unlock(&f->mu);
    }
    wal_follower_set_state(f, RS_WAL_FOLLOWER_STOPPED);
    return NULL;
}

/* ---- start / stop ----------------------------------------------------------- */

static void follower_free(rs_wal_follower *f)
{
    rs_store_close(f->store);
    pthread_rwlock_destroy(&f->store_lock);
    pthread_cond_destroy(&f->applied_cv);
    pthread_mutex_destroy(&f->mu);
    sodium_memzero(&f->cfg.key, sizeof f->cfg.key);
    free(f->db_path);
    free(f->primary_addr);
    free(f);
}

static rs_code open_existing(rs_wal_follower *f, rs_store *adopt, rs_err *err)
{
    rs_code rc = RS_OK;
    if (adopt != NULL) {
        f->store = adopt;
        rs_store_set_replica(adopt, 1);
    } else if (dir_is_empty(f->db_path)) {
        return RS_OK; /* bootstrap from the primary */
    } else {
        rc = wal_follower_open_store(f, &f->store, err);
    }
    if (rc == RS_OK) {
        uint64_t seq;
        uint8_t chain[RS_WAL_CHAIN_BYTES];
        rs_store_chain(f->store, &seq, chain);
        f->st.applied_seq = seq;
        f->st.applied_version = rs_store_version_latest(f->store);
        rc = rs_wal_history_current(f->store, f->st.history, err);
    }
    f->has_store = rc == RS_OK && f->store != NULL;
    return rc;
}

rs_code rs_wal_follower_start(const rs_wal_follower_config *cfg, rs_wal_follower **out, rs_err *err)
{
    rs_store *adopt = cfg != NULL ? cfg->adopt_store : NULL;
    rs_wal_follower *f = NULL;
    if (cfg == NULL || cfg->db_path == NULL || cfg->primary_addr == NULL || sodium_init() < 0 ||
        (f = calloc(1, sizeof *f)) == NULL) {
        rs_store_close(adopt);
        if (f == NULL && cfg != NULL && cfg->db_path != NULL && cfg->primary_addr != NULL)
            return rs_err_set(err, RS_E_NOMEM, "follower: out of memory");
        return rs_err_set(err, RS_E_INVALID, "follower: a database path and a primary address are needed");
    }
    f->cfg = *cfg;
    config_resolve(&f->cfg);
    f->db_path = strdup(cfg->db_path);
    f->primary_addr = strdup(cfg->primary_addr);
    if (cfg->name != NULL)
        snprintf(f->name, sizeof f->name, "%s", cfg->name);
    else
        gethostname(f->name, sizeof f->name - 1);
    /* writers first: a resync's swap must not wait behind a stream of
     * readers acquiring the store again */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&f->store_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->applied_cv, NULL);
    rs_code rc = f->db_path == NULL || f->primary_addr == NULL ? rs_err_set(err, RS_E_NOMEM, "follower: out of memory")
                                                              : open_existing(f, adopt, err);
    if (rc == RS_OK && pthread_create(&f->thread, NULL, follower_main, f) != 0)
        rc = rs_err_set(err, RS_E_INTERNAL, "follower: cannot start its thread");
    if (rc != RS_OK) {
        follower_free(f);
        return rc;
    }
    pthread_setname_np(f->thread, "rs-follow");
    f->running = 1;
    *out = f;
    return RS_OK;
}

static void halt(rs_wal_follower *f)
{
    atomic_store(&f->stop, 1);
    pthread_mutex_lock(&f->mu);
    wal_conn_shutdown(f->conn);
    pthread_cond_broadcast(&f->applied_cv);
    pthread_mutex_unlock(&f->mu);
    if (f->running)
        pthread_join(f->thread, NULL);
    f->running = 0;
}

void rs_wal_follower_stop(rs_wal_follower *f)
{
    if (f == NULL)
        return;
    halt(f);
    follower_free(f);
}

/* ---- status and reads ------------------------------------------------------- */

void rs_wal_follower_status_get(rs_wal_follower *f, rs_wal_follower_status *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->st;
    pthread_mutex_unlock(&f->mu);
}

rs_store *rs_wal_follower_store_acquire(rs_wal_follower *f)
{
    pthread_rwlock_rdlock(&f->store_lock);
    if (f->store == NULL) {
        pthread_rwlock_unlock(&f->store_lock);
        return NULL;
    }
    return f->store;
}

void rs_wal_follower_store_release(rs_wal_follower *f) { pthread_rwlock_unlock(&f->store_lock); }

int rs_wal_follower_wait_store(rs_wal_follower *f, uint64_t timeout_ms)
{
    struct timespec until = rs_clock_deadline_ts(timeout_ms);
    pthread_mutex_lock(&f->mu);
    f->n_applied_waiters++;
    while (!f->has_store && !stopped(f) && f->st.state != RS_WAL_FOLLOWER_REFUSED &&
           f->st.state != RS_WAL_FOLLOWER_FAILED)
        if (pthread_cond_timedwait(&f->applied_cv, &f->mu, &until) != 0)
            break;
    f->n_applied_waiters--;
    int has = f->has_store;
    pthread_mutex_unlock(&f->mu);
    return has;
}

uint64_t rs_wal_follower_wait_applied(rs_wal_follower *f, uint64_t seq, uint64_t timeout_ms)
{
    struct timespec until = rs_clock_deadline_ts(timeout_ms);
    pthread_mutex_lock(&f->mu);
    f->n_applied_waiters++;
    while (f->st.applied_seq < seq && !stopped(f))
        if (pthread_cond_timedwait(&f->applied_cv, &f->mu, &until) != 0)
            break;
    f->n_applied_waiters--;
    uint64_t applied = f->st.applied_seq;
    pthread_mutex_unlock(&f->mu);
    return applied;
}

/* ---- promotion -------------------------------------------------------------- */

rs_code rs_wal_follower_promote(rs_wal_follower *f, rs_store **store_out, rs_err *err)
{
    halt(f);
    if (f->store == NULL) {
        follower_free(f);
        return rs_err_set(err, RS_E_UNSUPPORTED, "promote: the follower has no database yet (still bootstrapping)");
    }
    rs_store *s = f->store;
    f->store = NULL;
    /* a primary now: its first write (the new history id) and every one
     * after are chained, so the other followers can resume from it */
    rs_store_set_chained(s, 1);
    rs_store_set_replica(s, 0);
    rs_code rc = wal_history_promote(s, err);
    uint8_t hist[RS_WAL_HISTORY_BYTES];
    char hex[2 * RS_WAL_HISTORY_BYTES + 1];
    if (rc == RS_OK && rs_wal_history_current(s, hist, err) == RS_OK) {
        rs_hex_encode(hist, sizeof hist, hex, sizeof hex);
        RS_LOG_INFO("promoted to primary path=%s history=%s seq=%llu", rs_store_path(s), hex,
                    (unsigned long long)rs_store_latest_seq(s));
    }
    follower_free(f);
    if (rc != RS_OK) {
        rs_store_close(s);
        return rc;
    }
    *store_out = s;
    return RS_OK;
}
