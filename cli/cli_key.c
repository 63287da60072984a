/*
 * The key options of the commands that seal and unseal (--key FILE or
 * --passphrase), and reading a passphrase: from $ROCKSTREAM_PASSPHRASE, or
 * typed at the terminal with echo off. Never from a flag: command lines
 * are visible to every user of the machine (ps, /proc).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

#define PASS_MAX 1024

static rs_code read_line_tty(int fd, const char *prompt, char *buf, size_t cap, rs_err *err)
{
    struct termios old, quiet;
    int have_term = tcgetattr(fd, &old) == 0;
    if (write(fd, prompt, strlen(prompt)) < 0)
        return rs_err_sys(err, RS_E_IO, errno, "asking for the passphrase");
    if (have_term) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    size_t len = 0;
    char c;
    ssize_t n;
    while ((n = read(fd, &c, 1)) == 1 && c != '\n')
        if (len + 1 < cap)
            buf[len++] = c;
    buf[len] = '\0';
    if (have_term)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0 || n < 0)
        return rs_err_sys(err, RS_E_IO, errno, "reading the passphrase");
    return RS_OK;
}

static rs_code prompt_passphrase(int confirm, char *buf, size_t cap, rs_err *err)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        rs_err_set(err, RS_E_INVALID, "--passphrase: $" CLI_PASSPHRASE_ENV " is not set and there is no terminal "
                   "to ask on");
        rs_err_hint(err, "set " CLI_PASSPHRASE_ENV " in the environment of this command");
        return RS_E_INVALID;
    }
    rs_code rc = read_line_tty(fd, "passphrase: ", buf, cap, err);
    if (rc == RS_OK && confirm) {
        char again[PASS_MAX];
        rc = read_line_tty(fd, "passphrase again: ", again, sizeof again, err);
        if (rc == RS_OK && strcmp(buf, again) != 0)
            rc = rs_err_set(err, RS_E_INVALID, "the two passphrases differ");
        explicit_bzero(again, sizeof again);
    }
    close(fd);
    return rc;
}

rs_code cli_key_load(const struct cli_key_args *a, int confirm, rs_snapshot_key **out, rs_err *err)
{
    if (a->key_file != NULL && a->passphrase)
        return rs_err_set(err, RS_E_INVALID, "give --key or --passphrase, not both");
    if (a->key_file != NULL)
        return rs_snapshot_key_load(a->key_file, out, err);
    if (!a->passphrase) {
        rs_err_set(err, RS_E_INVALID, "no key given: archives are always encrypted");
        rs_err_hint(err, "pass --key FILE (make one with rockstream keygen) or --passphrase");
        return RS_E_INVALID;
    }
    char pass[PASS_MAX];
    char *env = getenv(CLI_PASSPHRASE_ENV);
    rs_code rc = RS_OK;
    if (env != NULL && env[0] != '\0') {
        size_t len = strlen(env);
        if (len < sizeof pass)
            memcpy(pass, env, len + 1);
        /* read once, then gone from this process: the value is wiped where
         * /proc/PID/environ shows it (a daemon would keep it there for its
         * whole life), and the variable removed so no child inherits it */
        explicit_bzero(env, len);
        unsetenv(CLI_PASSPHRASE_ENV);
        if (len >= sizeof pass)
            return rs_err_set(err, RS_E_INVALID, "$" CLI_PASSPHRASE_ENV " is longer than %d bytes", PASS_MAX - 1);
    } else {
        rc = prompt_passphrase(confirm, pass, sizeof pass, err);
    }
    if (rc == RS_OK)
        rc = rs_snapshot_key_from_passphrase(pass, strlen(pass), 0, 0, out, err);
    explicit_bzero(pass, sizeof pass);
    return rc;
}
