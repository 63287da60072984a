/*
 * The pre-shared replication key file: one line, "rockstream-repl-key-v1 "
 * and 64 hex digits. Created with mode 0600 and never overwritten; a key
 * readable by group or others is refused, the way ssh refuses such keys.
 * The key never appears in a message or a log.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal/wal_int.h"

/* File format: changing it orphans every key file written. */
#define KEY_PREFIX "rockstream-repl-key-v1 "
#define KEY_LINE   (sizeof KEY_PREFIX - 1 + 2 * RS_WAL_KEY_BYTES + 1)

rs_code rs_wal_key_create_file(const char *path, rs_err *err)
{
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    uint8_t key[RS_WAL_KEY_BYTES];
    char line[KEY_LINE + 1];
    randombytes_buf(key, sizeof key);
    memcpy(line, KEY_PREFIX, sizeof KEY_PREFIX - 1);
    sodium_bin2hex(line + sizeof KEY_PREFIX - 1, 2 * RS_WAL_KEY_BYTES + 1, key, sizeof key);
    line[KEY_LINE - 1] = '\n';
    sodium_memzero(key, sizeof key);

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        sodium_memzero(line, sizeof line);
        return rs_err_sys(err, errno == EEXIST ? RS_E_EXISTS : RS_E_IO, errno, "create key file '%s'", path);
    }
    ssize_t n = write(fd, line, KEY_LINE);
    int e = errno;
    sodium_memzero(line, sizeof line);
    if (n != (ssize_t)KEY_LINE || fsync(fd) != 0) {
        close(fd);
        unlink(path);
        return rs_err_sys(err, RS_E_IO, n < 0 ? e : errno, "write key file '%s'", path);
    }
    close(fd);
    return RS_OK;
}

rs_code rs_wal_key_read(const char *path, rs_wal_key *out, rs_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rs_err_sys(err, errno == ENOENT ? RS_E_NOTFOUND : RS_E_IO, errno, "read key file '%s'", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        rs_err_set(err, RS_E_AUTH, "key file '%s' is readable by others (mode %04o)", path,
                   (unsigned)(st.st_mode & 07777));
        rs_err_hint(err, "chmod 600 the key file");
        return RS_E_AUTH;
    }
    char line[KEY_LINE + 2];
    ssize_t n = read(fd, line, sizeof line);
    close(fd);
    size_t hex_len = 0;
    int ok = (n == (ssize_t)KEY_LINE || n == (ssize_t)KEY_LINE - 1) &&
             memcmp(line, KEY_PREFIX, sizeof KEY_PREFIX - 1) == 0 &&
             sodium_hex2bin(out->bytes, RS_WAL_KEY_BYTES, line + sizeof KEY_PREFIX - 1, 2 * RS_WAL_KEY_BYTES, NULL,
                            &hex_len, NULL) == 0 &&
             hex_len == RS_WAL_KEY_BYTES;
    sodium_memzero(line, sizeof line);
    if (!ok) {
        sodium_memzero(out, sizeof *out);
        rs_err_set(err, RS_E_INVALID, "'%s' is not a replication key file", path);
        rs_err_hint(err, "make one with: rockstream keygen --repl --out FILE");
        return RS_E_INVALID;
    }
    return RS_OK;
}
