/*
 * Manifests (docs/format.md, "Manifest"): JSON built with jansson. The same
 * body travels inside the archive (as its last tar entry, authenticated by
 * the stream) and beside it, detached, with the archive's size and hash
 * added and a keyed BLAKE2b MAC under a key derived from the archive's data
 * key, so an edited manifest is detected. The detached one is what backup/
 * lists; the inner one keeps a lone archive file self-describing.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snapshot/snapshot_int.h"

/* Wire constant: the detached manifest's envelope version. */
#define ENVELOPE_VERSION 1

struct rs_snapshot_manifest {
    json_t  *body;
    uint8_t  mac_key[KEY_BYTES];
    rs_snapshot_info info;
};

void rs_snapshot_manifest_info(const rs_snapshot_manifest *m, rs_snapshot_info *out) { *out = m->info; }

void rs_snapshot_manifest_destroy(rs_snapshot_manifest *m)
{
    if (m == NULL)
        return;
    json_decref(m->body);
    sodium_memzero(m->mac_key, sizeof m->mac_key);
    free(m);
}

static rs_snapshot_manifest *manifest_new(json_t *body, const uint8_t dk[KEY_BYTES])
{
    rs_snapshot_manifest *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->body = body;
    snapshot_manifest_mac_key(dk, m->mac_key);
    return m;
}

/* ---- building ------------------------------------------------------- */

static void make_id(uint64_t now_ms, char *out, size_t cap)
{
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    uint8_t rnd[4];
    char rnd_hex[9];
    randombytes_buf(rnd, sizeof rnd);
    rs_hex_encode(rnd, sizeof rnd, rnd_hex, sizeof rnd_hex);
    snprintf(out, cap, "%s-%s", stamp, rnd_hex);
}

static json_t *seal_json(const struct seal_header *h)
{
    static const char *const modes[] = {[SEAL_MODE_SECRET] = "secret", [SEAL_MODE_PASSPHRASE] = "passphrase",
                                        [SEAL_MODE_PUBLIC] = "public"};
    char id[17], raw[2 * SEAL_HEADER_MAX + 1];
    rs_hex_encode(h->key_id, sizeof h->key_id, id, sizeof id);
    rs_hex_encode(h->raw, h->len, raw, sizeof raw);
    return json_pack("{s:s, s:s, s:s}", "key_mode", modes[h->key_mode], "key_id", id, "header", raw);
}

rs_code snapshot_manifest_create(const struct manifest_head *hd, const uint8_t dk[KEY_BYTES],
                                 rs_snapshot_manifest **out, rs_err *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    char id[48], created[32], dbid[33];
    make_id(now_ms, id, sizeof id);
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    rs_hex_encode(hd->database_id, sizeof hd->database_id, dbid, sizeof dbid);
    json_t *body = json_pack(
        "{s:i, s:s, s:s, s:I, s:I, s:I, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:[], "
        "s:{s:i, s:i, s:i, s:s}, s:o}",
        "manifest_version", RS_SNAPSHOT_MANIFEST_VERSION, "snapshot_id", id, "created_at", created,
        "created_unix_ms", (json_int_t)now_ms, "sequence", (json_int_t)hd->seq, "version", (json_int_t)hd->version,
        "source", "database_id", dbid, "path", hd->source, "host", hd->host,
        "content_digest", "algorithm", "rockstream-digest-v1", "value", "", "pairs", (json_int_t)0, "key_bytes",
        (json_int_t)0, "value_bytes", (json_int_t)0,
        "sizes", "files", (json_int_t)0, "file_bytes", (json_int_t)0, "compressed_files", (json_int_t)0,
        "files",
        "formats", "sealed_stream", RS_SNAPSHOT_STREAM_VERSION, "manifest", RS_SNAPSHOT_MANIFEST_VERSION,
        "content_digest", 1, "tar", "pax",
        "seal", seal_json(hd->header));
    rs_snapshot_manifest *m = body != NULL ? manifest_new(body, dk) : NULL;
    if (m == NULL) {
        json_decref(body);
        return rs_err_set(err, RS_E_NOMEM, "manifest: out of memory");
    }
    *out = m;
    return RS_OK;
}

