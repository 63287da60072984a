/*
 * The pre-shared replication key file: one line, "rockstream-repl-key-v1 "
 * and 64 hex digits. Written atomically with mode 0600 and never over an
 * existing file; read by common/secret_file.h's rules (no symbolic link, a
 * regular file, private, bounded, in locked memory). The key never appears
 * in a message or a log.
 */
#include <string.h>

#include "common/atomic_file.h"
#include "common/secret_file.h"
#include "wal/wal_int.h"

/* File format: changing it orphans every key file written. */
#define KEY_PREFIX     "rockstream-repl-key-v1 "
#define KEY_PREFIX_LEN (sizeof KEY_PREFIX - 1)
#define KEY_LINE       (KEY_PREFIX_LEN + 2 * RS_WAL_KEY_BYTES + 1)
#define KEY_FILE_MAX   256 /* the line, with room for a stray byte or two */

rs_code rs_wal_key_create_file(const char *path, rs_err *err)
{
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to initialise");
    /* the line holds the key in hex: locked memory, wiped when freed */
    char *line = sodium_malloc(KEY_LINE + 1);
    if (line == NULL)
        return rs_err_set(err, RS_E_NOMEM, "key file '%s': out of locked memory", path);
    uint8_t key[RS_WAL_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    memcpy(line, KEY_PREFIX, KEY_PREFIX_LEN);
    rs_hex_encode(key, sizeof key, line + KEY_PREFIX_LEN, KEY_LINE + 1 - KEY_PREFIX_LEN);
    line[KEY_LINE - 1] = '\n';
    sodium_memzero(key, sizeof key);
    rs_code rc = rs_atomic_file_put(path, line, KEY_LINE, 0600, RS_ATOMIC_FILE_NO_REPLACE, err);
    sodium_free(line);
    if (rc != RS_OK)
        rs_err_prefix(err, "create key file");
    return rc;
}

/* The line, with or without its newline. */
static int parse_line(const rs_secret_file *f, rs_wal_key *out)
{
    if (f->len != KEY_LINE - 1 && (f->len != KEY_LINE || f->text[KEY_LINE - 1] != '\n'))
        return 0;
    return memcmp(f->text, KEY_PREFIX, KEY_PREFIX_LEN) == 0 &&
           rs_hex_decode(f->text + KEY_PREFIX_LEN, 2 * RS_WAL_KEY_BYTES, out->bytes, RS_WAL_KEY_BYTES, NULL) == RS_OK;
}

rs_code rs_wal_key_read(const char *path, rs_wal_key *out, rs_err *err)
{
    rs_secret_file f;
    rs_code rc = rs_secret_file_read(path, "key file", KEY_FILE_MAX, 0, &f, err);
    if (rc != RS_OK)
        return rc;
    if (!parse_line(&f, out)) {
        sodium_memzero(out, sizeof *out);
        rc = rs_err_set(err, RS_E_INVALID, "'%s' is not a replication key file", path);
        rs_err_hint(err, "make one with: rockstream keygen --repl --out FILE");
    }
    rs_secret_file_release(&f);
    return rc;
}
