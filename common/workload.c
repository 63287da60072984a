/* Synthetic keys and values; see workload.h. */
#include "common/workload.h"

#include <string.h>

uint64_t rs_workload_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int rs_workload_check(const rs_workload *w)
{
    if (w->key_size < 8 || w->key_size > RS_WORKLOAD_MAX_KEY)
        return -1;
    if (w->value_size > RS_WORKLOAD_MAX_VALUE)
        return -1;
    if (!(w->compressibility >= 0.0 && w->compressibility <= 1.0))
        return -1;
    return 0;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* The first 8 bytes make the key unique (the index, or a bijective mix of
 * it); the rest is filler derived from them. */
void rs_workload_key(const rs_workload *w, uint64_t index, uint8_t *out)
{
    uint64_t head = w->sequential ? index : rs_workload_mix(index ^ w->seed) ^ w->seed;
    put_be64(out, w->sequential ? index : head);
    uint64_t x = head;
    for (size_t i = 8; i < w->key_size; i++) {
        if ((i - 8) % 8 == 0)
            x = rs_workload_mix(x);
        out[i] = (uint8_t)('a' + (x >> (((i - 8) % 8) * 8)) % 26);
    }
}

void rs_workload_value(const rs_workload *w, uint64_t index, uint8_t *out)
{
    size_t n = w->value_size;
    size_t random_len = (size_t)((double)n * (1.0 - w->compressibility) + 0.5);
    if (random_len == 0 && n > 0)
        random_len = 1;
    uint64_t x = rs_workload_mix(index * 0x100000001b3ull ^ w->seed ^ 0x5bd1e995u);
    for (size_t i = 0; i < random_len; i += 8) {
        x = rs_workload_mix(x);
        size_t take = random_len - i < 8 ? random_len - i : 8;
        memcpy(out + i, &x, take);
    }
    for (size_t i = random_len; i < n; i += random_len) {
        size_t take = n - i < random_len ? n - i : random_len;
        memcpy(out + i, out, take);
    }
}
