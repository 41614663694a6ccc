// SPDX-License-Identifier: MIT
/*
 * journal - SPOOL/results.jsonl: one JSON object per processed message,
 * in the shape of DESIGN.md, appended a batch at a time by the
 * committer with O_APPEND and one fdatasync.  A failed append is cut
 * back with ftruncate, so a line is either whole and durable or absent.
 * Also the reader recovery needs: the string value of one key.
 * Limitations: the reader handles the lines this writer makes (keys
 * spelt "key": "value"), not arbitrary JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool/spool_int.h"

/*
 * signatures - the "signatures" array of dkimq verify --json, taken
 * from the renderer's object so that both stay one format.
 */
static int
signatures(struct dkim_buf *b, const struct dkim_report *r)
{
	static const char key[] = "\"signatures\": ";
	struct dkim_buf tmp = { 0 };
	const char *p;
	int rc;

	if (r == NULL) {
		return dkim_buf_str(b, "[]");
	}
	rc = dkim_report_json(&tmp, r);
	if (rc == 0 && tmp.len > 0) {
		p = memmem(tmp.data, tmp.len, key, sizeof(key) - 1);
		if (p == NULL) {
			rc = dkim_buf_str(b, "[]");
		} else {
			p += sizeof(key) - 1;
			/* the object ends with "]}": keep the array */
			rc = dkim_buf_add(b, p, (size_t)(tmp.data + tmp.len -
			    1 - p));
		}
	}
	dkim_buf_free(&tmp);
	return rc;
}

/* spool_journal_line - one results.jsonl line */
int
spool_journal_line(struct dkim_buf *b, const struct spool_record *r)
{
	int rc;

	rc = dkim_buf_str(b, "{\"id\": ");
	rc = rc ? rc : dkim_json_str(b, r->id);
	rc = rc ? rc : dkim_buf_fmt(b, ", \"queue\": \"%s\", \"domain\": ",
	    r->queue == WRK_SIGN ? "sign" : "verify");
	rc = rc ? rc : dkim_json_str(b, r->domain ? r->domain : "");
	rc = rc ? rc : dkim_buf_str(b, ", \"signatures\": ");
	rc = rc ? rc : signatures(b, r->report);
	rc = rc ? rc : dkim_buf_str(b, ", \"action\": ");
	rc = rc ? rc : dkim_json_str(b, r->action);
	rc = rc ? rc : dkim_buf_str(b, ", \"to\": ");
	rc = rc ? rc : dkim_json_str(b, r->to);
	rc = rc ? rc : dkim_buf_fmt(b, ", \"bytes\": %llu, \"us\": %llu",
	    (unsigned long long)r->bytes, (unsigned long long)r->us);
	if (rc == 0 && r->time_us != 0) {
		rc = dkim_buf_fmt(b, ", \"time_us\": %llu",
		    (unsigned long long)r->time_us);
	}
	if (rc == 0 && r->reason != NULL && r->reason[0] != '\0') {
		rc = dkim_buf_str(b, ", \"reason\": ");
		rc = rc ? rc : dkim_json_str(b, r->reason);
	}
	return rc ? rc : dkim_buf_str(b, "}\n");
}

/* spool_wall_us - CLOCK_REALTIME in microseconds */
uint64_t
spool_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* spool_journal_append - append a batch of lines durably */
int
spool_journal_append(struct spool *sp, const char *data, size_t len)
{
	struct stat st;
	int rc = 0;

	pthread_mutex_lock(&sp->journal_mu);
	if (fstat(sp->journalfd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	rc = spool_write_all(sp->journalfd, data, len);
	if (rc == 0 && fdatasync(sp->journalfd) != 0) {
		rc = -errno;
	}
	if (rc != 0 && ftruncate(sp->journalfd, st.st_size) != 0) {
		rc = -errno;
	}
out:
	pthread_mutex_unlock(&sp->journal_mu);
	return rc;
}

/*
 * value_of - where the value of "key" starts in line[0..len): just past
 * `"key": `, or NULL when the line has no such key.
 */
static const char *
value_of(const char *line, size_t len, const char *key)
{
	char pat[64];
	const char *p;
	int plen;

	plen = snprintf(pat, sizeof(pat), "\"%s\": ", key);
	if (plen < 0 || (size_t)plen >= sizeof(pat)) {
		return NULL;
	}
	p = memmem(line, len, pat, (size_t)plen);
	return p != NULL ? p + plen : NULL;
}

/* spool_journal_field - a string value of a journal line */
int
spool_journal_field(const char *line, size_t len, const char *key,
    char *buf, size_t buflen)
{
	const char *p = value_of(line, len, key), *end = line + len;
	size_t n = 0;

	if (p == NULL || p >= end || *p != '"' || buflen == 0) {
		return -ENOENT;
	}
	for (p++; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end) {
			p++;
		}
		if (n + 1 >= buflen) {
			return -ENOENT;
		}
		buf[n++] = *p;
	}
	if (p >= end) {
		return -ENOENT;
	}
	buf[n] = '\0';
	return 0;
}

/* spool_journal_number - the unsigned integer value of "key" */
int
spool_journal_number(const char *line, size_t len, const char *key,
    uint64_t *out)
{
	const char *p = value_of(line, len, key), *end = line + len;
	uint64_t v = 0;

	if (p == NULL || p >= end || *p < '0' || *p > '9') {
		return -ENOENT;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10) {
			return -ENOENT;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}
