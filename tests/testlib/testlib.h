/*
 * Shared by the unit tests: temporary directories, helper processes, and
 * polling a condition with a deadline (no fixed sleeps).
 */
#ifndef RS_TESTLIB_H
#define RS_TESTLIB_H

/* cmocka needs these before its header */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sys/types.h>

/* Makes a fresh directory under $TMPDIR (or /tmp) whose name starts with
 * tag; returns a malloc'd path. Fails the test if it cannot. */
char *rs_test_tmpdir(const char *tag);

/* Removes the directory tree and frees path. NULL allowed. */
void rs_test_tmpdir_remove(char *path);

/* Joins dir and name into a malloc'd path. */
char *rs_test_path(const char *dir, const char *name);

/* A fresh temporary directory and the path of one file in it (not made):
 * the fixture of tests about one file (key files, atomic writes). */
struct rs_test_file {
    char *dir;
    char *path;
};
struct rs_test_file *rs_test_file_create(const char *tag, const char *name);
/* Removes the directory and frees f. NULL allowed. */
void rs_test_file_destroy(struct rs_test_file *f);

/* The path of a helper program built beside the tests (RS_TEST_HELPERS). */
char *rs_test_helper(const char *name);

/* Starts argv[0] with argv; its stdout is a pipe returned in *out_fd (or
 * inherited if out_fd is NULL). as_uid >= 0 drops to that user first. */
pid_t rs_test_spawn(char *const argv[], int *out_fd, int as_uid);

/* Reads one line (without its newline) from fd into buf within timeout_ms.
 * Returns its length, or -1 on timeout or end of file. */
int rs_test_read_line(int fd, char *buf, size_t cap, int timeout_ms);

/* Waits for the process to exit within timeout_ms (then kills it and fails
 * the test); returns its exit status, or 128+signal. */
int rs_test_wait(pid_t pid, int timeout_ms);

/* Calls cond(arg) until it returns non-zero or timeout_ms passes; returns
 * the last result. */
int rs_test_poll(int (*cond)(void *arg), void *arg, int timeout_ms);

/* Non-zero if the test runs as root (mounts, dropping privileges). */
int rs_test_is_root(void);

/* Mounts a tmpfs of size_mib at dir/name (made here); returns its
 * malloc'd path, or NULL (having said why, so the caller skips) when this
 * process may not mount. */
char *rs_test_mount_tmpfs(const char *dir, const char *name, int size_mib);
/* Unmounts it (lazily, so open files do not stop it) and frees path.
 * NULL allowed. */
void rs_test_unmount(char *path);

/* Writes into out (at least 96 bytes) a hand-built RocksDB write batch as
 * rockstream's commit path makes them: header (seq, count 2), put "k"="v",
 * the commit stamp (commit_time_ns), the chain record (32 bytes of
 * chain_byte). Returns its length; *chain_offset gets where the chain
 * record starts. Built from docs/format.md, not by the code under test. */
size_t rs_test_sample_batch(uint8_t *out, uint64_t seq, uint64_t commit_time_ns, uint8_t chain_byte,
                            size_t *chain_offset);

#endif
