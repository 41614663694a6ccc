// SPDX-License-Identifier: MIT
/*
 * watch - the sidecar's main thread: one io_uring loop over inotify
 * (sign/new, verify/new), the signalfd and the committer's eventfd,
 * taking each message through statx, openat and read SQEs into one
 * buffer for the pool; without io_uring the same state machine runs on
 * plain calls under poll(2).  Owns the set of names in flight, so no
 * event, rescan or start-up scan takes a message twice.  Limitations:
 * only IN_MOVED_TO and IN_CLOSE_WRITE start work; what is made in place
 * (a symlink, a FIFO) waits for the rescan every SPOOL_RESCAN_S s.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "spool/spool_int.h"
#include "util/log.h"

#define SPOOL_READ_SLOTS 16	/* messages being read at once */
#define SPOOL_RING_ENTRIES 64
#define SPOOL_RESCAN_S 10	/* safety-net rescan of new/ */
#define SPOOL_RETRY_S 1		/* rescan after a deferral */

/* The read states of a message (the spool-file record state machine). */
enum {
	ST_STATX = 0,	/* statx by name, symlinks not followed */
	ST_OPEN,	/* openat O_NOFOLLOW */
	ST_READ,	/* read until size bytes or EOF */
};

/* Tags of the long-lived reads; messages are tagged by their address. */
enum { TAG_INOTIFY = 1, TAG_SIGNAL, TAG_EVENT, TAG_MAX };

struct pending {
	struct pending *next;
	enum wrk_mode queue;
	char id[NAME_MAX + 1];
};

struct watcher {
	struct spool *sp;
	struct spool_run_opts *o;
	struct cfg *cfg;
	struct wrk_pool *pool;
	struct spool_committer *com;
	struct spool_set *inflight;	/* "QUEUE/ID" taken, not yet back */
	struct pending *phead, *ptail;
	size_t npending;
	unsigned reading;		/* messages in the read states */
	bool uring;
	struct io_uring ring;
	int inofd, sigfd, evfd;
	int wd[2];
	char inobuf[16384] __attribute__((aligned(8)));
	struct signalfd_siginfo si;
	uint64_t evval;
	bool stopping;
	bool retry;			/* a deferral wants a rescan */
	time_t last_rescan, last_stats;

	pthread_mutex_t back_mu;	/* records back from the committer */
	struct spool_msg *back;

	uint64_t done, failed, deferred, period_done;
};

/* ---- names ---- */

/* wt_key - "QUEUE/ID" */
static void
wt_key(enum wrk_mode q, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", spool_qname(q), id);
}

/* wt_take - queue a name unless it is already in flight */
static void
wt_take(struct watcher *w, enum wrk_mode q, const char *id)
{
	char key[NAME_MAX + 16];
	struct pending *p;

	if (id[0] == '.') {
		return;		/* hidden names are not messages */
	}
	wt_key(q, id, key, sizeof(key));
	if (spool_set_has(w->inflight, key)) {
		return;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || spool_set_add(w->inflight, key) < 0) {
		free(p);
		log_warnx("spool: out of memory; %s left for the rescan", key);
		return;
	}
	p->queue = q;
	snprintf(p->id, sizeof(p->id), "%s", id);
	if (w->ptail != NULL) {
		w->ptail->next = p;
	} else {
		w->phead = p;
	}
	w->ptail = p;
	w->npending++;
}

/* wt_scan - take every name in both new/ folders */
static void
wt_scan(struct watcher *w)
{
	char path[16];
	struct dirent *e;
	DIR *d;
	int fd;

	for (int q = WRK_SIGN; q <= WRK_VERIFY; q++) {
		snprintf(path, sizeof(path), "%s/new", spool_qname(q));
		fd = openat(w->sp->rootfd, path, O_RDONLY | O_DIRECTORY);
		if (fd < 0 || (d = fdopendir(fd)) == NULL) {
			log_warn(-errno, "spool: %s: opendir", path);
			if (fd >= 0) {
				close(fd);
			}
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			wt_take(w, (enum wrk_mode)q, e->d_name);
		}
		closedir(d);
	}
	w->last_rescan = time(NULL);
}

