/*
 * rockstream's own small records in the meta column family (a follower's
 * replication history, ...). Writes go through the commit path, so they are
 * stamped, chained and replicated like any batch.
 */
#include <string.h>

#include "store/store_int.h"

/* Names the store keeps for itself (store.c, store_commit.c, versioned
 * state's records in store_vformat.c); version records are "version/"
 * and 8 bytes, so the prefix is reserved. */
static const char *const reserved[] = {"db_id", STORE_CHAIN_KEY, STORE_META_VSTATE, STORE_META_POLICY,
                                       STORE_META_MIGRATE};
static const char RESERVED_PREFIX[] = "version/";

static rs_code check_name(const char *name, rs_err *err)
{
    if (name == NULL || name[0] == '\0')
        return rs_err_set(err, RS_E_INVALID, "meta record: no name given");
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return rs_err_set(err, RS_E_INVALID, "meta record '%s' is the store's own", name);
    if (strncmp(name, RESERVED_PREFIX, sizeof RESERVED_PREFIX - 1) == 0)
        return rs_err_set(err, RS_E_INVALID, "meta record '%s' is the store's own", name);
    return RS_OK;
}

rs_code rs_store_meta_get(rs_store *s, const char *name, rs_store_value *val, rs_err *err)
{
    rs_code rc = check_name(name, err);
    if (rc != RS_OK)
        return rc;
    if (s->cf[STORE_CF_META] == NULL)
        return RS_E_NOTFOUND; /* read-only, made by plain RocksDB */
    char *errptr = NULL;
    rocksdb_pinnableslice_t *pin =
        rocksdb_get_pinned_cf(s->db, s->read_opts, s->cf[STORE_CF_META], name, strlen(name), &errptr);
    if (errptr != NULL)
        return store_err_from(err, errptr, "read meta record", s->path);
    if (pin == NULL)
        return RS_E_NOTFOUND;
    size_t len = 0;
    const char *data = rocksdb_pinnableslice_value(pin, &len);
    *val = (rs_store_value){.data = (const uint8_t *)data, .len = len, .pin = pin};
    return RS_OK;
}

rs_code rs_store_meta_put(rs_store *s, const char *name, const uint8_t *val, size_t len, rs_err *err)
{
    rs_code rc = check_name(name, err);
    if (rc != RS_OK)
        return rc;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], name, strlen(name), (const char *)val, len);
    rc = store_write_raw(s, wb, err);
    rocksdb_writebatch_destroy(wb);
    return rc;
}
