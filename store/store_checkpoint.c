/*
 * Checkpoints: a consistent copy of the database made of hard links to its
 * immutable files, for snapshot/ to seal and for followers to bootstrap
 * from. The checkpoint's sequence number is read back by opening it.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_int.h"

/* Up to this much WAL is copied into the checkpoint; past it RocksDB
 * flushes the memtables first. Copying a small WAL is cheaper than a flush,
 * and a flush of a large one is cheaper than copying it. */
#define CHECKPOINT_WAL_COPY_MAX (64ull * 1024 * 1024)

/* Opened read-only with every family it has (the state family under its
 * comparator), as the store's own options, the in-memory Env included. */
static rs_code read_seq(rs_store *s, const char *dir, uint64_t *seq_out, rs_err *err)
{
    size_t n = 0;
    char *errptr = NULL;
    char **names = rocksdb_list_column_families(s->opts, dir, &n, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "open checkpoint", dir);
    const rocksdb_options_t **opts = calloc(n, sizeof *opts);
    rocksdb_column_family_handle_t **cf = calloc(n, sizeof *cf);
    rs_code rc = RS_OK;
    if (opts == NULL || cf == NULL) {
        rc = rs_err_set(err, RS_E_NOMEM, "open checkpoint '%s': out of memory", dir);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        opts[i] = strcmp(names[i], store_cf_names[STORE_CF_STATE]) == 0 ? s->state_opts : s->opts;
    rocksdb_t *db = rocksdb_open_for_read_only_column_families(s->opts, dir, (int)n, (const char *const *)names,
                                                               opts, cf, 0, &errptr);
    if (errptr != NULL) {
        rc = store_err_from(err, errptr, "open checkpoint", dir);
        goto out;
    }
    *seq_out = rocksdb_get_latest_sequence_number(db);
    for (size_t i = 0; i < n; i++)
        rocksdb_column_family_handle_destroy(cf[i]);
    rocksdb_close(db);
out:
    free(opts);
    free(cf);
    rocksdb_list_column_families_destroy(names, n);
    return rc;
}

/* The target must not exist and its parent must: RocksDB would otherwise
 * blame the database for a mistyped target. */
static rs_code check_target(rs_store *s, const char *dir, rs_err *err)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return rs_err_set(err, RS_E_EXISTS, "checkpoint of '%s': '%s' already exists", s->path, dir);
    char parent[PATH_MAX];
    int n = snprintf(parent, sizeof parent, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof parent)
        return rs_err_set(err, RS_E_INVALID, "checkpoint of '%s': path '%s' is too long", s->path, dir);
    char *up = dirname(parent);
    if (stat(up, &st) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "checkpoint of '%s' into '%s': its parent directory '%s'",
                          s->path, dir, up);
    return RS_OK;
}

rs_code rs_store_checkpoint(rs_store *s, const char *dir, uint64_t *seq_out, rs_err *err)
{
    /* the in-memory backend's files are not on the real file system */
    if (s->mem_env == NULL) {
        rs_code rc = check_target(s, dir, err);
        if (rc != RS_OK)
            return rc;
    }
    char *errptr = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(s->db, &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "checkpoint", s->path);
    rocksdb_checkpoint_create(cp, dir, CHECKPOINT_WAL_COPY_MAX, &errptr);
    rocksdb_checkpoint_object_destroy(cp);
    if (errptr != NULL)
        return store_err_from(err, errptr, "checkpoint", s->path);
    if (seq_out != NULL)
        return read_seq(s, dir, seq_out, err);
    return RS_OK;
}
