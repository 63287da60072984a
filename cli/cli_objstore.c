/*
 * The object-store options of the commands that read or write archives at
 * URLs (s3://bucket/dir/name, file:///dir/name): endpoint, region,
 * profile, CA file, addressing, storage class, server-side encryption,
 * part size and parallelism. Credentials are never options: they come from
 * the environment or the credentials file, as for the AWS tools, because a
 * command line is visible to every user of the machine.
 */
#include <string.h>

#include "cli/cli.h"

int cli_objstore_option(int opt, const char *arg, rs_objstore_options *o, rs_err *err)
{
    uint64_t size = 0;
    long n = 0;
    switch (opt) {
    case CLI_OPT_S3_ENDPOINT: o->s3_endpoint = arg; return 1;
    case CLI_OPT_S3_REGION: o->s3_region = arg; return 1;
    case CLI_OPT_S3_PROFILE: o->s3_profile = arg; return 1;
    case CLI_OPT_S3_CA_FILE: o->s3_ca_file = arg; return 1;
    case CLI_OPT_S3_STORAGE_CLASS: o->s3_storage_class = arg; return 1;
    case CLI_OPT_S3_SSE: o->s3_sse = arg; return 1;
    case CLI_OPT_S3_SSE_KMS_KEY_ID: o->s3_sse_kms_key_id = arg; return 1;
    case CLI_OPT_S3_ADDRESSING:
        if (strcmp(arg, "auto") == 0)
            o->s3_addressing = RS_OBJSTORE_ADDRESSING_AUTO;
        else if (strcmp(arg, "path") == 0)
            o->s3_addressing = RS_OBJSTORE_ADDRESSING_PATH;
        else if (strcmp(arg, "virtual") == 0)
            o->s3_addressing = RS_OBJSTORE_ADDRESSING_VIRTUAL;
        else
            return rs_err_set(err, RS_E_INVALID, "--s3-addressing '%s': expected auto, path or virtual", arg), -1;
        return 1;
    case CLI_OPT_PART_SIZE:
        if (cli_parse_size(arg, &size) != 0 || size < 1024 * 1024 || size > RS_OBJSTORE_PART_MAX)
            return rs_err_set(err, RS_E_INVALID, "--part-size '%s': expected a size from 1M to 5G", arg), -1;
        o->part_bytes = (size_t)size;
        return 1;
    case CLI_OPT_PARALLEL:
        if (cli_parse_int(arg, 1, 64, &n) != 0)
            return rs_err_set(err, RS_E_INVALID, "--parallel '%s': expected 1 to 64", arg), -1;
        o->parallel = (unsigned)n;
        return 1;
    }
    return 0;
}
