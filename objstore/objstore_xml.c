/*
 * S3's XML, read with expat: error replies, InitiateMultipartUploadResult,
 * CompleteMultipartUploadResult (which may be an error inside a 200),
 * ListBucketResult (ListObjectsV2), ListMultipartUploadsResult and
 * DeleteResult; and the escaping of keys written into request bodies.
 * Every reply is bounded before it gets here; each element's text is
 * bounded again here, and a truncated or malformed reply is RS_E_PROTOCOL.
 */
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "objstore/objstore_int.h"

#define TEXT_MAX  4096   /* longest element text kept (keys are at most 1024) */
#define DEPTH_MAX 8
#define NAME_MAX_ 64

/* Called at each element's start (text NULL) and end (its text). depth 1
 * is the document's root. */
typedef rs_code (*xml_fn)(void *ctx, int depth, const char *name, const char *text, rs_err *err);

struct walker {
    XML_Parser p;
    int        depth;
    char       root[NAME_MAX_];
    char       name[NAME_MAX_];
    char       text[TEXT_MAX + 1];
    size_t     text_len;
    xml_fn     fn;
    void      *ctx;
    rs_err    *err;
    rs_code    rc;
};

static void stop(struct walker *w, rs_code rc)
{
    w->rc = rc;
    XML_StopParser(w->p, XML_FALSE);
}

static void XMLCALL on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct walker *w = arg;
    if (w->rc != RS_OK)
        return;
    if (++w->depth > DEPTH_MAX) {
        stop(w, rs_err_set(w->err, RS_E_PROTOCOL, "XML reply nests deeper than %d elements", DEPTH_MAX));
        return;
    }
    snprintf(w->name, sizeof w->name, "%s", name);
    if (w->depth == 1)
        snprintf(w->root, sizeof w->root, "%s", name);
    w->text_len = 0;
    rs_code rc = w->fn(w->ctx, w->depth, w->name, NULL, w->err);
    if (rc != RS_OK)
        stop(w, rc);
}

static void XMLCALL on_text(void *arg, const XML_Char *s, int len)
{
    struct walker *w = arg;
    if (w->rc != RS_OK)
        return;
    if ((size_t)len > TEXT_MAX - w->text_len) {
        stop(w, rs_err_set(w->err, RS_E_PROTOCOL, "XML reply: <%s> holds more than %d bytes", w->name, TEXT_MAX));
        return;
    }
    memcpy(w->text + w->text_len, s, (size_t)len);
    w->text_len += (size_t)len;
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
    struct walker *w = arg;
    if (w->rc != RS_OK)
        return;
    w->text[w->text_len] = '\0';
    rs_code rc = w->fn(w->ctx, w->depth, name, w->text, w->err);
    w->depth--;
    w->text_len = 0;
    if (rc != RS_OK)
        stop(w, rc);
}

/* Parses a whole reply; root names the document element expected (the
 * caller's fn sees any root, so it may accept <Error> too). */
