/*
 * The content hash of files and of whole archives: XXH3-128 (xxhash), in
 * canonical big-endian form, as `xxh128sum` prints it. It checks that bytes
 * arrived intact; authenticity comes from the AEAD chunks and the MAC'd
 * manifest. A cryptographic hash here cost two BLAKE2b passes over every
 * byte sealed, most of the sealing time on files that pass through.
 */
#include <string.h>
#include <xxhash.h>

#include "snapshot/snapshot_int.h"

rs_code snapshot_content_hash_init(struct content_hash *h, rs_err *err)
{
    h->st = XXH3_createState();
    if (h->st == NULL)
        return rs_err_set(err, RS_E_NOMEM, "out of memory for a hash");
    XXH3_128bits_reset(h->st);
    return RS_OK;
}

void snapshot_content_hash_update(struct content_hash *h, const void *p, size_t len)
{
    XXH3_128bits_update(h->st, p, len);
}

void snapshot_content_hash_final(struct content_hash *h, uint8_t out[RS_SNAPSHOT_HASH_BYTES])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h->st));
    memcpy(out, c.digest, RS_SNAPSHOT_HASH_BYTES);
    snapshot_content_hash_release(h);
}

void snapshot_content_hash_release(struct content_hash *h)
{
    XXH3_freeState(h->st);
    h->st = NULL;
}
