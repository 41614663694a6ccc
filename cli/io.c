// SPDX-License-Identifier: MIT
/*
 * io - whole-file reads and complete vectored writes for the one-shot
 * commands, and the allocator setting of the commands that read many
 * messages.  The daemon has its own io_uring path; this one blocks.
 */
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

/* cli_keep_freed_buffers - keep message buffers in the heap */
void
cli_keep_freed_buffers(void)
{
#ifdef __GLIBC__
	/* 32 MiB is glibc's largest mmap threshold on 64-bit systems. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

/* cli_read_file - slurp a file or stdin */
int
cli_read_file(const char *path, char **buf, size_t *len)
{
	bool use_stdin = path == NULL || strcmp(path, "-") == 0;
	int fd = use_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 16, n = 0;
	struct stat st;
	char *p;
	int rc = 0;

	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size + 1 > cap) {
		cap = (size_t)st.st_size + 1;
	}
	p = malloc(cap);
	if (p == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *q = realloc(p, cap * 2);

			if (q == NULL) {
				free(p);
				rc = -ENOMEM;
				goto out;
			}
			p = q;
			cap *= 2;
		}
		r = read(fd, p + n, cap - n - 1);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			rc = -errno;
			free(p);
			goto out;
		}
		if (r == 0) {
			break;
		}
		n += (size_t)r;
	}
	p[n] = '\0';
	*buf = p;
	*len = n;
out:
	if (!use_stdin) {
		close(fd);
	}
	return rc;
}

/* cli_write_all - write every byte of the iovecs */
int
cli_write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0) {
			return -errno;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* cli_usage_error - report a usage problem */
int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dkimq %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see dkimq %s --help)\n", cmd);
	return EXIT_USAGE;
}
