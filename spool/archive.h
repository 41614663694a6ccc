/* SPDX-License-Identifier: MIT */
/*
 * archive - the readers of mail archives that batch runs share: an mbox
 * file (mboxrd, which also reads mboxo), a Maildir (new/ and cur/) or a
 * plain directory of message files.  Messages come out one at a time in
 * a buffer of their own, so memory is bounded by the caller's number of
 * messages in flight times the maximum message size, plus the mbox read
 * buffer (SPOOL_ARCHIVE_CHUNK).
 *
 * Does not parse or judge the messages; see workers/.  A reader belongs
 * to one thread.
 */
#ifndef DKIMQ_SPOOL_ARCHIVE_H
#define DKIMQ_SPOOL_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_ARCHIVE_CHUNK (1024 * 1024)	/* mbox read buffer */

enum spool_archive_kind {
	SPOOL_ARCHIVE_MBOX = 0,
	SPOOL_ARCHIVE_MAILDIR,
	SPOOL_ARCHIVE_DIR,
};

/* One message read from an archive. */
struct spool_archive_msg {
	char *buf;		/* malloc'd, NUL after len; the caller's */
	size_t len;
	char name[256];		/* file name; "" for an mbox message */
	uint64_t index;		/* 0-based position in the archive */
	bool truncated;		/* mbox: the file ends inside it */
	int error;		/* 0, -EFBIG (too big), -errno; buf NULL */
};

struct spool_archive;

/*
 * spool_archive_open - open path as an archive: a directory holding cur/
 * and new/ is a Maildir, another directory a directory of messages, a
 * regular file whose first line starts with "From " an mbox.  Messages
 * over max_size bytes (0: no limit) are reported with -EFBIG and not
 * read.  On success *out is owned by the caller.  Returns 0, -errno
 * from open/opendir/read, -EINVAL for a file that is not an mbox,
 * -ENOMEM.  Blocks on file I/O.
 */
int spool_archive_open(const char *path, size_t max_size,
    struct spool_archive **out);

/* spool_archive_kind - what a was opened as. */
enum spool_archive_kind spool_archive_kind(const struct spool_archive *a);

/*
 * spool_archive_total - the number of messages, or -1 when unknown
 * (an mbox is streamed, so its count is known only at the end).
 */
long long spool_archive_total(const struct spool_archive *a);

/*
 * spool_archive_bytes - bytes consumed so far and the archive's size
 * (for an mbox; 0 and 0 for directories), for a progress estimate.
 */
void spool_archive_bytes(const struct spool_archive *a, uint64_t *done,
    uint64_t *total);

/*
 * spool_archive_next - the next message into *m (zeroed first).
 *
 * mbox: the From_ line is dropped, a body line ">From ", ">>From " ...
 * loses one '>' (mboxrd), and the blank line a writer puts before the
 * next From_ line is dropped.  A message cut off by the end of the file
 * is still returned, with truncated set.  A message that cannot be read
 * or is too big is returned with error set and buf NULL; reading goes
 * on with the next one.
 *
 * Returns 1 with a message, 0 at the end, -errno when the archive
 * itself cannot be read further (messages returned before stay valid).
 * Blocks on file I/O.
 */
int spool_archive_next(struct spool_archive *a,
    struct spool_archive_msg *m);

/* spool_archive_free - close a; NULL is allowed. */
void spool_archive_free(struct spool_archive *a);

#endif
