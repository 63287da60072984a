/*
 * rockstream snapshot | unseal: seal a consistent checkpoint of a database
 * that no server holds into an encrypted archive file (and its detached
 * manifest), and put an archive back as a verified database directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/hex.h"

enum { OPT_OUT = CLI_OPT_LAST_SHARED, OPT_KEY, OPT_PASSPHRASE, OPT_MANIFEST, OPT_LEVEL, OPT_THREADS, OPT_COMPRESS,
       OPT_IN, OPT_TO, OPT_NO_MANIFEST, OPT_MIN_SAVING };

#define MANIFEST_READ_MAX (64u * 1024 * 1024)

struct snap_args {
    struct cli_store_args store;
    struct cli_key_args   key;
    const char *out, *in, *to, *manifest;
    int         no_manifest;
    rs_snapshot_options opt;
    char        manifest_buf[PATH_MAX + 16];
};

static rs_code snap_option(int opt, const char *arg, void *ctx, rs_err *err)
{
    struct snap_args *a = ctx;
    long l = 0;
    switch (opt) {
    case OPT_OUT: a->out = arg; return RS_OK;
    case OPT_IN: a->in = arg; return RS_OK;
    case OPT_TO: a->to = arg; return RS_OK;
    case OPT_KEY: a->key.key_file = arg; return RS_OK;
    case OPT_PASSPHRASE: a->key.passphrase = 1; return RS_OK;
    case OPT_MANIFEST: a->manifest = arg; return RS_OK;
    case OPT_NO_MANIFEST: a->no_manifest = 1; return RS_OK;
    case OPT_LEVEL:
        if (cli_parse_int(arg, 1, 19, &l) != 0)
            return rs_err_set(err, RS_E_INVALID, "--level '%s': expected a zstd level from 1 to 19", arg);
        a->opt.zstd_level = (int)l;
        return RS_OK;
    case OPT_THREADS:
        if (cli_parse_int(arg, 1, 64, &l) != 0)
            return rs_err_set(err, RS_E_INVALID, "--threads '%s': expected 1 to 64", arg);
        a->opt.zstd_threads = (int)l;
        return RS_OK;
    case OPT_MIN_SAVING:
        if (cli_parse_int(arg, 1, 90, &l) != 0)
            return rs_err_set(err, RS_E_INVALID, "--min-saving '%s': expected a percentage from 1 to 90", arg);
        a->opt.min_saving_pct = (int)l;
        return RS_OK;
    case OPT_COMPRESS:
        if (strcmp(arg, "auto") == 0)
            a->opt.compress = RS_SNAPSHOT_COMPRESS_AUTO;
        else if (strcmp(arg, "all") == 0)
            a->opt.compress = RS_SNAPSHOT_COMPRESS_ALL;
        else if (strcmp(arg, "none") == 0)
            a->opt.compress = RS_SNAPSHOT_COMPRESS_NONE;
        else
            return rs_err_set(err, RS_E_INVALID, "--compress '%s': expected auto, all or none", arg);
        return RS_OK;
    }
    return RS_E_INVALID;
}

static const char *manifest_path(struct snap_args *a, const char *archive)
{
    if (a->manifest != NULL)
        return a->manifest;
    snprintf(a->manifest_buf, sizeof a->manifest_buf, "%s" RS_SNAPSHOT_MANIFEST_SUFFIX, archive);
    return a->manifest_buf;
}

/* The first 8 bytes as 16 hex digits: enough to compare by eye. */
static void hex8(const uint8_t *p, char out[RS_HEX_LEN(8)])
{
    rs_hex_encode(p, 8, out, RS_HEX_LEN(8));
}

/* ---- snapshot ------------------------------------------------------- */

static void seal_progress(void *arg, uint64_t done, uint64_t total)
{
    struct cli_progress *p = arg;
    p->total = total / 1000000;
    cli_progress_update(p, done / 1000000, done);
}

