// SPDX-License-Identifier: MIT
/*
 * commit - the hand-off.  spool_output() runs on the worker that
 * finished a message: it writes the new header fields and the original
 * bytes to DEST/tmp/ID in one pwritev and frees the input buffer.  The
 * committer thread then makes a batch durable in the order spool.h
 * gives (file syncs, journal, renames with one fsync per folder,
 * unlinks), logs one line per message and hands each record back to
 * the watcher.  A write error (ENOSPC above all) makes the record a
 * deferral: its partial output is removed and the input stays in new/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "spool/spool_int.h"
#include "util/log.h"

struct spool_committer {
	struct spool *sp;
	unsigned batch_ms;
	unsigned batch_max;
	spool_back_fn back;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t room;		/* the backlog fell below its bound */
	struct spool_msg *head, *tail;
	size_t n;
	bool stopping;
	pthread_t tid;
};

/* dest_dir - the folder of a destination, "" for none */
static int
dest_dir(const struct wrk_job *j, char *buf, size_t len)
{
	switch (j->res.dest) {
	case WRK_DEST_QUARANTINE:
		if (j->res.action.arg == NULL ||
		    !spool_id_valid(j->res.action.arg)) {
			return -EINVAL;
		}
		snprintf(buf, len, "quarantine/%s", j->res.action.arg);
		return 0;
	case WRK_DEST_FORWARD:
		snprintf(buf, len, "forward");
		return 0;
	case WRK_DEST_REJECTED:
		snprintf(buf, len, "rejected");
		return 0;
	case WRK_DEST_OUT:
		snprintf(buf, len, "out");
		return 0;
	default:
		buf[0] = '\0';
		return 0;
	}
}

