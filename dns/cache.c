// SPDX-License-Identifier: MIT
/*
 * cache - the shared key cache: parsed records by (kind, name) in
 * shards, each a mutex, a fixed chained hash table and an LRU list.
 * A miss leaves a pending entry that later lookups join (single-flight)
 * and that the fetcher's callback completes, on the fetcher's thread.
 * Does not resolve anything itself (see fetcher.c).  Limitations: the
 * LRU order and the bound are per shard (entries / shards each), so the
 * name evicted is the least recent of its shard, not of the whole cache.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

#define CACHE_ENTRIES 100000
#define CACHE_MIN_TTL 60
#define CACHE_MAX_TTL 86400
#define CACHE_TEMP_BACKOFF 5
#define CACHE_SHARDS 16
#define CACHE_LINE 64

struct cache_waiter {
	struct cache_waiter *next;
	dns_cache_cb cb;
	void *arg;
};

struct cache_entry {
	struct cache_entry *hnext;	/* hash chain */
	struct cache_entry *prev, *next;	/* LRU, most recent first */
	struct cache_shard *shard;
	uint64_t hash;
	enum dns_key_kind kind;
	bool pending;			/* a fetch is running */
	struct cache_waiter *waiters;	/* while pending */
	uint64_t expires_ms;		/* when complete */
	struct dns_key_result res;	/* when complete; owns its key */
	char qname[DNS_NAME_MAX + 1];	/* lowercase */
};

/* Each shard on cache lines of its own: hits write the counters. */
struct cache_shard {
	_Alignas(CACHE_LINE) pthread_mutex_t lock;
	struct cache_entry **buckets;
	size_t mask;			/* buckets - 1 */
	struct cache_entry *lru_head, *lru_tail;
	size_t count;			/* complete entries, in the LRU */
	size_t cap;
	struct dns_cache_stats st;
	struct dns_cache *cache;
};

struct dns_cache {
	struct dns_cache_opts o;
	struct dns_fetcher *fetcher;
	uint64_t (*now)(void *);
	void *now_arg;
	size_t nshards;
	struct cache_shard shards[];
};

