/*
 * Key files: writing new ones (rockstream keygen) and loading them, failing
 * closed. A key file is a few "name: value" lines (docs/keys.md), so a person
 * can see what a file is without a tool; the secret is hex. Loading refuses
 * a missing, unreadable, malformed or wrong-length key, and a file holding a
 * secret that group or others can access, before any work starts.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/secret_file.h"
#include "snapshot/snapshot_int.h"

#define KEYFILE_MAX 4096 /* a key file is about 200 bytes */
#define KEYFILE_VERSION "1"

struct kind_name {
    rs_snapshot_key_kind kind;
    const char *name;
    int has_public, has_secret;
};

/* Wire constants: the type names written in key files. */
static const struct kind_name kinds[] = {
    {RS_SNAPSHOT_KEY_SECRET, "secret", 0, 1},
    {RS_SNAPSHOT_KEY_PUBLIC, "public", 1, 0},
    {RS_SNAPSHOT_KEY_PAIR, "pair", 1, 1},
};

static const struct kind_name *kind_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

/* ---- parsing -------------------------------------------------------- */

struct keyfile_fields {
    const char *version, *type, *id, *public_hex, *secret_hex;
};

/* Splits buf (NUL-terminated, modified in place) into its fields. */
static rs_code split_fields(const char *path, char *buf, struct keyfile_fields *f, rs_err *err)
{
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *colon = strchr(line, ':');
        if (colon == NULL || colon[1] != ' ')
            return rs_err_set(err, RS_E_INVALID, "key file '%s' is not a rockstream key file", path);
        *colon = '\0';
        const char *val = colon + 2;
        if (strcmp(line, "rockstream-key") == 0)
            f->version = val;
        else if (strcmp(line, "type") == 0)
            f->type = val;
        else if (strcmp(line, "id") == 0)
            f->id = val;
        else if (strcmp(line, "public") == 0)
            f->public_hex = val;
        else if (strcmp(line, "secret") == 0)
            f->secret_hex = val;
    }
    if (f->version == NULL || f->type == NULL)
        return rs_err_set(err, RS_E_INVALID, "key file '%s' is not a rockstream key file", path);
    if (strcmp(f->version, KEYFILE_VERSION) != 0)
        return rs_err_set(err, RS_E_VERSION, "key file '%s' has format version %s; this build knows %s", path,
                          f->version, KEYFILE_VERSION);
    return RS_OK;
}

static rs_code decode_field(const char *path, const char *what, const char *hex, uint8_t *out, rs_err *err)
{
    if (hex == NULL)
        return rs_err_set(err, RS_E_INVALID, "key file '%s' has no %s", path, what);
    size_t n = strlen(hex);
    if (n != 2 * KEY_BYTES)
        return rs_err_set(err, RS_E_INVALID, "key file '%s': %s key is %zu%s bytes, expected %u", path, what,
                          n / 2, n % 2 ? ".5" : "", KEY_BYTES);
    if (rs_hex_decode(hex, n, out, KEY_BYTES, NULL) != RS_OK)
        return rs_err_set(err, RS_E_INVALID, "key file '%s': %s key is not hex", path, what);
    return RS_OK;
}

/* Builds the key from parsed fields and checks that the recorded id
 * matches the material (a damaged or hand-edited file). */
static rs_code build_key(const char *path, const struct keyfile_fields *f, rs_snapshot_key **out, rs_err *err)
{
    const struct kind_name *kn = kind_by_name(f->type);
    if (kn == NULL)
        return rs_err_set(err, RS_E_INVALID, "key file '%s' has unknown type '%s'", path, f->type);
    rs_snapshot_key *k = NULL;
    rs_code rc = snapshot_key_alloc(kn->kind, kn->has_secret ? KEY_BYTES : 0, &k, err);
    if (rc == RS_OK && kn->has_secret)
        rc = decode_field(path, "secret", f->secret_hex, k->secret, err);
    if (rc == RS_OK && kn->has_public)
        rc = decode_field(path, "public", f->public_hex, k->pub, err);
    if (rc == RS_OK && kn->kind == RS_SNAPSHOT_KEY_PAIR) {
        uint8_t derived[crypto_box_PUBLICKEYBYTES];
        crypto_scalarmult_base(derived, k->secret);
        if (sodium_memcmp(derived, k->pub, sizeof derived) != 0)
            rc = rs_err_set(err, RS_E_INVALID, "key file '%s': public and secret keys do not belong together", path);
    }
    if (rc == RS_OK) {
        snapshot_key_id_of(kn->has_public ? k->pub : k->secret, k->id);
        rs_hex_encode(k->id, sizeof k->id, k->id_hex, sizeof k->id_hex);
        if (f->id != NULL && strcmp(f->id, k->id_hex) != 0)
            rc = rs_err_set(err, RS_E_INVALID, "key file '%s' says id %s but its key has id %s: it is damaged",
                            path, f->id, k->id_hex);
    }
    if (rc != RS_OK) {
        rs_snapshot_key_destroy(k);
        return rc;
    }
    *out = k;
    return RS_OK;
}

/* ---- loading -------------------------------------------------------- */

