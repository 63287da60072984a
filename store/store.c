/*
 * Opening and closing the database: options, column families, the
 * in-memory backend, the database id (and a new database's first chain
 * value), and group commit.
 */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "common/log.h"
#include "store/store_int.h"

const char *const store_cf_names[STORE_CF__COUNT] = {
    [STORE_CF_DEFAULT] = "default",
    [STORE_CF_META] = "rs_meta",
    [STORE_CF_CHANGES] = "rs_changes",
    [STORE_CF_STATE] = "rs_state",
    [STORE_CF_KEPT] = "rs_kept",
    [STORE_CF_HISTORY] = "rs_history",
};

/* Key of the database id in the meta family. Changing it orphans every
 * existing database's id. */
static const char META_DB_ID[] = "db_id";

static rs_code load_or_create_id(rs_store *s, rs_err *err)
{
    if (s->cf[STORE_CF_META] == NULL)
        return RS_OK; /* read-only, made by plain RocksDB: no id */
    char *errptr = NULL;
    size_t len = 0;
    char *val = rocksdb_get_cf(s->db, s->read_opts, s->cf[STORE_CF_META], META_DB_ID, sizeof META_DB_ID - 1,
                               &len, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "read database id", s->path);
    if (val == NULL && s->cfg.read_only)
        return RS_OK; /* made by plain RocksDB: no id yet, and none may be written */
    if (val != NULL) {
        if (len != sizeof s->id) {
            rocksdb_free(val);
            return rs_err_set(err, RS_E_CORRUPT, "database '%s': id record has %zu bytes, expected %zu",
                              s->path, len, sizeof s->id);
        }
        memcpy(s->id, val, sizeof s->id);
        rocksdb_free(val);
        return RS_OK;
    }
    if (getrandom(s->id, sizeof s->id, 0) != (ssize_t)sizeof s->id)
        return rs_err_set(err, RS_E_IO, "database '%s': no randomness for its id", s->path);
    /* a new database starts its chain with a restart, so it writes
     * unchained from its first batch on (rs_store_set_chained) */
    uint8_t chain[RS_STORE_CHAIN_BYTES];
    store_chain_restart_value(chain);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], META_DB_ID, sizeof META_DB_ID - 1, (const char *)s->id,
                              sizeof s->id);
    store_chain_put(s, wb, chain);
    rocksdb_write(s->db, s->write_sync, wb, &errptr);
    rocksdb_writebatch_destroy(wb);
    if (errptr != NULL)
        return store_err_from(err, errptr, "write database id", s->path);
    return RS_OK;
}

static rs_code validate(const char *path, const rs_store_config *cfg, rs_err *err)
{
    if (path == NULL || path[0] == '\0')
        return rs_err_set(err, RS_E_INVALID, "no database path given");
    if (cfg->n_tiers > RS_STORE_MAX_TIERS)
        return rs_err_set(err, RS_E_INVALID, "%zu storage tiers given, at most %d are supported", cfg->n_tiers,
                          RS_STORE_MAX_TIERS);
    for (size_t i = 0; i < cfg->n_tiers; i++) {
        if (cfg->tiers[i].path == NULL || cfg->tiers[i].path[0] == '\0')
            return rs_err_set(err, RS_E_INVALID, "storage tier %zu has no path", i);
        if (i + 1 < cfg->n_tiers && cfg->tiers[i].target_bytes == 0) {
            rs_err_set(err, RS_E_INVALID, "storage tier '%s' needs a target size", cfg->tiers[i].path);
            rs_err_hint(err, "every tier but the last needs one, e.g. --tier /fast/db:100G");
            return RS_E_INVALID;
        }
    }
    if (cfg->sync < RS_STORE_SYNC_DEFAULT || cfg->sync > RS_STORE_SYNC_NONE)
        return rs_err_set(err, RS_E_INVALID, "unknown sync policy %d", (int)cfg->sync);
    if (cfg->zstd_level < -7 || cfg->zstd_level > 22) {
        rs_err_set(err, RS_E_INVALID, "zstd level %d is outside -7..22", cfg->zstd_level);
        rs_err_hint(err, "higher levels compress more and write slower; the default, 3, suits most databases");
        return RS_E_INVALID;
    }
    return RS_OK;
}

/* A new database is private, as a follower's and an unsealed one are:
 * RocksDB would make its directories 0755 (issue 11). A directory that
 * cannot be made here is left to RocksDB, which says why. */
static void make_private_dirs(const char *path, const rs_store_config *cfg)
{
    if (!cfg->create_if_missing || cfg->in_memory || cfg->read_only)
        return;
    (void)mkdir(path, 0700);
    for (size_t i = 0; i < cfg->n_tiers; i++)
        (void)mkdir(cfg->tiers[i].path, 0700);
}

/* RocksDB creates the directory (and its LOG and LOCK files) before it
 * notices there is no database, so a mistyped path would leave litter
 * behind; look for CURRENT first, when nothing may be created. */