/* monotonic_ms - CLOCK_MONOTONIC in milliseconds */
static uint64_t
monotonic_ms(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* name_hash - FNV-1a over kind and the lowercase name */
static uint64_t
name_hash(enum dns_key_kind kind, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)kind;

	for (const unsigned char *p = (const void *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* lru_unlink - take e out of its shard's LRU list */
static void
lru_unlink(struct cache_shard *s, struct cache_entry *e)
{
	if (e->prev != NULL) {
		e->prev->next = e->next;
	} else {
		s->lru_head = e->next;
	}
	if (e->next != NULL) {
		e->next->prev = e->prev;
	} else {
		s->lru_tail = e->prev;
	}
	e->prev = e->next = NULL;
	s->count--;
}

/* lru_push - put e first in its shard's LRU list */
static void
lru_push(struct cache_shard *s, struct cache_entry *e)
{
	e->prev = NULL;
	e->next = s->lru_head;
	if (s->lru_head != NULL) {
		s->lru_head->prev = e;
	} else {
		s->lru_tail = e;
	}
	s->lru_head = e;
	s->count++;
}

/* hash_unlink - take e out of its bucket */
static void
hash_unlink(struct cache_shard *s, struct cache_entry *e)
{
	struct cache_entry **pp = &s->buckets[e->hash & s->mask];

	while (*pp != e) {
		pp = &(*pp)->hnext;
	}
	*pp = e->hnext;
}

/* entry_find - the entry for (kind, name), or NULL */
static struct cache_entry *
entry_find(struct cache_shard *s, uint64_t h, enum dns_key_kind kind,
    const char *name)
{
	struct cache_entry *e;

	for (e = s->buckets[h & s->mask]; e != NULL; e = e->hnext) {
		if (e->hash == h && e->kind == kind &&
		    strcmp(e->qname, name) == 0) {
			return e;
		}
	}
	return NULL;
}

/* entry_free - release e (out of every list) and its result */
static void
entry_free(struct cache_entry *e)
{
	dns_key_free(&e->res.key);
	free(e);
}

/* ttl_of - how long r may be kept, in seconds, within the bounds */
static unsigned
ttl_of(const struct dns_cache_opts *o, const struct dns_key_result *r)
{
	unsigned ttl = r->ttl;

	if (dns_status_is_temporary(r->status)) {
		return o->temp_backoff;
	}
	if (ttl < o->min_ttl) {
		ttl = o->min_ttl;
	}
	if (ttl > o->max_ttl) {
		ttl = o->max_ttl;
	}
	return ttl;
}

/* cache_done - a fetch finished: store, then call every waiter */
static void
cache_done(void *ctx, const struct dns_key_result *r)
{
	struct cache_entry *e = ctx;
	struct cache_shard *s = e->shard;
	struct dns_cache *c = s->cache;
	struct cache_waiter *w, *next;
	uint64_t now = c->now(c->now_arg);

	/*
	 * The entry keeps its own copy; the waiters get the fetcher's
	 * result, which stays valid for this call whatever happens to
	 * the entry once the lock is dropped.
	 */
	pthread_mutex_lock(&s->lock);
	w = e->waiters;
	e->waiters = NULL;
	e->pending = false;
	if (dns_status_is_temporary(r->status)) {
		s->st.errors++;
	}
	if (dns_key_result_copy(&e->res, r) != 0) {
		hash_unlink(s, e);
		entry_free(e);
	} else {
		e->expires_ms = now + (uint64_t)ttl_of(&c->o, r) * 1000;
		lru_push(s, e);
		while (s->count > s->cap) {
			struct cache_entry *old = s->lru_tail;

			lru_unlink(s, old);
			hash_unlink(s, old);
			entry_free(old);
			s->st.evictions++;
		}
	}
	pthread_mutex_unlock(&s->lock);

	for (; w != NULL; w = next) {
		next = w->next;
		w->cb(w->arg, r);
		free(w);
	}
}

/* fetch_failed - complete e with a temperror when fetch() fails */
static void
fetch_failed(struct cache_entry *e)
{
	struct dns_key_result r = { .status = DNS_SERVFAIL };

	snprintf(r.reason, sizeof(r.reason), "dns: out of memory");
	cache_done(e, &r);
}

/*
 * lookup_locked - the part of a lookup under the shard lock.  Returns 0
 * with *out filled on a hit; -EINPROGRESS after queueing w on a pending
 * entry, with *start set when this lookup must start the fetch of
 * *entry; -ENOMEM.
 */
static int
lookup_locked(struct cache_shard *s, uint64_t h, enum dns_key_kind kind,
    const char *name, struct dns_key_result *out, struct cache_waiter *w,
    struct cache_entry **entry, bool *start)
{
	uint64_t now = s->cache->now(s->cache->now_arg);
	struct cache_entry *e = entry_find(s, h, kind, name);

	*start = false;
	if (e != NULL && !e->pending) {
		if (now < e->expires_ms) {
			if (dns_key_result_copy(out, &e->res) != 0) {
				return -ENOMEM;
			}
			s->st.hits++;
			lru_unlink(s, e);
			lru_push(s, e);
			return 0;
		}

		/* Expired: the entry turns pending and is fetched again. */
		s->st.expired++;
		lru_unlink(s, e);
		dns_key_free(&e->res.key);
		memset(&e->res, 0, sizeof(e->res));
		e->pending = true;
		*start = true;
	} else if (e != NULL) {
		s->st.coalesced++;
	} else {
		e = calloc(1, sizeof(*e));
		if (e == NULL) {
			return -ENOMEM;
		}
		e->shard = s;
		e->hash = h;
		e->kind = kind;
		e->pending = true;
		snprintf(e->qname, sizeof(e->qname), "%s", name);
		e->hnext = s->buckets[h & s->mask];
		s->buckets[h & s->mask] = e;
		*start = true;
	}
	if (*start) {
		s->st.misses++;
		s->st.queries++;
	}
	w->next = e->waiters;
	e->waiters = w;
	*entry = e;
	return -EINPROGRESS;
}

/* dns_cache_lookup - a hit at once, or a callback after the fetch */
int
dns_cache_lookup(struct dns_cache *c, enum dns_key_kind kind,
    const char *qname, struct dns_key_result *out, dns_cache_cb cb,
    void *arg)
{
	char name[DNS_NAME_MAX + 1];
	struct cache_waiter *w;
	struct cache_entry *e = NULL;
	struct cache_shard *s;
	size_t n = strlen(qname);
	bool start;
	uint64_t h;
	int rc;

	memset(out, 0, sizeof(*out));

	/* A name no server could hold is answered like a missing one. */
	if (n > DNS_NAME_MAX || !dns_name_valid(qname)) {
		out->status = DNS_NXDOMAIN;
		snprintf(out->reason, sizeof(out->reason), "invalid name");
		return 0;
	}
	for (size_t i = 0; i <= n; i++) {
		name[i] = (char)dns_ascii_lower((unsigned char)qname[i]);
	}
	h = name_hash(kind, name);
	s = &c->shards[(h >> 32) % c->nshards];

	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return -ENOMEM;
	}
	w->cb = cb;
	w->arg = arg;
	pthread_mutex_lock(&s->lock);
	rc = lookup_locked(s, h, kind, name, out, w, &e, &start);
	pthread_mutex_unlock(&s->lock);
	if (rc != -EINPROGRESS) {
		free(w);
		return rc;
	}
	if (start && c->fetcher->ops->fetch(c->fetcher, kind, name,
	    cache_done, e) != 0) {
		fetch_failed(e);
	}
	return -EINPROGRESS;
}

/* A blocking lookup's meeting point with the callback. */
struct cache_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int rc;
	struct dns_key_result *out;
};

/* wait_cb - hand the result to the waiting thread */
static void
wait_cb(void *arg, const struct dns_key_result *r)
{
	struct cache_wait *w = arg;

	pthread_mutex_lock(&w->lock);
	w->rc = dns_key_result_copy(w->out, r);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* dns_cache_lookup_wait - dns_cache_lookup() that waits */
int
dns_cache_lookup_wait(struct dns_cache *c, enum dns_key_kind kind,
    const char *qname, struct dns_key_result *out)
{
	struct cache_wait w = { .out = out };
	int rc;

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	rc = dns_cache_lookup(c, kind, qname, out, wait_cb, &w);
	if (rc == -EINPROGRESS) {
		pthread_mutex_lock(&w.lock);
		while (!w.done) {
			pthread_cond_wait(&w.cond, &w.lock);
		}
		pthread_mutex_unlock(&w.lock);
		rc = w.rc;
	}
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return rc;
}

/* opts_fill - o with the defaults put in for NULL or zero fields */
static void
opts_fill(struct dns_cache_opts *dst, const struct dns_cache_opts *o)
{
	static const struct dns_cache_opts def = {
		.entries = CACHE_ENTRIES,
		.min_ttl = CACHE_MIN_TTL,
		.max_ttl = CACHE_MAX_TTL,
		.temp_backoff = CACHE_TEMP_BACKOFF,
	};

	*dst = o != NULL ? *o : def;
	if (dst->entries == 0) {
		dst->entries = def.entries;
	}
	if (dst->max_ttl == 0) {
		dst->max_ttl = def.max_ttl;
	}
	if (dst->min_ttl > dst->max_ttl) {
		dst->min_ttl = dst->max_ttl;
	}
	if (dst->temp_backoff == 0) {
		dst->temp_backoff = def.temp_backoff;
	}
}

/* shard_init - one shard holding cap complete entries */
static int
shard_init(struct cache_shard *s, struct dns_cache *c, size_t cap)
{
	size_t nb = 16;

	while (nb < cap && nb < ((size_t)1 << 20)) {
		nb <<= 1;
	}
	s->buckets = calloc(nb, sizeof(*s->buckets));
	if (s->buckets == NULL) {
		return -ENOMEM;
	}
	s->mask = nb - 1;
	s->cap = cap;
	s->cache = c;
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

/* dns_cache_create - a cache over fetcher f */
struct dns_cache *
dns_cache_create(const struct dns_cache_opts *o, struct dns_fetcher *f)
{
	struct dns_cache_opts opts;
	struct dns_cache *c;
	size_t nshards, size;

	opts_fill(&opts, o);
	nshards = opts.entries < CACHE_SHARDS ? opts.entries : CACHE_SHARDS;
	size = sizeof(*c) + nshards * sizeof(c->shards[0]);
	size = (size + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
	c = aligned_alloc(CACHE_LINE, size);
	if (c == NULL) {
		return NULL;
	}
	memset(c, 0, size);
	c->o = opts;
	c->now = monotonic_ms;
	c->nshards = nshards;

	/* The bound is split exactly: the first shards take the rest. */
	for (size_t i = 0; i < nshards; i++) {
		size_t cap = opts.entries / nshards +
		    (i < opts.entries % nshards ? 1 : 0);

		if (shard_init(&c->shards[i], c, cap) != 0) {
			c->nshards = i;
			dns_cache_free(c);
			return NULL;
		}
	}
	c->fetcher = f;
	return c;
}

/* dns_cache_free - release c, its entries and its fetcher */
void
dns_cache_free(struct dns_cache *c)
{
	if (c == NULL) {
		return;
	}
	dns_fetcher_free(c->fetcher);
	for (size_t i = 0; i < c->nshards; i++) {
		struct cache_shard *s = &c->shards[i];

		for (size_t b = 0; b <= s->mask; b++) {
			struct cache_entry *e, *next;

			for (e = s->buckets[b]; e != NULL; e = next) {
				next = e->hnext;
				entry_free(e);
			}
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c);
}

/* dns_cache_stats - the counters summed over the shards */
void
dns_cache_stats(struct dns_cache *c, struct dns_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->nshards; i++) {
		struct cache_shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		out->hits += s->st.hits;
		out->misses += s->st.misses;
		out->coalesced += s->st.coalesced;
		out->expired += s->st.expired;
		out->evictions += s->st.evictions;
		out->errors += s->st.errors;
		out->queries += s->st.queries;
		pthread_mutex_unlock(&s->lock);
	}
}

/* dns_cache_stats_line - the counters as one key=value line */
char *
dns_cache_stats_line(const struct dns_cache_stats *s, char *buf,
    size_t len)
{
	snprintf(buf, len, "hits=%llu misses=%llu coalesced=%llu "
	    "expired=%llu evictions=%llu errors=%llu queries=%llu",
	    (unsigned long long)s->hits, (unsigned long long)s->misses,
	    (unsigned long long)s->coalesced,
	    (unsigned long long)s->expired,
	    (unsigned long long)s->evictions,
	    (unsigned long long)s->errors, (unsigned long long)s->queries);
	return buf;
}

/* dns_cache_set_clock - test hook: another clock */
void
dns_cache_set_clock(struct dns_cache *c, uint64_t (*now)(void *),
    void *arg)
{
	c->now = now != NULL ? now : monotonic_ms;
	c->now_arg = arg;
}