rs_code rs_snapshot_key_load(const char *path, rs_snapshot_key **out, rs_err *err)
{
    /* a public key file may be shared: the mode is checked once the file
     * is known to hold a secret */
    rs_secret_file text;
    rs_code rc = rs_secret_file_read(path, "key file", KEYFILE_MAX, RS_SECRET_FILE_MAY_BE_SHARED, &text, err);
    if (rc != RS_OK)
        return rc;
    struct keyfile_fields f = {0};
    if (memchr(text.text, '\0', text.len) != NULL)
        rc = rs_err_set(err, RS_E_INVALID, "key file '%s' is not a rockstream key file", path);
    if (rc == RS_OK)
        rc = split_fields(path, text.text, &f, err);
    const struct kind_name *kn = rc == RS_OK ? kind_by_name(f.type) : NULL;
    if (kn != NULL && kn->has_secret)
        rc = rs_secret_file_check_private(path, "key file", text.mode, err);
    if (rc == RS_OK)
        rc = build_key(path, &f, out, err);
    rs_secret_file_release(&text);
    return rc;
}

/* ---- writing -------------------------------------------------------- */

/* Written whole or not at all, and never over an existing file. */
static rs_code write_new_file(const char *path, const char *text, unsigned mode, rs_err *err)
{
    rs_code rc = rs_atomic_file_put(path, text, strlen(text), mode, RS_ATOMIC_FILE_NO_REPLACE, err);
    if (rc == RS_E_EXISTS) {
        rs_err_prefix(err, "key file");
        rs_err_hint(err, "rockstream never replaces a key file: choose another name");
    }
    return rc;
}

/* Formats a key file: the secret hex lands in locked memory (text). */
static void format_keyfile(char *text, size_t cap, const char *type, const char *id_hex, const uint8_t *pub,
                           const uint8_t *secret)
{
    char pub_hex[2 * KEY_BYTES + 1] = "", sec_hex[2 * KEY_BYTES + 1] = "";
    if (pub != NULL)
        rs_hex_encode(pub, KEY_BYTES, pub_hex, sizeof pub_hex);
    if (secret != NULL)
        rs_hex_encode(secret, KEY_BYTES, sec_hex, sizeof sec_hex);
    snprintf(text, cap, "%s\nrockstream-key: " KEYFILE_VERSION "\ntype: %s\nid: %s\n%s%s%s%s%s%s",
             secret != NULL ? "# rockstream key: whoever holds this file can open every archive sealed with it.\n"
                              "# Keep it private (mode 0600) and keep a copy somewhere safe: without it\n"
                              "# those archives cannot be opened."
                            : "# rockstream public key: seals archives, cannot open them. Safe to share.",
             type, id_hex, pub != NULL ? "public: " : "", pub_hex, pub != NULL ? "\n" : "",
             secret != NULL ? "secret: " : "", sec_hex, secret != NULL ? "\n" : "");
    sodium_memzero(sec_hex, sizeof sec_hex);
}

static rs_code keygen_files(const char *path, rs_snapshot_key_kind kind, const uint8_t *pub, const uint8_t *secret,
                            const char *id_hex, char *text, rs_err *err)
{
    char pub_path[4096];
    if (kind == RS_SNAPSHOT_KEY_PAIR) {
        if ((size_t)snprintf(pub_path, sizeof pub_path, "%s.pub", path) >= sizeof pub_path)
            return rs_err_set(err, RS_E_INVALID, "key file path '%s' is too long", path);
        if (access(pub_path, F_OK) == 0)
            return rs_err_set(err, RS_E_EXISTS, "key file '%s' already exists", pub_path);
    }
    format_keyfile(text, KEYFILE_MAX, kind == RS_SNAPSHOT_KEY_PAIR ? "pair" : "secret", id_hex, pub, secret);
    rs_code rc = write_new_file(path, text, 0600, err);
    if (rc == RS_OK && kind == RS_SNAPSHOT_KEY_PAIR) {
        format_keyfile(text, KEYFILE_MAX, "public", id_hex, pub, NULL);
        if ((rc = write_new_file(pub_path, text, 0644, err)) != RS_OK)
            unlink(path);
    }
    return rc;
}

rs_code rs_snapshot_keygen(const char *path, rs_snapshot_key_kind kind, char id_hex[17], rs_err *err)
{
    if (kind != RS_SNAPSHOT_KEY_SECRET && kind != RS_SNAPSHOT_KEY_PAIR)
        return rs_err_set(err, RS_E_INVALID, "keygen makes secret keys and key pairs only");
    rs_snapshot_key *k = NULL;
    rs_code rc = snapshot_key_alloc(kind, KEY_BYTES, &k, err);
    if (rc != RS_OK)
        return rc;
    char *text = sodium_malloc(KEYFILE_MAX);
    if (text == NULL) {
        rs_snapshot_key_destroy(k);
        return rs_err_set(err, RS_E_NOMEM, "keygen: out of locked memory");
    }
    if (kind == RS_SNAPSHOT_KEY_PAIR) {
        crypto_box_keypair(k->pub, k->secret);
        snapshot_key_id_of(k->pub, k->id);
    } else {
        crypto_secretstream_xchacha20poly1305_keygen(k->secret);
        snapshot_key_id_of(k->secret, k->id);
    }
    rs_hex_encode(k->id, sizeof k->id, id_hex, RS_HEX_LEN(RS_SNAPSHOT_KEY_ID_BYTES));
    rc = keygen_files(path, kind, kind == RS_SNAPSHOT_KEY_PAIR ? k->pub : NULL, k->secret, id_hex, text, err);
    sodium_free(text);
    rs_snapshot_key_destroy(k);
    return rc;
}
