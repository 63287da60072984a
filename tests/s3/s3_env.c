/* Reads the radosgw fixture's state file; see s3_env.h. */
#include "s3/s3_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib/testlib.h"

/* One "[export ]NAME=value" line; values rgw.sh writes need no unquoting
 * except "\ " (printf %q of a space). */
static void export_line(char *line)
{
    if (strncmp(line, "export ", 7) == 0)
        line += 7;
    char *eq = strchr(line, '='), *space = strchr(line, ' ');
    if (eq == NULL || (space != NULL && space < eq))
        return;
    *eq = '\0';
    char *v = eq + 1, *o = v;
    for (char *p = v; *p != '\0' && *p != '\n'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        *o++ = *p;
    }
    *o = '\0';
    setenv(line, v, 1);
}

void rs_test_s3_env(struct rs_test_s3 *out)
{
    const char *path = getenv("RS_S3_STATE");
    if (path == NULL)
        fail_msg("RS_S3_STATE is not set: run through ctest (fixture s3)");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot read '%s': did the s3.setup test run?", path);
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "unset ", 6) != 0)
            export_line(line);
    fclose(f);
    /* what the AWS tools read, and rockstream with them, must not leak in */
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_PROFILE");
    out->endpoint = getenv("RS_S3_ENDPOINT");
    out->endpoint_tls = getenv("RS_S3_ENDPOINT_TLS");
    out->endpoint_vhost = getenv("RS_S3_ENDPOINT_VHOST");
    out->ca_file = getenv("RS_S3_CA_FILE");
    out->bucket = getenv("RS_S3_BUCKET");
    out->access_key_id = getenv("AWS_ACCESS_KEY_ID");
    out->secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (out->endpoint == NULL || out->bucket == NULL || out->secret == NULL)
        fail_msg("'%s' lacks the endpoint, bucket or credentials", path);
}