static rs_code walk(const char *body, size_t len, const char *root, xml_fn fn, void *ctx, rs_err *err)
{
    struct walker w = {.fn = fn, .ctx = ctx, .err = err};
    w.p = XML_ParserCreate("UTF-8");
    if (w.p == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    XML_SetUserData(w.p, &w);
    XML_SetElementHandler(w.p, on_start, on_end);
    XML_SetCharacterDataHandler(w.p, on_text);
    enum XML_Status st = XML_Parse(w.p, body, (int)len, XML_TRUE);
    rs_code rc = w.rc;
    if (rc == RS_OK && st != XML_STATUS_OK)
        rc = rs_err_set(err, RS_E_PROTOCOL, "malformed XML reply (%s at line %lu; truncated?)",
                        XML_ErrorString(XML_GetErrorCode(w.p)), (unsigned long)XML_GetCurrentLineNumber(w.p));
    if (rc == RS_OK && root != NULL && strcmp(w.root, root) != 0 && strcmp(w.root, "Error") != 0)
        rc = rs_err_set(err, RS_E_PROTOCOL, "XML reply is <%s>, expected <%s>", w.root, root);
    XML_ParserFree(w.p);
    return rc;
}

static rs_code too_big(size_t len, rs_err *err)
{
    return len > INT32_MAX ? rs_err_set(err, RS_E_PROTOCOL, "XML reply of %zu bytes is too large", len) : RS_OK;
}

/* ------------------------------------------------------------------ */
/* Small values                                                        */
/* ------------------------------------------------------------------ */

int64_t objstore_iso8601_ms(const char *s)
{
    int y, mo, d, h, mi;
    double sec;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lfZ", &y, &mo, &d, &h, &mi, &sec) != 6 || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || sec < 0 || sec >= 61)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) * 1000 + (int64_t)(sec * 1000);
}

/* Copies an ETag without its quotes. */
void objstore_etag_copy(char out[RS_OBJSTORE_ETAG_MAX], const char *s, size_t len)
{
    while (len > 0 && (s[0] == '"' || s[0] == ' '))
        s++, len--;
    while (len > 0 && (s[len - 1] == '"' || s[len - 1] == ' ' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    if (len >= RS_OBJSTORE_ETAG_MAX)
        len = RS_OBJSTORE_ETAG_MAX - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

/* Decodes S3's encoding-type=url in place ('+' is a space, as S3 writes
 * it); -1 on a bad escape. */
static int url_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p != '\0'; p++) {
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%') {
            unsigned v;
            if (sscanf(p + 1, "%2x", &v) != 1 || p[1] == '\0' || p[2] == '\0')
                return -1;
            *o++ = (char)v;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return 0;
}

char *objstore_xml_escape(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(6 * len + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&': o += sprintf(o, "&amp;"); break;
        case '<': o += sprintf(o, "&lt;"); break;
        case '>': o += sprintf(o, "&gt;"); break;
        case '"': o += sprintf(o, "&quot;"); break;
        case '\'': o += sprintf(o, "&apos;"); break;
        default: *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* Error fields, at depth 2 of <Error> (or deeper, in DeleteResult). */
static void error_field(struct objstore_s3_error *e, const char *name, const char *text)
{
    if (strcmp(name, "Code") == 0)
        snprintf(e->code, sizeof e->code, "%s", text);
    else if (strcmp(name, "Message") == 0)
        snprintf(e->message, sizeof e->message, "%s", text);
}

static rs_code error_fn(void *ctx, int depth, const char *name, const char *text, rs_err *err)
{
    (void)err;
    if (text != NULL && depth == 2)
        error_field(ctx, name, text);
    return RS_OK;
}

rs_code objstore_xml_error(const char *body, size_t len, struct objstore_s3_error *out, rs_err *err)
{
    memset(out, 0, sizeof *out);
    rs_code rc = too_big(len, err);
    return rc != RS_OK ? rc : walk(body, len, "Error", error_fn, out, err);
}

/* ------------------------------------------------------------------ */
/* Multipart uploads                                                   */
/* ------------------------------------------------------------------ */

struct one_field {
    const char *want;   /* element at depth 2 */
    char       *value;  /* malloc'd */
    struct objstore_s3_error *error;
    int         is_error;
};

static rs_code one_field_fn(void *ctx, int depth, const char *name, const char *text, rs_err *err)
{
    struct one_field *f = ctx;
    if (depth == 1 && text == NULL)
        f->is_error = strcmp(name, "Error") == 0;
    if (text == NULL || depth != 2)
        return RS_OK;
    if (f->is_error) {
        if (f->error != NULL)
            error_field(f->error, name, text);
    } else if (strcmp(name, f->want) == 0 && f->value == NULL) {
        if ((f->value = strdup(text)) == NULL)
            return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    return RS_OK;
}

rs_code objstore_xml_initiate(const char *body, size_t len, char **upload_id, rs_err *err)
{
    struct one_field f = {.want = "UploadId"};
    rs_code rc = too_big(len, err);
    if (rc == RS_OK)
        rc = walk(body, len, "InitiateMultipartUploadResult", one_field_fn, &f, err);
    if (rc == RS_OK && (f.is_error || f.value == NULL || f.value[0] == '\0'))
        rc = rs_err_set(err, RS_E_PROTOCOL, "InitiateMultipartUploadResult without an UploadId");
    if (rc != RS_OK) {
        free(f.value);
        return rc;
    }
    *upload_id = f.value;
    return RS_OK;
}

rs_code objstore_xml_complete(const char *body, size_t len, char etag[RS_OBJSTORE_ETAG_MAX],
                              struct objstore_s3_error *error, rs_err *err)
{
    memset(error, 0, sizeof *error);
    struct one_field f = {.want = "ETag", .error = error};
    rs_code rc = too_big(len, err);
    if (rc == RS_OK)
        rc = walk(body, len, "CompleteMultipartUploadResult", one_field_fn, &f, err);
    if (rc == RS_OK && f.is_error && error->code[0] == '\0')
        rc = rs_err_set(err, RS_E_PROTOCOL, "CompleteMultipartUpload: an <Error> without a <Code>");
    if (rc == RS_OK && !f.is_error && f.value == NULL)
        rc = rs_err_set(err, RS_E_PROTOCOL, "CompleteMultipartUploadResult without an ETag");
    if (rc == RS_OK && f.value != NULL)
        objstore_etag_copy(etag, f.value, strlen(f.value));
    free(f.value);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Listings                                                            */
/* ------------------------------------------------------------------ */

struct list_state {
    struct objstore_page *page;
    const char *record;            /* "Contents" or "Upload" */
    const char *next_names[2];     /* continuation elements at depth 2 */
    char  key[TEXT_MAX + 1];
    char  upload_id[TEXT_MAX + 1];
    rs_objstore_info info;
    int   in_record, url_encoded, next_encoded[2];
};

static rs_code record_field(struct list_state *st, const char *name, const char *text, rs_err *err)
{
    if (strcmp(name, "Key") == 0)
        snprintf(st->key, sizeof st->key, "%s", text);
    else if (strcmp(name, "UploadId") == 0)
        snprintf(st->upload_id, sizeof st->upload_id, "%s", text);
    else if (strcmp(name, "ETag") == 0)
        objstore_etag_copy(st->info.etag, text, strlen(text));
    else if (strcmp(name, "LastModified") == 0 || strcmp(name, "Initiated") == 0) {
        int64_t ms = objstore_iso8601_ms(text);
        st->info.mtime_unix_ms = ms > 0 ? ms : 0;
    } else if (strcmp(name, "Size") == 0) {
        char *end;
        st->info.size_bytes = strtoull(text, &end, 10);
        if (end == text || *end != '\0')
            return rs_err_set(err, RS_E_PROTOCOL, "listing: size '%.32s' is not a number", text);
    }
    return RS_OK;
}

static rs_code list_fn(void *ctx, int depth, const char *name, const char *text, rs_err *err)
{
    struct list_state *st = ctx;
    if (depth == 2 && strcmp(name, st->record) == 0) {
        if (text == NULL) { /* a record starts */
            st->in_record = 1;
            st->key[0] = st->upload_id[0] = '\0';
            memset(&st->info, 0, sizeof st->info);
            return RS_OK;
        }
        st->in_record = 0;
        if (st->key[0] == '\0')
            return rs_err_set(err, RS_E_PROTOCOL, "listing: <%s> without a <Key>", st->record);
        return objstore_page_add(st->page, st->key, strlen(st->key), st->upload_id[0] ? st->upload_id : NULL,
                                 &st->info, err);
    }
    if (text == NULL)
        return RS_OK;
    if (depth == 3 && st->in_record)
        return record_field(st, name, text, err);
    if (depth != 2)
        return RS_OK;
    if (strcmp(name, "IsTruncated") == 0)
        st->page->truncated = strcmp(text, "true") == 0;
    else if (strcmp(name, "EncodingType") == 0)
        st->url_encoded = strcmp(text, "url") == 0;
    for (int i = 0; i < 2; i++) {
        if (st->next_names[i] != NULL && strcmp(name, st->next_names[i]) == 0 && st->page->next[i] == NULL &&
            text[0] != '\0' && (st->page->next[i] = strdup(text)) == NULL)
            return rs_err_set(err, RS_E_NOMEM, "out of memory");
    }
    return RS_OK;
}

/* Decodes (if the reply was url-encoded) and removes the store's prefix
 * from every key of a page. */
static rs_code finish_keys(struct list_state *st, const char *strip, rs_err *err)
{
    size_t slen = strlen(strip);
    for (size_t i = 0; i < st->page->n; i++) {
        char *k = st->page->items[i].key;
        if (st->url_encoded && url_decode(k) != 0)
            return rs_err_set(err, RS_E_PROTOCOL, "listing: key '%.64s' is not url-encoded", k);
        if (strncmp(k, strip, slen) != 0 || k[slen] == '\0')
            return rs_err_set(err, RS_E_PROTOCOL, "listing: key '%.64s' is outside prefix '%s'", k, strip);
        memmove(k, k + slen, strlen(k + slen) + 1);
    }
    for (int i = 0; i < 2; i++)
        if (st->url_encoded && st->next_encoded[i] && st->page->next[i] != NULL &&
            url_decode(st->page->next[i]) != 0)
            return rs_err_set(err, RS_E_PROTOCOL, "listing: marker is not url-encoded");
    if (st->page->truncated && st->page->next[0] == NULL)
        return rs_err_set(err, RS_E_PROTOCOL, "listing: truncated page without a continuation");
    return RS_OK;
}

rs_code objstore_xml_list(const char *body, size_t len, const char *strip, struct objstore_page *page, rs_err *err)
{
    struct list_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    *st = (struct list_state){.page = page, .record = "Contents", .next_names = {"NextContinuationToken", NULL}};
    rs_code rc = too_big(len, err);
    if (rc == RS_OK)
        rc = walk(body, len, "ListBucketResult", list_fn, st, err);
    if (rc == RS_OK)
        rc = finish_keys(st, strip, err);
    free(st);
    return rc;
}

rs_code objstore_xml_uploads(const char *body, size_t len, const char *strip, struct objstore_page *page,
                             rs_err *err)
{
    struct list_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    *st = (struct list_state){.page = page, .record = "Upload", .next_names = {"NextKeyMarker", "NextUploadIdMarker"},
                              .next_encoded = {1, 0}};
    rs_code rc = too_big(len, err);
    if (rc == RS_OK)
        rc = walk(body, len, "ListMultipartUploadsResult", list_fn, st, err);
    if (rc == RS_OK)
        rc = finish_keys(st, strip, err);
    free(st);
    return rc;
}

/* ------------------------------------------------------------------ */
/* DeleteObjects                                                       */
/* ------------------------------------------------------------------ */

struct delete_state {
    struct objstore_s3_error *error;
    char *failed_key;
    struct objstore_s3_error cur;
    char key[TEXT_MAX + 1];
    int  in_error;
};

static rs_code delete_fn(void *ctx, int depth, const char *name, const char *text, rs_err *err)
{
    (void)err;
    struct delete_state *st = ctx;
    if (depth == 2 && strcmp(name, "Error") == 0) {
        st->in_error = text == NULL;
        if (text == NULL) {
            memset(&st->cur, 0, sizeof st->cur);
            st->key[0] = '\0';
        } else if (st->error->code[0] == '\0') { /* keep the first */
            *st->error = st->cur;
            snprintf(st->failed_key, RS_OBJSTORE_KEY_MAX + 1, "%.*s", RS_OBJSTORE_KEY_MAX, st->key);
        }
        return RS_OK;
    }
    if (text != NULL && depth == 3 && st->in_error) {
        if (strcmp(name, "Key") == 0)
            snprintf(st->key, sizeof st->key, "%s", text);
        error_field(&st->cur, name, text);
    }
    /* a whole-request <Error> as the root */
    if (text != NULL && depth == 2 && !st->in_error)
        error_field(&st->cur, name, text);
    return RS_OK;
}

rs_code objstore_xml_delete(const char *body, size_t len, char failed_key[RS_OBJSTORE_KEY_MAX + 1],
                            struct objstore_s3_error *error, rs_err *err)
{
    memset(error, 0, sizeof *error);
    failed_key[0] = '\0';
    struct delete_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory");
    st->error = error;
    st->failed_key = failed_key;
    rs_code rc = too_big(len, err);
    if (rc == RS_OK)
        rc = walk(body, len, "DeleteResult", delete_fn, st, err);
    if (rc == RS_OK && error->code[0] == '\0' && st->cur.code[0] != '\0')
        *error = st->cur; /* the root was <Error> */
    free(st);
    return rc;
}
