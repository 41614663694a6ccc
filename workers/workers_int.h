/* SPDX-License-Identifier: MIT */
/*
 * workers_int - what pool.c and pipeline.c share: a job's private
 * state and the per-thread engine context.  Private to workers/.
 */
#ifndef DKIMQ_WORKERS_INT_H
#define DKIMQ_WORKERS_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "workers/workers.h"

/* A configuration and the number of started jobs bound to it. */
struct wrk_cfg_ref {
	const struct cfg *cfg;
	size_t users;
};

/* One pending key lookup: the callback's argument. */
struct wrk_wait {
	struct wrk_job *job;
	size_t index;
};

/* A waiter for wrk_process_sync(). */
struct wrk_sync {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool ready;
};

struct wrk_job_priv {
	struct wrk_job *next;		/* queue link */
	struct wrk_pool *pool;		/* NULL under wrk_process_sync */
	struct wrk_sync *sync;
	struct wrk_cfg_ref *cref;	/* bound when the job starts */
	const struct cfg *cfg;
	struct canon_msg m;
	struct dkim_buf hdr;		/* the new header fields */
	struct dkim_buf pfx;		/* "prefix " */
	struct dkim_report *report;
	struct dkim_verify_opts vo;
	struct dns_key_result answers[DKIM_MAX_SIGNATURES];
	struct wrk_wait waits[DKIM_MAX_SIGNATURES];
	size_t nanswers;
	bool have_answers;		/* resumed after DNS */
	atomic_size_t pending;
	uint64_t t0;
};

/* The engine objects of one thread. */
struct wrk_ctx {
	struct dkim_signer *signer;
	struct dkim_verifier *verifier;
	struct dns_cache *cache;
	struct dns_source *src;
	time_t now;
};

/*
 * wrk_run - one step of the pipeline for j under ctx.  Returns true
 * when j is finished (res filled), false when it is parked waiting for
 * keys; wrk_resume(j) is then called once the last answer is in.
 */
bool wrk_run(struct wrk_ctx *ctx, struct wrk_job *j);

/* wrk_resume - a parked job has all its answers (pool.c). */
void wrk_resume(struct wrk_job *j);

/* wrk_now_us - a monotonic clock in microseconds. */
uint64_t wrk_now_us(void);

#endif