static void print_sealed(const struct snap_args *a, const char *mpath, const rs_snapshot_manifest *m,
                         const rs_snapshot_timing *t, const rs_snapshot_key *key)
{
    rs_snapshot_info in;
    rs_snapshot_manifest_info(m, &in);
    char digest[17], ahash[17];
    hex8(in.content_digest, digest);
    hex8(in.archive_hash, ahash);
    double seal_s = (double)t->seal_ns / 1e9;
    printf("snapshot %s sealed into %s\n", in.id, a->out);
    printf("  sequence        %llu\n", (unsigned long long)in.seq);
    printf("  version         %llu%s\n", (unsigned long long)in.version, in.version == 0 ? " (no versioned state)" : "");
    printf("  content digest  %s... (%llu pairs)\n", digest, (unsigned long long)in.n_pairs);
    printf("  files           %llu, %.1f MB: %llu through zstd, %llu passed as they are (already compressed)\n",
           (unsigned long long)in.n_files, (double)in.file_bytes / 1e6, (unsigned long long)in.n_files_compressed,
           (unsigned long long)(in.n_files - in.n_files_compressed));
    printf("  archive         %.1f MB, xxh3-128 %s...\n", (double)in.archive_bytes / 1e6, ahash);
    printf("  key             %s %s\n", rs_snapshot_key_describe(key), in.key_id);
    printf("  manifest        %s\n", mpath);
    printf("  took            checkpoint %.3f s, files sealed in %.2f s (%.0f MB/s), digest %.2f s alongside, "
           "%.2f s in all\n", (double)t->checkpoint_ns / 1e9, (double)t->stream_ns / 1e9,
           t->stream_ns > 0 ? (double)in.file_bytes / 1e6 / ((double)t->stream_ns / 1e9) : 0,
           (double)t->digest_ns / 1e9, seal_s);
}

static rs_code snapshot_run(struct snap_args *a, const rs_snapshot_key *key, rs_err *err)
{
    rs_snapshot_files *files = NULL;
    rs_store *store = NULL;
    rs_snapshot_manifest *m = NULL;
    rs_snapshot_timing t = {0};
    /* the files first: an existing one stops everything before any work */
    rs_code rc = rs_snapshot_files_open(a->out, a->manifest, &files, err);
    if (rc == RS_OK)
        rc = cli_store_open(&a->store, &store, err);
    struct cli_progress p;
    cli_progress_begin(&p, "sealed", "MB", 0);
    a->opt.key = key;
    a->opt.progress = seal_progress;
    a->opt.progress_arg = &p;
    rs_snapshot_sink sink = files != NULL ? rs_snapshot_files_sink(files) : (rs_snapshot_sink){0};
    if (rc == RS_OK)
        rc = rs_snapshot_take(store, &a->opt, &sink, &m, &t, err);
    cli_progress_end(&p);
    rs_store_close(store);
    if (rc == RS_OK)
        rc = rs_snapshot_files_commit(files, m, err);
    if (rc == RS_OK)
        print_sealed(a, rs_snapshot_files_manifest_path(files), m, &t, key);
    rs_snapshot_manifest_destroy(m);
    rs_snapshot_files_close(files);
    return rc;
}

static const struct option snapshot_longopts[] = {
    CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS,
    {"out", required_argument, NULL, OPT_OUT},
    {"key", required_argument, NULL, OPT_KEY},
    {"passphrase", no_argument, NULL, OPT_PASSPHRASE},
    {"manifest", required_argument, NULL, OPT_MANIFEST},
    {"level", required_argument, NULL, OPT_LEVEL},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"compress", required_argument, NULL, OPT_COMPRESS},
    {"min-saving", required_argument, NULL, OPT_MIN_SAVING},
    {0},
};

