/*
 * AWS Signature Version 4 for S3 requests: URI and query encoding in S3's
 * canonical form, the canonical request, the string to sign, and the
 * Authorization header. SHA-256 and HMAC come from OpenSSL's libcrypto,
 * whose SHA-256 uses the CPU's SHA extensions: 1.7 GB/s here against 0.33
 * GB/s for libsodium's portable code, and every uploaded byte is hashed
 * once (payloads are signed with their real SHA-256). Tested against AWS's
 * published examples (tests/objstore/test_sigv4.c).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "objstore/objstore_int.h"

void objstore_sha256_hex(const uint8_t *p, size_t len, char out[OBJSTORE_SHA256_HEX])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(p, len, md);
    rs_hex_encode(md, sizeof md, out, OBJSTORE_SHA256_HEX);
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

char *objstore_uri_encode(const char *s, int keep_slash)
{
    size_t len = strlen(s);
    char *out = malloc(3 * len + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            /* S3 wants upper-case hex in both the URL and the signature */
            *o++ = '%';
            *o++ = "0123456789ABCDEF"[*p >> 4];
            *o++ = "0123456789ABCDEF"[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

struct enc_param {
    char *name, *value;
};

static int param_cmp(const void *a, const void *b)
{
    const struct enc_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

char *objstore_query_canonical(const struct objstore_param *params, size_t n)
{
    struct enc_param *enc = calloc(n > 0 ? n : 1, sizeof *enc);
    if (enc == NULL)
        return NULL;
    size_t total = 1, i;
    char *out = NULL;
    for (i = 0; i < n; i++) {
        enc[i].name = objstore_uri_encode(params[i].name, 0);
        enc[i].value = objstore_uri_encode(params[i].value != NULL ? params[i].value : "", 0);
        if (enc[i].name == NULL || enc[i].value == NULL)
            goto done;
        total += strlen(enc[i].name) + strlen(enc[i].value) + 2;
    }
    qsort(enc, n, sizeof *enc, param_cmp);
    out = malloc(total);
    if (out == NULL)
        goto done;
    out[0] = '\0';
    char *o = out;
    for (i = 0; i < n; i++)
        o += sprintf(o, "%s%s=%s", i > 0 ? "&" : "", enc[i].name, enc[i].value);
done:
    for (size_t j = 0; j < n; j++) {
        free(enc[j].name);
        free(enc[j].value);
    }
    free(enc);
    return out;
}

/* ------------------------------------------------------------------ */
/* The canonical request                                               */
/* ------------------------------------------------------------------ */

static int header_cmp(const void *a, const void *b)
{
    const struct objstore_header *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Appends a header value trimmed, with inner runs of spaces as one. */
static char *put_trimmed(char *o, const char *v)
{
    while (*v == ' ')
        v++;
    int space = 0;
    for (; *v != '\0'; v++) {
        if (*v == ' ') {
            space = 1;
            continue;
        }
        if (space)
            *o++ = ' ';
        space = 0;
        *o++ = *v;
    }
    return o;
}

rs_code objstore_sigv4_canonical(const struct objstore_sigv4_req *r, char **canonical, char **signed_headers,
                                 rs_err *err)
{
    struct objstore_header *h = calloc(r->n_headers > 0 ? r->n_headers : 1, sizeof *h);
    size_t total = strlen(r->method) + strlen(r->path) + strlen(r->query) + strlen(r->payload_sha256) + 8;
    size_t names = 1;
    for (size_t i = 0; i < r->n_headers; i++) {
        total += strlen(r->headers[i].name) * 2 + strlen(r->headers[i].value) + 3;
        names += strlen(r->headers[i].name) + 1;
    }
    char *c = malloc(total), *sh = malloc(names);
    if (h == NULL || c == NULL || sh == NULL) {
        free(h);
        free(c);
        free(sh);
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    memcpy(h, r->headers, r->n_headers * sizeof *h);
    qsort(h, r->n_headers, sizeof *h, header_cmp);
    char *o = c + sprintf(c, "%s\n%s\n%s\n", r->method, r->path, r->query);
    char *s = sh;
    for (size_t i = 0; i < r->n_headers; i++) {
        o += sprintf(o, "%s:", h[i].name);
        o = put_trimmed(o, h[i].value);
        *o++ = '\n';
        s += sprintf(s, "%s%s", i > 0 ? ";" : "", h[i].name);
    }
    *s = '\0';
    sprintf(o, "\n%s\n%s", sh, r->payload_sha256);
    free(h);
    *canonical = c;
    *signed_headers = sh;
    return RS_OK;
}

/* ------------------------------------------------------------------ */
/* Signing                                                             */
/* ------------------------------------------------------------------ */

static void hmac(const uint8_t *key, size_t key_len, const char *msg, uint8_t out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &n);
}

rs_code objstore_sigv4_authorization(const struct objstore_sigv4_req *r, const struct objstore_sigv4_key *k,
                                     const char *amz_date, char *out, size_t cap, rs_err *err)
{
    if (strlen(amz_date) != 16 || k->secret_len > OBJSTORE_SECRET_MAX)
        return rs_err_set(err, RS_E_INVALID, "signing: bad date or secret length");
    char *canonical = NULL, *signed_headers = NULL;
    rs_code rc = objstore_sigv4_canonical(r, &canonical, &signed_headers, err);
    if (rc != RS_OK)
        return rc;
    char date[9], scope[160], hash[OBJSTORE_SHA256_HEX];
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, k->region, k->service);
    objstore_sha256_hex((const uint8_t *)canonical, strlen(canonical), hash);
    char to_sign[320];
    snprintf(to_sign, sizeof to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash);

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    uint8_t key[4 + OBJSTORE_SECRET_MAX], a[32], b[32];
    memcpy(key, "AWS4", 4);
    memcpy(key + 4, k->secret, k->secret_len);
    hmac(key, 4 + k->secret_len, date, a);
    hmac(a, 32, k->region, b);
    hmac(b, 32, k->service, a);
    hmac(a, 32, "aws4_request", b);
    hmac(b, 32, to_sign, a);
    char sig[RS_HEX_LEN(32)];
    rs_hex_encode(a, 32, sig, sizeof sig);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(b, sizeof b);
    int n = snprintf(out, cap, "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s", k->access_key_id,
                     scope, signed_headers, sig);
    free(canonical);
    free(signed_headers);
    if (n < 0 || (size_t)n >= cap)
        return rs_err_set(err, RS_E_INVALID, "signing: the Authorization header exceeds %zu bytes", cap);
    return RS_OK;
}
