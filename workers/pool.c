// SPDX-License-Identifier: MIT
/*
 * pool - the worker threads and their bounded queue.  One mutex guards
 * two FIFOs (new jobs, and parked jobs whose keys have arrived, which
 * go first), the in-flight count that bounds memory, and the current
 * configuration with the number of started jobs bound to each one.
 * Each thread owns a signer and a verifier for its whole life.
 * Limitations: one lock for the queue; at the message rates of a
 * sidecar (crypto dominates) it is not contended.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "workers/workers_int.h"

struct wrk_fifo {
	struct wrk_job *head;
	struct wrk_job *tail;
};

struct wrk_pool {
	struct wrk_pool_opts o;
	pthread_mutex_t mu;
	pthread_cond_t work;		/* a job is queued, or stopping */
	pthread_cond_t space;		/* in-flight fell to the low mark */
	pthread_cond_t idle;		/* in-flight or a config's users fell */
	struct wrk_fifo fresh;
	struct wrk_fifo resumed;
	size_t inflight;		/* submitted, not yet done */
	size_t low_mark;		/* wake a blocked submitter here */
	bool stopping;
	bool joined;
	struct wrk_cfg_ref *cref;
	pthread_t *tids;
	unsigned nthreads;
};

/* fifo_push - append j */
static void
fifo_push(struct wrk_fifo *f, struct wrk_job *j)
{
	j->priv->next = NULL;
	if (f->tail != NULL) {
		f->tail->priv->next = j;
	} else {
		f->head = j;
	}
	f->tail = j;
}

/* fifo_pop - the first job, or NULL */
static struct wrk_job *
fifo_pop(struct wrk_fifo *f)
{
	struct wrk_job *j = f->head;

	if (j != NULL) {
		f->head = j->priv->next;
		if (f->head == NULL) {
			f->tail = NULL;
		}
	}
	return j;
}

/* wrk_job_create - a job and its private state */
struct wrk_job *
wrk_job_create(void)
{
	struct wrk_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		return NULL;
	}
	j->priv = calloc(1, sizeof(*j->priv));
	if (j->priv == NULL) {
		free(j);
		return NULL;
	}
	canon_msg_init(&j->priv->m);
	return j;
}

/* wrk_job_free - release a job */
void
wrk_job_free(struct wrk_job *j)
{
	if (j == NULL) {
		return;
	}
	canon_msg_free(&j->priv->m);
	dkim_buf_free(&j->priv->hdr);
	dkim_buf_free(&j->priv->pfx);
	for (size_t i = 0; i < j->priv->nanswers; i++) {
		dns_key_free(&j->priv->answers[i].key);
	}
	free(j->priv->report);
	free(j->priv);
	free(j);
}

/* ctx_init - a thread's engine objects; -ENOMEM */
static int
ctx_init(struct wrk_ctx *ctx, const struct wrk_pool_opts *o)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->signer = dkim_signer_create();
	ctx->verifier = dkim_verifier_create();
	ctx->cache = o->cache;
	ctx->src = o->src;
	ctx->now = o->now;
	if (ctx->signer == NULL || ctx->verifier == NULL) {
		dkim_signer_free(ctx->signer);
		dkim_verifier_free(ctx->verifier);
		return -ENOMEM;
	}
	return 0;
}

/* ctx_free - release a thread's engine objects */
static void
ctx_free(struct wrk_ctx *ctx)
{
	dkim_signer_free(ctx->signer);
	dkim_verifier_free(ctx->verifier);
}

