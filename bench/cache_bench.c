// SPDX-License-Identifier: MIT
/*
 * cache_bench - the DNS key cache's speed: lookups per second on a warm
 * cache at 1, 2 and 8 threads, then verify throughput of 2 workers over
 * a corpus where every message has its own signing domain, with keys
 * from a loopback UDP responder (a thread here) that answers each query
 * after 20 ms: cold with blocking lookups, cold with lookups that
 * complete through the callback, and warm.  One line per figure.
 * Standalone: needs no network and no other bench/ file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "canon/canon.h"
#include "crypto/crypto.h"
#include "dkim/dkim.h"
#include "dns/dns.h"

#define LOOKUP_NAMES 1000
#define LOOKUP_SECONDS 1
#define CORPUS 4000
#define DNS_DELAY_MS 20
#define WORKERS 2
#define IN_FLIGHT 512		/* messages waiting for keys, async run */
#define RESP_QUEUE 4096
#define WARM_ROUNDS 10

/* now_ns - CLOCK_MONOTONIC in nanoseconds */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* die - a setup step failed: say which, exit 1 */
static void
die(const char *what)
{
	fprintf(stderr, "cache_bench: %s\n", what);
	exit(1);
}

/* ---- lookups per second ---- */

struct lookup_arg {
	struct dns_cache *c;
	pthread_barrier_t *start;
	uint64_t until;
	uint64_t done;
	unsigned seed;
};

/* lookup_thread - hits on random warm names until the deadline */
static void *
lookup_thread(void *arg)
{
	struct lookup_arg *a = arg;

	pthread_barrier_wait(a->start);
	while (now_ns() < a->until) {
		for (int i = 0; i < 256; i++) {
			struct dns_key_result r;
			char name[64];

			snprintf(name, sizeof(name), "s._domainkey.n%u.bench",
			    (unsigned)rand_r(&a->seed) % LOOKUP_NAMES);
			if (dns_cache_lookup(a->c, DNS_KEY_DKIM, name, &r,
			    NULL, NULL) != 0) {
				die("lookup missed a warm cache");
			}
			dns_key_free(&r.key);
		}
		a->done += 256;
	}
	return NULL;
}

/* bench_lookups - one line per thread count */
static void
bench_lookups(const char *record)
{
	static const int threads[] = { 1, 2, 8 };
	char path[] = "/tmp/cache-bench-zone-XXXXXX", err[256];
	struct dns_cache_opts o = { .entries = 100000, .min_ttl = 3600 };
	struct dns_source *src;
	struct dns_fetcher *f;
	struct dns_cache *c;
	FILE *fp;
	int fd = mkstemp(path);

	fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (fp == NULL) {
		die("zone file");
	}
	for (int i = 0; i < LOOKUP_NAMES; i++) {
		size_t len = strlen(record);

		fprintf(fp, "s._domainkey.n%d.bench 3600 TXT", i);
		for (size_t off = 0; off < len; off += 255) {
			int k = len - off < 255 ? (int)(len - off) : 255;

			fprintf(fp, " \"%.*s\"", k, record + off);
		}
		fputc('\n', fp);
	}
	fclose(fp);
	if (dns_zone_open(path, &src, err, sizeof(err)) != 0) {
		die(err);
	}
	unlink(path);
	if (dns_fetcher_source(src, &f) != 0 ||
	    (c = dns_cache_create(&o, f)) == NULL) {
		die("out of memory");
	}
	for (int i = 0; i < LOOKUP_NAMES; i++) {
		struct dns_key_result r;
		char name[64];

		snprintf(name, sizeof(name), "s._domainkey.n%d.bench", i);
		dns_cache_lookup_wait(c, DNS_KEY_DKIM, name, &r);
		dns_key_free(&r.key);
	}

	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		struct lookup_arg args[8];
		pthread_t th[8];
		pthread_barrier_t start;
		uint64_t total = 0, t0;

		pthread_barrier_init(&start, NULL, (unsigned)threads[t] + 1);
		t0 = now_ns();
		for (int i = 0; i < threads[t]; i++) {
			args[i] = (struct lookup_arg){ .c = c, .start = &start,
			    .until = t0 + LOOKUP_SECONDS * 1000000000ull,
			    .seed = (unsigned)i + 1 };
			pthread_create(&th[i], NULL, lookup_thread, &args[i]);
		}
		pthread_barrier_wait(&start);
		for (int i = 0; i < threads[t]; i++) {
			pthread_join(th[i], NULL);
			total += args[i].done;
		}
		printf("cache lookups: threads=%d lookups/s=%.0f\n",
		    threads[t], (double)total * 1e9 / (double)(now_ns() - t0));
		pthread_barrier_destroy(&start);
	}
	dns_cache_free(c);
	dns_source_free(src);
}