void snapshot_manifest_set_digest(rs_snapshot_manifest *m, const uint8_t digest[RS_STORE_DIGEST_BYTES],
                                  const rs_store_digest_stats *stats)
{
    char hex[2 * RS_STORE_DIGEST_BYTES + 1];
    rs_hex_encode(digest, RS_STORE_DIGEST_BYTES, hex, sizeof hex);
    json_t *cd = json_object_get(m->body, "content_digest");
    json_object_set_new(cd, "value", json_string(hex));
    json_integer_set(json_object_get(cd, "pairs"), (json_int_t)stats->n_pairs);
    json_integer_set(json_object_get(cd, "key_bytes"), (json_int_t)stats->key_bytes);
    json_integer_set(json_object_get(cd, "value_bytes"), (json_int_t)stats->value_bytes);
}

static void add_to(json_t *obj, const char *key, uint64_t n)
{
    json_t *v = json_object_get(obj, key);
    json_integer_set(v, json_integer_value(v) + (json_int_t)n);
}

rs_code snapshot_manifest_add_file(rs_snapshot_manifest *m, const char *name, uint64_t size,
                                   const uint8_t hash[RS_SNAPSHOT_HASH_BYTES], int compressed, rs_err *err)
{
    char hex[2 * RS_SNAPSHOT_HASH_BYTES + 1];
    rs_hex_encode(hash, RS_SNAPSHOT_HASH_BYTES, hex, sizeof hex);
    json_t *f = json_pack("{s:s, s:I, s:s, s:s}", "path", name, "size", (json_int_t)size, "xxh3_128", hex,
                          "compression", compressed ? "zstd" : "none");
    if (f == NULL || json_array_append_new(json_object_get(m->body, "files"), f) != 0)
        return rs_err_set(err, RS_E_NOMEM, "manifest: out of memory");
    json_t *sizes = json_object_get(m->body, "sizes");
    add_to(sizes, "files", 1);
    add_to(sizes, "file_bytes", size);
    add_to(sizes, "compressed_files", compressed ? 1 : 0);
    return RS_OK;
}

rs_code snapshot_manifest_inner_json(const rs_snapshot_manifest *m, char **out, size_t *len, rs_err *err)
{
    *out = json_dumps(m->body, JSON_COMPACT);
    if (*out == NULL)
        return rs_err_set(err, RS_E_NOMEM, "manifest: out of memory");
    *len = strlen(*out);
    return RS_OK;
}

/* ---- reading -------------------------------------------------------- */

static int hex_field(json_t *obj, const char *key, uint8_t *out, size_t len)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL && rs_hex_decode(s, strlen(s), out, len, NULL) == RS_OK ? 0 : -1;
}