/* wrk_resume - put a parked job back, ahead of new ones */
void
wrk_resume(struct wrk_job *j)
{
	struct wrk_job_priv *p = j->priv;
	struct wrk_sync *s = p->sync;
	struct wrk_pool *pool = p->pool;

	if (s != NULL) {
		pthread_mutex_lock(&s->mu);
		s->ready = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	pthread_mutex_lock(&pool->mu);
	fifo_push(&pool->resumed, j);
	pthread_cond_signal(&pool->work);
	pthread_mutex_unlock(&pool->mu);
}

/* job_done - hand j back and release its slot and configuration */
static void
job_done(struct wrk_pool *p, struct wrk_job *j)
{
	struct wrk_cfg_ref *cref = j->priv->cref;

	p->o.done(p->o.done_arg, j);
	pthread_mutex_lock(&p->mu);
	cref->users--;
	if (cref != p->cref && cref->users == 0) {
		pthread_cond_broadcast(&p->idle);
	}
	p->inflight--;
	if (p->inflight == p->low_mark) {
		pthread_cond_broadcast(&p->space);
	}
	if (p->inflight == 0) {
		pthread_cond_broadcast(&p->idle);
		pthread_cond_broadcast(&p->work);
	}
	pthread_mutex_unlock(&p->mu);
}

/* take - the next job for a worker, or NULL when it should exit */
static struct wrk_job *
take(struct wrk_pool *p)
{
	struct wrk_job *j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		j = fifo_pop(&p->resumed);
		if (j != NULL) {
			break;
		}
		j = fifo_pop(&p->fresh);
		if (j != NULL) {
			j->priv->cref = p->cref;
			j->priv->cfg = p->cref->cfg;
			p->cref->users++;
			break;
		}
		if (p->stopping && p->inflight == 0) {
			break;
		}
		pthread_cond_wait(&p->work, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return j;
}

/* worker - the thread body */
static void *
worker(void *arg)
{
	struct wrk_pool *p = arg;
	struct wrk_ctx ctx;
	struct wrk_job *j;

	if (ctx_init(&ctx, &p->o) != 0) {
		panic("workers: out of memory at thread start");
	}
	while ((j = take(p)) != NULL) {
		if (wrk_run(&ctx, j)) {
			job_done(p, j);
		}
	}
	ctx_free(&ctx);
	return NULL;
}

/* wrk_pool_create - start the workers */
struct wrk_pool *
wrk_pool_create(const struct wrk_pool_opts *o, char *err, size_t errlen)
{
	struct wrk_pool *p = calloc(1, sizeof(*p));
	long cores;
	int rc;

	if (p == NULL || (p->cref = calloc(1, sizeof(*p->cref))) == NULL) {
		free(p);
		snprintf(err, errlen, "workers: out of memory");
		return NULL;
	}
	p->o = *o;
	if (p->o.queue_depth == 0) {
		p->o.queue_depth = 256;
	}
	/*
	 * A submitter blocked on a full queue is woken once an eighth of
	 * it is free, not for every job done: it then queues a batch
	 * without sleeping, instead of a context switch per message.
	 */
	p->low_mark = p->o.queue_depth - 1 - (p->o.queue_depth - 1) / 8;
	p->cref->cfg = o->cfg;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->space, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->nthreads = o->threads;
	if (p->nthreads == 0) {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		p->nthreads = cores > 0 ? (unsigned)cores : 1;
	}
	p->tids = calloc(p->nthreads, sizeof(*p->tids));
	if (p->tids == NULL) {
		snprintf(err, errlen, "workers: out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < p->nthreads; i++) {
		rc = pthread_create(&p->tids[i], NULL, worker, p);
		if (rc != 0) {
			snprintf(err, errlen, "workers: pthread_create: %s",
			    strerror(rc));
			p->nthreads = i;
			wrk_pool_stop(p);
			goto fail;
		}
	}
	return p;
fail:
	free(p->tids);
	free(p->cref);
	free(p);
	return NULL;
}

/* wrk_submit - queue a job, waiting for room */
int
wrk_submit(struct wrk_pool *p, struct wrk_job *j)
{
	pthread_mutex_lock(&p->mu);
	while (!p->stopping && p->inflight >= p->o.queue_depth) {
		pthread_cond_wait(&p->space, &p->mu);
	}
	if (p->stopping) {
		pthread_mutex_unlock(&p->mu);
		return -ESHUTDOWN;
	}
	j->priv->pool = p;
	j->priv->sync = NULL;
	j->priv->have_answers = false;
	p->inflight++;
	fifo_push(&p->fresh, j);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* wrk_pool_set_cfg - swap the configuration for new jobs */
const struct cfg *
wrk_pool_set_cfg(struct wrk_pool *p, const struct cfg *cfg)
{
	struct wrk_cfg_ref *nref = calloc(1, sizeof(*nref));
	struct wrk_cfg_ref *old;
	const struct cfg *prev;

	if (nref == NULL) {
		panic("workers: out of memory swapping configuration");
	}
	nref->cfg = cfg;
	pthread_mutex_lock(&p->mu);
	old = p->cref;
	p->cref = nref;
	while (old->users > 0) {
		pthread_cond_wait(&p->idle, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	prev = old->cfg;
	free(old);
	return prev;
}

/* wrk_pool_quiesce - wait for every submitted job */
void
wrk_pool_quiesce(struct wrk_pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->inflight > 0) {
		pthread_cond_wait(&p->idle, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

/* wrk_pool_stop - drain and join */
void
wrk_pool_stop(struct wrk_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->space);
	if (p->joined) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	p->joined = true;
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++) {
		pthread_join(p->tids[i], NULL);
	}
}

/* wrk_pool_free - release the pool */
void
wrk_pool_free(struct wrk_pool *p)
{
	if (p == NULL) {
		return;
	}
	wrk_pool_stop(p);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->space);
	pthread_cond_destroy(&p->idle);
	free(p->cref);
	free(p->tids);
	free(p);
}

/* wrk_pool_threads - the number of workers */
unsigned
wrk_pool_threads(const struct wrk_pool *p)
{
	return p->nthreads;
}

/* wrk_process_sync - the pipeline on the calling thread */
void
wrk_process_sync(const struct wrk_pool_opts *o, struct wrk_job *j)
{
	struct wrk_sync s = { .ready = false };
	struct wrk_cfg_ref ref = { .cfg = o->cfg, .users = 1 };
	struct wrk_ctx ctx;

	if (ctx_init(&ctx, o) != 0) {
		memset(&j->res, 0, sizeof(j->res));
		j->res.error = -ENOMEM;
		j->res.dest = WRK_DEST_FAILED;
		snprintf(j->res.reason, sizeof(j->res.reason), "out of memory");
		return;
	}
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	j->priv->pool = NULL;
	j->priv->sync = &s;
	j->priv->cref = &ref;
	j->priv->cfg = o->cfg;
	j->priv->have_answers = false;
	while (!wrk_run(&ctx, j)) {
		pthread_mutex_lock(&s.mu);
		while (!s.ready) {
			pthread_cond_wait(&s.cv, &s.mu);
		}
		s.ready = false;
		pthread_mutex_unlock(&s.mu);
	}
	j->priv->sync = NULL;
	j->priv->cref = NULL;
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
	ctx_free(&ctx);
}
