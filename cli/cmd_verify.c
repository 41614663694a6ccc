// SPDX-License-Identifier: MIT
/*
 * cmd_verify - `dkimq verify`: read one message, verify its signatures
 * with keys from the resolver, a given server or a static zone, and
 * write either the message with an Authentication-Results field on top
 * or (--json) one JSON object.  Exit 0 whenever a verdict was reached.
 * Keys come through the shared key cache (dns/), all queries of the
 * message at once; the cache lives for this one command.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "util/log.h"

static const char verify_help[] =
"usage: dkimq verify [OPTIONS] [FILE]\n"
"Verifies FILE (stdin when absent) and writes it with an\n"
"Authentication-Results field prepended, or a JSON verdict.\n"
"\n"
"  --json                print one JSON object instead of the message\n"
"  --max-signatures N    check at most N signatures (1 to 50; 5)\n"
"  --authserv-id ID      authserv-id of the result field (host name)\n"
"  --dns HOST[:PORT]     send key queries to this server\n"
"  --dns-zone FILE       answer key queries from a static zone file\n"
"  --domainkeys          verify DomainKey-Signature fields too\n"
"  --no-dkim             do not verify DKIM-Signature fields\n"
"  --allow-sha1          accept rsa-sha1 and RSA keys under 1024 bits\n"
"  --legacy              also accept pre-RFC 6376 signatures (no v=,\n"
"                        v=0.5, q=dns, RFC 4871 g=), small keys, rsa-sha1\n"
"  --config FILE         authserv_id, allow_sha1, legacy, [dns] and the\n"
"                        [domain:*] verification settings\n"
"  --time T              verify as of this Unix time (tests)\n"
"  --stats               print the DNS cache counters to stderr\n";

enum {
	OPT_JSON = 256, OPT_MAX, OPT_AUTHSERV, OPT_DNS, OPT_ZONE, OPT_DK,
	OPT_NO_DKIM, OPT_SHA1, OPT_LEGACY, OPT_CONFIG, OPT_TIME, OPT_HELP,
	OPT_STATS,
};

static const struct option verify_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "max-signatures", required_argument, NULL, OPT_MAX },
	{ "authserv-id", required_argument, NULL, OPT_AUTHSERV },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "dns-zone", required_argument, NULL, OPT_ZONE },
	{ "domainkeys", no_argument, NULL, OPT_DK },
	{ "no-dkim", no_argument, NULL, OPT_NO_DKIM },
	{ "allow-sha1", no_argument, NULL, OPT_SHA1 },
	{ "legacy", no_argument, NULL, OPT_LEGACY },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ NULL, 0, NULL, 0 },
};

struct verify_args {
	bool json;
	bool stats;
	const char *authserv;
	const char *dns;
	const char *zone;
	const char *config;
	const char *file;
	struct dkim_verify_opts o;
	bool dk_set, dkim_set;
};

/* parse_args - options into *a; returns 0, -1 (help shown) or 2 */
static int
parse_args(int argc, char **argv, struct verify_args *a)
{
	char *end;
	long n;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", verify_opts, NULL)) != -1) {
		switch (o) {
		case OPT_JSON: a->json = true; break;
		case OPT_STATS: a->stats = true; break;
		case OPT_AUTHSERV: a->authserv = optarg; break;
		case OPT_DNS: a->dns = optarg; break;
		case OPT_ZONE: a->zone = optarg; break;
		case OPT_CONFIG: a->config = optarg; break;
		case OPT_SHA1: a->o.allow_sha1 = true; break;
		case OPT_LEGACY: a->o.legacy = true; break;
		case OPT_DK:
			a->o.domainkeys = true;
			a->dk_set = true;
			break;
		case OPT_NO_DKIM:
			a->o.dkim = false;
			a->dkim_set = true;
			break;
		case OPT_MAX:
			n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > DKIM_MAX_SIGNATURES) {
				return cli_usage_error("verify",
				    "--max-signatures takes 1 to %d",
				    DKIM_MAX_SIGNATURES);
			}
			a->o.max_signatures = (unsigned)n;
			break;
		case OPT_TIME:
			n = strtol(optarg, &end, 10);
			if (*end != '\0' || n <= 0) {
				return cli_usage_error("verify",
				    "--time takes a Unix time");
			}
			a->o.now = (time_t)n;
			break;
		case OPT_HELP:
			fputs(verify_help, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (a->dns != NULL && a->zone != NULL) {
		return cli_usage_error("verify", "--dns and --dns-zone "
		    "exclude each other");
	}
	if (argc - optind > 1) {
		return cli_usage_error("verify", "one message at a time");
	}
	a->file = optind < argc ? argv[optind] : NULL;
	return 0;
}

/* apply_config - settings from the configuration, under the flags */
static int
apply_config(struct verify_args *a, struct cfg **out)
{
	struct cfg *c = cfg_load(a->config, false);
	const struct cfg_domain *d;

	if (c == NULL || c->nerrors > 0) {
		for (size_t i = 0; c && i < c->nerrors; i++) {
			fprintf(stderr, "%s\n", c->errors[i]);
		}
		cfg_free(c);
		return 1;
	}
	a->o.allow_sha1 |= c->allow_sha1;
	a->o.legacy |= c->legacy;
	if (a->authserv == NULL) {
		a->authserv = c->authserv_id;
	}
	if (a->dns == NULL && a->zone == NULL) {
		a->zone = c->zone_file;
		a->dns = c->dns_servers;
	}
	d = cfg_domain_find(c, "*", true);
	if (d != NULL) {
		if (!a->dk_set) {
			a->o.domainkeys = d->verify_domainkeys;
		}
		if (!a->dkim_set) {
			a->o.dkim = d->verify_dkim;
		}
		if (a->o.max_signatures == 0) {
			a->o.max_signatures = d->max_signatures;
		}
	}
	*out = c;
	return 0;
}

/* cli_key_cache - the key cache over a zone file or a resolver */
int
cli_key_cache(const char *cmd, const char *dns, const char *zone,
    const struct cfg *c, struct dns_source **zsrc, struct dns_cache **out)
{
	struct dns_cache_opts o = { 0 };
	struct dns_fetcher *f = NULL;
	char err[300];
	int rc;

	*zsrc = NULL;
	*out = NULL;
	if (zone != NULL) {
		rc = dns_zone_open(zone, zsrc, err, sizeof(err));
		rc = rc ? rc : dns_fetcher_source(*zsrc, &f);
	} else {
		rc = dns_fetcher_resolver(dns, c ? c->dns_timeout_ms : 0,
		    c ? c->dns_retries : 0, &f, err, sizeof(err));
	}
	if (rc == -ENOMEM) {
		snprintf(err, sizeof(err), "out of memory");
	}
	if (rc != 0) {
		fprintf(stderr, "dkimq %s: %s\n", cmd, err);
		goto fail;
	}
	if (c != NULL) {
		o.entries = c->cache_entries;
		o.min_ttl = c->cache_min_ttl;
		o.max_ttl = c->cache_max_ttl;
	} else {
		o.min_ttl = 60;
	}
	*out = dns_cache_create(&o, f);
	if (*out == NULL) {
		fprintf(stderr, "dkimq %s: out of memory\n", cmd);
		dns_fetcher_free(f);
		rc = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	dns_source_free(*zsrc);
	*zsrc = NULL;
	return rc == -EINVAL ? EXIT_USAGE : 1;
}

/* The key lookups of one message, answered in any order. */
struct key_batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t left;			/* lookups not yet answered */
	int rc;				/* first failure, or 0 */
	struct dns_key_result *res;	/* one per query */
};

struct key_slot {
	struct key_batch *b;
	size_t i;
};

/* batch_answer - one lookup done (rc 0: res[i] is filled) */
static void
batch_answer(struct key_batch *b, int rc)
{
	pthread_mutex_lock(&b->lock);
	if (rc != 0 && b->rc == 0) {
		b->rc = rc;
	}
	if (--b->left == 0) {
		pthread_cond_signal(&b->cond);
	}
	pthread_mutex_unlock(&b->lock);
}

/* batch_cb - the cache's callback: keep a copy of the answer */
static void
batch_cb(void *arg, const struct dns_key_result *r)
{
	struct key_slot *sl = arg;

	batch_answer(sl->b, dns_key_result_copy(&sl->b->res[sl->i], r));
}

/* fetch_keys - answer every query of v through cache c, in parallel */
static int
fetch_keys(struct dkim_verifier *v, const struct dkim_key_query *q,
    size_t n, struct dns_cache *c)
{
	struct key_batch b = { .left = n };
	struct key_slot *slots;
	int rc;

	b.res = calloc(n, sizeof(*b.res));
	slots = calloc(n, sizeof(*slots));
	if (b.res == NULL || slots == NULL) {
		free(b.res);
		free(slots);
		return -ENOMEM;
	}
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);

	/* Start all, then wait: a miss's callback may come at once. */
	for (size_t i = 0; i < n; i++) {
		slots[i].b = &b;
		slots[i].i = i;
		rc = dns_cache_lookup(c, q[i].kind, q[i].qname, &b.res[i],
		    batch_cb, &slots[i]);
		if (rc != -EINPROGRESS) {
			batch_answer(&b, rc);
		}
	}
	pthread_mutex_lock(&b.lock);
	while (b.left > 0) {
		pthread_cond_wait(&b.cond, &b.lock);
	}
	pthread_mutex_unlock(&b.lock);

	for (size_t i = 0; i < n; i++) {
		if (b.rc == 0) {
			dkim_verify_key(v, i, &b.res[i]);
		}
		dns_key_free(&b.res[i].key);
	}
	rc = b.rc;
	pthread_cond_destroy(&b.cond);
	pthread_mutex_destroy(&b.lock);
	free(b.res);
	free(slots);
	return rc;
}

