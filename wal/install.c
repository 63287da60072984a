/*
 * Installing a checkpoint on a follower: receive it into "<db>.incoming",
 * open it to check it is the primary's database at the announced sequence,
 * then swap it in: "<db>" -> "<db>.discarded", "<db>.incoming" -> "<db>",
 * fsync the parent, remove the discarded copy. Readers are held off (the
 * store lock) only for the swap. A crash leaves either the old database in
 * place or the new one; leftovers are cleared at the next install.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "wal/wal_int.h"

static void sibling(const char *db, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "%s.%s", db, suffix);
}

static rs_code fsync_parent(const char *path, rs_err *err)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    rs_code rc = rs_fs_fsync_dir(dirname(copy), err);
    free(copy);
    return rc;
}

/* Opens the received copy and checks it is what the primary announced. */
static rs_code verify(rs_wal_follower *f, const char *dir, const wal_welcome *w, uint64_t seq, rs_err *err)
{
    rs_store_config cfg = f->cfg.store_cfg;
    cfg.create_if_missing = 0;
    cfg.read_only = 1;
    rs_store *s = NULL;
    rs_code rc = rs_store_open(dir, &cfg, &s, err);
    if (rc != RS_OK) {
        rs_err_prefix(err, "received checkpoint");
        return rc;
    }
    uint8_t id[16];
    rs_store_id(s, id);
    if (memcmp(id, w->db_id, 16) != 0)
        rc = rs_err_set(err, RS_E_CORRUPT, "received checkpoint is of another database than the primary's");
    else if (rs_store_latest_seq(s) != seq)
        rc = rs_err_set(err, RS_E_CORRUPT, "received checkpoint stands at seq %llu, the primary announced %llu",
                        (unsigned long long)rs_store_latest_seq(s), (unsigned long long)seq);
    rs_store_close(s);
    return rc;
}

/* Puts incoming in place of the database (closed by the caller). */
static rs_code move_in(rs_wal_follower *f, void *arg, rs_err *err)
{
    const char *incoming = arg;
    char discarded[4096];
    sibling(f->db_path, "discarded", discarded, sizeof discarded);
    rs_fs_remove_tree(discarded, NULL);
    if (rename(f->db_path, discarded) != 0 && errno != ENOENT)
        return rs_err_sys(err, RS_E_IO, errno, "move '%s' aside", f->db_path);
    if (rename(incoming, f->db_path) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "put the checkpoint in place at '%s'", f->db_path);
    rs_code rc = fsync_parent(f->db_path, err);
    return rc == RS_OK ? rs_fs_remove_tree(discarded, err) : rc;
}

rs_code wal_follower_install(rs_wal_follower *f, wal_conn *c, const wal_welcome *w, rs_err *err)
{
    char incoming[4096];
    sibling(f->db_path, "incoming", incoming, sizeof incoming);
    wal_follower_set_state(f, RS_WAL_FOLLOWER_BOOTSTRAPPING);
    RS_LOG_INFO("follower receiving a checkpoint from %s into %s", f->primary_addr, f->db_path);
    uint64_t t0 = rs_clock_mono_ns(), seq = 0;
    rs_code rc = rs_fs_remove_tree(incoming, err);
    if (rc == RS_OK)
        rc = wal_ckpt_recv(c, incoming, f->cfg.timeout_ms, &seq, err);
    if (rc == RS_OK)
        rc = verify(f, incoming, w, seq, err);
    if (rc == RS_OK)
        rc = wal_follower_swap_store(f, move_in, incoming, err);
    if (rc != RS_OK) {
        rs_fs_remove_tree(incoming, NULL);
        return rc;
    }
    uint64_t version = rs_store_version_latest(f->store); /* this thread alone swaps the store */
    pthread_mutex_lock(&f->mu);
    f->resync_pending = 0;
    f->fresh_install = 1;
    f->st.n_resyncs++;
    f->st.applied_seq = seq;
    f->st.applied_version = version;
    pthread_cond_broadcast(&f->applied_cv);
    pthread_mutex_unlock(&f->mu);
    RS_LOG_INFO("follower installed checkpoint seq=%llu ms=%llu", (unsigned long long)seq,
                (unsigned long long)((rs_clock_mono_ns() - t0) / 1000000u));
    return RS_OK;
}
