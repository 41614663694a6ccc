/* SPDX-License-Identifier: MIT */
/*
 * spool_test - the spool/ contract: the results.jsonl line format (a
 * golden line), queue-id rules, the layout spool_open() makes, and
 * start-up recovery of each interrupted hand-off the commit order
 * allows.  Each test builds its own spool under /tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "spool/spool.h"

static char root[] = "/tmp/dkimq-spool.XXXXXX";
static char spool_dir[400];

/* setup - an empty spool directory */
static void
setup(void)
{
	cr_assert_not_null(mkdtemp(root));
	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", root);
}

/* teardown - remove it */
static void
teardown(void)
{
	char cmd[500];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
	memcpy(root + strlen(root) - 6, "XXXXXX", 6);
}

/* put - a file under the spool holding text */
static void
put(const char *rel, const char *text)
{
	char path[800];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", spool_dir, rel);
	fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s", path);
	fputs(text, fp);
	fclose(fp);
}

/* there - whether rel exists under the spool */
static bool
there(const char *rel)
{
	char path[800];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", spool_dir, rel);
	return lstat(path, &st) == 0;
}

/* slurp - a spool file's text (malloc'd) */
static char *
slurp(const char *rel)
{
	char path[800], *buf = calloc(1, 1 << 16);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", spool_dir, rel);
	fp = fopen(path, "r");
	cr_assert_not_null(fp);
	cr_assert(fread(buf, 1, (1 << 16) - 1, fp) < (1 << 16) - 1);
	fclose(fp);
	return buf;
}

/* open_spool - spool_open() that must succeed */
static struct spool *
open_spool(void)
{
	struct spool *sp = NULL;
	char err[300];

	cr_assert_eq(spool_open(spool_dir, &sp, err, sizeof(err)), 0, "%s",
	    err);
	return sp;
}

/* line_at - a journal line for id going to `to`, made at time_us */
static void
line_at(char *buf, size_t len, const char *id, const char *to,
    uint64_t time_us)
{
	struct spool_record r = {
		.id = id, .queue = WRK_SIGN, .domain = "example.com",
		.action = "sign", .to = to, .bytes = 10, .us = 5,
		.time_us = time_us,
	};
	struct dkim_buf b = { 0 };

	cr_assert_eq(spool_journal_line(&b, &r), 0);
	snprintf(buf, len, "%.*s", (int)b.len, b.data);
	dkim_buf_free(&b);
}

/* line - a journal line for id going to `to`, without a time */
static void
line(char *buf, size_t len, const char *id, const char *to)
{
	line_at(buf, len, id, to, 0);
}

Test(journal, line_format_is_the_interface)
{
	static struct dkim_report rep;
	struct spool_record r = {
		.id = "4XyZ01", .queue = WRK_VERIFY, .domain = "example.net",
		.report = &rep, .action = "mailbox:suspect",
		.to = "quarantine/suspect/new/4XyZ01", .bytes = 1234, .us = 77,
		.reason = "a \"quoted\" reason",
	};
	struct dkim_buf b = { 0 };

	rep.result = DKIM_RES_FAIL;
	rep.nsigs = 1;
	rep.sigs[0].type = DKIM_TYPE_DKIM;
	rep.sigs[0].result = DKIM_RES_FAIL;
	rep.sigs[0].category = DKIM_CAT_VERIFICATION_FAILED;
	strcpy(rep.sigs[0].sdid, "example.com");
	strcpy(rep.sigs[0].selector, "s1");
	strcpy(rep.sigs[0].alg, "rsa-sha256");
	strcpy(rep.sigs[0].reason, "body hash mismatch");
	cr_assert_eq(spool_journal_line(&b, &r), 0);
	cr_assert_str_eq(b.data,
	    "{\"id\": \"4XyZ01\", \"queue\": \"verify\", \"domain\": "
	    "\"example.net\", \"signatures\": [{\"type\": \"dkim\", \"d\": "
	    "\"example.com\", \"s\": \"s1\", \"i\": \"\", \"a\": "
	    "\"rsa-sha256\", \"result\": \"fail\", \"category\": "
	    "\"verification_failed\", \"reason\": \"body hash mismatch\"}], "
	    "\"action\": \"mailbox:suspect\", \"to\": "
	    "\"quarantine/suspect/new/4XyZ01\", \"bytes\": 1234, \"us\": 77, "
	    "\"reason\": \"a \\\"quoted\\\" reason\"}\n");
	dkim_buf_free(&b);
}

Test(journal, time_us_follows_us_when_set)
{
	char buf[600];

	line_at(buf, sizeof(buf), "q2", "out/new/q2", 1764759600123456);
	cr_assert_str_eq(buf, "{\"id\": \"q2\", \"queue\": \"sign\", "
	    "\"domain\": \"example.com\", \"signatures\": [], \"action\": "
	    "\"sign\", \"to\": \"out/new/q2\", \"bytes\": 10, \"us\": 5, "
	    "\"time_us\": 1764759600123456}\n");
}

Test(journal, unsigned_line_has_empty_signatures_and_no_reason)
{
	char buf[600];

	line(buf, sizeof(buf), "q1", "out/new/q1");
	cr_assert_str_eq(buf, "{\"id\": \"q1\", \"queue\": \"sign\", "
	    "\"domain\": \"example.com\", \"signatures\": [], \"action\": "
	    "\"sign\", \"to\": \"out/new/q1\", \"bytes\": 10, \"us\": 5}\n");
}

