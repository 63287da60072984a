/*
 * Keys and values on the command line: hex in, escaped or hex out, so
 * binary data survives a terminal.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/hex.h"

int cli_hex_decode(const char *hex, uint8_t **out, size_t *out_len)
{
    size_t n = strlen(hex);
    if (n % 2 != 0)
        return -1;
    uint8_t *buf = malloc(n / 2 + 1);
    if (buf == NULL)
        return -1;
    if (rs_hex_decode(hex, n, buf, n / 2, NULL) != RS_OK) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n / 2;
    return 0;
}

void cli_write_escaped(FILE *f, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\\')
            fputs("\\\\", f);
        else if (p[i] >= 0x20 && p[i] < 0x7f)
            fputc(p[i], f);
        else
            fprintf(f, "\\x%02x", p[i]);
    }
}

void cli_write_hex(FILE *f, const uint8_t *p, size_t len)
{
    char hex[RS_HEX_LEN(256)];
    for (size_t off = 0; off < len; off += 256) {
        size_t n = len - off < 256 ? len - off : 256;
        fputs(rs_hex_encode(p + off, n, hex, sizeof hex), f);
    }
}
