/*
 * Config files (INI, read with Debian's inih). Every long option of a
 * command is also a key: "listen = 127.0.0.1:6379" is --listen
 * 127.0.0.1:6379, and goes through the very same option handlers, so a
 * key and its flag cannot drift apart. The file is applied first and the
 * command line after it, so flags win. Keys may stand before any section
 * or in a section named after the command ([serve]); other sections are
 * left for other commands, so one file can configure several.
 */
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

struct config_value {
    struct config_value *next;
    char text[];
};

struct load_ctx {
    const char *path;
    const struct cli_cmd *cmd;
    const struct option *longopts;
    struct cli_store_args *store;
    cli_own_option_fn own;
    void *own_ctx;
    struct cli_config *cfg;
    rs_err *err;
};

const char *cli_config_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

/* Keeps a copy of value for as long as the command runs: the handlers keep
 * pointers to their arguments, as they do to argv's. */
static const char *keep(struct cli_config *cfg, const char *value)
{
    size_t len = strlen(value);
    struct config_value *v = malloc(sizeof *v + len + 1);
    if (v == NULL)
        return NULL;
    memcpy(v->text, value, len + 1);
    v->next = cfg->values;
    cfg->values = v;
    return v->text;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int fail(struct load_ctx *c, const char *key, const char *fmt, const char *arg)
{
    char what[sizeof c->err->msg + 64];
    snprintf(what, sizeof what, fmt, arg);
    rs_err_set(c->err, RS_E_INVALID, "key '%s': %s", key, what);
    return 0; /* inih reports this line's number */
}

static int apply(struct load_ctx *c, const struct option *o, const char *key, const char *value)
{
    const char *arg = NULL;
    if (o->has_arg == no_argument) {
        int on = 0;
        if (parse_bool(value, &on) != 0)
            return fail(c, key, "expected yes or no, got '%s'", value);
        if (!on)
            return 1;
    } else if ((arg = keep(c->cfg, value)) == NULL) {
        return fail(c, key, "%s", "out of memory");
    }
    rs_err inner = RS_ERR_INIT;
    int r = cli_option(o->val, arg, c->store, &inner);
    if (r == 0)
        r = c->own != NULL && c->own(o->val, arg, c->own_ctx, &inner) == RS_OK ? 1 : -1;
    if (r < 0)
        return fail(c, key, "%s", inner.msg[0] != '\0' ? inner.msg : "bad value");
    return 1;
}

static int on_pair(void *user, const char *section, const char *key, const char *value)
{
    struct load_ctx *c = user;
    if (c->err != NULL && c->err->code != RS_OK)
        return 1; /* the first error is the one reported */
    if (section[0] != '\0' && strcmp(section, c->cmd->name) != 0)
        return 1; /* another command's section */
    if (strcmp(key, "config") == 0 || strcmp(key, "help") == 0)
        return fail(c, key, "%s", "not allowed in a config file");
    for (const struct option *o = c->longopts; o->name != NULL; o++)
        if (strcmp(o->name, key) == 0)
            return apply(c, o, key, value);
    return fail(c, key, "%s", "unknown key (keys are the long option names, without --)");
}

rs_code cli_config_load(const char *path, const struct cli_cmd *cmd, const struct option *longopts,
                        struct cli_store_args *store, cli_own_option_fn own, void *ctx, struct cli_config *cfg,
                        rs_err *err)
{
    struct load_ctx c = {.path = path, .cmd = cmd, .longopts = longopts, .store = store, .own = own,
                         .own_ctx = ctx, .cfg = cfg, .err = err};
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        rs_err_sys(err, RS_E_IO, errno, "config '%s'", path);
        rs_err_hint(err, "check the path given to --config");
        return err != NULL ? err->code : RS_E_IO;
    }
    int rc = ini_parse_file(f, on_pair, &c);
    fclose(f);
    if (err != NULL && err->code != RS_OK) {
        rs_err_prefix(err, "config '%s' line %d", path, rc);
        return err->code;
    }
    if (rc != 0)
        return rs_err_set(err, RS_E_INVALID, "config '%s' line %d: not a 'key = value' line", path, rc);
    cfg->path = path;
    return RS_OK;
}

/* Values are wiped before they are freed: requirepass is one of them. */
void cli_config_release(struct cli_config *cfg)
{
    while (cfg->values != NULL) {
        struct config_value *v = cfg->values;
        cfg->values = v->next;
        explicit_bzero(v->text, strlen(v->text));
        free(v);
    }
}
