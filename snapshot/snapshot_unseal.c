/*
 * Unsealing: in -> decrypt -> unzstd -> tar extraction into a temporary
 * directory beside the target; then every check (each chunk's tag on the
 * way, then the files' sizes and hashes, the detached manifest when given,
 * the content digest of the opened database) and only then a rename into
 * place. On any failure the temporary directory is removed and the target
 * is untouched.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "snapshot/snapshot_int.h"

/* The target may be absent or an empty directory, nothing else. */
static rs_code check_target(const char *to, rs_err *err)
{
    struct stat st;
    if (stat(to, &st) != 0) {
        if (errno == ENOENT)
            return RS_OK;
        return rs_err_sys(err, RS_E_IO, errno, "target '%s'", to);
    }
    if (!S_ISDIR(st.st_mode))
        return rs_err_set(err, RS_E_EXISTS, "target '%s' exists and is not a directory", to);
    DIR *d = opendir(to);
    if (d == NULL)
        return rs_err_sys(err, RS_E_IO, errno, "target '%s'", to);
    struct dirent *de;
    int empty = 1;
    while (empty && (de = readdir(d)) != NULL)
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    closedir(d);
    if (!empty) {
        rs_err_set(err, RS_E_EXISTS, "target '%s' is not empty: unseal never writes into a non-empty directory", to);
        rs_err_hint(err, "choose a new directory, or empty this one first");
        return RS_E_EXISTS;
    }
    return RS_OK;
}

static rs_code split_path(const char *to, char *parent, char *base, rs_err *err)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (strlen(to) >= PATH_MAX - 32)
        return rs_err_set(err, RS_E_INVALID, "target path '%s' is too long", to);
    strcpy(a, to);
    strcpy(b, to);
    strcpy(parent, dirname(a));
    strcpy(base, basename(b));
    return RS_OK;
}

/* ---- verification --------------------------------------------------- */

static rs_code verify_digest(const char *dir, const rs_snapshot_info *want, rs_err *err)
{
    rs_store_config cfg = {.read_only = 1, .block_cache_bytes = 8u << 20, .disable_statistics = 1};
    rs_store *s = NULL;
    rs_code rc = rs_store_open(dir, &cfg, &s, err);
    if (rc != RS_OK) {
        rs_err_prefix(err, "the unsealed database does not open");
        return rc;
    }
    uint8_t digest[RS_STORE_DIGEST_BYTES];
    rc = rs_store_digest(s, NULL, digest, NULL, err);
    uint64_t seq = rs_store_latest_seq(s);
    uint64_t version = rs_store_version_latest(s);
    rs_store_close(s);
    if (rc != RS_OK)
        return rc;
    if (seq != want->seq)
        return rs_err_set(err, RS_E_CORRUPT, "the unsealed database is at sequence %llu, its manifest says %llu",
                          (unsigned long long)seq, (unsigned long long)want->seq);
    if (version != want->version)
        return rs_err_set(err, RS_E_CORRUPT, "the unsealed database holds version %llu, its manifest says %llu",
                          (unsigned long long)version, (unsigned long long)want->version);
    if (sodium_memcmp(digest, want->content_digest, sizeof digest) != 0) {
        char got[65], exp[65];
        rs_hex_encode(digest, sizeof digest, got, sizeof got);
        rs_hex_encode(want->content_digest, sizeof digest, exp, sizeof exp);
        return rs_err_set(err, RS_E_CORRUPT, "content digest %.16s... of the unsealed database differs from %.16s... "
                          "in its manifest", got, exp);
    }
    return RS_OK;
}

struct unseal_run {
    const rs_snapshot_unseal_options *opt;
    struct rstage *in, *dec, *unz;
    struct seal_header h;
    uint8_t dk[KEY_BYTES];
    struct extract_result res;
    rs_snapshot_manifest *inner;
};

static rs_code open_chain(struct unseal_run *u, const rs_snapshot_source *src, rs_err *err)
{
    rs_code rc = snapshot_in_stage_create(src, u->opt->progress, u->opt->progress_arg, &u->in, err);
    if (rc == RS_OK)
        rc = snapshot_decrypt_stage_create(u->in, u->opt->key, &u->h, u->dk, &u->dec, err);
    if (rc == RS_OK)
        rc = snapshot_unzstd_stage_create(u->dec, &u->unz, err);
    return rc;
}

