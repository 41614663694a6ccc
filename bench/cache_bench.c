// SPDX-License-Identifier: MIT
/*
 * cache_bench - the DNS key cache's speed: lookups per second on a warm
 * cache at 1, 2 and 8 threads, then verify throughput of 2 workers over
 * a corpus where every message has its own signing domain, with keys
 * from a loopback UDP responder (a thread here) that answers each query
 * after 20 ms.  The messages go through the worker pool of the daemon
 * and of batch runs: cold with workers that wait for each key, cold
 * with messages parked while their keys are fetched, and warm.  One
 * line per figure.  Standalone: needs no network and no other bench/
 * file.
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
#include "workers/workers.h"

#define LOOKUP_NAMES 1000
#define LOOKUP_SECONDS 1
#define CORPUS 10000
#define BLOCKING_MSGS 200
#define DNS_DELAY_MS 20
#define WORKERS 2
#define IN_FLIGHT 2048		/* the pool's queue depth */
#define RESP_QUEUE 4096
#define BATCH 64		/* datagrams a responder system call */
#define ROUNDS 5			/* cold and warm pairs */
#define KEY_ROUNDS 2000		/* fresh keys timed */

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

/*
 * send_due - send the replies that are due, up to BATCH per system call:
 * the responder stands for a server on another machine, so its own CPU
 * time on this one is kept small.
 */
static void
send_due(struct responder *rs, uint64_t now)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int n = 0;

	while (rs->count > 0 && rs->q[rs->head].due <= now) {
		struct pending_reply *r = &rs->q[rs->head];

		iov[n] = (struct iovec){ .iov_base = r->pkt,
		    .iov_len = r->len };
		mm[n] = (struct mmsghdr){ .msg_hdr = {
			.msg_name = &r->to, .msg_namelen = sizeof(r->to),
			.msg_iov = &iov[n], .msg_iovlen = 1,
		} };
		rs->head = (rs->head + 1) % RESP_QUEUE;
		rs->count--;
		if (++n == BATCH) {
			sendmmsg(rs->fd, mm, (unsigned)n, 0);
			n = 0;
		}
	}
	if (n > 0) {
		sendmmsg(rs->fd, mm, (unsigned)n, 0);
	}
}

/* recv_queries - queue a reply for each waiting query, BATCH a call */
static void
recv_queries(struct responder *rs)
{
	static unsigned char buf[BATCH][512];
	struct sockaddr_in from[BATCH];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int got;

	do {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ .iov_base = buf[i],
			    .iov_len = sizeof(buf[i]) };
			mm[i] = (struct mmsghdr){ .msg_hdr = {
				.msg_name = &from[i],
				.msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
			} };
		}
		got = recvmmsg(rs->fd, mm, BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < got && rs->count < RESP_QUEUE; i++) {
			struct pending_reply *r =
			    &rs->q[(rs->head + rs->count) % RESP_QUEUE];

			if (!build_reply(rs->record, buf[i], mm[i].msg_len,
			    r)) {
				continue;
			}
			r->to = from[i];
			r->due = now_ns() + DNS_DELAY_MS * 1000000ull;
			rs->count++;
		}
	} while (got == BATCH);
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

		send_due(rs, now);
		if (rs->count > 0) {
			timeout = (int)((rs->q[rs->head].due - now) / 1000000)
			    + 1;
		}
		if (poll(&pfd, 1, timeout) > 0) {
			recv_queries(rs);
		}
	}
	return NULL;
}

/* The responder's CPU clock: its time is not the verifier's. */
static clockid_t responder_clock;

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
	if (pthread_getcpuclockid(rs->thread, &responder_clock) != 0) {
		die("responder clock");
	}
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

/*
 * The verify runs go through the worker pool of the daemon and of
 * batch runs (workers/), so what is measured is what they do: a job
 * whose key is missing is parked and resumed from the cache's
 * callback, and at most IN_FLIGHT jobs are queued, running or parked.
 * Jobs are recycled through a free list, as a reader would.
 */
struct verify_run {
	pthread_mutex_t lock;
	struct wrk_job *free;		/* done jobs, linked through user */
	int passed;
};

