// SPDX-License-Identifier: MIT
/*
 * pipeline - one message through the engine: frame it, then sign it
 * with its From domain's active selectors, or verify it under its
 * recipient domain's settings and pick the action of the category that
 * acts.  The output is iovecs over the new fields and the submitter's
 * buffer, never a copy.  Runs on a worker with that thread's signer and
 * verifier; a verification whose keys are not cached parks, then runs
 * again from the top with the answers kept in the job (framing and
 * signature parsing are cheap).  Does not log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workers/workers_int.h"

#define WRK_MAX_SPECS 8

/* The settings used when the configuration has no [domain:*]. */
static const struct cfg_domain default_domain = {
	.name = (char *)"*",
	.verify_dkim = true,
	.verify_domainkeys = false,
	.max_signatures = DKIM_DEFAULT_SIGNATURES,
};

/* wrk_now_us - monotonic microseconds */
uint64_t
wrk_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* fail - the message cannot be processed: it goes to failed/ */
static void
fail(struct wrk_job *j, int err, const char *reason)
{
	j->res.error = err;
	j->res.dest = WRK_DEST_FAILED;
	snprintf(j->res.reason, sizeof(j->res.reason), "%s", reason);
	j->res.iovcnt = 0;
}

/* finish - the output iovecs, with the action's subject prefix */
static int
finish(struct wrk_job *j, const char *prefix)
{
	struct wrk_job_priv *p = j->priv;
	const char *eol = p->m.crlf || p->m.nfields == 0 ? "\r\n" : "\n";
	int rc;

	p->pfx.len = 0;
	if (prefix != NULL && prefix[0] != '\0') {
		rc = dkim_buf_fmt(&p->pfx, "%s ", prefix);
		if (rc != 0) {
			return rc;
		}
	}
	rc = wrk_splice(&p->m, p->hdr.data, p->hdr.len,
	    p->pfx.len ? p->pfx.data : NULL, p->pfx.len, j->res.iov,
	    &j->res.iovcnt);
	if (rc != -ENOENT) {
		return 0;
	}

	/* No Subject field to splice into: add one carrying the prefix. */
	rc = dkim_buf_fmt(&p->hdr, "Subject: %s%s", prefix, eol);
	if (rc != 0) {
		return rc;
	}
	wrk_splice(&p->m, p->hdr.data, p->hdr.len, NULL, 0, j->res.iov,
	    &j->res.iovcnt);
	return 0;
}

/* signed_report - describe the signatures made, for the journal */
static void
signed_report(struct wrk_job *j, const struct dkim_sign_spec *specs,
    size_t n)
{
	struct wrk_job_priv *p = j->priv;
	struct dkim_sig_result *s;

	if (p->report == NULL) {
		p->report = malloc(sizeof(*p->report));
		if (p->report == NULL) {
			return;		/* the journal then lists none */
		}
	}
	p->report->result = DKIM_RES_NONE;
	p->report->nsigs = n;
	for (size_t i = 0; i < n; i++) {
		s = &p->report->sigs[i];
		memset(s, 0, sizeof(*s));
		s->type = specs[i].type;
		s->result = DKIM_RES_NONE;
		s->category = DKIM_CAT_NONE;
		snprintf(s->sdid, sizeof(s->sdid), "%s", specs[i].sdid);
		snprintf(s->selector, sizeof(s->selector), "%s",
		    specs[i].selector);
		snprintf(s->alg, sizeof(s->alg), "%s",
		    dkim_alg_name(specs[i].alg));
		snprintf(s->reason, sizeof(s->reason), "signed");
	}
	j->res.report = p->report;
}

/* run_sign - sign with the From domain's selectors */
static void
run_sign(struct wrk_ctx *ctx, struct wrk_job *j)
{
	struct wrk_job_priv *p = j->priv;
	struct dkim_sign_spec specs[WRK_MAX_SPECS];
	const char *why = NULL, *out;
	char err[256];
	size_t n, out_len;
	int rc;

	j->res.dest = WRK_DEST_OUT;
	rc = dkim_from_domain(&p->m, j->res.domain, sizeof(j->res.domain));
	if (rc != 0) {
		j->res.domain[0] = '\0';
		snprintf(j->res.reason, sizeof(j->res.reason),
		    "unsigned: no From address");
		finish(j, NULL);
		return;
	}
	n = p->cfg == NULL ? 0 : cfg_sign_specs(p->cfg, j->res.domain,
	    specs, WRK_MAX_SPECS, &why);
	if (n == 0) {
		snprintf(j->res.reason, sizeof(j->res.reason), "unsigned: %s",
		    why ? why : "no configuration to sign with");
		finish(j, NULL);
		return;
	}
	rc = dkim_sign(ctx->signer, &p->m, specs, n, ctx->now, &out, &out_len,
	    err, sizeof(err));
	if (rc != 0) {
		fail(j, rc, rc == -EINVAL ? err : "sign: out of memory");
		return;
	}
	if (dkim_buf_add(&p->hdr, out, out_len) != 0) {
		fail(j, -ENOMEM, "out of memory");
		return;
	}
	j->res.nsigs = n;
	signed_report(j, specs, n);
	if (finish(j, NULL) != 0) {
		fail(j, -ENOMEM, "out of memory");
	}
}

