/* Test helpers; see testlib.h. */
#include "testlib/testlib.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/endian.h"
#include "common/fs.h"

char *rs_test_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    char *path = NULL;
    assert_true(asprintf(&path, "%s/rs-%s-XXXXXX", base, tag) > 0);
    assert_non_null(mkdtemp(path));
    return path;
}

void rs_test_tmpdir_remove(char *path)
{
    if (path == NULL)
        return;
    rs_err err = RS_ERR_INIT;
    if (rs_fs_remove_tree(path, &err) != RS_OK)
        fprintf(stderr, "warning: %s\n", err.msg);
    free(path);
}

char *rs_test_path(const char *dir, const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

struct rs_test_file *rs_test_file_create(const char *tag, const char *name)
{
    struct rs_test_file *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = rs_test_tmpdir(tag);
    f->path = rs_test_path(f->dir, name);
    return f;
}

void rs_test_file_destroy(struct rs_test_file *f)
{
    if (f == NULL)
        return;
    free(f->path);
    rs_test_tmpdir_remove(f->dir);
    free(f);
}

char *rs_test_helper(const char *name)
{
    const char *dir = getenv("RS_TEST_HELPERS");
    assert_non_null(dir);
    return rs_test_path(dir, name);
}

pid_t rs_test_spawn(char *const argv[], int *out_fd, int as_uid)
{
    int fds[2] = {-1, -1};
    if (out_fd != NULL)
        assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (out_fd != NULL) {
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
        }
        if (as_uid >= 0 && (setgid((gid_t)as_uid) != 0 || setuid((uid_t)as_uid) != 0))
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    if (out_fd != NULL) {
        close(fds[1]);
        *out_fd = fds[0];
    }
    return pid;
}

int rs_test_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    uint64_t deadline = rs_clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    while (len + 1 < cap) {
        int64_t left = (int64_t)(deadline - rs_clock_mono_ns()) / 1000000;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t n = read(fd, buf + len, 1);
        if (n <= 0)
            return -1;
        if (buf[len] == '\n')
            break;
        len++;
    }
    buf[len] = '\0';
    return (int)len;
}

int rs_test_wait(pid_t pid, int timeout_ms)
{
    uint64_t deadline = rs_clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        assert_true(r == 0);
        if (rs_clock_mono_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("process %d did not exit within %d ms", (int)pid, timeout_ms);
        }
        rs_clock_sleep_us(2000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int rs_test_poll(int (*cond)(void *arg), void *arg, int timeout_ms)
{
    uint64_t deadline = rs_clock_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    int r;
    while (!(r = cond(arg)) && rs_clock_mono_ns() < deadline)
        rs_clock_sleep_us(1000);
    return r;
}

int rs_test_is_root(void) { return geteuid() == 0; }

size_t rs_test_sample_batch(uint8_t *out, uint64_t seq, uint64_t commit_time_ns, uint8_t chain_byte,
                            size_t *chain_offset)
{
    size_t n = 12;
    rs_le64_put(out, seq);
    rs_le32_put(out + 8, 2);
    const uint8_t put_kv[] = {0x01, 1, 'k', 1, 'v'};
    memcpy(out + n, put_kv, sizeof put_kv);
    n += sizeof put_kv;
    out[n++] = 0x03; /* log data */
    out[n++] = 12;
    memcpy(out + n, "rsT1", 4);
    rs_le64_put(out + n + 4, commit_time_ns);
    n += 12;
    if (chain_offset != NULL)
        *chain_offset = n;
    const uint8_t chain_hdr[] = {0x05, 1, 5, 'c', 'h', 'a', 'i', 'n', 32}; /* put, cf 1, "chain" */
    memcpy(out + n, chain_hdr, sizeof chain_hdr);
    n += sizeof chain_hdr;
    memset(out + n, chain_byte, 32);
    return n + 32;
}

char *rs_test_mount_tmpfs(const char *dir, const char *name, int size_mib)
{
    if (!rs_test_is_root()) {
        print_message("      skipped: needs root to mount a tmpfs\n");
        return NULL;
    }
    char *mnt = rs_test_path(dir, name);
    assert_int_equal(mkdir(mnt, 0755), 0);
    char opts[32];
    snprintf(opts, sizeof opts, "size=%dm", size_mib);
    if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0) {
        print_message("      skipped: cannot mount a tmpfs here: %s\n", strerror(errno));
        free(mnt);
        return NULL;
    }
    return mnt;
}

void rs_test_unmount(char *path)
{
    if (path != NULL && umount2(path, MNT_DETACH) != 0)
        fprintf(stderr, "warning: unmount '%s': %s\n", path, strerror(errno));
    free(path);
}
