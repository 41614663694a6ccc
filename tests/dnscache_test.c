/* SPDX-License-Identifier: MIT */
/*
 * dnscache_test - the shared key cache and its fetchers.
 *
 * The wire tests start Debian's nsd on a free loopback port, with its
 * configuration and zone in a temporary directory, and skip (never
 * pass) when nsd cannot start.  Bounds, TTLs and counters run over a
 * zone-file source with a clock the test moves; single-flight runs over
 * a gated fetcher that answers only when the test lets it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "canon/canon.h"
#include "crypto/crypto.h"
#include "dkim/dkim.h"
#include "dns/dns.h"

#define NSD_BIN "/usr/sbin/nsd"
#define NSD_CHECKCONF "/usr/sbin/nsd-checkconf"
#define ZONE "example.test"

/* ---- helpers ---- */

/* now_ms - CLOCK_MONOTONIC in milliseconds, for elapsed times. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* write_file - text into path, or fail the test. */
static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp, "fopen %s: %s", path, strerror(errno));
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
}

/* key_record_text - "v=DKIM1; k=rsa; p=..." of k, malloc'd. */
static char *
key_record_text(const struct crypto_key *k)
{
	unsigned char *pub;
	size_t plen;
	char *txt;

	cr_assert_eq(crypto_key_public(k, &pub, &plen), 0);
	txt = malloc(32 + crypto_b64_encoded_len(plen));
	cr_assert_not_null(txt);
	strcpy(txt, "v=DKIM1; k=rsa; p=");
	crypto_b64_encode(pub, plen, txt + strlen(txt));
	free(pub);
	return txt;
}

/*
 * zone_txt - txt as zone-file strings of at most chunk bytes each,
 * appended to buf (a malloc'd string, reallocated).
 */
static char *
zone_txt(char *buf, const char *owner, unsigned ttl, const char *txt,
    size_t chunk)
{
	size_t len = strlen(txt), used = buf ? strlen(buf) : 0;
	size_t need = used + strlen(owner) + len + 4 * (len / chunk + 1) + 64;
	char *p;

	buf = realloc(buf, need);
	cr_assert_not_null(buf);
	p = buf + used;
	p += sprintf(p, "%s %u IN TXT", owner, ttl);
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		p += sprintf(p, " \"%.*s\"", (int)n, txt + off);
	}
	strcpy(p, "\n");
	return buf;
}

/* ---- an nsd on loopback ---- */

struct nsd {
	char dir[64];
	int port;
	pid_t pid;
};

/* free_port - a port that is free for UDP and TCP on 127.0.0.1 now. */
static int
free_port(void)
{
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sin);
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		int t = socket(AF_INET, SOCK_STREAM, 0);
		int port;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(u, (struct sockaddr *)&sin, sizeof(sin));
		getsockname(u, (struct sockaddr *)&sin, &sl);
		port = ntohs(sin.sin_port);
		if (bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(u);
			close(t);
			return port;
		}
		close(u);
		close(t);
	}
	return -1;
}

