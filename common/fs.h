/*
 * File-system helpers the modules share: make and remove directory trees,
 * make a rename durable, measure a tree. Paths are borrowed.
 */
#ifndef RS_COMMON_FS_H
#define RS_COMMON_FS_H

#include <stdint.h>

#include "common/err.h"

/* Creates dir and its missing parents with mode (like mkdir -p). */
rs_code rs_fs_mkdir_p(const char *dir, unsigned mode, rs_err *err);

/* Removes path and everything under it; a missing path is not an error.
 * Never follows symbolic links out of the tree. */
rs_code rs_fs_remove_tree(const char *path, rs_err *err);

/* fsyncs a directory, so that a rename or a new entry in it survives a
 * power loss. */
rs_code rs_fs_fsync_dir(const char *dir, rs_err *err);

/* Total size in bytes of the regular files under path. */
rs_code rs_fs_tree_bytes(const char *path, uint64_t *out, rs_err *err);

#endif