/* Decodes the facts into m->info, checking every field's type and form. */
static rs_code fill_info(rs_snapshot_manifest *m, rs_err *err)
{
    rs_snapshot_info *in = &m->info;
    json_t *src = NULL, *cd = NULL, *sizes = NULL, *files = NULL, *seal = NULL;
    const char *id = NULL, *key_id = NULL;
    json_int_t mv = 0, seq = 0, ver = 0, ms = 0, pairs = 0, nfiles = 0, fbytes = 0, ncomp = 0;
    json_error_t je;
    memset(in, 0, sizeof *in);
    if (json_unpack_ex(m->body, &je, 0, "{s:I, s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "manifest_version",
                       &mv, "snapshot_id", &id, "created_unix_ms", &ms, "sequence", &seq, "version", &ver, "source",
                       &src, "content_digest", &cd, "sizes", &sizes, "files", &files, "seal", &seal) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "manifest: %s", je.text);
    if (mv != RS_SNAPSHOT_MANIFEST_VERSION)
        return rs_err_set(err, RS_E_VERSION, "manifest version %lld is not supported by this build (it reads %d)",
                          (long long)mv, RS_SNAPSHOT_MANIFEST_VERSION);
    if (json_unpack_ex(cd, &je, 0, "{s:I}", "pairs", &pairs) != 0 ||
        json_unpack_ex(sizes, &je, 0, "{s:I, s:I, s:I}", "files", &nfiles, "file_bytes", &fbytes, "compressed_files",
                       &ncomp) != 0 ||
        json_unpack_ex(seal, &je, 0, "{s:s}", "key_id", &key_id) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "manifest: %s", je.text);
    if (strlen(id) >= sizeof in->id || seq < 0 || ver < 0 || !json_is_array(files) ||
        hex_field(cd, "value", in->content_digest, sizeof in->content_digest) != 0 ||
        hex_field(src, "database_id", in->database_id, sizeof in->database_id) != 0 || strlen(key_id) != 16 ||
        json_array_size(files) != (size_t)nfiles)
        return rs_err_set(err, RS_E_CORRUPT, "manifest: malformed fields");
    strcpy(in->id, id);
    strcpy(in->key_id, key_id);
    in->seq = (uint64_t)seq;
    in->version = (uint64_t)ver;
    in->created_unix_ms = (uint64_t)ms;
    in->n_pairs = (uint64_t)pairs;
    in->n_files = (uint64_t)nfiles;
    in->file_bytes = (uint64_t)fbytes;
    in->n_files_compressed = (uint64_t)ncomp;
    json_t *ar = json_object_get(m->body, "archive");
    if (ar != NULL) {
        json_int_t asize = 0;
        if (json_unpack_ex(ar, &je, 0, "{s:I}", "size", &asize) != 0 || asize <= 0 ||
            hex_field(ar, "xxh3_128", in->archive_hash, sizeof in->archive_hash) != 0)
            return rs_err_set(err, RS_E_CORRUPT, "manifest: malformed archive fields");
        in->archive_bytes = (uint64_t)asize;
    }
    return RS_OK;
}

void snapshot_manifest_set_archive(rs_snapshot_manifest *m, uint64_t bytes, const uint8_t hash[RS_SNAPSHOT_HASH_BYTES])
{
    char hex[2 * RS_SNAPSHOT_HASH_BYTES + 1];
    rs_hex_encode(hash, RS_SNAPSHOT_HASH_BYTES, hex, sizeof hex);
    json_object_set_new(m->body, "archive", json_pack("{s:I, s:s}", "size", (json_int_t)bytes, "xxh3_128", hex));
    fill_info(m, NULL); /* cannot fail on a body built here */
}

static rs_code parse_body(const char *text, size_t len, json_t **out, rs_err *err)
{
    json_error_t je;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (*out == NULL || !json_is_object(*out)) {
        json_decref(*out);
        return rs_err_set(err, RS_E_CORRUPT, "manifest is not a JSON object: %s (line %d)", je.text, je.line);
    }
    return RS_OK;
}

rs_code snapshot_manifest_parse_inner(const uint8_t *p, size_t len, const uint8_t dk[KEY_BYTES],
                                      rs_snapshot_manifest **out, rs_err *err)
{
    json_t *body = NULL;
    rs_code rc = parse_body((const char *)p, len, &body, err);
    if (rc != RS_OK)
        return rc;
    rs_snapshot_manifest *m = manifest_new(body, dk);
    if (m == NULL) {
        json_decref(body);
        return rs_err_set(err, RS_E_NOMEM, "manifest: out of memory");
    }
    if ((rc = fill_info(m, err)) != RS_OK) {
        rs_snapshot_manifest_destroy(m);
        return rc;
    }
    *out = m;
    return RS_OK;
}

/* ---- the detached form ---------------------------------------------- */

#define MAC_BYTES 32

static void body_mac(const uint8_t mk[KEY_BYTES], const char *body, size_t len, uint8_t mac[MAC_BYTES])
{
    crypto_generichash(mac, MAC_BYTES, (const uint8_t *)body, len, mk, KEY_BYTES);
}