/* write_iov - the whole of iov to fd; 0 or -errno */
static int
write_iov(int fd, const struct iovec *in, int n)
{
	struct iovec iov[WRK_IOV_MAX];
	int i = 0;
	ssize_t w;

	memcpy(iov, in, sizeof(*in) * (size_t)n);
	while (i < n) {
		w = writev(fd, iov + i, n - i);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0) {
			return -errno;
		}
		while (i < n && (size_t)w >= iov[i].iov_len) {
			w -= (ssize_t)iov[i].iov_len;
			i++;
		}
		if (i < n) {
			iov[i].iov_base = (char *)iov[i].iov_base + w;
			iov[i].iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* open_tmp - create DEST/tmp/ID, replacing a stale one */
static int
open_tmp(struct spool *sp, const char *rel)
{
	int fd;

	for (int tries = 0; tries < 2; tries++) {
		fd = openat(sp->rootfd, rel,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (fd >= 0) {
			return fd;
		}
		if (errno != EEXIST) {
			return -errno;
		}
		unlinkat(sp->rootfd, rel, 0);
	}
	return -EEXIST;
}

/* log_sigs - d= and s= of the acting signature into the log line */
static void
log_sigs(struct dkim_buf *b, const struct wrk_job *j)
{
	const struct dkim_report *r = j->res.report;

	if (j->mode == WRK_VERIFY) {
		dkim_buf_fmt(b, ", dkim=%s",
		    r ? dkim_result_name(r->result) : "none");
	}
	for (size_t i = 0; r != NULL && i < r->nsigs; i++) {
		if (j->mode == WRK_VERIFY && r->sigs[i].result != r->result) {
			continue;
		}
		dkim_buf_fmt(b, ", d=%s, s=%s", r->sigs[i].sdid,
		    r->sigs[i].selector);
		if (j->mode == WRK_VERIFY) {
			break;
		}
	}
}

/* record - the journal and log lines of a finished message */
static void
record(struct spool_msg *m, const struct wrk_job *j, const char *action)
{
	struct spool_record r = {
		.id = m->id, .queue = m->queue, .domain = j->res.domain,
		.report = j->res.report, .action = action, .to = m->to,
		.bytes = m->len, .us = j->res.us, .reason = j->res.reason,
		.time_us = spool_wall_us(),
	};

	m->line.len = 0;
	m->log.len = 0;
	if (spool_journal_line(&m->line, &r) != 0) {
		panic("spool: out of memory building a journal line");
	}
	dkim_buf_fmt(&m->log, "queue=%s, action=%s, to=%s",
	    spool_qname(m->queue), action, m->to[0] ? m->to : "-");
	if (j->mode == WRK_VERIFY && !j->res.trusted) {
		dkim_buf_fmt(&m->log, ", category=%s",
		    dkim_category_name(j->res.category));
	}
	if (j->res.smtp_code != 0) {
		dkim_buf_fmt(&m->log, ", code=%d", j->res.smtp_code);
	}
	log_sigs(&m->log, j);
	dkim_buf_fmt(&m->log, ", bytes=%zu, us=%llu", m->len,
	    (unsigned long long)j->res.us);
	if (j->res.reason[0] != '\0') {
		dkim_buf_fmt(&m->log, ", reason=%s", j->res.reason);
	}
}

/* spool_fail - a message for failed/ */
void
spool_fail(struct spool_msg *m, const char *reason)
{
	struct spool_record r = {
		.id = m->id, .queue = m->queue, .action = "failed",
		.to = m->to, .bytes = m->size, .reason = reason,
		.time_us = spool_wall_us(),
	};

	m->kind = SPOOL_K_FAILED;
	m->tmp[0] = '\0';
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
	snprintf(m->to, sizeof(m->to), "%s/%s", SPOOL_FAILED, m->id);
	m->line.len = 0;
	m->log.len = 0;
	if (spool_journal_line(&m->line, &r) != 0) {
		panic("spool: out of memory building a journal line");
	}
	dkim_buf_fmt(&m->log, "queue=%s, action=failed, to=%s, reason=%s",
	    spool_qname(m->queue), m->to, reason);
}

/* spool_output - write the result of job j for m */
void
spool_output(struct spool *sp, struct spool_msg *m, const struct wrk_job *j)
{
	char dir[SPOOL_PATH_MAX - NAME_MAX - 8], act[300];
	int rc;

	m->tmp[0] = '\0';
	if (j->res.dest == WRK_DEST_FAILED) {
		spool_fail(m, j->res.reason);
		goto out;
	}
	if (j->mode == WRK_SIGN) {
		snprintf(act, sizeof(act), "%s", j->res.nsigs ? "sign" : "none");
	} else {
		cfg_action_name(&j->res.action, act, sizeof(act));
	}
	if (dest_dir(j, dir, sizeof(dir)) != 0) {
		spool_fail(m, "mailbox name is not a plain folder name");
		goto out;
	}
	if (j->res.dest == WRK_DEST_DELETE) {
		m->kind = SPOOL_K_DELETE;
		m->to[0] = '\0';
		record(m, j, act);
		goto out;
	}
	snprintf(m->tmp, sizeof(m->tmp), "%s/tmp/%s", dir, m->id);
	snprintf(m->to, sizeof(m->to), "%s/new/%s", dir, m->id);
	if (j->res.dest == WRK_DEST_QUARANTINE) {
		/* mailbox folders are made on first use */
		char sub[SPOOL_PATH_MAX];

		snprintf(sub, sizeof(sub), "%s/tmp", dir);
		rc = spool_mkdirs(sp, sub);
		snprintf(sub, sizeof(sub), "%s/new", dir);
		rc = rc ? rc : spool_mkdirs(sp, sub);
		if (rc != 0) {
			m->kind = SPOOL_K_DEFER;
			m->err = rc;
			goto out;
		}
	}
	rc = open_tmp(sp, m->tmp);
	if (rc >= 0) {
		m->fd = rc;
		rc = write_iov(m->fd, j->res.iov, j->res.iovcnt);
	}
	if (rc < 0) {
		m->kind = SPOOL_K_DEFER;
		m->err = rc;
		if (m->fd >= 0) {
			close(m->fd);
			m->fd = -1;
		}
		unlinkat(sp->rootfd, m->tmp, 0);
		goto out;
	}
	m->kind = SPOOL_K_OUTPUT;
	record(m, j, act);
out:
	free(m->buf);
	m->buf = NULL;
}

/* ---- the committer thread ---- */

/* undo - a batch member that cannot be committed becomes a deferral */
static void
undo(struct spool *sp, struct spool_msg *m, int err)
{
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
	}
	if (m->kind == SPOOL_K_OUTPUT) {
		unlinkat(sp->rootfd, m->tmp, 0);
	} else if (m->kind == SPOOL_K_FAILED) {
		unlinkat(sp->rootfd, m->tmp, 0);
	}
	m->kind = SPOOL_K_DEFER;
	m->err = err;
}

/* sync_step - step 1: outputs and reason files durable */
static void
sync_step(struct spool *sp, struct spool_msg *m)
{
	char reason[sizeof(m->reason) + 2];
	int rc = 0, n;

	if (m->kind == SPOOL_K_OUTPUT) {
		if (fdatasync(m->fd) != 0) {
			rc = -errno;
		}
		if (close(m->fd) != 0 && rc == 0) {
			rc = -errno;
		}
		m->fd = -1;
	} else if (m->kind == SPOOL_K_FAILED) {
		snprintf(m->tmp, sizeof(m->tmp), "%s/%s.reason", SPOOL_FAILED,
		    m->id);
		n = snprintf(reason, sizeof(reason), "%s\n", m->reason);
		rc = spool_write_file(sp, m->tmp, reason, (size_t)n);
	}
	if (rc != 0) {
		undo(sp, m, rc);
	}
}

/* journal_step - step 2: the batch's lines, one write and one sync */
static void
journal_step(struct spool *sp, struct spool_msg *list)
{
	struct dkim_buf lines = { 0 };
	struct spool_msg *m;
	int rc;

	for (m = list; m != NULL; m = m->next) {
		if (m->kind != SPOOL_K_DEFER &&
		    dkim_buf_add(&lines, m->line.data, m->line.len) != 0) {
			panic("spool: out of memory joining journal lines");
		}
	}
	if (lines.len == 0) {
		return;
	}
	rc = spool_journal_append(sp, lines.data, lines.len);
	dkim_buf_free(&lines);
	if (rc == 0) {
		return;
	}
	log_warn(rc, "spool: %s: write; batch kept in new/", SPOOL_JOURNAL);
	for (m = list; m != NULL; m = m->next) {
		if (m->kind != SPOOL_K_DEFER) {
			undo(sp, m, rc);
		}
	}
}

#define DIRSET_MAX 64

/* A batch's folders, each fsync'd once. */
struct dirset {
	char d[DIRSET_MAX][SPOOL_PATH_MAX];
	size_t n;
};

/* add_dir - note the folder of path; when the set is full, sync now */
static void
add_dir(struct spool *sp, struct dirset *ds, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	char one[SPOOL_PATH_MAX];
	int rc;

	for (size_t i = 0; i < ds->n; i++) {
		if (strlen(ds->d[i]) == len &&
		    strncmp(ds->d[i], path, len) == 0) {
			return;
		}
	}
	if (len >= SPOOL_PATH_MAX) {
		panic("spool: %s: path too long", path);
	}
	if (ds->n < DIRSET_MAX) {
		memcpy(ds->d[ds->n], path, len);
		ds->d[ds->n++][len] = '\0';
		return;
	}
	memcpy(one, path, len);
	one[len] = '\0';
	rc = spool_fsync_dir(sp, one);
	if (rc != 0) {
		log_warn(rc, "spool: %s: fsync", one);
	}
}

/* move_step - step 3: renames; the folders touched are noted */
static void
move_step(struct spool *sp, struct spool_msg *list, struct dirset *ds)
{
	char in[SPOOL_PATH_MAX];
	struct spool_msg *m;
	int rc;

	for (m = list; m != NULL; m = m->next) {
		spool_input_path(m, in, sizeof(in));
		if (m->kind == SPOOL_K_OUTPUT) {
			rc = renameat(sp->rootfd, m->tmp, sp->rootfd, m->to);
		} else if (m->kind == SPOOL_K_FAILED) {
			rc = renameat(sp->rootfd, in, sp->rootfd, m->to);
		} else if (m->kind == SPOOL_K_DELETE) {
			rc = 0;
		} else {
			continue;
		}
		if (rc != 0) {
			/* the line is in: recovery finishes it at start */
			log_warn(-errno, "%s: spool: rename to %s; input kept "
			    "for recovery", m->id, m->to);
			m->kind = SPOOL_K_DEFER;
			m->err = 0;
			continue;
		}
		if (m->kind != SPOOL_K_DELETE) {
			add_dir(sp, ds, m->to);
		}
		if (m->kind == SPOOL_K_FAILED) {
			add_dir(sp, ds, in);
		}
	}
}

/* sync_dirs - one fsync per folder of ds */
static void
sync_dirs(struct spool *sp, struct dirset *ds)
{
	int rc;

	for (size_t i = 0; i < ds->n; i++) {
		rc = spool_fsync_dir(sp, ds->d[i]);
		if (rc != 0) {
			log_warn(rc, "spool: %s: fsync", ds->d[i]);
		}
	}
	ds->n = 0;
}

/* unlink_step - step 4: inputs whose outputs are durable in new/ */
static void
unlink_step(struct spool *sp, struct spool_msg *list, struct dirset *ds)
{
	char in[SPOOL_PATH_MAX];
	struct spool_msg *m;

	for (m = list; m != NULL; m = m->next) {
		if (m->kind != SPOOL_K_OUTPUT && m->kind != SPOOL_K_DELETE) {
			continue;
		}
		spool_input_path(m, in, sizeof(in));
		if (unlinkat(sp->rootfd, in, 0) != 0 && errno != ENOENT) {
			log_warn(-errno, "%s: spool: unlink", m->id);
		}
		add_dir(sp, ds, in);
	}
}

/*
 * commit_batch - make the list durable in the order spool.h gives;
 * recovery closes each crash window between the steps.
 */
static void
commit_batch(struct spool_committer *c, struct spool_msg *list)
{
	static struct dirset ds;
	struct spool *sp = c->sp;
	struct spool_msg *m, *next;

	for (m = list; m != NULL; m = m->next) {
		sync_step(sp, m);
	}
	journal_step(sp, list);
	ds.n = 0;
	move_step(sp, list, &ds);
	sync_dirs(sp, &ds);
	unlink_step(sp, list, &ds);
	sync_dirs(sp, &ds);

	for (m = list; m != NULL; m = next) {
		next = m->next;
		if (m->kind == SPOOL_K_DEFER && m->err != 0) {
			log_warn(m->err, "%s: queue=%s, action=defer, "
			    "reason=output not written, kept in %s/new",
			    m->id, spool_qname(m->queue),
			    spool_qname(m->queue));
		} else if (m->kind != SPOOL_K_DEFER) {
			log_info("%s: %.*s", m->id, (int)m->log.len,
			    m->log.data);
		}
		c->back(c->arg, m);
	}
}

/* committer - the thread body: collect, wait out the window, commit */
static void *
committer(void *arg)
{
	struct spool_committer *c = arg;
	struct spool_msg *list;
	struct timespec until;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->head == NULL && !c->stopping) {
			pthread_cond_wait(&c->cv, &c->mu);
		}
		if (c->head == NULL) {
			break;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)c->batch_ms * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (c->n < c->batch_max && !c->stopping) {
			if (pthread_cond_timedwait(&c->cv, &c->mu,
			    &until) != 0) {
				break;
			}
		}
		list = c->head;
		c->head = c->tail = NULL;
		c->n = 0;
		pthread_cond_broadcast(&c->room);
		pthread_mutex_unlock(&c->mu);
		commit_batch(c, list);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* spool_committer_create - start the committer */
struct spool_committer *
spool_committer_create(struct spool *sp, unsigned batch_ms,
    unsigned batch_max, spool_back_fn back, void *arg)
{
	struct spool_committer *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return NULL;
	}
	c->sp = sp;
	c->batch_ms = batch_ms ? batch_ms : 5;
	c->batch_max = batch_max ? batch_max : 128;
	c->back = back;
	c->arg = arg;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->room, NULL);
	if (pthread_create(&c->tid, NULL, committer, c) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

/* spool_commit - hand a record to the committer */
void
spool_commit(struct spool_committer *c, struct spool_msg *m)
{
	m->next = NULL;
	pthread_mutex_lock(&c->mu);

	/* Bounded: a slow disk holds the workers back, then the reader. */
	while (c->n >= 2 * (size_t)c->batch_max && !c->stopping) {
		pthread_cond_wait(&c->room, &c->mu);
	}
	if (c->tail != NULL) {
		c->tail->next = m;
	} else {
		c->head = m;
	}
	c->tail = m;
	c->n++;
	if (c->n == 1 || c->n >= c->batch_max) {
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

/* spool_committer_free - flush and stop */
void
spool_committer_free(struct spool_committer *c)
{
	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->tid, NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->room);
	free(c);
}
