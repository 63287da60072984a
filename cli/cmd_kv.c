/*
 * rockstream get | put | del | scan: read and write a database that no
 * server has open. Keys and values are taken as given, or as hex with
 * --hex; output escapes bytes that are not printable, or prints hex.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* A value read from stdin with "put KEY -" may be at most this big (the
 * same bound as the server's default). */
#define STDIN_VALUE_MAX (512u * 1024 * 1024)

enum { OPT_HEX = CLI_OPT_LAST_SHARED, OPT_RAW, OPT_PREFIX, OPT_START, OPT_END, OPT_LIMIT, OPT_REVERSE,
       OPT_KEYS_ONLY, OPT_AT_VERSION };

struct kv_args {
    struct cli_store_args store;
    int         hex;        /* arguments and output in hex */
    int         raw;        /* get: print the value's bytes as they are */
    const char *prefix, *start, *end;
    uint64_t    limit;
    int         reverse;
    int         keys_only;
    uint64_t    at_version; /* get, scan: as of this version; 0: latest */
};

/* An argument's bytes: the string itself, or decoded hex (owned). */
struct arg_bytes {
    const uint8_t *p;
    size_t         len;
    uint8_t       *owned;
};

static rs_code arg_bytes(const struct kv_args *a, const char *what, const char *s, struct arg_bytes *out,
                         rs_err *err)
{
    out->owned = NULL;
    if (!a->hex) {
        out->p = (const uint8_t *)s;
        out->len = strlen(s);
        return RS_OK;
    }
    if (cli_hex_decode(s, &out->owned, &out->len) != 0)
        return rs_err_set(err, RS_E_INVALID, "%s '%s' is not hex", what, s);
    out->p = out->owned;
    return RS_OK;
}

static rs_code read_stdin(struct arg_bytes *out, rs_err *err)
{
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            return rs_err_set(err, RS_E_NOMEM, "reading the value from stdin: out of memory");
        ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
        if (n < 0) {
            free(buf);
            return rs_err_sys(err, RS_E_IO, errno, "reading the value from stdin");
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > STDIN_VALUE_MAX) {
            free(buf);
            return rs_err_set(err, RS_E_INVALID, "value on stdin exceeds %u bytes", STDIN_VALUE_MAX);
        }
        if (len == cap) {
            cap *= 2;
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL)
                free(buf);
            buf = grown;
        }
    }
    out->owned = buf;
    out->p = buf;
    out->len = len;
    return RS_OK;
}

static void print_bytes(const struct kv_args *a, const uint8_t *p, size_t len)
{
    if (a->hex)
        cli_write_hex(stdout, p, len);
    else
        cli_write_escaped(stdout, p, len);
}

static rs_code kv_option(int opt, const char *arg, void *ctx, rs_err *err)
{
    struct kv_args *a = ctx;
    switch (opt) {
    case OPT_HEX: a->hex = 1; return RS_OK;
    case OPT_RAW: a->raw = 1; return RS_OK;
    case OPT_PREFIX: a->prefix = arg; return RS_OK;
    case OPT_START: a->start = arg; return RS_OK;
    case OPT_END: a->end = arg; return RS_OK;
    case OPT_REVERSE: a->reverse = 1; return RS_OK;
    case OPT_KEYS_ONLY: a->keys_only = 1; return RS_OK;
    case OPT_LIMIT:
        if (cli_parse_count(arg, &a->limit) != 0)
            return rs_err_set(err, RS_E_INVALID, "--limit '%s': expected a count", arg);
        return RS_OK;
    case OPT_AT_VERSION:
        if (cli_parse_count(arg, &a->at_version) != 0 || a->at_version == 0)
            return rs_err_set(err, RS_E_INVALID, "--at-version '%s': expected a version number (from 1)", arg);
        return RS_OK;
    }
    return RS_E_INVALID;
}

static const struct option kv_longopts[] = {
    CLI_COMMON_LONGOPTS, CLI_STORE_LONGOPTS,
    {"hex", no_argument, NULL, OPT_HEX},
    {"raw", no_argument, NULL, OPT_RAW},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"start", required_argument, NULL, OPT_START},
    {"end", required_argument, NULL, OPT_END},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"reverse", no_argument, NULL, OPT_REVERSE},
    {"keys-only", no_argument, NULL, OPT_KEYS_ONLY},
    {"at-version", required_argument, NULL, OPT_AT_VERSION},
    {0},
};