/* verify_cached - dkim_verify_message() through the key cache */
static int
verify_cached(struct dkim_verifier *v, const struct canon_msg *m,
    const struct dkim_verify_opts *o, struct dns_cache *c,
    struct dkim_report *r)
{
	const struct dkim_key_query *q;
	int n = dkim_verify_begin(v, m, o, &q);
	int rc;

	if (n < 0) {
		return n;
	}
	if (n > 0) {
		rc = fetch_keys(v, q, (size_t)n, c);
		if (rc != 0) {
			return rc;
		}
	}
	return dkim_verify_end(v, r);
}

/* emit - write the verdict */
static int
emit(const struct verify_args *a, const struct dkim_report *r,
    const struct canon_msg *m, const char *buf, size_t len)
{
	struct dkim_buf out = { 0 };
	char host[256] = "localhost";
	struct iovec iov[2];
	int rc;

	if (a->json) {
		rc = dkim_report_json(&out, r);
		rc = rc ? rc : dkim_buf_str(&out, "\n");
	} else {
		const char *id = a->authserv;

		if (id == NULL) {
			gethostname(host, sizeof(host) - 1);
			id = host;
		}
		rc = dkim_auth_results(&out, id, r, a->o.dkim, a->o.domainkeys,
		    m->crlf || m->nfields == 0);
	}
	if (rc != 0) {
		log_warnx("verify: out of memory");
		return 1;
	}
	iov[0].iov_base = out.data;
	iov[0].iov_len = out.len;
	iov[1].iov_base = (void *)buf;
	iov[1].iov_len = a->json ? 0 : len;
	rc = cli_write_all(STDOUT_FILENO, iov, 2);
	dkim_buf_free(&out);
	if (rc != 0) {
		log_warn(rc, "verify: write");
		return 1;
	}
	return 0;
}

