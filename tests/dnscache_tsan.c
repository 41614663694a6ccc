/* SPDX-License-Identifier: MIT */
/*
 * dnscache_tsan - the key cache under ThreadSanitizer, as a plain
 * program because Criterion's arena does not start under TSan.
 *
 * Three checks, each printing one line: 64 threads missing on one name
 * make one fetch; threads hammering a small cache whose entries expire
 * within a second, over a fetcher that answers from its own thread,
 * get exactly one callback per miss or join; threads asking the c-ares
 * fetcher (a refused loopback port) hand queries to its event loop and
 * get temperrors back.  Exit 0 pass, 1 fail.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns.h"

#define HAMMER_THREADS 8
#define HAMMER_LOOKUPS 5000
#define HAMMER_NAMES 200

/* One request waiting for the fetcher's thread. */
struct job {
	struct job *next;
	dns_fetch_done done;
	void *ctx;
};

/* A fetcher answering NXDOMAIN from its own thread after delay_us. */
struct slow_fetcher {
	struct dns_fetcher base;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *jobs;
	bool stop;
	unsigned delay_us;
	atomic_int fetches;
	pthread_t thread;
};

/* slow_run - the fetcher's thread: answer each job in turn */
static void *
slow_run(void *arg)
{
	struct slow_fetcher *sf = arg;
	struct dns_key_result r = { .status = DNS_NXDOMAIN, .ttl = 1 };

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&sf->lock);
		while (sf->jobs == NULL && !sf->stop) {
			pthread_cond_wait(&sf->cond, &sf->lock);
		}
		j = sf->jobs;
		if (j != NULL) {
			sf->jobs = j->next;
		}
		pthread_mutex_unlock(&sf->lock);
		if (j == NULL) {
			return NULL;
		}
		if (sf->delay_us > 0) {
			usleep(sf->delay_us);
		}
		j->done(j->ctx, &r);
		free(j);
	}
}

/* slow_fetch - queue the request for the fetcher's thread */
static int
slow_fetch(struct dns_fetcher *f, enum dns_key_kind kind,
    const char *qname, dns_fetch_done done, void *ctx)
{
	struct slow_fetcher *sf = (struct slow_fetcher *)f;
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		return -1;
	}
	j->done = done;
	j->ctx = ctx;
	atomic_fetch_add(&sf->fetches, 1);
	pthread_mutex_lock(&sf->lock);
	j->next = sf->jobs;
	sf->jobs = j;
	pthread_cond_signal(&sf->cond);
	pthread_mutex_unlock(&sf->lock);
	return 0;
}

/* slow_free - drain and stop the thread; the struct is the caller's */
static void
slow_free(struct dns_fetcher *f)
{
	struct slow_fetcher *sf = (struct slow_fetcher *)f;

	pthread_mutex_lock(&sf->lock);
	sf->stop = true;
	pthread_cond_signal(&sf->cond);
	pthread_mutex_unlock(&sf->lock);
	pthread_join(sf->thread, NULL);
}

static const struct dns_fetcher_ops slow_ops = {
	.name = "slow", .fetch = slow_fetch, .free = slow_free,
};

/* slow_start - a slow fetcher with its thread running */
static void
slow_start(struct slow_fetcher *sf, unsigned delay_us)
{
	memset(sf, 0, sizeof(*sf));
	sf->base.ops = &slow_ops;
	sf->delay_us = delay_us;
	pthread_mutex_init(&sf->lock, NULL);
	pthread_cond_init(&sf->cond, NULL);
	pthread_create(&sf->thread, NULL, slow_run, sf);
}

static struct dns_cache *cache;
static pthread_barrier_t barrier;
static atomic_int callbacks;

/* one_name - wait at the barrier, then one waiting lookup */
static void *
one_name(void *arg)
{
	struct dns_key_result r;

	pthread_barrier_wait(&barrier);
	if (dns_cache_lookup_wait(cache, DNS_KEY_DKIM, "same.example",
	    &r) != 0 || r.status != DNS_NXDOMAIN) {
		abort();
	}
	return NULL;
}

/* single_flight - 64 concurrent misses, one fetch */
static bool
single_flight(void)
{
	struct slow_fetcher sf;
	struct dns_cache_stats st;
	pthread_t th[64];

	slow_start(&sf, 200000);
	cache = dns_cache_create(NULL, &sf.base);
	pthread_barrier_init(&barrier, NULL, 64);
	for (int i = 0; i < 64; i++) {
		pthread_create(&th[i], NULL, one_name, NULL);
	}
	for (int i = 0; i < 64; i++) {
		pthread_join(th[i], NULL);
	}
	dns_cache_stats(cache, &st);
	dns_cache_free(cache);
	pthread_barrier_destroy(&barrier);
	printf("single-flight: queries=%llu coalesced=%llu fetches=%d\n",
	    (unsigned long long)st.queries,
	    (unsigned long long)st.coalesced, atomic_load(&sf.fetches));
	return st.queries == 1 && st.coalesced == 63 &&
	    atomic_load(&sf.fetches) == 1;
}