rs_code rs_snapshot_manifest_encode(const rs_snapshot_manifest *m, uint8_t **out, size_t *out_len, rs_err *err)
{
    char *body = json_dumps(m->body, JSON_COMPACT);
    if (body == NULL)
        return rs_err_set(err, RS_E_NOMEM, "manifest: out of memory");
    uint8_t mac[MAC_BYTES];
    char mac_hex[2 * MAC_BYTES + 1];
    body_mac(m->mac_key, body, strlen(body), mac);
    rs_hex_encode(mac, sizeof mac, mac_hex, sizeof mac_hex);
    json_t *env = json_pack("{s:i, s:s, s:s, s:s}", "rockstream_manifest", ENVELOPE_VERSION, "mac_algorithm",
                            "blake2b-256-keyed", "mac", mac_hex, "body", body);
    free(body);
    char *text = env != NULL ? json_dumps(env, JSON_INDENT(2)) : NULL;
    json_decref(env);
    if (text == NULL)
        return rs_err_set(err, RS_E_NOMEM, "manifest: out of memory");
    *out_len = strlen(text);
    *out = (uint8_t *)text;
    return RS_OK;
}

/* Recovers the data key from the archive header the body records. */
static rs_code body_data_key(json_t *body, const rs_snapshot_key *key, uint8_t dk[KEY_BYTES], rs_err *err)
{
    const char *hex = json_string_value(json_object_get(json_object_get(body, "seal"), "header"));
    uint8_t raw[SEAL_HEADER_MAX];
    size_t n = hex != NULL ? strlen(hex) / 2 : 0;
    if (hex == NULL || n > SEAL_HEADER_MAX || n < SEAL_FIXED_LEN ||
        rs_hex_decode(hex, strlen(hex), raw, n, NULL) != RS_OK)
        return rs_err_set(err, RS_E_CORRUPT, "manifest: no valid seal header");
    struct seal_header h;
    rs_code rc = snapshot_seal_header_decode(raw, n, &h, err);
    if (rc == RS_OK)
        rc = snapshot_seal_header_open(&h, key, dk, err);
    return rc;
}

static rs_code check_envelope(json_t *env, const char **body, const char **mac_hex, rs_err *err)
{
    json_int_t v = 0;
    json_error_t je;
    if (json_unpack_ex(env, &je, 0, "{s:I, s:s, s:s}", "rockstream_manifest", &v, "body", body, "mac", mac_hex) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "not a rockstream manifest: %s", je.text);
    if (v != ENVELOPE_VERSION)
        return rs_err_set(err, RS_E_VERSION, "manifest envelope version %lld is not supported (this build reads %d)",
                          (long long)v, ENVELOPE_VERSION);
    return RS_OK;
}

static rs_code verify_detached(json_t *env, const rs_snapshot_key *key, rs_snapshot_manifest **out, rs_err *err)
{
    const char *body_text = NULL, *mac_hex = NULL;
    rs_code rc = check_envelope(env, &body_text, &mac_hex, err);
    json_t *body = NULL;
    if (rc == RS_OK)
        rc = parse_body(body_text, strlen(body_text), &body, err);
    uint8_t dk[KEY_BYTES], mac[MAC_BYTES], want[MAC_BYTES];
    if (rc == RS_OK)
        rc = body_data_key(body, key, dk, err);
    rs_snapshot_manifest *m = rc == RS_OK ? manifest_new(body, dk) : NULL;
    sodium_memzero(dk, sizeof dk);
    if (rc == RS_OK && m == NULL)
        rc = rs_err_set(err, RS_E_NOMEM, "manifest: out of memory");
    if (m != NULL)
        body = NULL;
    if (rc == RS_OK) {
        body_mac(m->mac_key, body_text, strlen(body_text), mac);
        if (rs_hex_decode(mac_hex, strlen(mac_hex), want, sizeof want, NULL) != RS_OK ||
            crypto_verify_32(mac, want) != 0)
            rc = rs_err_set(err, RS_E_CORRUPT, "manifest authentication failed: it was edited or damaged");
    }
    if (rc == RS_OK && (rc = fill_info(m, err)) == RS_OK && m->info.archive_bytes == 0)
        rc = rs_err_set(err, RS_E_CORRUPT, "manifest has no archive size and hash");
    json_decref(body);
    if (rc != RS_OK) {
        rs_snapshot_manifest_destroy(m);
        return rc;
    }
    *out = m;
    return RS_OK;
}