static rs_code check_exists(const char *path, const rs_store_config *cfg, rs_err *err)
{
    if (cfg->create_if_missing || cfg->in_memory)
        return RS_OK;
    char current[PATH_MAX];
    struct stat st;
    int n = snprintf(current, sizeof current, "%s/CURRENT", path);
    if (n < 0 || (size_t)n >= sizeof current)
        return rs_err_set(err, RS_E_INVALID, "database path '%s' is too long", path);
    if (stat(current, &st) == 0 || errno != ENOENT)
        return RS_OK; /* there, or RocksDB will say why it cannot look */
    rs_err_set(err, RS_E_NOTFOUND, "open: no database at '%s' (it has no CURRENT file)", path);
    rs_err_hint(err, STORE_HINT_CREATE);
    if (err != NULL)
        err->sys_errno = ENOENT;
    return RS_E_NOTFOUND;
}

/* Which families to open. For writing: every family of this layout
 * (RocksDB creates those missing), and layout 1's history if the database
 * still has it, to convert it (store_migrate.c). Read-only, a family the
 * database does not have cannot be created: one made before it existed (by
 * an older rockstream, or by plain RocksDB) is opened with the families it
 * has, the others left NULL; what uses one of those checks. A database
 * whose families cannot be listed (a new one) gets the full list, and
 * RocksDB says why if it cannot be opened. */
struct cf_list {
    const char              *names[STORE_CF__COUNT];
    const rocksdb_options_t *opts[STORE_CF__COUNT];
    int                      index[STORE_CF__COUNT];
    int                      n;
};

static void cf_add(struct cf_list *l, int i, const rocksdb_options_t *const *cf_opts)
{
    l->names[l->n] = store_cf_names[i];
    l->opts[l->n] = cf_opts[i];
    l->index[l->n++] = i;
}

static void families_to_open(rs_store *s, const rocksdb_options_t *const *cf_opts, struct cf_list *l)
{
    size_t n_have = 0;
    char *errptr = NULL;
    char **have = rocksdb_list_column_families(s->opts, s->path, &n_have, &errptr);
    rocksdb_free(errptr);
    l->n = 0;
    for (int i = 0; i < STORE_CF__COUNT; i++) {
        int present = have == NULL && i < STORE_CF_LIVE;
        for (size_t j = 0; have != NULL && j < n_have && !present; j++)
            present = strcmp(have[j], store_cf_names[i]) == 0;
        if (present || (!s->cfg.read_only && i < STORE_CF_LIVE))
            cf_add(l, i, cf_opts);
    }
    if (have != NULL)
        rocksdb_list_column_families_destroy(have, n_have);
}

/* For writing, RocksDB wants every family the database has: rockstream's
 * (l: it creates those missing) and those another program made, adopted
 * with their own options (store_adopt.c). handles receives ours. */
static rs_code open_read_write(rs_store *s, const struct cf_list *l, rocksdb_column_family_handle_t **ours,
                               char **errptr, rs_err *err)
{
    struct store_foreign *f = &s->foreign;
    size_t n = (size_t)l->n + f->n;
    const char **names = calloc(n, sizeof *names);
    const rocksdb_options_t **opts = calloc(n, sizeof *opts);
    rocksdb_column_family_handle_t **handles = calloc(n, sizeof *handles);
    if (names != NULL && opts != NULL && handles != NULL) {
        for (size_t i = 0; i < n; i++) {
            names[i] = i < (size_t)l->n ? l->names[i] : f->names[i - (size_t)l->n];
            opts[i] = i < (size_t)l->n ? l->opts[i] : f->opts[i - (size_t)l->n];
        }
        s->db = rocksdb_open_column_families(s->opts, s->path, (int)n, names, opts, handles, errptr);
        for (size_t i = 0; *errptr == NULL && i < n; i++) {
            if (i < (size_t)l->n)
                ours[i] = handles[i];
            else
                f->cf[i - (size_t)l->n] = handles[i];
        }
    }
    rs_code rc = names == NULL || opts == NULL || handles == NULL
                     ? rs_err_set(err, RS_E_NOMEM, "open '%s': out of memory", s->path) : RS_OK;
    free(names);
    free(opts);
    free(handles);
    return rc;
}

