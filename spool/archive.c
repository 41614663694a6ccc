/* SPDX-License-Identifier: MIT */
/*
 * archive - mbox, Maildir and directory readers for batch runs; the
 * contract is in archive.h.
 *
 * An mbox is streamed through one SPOOL_ARCHIVE_CHUNK buffer, line by
 * line: a line that starts with "From " opens a message, every other
 * line is appended (unquoted) to the message being built.  Directories
 * are listed once (names sorted) and each file is read whole into its
 * own buffer with one read.
 *
 * Limitations: a From_ line is recognised at any line start, as mboxo
 * and mboxrd writers quote body lines that would look like one; an
 * unquoted "From " in a body (a broken writer) splits the message.
 * Directories are not searched recursively.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/archive.h"

struct spool_archive {
	enum spool_archive_kind kind;
	size_t max_size;
	uint64_t index;

	/* directories: names relative to dirfd, sorted */
	int dirfd;
	char **names;
	size_t nnames;
	size_t next;

	/* mbox */
	int fd;
	char *rb;		/* read buffer */
	size_t pos, fill;
	bool eof;
	bool bol;		/* rb[pos] starts a line */
	bool started;		/* a From_ line was seen */
	uint64_t consumed, size;
	char *msg;		/* the message being built */
	size_t mlen, mcap;
	bool too_big;
};

/* name_cmp - qsort order for names. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * list_dir - append the names of the regular files (not starting with
 * '.') of dir sub (NULL: the directory itself) under prefix to a, in
 * order.  Returns 0 or -errno.
 */