/* count_cb - one callback more */
static void
count_cb(void *arg, const struct dns_key_result *r)
{
	atomic_fetch_add(&callbacks, 1);
}

/* hammer_thread - lookups over a few names, without waiting */
static void *
hammer_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	pthread_barrier_wait(&barrier);
	for (int i = 0; i < HAMMER_LOOKUPS; i++) {
		struct dns_key_result r;
		char name[64];

		snprintf(name, sizeof(name), "n%u.example",
		    (unsigned)rand_r(&seed) % HAMMER_NAMES);
		if (dns_cache_lookup(cache, DNS_KEY_DKIM, name, &r, count_cb,
		    NULL) == 0) {
			dns_key_free(&r.key);
		}
	}
	return NULL;
}

/* hammer - many threads, evictions and expiry, callbacks counted */
static bool
hammer(void)
{
	struct dns_cache_opts o = { .entries = 32, .min_ttl = 0,
	    .max_ttl = 1 };
	struct slow_fetcher sf;
	struct dns_cache_stats st;
	pthread_t th[HAMMER_THREADS];
	unsigned long long total = HAMMER_THREADS * HAMMER_LOOKUPS;
	bool ok;

	slow_start(&sf, 0);
	cache = dns_cache_create(&o, &sf.base);
	pthread_barrier_init(&barrier, NULL, HAMMER_THREADS);
	for (int i = 0; i < HAMMER_THREADS; i++) {
		pthread_create(&th[i], NULL, hammer_thread,
		    (void *)(uintptr_t)(i + 1));
	}
	for (int i = 0; i < HAMMER_THREADS; i++) {
		pthread_join(th[i], NULL);
	}

	/* Let the fetcher's thread answer what is still queued. */
	for (int i = 0; i < 1000; i++) {
		dns_cache_stats(cache, &st);
		if ((unsigned long long)atomic_load(&callbacks) ==
		    st.misses + st.coalesced) {
			break;
		}
		usleep(10000);
	}
	dns_cache_stats(cache, &st);
	dns_cache_free(cache);
	pthread_barrier_destroy(&barrier);
	ok = st.hits + st.misses + st.coalesced == total &&
	    (unsigned long long)atomic_load(&callbacks) ==
	    st.misses + st.coalesced && st.evictions > 0;
	printf("hammer: lookups=%llu hits=%llu misses=%llu coalesced=%llu "
	    "evictions=%llu callbacks=%d\n", total,
	    (unsigned long long)st.hits, (unsigned long long)st.misses,
	    (unsigned long long)st.coalesced,
	    (unsigned long long)st.evictions, atomic_load(&callbacks));
	return ok;
}

/* ares_thread - lookups of distinct names through the c-ares loop */
static void *
ares_thread(void *arg)
{
	unsigned base = (unsigned)(uintptr_t)arg;

	pthread_barrier_wait(&barrier);
	for (unsigned i = 0; i < 20; i++) {
		struct dns_key_result r;
		char name[64];

		snprintf(name, sizeof(name), "a%u.t%u.example", i, base);
		if (dns_cache_lookup_wait(cache, DNS_KEY_DKIM, name, &r) != 0 ||
		    !dns_status_is_temporary(r.status)) {
			abort();
		}
		atomic_fetch_add(&callbacks, 1);
	}
	return NULL;
}

/* through_ares - the c-ares fetcher's hand-off between threads */
static bool
through_ares(void)
{
	struct dns_fetcher *f;
	struct dns_cache_stats st;
	pthread_t th[4];
	char err[256];

	/* Port 1 on loopback: refused at once, a temperror. */
	if (dns_fetcher_resolver("127.0.0.1:1", 500, 1, &f, err,
	    sizeof(err)) != 0) {
		printf("c-ares: %s\n", err);
		return false;
	}
	cache = dns_cache_create(NULL, f);
	atomic_store(&callbacks, 0);
	pthread_barrier_init(&barrier, NULL, 4);
	for (int i = 0; i < 4; i++) {
		pthread_create(&th[i], NULL, ares_thread,
		    (void *)(uintptr_t)i);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
	}
	dns_cache_stats(cache, &st);
	dns_cache_free(cache);
	pthread_barrier_destroy(&barrier);
	printf("c-ares: lookups=80 queries=%llu errors=%llu\n",
	    (unsigned long long)st.queries, (unsigned long long)st.errors);
	return st.queries == 80 && st.errors == 80 &&
	    atomic_load(&callbacks) == 80;
}

int
main(void)
{
	bool ok = single_flight();

	ok = hammer() && ok;
	ok = through_ares() && ok;
	printf("%s\n", ok ? "pass" : "FAIL");
	return ok ? 0 : 1;
}