/* wt_events - the names of a buffer of inotify events */
static void
wt_events(struct watcher *w, const char *buf, size_t len)
{
	const struct inotify_event *ev;

	for (size_t off = 0; off + sizeof(*ev) <= len;
	    off += sizeof(*ev) + ev->len) {
		ev = (const struct inotify_event *)(buf + off);
		if (ev->mask & IN_Q_OVERFLOW) {
			log_warnx("spool: inotify queue overflow; rescanning");
			wt_scan(w);
			continue;
		}
		if (ev->len == 0 || ev->name[0] == '\0') {
			continue;
		}
		if (ev->wd == w->wd[0]) {
			wt_take(w, WRK_SIGN, ev->name);
		} else if (ev->wd == w->wd[1]) {
			wt_take(w, WRK_VERIFY, ev->name);
		}
	}
}

/* ---- the read state machine ---- */

static void wt_issue(struct watcher *w, struct spool_msg *m);

/* wt_release - a message the watcher is done with before the pool */
static void
wt_release(struct watcher *w, struct spool_msg *m)
{
	char key[NAME_MAX + 16];

	wt_key(m->queue, m->id, key, sizeof(key));
	spool_set_del(w->inflight, key);
	w->reading--;
	spool_msg_free(m);
}

/* wt_failed - send m to failed/ through the committer */
static void
wt_failed(struct watcher *w, struct spool_msg *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
wt_failed(struct watcher *w, struct spool_msg *m, const char *fmt, ...)
{
	char reason[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
	}
	free(m->buf);
	m->buf = NULL;
	w->reading--;
	spool_fail(m, reason);
	spool_commit(w->com, m);
}

/* wt_done_cb - the pool's done callback (worker thread) */
static void
wt_done_cb(void *arg, struct wrk_job *j)
{
	struct watcher *w = arg;
	struct spool_msg *m = j->user;

	spool_output(w->sp, m, j);
	wrk_job_free(j);	/* its pool slot is released after we return */
	m->job = NULL;
	spool_commit(w->com, m);
}

/* wt_submit - a message is read: hand it to the pool */
static void
wt_submit(struct watcher *w, struct spool_msg *m)
{
	int rc;

	close(m->fd);
	m->fd = -1;
	if (m->len == 0) {
		wt_failed(w, m, "empty message");
		return;
	}
	m->job = wrk_job_create();
	if (m->job == NULL) {
		log_warnx("%s: spool: out of memory; left in new/", m->id);
		wt_release(w, m);
		return;
	}
	m->job->mode = m->queue;
	m->job->buf = m->buf;
	m->job->len = m->len;
	m->job->user = m;
	w->reading--;
	rc = wrk_submit(w->pool, m->job);
	if (rc != 0) {
		w->reading++;
		wt_release(w, m);
	}
}

/* wt_statx_done - judge the file from its statx */
static void
wt_statx_done(struct watcher *w, struct spool_msg *m)
{
	uint16_t mode = m->stx.stx_mode;
	uint64_t max = w->cfg->max_message_size;

	if (S_ISLNK(mode)) {
		wt_failed(w, m, "symbolic link (not followed)");
	} else if (S_ISDIR(mode)) {
		wt_failed(w, m, "directory, not a message");
	} else if (!S_ISREG(mode)) {
		wt_failed(w, m, "not a regular file (FIFO, socket or device)");
	} else if (m->stx.stx_size == 0) {
		wt_failed(w, m, "empty message (zero bytes)");
	} else if (max > 0 && m->stx.stx_size > max) {
		wt_failed(w, m, "message over max_message_size (%llu > %llu)",
		    (unsigned long long)m->stx.stx_size,
		    (unsigned long long)max);
	} else {
		m->size = m->stx.stx_size;
		m->buf = malloc(m->size + 1);
		if (m->buf == NULL) {
			log_warnx("%s: spool: out of memory; left in new/",
			    m->id);
			wt_release(w, m);
			return;
		}
		m->state = ST_OPEN;
		wt_issue(w, m);
	}
}

/*
 * wt_complete - the result res (a cqe->res, or a system call's return
 * as -errno) of m's current step.  Vanished names (ENOENT) are dropped:
 * they were taken by someone else, or the event was stale.
 */
static void
wt_complete(struct watcher *w, struct spool_msg *m, int res)
{
	if (res == -ENOENT) {
		wt_release(w, m);
		return;
	}
	switch (m->state) {
	case ST_STATX:
		if (res < 0) {
			wt_failed(w, m, "statx: %s", strerror(-res));
		} else {
			wt_statx_done(w, m);
		}
		break;
	case ST_OPEN:
		if (res == -ELOOP) {
			wt_failed(w, m, "symbolic link (not followed)");
		} else if (res < 0) {
			wt_failed(w, m, "open: %s", strerror(-res));
		} else {
			m->fd = res;
			m->state = ST_READ;
			wt_issue(w, m);
		}
		break;
	case ST_READ:
		if (res < 0) {
			wt_failed(w, m, "read: %s", strerror(-res));
		} else if (res == 0 || m->len + (size_t)res >= m->size) {
			m->len += (size_t)res;
			wt_submit(w, m);
		} else {
			m->len += (size_t)res;
			wt_issue(w, m);
		}
		break;
	default:
		panic("spool: message %s in read state %d", m->id, m->state);
	}
}

/* wt_sync_step - one step with plain system calls; cqe-style result */
static int
wt_sync_step(struct watcher *w, struct spool_msg *m, const char *path)
{
	ssize_t n;
	int fd;

	switch (m->state) {
	case ST_STATX:
		return statx(w->sp->rootfd, path, AT_SYMLINK_NOFOLLOW,
		    STATX_TYPE | STATX_SIZE, &m->stx) == 0 ? 0 : -errno;
	case ST_OPEN:
		fd = openat(w->sp->rootfd, path, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		return fd >= 0 ? fd : -errno;
	default:
		do {
			n = pread(m->fd, m->buf + m->len, m->size - m->len,
			    (off_t)m->len);
		} while (n < 0 && errno == EINTR);
		return n >= 0 ? (int)n : -errno;
	}
}

/* wt_issue - start m's current step (SQE, or at once without a ring) */
static void
wt_issue(struct watcher *w, struct spool_msg *m)
{
	struct io_uring_sqe *sqe;

	spool_input_path(m, m->tmp, sizeof(m->tmp));
	if (!w->uring) {
		wt_complete(w, m, wt_sync_step(w, m, m->tmp));
		return;
	}
	sqe = io_uring_get_sqe(&w->ring);
	if (sqe == NULL) {
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	if (sqe == NULL) {
		panic("spool: io_uring: no submission entry");
	}
	switch (m->state) {
	case ST_STATX:
		io_uring_prep_statx(sqe, w->sp->rootfd, m->tmp,
		    AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_SIZE, &m->stx);
		break;
	case ST_OPEN:
		io_uring_prep_openat(sqe, w->sp->rootfd, m->tmp, O_RDONLY |
		    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
		break;
	default:
		io_uring_prep_read(sqe, m->fd, m->buf + m->len,
		    (unsigned)(m->size - m->len), m->len);
		break;
	}
	io_uring_sqe_set_data(sqe, m);
}

/* wt_start_reads - begin pending names while read slots are free */
static void
wt_start_reads(struct watcher *w)
{
	struct spool_msg *m;
	struct pending *p;

	while (!w->stopping && w->phead != NULL &&
	    w->reading < SPOOL_READ_SLOTS) {
		p = w->phead;
		w->phead = p->next;
		if (w->phead == NULL) {
			w->ptail = NULL;
		}
		w->npending--;
		m = calloc(1, sizeof(*m));
		if (m == NULL) {
			panic("spool: out of memory for a message record");
		}
		m->fd = -1;
		m->queue = p->queue;
		memcpy(m->id, p->id, sizeof(m->id));
		free(p);
		w->reading++;
		if (!spool_id_valid(m->id)) {
			m->stx.stx_mode = S_IFREG;
			wt_failed(w, m, "queue id holds characters the "
			    "journal does not allow");
			continue;
		}
		m->state = ST_STATX;
		wt_issue(w, m);
	}
}

/* ---- records back from the committer ---- */

/* wt_back_cb - the committer is done with m (committer thread) */
static void
wt_back_cb(void *arg, struct spool_msg *m)
{
	struct watcher *w = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->back_mu);
	m->next = w->back;
	w->back = m;
	pthread_mutex_unlock(&w->back_mu);
	if (write(w->evfd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow at our rates; nothing to do */
	}
}

/* wt_reap - forget the names the committer has finished with */
static void
wt_reap(struct watcher *w)
{
	char key[NAME_MAX + 16];
	struct spool_msg *m, *next;

	pthread_mutex_lock(&w->back_mu);
	m = w->back;
	w->back = NULL;
	pthread_mutex_unlock(&w->back_mu);
	for (; m != NULL; m = next) {
		next = m->next;
		if (m->kind == SPOOL_K_DEFER && m->err == 0) {
			/* journaled but not moved: recovery's, not ours */
			spool_msg_free(m);
			continue;
		}
		wt_key(m->queue, m->id, key, sizeof(key));
		spool_set_del(w->inflight, key);
		if (m->kind == SPOOL_K_DEFER) {
			w->deferred++;
			w->retry = true;
		} else if (m->kind == SPOOL_K_FAILED) {
			w->failed++;
		}
		w->done++;
		w->period_done++;
		spool_msg_free(m);
	}
}

/* ---- signals and timers ---- */

/* wt_reload - SIGHUP: a new configuration, or keep the old one */
static void
wt_reload(struct watcher *w)
{
	struct cfg *c = cfg_load(w->o->config_path, true);
	const struct cfg *old;

	if (c == NULL || c->nerrors > 0) {
		for (size_t i = 0; c != NULL && i < c->nerrors; i++) {
			log_warnx("config: %s", c->errors[i]);
		}
		log_warnx("config: %s: reload refused; keeping the running "
		    "configuration", w->o->config_path);
		cfg_free(c);
		return;
	}
	if (c->spool == NULL || strcmp(c->spool, w->sp->root) != 0) {
		log_warnx("config: spool cannot change on reload; still %s",
		    w->sp->root);
	}
	old = wrk_pool_set_cfg(w->pool, c);
	cfg_free((struct cfg *)old);
	w->cfg = c;
	log_info("config: %s: reloaded", w->o->config_path);
}

/* wt_signal - act on one signal */
static void
wt_signal(struct watcher *w, int signo)
{
	if (signo == SIGHUP) {
		wt_reload(w);
	} else if (!w->stopping) {
		log_info("spool: signal %d: draining and stopping", signo);
		w->stopping = true;
	}
}

/* wt_tick - the periodic summary and rescans */
static void
wt_tick(struct watcher *w)
{
	time_t now = time(NULL);
	unsigned every = w->o->stats_s ? w->o->stats_s : 60;

	if (now - w->last_stats >= (time_t)every) {
		log_info("stats: messages=%llu, per_s=%.1f, failed=%llu, "
		    "deferred=%llu, waiting=%zu, in_flight=%zu",
		    (unsigned long long)w->done,
		    (double)w->period_done / (double)(now - w->last_stats),
		    (unsigned long long)w->failed,
		    (unsigned long long)w->deferred, w->npending,
		    spool_set_count(w->inflight) - w->npending);
		w->last_stats = now;
		w->period_done = 0;
	}
	if (w->o->once || w->stopping) {
		return;
	}
	if ((w->retry && now - w->last_rescan >= SPOOL_RETRY_S) ||
	    now - w->last_rescan >= SPOOL_RESCAN_S) {
		w->retry = false;
		wt_scan(w);
	}
}

/* wt_finished - whether the loop may end */
static bool
wt_finished(struct watcher *w)
{
	if (w->stopping) {
		return w->reading == 0;
	}
	return w->o->once && spool_set_count(w->inflight) == 0;
}

/* ---- the two loops ---- */

/* wt_arm - (re)post a long-lived read on the ring */
static void
wt_arm(struct watcher *w, int tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	if (sqe == NULL) {
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	if (sqe == NULL) {
		panic("spool: io_uring: no submission entry");
	}
	if (tag == TAG_INOTIFY) {
		io_uring_prep_read(sqe, w->inofd, w->inobuf,
		    sizeof(w->inobuf), 0);
	} else if (tag == TAG_SIGNAL) {
		io_uring_prep_read(sqe, w->sigfd, &w->si, sizeof(w->si), 0);
	} else {
		io_uring_prep_read(sqe, w->evfd, &w->evval,
		    sizeof(w->evval), 0);
	}
	io_uring_sqe_set_data(sqe, (void *)(uintptr_t)tag);
}

/* wt_cqe - dispatch one completion (the CQE dispatch switch) */
static void
wt_cqe(struct watcher *w, uintptr_t tag, int res)
{
	switch (tag) {
	case TAG_INOTIFY:
		if (res > 0) {
			wt_events(w, w->inobuf, (size_t)res);
		}
		wt_arm(w, TAG_INOTIFY);
		break;
	case TAG_SIGNAL:
		if (res == (int)sizeof(w->si)) {
			wt_signal(w, (int)w->si.ssi_signo);
		}
		wt_arm(w, TAG_SIGNAL);
		break;
	case TAG_EVENT:
		wt_reap(w);
		wt_arm(w, TAG_EVENT);
		break;
	default:
		wt_complete(w, (struct spool_msg *)tag, res);
		break;
	}
}

/* wt_loop_uring - the io_uring loop */
static void
wt_loop_uring(struct watcher *w)
{
	struct __kernel_timespec ts = { .tv_sec = 1 };
	struct io_uring_cqe *cqe;

	if (!w->o->once) {
		wt_arm(w, TAG_INOTIFY);
	}
	wt_arm(w, TAG_SIGNAL);
	wt_arm(w, TAG_EVENT);
	while (!wt_finished(w)) {
		wt_start_reads(w);
		io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
		while (io_uring_peek_cqe(&w->ring, &cqe) == 0) {
			uintptr_t tag = (uintptr_t)io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			/* seen first: the handler may post new SQEs */
			io_uring_cqe_seen(&w->ring, cqe);
			wt_cqe(w, tag, res);
		}
		wt_reap(w);
		wt_tick(w);
	}
}

/* wt_loop_plain - the same work under poll(2) and plain calls */
static void
wt_loop_plain(struct watcher *w)
{
	struct pollfd pfd[3] = {
		{ .fd = w->sigfd, .events = POLLIN },
		{ .fd = w->evfd, .events = POLLIN },
		{ .fd = w->o->once ? -1 : w->inofd, .events = POLLIN },
	};
	ssize_t n;

	while (!wt_finished(w)) {
		wt_start_reads(w);
		if (wt_finished(w)) {
			break;
		}
		if (poll(pfd, 3, 1000) < 0 && errno != EINTR) {
			fatal(-errno, "spool: poll");
		}
		if (pfd[0].revents & POLLIN) {
			n = read(w->sigfd, &w->si, sizeof(w->si));
			if (n == (ssize_t)sizeof(w->si)) {
				wt_signal(w, (int)w->si.ssi_signo);
			}
		}
		if (pfd[1].revents & POLLIN) {
			n = read(w->evfd, &w->evval, sizeof(w->evval));
		}
		wt_reap(w);
		if (pfd[2].revents & POLLIN) {
			n = read(w->inofd, w->inobuf, sizeof(w->inobuf));
			if (n > 0) {
				wt_events(w, w->inobuf, (size_t)n);
			}
		}
		wt_tick(w);
	}
}

/* ---- setup ---- */

/* wt_fds - inotify, signalfd, eventfd; -errno */
static int
wt_fds(struct watcher *w, const sigset_t *sigs)
{
	char path[SPOOL_PATH_MAX];
	static const char *const dirs[] = { "sign/new", "verify/new" };

	w->sigfd = signalfd(-1, sigs, SFD_CLOEXEC);
	w->evfd = eventfd(0, EFD_CLOEXEC);
	w->inofd = inotify_init1(IN_CLOEXEC);
	if (w->sigfd < 0 || w->evfd < 0 || w->inofd < 0) {
		return -errno;
	}
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", w->sp->root, dirs[i]);
		w->wd[i] = inotify_add_watch(w->inofd, path, IN_MOVED_TO |
		    IN_CLOSE_WRITE | IN_ONLYDIR);
		if (w->wd[i] < 0) {
			return -errno;
		}
	}
	return 0;
}

/* wt_setup - spool, recovery, pool, committer, descriptors, ring */
static int
wt_setup(struct watcher *w, struct spool_run_opts *o, const sigset_t *sigs)
{
	struct spool_recovery st;
	struct wrk_pool_opts po = { 0 };
	char err[400];
	int rc;

	w->o = o;
	w->cfg = o->cfg;
	w->inofd = w->sigfd = w->evfd = -1;
	pthread_mutex_init(&w->back_mu, NULL);
	rc = spool_open(o->cfg->spool, &w->sp, err, sizeof(err));
	if (rc != 0) {
		log_warnx("%s", err);
		return rc;
	}
	rc = spool_recover(w->sp, &st);
	if (rc != 0) {
		log_warn(rc, "spool: %s: recovery", w->sp->root);
		return rc;
	}
	log_info("spool: %s: recovery: completed=%zu, journaled=%zu, "
	    "to_failed=%zu, stale=%zu, truncated=%zu, reused=%zu",
	    w->sp->root, st.completed, st.journaled, st.to_failed, st.stale,
	    st.truncated, st.reused);
	w->inflight = spool_set_create();
	w->com = spool_committer_create(w->sp, o->batch_ms, o->batch_max,
	    wt_back_cb, w);
	if (w->inflight == NULL || w->com == NULL) {
		return -ENOMEM;
	}
	po.threads = o->cfg->threads;
	po.queue_depth = o->queue_depth;
	po.cfg = o->cfg;
	po.cache = o->cache;
	po.src = o->src;
	po.done = wt_done_cb;
	po.done_arg = w;
	w->pool = wrk_pool_create(&po, err, sizeof(err));
	if (w->pool == NULL) {
		log_warnx("%s", err);
		return -ENOMEM;
	}
	rc = wt_fds(w, sigs);
	if (rc != 0) {
		log_warn(rc, "spool: %s: watch", w->sp->root);
		return rc;
	}
	w->uring = !o->no_uring && getenv("DKIMQ_NO_URING") == NULL;
	if (w->uring) {
		rc = io_uring_queue_init(SPOOL_RING_ENTRIES, &w->ring, 0);
		if (rc < 0) {
			log_warn(rc, "spool: io_uring_queue_init; using the "
			    "plain read() loop");
			w->uring = false;
		}
	}
	log_info("spool: %s: watching sign/new and verify/new, threads=%u, "
	    "io=%s%s", w->sp->root, wrk_pool_threads(w->pool),
	    w->uring ? "io_uring" : "plain", o->once ? ", once" : "");
	return 0;
}

/* wt_teardown - drain the pool, flush the committer, release */
static void
wt_teardown(struct watcher *w)
{
	struct pending *p, *next;

	if (w->pool != NULL) {
		wrk_pool_stop(w->pool);
	}
	spool_committer_free(w->com);
	wt_reap(w);
	wrk_pool_free(w->pool);
	if (w->uring) {
		io_uring_queue_exit(&w->ring);
	}
	for (p = w->phead; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	if (w->inofd >= 0) {
		close(w->inofd);
	}
	if (w->sigfd >= 0) {
		close(w->sigfd);
	}
	if (w->evfd >= 0) {
		close(w->evfd);
	}
	spool_set_free(w->inflight);
	spool_free(w->sp);
	cfg_free(w->cfg);
	pthread_mutex_destroy(&w->back_mu);
}

/* spool_run - the sidecar */
int
spool_run(struct spool_run_opts *o)
{
	struct watcher *w = calloc(1, sizeof(*w));
	sigset_t sigs;
	int rc;

	if (w == NULL) {
		cfg_free(o->cfg);
		return -ENOMEM;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	rc = wt_setup(w, o, &sigs);
	if (rc == 0) {
		w->last_stats = time(NULL);
		wt_scan(w);
		if (w->uring) {
			wt_loop_uring(w);
		} else {
			wt_loop_plain(w);
		}
	}
	wt_teardown(w);
	log_info("spool: stopped, messages=%llu, failed=%llu, deferred=%llu",
	    (unsigned long long)w->done, (unsigned long long)w->failed,
	    (unsigned long long)w->deferred);
	free(w);
	o->cfg = NULL;
	return rc;
}