/* tcp_ready - whether something accepts TCP at port on 127.0.0.1. */
static bool
tcp_ready(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/*
 * nsd_zone - write the zone: SOA (own TTL 3600, MINIMUM 3), NS, an A
 * record at "host" (a NODATA name for TXT), then records.
 */
static void
nsd_zone(const struct nsd *n, const char *records)
{
	char path[128], *text;

	if (asprintf(&text, "$ORIGIN " ZONE ".\n$TTL 300\n"
	    "@ 3600 IN SOA ns." ZONE ". admin." ZONE ". 1 3600 600 86400 3\n"
	    "@ IN NS ns\nns IN A 127.0.0.1\nhost IN A 127.0.0.1\n%s",
	    records) < 0) {
		cr_assert_fail("out of memory");
	}
	snprintf(path, sizeof(path), "%s/zone", n->dir);
	write_file(path, text);
	free(text);
}

/* nsd_spawn - start nsd in the foreground; false when it fails. */
static bool
nsd_spawn(struct nsd *n)
{
	char conf[128], log[128];

	snprintf(conf, sizeof(conf), "%s/nsd.conf", n->dir);
	snprintf(log, sizeof(log), "%s/out.log", n->dir);
	n->pid = fork();
	cr_assert_neq(n->pid, -1);
	if (n->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		/* A failed assertion ends the test process: nsd follows. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(NSD_BIN, "nsd", "-d", "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		int st;

		if (tcp_ready(n->port)) {
			return true;
		}
		if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
			n->pid = -1;
			return false;
		}
		usleep(50000);
	}
	return false;
}

/* nsd_start - nsd serving records, or skip the test. */
static void
nsd_start(struct nsd *n, const char *records)
{
	char conf[128], cmd[300], *text;

	if (access(NSD_BIN, X_OK) != 0 || access(NSD_CHECKCONF, X_OK) != 0) {
		cr_skip_test("nsd is not installed (Debian package nsd)");
	}
	strcpy(n->dir, "/tmp/dkimq-nsd-XXXXXX");
	cr_assert_not_null(mkdtemp(n->dir));
	n->port = free_port();
	cr_assert_gt(n->port, 0);
	if (asprintf(&text, "server:\n"
	    "\tip-address: 127.0.0.1@%d\n\tport: %d\n"
	    "\tusername: \"\"\n\tchroot: \"\"\n\tzonesdir: \"%s\"\n"
	    "\tdatabase: \"\"\n\txfrdfile: \"%s/xfrd.state\"\n"
	    "\tzonelistfile: \"%s/zone.list\"\n"
	    "\tpidfile: \"%s/nsd.pid\"\n\tlogfile: \"%s/nsd.log\"\n"
	    "\tserver-count: 1\n\tdo-ip6: no\n\tverbosity: 1\n"
	    "remote-control:\n\tcontrol-enable: no\n"
	    "zone:\n\tname: \"" ZONE "\"\n\tzonefile: \"zone\"\n",
	    n->port, n->port, n->dir, n->dir, n->dir, n->dir, n->dir) < 0) {
		cr_assert_fail("out of memory");
	}
	snprintf(conf, sizeof(conf), "%s/nsd.conf", n->dir);
	write_file(conf, text);
	free(text);
	nsd_zone(n, records);

	snprintf(cmd, sizeof(cmd), NSD_CHECKCONF " %s >/dev/null", conf);
	cr_assert_eq(system(cmd), 0, "nsd-checkconf rejects %s", conf);
	if (!nsd_spawn(n)) {
		cr_skip_test("nsd did not start (see %s/out.log)", n->dir);
	}
}

/* nsd_stop - stop nsd and wait for it. */
static void
nsd_stop(struct nsd *n)
{
	if (n->pid > 0) {
		kill(n->pid, SIGTERM);
		waitpid(n->pid, NULL, 0);
		n->pid = -1;
	}
}

/* nsd_restart - stop, publish records instead, start again. */
static void
nsd_restart(struct nsd *n, const char *records)
{
	nsd_stop(n);
	nsd_zone(n, records);
	cr_assert(nsd_spawn(n), "nsd did not restart (see %s)", n->dir);
}

/* nsd_free - stop nsd and remove its directory. */
static void
nsd_free(struct nsd *n)
{
	char cmd[128];

	nsd_stop(n);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", n->dir);
	cr_assert_eq(system(cmd), 0);
}

/* wire_cache - a cache over c-ares asking only n's server. */
static struct dns_cache *
wire_cache(const struct nsd *n, unsigned min_ttl, unsigned timeout_ms)
{
	struct dns_cache_opts o = { .entries = 100, .min_ttl = min_ttl };
	struct dns_fetcher *f;
	struct dns_cache *c;
	char servers[64], err[256];
	int rc;

	snprintf(servers, sizeof(servers), "127.0.0.1:%d", n->port);
	rc = dns_fetcher_resolver(servers, timeout_ms, 1, &f, err,
	    sizeof(err));
	cr_assert_eq(rc, 0, "dns_fetcher_resolver: %d %s", rc, err);
	c = dns_cache_create(&o, f);
	cr_assert_not_null(c);
	return c;
}

/* stats - the cache's counters. */
static struct dns_cache_stats
stats(struct dns_cache *c)
{
	struct dns_cache_stats st;

	dns_cache_stats(c, &st);
	return st;
}

/* ---- over the wire ---- */

/* sign - m signed by d=ZONE s=selector with k, as one malloc'd text. */
static char *
sign(const char *msg, const char *selector, struct crypto_key *k)
{
	struct dkim_sign_spec spec = {
		.type = DKIM_TYPE_DKIM, .alg = DKIM_ALG_RSA_SHA256,
		.header_canon = CANON_RELAXED, .body_canon = CANON_RELAXED,
		.sdid = ZONE, .selector = selector, .timestamp = true,
		.key = k,
	};
	struct dkim_signer *s = dkim_signer_create();
	struct canon_msg m;
	const char *hdr;
	size_t hlen;
	char err[256], *out;
	int rc;

	canon_msg_init(&m);
	cr_assert_eq(canon_msg_parse(&m, msg, strlen(msg)), 0);
	rc = dkim_sign(s, &m, &spec, 1, 0, &hdr, &hlen, err, sizeof(err));
	cr_assert_eq(rc, 0, "dkim_sign: %s", err);
	out = malloc(hlen + strlen(msg) + 1);
	memcpy(out, hdr, hlen);
	strcpy(out + hlen, msg);
	dkim_signer_free(s);
	canon_msg_free(&m);
	return out;
}

Test(wire, a_signed_message_verifies_through_the_cache)
{
	static const char msg[] = "From: a@" ZONE "\r\nTo: b@example.org\r\n"
	    "Subject: wire\r\n\r\nover the wire\r\n";
	struct crypto_key *k;
	const struct dkim_key_query *q;
	struct dkim_verify_opts o = { .dkim = true };
	struct dkim_verifier *v = dkim_verifier_create();
	struct dkim_report r;
	struct canon_msg m;
	struct dns_cache *c;
	struct nsd n;
	char *txt, *zone, *signed_msg;
	int nq;

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 2048, &k), 0);
	txt = key_record_text(k);
	zone = zone_txt(NULL, "s1._domainkey", 300, txt, 255);
	nsd_start(&n, zone);
	c = wire_cache(&n, 1, 1000);

	signed_msg = sign(msg, "s1", k);
	canon_msg_init(&m);
	cr_assert_eq(canon_msg_parse(&m, signed_msg, strlen(signed_msg)), 0);
	nq = dkim_verify_begin(v, &m, &o, &q);
	cr_assert_eq(nq, 1);
	for (int i = 0; i < nq; i++) {
		struct dns_key_result a;

		cr_assert_eq(dns_cache_lookup_wait(c, q[i].kind, q[i].qname,
		    &a), 0);
		cr_assert_eq(a.status, DNS_OK, "%s", a.reason);
		dkim_verify_key(v, (size_t)i, &a);
	}
	cr_assert_eq(dkim_verify_end(v, &r), 0);
	cr_assert_eq(r.sigs[0].result, DKIM_RES_PASS, "%s",
	    r.sigs[0].reason);
	cr_assert_eq(stats(c).queries, 1);

	dns_cache_free(c);
	nsd_free(&n);
	dkim_verifier_free(v);
	canon_msg_free(&m);
	crypto_key_free(k);
	free(signed_msg);
	free(zone);
	free(txt);
}

Test(wire, a_changed_record_is_served_from_cache_until_its_ttl_ends)
{
	struct crypto_key *k1, *k2;
	struct dns_key_result a;
	struct dns_cache *c;
	struct nsd n;
	char *t1, *t2, *z1, *z2;

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_ED25519, 0, &k1), 0);
	cr_assert_eq(crypto_keygen(CRYPTO_KEY_ED25519, 0, &k2), 0);
	{
		unsigned char *pub;
		size_t plen;
		char b64[64];

		crypto_key_public(k1, &pub, &plen);
		b64[crypto_b64_encode(pub, plen, b64)] = '\0';
		free(pub);
		cr_assert(asprintf(&t1, "v=DKIM1; k=ed25519; p=%s", b64) > 0);
		crypto_key_public(k2, &pub, &plen);
		b64[crypto_b64_encode(pub, plen, b64)] = '\0';
		free(pub);
		cr_assert(asprintf(&t2, "v=DKIM1; k=ed25519; p=%s", b64) > 0);
	}
	z1 = zone_txt(NULL, "e1._domainkey", 2, t1, 255);
	z2 = zone_txt(NULL, "e1._domainkey", 2, t2, 255);
	nsd_start(&n, z1);
	c = wire_cache(&n, 1, 1000);

	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM,
	    "e1._domainkey." ZONE, &a), 0);
	cr_assert(a.parsed && crypto_key_public_eq(a.key.key, k1));
	cr_assert_eq(a.ttl, 2);
	dns_key_free(&a.key);

	/* The server now says k2; the cache keeps k1 for the 2 s. */
	nsd_restart(&n, z2);
	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM,
	    "e1._domainkey." ZONE, &a), 0);
	cr_assert(a.parsed && crypto_key_public_eq(a.key.key, k1));
	dns_key_free(&a.key);
	cr_assert_eq(stats(c).hits, 1);
	cr_assert_eq(stats(c).queries, 1);

	usleep(2300 * 1000);
	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM,
	    "E1._DOMAINKEY." ZONE, &a), 0);
	cr_assert(a.parsed && crypto_key_public_eq(a.key.key, k2));
	dns_key_free(&a.key);
	cr_assert_eq(stats(c).expired, 1);
	cr_assert_eq(stats(c).queries, 2);

	dns_cache_free(c);
	nsd_free(&n);
	crypto_key_free(k1);
	crypto_key_free(k2);
	free(t1);
	free(t2);
	free(z1);
	free(z2);
}

