/* SPDX-License-Identifier: MIT */
/*
 * cli - the subcommands of the dkimq binary, and the small file helpers
 * they share.  Each command takes its own argv (argv[0] is the command
 * name) and returns the process exit status: 0 done (for verify: a
 * verdict was reached, whatever it is), 1 an I/O or processing error,
 * 2 a usage error.
 */
#ifndef DKIMQ_CLI_H
#define DKIMQ_CLI_H

#include <stddef.h>
#include <sys/uio.h>

#define EXIT_USAGE 2

int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_dns_record(int argc, char **argv);
int cmd_check_config(int argc, char **argv);

/*
 * cli_read_file - read all of path ("-" or NULL: stdin) into a new
 * malloc'd buffer (*buf, owned by the caller; NUL-terminated beyond
 * *len).  Returns 0 or -errno.  Blocks.
 */
int cli_read_file(const char *path, char **buf, size_t *len);

/*
 * cli_write_all - write the iovecs to fd completely, retrying short
 * writes and EINTR.  Returns 0 or -errno.
 */
int cli_write_all(int fd, struct iovec *iov, int n);

/* cli_usage_error - print "dkimq CMD: msg" and the hint; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
