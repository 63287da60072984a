/*
 * embed_backup: an application that backs its database up while it keeps
 * writing, and restores it. It seals a consistent snapshot of the live
 * database into an encrypted archive and its detached manifest (written
 * atomically, never over an existing file), then unseals the archive into
 * a new directory, checking every chunk, every file and the content digest
 * against the manifest, and reads a key back from the restored copy.
 *
 *   embed_backup DIR        (DIR/db, DIR/backup.key, DIR/backup.rsa,
 *                            DIR/backup.rsa.manifest, DIR/restored)
 */
#include <fcntl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/snapshot.h"
#include "example.h"
#include "store/store.h"

static int fail(const char *what, const rs_err *err) { return example_fail("embed_backup", what, err); }

static void path_in(const char *dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static rs_code fill(rs_store *db, rs_err *err)
{
    rs_store_batch *b = NULL;
    rs_code rc = rs_store_batch_create(&b, err);
    for (int i = 0; rc == RS_OK && i < 1000; i++) {
        char key[32], val[64];
        int klen = snprintf(key, sizeof key, "invoice:%05d", i);
        int vlen = snprintf(val, sizeof val, "amount=%d.%02d", i * 3, i % 100);
        rs_store_batch_put(b, (const uint8_t *)key, (size_t)klen, (const uint8_t *)val, (size_t)vlen);
    }
    if (rc == RS_OK)
        rc = rs_store_write(db, b, err);
    rs_store_batch_destroy(b);
    return rc;
}

/* Seals the live database into archive (and archive.manifest). */
static rs_code back_up(rs_store *db, const rs_snapshot_key *key, const char *archive, rs_err *err)
{
    rs_snapshot_files *files = NULL;
    rs_code rc = rs_snapshot_files_open(archive, NULL, &files, err);
    if (rc != RS_OK)
        return rc;
    rs_snapshot_options opt = {.key = key};
    rs_snapshot_sink sink = rs_snapshot_files_sink(files);
    rs_snapshot_manifest *m = NULL;
    rc = rs_snapshot_take(db, &opt, &sink, &m, NULL, err);
    if (rc == RS_OK)
        rc = rs_snapshot_files_commit(files, m, err); /* the manifest is the commit point */
    if (rc == RS_OK) {
        rs_snapshot_info in;
        rs_snapshot_manifest_info(m, &in);
        printf("sealed snapshot %s: sequence %" PRIu64 ", %" PRIu64 " pairs, %" PRIu64 " archive bytes\n", in.id,
               in.seq, in.n_pairs, in.archive_bytes);
    }
    rs_snapshot_manifest_destroy(m);
    rs_snapshot_files_close(files); /* removes whatever was not committed */
    return rc;
}

/* Reads the detached manifest, which the unseal checks the archive
 * against. A manifest lists every file: allow for large ones, within the
 * 64 MiB rs_snapshot_manifest_decode accepts. */
static rs_code read_manifest(const char *path, const rs_snapshot_key *key, rs_snapshot_manifest **out, rs_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return rs_err_set(err, RS_E_NOTFOUND, "cannot open '%s'", path);
    size_t cap = 64u << 20, n = 0;
    uint8_t *buf = malloc(cap);
    if (buf != NULL)
        n = fread(buf, 1, cap, f);
    fclose(f);
    rs_code rc = buf == NULL ? rs_err_set(err, RS_E_NOMEM, "out of memory")
                             : rs_snapshot_manifest_decode(buf, n, key, out, err);
    free(buf);
    return rc;
}

static rs_code restore(const char *archive, const rs_snapshot_key *key, const char *to, rs_err *err)
{
    char mpath[4096];
    int w = snprintf(mpath, sizeof mpath, "%s" RS_SNAPSHOT_MANIFEST_SUFFIX, archive);
    if (w < 0 || (size_t)w >= sizeof mpath)
        return rs_err_set(err, RS_E_INVALID, "archive path too long: '%s'", archive);
    rs_snapshot_manifest *expect = NULL;
    rs_code rc = read_manifest(mpath, key, &expect, err);
    int fd = rc == RS_OK ? open(archive, O_RDONLY | O_CLOEXEC) : -1;
    if (rc == RS_OK && fd < 0)
        rc = rs_err_set(err, RS_E_NOTFOUND, "cannot open '%s'", archive);
    if (rc == RS_OK) {
        rs_snapshot_source src = rs_snapshot_fd_source(&fd);
        rs_snapshot_unseal_options uo = {.key = key, .expect = expect};
        rc = rs_snapshot_unseal(&src, to, &uo, NULL, err);
    }
    if (fd >= 0)
        close(fd);
    rs_snapshot_manifest_destroy(expect);
    return rc;
}

static int read_back(const char *path)
{
    rs_store_config cfg = {.read_only = 1};
    rs_store *db = NULL;
    rs_err err = RS_ERR_INIT;
    if (rs_store_open(path, &cfg, &db, &err) != RS_OK)
        return fail(path, &err);
    rs_store_value v = {0};
    int status = 0;
    if (rs_store_get(db, NULL, (const uint8_t *)"invoice:00042", 13, &v, &err) != RS_OK)
        status = fail("get invoice:00042", &err);
    else
        printf("restored copy: invoice:00042 = %.*s\n", (int)v.len, (const char *)v.data);
    rs_store_value_release(&v);
    rs_store_close(db);
    return status;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: embed_backup DIR\n");
        return 2;
    }
    if (mkdir(argv[1], 0700) != 0 && errno != EEXIST) {
        perror(argv[1]);
        return 1;
    }
    char db_path[4096], key_path[4096], archive[4096], restored[4096], id[17];
    path_in(argv[1], "db", db_path, sizeof db_path);
    path_in(argv[1], "backup.key", key_path, sizeof key_path);
    path_in(argv[1], "backup.rsa", archive, sizeof archive);
    path_in(argv[1], "restored", restored, sizeof restored);
    rs_err err = RS_ERR_INIT;
    /* a new secret key, mode 0600: keep a copy somewhere safe */
    if (rs_snapshot_keygen(key_path, RS_SNAPSHOT_KEY_SECRET, id, &err) != RS_OK)
        return fail(key_path, &err);
    rs_snapshot_key *key = NULL;
    if (rs_snapshot_key_load(key_path, &key, &err) != RS_OK)
        return fail(key_path, &err);

    rs_store_config cfg = {.create_if_missing = 1};
    rs_store *db = NULL;
    int status = 0;
    if (rs_store_open(db_path, &cfg, &db, &err) != RS_OK)
        status = fail(db_path, &err);
    else if (fill(db, &err) != RS_OK)
        status = fail("write", &err);
    else if (back_up(db, key, archive, &err) != RS_OK)
        status = fail("back up", &err);
    rs_store_close(db);
    if (status == 0 && restore(archive, key, restored, &err) != RS_OK)
        status = fail("restore", &err);
    if (status == 0) {
        printf("restored into %s, verified against the manifest (key %s)\n", restored, id);
        status = read_back(restored);
    }
    rs_snapshot_key_destroy(key);
    return status;
}