Test(wire, nxdomain_and_nodata_are_cached_for_the_soa_minimum)
{
	static const char *const names[] = {
		"missing._domainkey." ZONE, "host." ZONE,
	};
	static const enum dns_status want[] = { DNS_NXDOMAIN, DNS_NODATA };
	struct dns_key_result a;
	struct dns_cache *c;
	struct nsd n;

	nsd_start(&n, "");
	c = wire_cache(&n, 1, 1000);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 2; i++) {
			cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM,
			    names[i], &a), 0);
			cr_assert_eq(a.status, want[i], "%s: %s", names[i],
			    dns_status_name(a.status));
			/* min(SOA TTL 3600, MINIMUM 3), RFC 2308 5 */
			cr_assert_eq(a.ttl, 3, "%s: ttl %u", names[i], a.ttl);
			dns_key_free(&a.key);
		}
	}
	cr_assert_eq(stats(c).queries, 2);
	cr_assert_eq(stats(c).hits, 2);
	cr_assert_eq(stats(c).errors, 0);
	dns_cache_free(c);
	nsd_free(&n);
}

Test(wire, a_4096_bit_key_in_many_strings_arrives_over_tcp)
{
	struct crypto_key *k;
	struct dns_key_result a;
	struct dns_cache *c;
	struct nsd n;
	char *txt, *zone;

	/*
	 * The record is over 700 bytes: without EDNS the UDP answer is
	 * truncated, so only the TCP retry can bring it.  Strings of 100
	 * bytes also split it across seven character-strings.
	 */
	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 4096, &k), 0);
	txt = key_record_text(k);
	cr_assert_gt(strlen(txt), 512);
	zone = zone_txt(NULL, "big._domainkey", 300, txt, 100);
	nsd_start(&n, zone);
	c = wire_cache(&n, 1, 1000);
	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM,
	    "big._domainkey." ZONE, &a), 0);
	cr_assert_eq(a.status, DNS_OK, "%s", dns_status_name(a.status));
	cr_assert(a.parsed, "%s", a.reason);
	cr_assert_eq(crypto_key_bits(a.key.key), 4096);
	cr_assert(crypto_key_public_eq(a.key.key, k));
	dns_key_free(&a.key);
	dns_cache_free(c);
	nsd_free(&n);
	crypto_key_free(k);
	free(zone);
	free(txt);
}

