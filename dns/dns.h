/* SPDX-License-Identifier: MIT */
/*
 * dns - key records and where they come from, the public contract.
 *
 * A TXT source answers "what TXT data is at this name", with an outcome
 * that separates a missing name from an unreachable server.  Sources are
 * a const table of operations behind one handle: a static zone file (for
 * tests and offline use) and the resolver (the system's, or given
 * servers).  Key-record parsing turns TXT data into a checked struct
 * holding the decoded EVP key, for DKIM (RFC 6376 3.6.1) and DomainKeys
 * (RFC 4870 3.2.3).
 *
 * The shared key cache sits on top: a sharded LRU of parsed records
 * whose misses go to a fetcher (c-ares on its own event-loop thread,
 * or a source answering inline) and complete through a callback.
 *
 * Does not judge signatures: whether a key fits a signature (h=, t=s,
 * g=) is dkim/'s decision.  A source handle may be used by several
 * threads at once unless its constructor says otherwise.
 */
#ifndef DKIMQ_DNS_H
#define DKIMQ_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

enum dns_status {
	DNS_OK = 0,		/* at least one TXT record */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_NODATA,		/* the name exists, holds no TXT */
	DNS_SERVFAIL,		/* the server answered with an error */
	DNS_TIMEOUT,		/* no answer in time */
};

/* dns_status_name - "ok", "nxdomain", ... for logs and reasons. */
const char *dns_status_name(enum dns_status s);

/* dns_status_is_temporary - whether s may change on retry. */
bool dns_status_is_temporary(enum dns_status s);

#define DNS_TXT_MAX 8		/* TXT records kept per answer */

/*
 * An answer.  Each record's strings are joined with nothing between
 * (RFC 6376 3.6.2.2) into a NUL-terminated malloc'd string.
 */
struct dns_answer {
	enum dns_status status;
	uint32_t ttl;		/* smallest TTL among the records */
	size_t ntxt;
	char *txt[DNS_TXT_MAX];
	size_t txt_len[DNS_TXT_MAX];
};

/* dns_answer_free - release the strings of a; a itself is the caller's. */
void dns_answer_free(struct dns_answer *a);

struct dns_source;

struct dns_source_ops {
	const char *name;
	/* See dns_lookup(). */
	int (*lookup)(struct dns_source *src, const char *qname,
	    struct dns_answer *out);
	void (*free)(struct dns_source *src);
};

/* Sources embed this as their first member. */
struct dns_source {
	const struct dns_source_ops *ops;
};

/*
 * dns_lookup - ask src for the TXT records at qname (no trailing dot).
 *
 * Fills *out, including status for every DNS outcome; returns 0 then.
 * Returns -ENOMEM, or -EINVAL for a name that is not a valid domain
 * name (empty label, a label over 63 bytes, over 253 bytes, a space,
 * control byte or backslash), without filling *out.  *out is zeroed
 * first in every case, so dns_answer_free() on it is always safe.  May
 * block for the resolver's timeout.
 */
int dns_lookup(struct dns_source *src, const char *qname,
    struct dns_answer *out);

/* dns_source_free - release src; NULL is allowed. */
void dns_source_free(struct dns_source *src);

/*
 * dns_zone_open - load a static zone file.
 *
 * Lines are `NAME TTL TXT "s1" "s2" ...` (strings joined; backslash
 * escapes \" \\ and \DDD honoured) or `NAME NXDOMAIN|SERVFAIL|TIMEOUT`;
 * blank lines and lines starting with ';' are ignored.  Names match
 * case-insensitively; a name not listed is NXDOMAIN.  Several TXT lines
 * for one name give several records.  On error err names the file and
 * line.  Returns 0, -errno from open/read, -EINVAL for a syntax error.
 * The source is read-only after loading and safe to share.
 *
 * Also: words (TXT, NXDOMAIN, ...) match in any case; a name may end in
 * one dot; a status line may carry a TTL before the word (it becomes
 * the answer's ttl); ';' after the last string or word starts a
 * comment; CRLF line ends are read as LF.  A string over 255 bytes
 * once decoded, more than DNS_TXT_MAX TXT lines for one name, or a
 * name listed both with TXT and a status word is a syntax error.
 * TIMEOUT is answered at once, without waiting.  err may be NULL.
 */
