/*
 * RESP2, the Redis protocol: an incremental request parser and a reply
 * writer. The parser reads multibulk requests ("*2\r\n$3\r\nGET\r\n...") and
 * inline ones ("GET key\r\n", what a person types into telnet), bounds every
 * length before it allocates, and keeps its state between calls so that a
 * request arriving in many reads is parsed once. No I/O here: the server
 * (client.c) owns sockets and buffers; the fuzz target drives this file
 * alone.
 */
#ifndef RS_SERVER_RESP_H
#define RS_SERVER_RESP_H

#include <stddef.h>
#include <stdint.h>

/* An inline request, or a "*N" / "$N" header line, longer than this is a
 * protocol error (Redis's PROTO_INLINE_MAX_SIZE). */
#define RESP_MAX_LINE (64 * 1024)

struct resp_limits {
    uint64_t max_bulk; /* longest argument in bytes (proto-max-bulk-len) */
    uint64_t max_args; /* most arguments in one request */
};

/* One argument: where it is, relative to the start of the request. Offsets,
 * not pointers, because the caller may move its buffer between calls. */
struct resp_arg {
    size_t off;
    size_t len;
};

enum resp_status {
    RESP_DONE = 0, /* a whole request: args[0..n_args), consumed bytes */
    RESP_MORE,     /* need more bytes; call again with the same start */
    RESP_EMPTY,    /* an empty line or "*0": consumed bytes, no command */
    RESP_ERROR,    /* malformed: error holds the message; close the peer */
};

struct resp_parser {
    /* the request being parsed; reset by server_resp_parser_next() */
    size_t   pos;        /* bytes of the request consumed so far */
    size_t   seen;       /* bytes of it given in the last call */
    int64_t  n_expected; /* multibulk: announced count, -1 before the header */
    int64_t  bulk_len;   /* length of the argument being read, -1: its header */
    size_t   n_args;
    /* kept across requests */
    struct resp_arg *args;
    size_t   cap;
    char     error[128]; /* "Protocol error: ..." without the leading '-' */
};

void server_resp_parser_init(struct resp_parser *p);
void server_resp_parser_release(struct resp_parser *p);

/* Parses the request at buf[0..len). buf must hold the same bytes (moved is
 * fine) on every call until DONE, EMPTY or ERROR. On DONE and EMPTY, p->pos
 * is the number of bytes the request used: drop them and call
 * server_resp_parser_next(). Returns RESP_ERROR also when out of memory. */
enum resp_status server_resp_parse(struct resp_parser *p, const uint8_t *buf, size_t len,
                                   const struct resp_limits *lim);

/* How many more bytes the request needs at least (the rest of a bulk
 * argument being read), so a reader can size one large read; 0 if unknown. */
size_t server_resp_parser_need(const struct resp_parser *p);

/* Forgets the finished request, keeps the argument array for the next. */
void server_resp_parser_next(struct resp_parser *p);

/* ---- replies ---------------------------------------------------------- */

/* A growable byte buffer; bytes [off, len) are still to be sent. Appends
 * that cannot allocate set oom and change nothing: the owner checks it and
 * drops the connection instead of sending a reply with a hole in it. */
struct resp_buf {
    uint8_t *data;
    size_t   off;
    size_t   len;
    size_t   cap;
    int      oom;
};

void server_resp_buf_release(struct resp_buf *b);
/* Makes room for n more bytes; returns 0, or -1 (and sets oom). */
int server_resp_buf_reserve(struct resp_buf *b, size_t n);
void server_resp_buf_append(struct resp_buf *b, const void *p, size_t n);
/* Drops the sent bytes [0, off) by moving the rest to the front; returns
 * how far the bytes moved, so marks into the buffer can follow. */
size_t server_resp_buf_compact(struct resp_buf *b);

void server_resp_add_simple(struct resp_buf *b, const char *s);           /* +s */
void server_resp_add_error(struct resp_buf *b, const char *msg);          /* -msg */
void server_resp_add_int(struct resp_buf *b, int64_t v);                  /* :v */
void server_resp_add_bulk(struct resp_buf *b, const void *p, size_t len); /* $len p */
void server_resp_add_bulk_str(struct resp_buf *b, const char *s);
void server_resp_add_null(struct resp_buf *b);                            /* $-1 */
void server_resp_add_array(struct resp_buf *b, size_t n);                 /* *n */

#endif
