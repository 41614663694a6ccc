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
int cmd_run(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_dns_test(int argc, char **argv);

struct cfg;
struct dns_cache;
struct dns_source;

/*
 * cli_key_cache - the shared key cache the options name: over a zone
 * file when zone is not NULL (*zsrc is then that source, which the
 * caller frees after the cache), else over the c-ares resolver with
 * servers dns (NULL: resolv.conf).  c (may be NULL) gives the timeout,
 * retries and cache bounds.  Prints a one-line error to stderr naming
 * cmd.  Returns 0, EXIT_USAGE for a bad server list or zone file, 1
 * otherwise; *out and *zsrc are owned by the caller.
 */
int cli_key_cache(const char *cmd, const char *dns, const char *zone,
    const struct cfg *c, struct dns_source **zsrc, struct dns_cache **out);

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

/*
 * cli_keep_freed_buffers - tell the allocator to reuse freed message
 * buffers instead of returning them to the kernel, for the commands
 * whose reader allocates a buffer per message and whose workers free
 * it (batch, run): glibc would otherwise map buffers over 128 KB
 * afresh and trim the heap after a large free, and each reuse would
 * fault in newly zeroed pages.  Memory then stays at its peak, which
 * the queue depth bounds.  Call before any thread starts.  No effect
 * outside glibc.
 */
void cli_keep_freed_buffers(void);

/* cli_usage_error - print "dkimq CMD: msg" and the hint; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
