/*
 * Sweeping what crashed snapshots left: the checkpoint beside the database
 * (hard links pinning its files) and archive temporaries, each named with
 * its writer's pid (snapshot_int.h) so that only a gone process's are
 * removed. No other name is touched.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/stale.h"
#include "snapshot/snapshot_int.h"

size_t rs_snapshot_sweep(const char *db_path, const char *archive_dir)
{
    size_t n = 0;
    if (db_path != NULL && strlen(db_path) < PATH_MAX) {
        char a[PATH_MAX], b[PATH_MAX], mark[PATH_MAX + 32];
        strcpy(a, db_path);
        strcpy(b, db_path);
        snprintf(mark, sizeof mark, ".%s" SNAPSHOT_CHECKPOINT_MARK, basename(b));
        n += rs_stale_sweep(dirname(a), mark, 1, "snapshot checkpoint");
    }
    if (archive_dir != NULL)
        n += rs_stale_sweep(archive_dir, SNAPSHOT_TEMP_MARK, 0, "snapshot temporary");
    return n;
}