/* Everything the archive says must hold of what was extracted. */
static rs_code verify(struct unseal_run *u, const char *tmp, rs_err *err)
{
    if (u->res.manifest == NULL)
        return rs_err_set(err, RS_E_CORRUPT, "archive has no manifest");
    rs_code rc = snapshot_manifest_parse_inner(u->res.manifest, u->res.manifest_len, u->dk, &u->inner, err);
    if (rc == RS_OK)
        rc = snapshot_manifest_check_files(u->inner, &u->res, err);
    if (rc == RS_OK && u->opt->expect != NULL) {
        uint64_t bytes = 0;
        uint8_t hash[RS_SNAPSHOT_HASH_BYTES];
        snapshot_in_stage_result(u->in, &bytes, hash);
        rc = snapshot_manifest_check_detached(u->opt->expect, u->inner, bytes, hash, err);
    }
    rs_snapshot_info info;
    if (rc == RS_OK) {
        rs_snapshot_manifest_info(u->inner, &info);
        rc = verify_digest(tmp, &info, err);
    }
    return rc;
}

static rs_code extract_and_verify(struct unseal_run *u, const char *tmp, rs_err *err)
{
    int dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "'%s'", tmp);
    rs_code rc = snapshot_tar_extract(u->unz, dirfd, &u->res, err);
    if (rc == RS_OK && fsync(dirfd) != 0)
        rc = rs_err_sys(err, RS_E_IO, errno, "'%s'", tmp);
    close(dirfd);
    if (rc == RS_OK)
        rc = verify(u, tmp, err);
    return rc;
}

static rs_code put_in_place(const char *tmp, const char *to, const char *parent, rs_err *err)
{
    /* rename(2) replaces an empty directory atomically, and nothing else */
    if (rename(tmp, to) != 0)
        return rs_err_sys(err, errno == ENOTEMPTY || errno == EEXIST ? RS_E_EXISTS : RS_E_IO, errno,
                          "moving the unsealed database to '%s'", to);
    return rs_fs_fsync_dir(parent, err);
}

static rs_code unseal_into(struct unseal_run *u, const char *to, rs_err *err)
{
    char parent[PATH_MAX], base[PATH_MAX], tmp[2 * PATH_MAX + 32];
    rs_code rc = split_path(to, parent, base, err);
    if (rc != RS_OK)
        return rc;
    snprintf(tmp, sizeof tmp, "%s/.%s.unseal-XXXXXX", parent, base);
    if (mkdtemp(tmp) == NULL)
        return rs_err_sys(err, RS_E_IO, errno, "making a temporary directory beside '%s'", to);
    rc = extract_and_verify(u, tmp, err);
    if (rc == RS_OK)
        rc = check_target(to, err); /* again: it may have changed meanwhile */
    if (rc == RS_OK)
        rc = put_in_place(tmp, to, parent, err);
    if (rc != RS_OK) {
        rs_err cleanup = RS_ERR_INIT;
        if (rs_fs_remove_tree(tmp, &cleanup) != RS_OK)
            RS_LOG_WARN("unseal: could not remove dir=%s: %s", tmp, cleanup.msg);
    }
    return rc;
}

rs_code rs_snapshot_unseal(const rs_snapshot_source *src, const char *to, const rs_snapshot_unseal_options *opt,
                           rs_snapshot_manifest **manifest, rs_err *err)
{
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    if (opt == NULL || opt->key == NULL)
        return rs_err_set(err, RS_E_INVALID, "unseal: no key given");
    if (!rs_snapshot_key_can_unseal(opt->key))
        return snapshot_key_refuse_public(opt->key, err);
    struct unseal_run u = {.opt = opt};
    rs_code rc = check_target(to, err);
    if (rc == RS_OK)
        rc = open_chain(&u, src, err);
    if (rc == RS_OK)
        rc = unseal_into(&u, to, err);
    if (rc == RS_OK && manifest != NULL) {
        *manifest = u.inner;
        u.inner = NULL;
    }
    rs_snapshot_manifest_destroy(u.inner);
    snapshot_extract_result_release(&u.res);
    snapshot_rstage_chain_destroy(u.unz != NULL ? u.unz : u.dec != NULL ? u.dec : u.in);
    sodium_memzero(u.dk, sizeof u.dk);
    return rc;
}
