/* SPDX-License-Identifier: MIT */
/*
 * workers - the thread pool, its bounded job queue, the per-message
 * pipeline (frame, sign or verify with the engine, decide the action)
 * and the verification policy, shared by the spool sidecar and batch
 * runs.  Messages are read once by the submitter into one buffer; the
 * pipeline never copies it: the output is described as iovecs of new
 * header fields, the original bytes and, for a subject prefix, the
 * prefix spliced in.  A message whose key is not cached is parked and
 * resumed from the DNS cache's callback, so no worker waits for DNS.
 *
 * Does not read or write files: see spool/.  The submitter owns a job
 * until it comes back through the done callback.
 */
#ifndef DKIMQ_WORKERS_H
#define DKIMQ_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "conf/config.h"
#include "dkim/dkim.h"
#include "dns/dns.h"

enum wrk_mode {
	WRK_SIGN = 0,
	WRK_VERIFY,
};

#define WRK_IOV_MAX 5

/* What the pipeline decided for one message. */
struct wrk_result {
	int error;		/* 0, or -errno: the message goes to failed/ */
	char reason[256];	/* why (failure, unsigned, trusted, ...) */
	char domain[256];	/* From domain (sign), recipient's (verify) */
	enum dkim_category category;	/* verify: the category acted on */
	struct cfg_action action;	/* verify: its action (borrowed) */
	size_t nsigs;		/* sign: signatures added */
	struct dkim_report *report;	/* verify: the verdict, or NULL */
	struct iovec iov[WRK_IOV_MAX];	/* the output message, in order */
	int iovcnt;
	uint64_t us;		/* microseconds in the pipeline */
};

/*
 * One message.  The submitter sets mode, buf, len and user; the pool
 * fills res before done().  Private fields follow; allocate jobs with
 * wrk_job_create().
 */
struct wrk_job {
	enum wrk_mode mode;
	const char *buf;	/* the message, owned by the submitter */
	size_t len;
	void *user;
	struct wrk_result res;
	struct wrk_job_priv *priv;
};

/* wrk_job_create - a job with its private state, or NULL. */
struct wrk_job *wrk_job_create(void);

/* wrk_job_free - release j (not j->buf); NULL is allowed. */
void wrk_job_free(struct wrk_job *j);

/*
 * Called on a worker thread when a job is finished, whatever the
 * outcome.  The job (and its res iovecs, which point into buf and into
 * the job) stays valid until the callback returns or, if it keeps it,
 * until wrk_job_free().
 */
typedef void (*wrk_done_fn)(void *arg, struct wrk_job *j);

struct wrk_pool_opts {
	unsigned threads;	/* 0: one per core */
	size_t queue_depth;	/* jobs queued before submit blocks (256) */
	const struct cfg *cfg;	/* borrowed; swap with wrk_pool_set_cfg */
	struct dns_cache *cache;	/* borrowed, shared by all workers */
	wrk_done_fn done;
	void *done_arg;
	time_t now;		/* 0: the clock; fixed for tests */
};

struct wrk_pool;

/*
 * wrk_pool_create - start the workers.  Returns NULL with err set when
 * threads cannot be started.
 */
struct wrk_pool *wrk_pool_create(const struct wrk_pool_opts *o, char *err,
    size_t errlen);

/*
 * wrk_submit - queue j.  Blocks while the queue is full, which is how
 * the reader is held back and memory stays bounded.  Returns 0, or
 * -ESHUTDOWN after wrk_pool_stop().
 */
int wrk_submit(struct wrk_pool *p, struct wrk_job *j);

/*
 * wrk_pool_set_cfg - use cfg for jobs started from now on (SIGHUP).
 * The old configuration stays valid until wrk_pool_quiesce() returns.
 */
void wrk_pool_set_cfg(struct wrk_pool *p, const struct cfg *cfg);

/* wrk_pool_quiesce - wait until every submitted job is done. */
void wrk_pool_quiesce(struct wrk_pool *p);

/* wrk_pool_stop - refuse new jobs, finish queued ones, join threads. */
void wrk_pool_stop(struct wrk_pool *p);

/* wrk_pool_free - stop if needed and release p; NULL is allowed. */
void wrk_pool_free(struct wrk_pool *p);

/*
 * wrk_process_sync - run the pipeline for j on the calling thread,
 * waiting for DNS if needed (tests, one-shot use).  Fills j->res.
 */
void wrk_process_sync(const struct wrk_pool_opts *o, struct wrk_job *j);

/*
 * wrk_recipient_domain - the local domain whose settings verify a
 * message: that of Delivered-To, else X-Original-To, else To; lowercase
 * into buf.  Returns 0 or -ENOENT.
 */
int wrk_recipient_domain(const struct canon_msg *m, char *buf,
    size_t len);

#endif