/* answer_failed - stand in for a lookup that could not be started */
static void
answer_failed(struct dns_key_result *a, const char *why)
{
	memset(a, 0, sizeof(*a));
	a->status = DNS_SERVFAIL;
	snprintf(a->reason, sizeof(a->reason), "%s", why);
}

/* key_cb - an answer from the cache; the last one resumes the job */
static void
key_cb(void *arg, const struct dns_key_result *r)
{
	struct wrk_wait *w = arg;
	struct wrk_job_priv *p = w->job->priv;

	if (dns_key_result_copy(&p->answers[w->index], r) != 0) {
		answer_failed(&p->answers[w->index], "out of memory");
	}
	if (atomic_fetch_sub(&p->pending, 1) == 1) {
		wrk_resume(w->job);
	}
}

/*
 * fetch_keys - ask for every key of queries q.  Returns true when all
 * answers are in, false when the job is parked (the last callback
 * resumes it).  The pending count starts one above the number of
 * queries so that an inline callback cannot resume the job before
 * every lookup has been started.
 */
static bool
fetch_keys(struct wrk_ctx *ctx, struct wrk_job *j,
    const struct dkim_key_query *q, size_t nq)
{
	struct wrk_job_priv *p = j->priv;
	int rc;

	p->nanswers = nq;
	if (ctx->cache == NULL) {
		for (size_t i = 0; i < nq; i++) {
			rc = ctx->src == NULL ? -ENOENT :
			    dns_key_fetch(ctx->src, q[i].kind, q[i].qname,
			    &p->answers[i]);
			if (rc != 0) {
				answer_failed(&p->answers[i], "no key source");
			}
		}
		return true;
	}
	atomic_store(&p->pending, nq + 1);
	for (size_t i = 0; i < nq; i++) {
		p->waits[i].job = j;
		p->waits[i].index = i;
		rc = dns_cache_lookup(ctx->cache, q[i].kind, q[i].qname,
		    &p->answers[i], key_cb, &p->waits[i]);
		if (rc == -EINPROGRESS) {
			continue;
		}
		if (rc != 0) {
			answer_failed(&p->answers[i], "out of memory");
		}
		atomic_fetch_sub(&p->pending, 1);
	}
	return atomic_fetch_sub(&p->pending, 1) == 1;
}

/* verify_opts - the recipient domain's settings into p->vo */
static const struct cfg_domain *
verify_opts(struct wrk_ctx *ctx, struct wrk_job *j)
{
	struct wrk_job_priv *p = j->priv;
	const struct cfg_domain *d = NULL;

	if (wrk_recipient_domain(&p->m, j->res.domain,
	    sizeof(j->res.domain)) != 0) {
		j->res.domain[0] = '\0';
	}
	if (p->cfg != NULL) {
		d = cfg_domain_find(p->cfg, j->res.domain[0] ?
		    j->res.domain : "*", true);
	}
	if (d == NULL) {
		d = &default_domain;
	}
	memset(&p->vo, 0, sizeof(p->vo));
	p->vo.max_signatures = d->max_signatures;
	p->vo.dkim = d->verify_dkim;
	p->vo.domainkeys = d->verify_domainkeys;
	p->vo.allow_sha1 = p->cfg ? p->cfg->allow_sha1 : false;
	p->vo.legacy = p->cfg ? p->cfg->legacy : false;
	p->vo.now = ctx->now;
	return d;
}