Test(layout, queue_ids)
{
	cr_assert(spool_id_valid("4XyZ01.M1-2_3+x=y,z:a"));
	cr_assert(!spool_id_valid(""));
	cr_assert(!spool_id_valid(".hidden"));
	cr_assert(!spool_id_valid("a b"));
	cr_assert(!spool_id_valid("a\"b"));
	cr_assert(!spool_id_valid("a\\b"));
	cr_assert(!spool_id_valid("a\nb"));
	cr_assert(!spool_id_valid("caf\xc3\xa9"));
}

Test(layout, open_makes_every_folder, .init = setup, .fini = teardown)
{
	static const char *const dirs[] = {
		"sign/tmp", "sign/new", "verify/tmp", "verify/new", "out/tmp",
		"out/new", "forward/tmp", "forward/new", "rejected/tmp",
		"rejected/new", "quarantine", "failed", "results.jsonl",
	};
	struct spool *sp = open_spool();

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		cr_expect(there(dirs[i]), "%s missing", dirs[i]);
	}
	spool_free(sp);
}

Test(recovery, finishes_each_interrupted_hand_off, .init = setup,
    .fini = teardown)
{
	struct spool_recovery st;
	struct spool *sp = open_spool();
	char j[4096], l[600];
	char *journal;

	/* a: line written, output still in tmp/ (crash before rename) */
	put("sign/new/a", "msg a\n");
	put("out/tmp/a", "signed a\n");
	line(l, sizeof(l), "a", "out/new/a");
	strcpy(j, l);
	/* b: line and output in new/ (crash before the unlink) */
	put("sign/new/b", "msg b\n");
	put("out/new/b", "signed b\n");
	line(l, sizeof(l), "b", "out/new/b");
	strcat(j, l);
	/* c: output in new/ without a line */
	put("sign/new/c", "msg c\n");
	put("forward/new/c", "fwd c\n");
	/* d: a stale tmp/ output (crash before the journal) */
	put("sign/new/d", "msg d\n");
	put("out/tmp/d", "half of d");
	/* e: a failed move journaled but not done */
	put("sign/new/e", "msg e\n");
	line(l, sizeof(l), "e", "failed/e");
	strcat(j, l);
	/* f: line and output taken by the mailer already */
	put("sign/new/f", "msg f\n");
	line(l, sizeof(l), "f", "out/new/f");
	strcat(j, l);
	/* a torn last line */
	strcat(j, "{\"id\": \"zz\", \"queue\": \"si");
	put("results.jsonl", j);

	cr_assert_eq(spool_recover(sp, &st), 0);
	cr_expect(!there("sign/new/a") && there("out/new/a") &&
	    !there("out/tmp/a"), "a");
	cr_expect(!there("sign/new/b") && there("out/new/b"), "b");
	cr_expect(!there("sign/new/c") && there("forward/new/c"), "c");
	cr_expect(there("sign/new/d") && !there("out/tmp/d"),
	    "d: kept for processing, stale output removed");
	cr_expect(!there("sign/new/e") && there("failed/e") &&
	    there("failed/e.reason"), "e");
	cr_expect(!there("sign/new/f"), "f");
	cr_expect_eq(st.completed, 3);
	cr_expect_eq(st.journaled, 1);
	cr_expect_eq(st.to_failed, 1);
	cr_expect_eq(st.stale, 1);
	cr_expect_eq(st.truncated, strlen("{\"id\": \"zz\", \"queue\": \"si"));

	journal = slurp("results.jsonl");
	cr_expect_not_null(strstr(journal, "\"id\": \"c\", \"queue\": "
	    "\"sign\", \"domain\": \"\", \"signatures\": [], \"action\": "
	    "\"recovered\", \"to\": \"forward/new/c\""));
	cr_expect_null(strstr(journal, "zz"), "torn line cut");
	cr_expect_eq(journal[strlen(journal) - 1], '\n');
	free(journal);

	/* a second run changes nothing */
	cr_assert_eq(spool_recover(sp, &st), 0);
	cr_expect_eq(st.completed + st.journaled + st.stale + st.to_failed,
	    0);
	cr_expect(there("sign/new/d"));
	spool_free(sp);
}

Test(recovery, a_reused_id_newer_than_its_line_is_processed_as_new,
    .init = setup, .fini = teardown)
{
	struct spool_recovery st;
	struct spool *sp = open_spool();
	char j[2048], l[600];
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;

	/*
	 * g: an earlier message g was handed off 10 s ago and its output
	 * is still in new/; this input g arrived since.  h: the line was
	 * made after this input arrived (crash before the unlink).
	 */
	line_at(l, sizeof(l), "g", "out/new/g", now - 10000000);
	strcpy(j, l);
	line_at(l, sizeof(l), "h", "out/new/h", now + 10000000);
	strcat(j, l);
	put("results.jsonl", j);
	put("out/new/g", "signed old g\n");
	put("sign/new/g", "new msg g\n");
	put("sign/new/h", "msg h\n");
	put("out/tmp/h", "signed h\n");

	cr_assert_eq(spool_recover(sp, &st), 0);
	cr_expect(there("sign/new/g"), "g: newer than its id's line, kept");
	cr_expect(!there("sign/new/h") && there("out/new/h"),
	    "h: older than its line, hand-off finished");
	cr_expect_eq(st.reused, 1);
	cr_expect_eq(st.completed, 1);
	spool_free(sp);
}
