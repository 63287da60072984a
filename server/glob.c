/*
 * Binary-safe glob matching (see glob.h).
 */
#include "server/glob.h"

/* Matches byte c against the class starting at pat[p] == '['. Returns the
 * offset just past the class and sets *hit; an unterminated class returns
 * 0 (the caller then takes '[' literally). */
static size_t match_class(const uint8_t *pat, size_t plen, size_t p, uint8_t c, int *hit)
{
    size_t i = p + 1;
    int negate = i < plen && pat[i] == '^';
    if (negate)
        i++;
    int found = 0;
    for (int first = 1; i < plen && (pat[i] != ']' || first); first = 0) {
        uint8_t lo = pat[i];
        if (lo == '\\' && i + 1 < plen)
            lo = pat[++i];
        if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
            uint8_t hi = pat[i + 2];
            if (hi == '\\' && i + 3 < plen)
                hi = pat[++i + 2];
            if (lo > hi) {
                uint8_t t = lo;
                lo = hi;
                hi = t;
            }
            found |= c >= lo && c <= hi;
            i += 3;
        } else {
            found |= c == lo;
            i++;
        }
    }
    if (i >= plen)
        return 0;
    *hit = found != negate;
    return i + 1;
}

/* Matches one pattern element (not '*') at pat[*p] against c; advances *p. */
static int match_one(const uint8_t *pat, size_t plen, size_t *p, uint8_t c)
{
    uint8_t want = pat[*p];
    if (want == '?') {
        (*p)++;
        return 1;
    }
    if (want == '[') {
        int hit = 0;
        size_t next = match_class(pat, plen, *p, c, &hit);
        if (next != 0) {
            *p = next;
            return hit;
        }
    } else if (want == '\\' && *p + 1 < plen) {
        want = pat[++*p];
    }
    (*p)++;
    return c == want;
}

int server_glob_match(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen)
{
    size_t p = 0, i = 0;
    size_t star_p = SIZE_MAX, star_i = 0;
    while (i < slen) {
        if (p < plen && pat[p] == '*') {
            while (p < plen && pat[p] == '*')
                p++;
            star_p = p;
            star_i = i;
            continue;
        }
        size_t next = p;
        if (p < plen && match_one(pat, plen, &next, s[i])) {
            p = next;
            i++;
            continue;
        }
        if (star_p == SIZE_MAX)
            return 0;
        p = star_p;
        i = ++star_i;
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

size_t server_glob_literal_prefix(const uint8_t *pat, size_t plen, uint8_t *out)
{
    size_t n = 0;
    for (size_t p = 0; p < plen; p++) {
        uint8_t c = pat[p];
        if (c == '*' || c == '?' || c == '[')
            break;
        if (c == '\\') {
            if (p + 1 == plen)
                break;
            c = pat[++p];
        }
        out[n++] = c;
    }
    return n;
}
