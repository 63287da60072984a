/*
 * Hex: lower-case encoding and strict decoding of byte strings (key ids,
 * digests, keys in key files, values on the command line). Both run in
 * constant time (libsodium's), so the digits of a secret leak nothing
 * through timing, and a decoding error never quotes the text it refused.
 */
#ifndef RS_COMMON_HEX_H
#define RS_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Bytes a buffer needs for the hex of n bytes and its NUL. */
#define RS_HEX_LEN(n) (2 * (size_t)(n) + 1)

/* Writes the lower-case hex of p[0..len) and a NUL into out, which holds
 * cap bytes: at least RS_HEX_LEN(len) (a smaller cap is a bug and
 * aborts). Returns out. */
char *rs_hex_encode(const uint8_t *p, size_t len, char *out, size_t cap);

/* Decodes the n_digits hex digits at hex (either case, no separators) into
 * exactly len bytes at out. RS_E_INVALID when n_digits is not 2 * len or a
 * character is not a hex digit; the message gives the counts or the
 * position, never the text. out is undefined on failure. */
rs_code rs_hex_decode(const char *hex, size_t n_digits, uint8_t *out, size_t len, rs_err *err);

#endif