static int
list_dir(struct spool_archive *a, const char *sub)
{
	size_t first = a->nnames;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(a->dirfd, sub ? sub : ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		int rc = -errno;

		if (fd >= 0) {
			close(fd);
		}
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		char **n;
		char *s;

		if (de->d_name[0] == '.' || (de->d_type != DT_REG &&
		    de->d_type != DT_UNKNOWN)) {
			continue;
		}
		n = realloc(a->names, (a->nnames + 1) * sizeof *n);
		if (n == NULL) {
			closedir(d);
			return -ENOMEM;
		}
		a->names = n;
		if (asprintf(&s, "%s%s%s", sub ? sub : "", sub ? "/" : "",
		    de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
		a->names[a->nnames++] = s;
	}
	closedir(d);
	qsort(a->names + first, a->nnames - first, sizeof *a->names,
	    name_cmp);
	return 0;
}

/* open_dir - set a up for directory path (Maildir or not). */
static int
open_dir(struct spool_archive *a, const char *path)
{
	struct stat st;
	int rc;

	a->dirfd = open(path, O_RDONLY | O_DIRECTORY);
	if (a->dirfd < 0) {
		return -errno;
	}
	if (fstatat(a->dirfd, "cur", &st, 0) == 0 && S_ISDIR(st.st_mode) &&
	    fstatat(a->dirfd, "new", &st, 0) == 0 && S_ISDIR(st.st_mode)) {
		a->kind = SPOOL_ARCHIVE_MAILDIR;
		rc = list_dir(a, "new");
		if (rc == 0) {
			rc = list_dir(a, "cur");
		}
		return rc;
	}
	a->kind = SPOOL_ARCHIVE_DIR;
	return list_dir(a, NULL);
}

/* refill - move the unread bytes down and read more; 0 or -errno. */
static int
refill(struct spool_archive *a)
{
	ssize_t n;

	if (a->pos > 0) {
		memmove(a->rb, a->rb + a->pos, a->fill - a->pos);
		a->fill -= a->pos;
		a->pos = 0;
	}
	while (a->fill < SPOOL_ARCHIVE_CHUNK) {
		n = read(a->fd, a->rb + a->fill, SPOOL_ARCHIVE_CHUNK - a->fill);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -errno;
		}
		if (n == 0) {
			a->eof = true;
		}
		a->fill += (size_t)n;
		break;
	}
	return 0;
}

/* open_mbox - set a up for the mbox file path. */
static int
open_mbox(struct spool_archive *a, const char *path)
{
	struct stat st;
	int rc;

	a->kind = SPOOL_ARCHIVE_MBOX;
	a->fd = open(path, O_RDONLY);
	if (a->fd < 0) {
		return -errno;
	}
	if (fstat(a->fd, &st) < 0) {
		return -errno;
	}
	a->size = (uint64_t)st.st_size;
	a->rb = malloc(SPOOL_ARCHIVE_CHUNK);
	if (a->rb == NULL) {
		return -ENOMEM;
	}
	a->bol = true;
	rc = refill(a);
	if (rc < 0) {
		return rc;
	}
	if (a->fill < 5 || memcmp(a->rb, "From ", 5) != 0) {
		return -EINVAL;
	}
	return 0;
}

/* spool_archive_open - see archive.h */
int
spool_archive_open(const char *path, size_t max_size,
    struct spool_archive **out)
{
	struct spool_archive *a;
	struct stat st;
	int rc;

	*out = NULL;
	if (stat(path, &st) < 0) {
		return -errno;
	}
	a = calloc(1, sizeof *a);
	if (a == NULL) {
		return -ENOMEM;
	}
	a->dirfd = -1;
	a->fd = -1;
	a->max_size = max_size;
	if (S_ISDIR(st.st_mode)) {
		rc = open_dir(a, path);
	} else {
		rc = open_mbox(a, path);
	}
	if (rc < 0) {
		spool_archive_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

/* spool_archive_kind - see archive.h */
enum spool_archive_kind
spool_archive_kind(const struct spool_archive *a)
{
	return a->kind;
}

/* spool_archive_total - see archive.h */
long long
spool_archive_total(const struct spool_archive *a)
{
	return a->kind == SPOOL_ARCHIVE_MBOX ? -1 : (long long)a->nnames;
}

/* spool_archive_bytes - see archive.h */
void
spool_archive_bytes(const struct spool_archive *a, uint64_t *done,
    uint64_t *total)
{
	*done = a->consumed;
	*total = a->size;
}

/* next_file - read the next directory entry whole into m. */
static int
next_file(struct spool_archive *a, struct spool_archive_msg *m)
{
	const char *rel, *base;
	struct stat st;
	size_t got = 0;
	int fd;

	if (a->next == a->nnames) {
		return 0;
	}
	rel = a->names[a->next++];
	base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	snprintf(m->name, sizeof m->name, "%s", base);
	m->index = a->index++;

	fd = openat(a->dirfd, rel, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		m->error = -errno;
		goto out;
	}
	if (a->max_size > 0 && (uint64_t)st.st_size > a->max_size) {
		m->error = -EFBIG;
		goto out;
	}
	m->buf = malloc((size_t)st.st_size + 1);
	if (m->buf == NULL) {
		m->error = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, m->buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			m->error = n < 0 ? -errno : -EIO;
			free(m->buf);
			m->buf = NULL;
			goto out;
		}
		got += (size_t)n;
	}
	m->buf[got] = '\0';
	m->len = got;
out:
	if (fd >= 0) {
		close(fd);
	}
	return 1;
}

/* msg_add - append n bytes to the message being built, unless it is
 * already too big.  Returns 0 or -ENOMEM. */
static int
msg_add(struct spool_archive *a, const char *p, size_t n)
{
	if (a->too_big) {
		return 0;
	}
	if (a->max_size > 0 && a->mlen + n > a->max_size) {
		a->too_big = true;
		free(a->msg);
		a->msg = NULL;
		a->mlen = a->mcap = 0;
		return 0;
	}
	if (a->mlen + n + 1 > a->mcap) {
		size_t cap = a->mcap ? a->mcap : 16384;
		char *d;

		while (a->mlen + n + 1 > cap) {
			cap *= 2;
		}
		d = realloc(a->msg, cap);
		if (d == NULL) {
			return -ENOMEM;
		}
		a->msg = d;
		a->mcap = cap;
	}
	memcpy(a->msg + a->mlen, p, n);
	a->mlen += n;
	return 0;
}

/*
 * msg_take - hand the message built so far to m and start afresh.  The
 * blank line before a From_ line belongs to the mbox, not the message:
 * one trailing empty line is dropped.
 */
static void
msg_take(struct spool_archive *a, struct spool_archive_msg *m, bool cut)
{
	size_t n = a->mlen;

	m->index = a->index++;
	m->truncated = cut;
	if (a->too_big) {
		m->error = -EFBIG;
		a->too_big = false;
		return;
	}
	if (!cut && n >= 2 && a->msg[n - 1] == '\n') {
		size_t e = n - 1;

		if (e > 0 && a->msg[e - 1] == '\r') {
			e--;
		}
		if (e > 0 && a->msg[e - 1] == '\n') {
			n = e;
		}
	}
	if (a->msg == NULL && (a->msg = malloc(1)) == NULL) {
		m->error = -ENOMEM;
		return;
	}
	a->msg[n] = '\0';
	m->buf = a->msg;
	m->len = n;
	a->msg = NULL;
	a->mlen = a->mcap = 0;
}

/* is_from_line - whether p (n bytes at a line start) is a From_ line. */
static bool
is_from_line(const char *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

/* is_quoted_from - whether p is a ">...>From " line. */
static bool
is_quoted_from(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == '>') {
		i++;
	}
	return i > 0 && is_from_line(p + i, n - i);
}

/*
 * next_mbox - the next mbox message into m.  Each turn takes one line
 * (or, for a line longer than the buffer, the part of it at hand) from
 * the read buffer; a From_ line ends the message being built.
 */
static int
next_mbox(struct spool_archive *a, struct spool_archive_msg *m)
{
	for (;;) {
		const char *p = a->rb + a->pos;
		size_t avail = a->fill - a->pos;
		const char *nl = memchr(p, '\n', avail);
		size_t n;
		int rc;

		if (nl == NULL && !a->eof && a->pos > 0) {
			rc = refill(a);
			if (rc < 0) {
				return rc;
			}
			continue;
		}
		if (nl == NULL && !a->eof && a->fill < SPOOL_ARCHIVE_CHUNK) {
			rc = refill(a);
			if (rc < 0) {
				return rc;
			}
			continue;
		}
		if (avail == 0 && a->eof) {
			if (!a->started) {
				return 0;
			}
			a->started = false;
			msg_take(a, m, !a->bol || a->mlen == 0);
			return 1;
		}
		n = nl ? (size_t)(nl - p) + 1 : avail;
		a->pos += n;
		a->consumed += n;

		if (a->bol && is_from_line(p, n)) {
			a->bol = nl != NULL;
			if (a->started) {
				msg_take(a, m, false);
				return 1;
			}
			a->started = true;
			continue;
		}
		if (a->bol && is_quoted_from(p, n)) {
			p++;
			n--;
		}
		a->bol = nl != NULL;
		rc = msg_add(a, p, n);
		if (rc < 0) {
			return rc;
		}
	}
}

/* spool_archive_next - see archive.h */
int
spool_archive_next(struct spool_archive *a, struct spool_archive_msg *m)
{
	memset(m, 0, sizeof *m);
	if (a->kind == SPOOL_ARCHIVE_MBOX) {
		return next_mbox(a, m);
	}
	return next_file(a, m);
}

/* spool_archive_free - see archive.h */
void
spool_archive_free(struct spool_archive *a)
{
	if (a == NULL) {
		return;
	}
	for (size_t i = 0; i < a->nnames; i++) {
		free(a->names[i]);
	}
	free(a->names);
	if (a->dirfd >= 0) {
		close(a->dirfd);
	}
	if (a->fd >= 0) {
		close(a->fd);
	}
	free(a->rb);
	free(a->msg);
	free(a);
}