int dns_zone_open(const char *path, struct dns_source **out, char *err,
    size_t errlen);

/*
 * dns_resolver_open - a blocking resolver (glibc libresolv, one state per
 * thread).  servers is NULL or "" for resolv.conf's, else a comma list
 * of HOST[:PORT] (IPv4 or IPv6 in brackets).  timeout_ms and retries
 * of 0 take the defaults (2000 ms, 2).  Returns 0 or -EINVAL with err.
 *
 * Also: HOST must be an address literal (a bare IPv6 address takes port
 * 53), at most 3 (MAXNS) servers are allowed, spaces around members are
 * ignored.  timeout_ms is the wait for one try of one server, rounded
 * up to whole seconds because libresolv counts in seconds; retries is
 * the number of tries; a silent server thus costs about
 * timeout_ms * retries.  timeout_ms over 300000 or retries over 10 is
 * -EINVAL.  A truncated UDP answer is asked again over TCP.  Outcomes:
 * NXDOMAIN and NODATA as the server says, also NODATA for an answer
 * with no TXT record in it; SERVFAIL for an error code (SERVFAIL,
 * REFUSED, FORMERR, ...) or an answer that does not parse; TIMEOUT when
 * no server answered (refused ports included).  err may be NULL.
 */
int dns_resolver_open(const char *servers, unsigned timeout_ms,
    unsigned retries, struct dns_source **out, char *err, size_t errlen);

enum dns_key_kind {
	DNS_KEY_DKIM,		/* RFC 6376 3.6.1 */
	DNS_KEY_DK,		/* RFC 4870 3.2.3 */
};

#define DNS_HASH_SHA1 0x1u
#define DNS_HASH_SHA256 0x2u

/* A parsed key record.  Owns key and granularity. */
struct dns_key {
	enum crypto_key_type type;	/* k=, rsa when absent */
	unsigned hashes;	/* h= as DNS_HASH_* bits; all when absent */
	bool testing;		/* t=y */
	bool strict;		/* t=s: i= domain must equal d= */
	bool email;		/* s= absent, "*" or lists "email" */
	bool revoked;		/* p= empty; key is then NULL */
	char *granularity;	/* g= value (RFC 4871, RFC 4870), or NULL */
	struct crypto_key *key;
};

/*
 * dns_key_parse - parse one TXT record's text.
 *
 * DKIM: v= must come first and be DKIM1 if present; k= rsa or ed25519;
 * h= and s= are colon lists whose unknown members are ignored; t= flags
 * y and s; unknown tags are ignored; p= is required, empty meaning
 * revoked.  DomainKeys: k=rsa, p=, t=y, g=, n=; no v=.
 *
 * Details: an h= that names no known hash gives hashes 0, which no
 * signature can then use.  g= is copied (possibly as ""), for DKIM too.
 * p= may hold FWS anywhere.  A record that is empty or only FWS is
 * "key record is empty".  For DomainKeys, v=, h= and s= are ignored
 * (a DKIM record read by a DK verifier still parses), so hashes is all
 * and email true, and t= yields only testing.  reason may be NULL.
 *
 * Returns 0 with *out filled (a revoked key is a success with revoked
 * set), or -EINVAL with reason (reason_len bytes) saying what is wrong
 * in one line: a syntax error, a duplicate tag, a bad version, an
 * unknown key type, a missing p=, base64 or key bytes that do not
 * decode.  -ENOMEM.  Does not block.
 */
int dns_key_parse(enum dns_key_kind kind, const char *txt, size_t len,
    struct dns_key *out, char *reason, size_t reason_len);

/* dns_key_free - release what *k owns and zero it. */
void dns_key_free(struct dns_key *k);

/*
 * The answer to one key query.  status is the DNS outcome; when it is
 * DNS_OK, either parsed is true and key holds the record (the holder
 * owns its crypto_key reference), or parsed is false and reason says
 * why no record parsed.  ttl is the record's (or the negative answer's)
 * time to live in seconds.
 */