Test(wire, a_multi_string_record_is_joined_without_separators)
{
	struct crypto_key *k;
	struct dns_key_result a;
	struct dns_cache *c;
	struct nsd n;
	char *txt, *zone;

	cr_assert_eq(crypto_keygen(CRYPTO_KEY_RSA, 1024, &k), 0);
	txt = key_record_text(k);
	zone = zone_txt(NULL, "split._domainkey", 300, txt, 7);
	nsd_start(&n, zone);
	c = wire_cache(&n, 1, 1000);
	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM,
	    "split._domainkey." ZONE, &a), 0);
	cr_assert(a.parsed, "%s", a.reason);
	cr_assert(crypto_key_public_eq(a.key.key, k));
	dns_key_free(&a.key);
	dns_cache_free(c);
	nsd_free(&n);
	crypto_key_free(k);
	free(zone);
	free(txt);
}

/* temp_lookup - one lookup against servers, timed. */
static void
temp_lookup(const char *servers, unsigned timeout_ms, uint64_t *ms,
    struct dns_key_result *a)
{
	struct dns_cache_opts o = { .entries = 10 };
	struct dns_fetcher *f;
	struct dns_cache *c;
	char err[256];
	uint64_t t0;

	cr_assert_eq(dns_fetcher_resolver(servers, timeout_ms, 1, &f, err,
	    sizeof(err)), 0, "%s", err);
	c = dns_cache_create(&o, f);
	t0 = now_ms();
	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM,
	    "s._domainkey." ZONE, a), 0);
	*ms = now_ms() - t0;
	cr_assert_eq(stats(c).errors, 1);
	dns_cache_free(c);
}

Test(wire, a_port_where_nothing_listens_is_a_temperror_in_time)
{
	struct dns_key_result a;
	char servers[64];
	uint64_t ms;

	snprintf(servers, sizeof(servers), "127.0.0.1:%d", free_port());
	temp_lookup(servers, 500, &ms, &a);
	cr_assert_eq(a.status, DNS_TIMEOUT, "%s", dns_status_name(a.status));
	cr_assert(dns_status_is_temporary(a.status));
	cr_assert_lt(ms, 1500, "took %llu ms", (unsigned long long)ms);
}