/* Parses the command line, checks the positional count, opens the store. */
static rs_code kv_begin(const struct cli_cmd *cmd, int argc, char **argv, struct kv_args *a, int min_pos,
                        int max_pos, rs_store **store, int *help_shown, rs_err *err)
{
    rs_code rc = cli_parse_args(cmd, argc, argv, kv_longopts, &a->store, kv_option, a, help_shown, err);
    if (rc != RS_OK || *help_shown)
        return rc;
    int n = argc - optind;
    if (n < min_pos || (max_pos >= 0 && n > max_pos))
        return cli_usage_error(cmd, err, "expected %s", cmd->usage);
    return cli_store_open(&a->store, store, err);
}

/* ---- get ------------------------------------------------------------ */

static int get_main(int argc, char **argv, rs_err *err)
{
    struct kv_args a = {0};
    rs_store *store = NULL;
    int help_shown = 0;
    rs_code rc = kv_begin(&cli_cmd_get, argc, argv, &a, 1, 1, &store, &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    struct arg_bytes key;
    rs_store_value val = {0};
    if ((rc = arg_bytes(&a, "key", argv[optind], &key, err)) == RS_OK) {
        rc = a.at_version != 0 ? rs_store_get_at(store, a.at_version, key.p, key.len, &val, err)
                               : rs_store_get(store, NULL, key.p, key.len, &val, err);
        if (rc == RS_E_NOTFOUND && a.at_version != 0)
            rs_err_set(err, rc, "get: key '%s' not found at version %" PRIu64, argv[optind], a.at_version);
        else if (rc == RS_E_NOTFOUND)
            rs_err_set(err, rc, "get: key '%s' not found", argv[optind]);
        free(key.owned);
    }
    if (rc == RS_OK) {
        if (a.raw) {
            fwrite(val.data, 1, val.len, stdout);
        } else {
            print_bytes(&a, val.data, val.len);
            fputc('\n', stdout);
        }
        rs_store_value_release(&val);
    }
    rs_store_close(store);
    return rc;
}

const struct cli_cmd cli_cmd_get = {
    .name = "get",
    .summary = "print the value of a key",
    .usage = "get --db DIR [--hex | --raw] [--at-version H] KEY",
    .help = "\nExits with status 4 if the key does not exist (or, with --at-version,\n"
            "did not exist at H, or H is not readable: the message says which).\n\n"
            "  --hex                  KEY is hex, and the value is printed as hex\n"
            "  --raw                  print the value's bytes as they are, no newline\n"
            "  --at-version H         the value as of version H of a versioned database\n",
    .example = "rockstream get --db /tmp/demo greeting",
    .uses_store = 1,
    .run = get_main,
};

/* ---- put ------------------------------------------------------------ */

static int put_main(int argc, char **argv, rs_err *err)
{
    struct kv_args a = {0};
    rs_store *store = NULL;
    int help_shown = 0;
    rs_code rc = kv_begin(&cli_cmd_put, argc, argv, &a, 2, 2, &store, &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    struct arg_bytes key = {0}, val = {0};
    rc = arg_bytes(&a, "key", argv[optind], &key, err);
    if (rc == RS_OK)
        rc = strcmp(argv[optind + 1], "-") == 0 ? read_stdin(&val, err)
                                                 : arg_bytes(&a, "value", argv[optind + 1], &val, err);
    if (rc == RS_OK)
        rc = rs_store_put(store, key.p, key.len, val.p, val.len, err);
    free(key.owned);
    free(val.owned);
    rs_store_close(store);
    return rc;
}

const struct cli_cmd cli_cmd_put = {
    .name = "put",
    .summary = "set a key to a value",
    .usage = "put --db DIR [--hex] KEY VALUE|-",
    .help = "\nReturns once the write is as durable as --sync says. A VALUE of - reads\n"
            "the value from standard input (binary safe, at most 512 MiB).\n\n"
            "  --hex                  KEY and VALUE are hex\n",
    .example = "rockstream put --db /tmp/demo --create greeting hello",
    .uses_store = 1,
    .run = put_main,
};

/* ---- del ------------------------------------------------------------ */

static int del_main(int argc, char **argv, rs_err *err)
{
    struct kv_args a = {0};
    rs_store *store = NULL;
    int help_shown = 0;
    rs_code rc = kv_begin(&cli_cmd_del, argc, argv, &a, 1, -1, &store, &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    rs_store_batch *b = NULL;
    rc = rs_store_batch_create(&b, err);
    for (int i = optind; i < argc && rc == RS_OK; i++) {
        struct arg_bytes key;
        if ((rc = arg_bytes(&a, "key", argv[i], &key, err)) == RS_OK)
            rs_store_batch_delete(b, key.p, key.len);
        free(key.owned);
    }
    if (rc == RS_OK)
        rc = rs_store_write(store, b, err);
    rs_store_batch_destroy(b);
    rs_store_close(store);
    return rc;
}

const struct cli_cmd cli_cmd_del = {
    .name = "del",
    .summary = "delete keys",
    .usage = "del --db DIR [--hex] KEY...",
    .help = "\nDeletes every KEY in one atomic batch. Deleting a missing key is not an\n"
            "error.\n\n"
            "  --hex                  the KEYs are hex\n",
    .example = "rockstream del --db /tmp/demo greeting",
    .uses_store = 1,
    .run = del_main,
};

/* ---- scan ----------------------------------------------------------- */

static int print_pair(void *arg, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    const struct kv_args *a = arg;
    print_bytes(a, k, klen);
    if (!a->keys_only) {
        fputc('\t', stdout);
        print_bytes(a, v, vlen);
    }
    fputc('\n', stdout);
    return ferror(stdout) ? 1 : 0;
}

static int scan_main(int argc, char **argv, rs_err *err)
{
    struct kv_args a = {0};
    rs_store *store = NULL;
    int help_shown = 0;
    rs_code rc = kv_begin(&cli_cmd_scan, argc, argv, &a, 0, 0, &store, &help_shown, err);
    if (rc != RS_OK || help_shown)
        return rc;
    struct arg_bytes prefix = {0}, start = {0}, end = {0};
    rs_store_range r = {.limit = a.limit, .reverse = a.reverse};
    if (a.prefix != NULL && (rc = arg_bytes(&a, "prefix", a.prefix, &prefix, err)) == RS_OK) {
        r.prefix = prefix.p;
        r.prefix_len = prefix.len;
    }
    if (rc == RS_OK && a.start != NULL && (rc = arg_bytes(&a, "start", a.start, &start, err)) == RS_OK) {
        r.start = start.p;
        r.start_len = start.len;
    }
    if (rc == RS_OK && a.end != NULL && (rc = arg_bytes(&a, "end", a.end, &end, err)) == RS_OK) {
        r.end = end.p;
        r.end_len = end.len;
    }
    if (rc == RS_OK)
        rc = a.at_version != 0 ? rs_store_scan_at(store, a.at_version, &r, print_pair, &a, err)
                               : rs_store_scan(store, NULL, &r, print_pair, &a, err);
    if (rc == RS_OK && fflush(stdout) != 0)
        rc = rs_err_sys(err, RS_E_IO, errno, "scan: writing the output");
    free(prefix.owned);
    free(start.owned);
    free(end.owned);
    rs_store_close(store);
    return rc;
}

const struct cli_cmd cli_cmd_scan = {
    .name = "scan",
    .summary = "list keys and values in order",
    .usage = "scan --db DIR [--prefix P] [--start K] [--end K] [--limit N] [--reverse] [--at-version H]",
    .help = "\nPrints one \"key<TAB>value\" line per pair, in key order, from one\n"
            "consistent view of the database.\n\n"
            "  --prefix P             only keys that start with P\n"
            "  --start K              from key K (inclusive)\n"
            "  --end K                up to key K (exclusive)\n"
            "  --limit N              at most N pairs\n"
            "  --reverse              from the highest key down\n"
            "  --keys-only            print keys without values\n"
            "  --at-version H         as of version H of a versioned database\n"
            "  --hex                  P, K and the output are hex\n",
    .example = "rockstream scan --db /tmp/demo --prefix user: --limit 10",
    .uses_store = 1,
    .run = scan_main,
};