rs_code rs_snapshot_manifest_decode(const uint8_t *p, size_t len, const rs_snapshot_key *key,
                                    rs_snapshot_manifest **out, rs_err *err)
{
    if (len > MANIFEST_MAX_BYTES)
        return rs_err_set(err, RS_E_CORRUPT, "manifest is %zu bytes, above the limit of %u", len, MANIFEST_MAX_BYTES);
    if (!rs_snapshot_key_can_unseal(key))
        return snapshot_key_refuse_public(key, err);
    json_error_t je;
    json_t *env = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &je);
    if (env == NULL)
        return rs_err_set(err, RS_E_CORRUPT, "manifest is not JSON: %s (line %d)", je.text, je.line);
    rs_code rc = verify_detached(env, key, out, err);
    json_decref(env);
    return rc;
}

/* ---- checks --------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct extracted_file *)a)->name, ((const struct extracted_file *)b)->name);
}

rs_code snapshot_manifest_check_files(const rs_snapshot_manifest *m, const struct extract_result *res, rs_err *err)
{
    json_t *files = json_object_get(m->body, "files");
    if (json_array_size(files) != res->n_files)
        return rs_err_set(err, RS_E_CORRUPT, "archive holds %zu files, its manifest lists %zu", res->n_files,
                          json_array_size(files));
    qsort(res->files, res->n_files, sizeof *res->files, by_name);
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        struct extracted_file key = {0}, *got;
        const char *path = json_string_value(json_object_get(f, "path"));
        uint8_t want[RS_SNAPSHOT_HASH_BYTES];
        if (path == NULL || strlen(path) >= sizeof key.name || hex_field(f, "xxh3_128", want, sizeof want) != 0)
            return rs_err_set(err, RS_E_CORRUPT, "manifest: file entry %zu is malformed", i);
        strcpy(key.name, path);
        got = bsearch(&key, res->files, res->n_files, sizeof *res->files, by_name);
        if (got == NULL)
            return rs_err_set(err, RS_E_CORRUPT, "file '%s' in the manifest is missing from the archive", path);
        if ((json_int_t)got->size != json_integer_value(json_object_get(f, "size")))
            return rs_err_set(err, RS_E_CORRUPT, "file '%s' is %llu bytes, its manifest says %lld", path,
                              (unsigned long long)got->size, (long long)json_integer_value(json_object_get(f, "size")));
        if (sodium_memcmp(got->hash, want, sizeof want) != 0)
            return rs_err_set(err, RS_E_CORRUPT, "file '%s' does not match the hash in its manifest", path);
    }
    return RS_OK;
}

rs_code snapshot_manifest_check_detached(const rs_snapshot_manifest *detached, const rs_snapshot_manifest *inner,
                                         uint64_t archive_bytes, const uint8_t hash[RS_SNAPSHOT_HASH_BYTES],
                                         rs_err *err)
{
    json_t *copy = json_deep_copy(detached->body);
    if (copy == NULL)
        return rs_err_set(err, RS_E_NOMEM, "manifest: out of memory");
    json_object_del(copy, "archive");
    int same = json_equal(copy, inner->body);
    json_decref(copy);
    if (!same)
        return rs_err_set(err, RS_E_CORRUPT, "the detached manifest (snapshot %s) does not describe this archive "
                          "(snapshot %s)", detached->info.id, inner->info.id);
    if (detached->info.archive_bytes != archive_bytes)
        return rs_err_set(err, RS_E_CORRUPT, "archive is %llu bytes, its manifest says %llu",
                          (unsigned long long)archive_bytes, (unsigned long long)detached->info.archive_bytes);
    if (sodium_memcmp(detached->info.archive_hash, hash, RS_SNAPSHOT_HASH_BYTES) != 0)
        return rs_err_set(err, RS_E_CORRUPT, "archive hash differs from the one in its manifest");
    return RS_OK;
}