Test(wire, a_silent_server_is_a_temperror_after_the_timeout)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	struct dns_key_result a;
	char servers[64];
	uint64_t ms;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	/* A bound socket that never reads: queries go unanswered. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	snprintf(servers, sizeof(servers), "127.0.0.1:%d",
	    ntohs(sin.sin_port));
	temp_lookup(servers, 400, &ms, &a);
	close(fd);
	cr_assert_eq(a.status, DNS_TIMEOUT, "%s", dns_status_name(a.status));
	cr_assert_geq(ms, 350, "took %llu ms", (unsigned long long)ms);
	cr_assert_lt(ms, 1500, "took %llu ms", (unsigned long long)ms);
}

/* ---- single-flight over a gated fetcher ---- */

struct gated {
	struct dns_fetcher base;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
	atomic_int fetches;
	dns_fetch_done done;
	void *ctx;
	pthread_t thread;
};

/* gated_run - wait for the gate, then answer NXDOMAIN (ttl 60). */
static void *
gated_run(void *arg)
{
	struct gated *g = arg;
	struct dns_key_result r = { .status = DNS_NXDOMAIN, .ttl = 60 };

	pthread_mutex_lock(&g->lock);
	while (!g->open) {
		pthread_cond_wait(&g->cond, &g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	g->done(g->ctx, &r);
	return NULL;
}

/* gated_fetch - answer later, from a thread of the fetcher. */
static int
gated_fetch(struct dns_fetcher *f, enum dns_key_kind kind,
    const char *qname, dns_fetch_done done, void *ctx)
{
	struct gated *g = (struct gated *)f;

	atomic_fetch_add(&g->fetches, 1);
	g->done = done;
	g->ctx = ctx;
	pthread_create(&g->thread, NULL, gated_run, g);
	return 0;
}

/* gated_free - the test frees the struct itself. */
static void
gated_free(struct dns_fetcher *f)
{
	struct gated *g = (struct gated *)f;

	pthread_join(g->thread, NULL);
}

static const struct dns_fetcher_ops gated_ops = {
	.name = "gated", .fetch = gated_fetch, .free = gated_free,
};

struct sf_arg {
	struct dns_cache *c;
	pthread_barrier_t *start;
	struct dns_key_result r;
	int rc;
};

/* sf_thread - one waiting lookup of the shared name. */
static void *
sf_thread(void *arg)
{
	struct sf_arg *a = arg;

	pthread_barrier_wait(a->start);
	a->rc = dns_cache_lookup_wait(a->c, DNS_KEY_DKIM,
	    "same._domainkey." ZONE, &a->r);
	return NULL;
}

Test(cache, sixty_four_concurrent_misses_make_one_query)
{
	struct gated g = { .base.ops = &gated_ops };
	struct sf_arg args[64];
	pthread_t th[64];
	pthread_barrier_t start;
	struct dns_cache *c;
	struct dns_cache_stats st;
	uint64_t t0;

	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.cond, NULL);
	c = dns_cache_create(NULL, &g.base);
	pthread_barrier_init(&start, NULL, 64);
	for (int i = 0; i < 64; i++) {
		args[i] = (struct sf_arg){ .c = c, .start = &start };
		pthread_create(&th[i], NULL, sf_thread, &args[i]);
	}

	/* Open the gate only once all 63 others have joined. */
	t0 = now_ms();
	do {
		usleep(1000);
		st = stats(c);
	} while (st.coalesced < 63 && now_ms() - t0 < 10000);
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);

	for (int i = 0; i < 64; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(args[i].rc, 0);
		cr_assert_eq(args[i].r.status, DNS_NXDOMAIN);
	}
	st = stats(c);
	cr_assert_eq(st.queries, 1);
	cr_assert_eq(st.misses, 1);
	cr_assert_eq(st.coalesced, 63);
	cr_assert_eq(st.hits, 0);
	cr_assert_eq(atomic_load(&g.fetches), 1);
	dns_cache_free(c);
	pthread_barrier_destroy(&start);
}

/* ---- bounds, TTLs and counters over a zone file ---- */

static _Atomic uint64_t fake_now;

/* fake_clock - the test's clock, in milliseconds. */
static uint64_t
fake_clock(void *arg)
{
	return atomic_load(&fake_now);
}