/* ---- a UDP responder that answers after 20 ms ---- */

struct pending_reply {
	uint64_t due;
	struct sockaddr_in to;
	size_t len;
	unsigned char pkt[512];
};

struct responder {
	int fd;
	int port;
	const char *record;
	atomic_bool stop;
	pthread_t thread;
	struct pending_reply *q;	/* RESP_QUEUE, a ring in due order */
	size_t head, count;
};

/*
 * build_reply - the answer to query q (n bytes) into r: the header
 * with QR and AA set, the question copied, one TXT record pointing
 * back at the question's name.  Returns false for what is not a
 * one-question query.
 */
static bool
build_reply(const char *record, const unsigned char *q, size_t n,
    struct pending_reply *r)
{
	size_t qend = 12, rlen = strlen(record), rdlen;
	unsigned char *p;

	if (n < 17 || q[4] != 0 || q[5] != 1) {
		return false;
	}
	while (qend < n && q[qend] != 0) {
		qend += (size_t)q[qend] + 1;
	}
	qend += 5;
	rdlen = rlen + (rlen + 254) / 255;
	if (qend > n || qend + 12 + rdlen > sizeof(r->pkt)) {
		return false;
	}
	memcpy(r->pkt, q, qend);
	r->pkt[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, RD copied */
	r->pkt[3] = 0;
	r->pkt[6] = 0;
	r->pkt[7] = 1;
	memset(r->pkt + 8, 0, 4);
	p = r->pkt + qend;
	*p++ = 0xc0;
	*p++ = 12;
	*p++ = 0;
	*p++ = 16;			/* TXT */
	*p++ = 0;
	*p++ = 1;			/* IN */
	*p++ = 0;
	*p++ = 0;
	*p++ = 0x0e;
	*p++ = 0x10;			/* TTL 3600 */
	*p++ = (unsigned char)(rdlen >> 8);
	*p++ = (unsigned char)rdlen;
	for (size_t off = 0; off < rlen; off += 255) {
		size_t k = rlen - off < 255 ? rlen - off : 255;

		*p++ = (unsigned char)k;
		memcpy(p, record + off, k);
		p += k;
	}
	r->len = (size_t)(p - r->pkt);
	return true;
}

/* responder_run - read queries, send each reply when it is due */
static void *
responder_run(void *arg)
{
	struct responder *rs = arg;

	while (!atomic_load(&rs->stop)) {
		struct pollfd pfd = { .fd = rs->fd, .events = POLLIN };
		int timeout = 50;
		uint64_t now = now_ns();

		while (rs->count > 0 && rs->q[rs->head].due <= now) {
			struct pending_reply *r = &rs->q[rs->head];

			sendto(rs->fd, r->pkt, r->len, 0,
			    (struct sockaddr *)&r->to, sizeof(r->to));
			rs->head = (rs->head + 1) % RESP_QUEUE;
			rs->count--;
		}
		if (rs->count > 0) {
			timeout = (int)((rs->q[rs->head].due - now) / 1000000)
			    + 1;
		}
		if (poll(&pfd, 1, timeout) <= 0) {
			continue;
		}
		for (;;) {
			unsigned char buf[512];
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			struct pending_reply *r;
			ssize_t n = recvfrom(rs->fd, buf, sizeof(buf),
			    MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

			if (n <= 0 || rs->count == RESP_QUEUE) {
				break;
			}
			r = &rs->q[(rs->head + rs->count) % RESP_QUEUE];
			if (!build_reply(rs->record, buf, (size_t)n, r)) {
				continue;
			}
			r->to = from;
			r->due = now_ns() + DNS_DELAY_MS * 1000000ull;
			rs->count++;
		}
	}
	return NULL;
}

/* responder_start - bind a loopback port and start the thread */
static void
responder_start(struct responder *rs, const char *record)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	memset(rs, 0, sizeof(*rs));
	rs->record = record;
	rs->q = calloc(RESP_QUEUE, sizeof(*rs->q));
	rs->fd = socket(AF_INET, SOCK_DGRAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rs->q == NULL || rs->fd < 0 ||
	    bind(rs->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		die("responder socket");
	}
	/* Bursts of hundreds of queries and replies must not be dropped. */
	setsockopt(rs->fd, SOL_SOCKET, SO_RCVBUF, &(int){ 4 << 20 },
	    sizeof(int));
	setsockopt(rs->fd, SOL_SOCKET, SO_SNDBUF, &(int){ 4 << 20 },
	    sizeof(int));
	getsockname(rs->fd, (struct sockaddr *)&sin, &sl);
	rs->port = ntohs(sin.sin_port);
	pthread_create(&rs->thread, NULL, responder_run, rs);
}

/* responder_stop - stop and join the thread */
static void
responder_stop(struct responder *rs)
{
	atomic_store(&rs->stop, true);
	pthread_join(rs->thread, NULL);
	close(rs->fd);
	free(rs->q);
}

/* ---- verify throughput ---- */

struct corpus {
	char *text[CORPUS];
	size_t len[CORPUS];
};

/* corpus_make - CORPUS messages, message i signed by d=d<i>.bench */
static void
corpus_make(struct corpus *cp, struct crypto_key *k)
{
	struct dkim_signer *s = dkim_signer_create();

	for (int i = 0; i < CORPUS; i++) {
		char domain[64], *msg, err[256];
		struct dkim_sign_spec spec = {
			.type = DKIM_TYPE_DKIM, .alg = DKIM_ALG_RSA_SHA256,
			.header_canon = CANON_RELAXED,
			.body_canon = CANON_RELAXED, .sdid = domain,
			.selector = "s", .timestamp = true, .key = k,
		};
		struct canon_msg m;
		const char *hdr;
		size_t hlen;
		int n;

		snprintf(domain, sizeof(domain), "d%d.bench", i);
		n = asprintf(&msg, "From: user@%s\r\nTo: you@example.org\r\n"
		    "Subject: message %d\r\nMessage-ID: <%d@%s>\r\n\r\n"
		    "A body line of the benchmark corpus.\r\n", domain, i, i,
		    domain);
		canon_msg_init(&m);
		if (n < 0 || canon_msg_parse(&m, msg, (size_t)n) != 0 ||
		    dkim_sign(s, &m, &spec, 1, 0, &hdr, &hlen, err,
		    sizeof(err)) != 0) {
			die("signing the corpus");
		}
		cp->text[i] = malloc(hlen + (size_t)n + 1);
		memcpy(cp->text[i], hdr, hlen);
		memcpy(cp->text[i] + hlen, msg, (size_t)n + 1);
		cp->len[i] = hlen + (size_t)n;
		canon_msg_free(&m);
		free(msg);
	}
	dkim_signer_free(s);
}

struct inflight;

/* Where one key's answer goes. */
struct key_slot {
	struct inflight *f;
	size_t i;
};

/* One message on its way: begun, waiting for keys, then ended. */
struct inflight {
	struct verify_run *run;
	struct dkim_verifier *v;
	struct canon_msg m;
	const struct dkim_key_query *q;
	size_t n;
	struct dns_key_result res[DKIM_MAX_SIGNATURES];
	struct key_slot slot[DKIM_MAX_SIGNATURES];
	atomic_int left;
	struct inflight *next;	/* the run's ready queue */
};

struct verify_run {
	struct dns_cache *c;
	const struct corpus *cp;
	bool async;
	int next;			/* next corpus index */
	atomic_int passed;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct inflight *ready;		/* keys complete */
	int inflight;			/* begun, not ended */
	int finished;
};

/* finish - verify_end one message and account for it */
static void
finish(struct verify_run *run, struct inflight *f)
{
	struct dkim_report r;

	for (size_t i = 0; i < f->n; i++) {
		dkim_verify_key(f->v, i, &f->res[i]);
	}
	if (dkim_verify_end(f->v, &r) == 0 && r.result == DKIM_RES_PASS) {
		atomic_fetch_add(&run->passed, 1);
	}
	dkim_verifier_free(f->v);
	canon_msg_free(&f->m);
	free(f);
	pthread_mutex_lock(&run->lock);
	run->inflight--;
	run->finished++;
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

/* ready - all keys of f are in: queue it for a worker */
static void
ready(struct inflight *f)
{
	struct verify_run *run = f->run;

	pthread_mutex_lock(&run->lock);
	f->next = run->ready;
	run->ready = f;
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

/* key_cb - the fetcher's thread: a key arrived; the last one queues */
static void
key_cb(void *arg, const struct dns_key_result *r)
{
	struct key_slot *sl = arg;
	struct inflight *f = sl->f;

	dns_key_result_copy(&f->res[sl->i], r);
	if (atomic_fetch_sub(&f->left, 1) == 1) {
		ready(f);
	}
}

/*
 * begin - parse message i and start its lookups.  Returns f when every
 * key is already there (hits, or the blocking run), else NULL: the
 * last callback queues f.
 */
static struct inflight *
begin(struct verify_run *run, int i)
{
	struct inflight *f = calloc(1, sizeof(*f));
	struct dkim_verify_opts o = { .dkim = true };
	int nq;

	if (f == NULL) {
		die("out of memory");
	}
	f->run = run;
	f->v = dkim_verifier_create();
	canon_msg_init(&f->m);
	if (canon_msg_parse(&f->m, run->cp->text[i], run->cp->len[i]) != 0 ||
	    (nq = dkim_verify_begin(f->v, &f->m, &o, &f->q)) < 0) {
		die("verify_begin");
	}
	f->n = (size_t)nq;

	/* One extra count, dropped last, so no callback queues early. */
	atomic_store(&f->left, nq + 1);
	for (int k = 0; k < nq; k++) {
		int rc;

		if (!run->async) {
			dns_cache_lookup_wait(run->c, f->q[k].kind,
			    f->q[k].qname, &f->res[k]);
			atomic_fetch_sub(&f->left, 1);
			continue;
		}
		f->slot[k] = (struct key_slot){ .f = f, .i = (size_t)k };
		rc = dns_cache_lookup(run->c, f->q[k].kind, f->q[k].qname,
		    &f->res[k], key_cb, &f->slot[k]);
		if (rc != -EINPROGRESS) {
			atomic_fetch_sub(&f->left, 1);
		}
	}
	return atomic_fetch_sub(&f->left, 1) == 1 ? f : NULL;
}

/*
 * worker - take a message whose keys are in, else begin a new one
 * while fewer than IN_FLIGHT are open, else sleep until one finishes.
 */
static void *
worker(void *arg)
{
	struct verify_run *run = arg;

	for (;;) {
		struct inflight *f = NULL;
		int i = -1;

		pthread_mutex_lock(&run->lock);
		for (;;) {
			if (run->ready != NULL) {
				f = run->ready;
				run->ready = f->next;
				break;
			}
			if (run->finished == CORPUS) {
				break;
			}
			if (run->next < CORPUS && run->inflight < IN_FLIGHT) {
				i = run->next++;
				run->inflight++;
				break;
			}
			pthread_cond_wait(&run->cond, &run->lock);
		}
		pthread_mutex_unlock(&run->lock);
		if (f == NULL && i < 0) {
			return NULL;
		}
		if (f == NULL) {
			f = begin(run, i);
		}
		if (f != NULL) {
			finish(run, f);
		}
	}
}

/* verify_once - the corpus through c by WORKERS workers; msgs/s */
static double
verify_once(struct dns_cache *c, const struct corpus *cp, bool async)
{
	struct verify_run run = { .c = c, .cp = cp, .async = async };
	pthread_t th[WORKERS];
	uint64_t t0;

	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.cond, NULL);
	t0 = now_ns();
	for (int i = 0; i < WORKERS; i++) {
		pthread_create(&th[i], NULL, worker, &run);
	}
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(th[i], NULL);
	}
	t0 = now_ns() - t0;
	if (atomic_load(&run.passed) != CORPUS) {
		fprintf(stderr, "cache_bench: %d of %d passed\n",
		    atomic_load(&run.passed), CORPUS);
		exit(1);
	}
	pthread_cond_destroy(&run.cond);
	pthread_mutex_destroy(&run.lock);
	return (double)CORPUS * 1e9 / (double)t0;
}

/* resolver_cache - a fresh cache over the responder */
static struct dns_cache *
resolver_cache(const struct responder *rs)
{
	struct dns_cache_opts o = { .entries = 100000, .min_ttl = 60 };
	struct dns_fetcher *f;
	struct dns_cache *c;
	char servers[64], err[256];

	snprintf(servers, sizeof(servers), "127.0.0.1:%d", rs->port);
	if (dns_fetcher_resolver(servers, 2000, 2, &f, err,
	    sizeof(err)) != 0) {
		die(err);
	}
	c = dns_cache_create(&o, f);
	if (c == NULL) {
		die("out of memory");
	}
	return c;
}

/* bench_verify - cold blocking, cold async and warm throughput */
static void
bench_verify(const char *record, struct crypto_key *k)
{
	struct dns_cache_stats st;
	struct responder rs;
	struct corpus cp;
	struct dns_cache *c;
	char line[256];
	double cold_block, cold_async, warm;

	corpus_make(&cp, k);
	responder_start(&rs, record);

	c = resolver_cache(&rs);
	cold_block = verify_once(c, &cp, false);
	dns_cache_free(c);

	c = resolver_cache(&rs);
	cold_async = verify_once(c, &cp, true);

	/* The warm run is short: the mean of WARM_ROUNDS of them. */
	warm = 0;
	for (int i = 0; i < WARM_ROUNDS; i++) {
		warm += verify_once(c, &cp, true) / WARM_ROUNDS;
	}
	dns_cache_stats(c, &st);
	dns_cache_free(c);
	responder_stop(&rs);

	printf("verify: workers=%d msgs=%d dns_delay_ms=%d cold blocking "
	    "msgs/s=%.0f\n", WORKERS, CORPUS, DNS_DELAY_MS, cold_block);
	printf("verify: workers=%d msgs=%d dns_delay_ms=%d cold callback "
	    "msgs/s=%.0f (in flight<=%d)\n", WORKERS, CORPUS, DNS_DELAY_MS,
	    cold_async, IN_FLIGHT);
	printf("verify: workers=%d msgs=%d warm msgs/s=%.0f (mean of %d "
	    "rounds)\n", WORKERS, CORPUS, warm, WARM_ROUNDS);
	printf("dns-cache (callback run): %s\n",
	    dns_cache_stats_line(&st, line, sizeof(line)));
	for (int i = 0; i < CORPUS; i++) {
		free(cp.text[i]);
	}
}

int
main(void)
{
	struct crypto_key *k;
	unsigned char *pub;
	size_t plen;
	char *record;

	if (crypto_keygen(CRYPTO_KEY_RSA, 2048, &k) != 0 ||
	    crypto_key_public(k, &pub, &plen) != 0) {
		die("key generation");
	}
	record = malloc(32 + crypto_b64_encoded_len(plen));
	strcpy(record, "v=DKIM1; k=rsa; p=");
	crypto_b64_encode(pub, plen, record + strlen(record));
	free(pub);

	bench_lookups(record);
	bench_verify(record, k);
	crypto_key_free(k);
	free(record);
	return 0;
}