/* cmd_verify - dkimq verify */
int
cmd_verify(int argc, char **argv)
{
	struct verify_args a = { .o = { .dkim = true } };
	struct dkim_verifier *v = NULL;
	struct dns_source *src = NULL;
	struct dns_cache *cache = NULL;
	struct dkim_report *r = NULL;
	struct cfg *cfg = NULL;
	struct canon_msg m;
	char *buf = NULL;
	size_t len;
	int rc, status;

	canon_msg_init(&m);
	status = parse_args(argc, argv, &a);
	if (status != 0) {
		return status < 0 ? 0 : status;
	}
	if (a.config != NULL && (status = apply_config(&a, &cfg)) != 0) {
		return status;
	}
	status = cli_key_cache("verify", a.dns, a.zone, cfg, &src, &cache);
	if (status != 0) {
		goto out;
	}
	status = 1;
	rc = cli_read_file(a.file, &buf, &len);
	if (rc != 0) {
		log_warn(rc, "verify: %s", a.file ? a.file : "stdin");
		goto out;
	}
	v = dkim_verifier_create();
	r = malloc(sizeof(*r));
	if (v == NULL || r == NULL || canon_msg_parse(&m, buf, len) != 0) {
		log_warnx("verify: out of memory");
		goto out;
	}
	rc = verify_cached(v, &m, &a.o, cache, r);
	if (rc != 0) {
		log_warn(rc, "verify");
		goto out;
	}
	status = emit(&a, r, &m, buf, len);
	if (a.stats) {
		struct dns_cache_stats st;
		char line[256];

		dns_cache_stats(cache, &st);
		fprintf(stderr, "dns-cache: %s\n",
		    dns_cache_stats_line(&st, line, sizeof(line)));
	}
out:
	dkim_verifier_free(v);
	dns_cache_free(cache);
	dns_source_free(src);
	canon_msg_free(&m);
	cfg_free(cfg);
	free(buf);
	free(r);
	return status;
}
