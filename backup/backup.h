/**
 * @file backup.h
 * Backups of databases to object stores. So far: exports, the portable
 * single-file archives `rockstream snapshot` and `unseal` (and the server's
 * SNAPSHOT) write and read, at a local path or at an object URL
 * (`s3://bucket/dir/name.rsa`, `file:///dir/name.rsa`).
 *
 * This module connects snapshot/ (which seals into a sink and unseals from
 * a source, knowing nothing of object stores) to objstore/ (which knows
 * nothing of archives).
 *
 * Threads: an export or an import is used by one thread at a time (the
 * sink may be called from the sealing thread).
 */
#ifndef RS_BACKUP_H
#define RS_BACKUP_H

#include <stdint.h>

#include "common/api.h"
#include "common/err.h"
#include "objstore/objstore.h"
#include "snapshot/snapshot.h"

/** The largest detached manifest read. */
#define RS_BACKUP_MANIFEST_MAX (64u << 20)

/** An archive and its detached manifest on their way to a path or URL. */
typedef struct rs_backup_export rs_backup_export;

/**
 * Prepares to write an archive to @p dest and its manifest beside it.
 * A local path works as rs_snapshot_files does (temporary files renamed
 * into place). An object URL streams the archive into an upload as it is
 * sealed (a multipart upload past one part: no local copy of the archive),
 * and the manifest is written last, create-only (put-if-absent): it is the
 * commit point. A failure or a kill at any moment leaves no manifest (an
 * interrupted multipart upload leaves no object, only an upload that
 * rs_objstore_list_uploads finds). Refuses an existing archive or manifest,
 * and a store it cannot reach or is denied, before any work.
 * @param dest a path or object URL (copied)
 * @param manifest_dest where the manifest goes, or NULL for dest +
 *        ".manifest"; a URL if dest is one, a path if not (copied)
 * @param store_opt how object stores are opened, or NULL for defaults
 * @param size_hint_bytes the archive's expected size (the database's), or 0:
 *        it sets the part size of very large uploads
 * @param out receives the export on RS_OK
 * @param err filled on failure
 * @return RS_OK, RS_E_EXISTS, RS_E_INVALID, or the store's failure
 */
RS_API rs_code rs_backup_export_open(const char *dest, const char *manifest_dest,
                                     const rs_objstore_options *store_opt, uint64_t size_hint_bytes,
                                     rs_backup_export **out, rs_err *err);

/**
 * The sink rs_snapshot_take seals into.
 * @param e the export (borrowed by the sink)
 * @return the sink
 */
RS_API rs_snapshot_sink rs_backup_export_sink(rs_backup_export *e);

/**
 * Makes the archive visible, then writes the manifest, create-only. If the
 * manifest cannot be written the archive is removed again (unless another
 * writer's manifest took the name meanwhile).
 * @param e the export (still to be closed)
 * @param m the manifest rs_snapshot_take returned (borrowed)
 * @param err filled on failure
 * @return RS_OK or the failure
 */
RS_API rs_code rs_backup_export_commit(rs_backup_export *e, const rs_snapshot_manifest *m, rs_err *err);

/**
 * Where the archive and the manifest go, as given (paths or URLs).
 * @param e the export
 * @return text borrowed until rs_backup_export_close
 */
RS_API const char *rs_backup_export_archive_name(const rs_backup_export *e);
/** @copydoc rs_backup_export_archive_name */
RS_API const char *rs_backup_export_manifest_name(const rs_backup_export *e);

/**
 * Ends an export; an uncommitted one leaves nothing (its upload aborted,
 * its temporary files removed). NULL allowed.
 * @param e the export (taken)
 */
RS_API void rs_backup_export_close(rs_backup_export *e);

/** An archive (and its detached manifest, if any) being read. */
typedef struct rs_backup_import rs_backup_import;

/** Which detached manifest an import checks against. */
typedef enum rs_backup_manifest_use {
    RS_BACKUP_MANIFEST_IF_PRESENT = 0, /**< src + ".manifest" when it exists */
    RS_BACKUP_MANIFEST_REQUIRED,       /**< the manifest named, which must exist */
    RS_BACKUP_MANIFEST_NONE,           /**< only the manifest inside the archive */
} rs_backup_manifest_use;

/**
 * Opens an archive at a path or object URL for rs_snapshot_unseal. From a
 * URL the archive is read with parallel ranged GETs while it is unsealed.
 * The detached manifest is read (bounded by RS_BACKUP_MANIFEST_MAX) and its
 * MAC checked with @p key now.
 * @param src a path or object URL (copied)
 * @param manifest_src the manifest (path or URL), or NULL for src +
 *        ".manifest"
 * @param use which manifest to check against
 * @param key the key (borrowed for the call)
 * @param store_opt how object stores are opened, or NULL
 * @param out receives the import on RS_OK
 * @param err filled on failure
 * @return RS_OK, RS_E_NOTFOUND, RS_E_CORRUPT or RS_E_AUTH (manifest), or
 *         the store's failure
 */
RS_API rs_code rs_backup_import_open(const char *src, const char *manifest_src, rs_backup_manifest_use use,
                                     const rs_snapshot_key *key, const rs_objstore_options *store_opt,
                                     rs_backup_import **out, rs_err *err);

/**
 * The source rs_snapshot_unseal reads.
 * @param i the import (borrowed by the source)
 * @return the source
 */
RS_API rs_snapshot_source rs_backup_import_source(rs_backup_import *i);

/**
 * The detached manifest, or NULL when none is checked.
 * @param i the import
 * @return borrowed until rs_backup_import_close
 */
RS_API const rs_snapshot_manifest *rs_backup_import_manifest(const rs_backup_import *i);

/**
 * The archive's size in bytes (for progress).
 * @param i the import
 * @return the size
 */
RS_API uint64_t rs_backup_import_size(const rs_backup_import *i);

/**
 * Closes the archive and frees the import. NULL allowed.
 * @param i the import (taken)
 */
RS_API void rs_backup_import_close(rs_backup_import *i);

#endif
