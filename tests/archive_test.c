/* SPDX-License-Identifier: MIT */
/*
 * archive_test - the batch archive readers (spool/archive.h): mbox
 * splitting and From_ unquoting, a truncated last message, lines longer
 * than the read buffer, the size limit, Maildir and directory listing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/archive.h"

static char tmpdir[] = "/tmp/archive_test.XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
}

/* put - write n bytes of s to tmpdir/name; returns the path. */
static char *
put(const char *name, const char *s, size_t n)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(s, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/* next - the next message, asserting one is there. */
static void
next(struct spool_archive *a, struct spool_archive_msg *m)
{
	cr_assert_eq(spool_archive_next(a, m), 1);
}

TestSuite(archive, .init = setup);

Test(archive, mbox_splits_and_unquotes)
{
	static const char box[] =
	    "From a@example.com Thu Dec  3 20:00:00 2026\n"
	    "Subject: one\n\n>From here\n>>From there\n>no From\n\n"
	    "From b@example.com Thu Dec  3 20:00:01 2026\r\n"
	    "Subject: two\r\n\r\nbody\r\n\r\n";
	struct spool_archive *a;
	struct spool_archive_msg m;

	cr_assert_eq(spool_archive_open(put("box", box, sizeof(box) - 1), 0,
	    &a), 0);
	cr_assert_eq(spool_archive_kind(a), SPOOL_ARCHIVE_MBOX);
	cr_assert_eq(spool_archive_total(a), -1);
	next(a, &m);
	cr_assert_str_eq(m.buf, "Subject: one\n\nFrom here\n>From there\n"
	    ">no From\n");
	cr_assert_eq(m.index, 0);
	cr_assert(!m.truncated);
	free(m.buf);
	next(a, &m);
	cr_assert_str_eq(m.buf, "Subject: two\r\n\r\nbody\r\n");
	cr_assert_eq(m.index, 1);
	free(m.buf);
	cr_assert_eq(spool_archive_next(a, &m), 0);
	spool_archive_free(a);
}

Test(archive, mbox_truncated_last_message_keeps_the_others)
{
	static const char box[] =
	    "From a Thu Dec  3 20:00:00 2026\nA: 1\n\nx\n\n"
	    "From b Thu Dec  3 20:00:00 2026\nB: 2\n\ny\n\n"
	    "From c Thu Dec  3 20:00:00 2026\nC: 3\n\ncut in the mid";
	struct spool_archive *a;
	struct spool_archive_msg m;

	cr_assert_eq(spool_archive_open(put("t", box, sizeof(box) - 1), 0,
	    &a), 0);
	next(a, &m);
	cr_assert_str_eq(m.buf, "A: 1\n\nx\n");
	free(m.buf);
	next(a, &m);
	cr_assert_str_eq(m.buf, "B: 2\n\ny\n");
	free(m.buf);
	next(a, &m);
	cr_assert(m.truncated);
	cr_assert_str_eq(m.buf, "C: 3\n\ncut in the mid");
	free(m.buf);
	cr_assert_eq(spool_archive_next(a, &m), 0);
	spool_archive_free(a);
}

Test(archive, mbox_line_longer_than_the_buffer)
{
	size_t big = SPOOL_ARCHIVE_CHUNK * 2 + 17;
	const char *head = "From x Thu Dec  3 20:00:00 2026\nA: 1\n\n";
	size_t hl = strlen(head);
	char *box = malloc(hl + big + 64);
	struct spool_archive *a;
	struct spool_archive_msg m;
	size_t n;

	memcpy(box, head, hl);
	memset(box + hl, 'q', big);
	n = hl + big;
	n += (size_t)sprintf(box + n, "\nFrom y Thu\nB: 2\n\nz\n");
	cr_assert_eq(spool_archive_open(put("long", box, n), 0, &a), 0);
	next(a, &m);
	cr_assert_eq(m.len, 6 + big + 1);
	cr_assert_eq(m.buf[6 + big], '\n');
	free(m.buf);
	next(a, &m);
	cr_assert_str_eq(m.buf, "B: 2\n\nz\n");
	free(m.buf);
	spool_archive_free(a);
	free(box);
}

Test(archive, size_limit_skips_one_message)
{
	static const char box[] =
	    "From a Thu\nA: 1\n\n0123456789012345678901234567890\n\n"
	    "From b Thu\nB: 2\n\nok\n";
	struct spool_archive *a;
	struct spool_archive_msg m;

	cr_assert_eq(spool_archive_open(put("s", box, sizeof(box) - 1), 20,
	    &a), 0);
	next(a, &m);
	cr_assert_eq(m.error, -EFBIG);
	cr_assert_null(m.buf);
	next(a, &m);
	cr_assert_eq(m.error, 0);
	cr_assert_str_eq(m.buf, "B: 2\n\nok\n");
	free(m.buf);
	spool_archive_free(a);
}

Test(archive, not_an_mbox)
{
	struct spool_archive *a;

	cr_assert_eq(spool_archive_open(put("plain", "Subject: x\n\n", 12),
	    0, &a), -EINVAL);
	cr_assert_null(a);
}

Test(archive, maildir_new_then_cur_sorted)
{
	char path[600];
	struct spool_archive *a;
	struct spool_archive_msg m;

	snprintf(path, sizeof(path), "%s/md", tmpdir);
	cr_assert_eq(mkdir(path, 0755), 0);
	put("md/x", "", 0);	/* a file beside cur/ and new/ is ignored */
	snprintf(path, sizeof(path), "%s/md/cur", tmpdir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/md/new", tmpdir);
	cr_assert_eq(mkdir(path, 0755), 0);
	put("md/cur/b:2,S", "B: 1\n\n", 6);
	put("md/cur/a:2,", "A: 1\n\n", 6);
	put("md/new/z", "Z: 1\n\n", 6);
	put("md/new/.hidden", "H: 1\n\n", 6);
	snprintf(path, sizeof(path), "%s/md", tmpdir);
	cr_assert_eq(spool_archive_open(path, 0, &a), 0);
	cr_assert_eq(spool_archive_kind(a), SPOOL_ARCHIVE_MAILDIR);
	cr_assert_eq(spool_archive_total(a), 3);
	next(a, &m);
	cr_assert_str_eq(m.name, "z");
	free(m.buf);
	next(a, &m);
	cr_assert_str_eq(m.name, "a:2,");
	cr_assert_str_eq(m.buf, "A: 1\n\n");
	free(m.buf);
	next(a, &m);
	cr_assert_str_eq(m.name, "b:2,S");
	free(m.buf);
	cr_assert_eq(spool_archive_next(a, &m), 0);
	spool_archive_free(a);
}