struct dns_key_result {
	enum dns_status status;
	bool parsed;
	struct dns_key key;
	uint32_t ttl;
	char reason[200];
};

/*
 * dns_key_fetch - look qname up in src and parse it as kind: the first
 * TXT record that parses wins.  Fills *out; returns 0 or -ENOMEM (an
 * invalid name is reported as NXDOMAIN).  Blocks for src's lookup.
 */
int dns_key_fetch(struct dns_source *src, enum dns_key_kind kind,
    const char *qname, struct dns_key_result *out);

/*
 * dns_key_result_copy - make dst a copy of src that holds its own key
 * reference and granularity string.  Returns 0 or -ENOMEM (dst is then
 * zeroed).  Release with dns_key_free(&dst->key).
 */
int dns_key_result_copy(struct dns_key_result *dst,
    const struct dns_key_result *src);

/* ---- the shared key cache ---- */

/*
 * A fetcher resolves one key record on a cache miss and reports through
 * a callback, so no worker waits for DNS.  The resolver fetcher runs its
 * own event-loop thread (c-ares); the source fetcher wraps a dns_source
 * (a zone file) and completes inline, before fetch() returns.
 */
struct dns_fetcher;

/*
 * dns_fetcher_resolver - an asynchronous resolver: servers as for
 * dns_resolver_open() (NULL or "": resolv.conf), UDP with TCP after a
 * truncated answer, timeout_ms per try, retries tries.  Starts its
 * thread.  Returns 0 or -EINVAL/-ENOMEM with err.
 *
 * Also: the library is c-ares; the servers grammar and bounds are
 * those of dns_resolver_open() (0 takes 2000 ms and 2 tries).  c-ares
 * gives each query a random id and accepts only a response whose id
 * and question match; the kernel picks a random source port.  c-ares
 * doubles the wait on each new round of tries, so a silent server
 * costs about timeout_ms * (2^retries - 1).  Outcomes: TIMEOUT for no
 * answer or a refused port; SERVFAIL for an error code or a response
 * that does not parse; NXDOMAIN and NODATA with ttl the RFC 2308
 * negative TTL, min(SOA TTL, SOA MINIMUM) of the authority section,
 * or 0 without a SOA.  The callback runs on the fetcher's thread,
 * which blocks every signal.  err may be NULL.
 */
int dns_fetcher_resolver(const char *servers, unsigned timeout_ms,
    unsigned retries, struct dns_fetcher **out, char *err, size_t errlen);

/*
 * dns_fetcher_source - a fetcher answering from src, which it borrows
 * (src must outlive it).  Returns 0 or -ENOMEM.
 */
int dns_fetcher_source(struct dns_source *src, struct dns_fetcher **out);

/* dns_fetcher_free - stop and release f; NULL is allowed. */
void dns_fetcher_free(struct dns_fetcher *f);

/*
 * The fetcher backends, for a cache to drive and for tests that need a
 * fetcher of their own (a slow or a gated one).
 *
 * fetch() starts resolving the record kind at qname (valid,
 * lowercase, borrowed for the call) and later calls done(ctx, r)
 * exactly once, with r borrowed for that call; it may call done before
 * it returns.  It returns 0, or -ENOMEM without calling done.  It must
 * not block on the network and must be thread safe.  free() stops the
 * fetcher; no fetch may be outstanding.
 */
typedef void (*dns_fetch_done)(void *ctx, const struct dns_key_result *r);

struct dns_fetcher_ops {
	const char *name;
	int (*fetch)(struct dns_fetcher *f, enum dns_key_kind kind,
	    const char *qname, dns_fetch_done done, void *ctx);
	void (*free)(struct dns_fetcher *f);
};

/* Fetchers embed this as their first member. */
struct dns_fetcher {
	const struct dns_fetcher_ops *ops;
};

/*
 * Cache bounds; a zero entries, max_ttl or temp_backoff takes the
 * default in brackets, while min_ttl 0 means no floor (a min_ttl over
 * max_ttl is lowered to it).
 */