/* job_done - a worker finished j: count a pass, keep j for reuse */
static void
job_done(void *arg, struct wrk_job *j)
{
	struct verify_run *run = arg;
	bool pass = j->res.error == 0 && j->res.report != NULL &&
	    j->res.report->result == DKIM_RES_PASS;

	pthread_mutex_lock(&run->lock);
	run->passed += pass;
	j->user = run->free;
	run->free = j;
	pthread_mutex_unlock(&run->lock);
}

/* job_get - a free job, or a new one */
static struct wrk_job *
job_get(struct verify_run *run)
{
	struct wrk_job *j;

	pthread_mutex_lock(&run->lock);
	j = run->free;
	if (j != NULL) {
		run->free = j->user;
	}
	pthread_mutex_unlock(&run->lock);
	if (j == NULL && (j = wrk_job_create()) == NULL) {
		die("out of memory");
	}
	return j;
}

/* What one verify run measured. */
struct figures {
	double rate;		/* messages per second, wall clock */
	double cpu_us;		/* CPU microseconds per message */
};

/* cpu_ns - CPU time of the process but the responder thread */
static uint64_t
cpu_ns(void)
{
	struct timespec all, resp;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &all);
	clock_gettime(responder_clock, &resp);
	return (uint64_t)(all.tv_sec - resp.tv_sec) * 1000000000u +
	    (uint64_t)all.tv_nsec - (uint64_t)resp.tv_nsec;
}

/*
 * verify_once - the first n messages of cp through a pool of WORKERS
 * taking keys from c (parking) or, when c is NULL, from src (each
 * worker waits); msgs/s from the first submission to the last done,
 * and CPU time per message over the same span.
 */
