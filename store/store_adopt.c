/*
 * Adopting a database another program wrote (docs/migration.md): RocksDB
 * opens a database for writing only with every column family it has, so the
 * families rockstream does not know are opened too, each with the options
 * that program last opened it with (RocksDB's OPTIONS file), and kept as
 * they are: rockstream never writes to them, but they stay in every
 * checkpoint, snapshot and follower. Read-only opens take the families they
 * need and leave the others alone.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/store_int.h"

static int is_ours(const char *name)
{
    for (int i = 0; i < STORE_CF__COUNT; i++)
        if (strcmp(name, store_cf_names[i]) == 0)
            return 1;
    return 0;
}

/* The loaded options of family name, or NULL. */
static rocksdb_options_t *loaded_options(const struct store_foreign *f, const char *name)
{
    for (size_t i = 0; i < f->n_loaded; i++)
        if (strcmp(f->loaded_names[i], name) == 0)
            return f->loaded_opts[i];
    return NULL;
}

/* Reads the options every family was last opened with. cache: the store's
 * block cache, so the adopted families share its budget. */
static rs_code load_options(rs_store *s, struct store_foreign *f, const char *names, rs_err *err)
{
    rocksdb_env_t *env = rocksdb_create_default_env();
    char *errptr = NULL;
    rocksdb_load_latest_options(s->path, env, 0, s->cache, &f->db_opts, &f->n_loaded, &f->loaded_names,
                                &f->loaded_opts, &errptr);
    rocksdb_env_destroy(env);
    if (errptr == NULL)
        return RS_OK;
    rs_err_set(err, RS_E_STORE, "database '%s': cannot adopt column families %s: their options cannot be read "
               "(rocksdb: %s)", s->path, names, errptr);
    rocksdb_free(errptr);
    rs_err_hint(err, "rockstream opens the column families it does not know with the options recorded in the "
                     "database's OPTIONS file: docs/migration.md");
    return RS_E_STORE;
}

/* Keeps the names of the families rockstream does not know from have. */
static rs_code pick_foreign(struct store_foreign *f, char **have, size_t n_have, char *names, size_t cap,
                            rs_err *err)
{
    f->names = calloc(n_have, sizeof *f->names);
    if (n_have > 0 && f->names == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    size_t used = 0;
    for (size_t i = 0; i < n_have; i++) {
        if (is_ours(have[i]))
            continue;
        if ((f->names[f->n] = strdup(have[i])) == NULL)
            return rs_err_set(err, RS_E_NOMEM, "out of memory");
        used += (size_t)snprintf(names + used, used < cap ? cap - used : 0, "%s'%s'", f->n > 0 ? ", " : "",
                                 have[i]);
        f->n++;
    }
    return RS_OK;
}

rs_code store_foreign_load(rs_store *s, rs_err *err)
{
    struct store_foreign *f = &s->foreign;
    if (s->cfg.read_only || s->cfg.in_memory)
        return RS_OK;
    size_t n_have = 0;
    char *errptr = NULL;
    char **have = rocksdb_list_column_families(s->opts, s->path, &n_have, &errptr);
    if (errptr != NULL) {
        /* a new database: nothing to adopt (RocksDB allocates the list
         * even then) */
        rocksdb_free(errptr);
        if (have != NULL)
            rocksdb_list_column_families_destroy(have, n_have);
        return RS_OK;
    }
    char names[200] = "";
    rs_code rc = pick_foreign(f, have, n_have, names, sizeof names, err);
    rocksdb_list_column_families_destroy(have, n_have);
    if (rc != RS_OK || f->n == 0)
        return rc;
    if ((f->opts = calloc(f->n, sizeof *f->opts)) == NULL || (f->cf = calloc(f->n, sizeof *f->cf)) == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    rc = load_options(s, f, names, err);
    for (size_t i = 0; rc == RS_OK && i < f->n; i++)
        if ((f->opts[i] = loaded_options(f, f->names[i])) == NULL)
            rc = rs_err_set(err, RS_E_STORE, "database '%s': its OPTIONS file has no options for column family '%s'",
                            s->path, f->names[i]);
    if (rc == RS_OK)
        RS_LOG_DEBUG("adopting column families of another program path=%s families=%s", s->path, names);
    return rc;
}

void store_foreign_close(rs_store *s)
{
    struct store_foreign *f = &s->foreign;
    for (size_t i = 0; f->cf != NULL && i < f->n; i++)
        if (f->cf[i] != NULL)
            rocksdb_column_family_handle_destroy(f->cf[i]);
    free(f->cf);
    f->cf = NULL;
}

void store_foreign_release(rs_store *s)
{
    struct store_foreign *f = &s->foreign;
    for (size_t i = 0; f->names != NULL && i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    free(f->opts);
    if (f->db_opts != NULL)
        rocksdb_load_latest_options_destroy(f->db_opts, f->loaded_names, f->loaded_opts, f->n_loaded);
    memset(f, 0, sizeof *f);
}
