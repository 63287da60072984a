/*
 * libFuzzer target for the RESP2 request parser (server/resp.c). The input is
 * fed as a client would send it, cut into reads at points the input itself
 * chooses, and every request found is checked: its arguments lie inside
 * the bytes given, it used no more bytes than it was given, and parsing
 * the same bytes in one piece gives the same result.
 */
#include <stdlib.h>
#include <string.h>

#include "server/resp.h"

/* CHECK() is compiled out in release builds; the fuzzer must always check */
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            abort();                                                         \
    } while (0)

static const struct resp_limits LIM = {.max_bulk = 4096, .max_args = 64};

static void check_request(const struct resp_parser *p, size_t avail)
{
    CHECK(p->pos <= avail);
    for (size_t i = 0; i < p->n_args; i++)
        CHECK(p->args[i].off + p->args[i].len <= p->pos);
}

/* Parses data as one stream; a request's bytes arrive in steps of "step"
 * bytes. Returns the number of requests found. */
static size_t run(const uint8_t *data, size_t len, size_t step)
{
    struct resp_parser p;
    server_resp_parser_init(&p);
    size_t start = 0, avail = 0, n = 0;
    while (start < len) {
        avail = avail + step < len - start ? avail + step : len - start;
        enum resp_status st = server_resp_parse(&p, data + start, avail, &LIM);
        if (st == RESP_MORE) {
            CHECK(server_resp_parser_need(&p) <= LIM.max_bulk + 2);
            if (avail == len - start)
                break;
            continue;
        }
        if (st == RESP_ERROR)
            break;
        check_request(&p, avail);
        CHECK(p.pos > 0);
        n++;
        start += p.pos;
        avail = 0;
        server_resp_parser_next(&p);
    }
    server_resp_parser_release(&p);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < 1)
        return 0;
    size_t step = 1 + data[0] % 17;
    size_t whole = run(data + 1, len - 1, len);
    size_t pieces = run(data + 1, len - 1, step);
    CHECK(whole == pieces);
    return 0;
}
