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
 * Does not read or write files, and does not log per message: see
 * spool/.  The submitter owns a job until it comes back through the
 * done callback.
 *
 * Policy (which category acts): a verified message is acted on with the
 * category of its best signature, best meaning the signature whose
 * result is the report's overall one (pass, then fail, temperror,
 * permerror: see dkim_report); an unsigned message is "none".
 */
#ifndef DKIMQ_WORKERS_H
#define DKIMQ_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#include "conf/config.h"
#include "dkim/dkim.h"
#include "dns/dns.h"

enum wrk_mode {
	WRK_SIGN = 0,
	WRK_VERIFY,
};

/* Where the pipeline sends a message (the spool maps these to folders). */
enum wrk_dest {
	WRK_DEST_OUT = 0,	/* out/: signed, verified, passed on */
	WRK_DEST_QUARANTINE,	/* quarantine/NAME/: mailbox:NAME */
	WRK_DEST_FORWARD,	/* forward/: forward:ADDRESS */
	WRK_DEST_REJECTED,	/* rejected/: reject, with smtp_code */
	WRK_DEST_DELETE,	/* nowhere; only journaled */
	WRK_DEST_FAILED,	/* failed/: error is set */
};

#define WRK_IOV_MAX 5

/*
 * What the pipeline decided for one message.  Every pointer in it
 * (iovecs, action strings, report) stays valid until the done callback
 * returns, or until wrk_job_free() when the callback keeps the job; the
 * action strings belong to the configuration the job ran under, which
 * may be released once done() has returned.
 */
struct wrk_result {
	int error;		/* 0, or -errno: the message goes to failed/ */
	char reason[256];	/* why (failure, unsigned, trusted, ...) */
	char domain[256];	/* From domain (sign), recipient's (verify) */
	enum wrk_dest dest;
	enum dkim_category category;	/* verify: the category acted on */
	struct cfg_action action;	/* verify: its action (borrowed) */
	int smtp_code;		/* reject: 550, or 452 for dns_unreachable */
	bool trusted;		/* verify: a trusted sender, not verified */
	size_t nsigs;		/* sign: signatures added */
	/* verify: the verdict; sign: the signatures made (result none,
	 * reason "signed"); or NULL */
	struct dkim_report *report;
	struct iovec iov[WRK_IOV_MAX];	/* the output message, in order */
	int iovcnt;
	uint64_t us;		/* microseconds in the pipeline */
};

/*
 * One message.  The submitter sets mode, buf, len and user; the pool
 * fills res before done().  A job may be reused for another message
 * after done() (set buf and len again).  Private fields follow;
 * allocate jobs with wrk_job_create().
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
 * until wrk_job_free(); the callback may also free it itself (the pool
 * does not touch j after done() returns).  It may block (the spool
 * writes the output here); while it runs, that worker takes no other
 * job.  It must not call wrk_submit() on the same pool when the queue
 * may be full.
 */
typedef void (*wrk_done_fn)(void *arg, struct wrk_job *j);

struct wrk_pool_opts {
	unsigned threads;	/* 0: one per core */
	size_t queue_depth;	/* jobs in flight before submit blocks (256) */
	const struct cfg *cfg;	/* borrowed, or NULL (verify defaults) */
	struct dns_cache *cache;	/* borrowed, shared; or NULL */
	struct dns_source *src;	/* borrowed; used when cache is NULL */
	wrk_done_fn done;
	void *done_arg;
	time_t now;		/* 0: the clock; fixed for tests */
};

struct wrk_pool;

/*
 * wrk_pool_create - start the workers.  o is copied.  Keys come from
 * o->cache (asynchronous: a message whose key is missing is parked
 * while it is fetched) or, when it is NULL, from o->src with a blocking
 * lookup on the worker (zone files, tests).  With no configuration
 * nothing is signed (the reason says so) and verification takes the
 * defaults: DKIM only, 5 signatures, the header action for every
 * category, the host name as authserv-id.  Returns NULL with err set
 * when memory is short or threads cannot be started.
 */
struct wrk_pool *wrk_pool_create(const struct wrk_pool_opts *o, char *err,
    size_t errlen);

/*
 * wrk_submit - queue j.  Blocks while queue_depth jobs are in flight
 * (queued, running, or parked for DNS), which is how the reader is
 * held back and memory stays bounded: at most queue_depth message
 * buffers are in the pool.  Returns 0, or -ESHUTDOWN after
 * wrk_pool_stop() began.
 */
int wrk_submit(struct wrk_pool *p, struct wrk_job *j);

/*
 * wrk_pool_set_cfg - use cfg (borrowed) for jobs started from now on
 * (SIGHUP).  Jobs already started keep the configuration they began
 * with.  Blocks until none of them runs any more, then returns the
 * previous configuration, which the caller may free.  Must not be
 * called from a done callback.
 */
const struct cfg *wrk_pool_set_cfg(struct wrk_pool *p,
    const struct cfg *cfg);

/* wrk_pool_quiesce - wait until every submitted job is done. */
void wrk_pool_quiesce(struct wrk_pool *p);

/* wrk_pool_stop - refuse new jobs, finish queued ones, join threads. */
void wrk_pool_stop(struct wrk_pool *p);

/* wrk_pool_free - stop if needed and release p; NULL is allowed. */
void wrk_pool_free(struct wrk_pool *p);

/* wrk_pool_threads - the number of worker threads running. */
unsigned wrk_pool_threads(const struct wrk_pool *p);

/*
 * wrk_process_sync - run the pipeline for j on the calling thread,
 * waiting for DNS if needed (tests, one-shot use).  Fills j->res; o->done
 * is not called.  Blocks.
 */
void wrk_process_sync(const struct wrk_pool_opts *o, struct wrk_job *j);

/* ---- policy, exported for the spool and for tests ---- */

/*
 * wrk_recipient_domain - the local domain whose settings verify a
 * message: that of Delivered-To, else X-Original-To, else To; lowercase
 * into buf.  Returns 0, -ENOENT, or -ENAMETOOLONG.
 */
int wrk_recipient_domain(const struct canon_msg *m, char *buf,
    size_t len);

/*
 * wrk_trusted_sender - whether the From address of m matches one of
 * c's trusted_senders: an entry "user@domain" matches that address, an
 * entry "@domain" every address of the domain (ASCII case-insensitive).
 */
bool wrk_trusted_sender(const struct cfg *c, const struct canon_msg *m);

/*
 * wrk_category - the category acted on for report r (NULL or no
 * signature: none): that of the first signature whose result is the
 * report's overall result.
 */
enum dkim_category wrk_category(const struct dkim_report *r);

/*
 * wrk_dest_of - the destination an action sends a message to, and in
 * *smtp_code (may be NULL) the code a reject records: 452 for
 * dns_unreachable, else 550 (0 for other actions).
 */
enum wrk_dest wrk_dest_of(const struct cfg_action *a,
    enum dkim_category cat, int *smtp_code);

/*
 * wrk_splice - describe the output as iovecs: hdr (new header fields;
 * hdr_len may be 0) then m's bytes, with pfx (the "prefix " text, or
 * NULL) spliced in front of the value of the first Subject field, after
 * the colon and its leading blanks.  Fills iov (WRK_IOV_MAX entries)
 * and *iovcnt; every pointer is borrowed.  Returns 0, or -ENOENT when
 * pfx is given but m has no Subject field (iov then holds no prefix;
 * the caller adds a Subject field of its own).
 */
int wrk_splice(const struct canon_msg *m, const char *hdr, size_t hdr_len,
    const char *pfx, size_t pfx_len, struct iovec *iov, int *iovcnt);

#endif
