/*
 * Where an S3 store is and who we are to it: the bucket and prefix of an
 * s3:// URL, the endpoint (--s3-endpoint, $AWS_ENDPOINT_URL_S3,
 * $AWS_ENDPOINT_URL, else AWS's), the region, the addressing style, and
 * the credentials ($AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY/
 * $AWS_SESSION_TOKEN, else the shared credentials file, read with inih),
 * as the AWS tools look for them. Secrets live in libsodium's guarded
 * memory (locked, kept out of core dumps) and are never formatted.
 */
#include <ini.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore_int.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static const char *first(const char *a, const char *b, const char *c)
{
    return a != NULL && a[0] != '\0' ? a : b != NULL ? b : c;
}

/* ------------------------------------------------------------------ */
/* Secrets                                                             */
/* ------------------------------------------------------------------ */

/* A copy of s in guarded memory (NUL-terminated); NULL without memory. */
static char *guarded_copy(const char *s, size_t len)
{
    char *p = sodium_malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void guarded_free(char **p)
{
    if (*p != NULL)
        sodium_free(*p); /* zeroes before freeing */
    *p = NULL;
}

static rs_code set_creds(struct objstore_s3_conf *c, const char *id, const char *secret, const char *token,
                         const char *source, rs_err *err)
{
    size_t slen = strlen(secret);
    if (strlen(id) == 0 || strlen(id) > 128 || strpbrk(id, "/ \t\r\n") != NULL)
        return rs_err_set(err, RS_E_AUTH, "%s: the access key id is not valid", source);
    if (slen == 0 || slen > OBJSTORE_SECRET_MAX)
        return rs_err_set(err, RS_E_AUTH, "%s: the secret access key is empty or longer than %d bytes", source,
                          OBJSTORE_SECRET_MAX);
    if (token != NULL && strlen(token) > 8192)
        return rs_err_set(err, RS_E_AUTH, "%s: the session token is longer than 8192 bytes", source);
    c->access_key_id = strdup(id);
    c->secret = guarded_copy(secret, slen);
    c->secret_len = slen;
    c->session_token = token != NULL ? guarded_copy(token, strlen(token)) : NULL;
    if (c->access_key_id == NULL || c->secret == NULL || (token != NULL && c->session_token == NULL))
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    return RS_OK;
}

struct profile_read {
    const char *profile;
    char *id, *secret, *token;       /* guarded copies */
    int found, nomem;
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    struct profile_read *r = user;
    if (strcmp(section, r->profile) != 0)
        return 1;
    r->found = 1;
    char **slot = strcmp(name, "aws_access_key_id") == 0       ? &r->id
                  : strcmp(name, "aws_secret_access_key") == 0 ? &r->secret
                  : strcmp(name, "aws_session_token") == 0     ? &r->token
                                                               : NULL;
    if (slot != NULL) {
        guarded_free(slot);
        if ((*slot = guarded_copy(value, strlen(value))) == NULL)
            r->nomem = 1;
    }
    return 1;
}

static rs_code creds_from_file(struct objstore_s3_conf *c, const char *profile, rs_err *err)
{
    char path[4096];
    const char *file = env("AWS_SHARED_CREDENTIALS_FILE");
    if (file == NULL && env("HOME") != NULL) {
        snprintf(path, sizeof path, "%s/.aws/credentials", env("HOME"));
        file = path;
    }
    struct profile_read r = {.profile = profile};
    int line = file != NULL ? ini_parse(file, on_ini, &r) : -1;
    rs_code rc = RS_OK;
    if (r.nomem)
        rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
    else if (line > 0)
        rc = rs_err_set(err, RS_E_AUTH, "credentials file '%s': cannot parse line %d", file, line);
    else if (line < 0 || !r.found || r.id == NULL || r.secret == NULL) {
        rc = rs_err_set(err, RS_E_AUTH, "no S3 credentials: AWS_ACCESS_KEY_ID is not set and %s%s%s has no profile '%s' with both keys",
                        file != NULL ? "'" : "", file != NULL ? file : "no credentials file", file != NULL ? "'" : "",
                        profile);
        rs_err_hint(err, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write them to ~/.aws/credentials "
                         "(docs/storage.md)");
    } else {
        char source[64];
        snprintf(source, sizeof source, "profile '%.40s'", profile);
        rc = set_creds(c, r.id, r.secret, r.token, source, err);
    }
    guarded_free(&r.id);
    guarded_free(&r.secret);
    guarded_free(&r.token);
    return rc;
}

static rs_code load_creds(struct objstore_s3_conf *c, const rs_objstore_options *opt, rs_err *err)
{
    const char *id = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
    if (id != NULL || secret != NULL) {
        if (id == NULL || secret == NULL)
            return rs_err_set(err, RS_E_AUTH, "%s is set but %s is not",
                              id != NULL ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                              id != NULL ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return set_creds(c, id, secret, env("AWS_SESSION_TOKEN"), "the environment", err);
    }
    return creds_from_file(c, first(opt->s3_profile, env("AWS_PROFILE"), "default"), err);
}

/* ------------------------------------------------------------------ */
/* Bucket, endpoint, region                                            */
/* ------------------------------------------------------------------ */

/* AWS's bucket naming rules (radosgw's by default too). */
static rs_code check_bucket(const char *b, rs_err *err)
{
    size_t n = strlen(b);
    const char *why = NULL;
    if (n < 3 || n > 63)
        why = "it must be 3 to 63 characters long";
    else if (strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n)
        why = "it may hold only lower-case letters, digits, '.' and '-'";
    else if (b[0] == '.' || b[0] == '-' || b[n - 1] == '.' || b[n - 1] == '-')
        why = "it must begin and end with a letter or digit";
    else if (strstr(b, "..") != NULL)
        why = "it may not hold '..'";
    else if (strspn(b, "0123456789.") == n)
        why = "it may not look like an IP address";
    if (why != NULL)
        return rs_err_set(err, RS_E_INVALID, "'%s' is not a valid S3 bucket name: %s", b, why);
    return RS_OK;
}

static rs_code parse_endpoint(struct objstore_s3_conf *c, const char *url, rs_err *err)
{
    const char *rest;
    if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return rs_err_set(err, RS_E_INVALID, "S3 endpoint '%s' must start with http:// or https://", url);
    size_t host_len = strcspn(rest, "/?#");
    if (host_len == 0 || memchr(rest, '@', host_len) != NULL || host_len > 255)
        return rs_err_set(err, RS_E_INVALID, "S3 endpoint '%s' has no host, or holds credentials", url);
    if (rest[host_len] != '\0' && strcmp(rest + host_len, "/") != 0)
        return rs_err_set(err, RS_E_INVALID, "S3 endpoint '%s' has a path: give scheme://host[:port] only", url);
    c->https = rest == url + 8;
    c->host = strndup(rest, host_len);
    if (c->host == NULL || asprintf(&c->endpoint, "%s://%s", c->https ? "https" : "http", c->host) < 0)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    return RS_OK;
}

static rs_code check_region(const char *r, rs_err *err)
{
    size_t n = strlen(r);
    if (n == 0 || n > 63 || strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
        return rs_err_set(err, RS_E_INVALID, "'%.64s' is not a region name (like us-east-1)", r);
    return RS_OK;
}

/* The bucket up to the first '/', the rest a prefix ending in '/'. */
static rs_code split_url(struct objstore_s3_conf *c, const char *url_rest, rs_err *err)
{
    size_t blen = strcspn(url_rest, "/");
    const char *p = url_rest + blen;
    while (*p == '/')
        p++;
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    c->bucket = strndup(url_rest, blen);
    c->prefix = malloc(plen + 2);
    if (c->bucket == NULL || c->prefix == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    memcpy(c->prefix, p, plen);
    strcpy(c->prefix + plen, plen > 0 ? "/" : "");
    rs_code rc = check_bucket(c->bucket, err);
    if (rc == RS_OK && plen > 0)
        rc = objstore_key_check(c->prefix, 1, err);
    if (rc == RS_OK && plen + 1 >= RS_OBJSTORE_KEY_MAX)
        rc = rs_err_set(err, RS_E_INVALID, "prefix '%.64s...' leaves no room for keys", c->prefix);
    if (rc != RS_OK)
        rs_err_prefix(err, "s3://%.64s", url_rest);
    return rc;
}

rs_code objstore_s3_conf_load(const char *url_rest, const rs_objstore_options *opt, struct objstore_s3_conf *c,
                              rs_err *err)
{
    memset(c, 0, sizeof *c);
    if (sodium_init() < 0)
        return rs_err_set(err, RS_E_INTERNAL, "libsodium failed to start");
    rs_code rc = split_url(c, url_rest, err);
    const char *region = first(opt->s3_region, env("AWS_REGION"), first(env("AWS_DEFAULT_REGION"), NULL, "us-east-1"));
    if (rc == RS_OK)
        rc = check_region(region, err);
    if (rc == RS_OK && (c->region = strdup(region)) == NULL)
        rc = rs_err_set(err, RS_E_NOMEM, "out of memory");
    const char *endpoint = first(opt->s3_endpoint, env("AWS_ENDPOINT_URL_S3"), env("AWS_ENDPOINT_URL"));
    char aws[128];
    if (endpoint == NULL) {
        snprintf(aws, sizeof aws, "https://s3.%s.amazonaws.com", region);
        endpoint = aws;
    }
    if (rc == RS_OK)
        rc = parse_endpoint(c, endpoint, err);
    if (rc == RS_OK) {
        size_t hn = strcspn(c->host, ":");
        int aws_host = hn >= 14 && strncmp(c->host + hn - 14, ".amazonaws.com", 14) == 0;
        c->virtual_hosted = opt->s3_addressing == RS_OBJSTORE_ADDRESSING_VIRTUAL ||
                            (opt->s3_addressing == RS_OBJSTORE_ADDRESSING_AUTO && aws_host &&
                             strchr(c->bucket, '.') == NULL);
        rc = load_creds(c, opt, err);
    }
    if (rc != RS_OK)
        objstore_s3_conf_release(c);
    return rc;
}

void objstore_s3_conf_release(struct objstore_s3_conf *c)
{
    free(c->bucket);
    free(c->prefix);
    free(c->region);
    free(c->host);
    free(c->endpoint);
    free(c->access_key_id);
    guarded_free(&c->secret);
    guarded_free(&c->session_token);
    memset(c, 0, sizeof *c);
}
