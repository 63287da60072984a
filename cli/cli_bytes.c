/*
 * Keys and values on the command line: hex in, escaped or hex out, so
 * binary data survives a terminal.
 */
#include <stdlib.h>

#include "cli/cli.h"

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cli_hex_decode(const char *hex, uint8_t **out, size_t *out_len)
{
    size_t n = 0;
    while (hex[n] != '\0')
        n++;
    if (n % 2 != 0)
        return -1;
    uint8_t *buf = malloc(n / 2 + 1);
    if (buf == NULL)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            free(buf);
            return -1;
        }
        buf[i / 2] = (uint8_t)(hi << 4 | lo);
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
    for (size_t i = 0; i < len; i++)
        fprintf(f, "%02x", p[i]);
}
