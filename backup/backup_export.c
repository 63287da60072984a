/*
 * Exports: an archive and its detached manifest written to a local path
 * (rs_snapshot_files) or an object URL. To a URL the sealed bytes stream
 * into an upload as they come; the manifest goes last and create-only, so
 * it is the commit point: a failure at any moment leaves no manifest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "common/log.h"

struct rs_backup_export {
    char *archive_name, *manifest_name;
    /* a local path */
    rs_snapshot_files *files;
    /* an object URL */
    rs_objstore *store, *manifest_store;
    char *key, *manifest_key;
    rs_objstore_upload *upload;
};

struct taken {
    const char *key;
    int found;
};

static rs_code note_key(void *arg, const char *key, const rs_objstore_info *info, rs_err *err)
{
    (void)info;
    (void)err;
    struct taken *t = arg;
    t->found |= strcmp(key, t->key) == 0;
    return RS_OK;
}

/* A listing of the key as a prefix: one request that proves the bucket is
 * there and ours to read (a missing bucket or a wrong secret stops the
 * export before any work), and tells whether the name is taken. */
static rs_code refuse_existing(rs_objstore *s, const char *key, const char *name, rs_err *err)
{
    struct taken t = {.key = key};
    rs_code rc = rs_objstore_list(s, key, note_key, &t, err);
    if (rc == RS_OK && t.found)
        rc = rs_err_set(err, RS_E_EXISTS, "'%s' already exists: refusing to replace it", name);
    return rc;
}

/* Opens the store holding url and checks that nothing has its name. */
static rs_code open_target(const char *url, const rs_objstore_options *opt, rs_objstore **store, char **key,
                           rs_err *err)
{
    rs_code rc = rs_objstore_open_object(url, opt, store, key, err);
    if (rc == RS_OK)
        rc = refuse_existing(*store, *key, url, err);
    return rc;
}

static rs_code open_url(rs_backup_export *e, const rs_objstore_options *opt, uint64_t size_hint, rs_err *err)
{
    rs_code rc = open_target(e->archive_name, opt, &e->store, &e->key, err);
    if (rc == RS_OK)
        rc = open_target(e->manifest_name, opt, &e->manifest_store, &e->manifest_key, err);
    if (rc == RS_OK)
        rc = rs_objstore_upload_open(e->store, e->key, size_hint, &e->upload, err);
    return rc;
}

rs_code rs_backup_export_open(const char *dest, const char *manifest_dest, const rs_objstore_options *store_opt,
                              uint64_t size_hint_bytes, rs_backup_export **out, rs_err *err)
{
    int url = rs_objstore_is_url(dest);
    if (manifest_dest != NULL && rs_objstore_is_url(manifest_dest) != url)
        return rs_err_set(err, RS_E_INVALID, "'%s' and its manifest '%s': both URLs or both paths", dest,
                          manifest_dest);
    rs_backup_export *e = calloc(1, sizeof *e);
    if (e == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    e->archive_name = strdup(dest);
    rs_code rc = RS_OK;
    if (manifest_dest != NULL)
        e->manifest_name = strdup(manifest_dest);
    else if (asprintf(&e->manifest_name, "%s" RS_SNAPSHOT_MANIFEST_SUFFIX, dest) < 0)
        e->manifest_name = NULL;
    if (e->archive_name == NULL || e->manifest_name == NULL)
        rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
    else if (url)
        rc = open_url(e, store_opt, size_hint_bytes, err);
    else
        rc = rs_snapshot_files_open(dest, manifest_dest, &e->files, err);
    if (rc != RS_OK) {
        rs_backup_export_close(e);
        return rc;
    }
    *out = e;
    return RS_OK;
}

static rs_code upload_write(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    return rs_objstore_upload_write(arg, p, len, err);
}

rs_snapshot_sink rs_backup_export_sink(rs_backup_export *e)
{
    if (e->files != NULL)
        return rs_snapshot_files_sink(e->files);
    return (rs_snapshot_sink){.write = upload_write, .arg = e->upload};
}

/* The manifest failed: take the archive away again, so that no complete
 * archive lies about without its commit point, unless a manifest is there
 * after all (another writer's, which names whatever archive it wrote). */
static void unpublish(rs_backup_export *e)
{
    rs_objstore_info info;
    rs_err e1 = RS_ERR_INIT, e2 = RS_ERR_INIT;
    if (rs_objstore_head(e->manifest_store, e->manifest_key, &info, &e1) != RS_E_NOTFOUND)
        return;
    if (rs_objstore_remove(e->store, e->key, &e2) != RS_OK)
        RS_LOG_WARN("backup: archive=%s has no manifest and could not be removed: %s", e->archive_name, e2.msg);
}

static rs_code commit_url(rs_backup_export *e, const rs_snapshot_manifest *m, rs_err *err)
{
    rs_code rc = rs_objstore_upload_commit(e->upload, NULL, err);
    if (rc != RS_OK)
        return rc;
    uint8_t *text = NULL;
    size_t len = 0;
    rc = rs_snapshot_manifest_encode(m, &text, &len, err);
    if (rc == RS_OK)
        rc = rs_objstore_put_if_absent(e->manifest_store, e->manifest_key, text, len, NULL, err);
    free(text);
    if (rc != RS_OK) {
        rs_err_prefix(err, "manifest '%s'", e->manifest_name);
        if (rc != RS_E_EXISTS)
            unpublish(e);
    }
    return rc;
}

rs_code rs_backup_export_commit(rs_backup_export *e, const rs_snapshot_manifest *m, rs_err *err)
{
    return e->files != NULL ? rs_snapshot_files_commit(e->files, m, err) : commit_url(e, m, err);
}

const char *rs_backup_export_archive_name(const rs_backup_export *e)
{
    return e->archive_name;
}

const char *rs_backup_export_manifest_name(const rs_backup_export *e)
{
    return e->manifest_name;
}

void rs_backup_export_close(rs_backup_export *e)
{
    if (e == NULL)
        return;
    rs_snapshot_files_close(e->files);
    rs_objstore_upload_close(e->upload); /* aborts an uncommitted upload */
    rs_objstore_close(e->store);
    rs_objstore_close(e->manifest_store);
    free(e->key);
    free(e->manifest_key);
    free(e->archive_name);
    free(e->manifest_name);
    free(e);
}