static struct figures
verify_once(struct dns_cache *c, struct dns_source *src,
    const struct corpus *cp, int n)
{
	struct verify_run run = { .free = NULL };
	struct wrk_pool_opts o = {
		.threads = WORKERS, .queue_depth = IN_FLIGHT,
		.cache = c, .src = src, .done = job_done, .done_arg = &run,
	};
	struct wrk_pool *pool;
	char err[256];
	uint64_t t0, c0;

	pthread_mutex_init(&run.lock, NULL);
	pool = wrk_pool_create(&o, err, sizeof(err));
	if (pool == NULL) {
		die(err);
	}

	/* Jobs are made before the clock starts, as a reader recycles. */
	for (int i = 0; i < IN_FLIGHT + WORKERS; i++) {
		struct wrk_job *j = wrk_job_create();

		if (j == NULL) {
			die("out of memory");
		}
		job_done(&run, j);
	}
	c0 = cpu_ns();
	t0 = now_ns();
	for (int i = 0; i < n; i++) {
		struct wrk_job *j = job_get(&run);

		j->mode = WRK_VERIFY;
		j->buf = cp->text[i];
		j->len = cp->len[i];
		if (wrk_submit(pool, j) != 0) {
			die("submit");
		}
	}
	wrk_pool_quiesce(pool);
	t0 = now_ns() - t0;
	c0 = cpu_ns() - c0;
	wrk_pool_free(pool);
	if (run.passed != n) {
		fprintf(stderr, "cache_bench: %d of %d passed\n", run.passed,
		    n);
		exit(1);
	}
	while (run.free != NULL) {
		struct wrk_job *j = run.free;

		run.free = j->user;
		wrk_job_free(j);
	}
	pthread_mutex_destroy(&run.lock);
	return (struct figures){ .rate = (double)n * 1e9 / (double)t0,
	    .cpu_us = (double)c0 / 1e3 / n };
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

/* cmp_double - qsort order */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* median - of v[0..n), which it sorts */
static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * new_key_us - CPU microseconds that a key fresh from its record costs
 * over a cached one, on this thread: decoding p= (pub, plen bytes) and
 * a first verification (OpenSSL builds its Montgomery context and the
 * verification context then), less a verification with a warm key.
 */
static double
new_key_us(struct crypto_key *k, const unsigned char *pub, size_t plen)
{
	unsigned char dig[32] = { 1 }, sig[CRYPTO_SIG_MAX];
	size_t slen = sizeof(sig);
	struct crypto_key *fresh;
	uint64_t t0, t_new, t_warm;

	if (crypto_sign(k, CRYPTO_SHA256, dig, sizeof(dig), sig,
	    &slen) != 0) {
		die("signing");
	}
	t0 = now_ns();
	for (int i = 0; i < KEY_ROUNDS; i++) {
		if (crypto_key_from_public(CRYPTO_KEY_RSA, pub, plen,
		    &fresh) != 0 || crypto_verify(fresh, CRYPTO_SHA256, dig,
		    sizeof(dig), sig, slen) != 0) {
			die("fresh key");
		}
		crypto_key_free(fresh);
	}
	t_new = now_ns() - t0;
	t0 = now_ns();
	for (int i = 0; i < KEY_ROUNDS; i++) {
		if (crypto_verify(k, CRYPTO_SHA256, dig, sizeof(dig), sig,
		    slen) != 0) {
			die("warm key");
		}
	}
	t_warm = now_ns() - t0;
	return ((double)t_new - (double)t_warm) / 1e3 / KEY_ROUNDS;
}

/*
 * bench_verify - cold blocking, then ROUNDS pairs of a cold parking run
 * on a fresh cache and a warm run on the cache it filled, side by side
 * so that both see the same machine; medians, and the median of the
 * pairs' ratios.  Then what bounds the ratio: the CPU time of a message
 * in each run, and the part of the difference that is key work.
 */
static void
bench_verify(const char *record, struct crypto_key *k,
    const unsigned char *pub, size_t plen)
{
	struct dns_cache_stats st;
	struct responder rs;
	struct corpus cp;
	struct dns_cache *c;
	struct dns_source *src;
	char line[256], servers[64], err[256];
	double cold[ROUNDS], warm[ROUNDS], ratio[ROUNDS];
	double cold_cpu[ROUNDS], warm_cpu[ROUNDS], key_us, wcpu;
	struct figures block;

	corpus_make(&cp, k);
	responder_start(&rs, record);

	/* Waiting workers: 2 messages per 20 ms, so a short run will do. */
	snprintf(servers, sizeof(servers), "127.0.0.1:%d", rs.port);
	if (dns_resolver_open(servers, 2000, 2, &src, err,
	    sizeof(err)) != 0) {
		die(err);
	}
	block = verify_once(NULL, src, &cp, BLOCKING_MSGS);
	dns_source_free(src);

	for (int r = 0; r < ROUNDS; r++) {
		struct figures fc, fw;

		c = resolver_cache(&rs);
		fc = verify_once(c, NULL, &cp, CORPUS);
		fw = verify_once(c, NULL, &cp, CORPUS);
		cold[r] = fc.rate;
		warm[r] = fw.rate;
		ratio[r] = fc.rate / fw.rate;
		cold_cpu[r] = fc.cpu_us;
		warm_cpu[r] = fw.cpu_us;
		dns_cache_stats(c, &st);
		dns_cache_free(c);
	}
	responder_stop(&rs);
	key_us = new_key_us(k, pub, plen);
	wcpu = median(warm_cpu, ROUNDS);

	printf("verify: workers=%d msgs=%d dns_delay_ms=%d cold blocking "
	    "msgs/s=%.0f\n", WORKERS, BLOCKING_MSGS, DNS_DELAY_MS,
	    block.rate);
	printf("verify: workers=%d msgs=%d dns_delay_ms=%d cold parking "
	    "msgs/s=%.0f (in flight<=%d, median of %d)\n", WORKERS, CORPUS,
	    DNS_DELAY_MS, median(cold, ROUNDS), IN_FLIGHT, ROUNDS);
	printf("verify: workers=%d msgs=%d warm msgs/s=%.0f (median of "
	    "%d)\n", WORKERS, CORPUS, median(warm, ROUNDS), ROUNDS);
	printf("verify: cold parking / warm = %.0f %% (median of the %d "
	    "pairs)\n", 100.0 * median(ratio, ROUNDS), ROUNDS);
	printf("verify: CPU per message (responder excluded): cold %.1f us, "
	    "warm %.1f us\n", median(cold_cpu, ROUNDS), wcpu);
	printf("verify: a key fresh from DNS costs %.1f us of CPU more than "
	    "a cached one (decode, first verification); that alone caps "
	    "cold / warm at %.0f %% when the CPU is the limit\n", key_us,
	    100.0 * wcpu / (wcpu + key_us));
	printf("dns-cache (last pair): %s\n",
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

	bench_lookups(record);
	bench_verify(record, k, pub, plen);
	free(pub);
	crypto_key_free(k);
	free(record);
	return 0;
}