static int snapshot_main(int argc, char **argv, rs_err *err)
{
    struct snap_args a = {0};
    int help_shown = 0;
    rs_code rc = cli_parse_args(&cli_cmd_snapshot, argc, argv, snapshot_longopts, &a.store, snap_option, &a,
                                &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    if (a.out == NULL || optind != argc)
        return cli_usage_error(&cli_cmd_snapshot, err, "expected %s", cli_cmd_snapshot.usage);
    /* the key first: a bad key stops everything before any file exists */
    rs_snapshot_key *key = NULL;
    if ((rc = cli_key_load(&a.key, 1, &key, err)) != RS_OK)
        return rc;
    rc = snapshot_run(&a, key, err);
    rs_snapshot_key_destroy(key);
    return rc;
}

const struct cli_cmd cli_cmd_snapshot = {
    .name = "snapshot",
    .summary = "seal a consistent checkpoint of a database into an encrypted archive",
    .usage = "snapshot --db DIR --out FILE (--key FILE | --passphrase) [--level N] [--threads N]",
    .help = "\nTakes a checkpoint of the database (hard links, while it may keep taking\n"
            "writes from this process), computes its content digest, and seals its\n"
            "files into FILE: a tar, compressed file by file (files RocksDB already\n"
            "compressed pass through), encrypted and authenticated chunk by chunk.\n"
            "Writes the authenticated manifest to FILE.manifest. Neither file exists\n"
            "until both are complete; an existing file is never replaced. A\n"
            "database that serve holds is sealed by the server: redis-cli SNAPSHOT\n"
            "/path (docs/snapshot.md). docs/format.md describes the archive.\n\n"
            "  --out FILE             the archive to write\n"
            "  --manifest FILE        where the manifest goes (FILE.manifest)\n"
            "  --level N              zstd level for compressible files (3)\n"
            "  --threads N            zstd worker threads (2)\n"
            "  --compress MODE        auto (default: test each file), all or none\n"
            "  --min-saving PCT       auto compresses a file when zstd saves at least\n"
            "                         PCT percent of a sample of it (5)\n"
            CLI_KEY_OPTIONS_HELP,
    .example = "rockstream snapshot --db /var/lib/node/db --out /backups/db.rsa --key /etc/rockstream/backup.key",
    .uses_store = 1,
    .run = snapshot_main,
};

/* ---- unseal --------------------------------------------------------- */

static rs_code load_manifest(const char *path, const rs_snapshot_key *key, rs_snapshot_manifest **out, rs_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rs_err_sys(err, errno == ENOENT ? RS_E_NOTFOUND : RS_E_IO, errno, "manifest '%s'", path);
    struct stat st;
    uint8_t *buf = NULL;
    rs_code rc = fstat(fd, &st) == 0 ? RS_OK : rs_err_sys(err, RS_E_IO, errno, "manifest '%s'", path);
    if (rc == RS_OK && (uint64_t)st.st_size > MANIFEST_READ_MAX)
        rc = rs_err_set(err, RS_E_CORRUPT, "manifest '%s' is %lld bytes, above the limit", path, (long long)st.st_size);
    if (rc == RS_OK && (buf = malloc((size_t)st.st_size + 1)) == NULL)
        rc = rs_err_set(err, RS_E_NOMEM, "out of memory for manifest '%s'", path);
    if (rc == RS_OK && read(fd, buf, (size_t)st.st_size) != (ssize_t)st.st_size)
        rc = rs_err_sys(err, RS_E_IO, errno, "reading manifest '%s'", path);
    close(fd);
    if (rc == RS_OK)
        rc = rs_snapshot_manifest_decode(buf, (size_t)st.st_size, key, out, err);
    if (rc != RS_OK)
        rs_err_prefix(err, "manifest '%s'", path);
    free(buf);
    return rc;
}

static void unseal_progress(void *arg, uint64_t done, uint64_t total)
{
    struct cli_progress *p = arg;
    (void)total;
    cli_progress_update(p, done / 1000000, done);
}

static void print_unsealed(const struct snap_args *a, const rs_snapshot_manifest *m, int with_detached)
{
    rs_snapshot_info in;
    rs_snapshot_manifest_info(m, &in);
    char digest[17];
    hex8(in.content_digest, digest);
    printf("unsealed snapshot %s into %s\n", in.id, a->to);
    printf("  verified        every chunk's authentication tag, %llu file hashes%s\n", (unsigned long long)in.n_files,
           with_detached ? ", the detached manifest's MAC and archive hash" : "");
    printf("  content digest  %s... matches the manifest (%llu pairs, sequence %llu)\n", digest,
           (unsigned long long)in.n_pairs, (unsigned long long)in.seq);
    printf("  version         %llu%s\n", (unsigned long long)in.version, in.version == 0 ? " (no versioned state)" : "");
}

static rs_code unseal_run(struct snap_args *a, const rs_snapshot_key *key, rs_err *err)
{
    rs_snapshot_manifest *expect = NULL, *got = NULL;
    const char *mpath = a->no_manifest ? NULL : manifest_path(a, a->in);
    rs_code rc = RS_OK;
    /* the default FILE.manifest is used when present; an explicit one must be */
    if (mpath != NULL && (a->manifest != NULL || access(mpath, F_OK) == 0))
        rc = load_manifest(mpath, key, &expect, err);
    int fd = -1;
    if (rc == RS_OK && (fd = open(a->in, O_RDONLY | O_CLOEXEC)) < 0)
        rc = rs_err_sys(err, errno == ENOENT ? RS_E_NOTFOUND : RS_E_IO, errno, "archive '%s'", a->in);
    struct cli_progress p;
    struct stat st;
    cli_progress_begin(&p, "unsealed", "MB", fd >= 0 && fstat(fd, &st) == 0 ? (uint64_t)st.st_size / 1000000 : 0);
    rs_snapshot_source src = rs_snapshot_fd_source(&fd);
    rs_snapshot_unseal_options o = {.key = key, .expect = expect, .progress = unseal_progress, .progress_arg = &p};
    if (rc == RS_OK)
        rc = rs_snapshot_unseal(&src, a->to, &o, &got, err);
    cli_progress_end(&p);
    if (rc == RS_OK)
        print_unsealed(a, got, expect != NULL);
    else if (fd >= 0)
        rs_err_prefix(err, "unseal '%s'", a->in);
    if (fd >= 0)
        close(fd);
    rs_snapshot_manifest_destroy(expect);
    rs_snapshot_manifest_destroy(got);
    return rc;
}

static const struct option unseal_longopts[] = {
    CLI_COMMON_LONGOPTS,
    {"in", required_argument, NULL, OPT_IN},
    {"to", required_argument, NULL, OPT_TO},
    {"key", required_argument, NULL, OPT_KEY},
    {"passphrase", no_argument, NULL, OPT_PASSPHRASE},
    {"manifest", required_argument, NULL, OPT_MANIFEST},
    {"no-manifest", no_argument, NULL, OPT_NO_MANIFEST},
    {0},
};

static int unseal_main(int argc, char **argv, rs_err *err)
{
    struct snap_args a = {0};
    int help_shown = 0;
    rs_code rc = cli_parse_args(&cli_cmd_unseal, argc, argv, unseal_longopts, NULL, snap_option, &a, &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    if (a.in == NULL || a.to == NULL || optind != argc)
        return cli_usage_error(&cli_cmd_unseal, err, "expected %s", cli_cmd_unseal.usage);
    rs_snapshot_key *key = NULL;
    if ((rc = cli_key_load(&a.key, 0, &key, err)) != RS_OK)
        return rc;
    rc = unseal_run(&a, key, err);
    rs_snapshot_key_destroy(key);
    return rc;
}

const struct cli_cmd cli_cmd_unseal = {
    .name = "unseal",
    .summary = "verify an archive and put its database in place",
    .usage = "unseal --in FILE --to DIR (--key FILE | --passphrase) [--manifest FILE]",
    .help = "\nExtracts the archive into a temporary directory beside DIR, checks every\n"
            "chunk's authentication, every file's hash and the database's content\n"
            "digest against the manifest (and FILE.manifest's MAC and the archive's\n"
            "hash, when that file is there), and only then renames it to DIR. DIR must\n"
            "not exist or be empty. On any failure nothing is left at DIR.\n\n"
            "  --in FILE              the archive\n"
            "  --to DIR               where the database goes\n"
            "  --manifest FILE        the detached manifest (default FILE.manifest if\n"
            "                         it exists)\n"
            "  --no-manifest          check against the manifest inside the archive only\n"
            CLI_KEY_OPTIONS_HELP,
    .example = "rockstream unseal --in /backups/db.rsa --to /var/lib/node/db.restored --key backup.key",
    .uses_store = 0,
    .run = unseal_main,
};
