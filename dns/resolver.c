/* SPDX-License-Identifier: MIT */
/*
 * dns/resolver.c - the TXT source that asks name servers, through glibc
 * libresolv's res_nquery().
 *
 * Each thread owns one resolver state and one 64 KiB answer buffer, kept
 * in thread-specific data and released when the thread exits; the state
 * is rebuilt with res_ninit() whenever the thread turns to another
 * source, so the source itself is immutable and may be shared.  Does
 * not cache answers and does not follow the search list.  A truncated
 * UDP answer is retried over TCP by libresolv itself.  Limitations: at
 * most MAXNS (3) servers; libresolv counts its timeout in whole seconds,
 * so timeout_ms is rounded up to the next second.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

/* Room for any answer a TCP exchange can carry. */
#define RESOLVER_ANSWER_MAX 65536

#define RESOLVER_TIMEOUT_MS 2000
#define RESOLVER_RETRIES 2
#define RESOLVER_TIMEOUT_MS_MAX 300000u
#define RESOLVER_RETRIES_MAX 10u

union resolver_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct resolver_source {
	struct dns_source base;	/* first, see dns.h */
	uint64_t id;		/* tells the threads' states apart */
	int retrans;		/* seconds per try */
	int retry;		/* tries per server */
	int nservers;		/* 0: those of resolv.conf */
	union resolver_addr servers[MAXNS];
};

/* One thread's resolver. */
struct resolver_tls {
	struct __res_state res;
	uint64_t owner;		/* id of the source res is set up for */
	unsigned char *ans;	/* RESOLVER_ANSWER_MAX bytes */
};

static int resolver_lookup(struct dns_source *src, const char *qname,
    struct dns_answer *out);
static void resolver_free(struct dns_source *src);

static const struct dns_source_ops resolver_ops = {
	.name = "resolver",
	.lookup = resolver_lookup,
	.free = resolver_free,
};

static pthread_once_t resolver_once = PTHREAD_ONCE_INIT;
static pthread_key_t resolver_key;
static int resolver_key_rc;
static atomic_uint_fast64_t resolver_next_id = 1;

/* resolver_tls_free - thread exit: close the state, drop the buffer. */
static void
resolver_tls_free(void *arg)
{
	struct resolver_tls *t = arg;

	if (t->owner != 0) {
		res_nclose(&t->res);
	}
	free(t->ans);
	free(t);
}

/* resolver_key_create - once per process, the thread-specific key. */
static void
resolver_key_create(void)
{
	resolver_key_rc = -pthread_key_create(&resolver_key,
	    resolver_tls_free);
}

/* resolver_tls_get - this thread's resolver, made on first use; NULL. */
static struct resolver_tls *
resolver_tls_get(void)
{
	struct resolver_tls *t;

	if (pthread_once(&resolver_once, resolver_key_create) != 0 ||
	    resolver_key_rc < 0) {
		return NULL;
	}
	t = pthread_getspecific(resolver_key);
	if (t != NULL) {
		return t;
	}

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return NULL;
	}
	t->ans = malloc(RESOLVER_ANSWER_MAX);
	if (t->ans == NULL || pthread_setspecific(resolver_key, t) != 0) {
		free(t->ans);
		free(t);
		return NULL;
	}
	return t;
}

/*
 * resolver_apply - put rs's servers and timing into a state fresh from
 * res_ninit().  IPv4 servers go into nsaddr_list; an IPv6 server is
 * marked there with family 0 and stored in _u._ext.nsaddrs, the
 * extension glibc reads (and frees in res_nclose()) for it.  Returns 0
 * or -ENOMEM.
 */
static int
resolver_apply(const struct resolver_source *rs, struct __res_state *st)
{
	struct sockaddr_in6 *a6;
	int i;

	st->retrans = rs->retrans;
	st->retry = rs->retry;
	if (rs->nservers == 0) {
		return 0;
	}

	for (i = 0; i < MAXNS; i++) {
		a6 = st->_u._ext.nsaddrs[i];
		if (i >= rs->nservers) {
			free(a6);
			st->_u._ext.nsaddrs[i] = NULL;
			continue;
		}
		if (rs->servers[i].sa.sa_family == AF_INET) {
			st->nsaddr_list[i] = rs->servers[i].in;
			continue;
		}
		if (a6 == NULL) {
			a6 = malloc(sizeof(*a6));
			if (a6 == NULL) {
				return -ENOMEM;
			}
			st->_u._ext.nsaddrs[i] = a6;
		}
		*a6 = rs->servers[i].in6;
		memset(&st->nsaddr_list[i], 0, sizeof(st->nsaddr_list[i]));
		st->nsaddr_list[i].sin_family = 0;
	}
	st->nscount = rs->nservers;
	return 0;
}

