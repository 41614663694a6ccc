/* SPDX-License-Identifier: MIT */
/*
 * workers_test - the pool, pipeline and policy of workers/: whose
 * settings verify a message, trusted senders, the category that acts
 * and where its action sends the message, the subject splice over the
 * buffer, and whole messages signed and verified through the pool and
 * through wrk_process_sync with keys from a zone (via the key cache).
 * Keys are made with the dkimq binary in a temporary directory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "workers/workers.h"

#ifndef DKIMQ_BIN
#error "DKIMQ_BIN must name the dkimq binary"
#endif

/* ---- helpers ---- */

/* parse - frame a NUL-terminated message */
static void
parse(struct canon_msg *m, const char *text)
{
	canon_msg_init(m);
	cr_assert_eq(canon_msg_parse(m, text, strlen(text)), 0);
}

/* joined - the iovecs as one string (malloc'd) */
static char *
joined(const struct iovec *iov, int n)
{
	size_t len = 0, off = 0;
	char *s;

	for (int i = 0; i < n; i++) {
		len += iov[i].iov_len;
	}
	s = malloc(len + 1);
	cr_assert_not_null(s);
	for (int i = 0; i < n; i++) {
		memcpy(s + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	s[len] = '\0';
	return s;
}

static char tmpdir[] = "/tmp/dkimq-workers.XXXXXX";
static char conf_path[300], zone_path[300];

/* setup_keys - a key, its zone and a configuration in tmpdir */
static void
setup_keys(const char *extra)
{
	char cmd[1200];
	FILE *fp;

	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(zone_path, sizeof(zone_path), "%s/keys.zone", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/dkimq.conf", tmpdir);
	snprintf(cmd, sizeof(cmd), "%s keygen --type ed25519 --domain "
	    "example.com --selector ed1 --out %s >%s 2>/dev/null && "
	    "echo 'down._domainkey.example.org TIMEOUT' >>%s",
	    DKIMQ_BIN, tmpdir, zone_path, zone_path);
	cr_assert_eq(system(cmd), 0, "keygen failed");
	fp = fopen(conf_path, "w");
	cr_assert_not_null(fp);
	fprintf(fp, "[dkimq]\nspool = %s/spool\nauthserv_id = mx.test\n"
	    "trusted_senders = boss@trusted.example, @friends.example\n"
	    "[dns]\nzone_file = %s\n"
	    "[selector:ed1]\ntype = dkim\nrecord = ed1\nkey = %s/ed1.private\n"
	    "algorithm = ed25519-sha256\ndomains = example.com\n"
	    "[domain:example.com]\ndkim_selector = ed1\n"
	    "[domain:*]\n%s\n", tmpdir, zone_path, tmpdir, extra);
	fclose(fp);
}

/* teardown_keys - remove tmpdir */
static void
teardown_keys(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_assert_eq(system(cmd), 0);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

static const char plain_msg[] =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.net\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "Hi Bob.\r\n";

/* ---- policy ---- */

Test(policy, recipient_domain_prefers_delivered_to)
{
	struct canon_msg m;
	char dom[64];

	parse(&m, "To: a@To.example\nX-Original-To: b@orig.example\n"
	    "Delivered-To: c@Deliv.EXAMPLE\n\nbody\n");
	cr_assert_eq(wrk_recipient_domain(&m, dom, sizeof(dom)), 0);
	cr_assert_str_eq(dom, "deliv.example");
	canon_msg_free(&m);
}

Test(policy, recipient_domain_falls_back_to_original_then_to)
{
	struct canon_msg m;
	char dom[64];

	parse(&m, "To: Bob <b@To.example>\nX-Original-To: x@orig.example\n"
	    "\nbody\n");
	cr_assert_eq(wrk_recipient_domain(&m, dom, sizeof(dom)), 0);
	cr_assert_str_eq(dom, "orig.example");
	canon_msg_free(&m);
	parse(&m, "To: Bob <b@To.example>, c@other.example\n\nbody\n");
	cr_assert_eq(wrk_recipient_domain(&m, dom, sizeof(dom)), 0);
	cr_assert_str_eq(dom, "to.example");
	canon_msg_free(&m);
	parse(&m, "From: a@b.example\n\nbody\n");
	cr_assert_eq(wrk_recipient_domain(&m, dom, sizeof(dom)), -ENOENT);
	canon_msg_free(&m);
}

Test(policy, trusted_senders_match_address_or_domain)
{
	char *list[] = { "boss@trusted.example", "@friends.example" };
	struct cfg c = { .trusted_senders = list, .ntrusted = 2 };
	static const struct {
		const char *from;
		bool trusted;
	} cases[] = {
		{ "From: Boss <BOSS@trusted.example>\n\nb\n", true },
		{ "From: x@friends.example\n\nb\n", true },
		{ "From: other@trusted.example\n\nb\n", false },
		{ "From: x@notfriends.example\n\nb\n", false },
		{ "From: x@friends.example.evil\n\nb\n", false },
		{ "To: boss@trusted.example\n\nb\n", false },
	};
	struct canon_msg m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(&m, cases[i].from);
		cr_expect_eq(wrk_trusted_sender(&c, &m), cases[i].trusted,
		    "case %zu", i);
		canon_msg_free(&m);
	}
}

Test(policy, category_is_the_best_signatures)
{
	static struct dkim_report r;

	cr_assert_eq(wrk_category(NULL), DKIM_CAT_NONE);
	memset(&r, 0, sizeof(r));
	cr_assert_eq(wrk_category(&r), DKIM_CAT_NONE);

	r.nsigs = 3;
	r.sigs[0].result = DKIM_RES_PERMERROR;
	r.sigs[0].category = DKIM_CAT_INVALID_DNS_SELECTOR;
	r.sigs[1].result = DKIM_RES_FAIL;
	r.sigs[1].category = DKIM_CAT_VERIFICATION_FAILED;
	r.sigs[2].result = DKIM_RES_PASS;
	r.sigs[2].category = DKIM_CAT_PASS;
	r.result = DKIM_RES_PASS;
	cr_assert_eq(wrk_category(&r), DKIM_CAT_PASS);
	r.result = DKIM_RES_FAIL;
	cr_assert_eq(wrk_category(&r), DKIM_CAT_VERIFICATION_FAILED);
	r.result = DKIM_RES_PERMERROR;
	cr_assert_eq(wrk_category(&r), DKIM_CAT_INVALID_DNS_SELECTOR);
}

Test(policy, dest_and_smtp_code_per_action)
{
	struct cfg_action a = { 0 };
	int code;

	a.kind = CFG_ACT_HEADER;
	cr_assert_eq(wrk_dest_of(&a, DKIM_CAT_PASS, &code), WRK_DEST_OUT);
	cr_assert_eq(code, 0);
	a.kind = CFG_ACT_NONE;
	cr_assert_eq(wrk_dest_of(&a, DKIM_CAT_PASS, NULL), WRK_DEST_OUT);
	a.kind = CFG_ACT_DELETE;
	cr_assert_eq(wrk_dest_of(&a, DKIM_CAT_NONE, NULL), WRK_DEST_DELETE);
	a.kind = CFG_ACT_FORWARD;
	cr_assert_eq(wrk_dest_of(&a, DKIM_CAT_NONE, NULL), WRK_DEST_FORWARD);
	a.kind = CFG_ACT_MAILBOX;
	cr_assert_eq(wrk_dest_of(&a, DKIM_CAT_NONE, NULL),
	    WRK_DEST_QUARANTINE);
	a.kind = CFG_ACT_REJECT;
	cr_assert_eq(wrk_dest_of(&a, DKIM_CAT_VERIFICATION_FAILED, &code),
	    WRK_DEST_REJECTED);
	cr_assert_eq(code, 550);
	wrk_dest_of(&a, DKIM_CAT_DNS_UNREACHABLE, &code);
	cr_assert_eq(code, 452);
}

Test(policy, subject_splice_points_into_the_buffer)
{
	struct iovec iov[WRK_IOV_MAX];
	struct canon_msg m;
	char *s;
	int n;

	parse(&m, "From: a@b.example\nSubject:   hi there\n\nbody\n");
	cr_assert_eq(wrk_splice(&m, "X: 1\n", 5, "[P] ", 4, iov, &n), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(iov[1].iov_base, m.buf, "no copy of the message");
	s = joined(iov, n);
	cr_assert_str_eq(s, "X: 1\nFrom: a@b.example\nSubject:   [P] hi "
	    "there\n\nbody\n");
	free(s);

	cr_assert_eq(wrk_splice(&m, NULL, 0, NULL, 0, iov, &n), 0);
	cr_assert_eq(n, 1);
	canon_msg_free(&m);

	parse(&m, "From: a@b.example\n\nbody\n");
	cr_assert_eq(wrk_splice(&m, NULL, 0, "[P] ", 4, iov, &n), -ENOENT);
	cr_assert_eq(n, 1);
	canon_msg_free(&m);
}

/* ---- the pipeline ---- */

/* sync_opts - options over the zone through the key cache */
static void
sync_opts(struct wrk_pool_opts *o, struct cfg **c, struct dns_source **src,
    struct dns_cache **cache)
{
	struct dns_fetcher *f = NULL;

	*c = cfg_load(conf_path, true);
	cr_assert_not_null(*c);
	cr_assert_eq((*c)->nerrors, 0, "config: %s",
	    (*c)->nerrors ? (*c)->errors[0] : "");
	cr_assert_eq(dns_zone_open(zone_path, src, NULL, 0), 0);
	cr_assert_eq(dns_fetcher_source(*src, &f), 0);
	*cache = dns_cache_create(NULL, f);
	cr_assert_not_null(*cache);
	memset(o, 0, sizeof(*o));
	o->cfg = *c;
	o->cache = *cache;
}

/* run_one - one message through wrk_process_sync; output in *out */
static void
run_one(const struct wrk_pool_opts *o, enum wrk_mode mode,
    const char *msg, struct wrk_job *j, char **out)
{
	j->mode = mode;
	j->buf = msg;
	j->len = strlen(msg);
	wrk_process_sync(o, j);
	*out = joined(j->res.iov, j->res.iovcnt);
}

Test(pipeline, sign_then_verify_passes)
{
	struct wrk_pool_opts o;
	struct dns_source *src;
	struct dns_cache *cache;
	struct wrk_job *j = wrk_job_create();
	struct cfg *c;
	char *signed_msg, *verified;

	setup_keys("pass = header\npass_prefix = [ok]");
	sync_opts(&o, &c, &src, &cache);
	run_one(&o, WRK_SIGN, plain_msg, j, &signed_msg);
	cr_assert_eq(j->res.error, 0, "%s", j->res.reason);
	cr_assert_eq(j->res.nsigs, 1);
	cr_assert_str_eq(j->res.domain, "example.com");
	cr_assert(strncmp(signed_msg, "DKIM-Signature:", 15) == 0);
	cr_assert_eq(j->res.report->nsigs, 1);
	cr_assert_str_eq(j->res.report->sigs[0].selector, "ed1");

	run_one(&o, WRK_VERIFY, signed_msg, j, &verified);
	cr_assert_eq(j->res.error, 0, "%s", j->res.reason);
	cr_assert_eq(j->res.category, DKIM_CAT_PASS);
	cr_assert_eq(j->res.dest, WRK_DEST_OUT);
	cr_assert_str_eq(j->res.domain, "example.net");
	cr_assert_not_null(strstr(verified, "X-DKIM-Result: pass\r\n"));
	cr_assert_not_null(strstr(verified, "Authentication-Results: mx.test"));
	cr_assert_not_null(strstr(verified, "Subject: [ok] hello\r\n"));
	free(signed_msg);
	free(verified);
	wrk_job_free(j);
	dns_cache_free(cache);
	dns_source_free(src);
	cfg_free(c);
	teardown_keys();
}

Test(pipeline, categories_take_their_actions)
{
	static const char unreachable[] =
	    "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=down;"
	    " h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
	    " b=AAAA\r\n";
	static const char malformed[] =
	    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com\r\n";
	struct wrk_pool_opts o;
	struct dns_source *src;
	struct dns_cache *cache;
	struct wrk_job *j = wrk_job_create();
	struct cfg *c;
	char buf[2048], *out;

	setup_keys("none = mailbox:unsigned\nnone_prefix = [none]\n"
	    "dns_unreachable = reject\ninvalid_signature = forward:pm@x.example");
	sync_opts(&o, &c, &src, &cache);

	run_one(&o, WRK_VERIFY, plain_msg, j, &out);
	cr_assert_eq(j->res.category, DKIM_CAT_NONE);
	cr_assert_eq(j->res.dest, WRK_DEST_QUARANTINE);
	cr_assert_str_eq(j->res.action.arg, "unsigned");
	cr_assert_not_null(strstr(out, "Subject: [none] hello\r\n"));
	free(out);

	snprintf(buf, sizeof(buf), "%s%s", unreachable, plain_msg);
	run_one(&o, WRK_VERIFY, buf, j, &out);
	cr_assert_eq(j->res.category, DKIM_CAT_DNS_UNREACHABLE);
	cr_assert_eq(j->res.dest, WRK_DEST_REJECTED);
	cr_assert_eq(j->res.smtp_code, 452);
	cr_assert_not_null(strstr(out, "X-DKIMQ-Reject: 452 "));
	free(out);

	snprintf(buf, sizeof(buf), "%s%s", malformed, plain_msg);
	run_one(&o, WRK_VERIFY, buf, j, &out);
	cr_assert_eq(j->res.category, DKIM_CAT_INVALID_SIGNATURE);
	cr_assert_eq(j->res.dest, WRK_DEST_FORWARD);
	cr_assert_not_null(strstr(out, "X-DKIMQ-Forward-To: pm@x.example\r\n"));
	free(out);

	run_one(&o, WRK_VERIFY, "From: boss@trusted.example\r\n\r\nhi\r\n",
	    j, &out);
	cr_assert(j->res.trusted);
	cr_assert_eq(j->res.dest, WRK_DEST_OUT);
	cr_assert_str_eq(out, "From: boss@trusted.example\r\n\r\nhi\r\n");
	free(out);

	run_one(&o, WRK_SIGN, "From: a@unknown.example\r\n\r\nhi\r\n", j,
	    &out);
	cr_assert_eq(j->res.error, 0);
	cr_assert_eq(j->res.nsigs, 0);
	cr_assert_not_null(strstr(j->res.reason, "unsigned"));
	free(out);

	wrk_job_free(j);
	dns_cache_free(cache);
	dns_source_free(src);
	cfg_free(c);
	teardown_keys();
}

/* ---- the pool ---- */

struct collect {
	pthread_mutex_t mu;
	size_t done, passed;
};

/* collect_done - count finished jobs and passes */
static void
collect_done(void *arg, struct wrk_job *j)
{
	struct collect *c = arg;

	pthread_mutex_lock(&c->mu);
	c->done++;
	if (j->mode == WRK_SIGN ? j->res.nsigs == 1 :
	    j->res.category == DKIM_CAT_PASS) {
		c->passed++;
	}
	pthread_mutex_unlock(&c->mu);
}

Test(pool, many_jobs_through_a_small_queue)
{
	struct collect col = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct wrk_pool_opts o;
	struct dns_source *src;
	struct dns_cache *cache;
	struct wrk_job *jobs[200], *sj = wrk_job_create();
	struct wrk_pool *p;
	struct cfg *c, *c2;
	char err[200], *signed_msg;

	setup_keys("");
	sync_opts(&o, &c, &src, &cache);
	run_one(&o, WRK_SIGN, plain_msg, sj, &signed_msg);
	o.threads = 2;
	o.queue_depth = 4;
	o.done = collect_done;
	o.done_arg = &col;
	p = wrk_pool_create(&o, err, sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_assert_eq(wrk_pool_threads(p), 2);
	for (size_t i = 0; i < 200; i++) {
		jobs[i] = wrk_job_create();
		jobs[i]->mode = i % 2 ? WRK_VERIFY : WRK_SIGN;
		jobs[i]->buf = i % 2 ? signed_msg : plain_msg;
		jobs[i]->len = strlen(jobs[i]->buf);
		cr_assert_eq(wrk_submit(p, jobs[i]), 0);
		if (i == 100) {
			c2 = cfg_load(conf_path, true);
			cr_assert_eq(wrk_pool_set_cfg(p, c2), c);
			cfg_free(c);
			c = c2;
		}
	}
	wrk_pool_quiesce(p);
	cr_assert_eq(col.done, 200);
	cr_assert_eq(col.passed, 200);
	wrk_pool_stop(p);
	cr_assert_eq(wrk_submit(p, jobs[0]), -ESHUTDOWN);
	wrk_pool_free(p);
	for (size_t i = 0; i < 200; i++) {
		wrk_job_free(jobs[i]);
	}
	free(signed_msg);
	wrk_job_free(sj);
	dns_cache_free(cache);
	dns_source_free(src);
	cfg_free(c);
	teardown_keys();
}
