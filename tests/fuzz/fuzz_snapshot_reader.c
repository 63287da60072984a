/*
 * Fuzz target: the parts of unseal that read bytes an attacker controls
 * once authentication is out of the way (public-key mode lets anyone seal):
 * the tar layer extracting into a scratch directory, the manifest parser,
 * and the sealed-stream header decoder. The first input byte picks one.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "snapshot/snapshot_int.h"

struct mem_stage {
    struct rstage base;
    const uint8_t *p;
    size_t len, pos;
};

static rs_code mem_read(struct rstage *st, uint8_t *buf, size_t cap, size_t *got, enum chunk_kind *kind, rs_err *err)
{
    (void)err;
    struct mem_stage *m = (struct mem_stage *)st;
    size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;
    memcpy(buf, m->p + m->pos, n);
    m->pos += n;
    *got = n;
    *kind = CHUNK_RAW;
    return RS_OK;
}

static void mem_destroy(struct rstage *st) { (void)st; }

static const struct rstage_ops mem_ops = {.name = "mem", .read = mem_read, .destroy = mem_destroy};

static char dir[64];

static void remove_scratch(void)
{
    rs_err err = RS_ERR_INIT;
    rs_fs_remove_tree(dir, &err);
}

static void fuzz_tar(const uint8_t *p, size_t len)
{
    if (dir[0] == '\0') {
        strcpy(dir, "/tmp/rs-fuzz-tar-XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
        atexit(remove_scratch);
    }
    char scratch[96];
    snprintf(scratch, sizeof scratch, "%s/x", dir);
    rs_err err = RS_ERR_INIT;
    rs_fs_remove_tree(scratch, &err);
    if (rs_fs_mkdir_p(scratch, 0700, &err) != RS_OK)
        abort();
    int fd = open(scratch, O_RDONLY | O_DIRECTORY);
    struct mem_stage m = {.base = {.ops = &mem_ops}, .p = p, .len = len};
    struct extract_result res;
    rs_err_clear(&err);
    snapshot_tar_extract(&m.base, fd, &res, &err);
    snapshot_extract_result_release(&res);
    close(fd);
}

static void fuzz_manifest(const uint8_t *p, size_t len)
{
    static const uint8_t dk[KEY_BYTES];
    rs_snapshot_manifest *m = NULL;
    rs_err err = RS_ERR_INIT;
    if (snapshot_manifest_parse_inner(p, len, dk, &m, &err) == RS_OK) {
        struct extract_result none = {0};
        snapshot_manifest_check_files(m, &none, &err);
        rs_snapshot_manifest_destroy(m);
    }
}

static void fuzz_header(const uint8_t *p, size_t len)
{
    struct seal_header h;
    rs_err err = RS_ERR_INIT;
    snapshot_seal_header_decode(p, len, &h, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: fuzz_tar(data + 1, size - 1); break;
    case 1: fuzz_manifest(data + 1, size - 1); break;
    default: fuzz_header(data + 1, size - 1); break;
    }
    return 0;
}