/*
 * resolver_state - this thread's state, set up for rs.  Returns 0 with
 * *out, or -ENOMEM (which also covers a failing res_ninit()).
 */
static int
resolver_state(const struct resolver_source *rs, struct resolver_tls **out)
{
	struct resolver_tls *t;

	t = resolver_tls_get();
	if (t == NULL) {
		return -ENOMEM;
	}
	if (t->owner == rs->id) {
		*out = t;
		return 0;
	}

	if (t->owner != 0) {
		res_nclose(&t->res);
		t->owner = 0;
	}
	memset(&t->res, 0, sizeof(t->res));
	if (res_ninit(&t->res) != 0) {
		return -ENOMEM;
	}
	t->owner = rs->id;
	if (resolver_apply(rs, &t->res) < 0) {
		res_nclose(&t->res);
		t->owner = 0;
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

/*
 * resolver_failure - the outcome of a failed res_nquery().  libresolv
 * says TRY_AGAIN both when no server answered and when every answer was
 * SERVFAIL (or REFUSED), so the header left in the answer buffer,
 * cleared before the query, tells the two apart: a response (QR set)
 * with an error code means the server did answer.
 */
static enum dns_status
resolver_failure(const struct __res_state *st, const unsigned char *ans)
{
	bool answered = (ans[2] & 0x80) != 0 && (ans[3] & 0x0f) != 0;

	switch (st->res_h_errno) {
	case HOST_NOT_FOUND:
		return DNS_NXDOMAIN;
	case NO_DATA:
		return DNS_NODATA;
	case TRY_AGAIN:
		return answered ? DNS_SERVFAIL : DNS_TIMEOUT;
	default:
		return DNS_SERVFAIL;
	}
}

/*
 * resolver_txt - join the <character-string>s of one TXT RDATA (each a
 * length byte then that many bytes, RFC 1035 3.3.14) and add them to out.
 * Returns 0, -EBADMSG when a string runs past the RDATA, -ENOMEM.
 */
static int
resolver_txt(const unsigned char *rd, size_t rdlen, uint32_t ttl,
    struct dns_answer *out)
{
	size_t i = 0, len = 0, n;
	char *txt;

	/* The joined text is shorter than the RDATA by the length bytes. */
	txt = malloc(rdlen + 1);
	if (txt == NULL) {
		return -ENOMEM;
	}
	while (i < rdlen) {
		n = rd[i++];
		if (n > rdlen - i) {
			free(txt);
			return -EBADMSG;
		}
		memcpy(txt + len, rd + i, n);
		len += n;
		i += n;
	}
	txt[len] = '\0';
	dns_answer_take(out, txt, len, ttl);
	return 0;
}

/*
 * resolver_parse - the TXT records (class IN) of the answer section of
 * a successful response ans[0..n).  Other types, such as the CNAMEs of
 * a chain, are skipped.  An answer that does not parse is reported as
 * SERVFAIL, as is done for one that the server itself flagged.
 * Returns 0 or -ENOMEM.
 */
static int
resolver_parse(const unsigned char *ans, int n, struct dns_answer *out)
{
	ns_msg msg;
	ns_rr rr;
	int i, count, rc;

	if (ns_initparse(ans, n, &msg) < 0) {
		out->status = DNS_SERVFAIL;
		return 0;
	}
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
			goto bad;
		}
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in) {
			continue;
		}
		rc = resolver_txt(ns_rr_rdata(rr), ns_rr_rdlen(rr),
		    ns_rr_ttl(rr), out);
		if (rc == -ENOMEM) {
			return rc;
		}
		if (rc < 0) {
			goto bad;
		}
	}
	out->status = out->ntxt > 0 ? DNS_OK : DNS_NODATA;
	return 0;
bad:
	dns_answer_free(out);
	out->ttl = 0;
	out->status = DNS_SERVFAIL;
	return 0;
}

/* resolver_lookup - one TXT query through this thread's state. */
static int
resolver_lookup(struct dns_source *src, const char *qname,
    struct dns_answer *out)
{
	const struct resolver_source *rs;
	struct resolver_tls *t;
	int n, rc;

	rs = (const struct resolver_source *)src;
	rc = resolver_state(rs, &t);
	if (rc < 0) {
		return rc;
	}

	memset(t->ans, 0, HFIXEDSZ);
	n = res_nquery(&t->res, qname, ns_c_in, ns_t_txt, t->ans,
	    RESOLVER_ANSWER_MAX);
	if (n < 0) {
		out->status = resolver_failure(&t->res, t->ans);
		return 0;
	}
	if (n > RESOLVER_ANSWER_MAX) {
		n = RESOLVER_ANSWER_MAX;
	}
	return resolver_parse(t->ans, n, out);
}

/*
 * resolver_port - parse the decimal port [p, end), 1 to 65535, into
 * *port (network order).  Returns 0 or -EINVAL.
 */