/* zone_cache - a cache over a zone file of text, on the fake clock. */
static struct dns_cache *
zone_cache(const char *text, const struct dns_cache_opts *o,
    struct dns_source **src)
{
	char path[] = "/tmp/dkimq-cache-zone-XXXXXX", err[256];
	struct dns_fetcher *f;
	struct dns_cache *c;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path, text);
	cr_assert_eq(dns_zone_open(path, src, err, sizeof(err)), 0, "%s",
	    err);
	unlink(path);
	cr_assert_eq(dns_fetcher_source(*src, &f), 0);
	c = dns_cache_create(o, f);
	cr_assert_not_null(c);
	atomic_store(&fake_now, 1000000);
	dns_cache_set_clock(c, fake_clock, NULL);
	return c;
}

/* look - one waiting lookup; returns its status. */
static enum dns_status
look(struct dns_cache *c, const char *name)
{
	struct dns_key_result a;

	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM, name, &a), 0);
	dns_key_free(&a.key);
	return a.status;
}

Test(cache, a_full_cache_evicts_to_make_room)
{
	struct dns_cache_opts o = { .entries = 1, .min_ttl = 60 };
	struct dns_source *src;
	struct dns_cache *c = zone_cache("", &o, &src);
	struct dns_cache_stats st;

	look(c, "a." ZONE);
	look(c, "a." ZONE);
	look(c, "b." ZONE);
	look(c, "a." ZONE);
	look(c, "a." ZONE);
	st = stats(c);
	cr_assert_eq(st.hits, 2);
	cr_assert_eq(st.misses, 3);
	cr_assert_eq(st.evictions, 2);
	dns_cache_free(c);
	dns_source_free(src);
}

Test(cache, the_cache_never_holds_more_than_entries)
{
	struct dns_cache_opts o = { .entries = 64, .min_ttl = 60 };
	struct dns_source *src;
	struct dns_cache *c = zone_cache("", &o, &src);
	struct dns_cache_stats st;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 200; i++) {
			char name[64];

			snprintf(name, sizeof(name), "n%d." ZONE, i);
			look(c, name);
		}
	}
	st = stats(c);
	cr_assert_leq(st.hits, 64);
	cr_assert_eq(st.hits + st.misses, 400);
	cr_assert_eq(st.misses - st.evictions, 64, "%llu held",
	    (unsigned long long)(st.misses - st.evictions));
	dns_cache_free(c);
	dns_source_free(src);
}

Test(cache, ttls_are_held_within_the_floor_and_the_ceiling)
{
	static const char zone[] =
	    "short." ZONE " 5 TXT \"v=DKIM1; p=\"\n"
	    "long." ZONE " 100000 TXT \"v=DKIM1; p=\"\n";
	struct dns_cache_opts o = { .entries = 10, .min_ttl = 10,
	    .max_ttl = 50 };
	struct dns_source *src;
	struct dns_cache *c = zone_cache(zone, &o, &src);

	look(c, "short." ZONE);
	look(c, "long." ZONE);
	atomic_fetch_add(&fake_now, 9999);
	look(c, "short." ZONE);
	cr_assert_eq(stats(c).hits, 1, "the floor is 10 s, not the 5 s TTL");
	atomic_fetch_add(&fake_now, 1);
	look(c, "short." ZONE);
	cr_assert_eq(stats(c).expired, 1);

	atomic_fetch_add(&fake_now, 39999);
	look(c, "long." ZONE);
	cr_assert_eq(stats(c).hits, 2);
	atomic_fetch_add(&fake_now, 1);
	look(c, "long." ZONE);
	cr_assert_eq(stats(c).expired, 2, "the ceiling is 50 s");
	cr_assert_eq(stats(c).queries, 4);
	dns_cache_free(c);
	dns_source_free(src);
}

Test(cache, negative_answers_keep_their_ttl_within_the_bounds)
{
	static const char zone[] =
	    "gone." ZONE " 30 NXDOMAIN\n" "far." ZONE " 900 NXDOMAIN\n";
	struct dns_cache_opts o = { .entries = 10, .min_ttl = 1,
	    .max_ttl = 600 };
	struct dns_source *src;
	struct dns_cache *c = zone_cache(zone, &o, &src);

	cr_assert_eq(look(c, "gone." ZONE), DNS_NXDOMAIN);
	cr_assert_eq(look(c, "far." ZONE), DNS_NXDOMAIN);
	atomic_fetch_add(&fake_now, 29999);
	look(c, "gone." ZONE);
	cr_assert_eq(stats(c).hits, 1);
	atomic_fetch_add(&fake_now, 1);
	look(c, "gone." ZONE);
	cr_assert_eq(stats(c).expired, 1);
	atomic_fetch_add(&fake_now, 570000);
	look(c, "far." ZONE);
	cr_assert_eq(stats(c).expired, 2, "900 s capped to 600 s");
	dns_cache_free(c);
	dns_source_free(src);
}

