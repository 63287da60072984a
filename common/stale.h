/*
 * Stale temporaries. rockstream names each temporary it leaves beside
 * data while it works (a checkpoint of hard links, an archive being
 * written) "<marker><pid>-<anything>", so that a later process can tell
 * what a crashed one left (its process is gone) from what a running one is
 * using, and sweep only the former. Hard links keep a compacted SST file's
 * blocks on disk: each leftover checkpoint can pin a whole copy of the
 * database (issue 11).
 */
#ifndef RS_COMMON_STALE_H
#define RS_COMMON_STALE_H

#include <stddef.h>

/* The pid a temporary's name carries after marker ("ckpt-123-4" -> 123
 * for "ckpt-"): the name must start with marker when anchored, else the
 * marker's last occurrence is used. -1 if the name is not one of these. */
long rs_stale_pid(const char *name, const char *marker, int anchored);

/* Removes every entry of dir named as above whose process is gone (not
 * this one, and no process has that pid), logging each with what it is
 * (what: "snapshot checkpoint"); returns how many went. A missing dir is
 * no error; an entry that cannot be removed is logged and left. */
size_t rs_stale_sweep(const char *dir, const char *marker, int anchored, const char *what);

#endif
