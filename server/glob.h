/*
 * Glob patterns as Redis's KEYS, SCAN MATCH and CONFIG GET read them,
 * binary safe: '*' any run of bytes, '?' one byte, "[abc]", "[^a]", "[a-z]"
 * one byte of a set, '\' makes the next byte literal. Matching backtracks
 * only to the last '*', so it takes O(pattern x subject) time whatever the
 * pattern (nested stars cannot blow up as a recursive matcher would).
 */
#ifndef RS_SERVER_GLOB_H
#define RS_SERVER_GLOB_H

#include <stddef.h>
#include <stdint.h>

/* Non-zero if s matches the whole pattern. */
int server_glob_match(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen);

/* The literal bytes every match must start with ("user:*" -> "user:"),
 * unescaped into out (room for plen bytes); returns their count. A scan
 * seeks to this prefix instead of testing every key. */
size_t server_glob_literal_prefix(const uint8_t *pat, size_t plen, uint8_t *out);

#endif