struct dns_cache_opts {
	size_t entries;		/* names kept, positive and negative (100000) */
	unsigned min_ttl;	/* TTL floor in seconds (60) */
	unsigned max_ttl;	/* TTL ceiling in seconds (86400) */
	unsigned temp_backoff;	/* seconds a temperror is remembered (5) */
};

struct dns_cache_stats {
	uint64_t hits;		/* answered from the cache */
	uint64_t misses;	/* sent to the fetcher */
	uint64_t coalesced;	/* joined a lookup already in flight */
	uint64_t expired;	/* found, but past its TTL */
	uint64_t evictions;	/* dropped to stay within entries */
	uint64_t errors;	/* temperror outcomes */
	uint64_t queries;	/* fetches the fetcher started */
};

/*
 * Called once per waiting lookup.  r is borrowed for the call; keep it
 * with dns_key_result_copy().  It runs on the fetcher's thread (or the
 * caller's, for an inline fetcher) and must not block: hand the message
 * back to a queue.
 */
typedef void (*dns_cache_cb)(void *arg, const struct dns_key_result *r);

/*
 * A sharded LRU of parsed key records (the EVP key, not only the text),
 * shared by every thread.  Positive answers live for their TTL within
 * [min_ttl, max_ttl]; NXDOMAIN and NODATA for the SOA minimum (RFC 2308)
 * within the same bounds; malformed records like positive ones; a
 * temperror only for temp_backoff.
 */
struct dns_cache;

/*
 * dns_cache_create - a cache over fetcher f, which it takes over.
 * o may be NULL for the defaults.  Returns NULL when out of memory.
 */
struct dns_cache *dns_cache_create(const struct dns_cache_opts *o,
    struct dns_fetcher *f);

/* dns_cache_free - release c and its fetcher; no lookup may be pending. */
void dns_cache_free(struct dns_cache *c);

/*
 * dns_cache_lookup - the key record kind at qname.
 *
 * On a hit fills *out (the caller then owns a copy, see
 * dns_key_result_copy) and returns 0.  On a miss returns -EINPROGRESS
 * and later calls cb(arg, result) exactly once; concurrent misses for
 * the same kind and name share one query (single-flight).  -ENOMEM.
 * Never blocks on the network.  Thread safe.
 *
 * Also: names match case-insensitively; an invalid name is answered at
 * once as NXDOMAIN ("invalid name") without touching the cache.  With
 * an inline fetcher (dns_fetcher_source) cb runs before the call
 * returns -EINPROGRESS, so arg must be ready before the call.  An entry
 * past its TTL counts as expired and as a miss, and is fetched again;
 * the bound is kept per shard (entries split evenly over up to 16), so
 * eviction takes the least recently used name of the shard.
 */
int dns_cache_lookup(struct dns_cache *c, enum dns_key_kind kind,
    const char *qname, struct dns_key_result *out, dns_cache_cb cb,
    void *arg);

/*
 * dns_cache_lookup_wait - dns_cache_lookup() that waits for a miss to
 * complete.  Returns 0 with *out filled (owned by the caller), -ENOMEM.
 * Blocks; for one-shot commands.
 */
int dns_cache_lookup_wait(struct dns_cache *c, enum dns_key_kind kind,
    const char *qname, struct dns_key_result *out);

/*
 * dns_cache_stats - a snapshot of the counters: each shard's counters
 * are read under its lock, so every shard is consistent in itself.
 */
void dns_cache_stats(struct dns_cache *c, struct dns_cache_stats *out);

/*
 * dns_cache_stats_line - the counters as "hits=H misses=M ... queries=Q"
 * (the order of struct dns_cache_stats) into buf of len bytes, always
 * NUL-terminated.  Returns buf.
 */
char *dns_cache_stats_line(const struct dns_cache_stats *s, char *buf,
    size_t len);

/*
 * dns_cache_set_clock - test hook: read the time, in milliseconds on
 * any fixed origin, from now(arg) instead of CLOCK_MONOTONIC.  Call it
 * before the first lookup; now must be thread safe.  now NULL restores
 * the monotonic clock.
 */
void dns_cache_set_clock(struct dns_cache *c, uint64_t (*now)(void *),
    void *arg);

#endif