Test(cache, a_temperror_is_remembered_only_for_the_back_off)
{
	static const char zone[] = "slow." ZONE " 3600 TIMEOUT\n"
	    "bad." ZONE " SERVFAIL\n";
	struct dns_cache_opts o = { .entries = 10, .min_ttl = 60,
	    .temp_backoff = 3 };
	struct dns_source *src;
	struct dns_cache *c = zone_cache(zone, &o, &src);
	struct dns_cache_stats st;

	cr_assert_eq(look(c, "slow." ZONE), DNS_TIMEOUT);
	cr_assert_eq(look(c, "bad." ZONE), DNS_SERVFAIL);
	atomic_fetch_add(&fake_now, 2999);
	cr_assert_eq(look(c, "slow." ZONE), DNS_TIMEOUT);
	cr_assert_eq(stats(c).hits, 1, "within the back-off");
	atomic_fetch_add(&fake_now, 1);
	cr_assert_eq(look(c, "slow." ZONE), DNS_TIMEOUT);
	cr_assert_eq(look(c, "bad." ZONE), DNS_SERVFAIL);
	st = stats(c);
	cr_assert_eq(st.expired, 2, "3 s, not the record's 3600 s");
	cr_assert_eq(st.errors, 4);
	cr_assert_eq(st.queries, 4);
	dns_cache_free(c);
	dns_source_free(src);
}

Test(cache, counters_count_and_print_as_one_line)
{
	static const char zone[] = "k." ZONE " 300 TXT \"v=DKIM1; p=\"\n"
	    "bad." ZONE " 300 TXT \"v=DKIM9; p=\"\n";
	struct dns_cache_opts o = { .entries = 1000, .min_ttl = 1 };
	struct dns_source *src;
	struct dns_cache *c = zone_cache(zone, &o, &src);
	struct dns_key_result a;
	char line[256];

	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM, "k." ZONE, &a),
	    0);
	cr_assert(a.parsed && a.key.revoked);
	dns_key_free(&a.key);
	cr_assert_eq(dns_cache_lookup(c, DNS_KEY_DKIM, "K." ZONE "", &a,
	    NULL, NULL), 0, "a hit answers at once");
	dns_key_free(&a.key);

	/* A malformed record is cached like a positive answer. */
	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DKIM, "bad." ZONE, &a),
	    0);
	cr_assert(a.status == DNS_OK && !a.parsed);
	cr_assert_neq(a.reason[0], '\0');
	cr_assert_eq(look(c, "bad." ZONE), DNS_OK);
	cr_assert_eq(look(c, "bad..name"), DNS_NXDOMAIN);

	/* The same name as the other kind is another entry. */
	cr_assert_eq(dns_cache_lookup_wait(c, DNS_KEY_DK, "k." ZONE, &a), 0);
	dns_key_free(&a.key);
	atomic_fetch_add(&fake_now, 300000);
	look(c, "k." ZONE);
	cr_assert_str_eq(dns_cache_stats_line(&(struct dns_cache_stats){
	    0 }, line, sizeof(line)), "hits=0 misses=0 coalesced=0 "
	    "expired=0 evictions=0 errors=0 queries=0");
	{
		struct dns_cache_stats st = stats(c);

		dns_cache_stats_line(&st, line, sizeof(line));
	}
	cr_assert_str_eq(line, "hits=2 misses=4 coalesced=0 expired=1 "
	    "evictions=0 errors=0 queries=4");
	dns_cache_free(c);
	dns_source_free(src);
}

/* ---- the commands: verify --stats and dns-test ---- */

#ifndef DKIMQ_BIN
#error "DKIMQ_BIN must name the dkimq binary"
#endif

/* run - sh -c cmd with stdout+stderr into out (len bytes); exit status. */
static int
run(const char *cmd, char *out, size_t len)
{
	FILE *fp = popen(cmd, "r");
	size_t n;
	int st;

	cr_assert_not_null(fp);
	n = fread(out, 1, len - 1, fp);
	out[n] = '\0';
	st = pclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* cli_dir - a temp dir holding key s1 and a zone publishing it. */
static void
cli_dir(char *dir)
{
	char cmd[512], out[4096];

	strcpy(dir, "/tmp/dkimq-dnstest-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "(cd %s && " DKIMQ_BIN " keygen --type "
	    "ed25519 --domain " ZONE " --selector s1 --out . > zone && "
	    DKIMQ_BIN " keygen --type ed25519 --domain " ZONE
	    " --selector s2 --out . > other && echo 'r." ZONE " 60 TXT "
	    "\"v=DKIM1; p=!!\"' >> zone) 2>&1", dir);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
}

/* rm_dir - remove a cli_dir. */
static void
rm_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(commands, verify_stats_prints_the_counters_after_the_verdict)
{
	char dir[64], cmd[1024], out[8192];

	cli_dir(dir);
	snprintf(cmd, sizeof(cmd), "cd %s && printf 'From: a@" ZONE
	    "\\nSubject: s\\n\\nbody\\n' > m && " DKIMQ_BIN " sign --domain "
	    ZONE " --selector s1 --key s1.private m > sm && " DKIMQ_BIN
	    " verify --dns-zone zone --json --stats sm 2>&1", dir);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "\"result\": \"pass\""), "%s", out);
	cr_assert_not_null(strstr(out, "dns-cache: hits=0 misses=1 "
	    "coalesced=0 expired=0 evictions=0 errors=0 queries=1\n"), "%s",
	    out);
	rm_dir(dir);
}

