/* Hex encoding and decoding over libsodium's constant-time routines; see
 * hex.h. */
#include "common/hex.h"

#include <sodium.h>

#include "common/assert.h"

char *rs_hex_encode(const uint8_t *p, size_t len, char *out, size_t cap)
{
    rs_assert(len <= (SIZE_MAX - 1) / 2 && cap >= RS_HEX_LEN(len));
    return sodium_bin2hex(out, cap, p, len);
}

rs_code rs_hex_decode(const char *hex, size_t n_digits, uint8_t *out, size_t len, rs_err *err)
{
    rs_assert(len <= SIZE_MAX / 2);
    if (n_digits != 2 * len)
        return rs_err_set(err, RS_E_INVALID, "%zu hex digits where %zu were expected", n_digits, 2 * len);
    size_t got = 0;
    const char *end = NULL;
    /* no ignore set: a space or a colon is as wrong as any other
     * non-digit; sodium stops at the first one and says where */
    if (sodium_hex2bin(out, len, hex, n_digits, NULL, &got, &end) != 0 || got != len)
        return rs_err_set(err, RS_E_INVALID, "not a hex digit at position %zu of %zu",
                          end != NULL ? (size_t)(end - hex) : 0, n_digits);
    return RS_OK;
}