static int
resolver_port(const char *p, const char *end, in_port_t *port)
{
	unsigned long v = 0;

	if (p == end) {
		return -EINVAL;
	}
	for (; p < end; p++) {
		if (*p < '0' || *p > '9') {
			return -EINVAL;
		}
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535) {
			return -EINVAL;
		}
	}
	if (v == 0) {
		return -EINVAL;
	}
	*port = htons((in_port_t)v);
	return 0;
}

/*
 * resolver_server - parse one server, s[0..n):
 *	server = IPv4 [ ":" port ] / "[" IPv6 "]" [ ":" port ] / IPv6
 * with port 53 when absent.  Returns 0 with *a, or -EINVAL.
 */
static int
resolver_server(const char *s, size_t n, union resolver_addr *a)
{
	char host[INET6_ADDRSTRLEN];
	const char *end = s + n, *colon, *host_end, *port = NULL;
	in_port_t p = htons(NAMESERVER_PORT);

	memset(a, 0, sizeof(*a));
	colon = memchr(s, ':', n);
	if (n > 0 && s[0] == '[') {
		host_end = memchr(s, ']', n);
		if (host_end == NULL) {
			return -EINVAL;
		}
		if (host_end + 1 < end) {
			if (host_end[1] != ':') {
				return -EINVAL;
			}
			port = host_end + 2;
		}
		s++;
	} else if (colon != NULL && memchr(colon + 1, ':',
	    (size_t)(end - colon - 1)) == NULL) {
		host_end = colon;
		port = colon + 1;
	} else {
		host_end = end;
	}
	if (port != NULL && resolver_port(port, end, &p) < 0) {
		return -EINVAL;
	}
	if (host_end <= s || (size_t)(host_end - s) >= sizeof(host)) {
		return -EINVAL;
	}
	memcpy(host, s, (size_t)(host_end - s));
	host[host_end - s] = '\0';

	if (inet_pton(AF_INET, host, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = p;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = p;
		return 0;
	}
	return -EINVAL;
}

/*
 * resolver_servers - parse the comma list into rs->servers; spaces
 * around members are allowed.  Returns 0, or -EINVAL with err.
 */
static int
resolver_servers(struct resolver_source *rs, const char *list, char *err,
    size_t errlen)
{
	const char *p = list, *q, *end;

	if (*p == '\0') {
		return 0;
	}
	for (;;) {
		q = strchr(p, ',');
		end = q != NULL ? q : p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t')) {
			p++;
		}
		while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
			end--;
		}
		if (rs->nservers == MAXNS) {
			snprintf(err, errlen, "dns: more than %d servers",
			    MAXNS);
			return -EINVAL;
		}
		if (resolver_server(p, (size_t)(end - p),
		    &rs->servers[rs->nservers]) < 0) {
			snprintf(err, errlen, "dns: server \"%.*s\": "
			    "expected IPv4[:PORT] or [IPv6][:PORT]",
			    (int)(end - p), p);
			return -EINVAL;
		}
		rs->nservers++;
		if (q == NULL) {
			break;
		}
		p = q + 1;
	}
	return 0;
}

/* dns_resolver_open - a blocking resolver, one libresolv state a thread. */
int
dns_resolver_open(const char *servers, unsigned timeout_ms,
    unsigned retries, struct dns_source **out, char *err, size_t errlen)
{
	struct resolver_source *rs;
	char dummy[1];
	int rc;

	*out = NULL;
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (timeout_ms == 0) {
		timeout_ms = RESOLVER_TIMEOUT_MS;
	}
	if (retries == 0) {
		retries = RESOLVER_RETRIES;
	}
	if (timeout_ms > RESOLVER_TIMEOUT_MS_MAX ||
	    retries > RESOLVER_RETRIES_MAX) {
		snprintf(err, errlen, "dns: timeout over %u ms or retries "
		    "over %u", RESOLVER_TIMEOUT_MS_MAX, RESOLVER_RETRIES_MAX);
		return -EINVAL;
	}

	rs = calloc(1, sizeof(*rs));
	if (rs == NULL) {
		return -ENOMEM;
	}
	rs->base.ops = &resolver_ops;
	rs->id = atomic_fetch_add(&resolver_next_id, 1);
	rs->retrans = (int)((timeout_ms + 999) / 1000);
	rs->retry = (int)retries;
	if (servers != NULL) {
		rc = resolver_servers(rs, servers, err, errlen);
		if (rc < 0) {
			free(rs);
			return rc;
		}
	}
	*out = &rs->base;
	return 0;
}

/*
 * resolver_free - release the source.  Threads' states set up for it
 * stay until their thread turns to another source or exits; the id is
 * never reused, so they cannot be mistaken for a later source's.
 */
static void
resolver_free(struct dns_source *src)
{
	free(src);
}