Test(commands, dns_test_passes_a_matching_record)
{
	char dir[64], cmd[512], out[4096];

	cli_dir(dir);
	snprintf(cmd, sizeof(cmd), "cd %s && " DKIMQ_BIN " dns-test --key "
	    "s1.private --domain " ZONE " --selector s1 --dns-zone zone",
	    dir);
	cr_assert_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "public key matches"), "%s", out);
	cr_assert_null(strstr(out, "problem:"), "%s", out);
	rm_dir(dir);
}

Test(commands, dns_test_names_each_problem_and_exits_1)
{
	static const struct {
		const char *args;
		const char *want;
		int status;
	} cases[] = {
		{ "--selector nope", "no record (nxdomain)", 1 },
		{ "--selector s1 --type domainkeys", "does not parse", 1 },
		{ "--selector s1 --key s2.private", "does not match", 1 },
		{ "--selector s1 --dns 127.0.0.1:1",
		    "could not be asked (timeout)", 1 },
		{ "--selector s1 --type rsa", "--type", 2 },
		{ "", "required", 2 },
	};
	char dir[64], cmd[600], out[4096];

	cli_dir(dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cd %s && " DKIMQ_BIN " dns-test "
		    "--key s1.private --domain " ZONE " %s %s 2>&1", dir,
		    cases[i].args, strstr(cases[i].args, "--dns ") ? "" :
		    "--dns-zone zone");
		if (cases[i].args[0] == '\0') {
			snprintf(cmd, sizeof(cmd), DKIMQ_BIN " dns-test 2>&1");
		}
		cr_expect_eq(run(cmd, out, sizeof(out)), cases[i].status,
		    "%s: %s", cases[i].args, out);
		cr_expect_not_null(strstr(out, cases[i].want), "%s: %s",
		    cases[i].args, out);
	}
	rm_dir(dir);
}

Test(commands, dns_test_reports_a_record_that_does_not_parse)
{
	char dir[64], cmd[512], out[4096];

	cli_dir(dir);
	snprintf(cmd, sizeof(cmd), "cd %s && sed -i 's/^r\\./s9._domainkey./'"
	    " zone && " DKIMQ_BIN " dns-test --key s1.private --domain " ZONE
	    " --selector s9 --dns-zone zone", dir);
	cr_assert_eq(run(cmd, out, sizeof(out)), 1, "%s", out);
	cr_assert_not_null(strstr(out, "record found"), "%s", out);
	cr_assert_not_null(strstr(out, "problem: s9._domainkey." ZONE
	    ": record does not parse"), "%s", out);
	rm_dir(dir);
}

Test(commands, dns_test_asks_a_real_server)
{
	char dir[64], cmd[800], out[4096], *zone;
	struct nsd n;
	FILE *fp;

	cli_dir(dir);
	snprintf(cmd, sizeof(cmd), "sed -n 's/^s1._domainkey." ZONE
	    ". 3600 TXT //p' %s/zone", dir);
	fp = popen(cmd, "r");
	cr_assert_not_null(fp);
	out[fread(out, 1, sizeof(out) - 1, fp)] = '\0';
	pclose(fp);
	cr_assert_neq(out[0], '\0');
	cr_assert(asprintf(&zone, "s1._domainkey 60 IN TXT %s", out) > 0);
	nsd_start(&n, zone);
	snprintf(cmd, sizeof(cmd), "cd %s && " DKIMQ_BIN " dns-test --key "
	    "s1.private --domain " ZONE " --selector s1 --dns 127.0.0.1:%d",
	    dir, n.port);
	cr_expect_eq(run(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect_not_null(strstr(out, "public key matches"), "%s", out);
	nsd_free(&n);
	rm_dir(dir);
	free(zone);
}
