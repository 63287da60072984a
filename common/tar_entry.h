/*
 * The rule for which entries of an untrusted tar stream may be extracted
 * (a sealed snapshot, a replication checkpoint): only regular files whose
 * path is a fixed prefix and one plain file name. Links of either kind,
 * special files, absolute paths, ".." and nested names are refused by
 * name, before a byte is written, so nothing can land outside the target
 * directory or replace a file through a link.
 */
#ifndef RS_COMMON_TAR_ENTRY_H
#define RS_COMMON_TAR_ENTRY_H

#include <archive_entry.h>

#include "common/err.h"

/* Longest plain file name accepted (NAME_MAX on Linux). */
#define RS_TAR_NAME_MAX 255

/* Checks entry e, which must be "<prefix><name>" with name plain: 1 to
 * RS_TAR_NAME_MAX printable ASCII characters, no '/', not "." or "..".
 * held names what the stream holds, for the message ("a snapshot").
 * On success *name points into e's path (borrowed while e is unchanged).
 * RS_E_CORRUPT with a message naming the entry otherwise. */
rs_code rs_tar_entry_check(struct archive_entry *e, const char *prefix, const char *held, const char **name,
                           rs_err *err);

#endif
