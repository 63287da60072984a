/*
 * rockstream's object layer as a copy program, for bench/bench_objstore.sh
 * to time beside `aws s3 cp` and `rclone copy`:
 *
 *   objstore_cp [--part-size N] [--parallel N] up FILE URL KEY
 *   objstore_cp [--part-size N] [--parallel N] down URL KEY FILE
 *
 * The endpoint and credentials come from the environment as for any AWS
 * tool (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objstore/objstore.h"

static rs_code up(rs_objstore *s, const char *file, const char *key, rs_err *err)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return rs_err_sys(err, RS_E_IO, errno, "opening '%s'", file);
    rs_objstore_upload *u = NULL;
    rs_code rc = rs_objstore_upload_open(s, key, (uint64_t)st.st_size, &u, err);
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    for (ssize_t n; rc == RS_OK && (n = read(fd, buf, cap)) != 0;)
        rc = n < 0 ? rs_err_sys(err, RS_E_IO, errno, "reading '%s'", file)
                   : rs_objstore_upload_write(u, buf, (size_t)n, err);
    if (rc == RS_OK)
        rc = rs_objstore_upload_commit(u, NULL, err);
    rs_objstore_upload_close(u);
    free(buf);
    close(fd);
    return rc;
}

static rs_code to_fd(void *arg, const uint8_t *p, size_t len, rs_err *err)
{
    int fd = *(int *)arg;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rs_err_sys(err, RS_E_IO, errno, "writing");
        p += n;
        len -= (size_t)n;
    }
    return RS_OK;
}

static rs_code down(rs_objstore *s, const char *key, const char *file, rs_err *err)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "creating '%s'", file);
    rs_objstore_sink sink = {to_fd, &fd};
    rs_code rc = rs_objstore_download(s, key, &sink, NULL, err);
    close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    rs_objstore_options opt = {0};
    static const struct option longopts[] = {
        {"part-size", required_argument, NULL, 'p'}, {"parallel", required_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "+", longopts, NULL)) != -1;) {
        if (c == 'p')
            opt.part_bytes = strtoull(optarg, NULL, 0);
        else if (c == 'j')
            opt.parallel = (unsigned)atoi(optarg);
        else
            return 1;
    }
    argc -= optind;
    argv += optind;
    int is_up = argc == 4 && strcmp(argv[0], "up") == 0, is_down = argc == 4 && strcmp(argv[0], "down") == 0;
    if (!is_up && !is_down) {
        fprintf(stderr, "usage: objstore_cp [--part-size N] [--parallel N] up FILE URL KEY | down URL KEY FILE\n");
        return 1;
    }
    rs_err err = RS_ERR_INIT;
    rs_objstore *s = NULL;
    rs_code rc = rs_objstore_open(is_up ? argv[2] : argv[1], &opt, &s, &err);
    if (rc == RS_OK)
        rc = is_up ? up(s, argv[1], argv[3], &err) : down(s, argv[2], argv[3], &err);
    rs_objstore_close(s);
    if (rc != RS_OK)
        fprintf(stderr, "error: %s\n", err.msg);
    return (int)rc;
}