static rs_code open_db(rs_store *s, rs_err *err)
{
    const rocksdb_options_t *cf_opts[STORE_CF__COUNT];
    for (int i = 0; i < STORE_CF__COUNT; i++)
        cf_opts[i] = s->opts;
    /* the state family alone orders its keys by version too */
    s->state_cmp = store_state_cmp_create();
    s->state_opts = rocksdb_options_create_copy(s->opts);
    rocksdb_options_set_comparator(s->state_opts, s->state_cmp);
    cf_opts[STORE_CF_STATE] = s->state_opts;
    struct cf_list l;
    families_to_open(s, cf_opts, &l);
    rocksdb_column_family_handle_t *handles[STORE_CF__COUNT];
    char *errptr = NULL;
    rs_code rc = store_foreign_load(s, err);
    if (rc != RS_OK)
        return rc;
    if (s->cfg.read_only)
        s->db = rocksdb_open_for_read_only_column_families(s->opts, s->path, l.n, l.names, l.opts, handles, 0,
                                                           &errptr);
    else if ((rc = open_read_write(s, &l, handles, &errptr, err)) != RS_OK)
        return rc;
    if (errptr != NULL)
        return store_err_from(err, errptr, "open", s->path);
    for (int k = 0; k < l.n; k++)
        s->cf[l.index[k]] = handles[k];
    s->meta_cf_id = s->cf[STORE_CF_META] != NULL ? rocksdb_column_family_handle_get_id(s->cf[STORE_CF_META])
                                                 : STORE_META_CF_ID;
    return RS_OK;
}

rs_code rs_store_open(const char *path, const rs_store_config *cfg, rs_store **out, rs_err *err)
{
    rs_store_config c = {0};
    if (cfg != NULL)
        c = *cfg;
    rs_code rc = validate(path, &c, err);
    if (rc == RS_OK)
        rc = check_exists(path, &c, err);
    if (rc != RS_OK)
        return rc;
    rs_store_config_resolve(&c);
    make_private_dirs(path, &c);
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");

    rs_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return rs_err_set(err, RS_E_NOMEM, "open '%s': out of memory", path);
    }
    s->cfg = c;
    store_versions_init(s);
    /* the tier paths were borrowed: the copy must not keep them */
    for (size_t i = 0; i < RS_STORE_MAX_TIERS; i++)
        s->cfg.tiers[i].path = NULL;
    if (c.in_memory)
        s->mem_env = rocksdb_create_mem_env();
    s->opts = store_options_build(&c, s->mem_env, &s->cache);
    s->read_opts = rocksdb_readoptions_create();
    s->state_read_opts = store_state_latest_opts(NULL);
    s->write_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->write_sync, 1);
    s->write_nosync = rocksdb_writeoptions_create();

    rc = open_db(s, err);
    if (rc == RS_OK)
        rc = load_or_create_id(s, err);
    if (rc == RS_OK)
        rc = store_commit_init(s, err);
    if (rc == RS_OK)
        rc = store_migrate(s, err);
    if (rc == RS_OK)
        rc = store_versions_open(s, err);
    if (rc == RS_OK && s->cfg.sync != RS_STORE_SYNC_NONE && !s->cfg.read_only)
        rc = store_syncer_start(s, err);
    if (rc == RS_OK)
        rc = store_walkeep_start(s, err);
    if (rc != RS_OK) {
        rs_store_close(s);
        return rc;
    }
    RS_LOG_DEBUG("store opened path=%s seq=%llu sync=%s", s->path,
                 (unsigned long long)rocksdb_get_latest_sequence_number(s->db), rs_store_sync_name(s->cfg.sync));
    *out = s;
    return RS_OK;
}

void rs_store_close(rs_store *s)
{
    if (s == NULL)
        return;
    store_walkeep_stop(s);
    store_versions_close(s);
    store_syncer_stop(s);
    store_commit_release(s);
    for (int i = 0; i < STORE_CF__COUNT; i++)
        if (s->cf[i] != NULL)
            rocksdb_column_family_handle_destroy(s->cf[i]);
    store_foreign_close(s);
    if (s->db != NULL)
        rocksdb_close(s->db);
    store_foreign_release(s);
    if (s->write_nosync != NULL)
        rocksdb_writeoptions_destroy(s->write_nosync);
    if (s->write_sync != NULL)
        rocksdb_writeoptions_destroy(s->write_sync);
    if (s->read_opts != NULL)
        rocksdb_readoptions_destroy(s->read_opts);
    if (s->state_read_opts != NULL)
        rocksdb_readoptions_destroy(s->state_read_opts);
    if (s->opts != NULL)
        rocksdb_options_destroy(s->opts);
    if (s->state_opts != NULL)
        rocksdb_options_destroy(s->state_opts);
    if (s->state_cmp != NULL)
        rocksdb_comparator_destroy(s->state_cmp);
    if (s->cache != NULL)
        rocksdb_cache_destroy(s->cache);
    if (s->mem_env != NULL)
        rocksdb_env_destroy(s->mem_env);
    free(s->path);
    free(s);
}

const char *rs_store_path(const rs_store *s) { return s->path; }
const rs_store_config *rs_store_config_get(const rs_store *s) { return &s->cfg; }
void rs_store_id(const rs_store *s, uint8_t out[16]) { memcpy(out, s->id, sizeof s->id); }
uint64_t rs_store_latest_seq(rs_store *s) { return rocksdb_get_latest_sequence_number(s->db); }