/* act - headers and destination for the category that acts */
static int
act(struct wrk_job *j, const struct cfg_domain *d, bool verified)
{
	struct wrk_job_priv *p = j->priv;
	const char *eol = p->m.crlf || p->m.nfields == 0 ? "\r\n" : "\n";
	const struct cfg_action *a;
	const char *cat, *id;
	char host[256];
	int rc = 0;

	j->res.category = verified ? wrk_category(p->report) : DKIM_CAT_NONE;
	a = &d->actions[j->res.category];
	j->res.action = *a;
	j->res.dest = wrk_dest_of(a, j->res.category, &j->res.smtp_code);
	cat = dkim_category_name(j->res.category);

	switch (a->kind) {
	case CFG_ACT_HEADER:
		id = p->cfg && p->cfg->authserv_id ? p->cfg->authserv_id : NULL;
		if (id == NULL) {
			host[sizeof(host) - 1] = '\0';
			if (gethostname(host, sizeof(host) - 1) != 0) {
				snprintf(host, sizeof(host), "localhost");
			}
			id = host;
		}
		rc = dkim_auth_results(&p->hdr, id, p->report, p->vo.dkim,
		    p->vo.domainkeys, eol[0] == '\r');
		rc = rc ? rc : dkim_buf_fmt(&p->hdr, "X-DKIM-Result: %s%s",
		    cat, eol);
		break;
	case CFG_ACT_FORWARD:
		rc = dkim_buf_fmt(&p->hdr, "X-DKIMQ-Forward-To: %s%s",
		    a->arg ? a->arg : "", eol);
		break;
	case CFG_ACT_REJECT:
		rc = dkim_buf_fmt(&p->hdr, "X-DKIMQ-Reject: %d %s dkim=%s%s",
		    j->res.smtp_code, j->res.smtp_code == 452 ? "4.7.5" :
		    "5.7.1", cat, eol);
		break;
	default:
		break;
	}
	if (rc != 0) {
		return rc;
	}
	return finish(j, j->res.dest == WRK_DEST_DELETE ? NULL : a->prefix);
}

/* run_verify - verify, then act; false when parked for keys */
static bool
run_verify(struct wrk_ctx *ctx, struct wrk_job *j)
{
	struct wrk_job_priv *p = j->priv;
	const struct dkim_key_query *q;
	const struct cfg_domain *d;
	int nq, rc;

	d = verify_opts(ctx, j);
	if (wrk_trusted_sender(p->cfg, &p->m)) {
		j->res.trusted = true;
		j->res.category = DKIM_CAT_NONE;
		j->res.dest = WRK_DEST_OUT;
		snprintf(j->res.reason, sizeof(j->res.reason),
		    "trusted sender: not verified");
		finish(j, NULL);
		return true;
	}
	if (p->report == NULL) {
		p->report = malloc(sizeof(*p->report));
		if (p->report == NULL) {
			fail(j, -ENOMEM, "out of memory");
			return true;
		}
	}
	/* Only the counted entries are ever read: no 64 KiB memset. */
	p->report->result = DKIM_RES_NONE;
	p->report->nsigs = 0;
	j->res.report = p->report;
	if (!p->vo.dkim && !p->vo.domainkeys) {
		rc = act(j, d, false);
		goto out;
	}
	nq = dkim_verify_begin(ctx->verifier, &p->m, &p->vo, &q);
	if (nq < 0) {
		fail(j, nq, "verify: out of memory");
		return true;
	}

	/*
	 * A resumed job parses its signatures again; the queries come out
	 * the same, in the same order, so the kept answers fit them.
	 */
	if (!p->have_answers) {
		p->have_answers = true;
		if (!fetch_keys(ctx, j, q, (size_t)nq)) {
			return false;	/* j may already run elsewhere */
		}
	}
	for (size_t i = 0; i < (size_t)nq && i < p->nanswers; i++) {
		dkim_verify_key(ctx->verifier, i, &p->answers[i]);
	}
	rc = dkim_verify_end(ctx->verifier, p->report);
	rc = rc ? rc : act(j, d, true);
out:
	if (rc != 0) {
		fail(j, rc, "out of memory");
	}
	return true;
}

/* wrk_run - one step of the pipeline */
bool
wrk_run(struct wrk_ctx *ctx, struct wrk_job *j)
{
	struct wrk_job_priv *p = j->priv;
	bool finished = true;

	if (!p->have_answers) {
		memset(&j->res, 0, sizeof(j->res));
		p->t0 = wrk_now_us();
	}
	p->hdr.len = 0;
	if (canon_msg_parse(&p->m, j->buf, j->len) != 0) {
		fail(j, -ENOMEM, "out of memory");
		goto done;
	}
	if (j->len == 0) {
		fail(j, -ENODATA, "empty message");
		goto done;
	}
	if (j->mode == WRK_SIGN) {
		run_sign(ctx, j);
	} else {
		finished = run_verify(ctx, j);
	}
	if (!finished) {
		return false;
	}
done:
	p->have_answers = false;
	for (size_t i = 0; i < p->nanswers; i++) {
		dns_key_free(&p->answers[i].key);
	}
	p->nanswers = 0;
	j->res.us = wrk_now_us() - p->t0;
	return true;
}
