// SPDX-License-Identifier: MIT
/*
 * fetcher - the two backends that resolve a key record on a cache miss:
 * over a dns_source, inline on the caller's thread, and over c-ares,
 * whose channel one event-loop thread per fetcher owns and drives with
 * poll(2).  Callers queue requests under a mutex and wake the loop with
 * an eventfd; every callback runs on the loop thread.  Does not cache.
 * Limitations: c-ares picks the query id and the kernel the source
 * port; no EDNS, so a record over 512 bytes always costs a TCP retry.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ares.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

#define ARES_TIMEOUT_MS 2000
#define ARES_RETRIES 2
#define ARES_SERVERS_MAX 512	/* bytes of the normalized server list */

/* ---- the source fetcher ---- */

struct source_fetcher {
	struct dns_fetcher base;	/* first, see dns.h */
	struct dns_source *src;		/* borrowed */
};

/* source_fetch - dns_key_fetch() inline, then done */
static int
source_fetch(struct dns_fetcher *f, enum dns_key_kind kind,
    const char *qname, dns_fetch_done done, void *ctx)
{
	struct source_fetcher *sf = (struct source_fetcher *)f;
	struct dns_key_result r;
	int rc;

	rc = dns_key_fetch(sf->src, kind, qname, &r);
	if (rc != 0) {
		return rc;
	}
	done(ctx, &r);
	dns_key_free(&r.key);
	return 0;
}

/* source_free - the source itself is the caller's */
static void
source_free(struct dns_fetcher *f)
{
	free(f);
}

static const struct dns_fetcher_ops source_ops = {
	.name = "source",
	.fetch = source_fetch,
	.free = source_free,
};

/* dns_fetcher_source - a fetcher answering inline from src */
int
dns_fetcher_source(struct dns_source *src, struct dns_fetcher **out)
{
	struct source_fetcher *sf = calloc(1, sizeof(*sf));

	*out = NULL;
	if (sf == NULL) {
		return -ENOMEM;
	}
	sf->base.ops = &source_ops;
	sf->src = src;
	*out = &sf->base;
	return 0;
}

/* dns_fetcher_free - stop and release f */
void
dns_fetcher_free(struct dns_fetcher *f)
{
	if (f == NULL) {
		return;
	}
	f->ops->free(f);
}

/* ---- the c-ares fetcher ---- */

/* One queued or running query. */
struct ares_req {
	struct ares_req *next;		/* the submission queue */
	enum dns_key_kind kind;
	dns_fetch_done done;
	void *ctx;
	char qname[DNS_NAME_MAX + 1];
};

struct ares_fetcher {
	struct dns_fetcher base;	/* first, see dns.h */
	ares_channel channel;		/* the loop thread's alone */
	pthread_t thread;
	int wakefd;			/* eventfd */
	pthread_mutex_t lock;		/* guards queue and stop */
	struct ares_req *queue;
	bool stop;
};

/* answer_txt - the TXT records of the answer section into *a */
static int
answer_txt(ns_msg *msg, struct dns_answer *a)
{
	int n = ns_msg_count(*msg, ns_s_an);

	/*
	 * TXT RDATA is one or more <length octet><bytes> strings; the
	 * strings of one record are joined (RFC 6376 3.6.2.2).  Records
	 * of other types (a CNAME on the way) are skipped.
	 */
	for (int i = 0; i < n; i++) {
		const unsigned char *p, *end;
		char buf[65536];
		size_t len = 0;
		ns_rr rr;

		if (ns_parserr(msg, ns_s_an, i, &rr) != 0) {
			return -EBADMSG;
		}
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in) {
			continue;
		}
		p = ns_rr_rdata(rr);
		end = p + ns_rr_rdlen(rr);
		while (p < end) {
			size_t sl = *p++;

			if (sl > (size_t)(end - p)) {
				return -EBADMSG;
			}
			memcpy(buf + len, p, sl);
			len += sl;
			p += sl;
		}
		if (dns_answer_add(a, buf, len, ns_rr_ttl(rr)) != 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * negative_ttl - RFC 2308 section 5: a negative answer lives for the
 * smaller of the authority SOA's own TTL and its MINIMUM field.
 * Returns 0 when the response carries no usable SOA.
 */
static uint32_t
negative_ttl(ns_msg *msg)
{
	int n = ns_msg_count(*msg, ns_s_ns);

	for (int i = 0; i < n; i++) {
		const unsigned char *p, *end;
		uint32_t minimum;
		int skip;
		ns_rr rr;

		if (ns_parserr(msg, ns_s_ns, i, &rr) != 0) {
			return 0;
		}
		if (ns_rr_type(rr) != ns_t_soa) {
			continue;
		}

		/* MNAME and RNAME (maybe compressed), then five 32-bit
		 * fields of which MINIMUM is the last. */
		p = ns_rr_rdata(rr);
		end = p + ns_rr_rdlen(rr);
		for (int name = 0; name < 2; name++) {
			skip = dn_skipname(p, end);
			if (skip < 0) {
				return 0;
			}
			p += skip;
		}
		if (end - p < 20) {
			return 0;
		}
		minimum = ns_get32(p + 16);
		return minimum < ns_rr_ttl(rr) ? minimum : ns_rr_ttl(rr);
	}
	return 0;
}

/* status_of - the dns_status of a c-ares failure without an answer */
static enum dns_status
status_of(int status)
{
	switch (status) {
	case ARES_ETIMEOUT:
	case ARES_ECONNREFUSED:
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		return DNS_TIMEOUT;
	default:
		return DNS_SERVFAIL;
	}
}

/*
 * parse_response - the answer of a response c-ares has matched to its
 * question (id, name, type and class).  Returns 0 or -ENOMEM; a
 * response that does not parse is reported as SERVFAIL.
 */
static int
parse_response(const unsigned char *abuf, int alen, struct dns_answer *a)
{
	ns_msg msg;
	int rc;

	if (ns_initparse(abuf, alen, &msg) != 0) {
		a->status = DNS_SERVFAIL;
		return 0;
	}
	switch (ns_msg_getflag(msg, ns_f_rcode)) {
	case ns_r_noerror:
		rc = answer_txt(&msg, a);
		if (rc == -EBADMSG) {
			dns_answer_free(a);
			a->status = DNS_SERVFAIL;
			return 0;
		}
		if (rc != 0) {
			return rc;
		}
		a->status = a->ntxt > 0 ? DNS_OK : DNS_NODATA;
		break;
	case ns_r_nxdomain:
		a->status = DNS_NXDOMAIN;
		break;
	default:
		a->status = DNS_SERVFAIL;
		return 0;
	}
	if (a->status != DNS_OK) {
		a->ttl = negative_ttl(&msg);
	}
	return 0;
}

/* ares_done - c-ares callback: the response into a key result */
static void
ares_done(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct ares_req *req = arg;
	struct dns_answer a = { .status = status_of(status) };
	struct dns_key_result r;
	bool answered;

	/*
	 * ares_query() hands over the response for NXDOMAIN and NODATA
	 * too; parse whatever came, so that the SOA of a negative answer
	 * is seen.  Server errors were already tried on every server.
	 */
	answered = abuf != NULL && (status == ARES_SUCCESS ||
	    status == ARES_ENOTFOUND || status == ARES_ENODATA);
	if (answered && parse_response(abuf, alen, &a) != 0) {
		a.status = DNS_SERVFAIL;
	}
	if (dns_key_from_answer(req->kind, &a, &r) != 0) {
		memset(&r, 0, sizeof(r));
		r.status = DNS_SERVFAIL;
		snprintf(r.reason, sizeof(r.reason), "out of memory");
	}
	if (r.status != DNS_OK && r.reason[0] == '\0') {
		snprintf(r.reason, sizeof(r.reason), "dns: %s",
		    dns_status_name(r.status));
	}
	dns_answer_free(&a);
	req->done(req->ctx, &r);
	dns_key_free(&r.key);
	free(req);
}

/* ares_submit - start every queued request; false once told to stop */
static bool
ares_submit(struct ares_fetcher *af)
{
	struct ares_req *req, *next;
	bool stop;

	pthread_mutex_lock(&af->lock);
	req = af->queue;
	af->queue = NULL;
	stop = af->stop;
	pthread_mutex_unlock(&af->lock);

	for (; req != NULL; req = next) {
		next = req->next;
		ares_query(af->channel, req->qname, ns_c_in, ns_t_txt,
		    ares_done, req);
	}
	return !stop;
}

/* ares_wait - poll the wake fd and the channel's sockets once */
static void
ares_wait(struct ares_fetcher *af)
{
	struct pollfd pfd[ARES_GETSOCK_MAXNUM + 1];
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct timeval tv, *tvp;
	int bits, n = 1, timeout = -1, ready;
	uint64_t junk;

	pfd[0].fd = af->wakefd;
	pfd[0].events = POLLIN;
	bits = ares_getsock(af->channel, socks, ARES_GETSOCK_MAXNUM);
	for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		short ev = 0;

		/* The ARES_GETSOCK_* macros shift a signed 1 into bit 31. */
		if (((unsigned)bits >> i) & 1u) {
			ev |= POLLIN;
		}
		if (((unsigned)bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u) {
			ev |= POLLOUT;
		}
		if (ev != 0) {
			pfd[n].fd = socks[i];
			pfd[n].events = ev;
			n++;
		}
	}
	tvp = ares_timeout(af->channel, NULL, &tv);
	if (tvp != NULL) {
		timeout = (int)(tvp->tv_sec * 1000 +
		    (tvp->tv_usec + 999) / 1000);
	}

	ready = poll(pfd, (nfds_t)n, timeout);
	if (ready < 0) {
		return;
	}
	if (pfd[0].revents & POLLIN) {
		if (read(af->wakefd, &junk, sizeof(junk)) < 0) {
			/* Nothing to do: the counter is drained or empty. */
		}
	}

	/* Sockets with events, then a pass without one for timeouts. */
	for (int i = 1; i < n; i++) {
		ares_socket_t rd = ARES_SOCKET_BAD, wr = ARES_SOCKET_BAD;

		if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) {
			rd = pfd[i].fd;
		}
		if (pfd[i].revents & POLLOUT) {
			wr = pfd[i].fd;
		}
		if (rd != ARES_SOCKET_BAD || wr != ARES_SOCKET_BAD) {
			ares_process_fd(af->channel, rd, wr);
		}
	}
	ares_process_fd(af->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

/* ares_loop - the event-loop thread */
static void *
ares_loop(void *arg)
{
	struct ares_fetcher *af = arg;

	while (ares_submit(af)) {
		ares_wait(af);
	}
	return NULL;
}

/* ares_fetch - queue one request and wake the loop */
static int
ares_fetch(struct dns_fetcher *f, enum dns_key_kind kind,
    const char *qname, dns_fetch_done done, void *ctx)
{
	struct ares_fetcher *af = (struct ares_fetcher *)f;
	struct ares_req *req = calloc(1, sizeof(*req));
	uint64_t one = 1;
	bool wake;

	if (req == NULL) {
		return -ENOMEM;
	}
	req->kind = kind;
	req->done = done;
	req->ctx = ctx;
	snprintf(req->qname, sizeof(req->qname), "%s", qname);

	/*
	 * Only a request into an empty queue wakes the loop: one that
	 * finds others waiting rides on their wake-up, since the loop
	 * takes the whole queue at once.  A burst of misses thus costs
	 * one eventfd write, not one each.
	 */
	pthread_mutex_lock(&af->lock);
	req->next = af->queue;
	af->queue = req;
	wake = req->next == NULL;
	pthread_mutex_unlock(&af->lock);
	if (wake && write(af->wakefd, &one, sizeof(one)) < 0) {
		/* The counter is saturated: the loop is awake anyway. */
	}
	return 0;
}

/* ares_free_fetcher - stop the loop, then cancel what is left */
static void
ares_free_fetcher(struct dns_fetcher *f)
{
	struct ares_fetcher *af = (struct ares_fetcher *)f;
	uint64_t one = 1;

	pthread_mutex_lock(&af->lock);
	af->stop = true;
	pthread_mutex_unlock(&af->lock);
	if (write(af->wakefd, &one, sizeof(one)) < 0) {
		/* See ares_fetch. */
	}
	pthread_join(af->thread, NULL);
	ares_destroy(af->channel);
	close(af->wakefd);
	pthread_mutex_destroy(&af->lock);
	free(af);
}

static const struct dns_fetcher_ops ares_ops = {
	.name = "c-ares",
	.fetch = ares_fetch,
	.free = ares_free_fetcher,
};

/*
 * servers_csv - servers (already checked by dns_resolver_open) as the
 * list ares_set_servers_ports_csv() reads: spaces dropped and a bare
 * IPv6 address put in brackets with port 53.  Returns 0 or -EINVAL.
 */
static int
servers_csv(const char *servers, char *out, size_t len)
{
	const char *p = servers;
	size_t used = 0;

	out[0] = '\0';
	while (*p != '\0') {
		char one[128];
		size_t n = 0;
		int w;

		while (*p == ' ' || *p == '\t') {
			p++;
		}
		while (*p != '\0' && *p != ',' && n + 1 < sizeof(one)) {
			if (*p != ' ' && *p != '\t') {
				one[n++] = *p;
			}
			p++;
		}
		one[n] = '\0';
		if (*p == ',') {
			p++;
		}
		if (n == 0) {
			continue;
		}
		if (one[0] != '[' && strchr(one, ':') != strrchr(one, ':')) {
			w = snprintf(out + used, len - used, "%s[%s]:53",
			    used ? "," : "", one);
		} else {
			w = snprintf(out + used, len - used, "%s%s",
			    used ? "," : "", one);
		}
		if (w < 0 || (size_t)w >= len - used) {
			return -EINVAL;
		}
		used += (size_t)w;
	}
	return 0;
}

#define DNS_FETCHER_RCVBUF (4 << 20)

/* ares_channel_open - the channel with the options of the fetcher */
static int
ares_channel_open(struct ares_fetcher *af, const char *servers,
    unsigned timeout_ms, unsigned retries, char *err, size_t errlen)
{
	struct ares_options o = { 0 };
	char csv[ARES_SERVERS_MAX];
	int rc;

	o.timeout = (int)timeout_ms;
	o.tries = (int)retries;
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	/*
	 * Hundreds of key answers (about 500 bytes each) can arrive while
	 * the loop thread waits for a CPU; a larger receive buffer keeps
	 * them from being dropped and retried after a timeout.
	 */
	o.socket_receive_buffer_size = DNS_FETCHER_RCVBUF;
	rc = ares_init_options(&af->channel, &o,
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
	    ARES_OPT_SOCK_RCVBUF);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "dns: c-ares: %s", ares_strerror(rc));
		return rc == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	if (servers == NULL || servers[0] == '\0') {
		return 0;
	}
	if (servers_csv(servers, csv, sizeof(csv)) != 0) {
		snprintf(err, errlen, "dns: server list too long");
		ares_destroy(af->channel);
		return -EINVAL;
	}
	rc = ares_set_servers_ports_csv(af->channel, csv);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "dns: servers \"%s\": %s", servers,
		    ares_strerror(rc));
		ares_destroy(af->channel);
		return rc == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	return 0;
}

/* c-ares global state, set up once per process. */
static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_once_rc;

/* ares_init_global - ares_library_init() for pthread_once */
static void
ares_init_global(void)
{
	ares_once_rc = ares_library_init(ARES_LIB_INIT_ALL);
}

/* dns_fetcher_resolver - the c-ares fetcher and its thread */
int
dns_fetcher_resolver(const char *servers, unsigned timeout_ms,
    unsigned retries, struct dns_fetcher **out, char *err, size_t errlen)
{
	struct ares_fetcher *af;
	struct dns_source *check;
	sigset_t all, old;
	char dummy[1];
	int rc;

	*out = NULL;
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';

	/* One grammar and one set of bounds for both resolvers. */
	rc = dns_resolver_open(servers, timeout_ms, retries, &check, err,
	    errlen);
	if (rc != 0) {
		return rc;
	}
	dns_source_free(check);
	pthread_once(&ares_once, ares_init_global);
	if (ares_once_rc != ARES_SUCCESS) {
		snprintf(err, errlen, "dns: c-ares: %s",
		    ares_strerror(ares_once_rc));
		return -ENOMEM;
	}

	af = calloc(1, sizeof(*af));
	if (af == NULL) {
		return -ENOMEM;
	}
	af->base.ops = &ares_ops;
	rc = ares_channel_open(af, servers,
	    timeout_ms ? timeout_ms : ARES_TIMEOUT_MS,
	    retries ? retries : ARES_RETRIES, err, errlen);
	if (rc != 0) {
		free(af);
		return rc;
	}
	af->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (af->wakefd < 0) {
		rc = -errno;
		goto fail;
	}
	pthread_mutex_init(&af->lock, NULL);

	/*
	 * The loop thread takes no signals: a daemon that blocks SIGHUP
	 * and SIGTERM later, for its signalfd, must not see the default
	 * action run here.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&af->thread, NULL, ares_loop, af);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&af->lock);
		close(af->wakefd);
		goto fail;
	}
	*out = &af->base;
	return 0;
fail:
	snprintf(err, errlen, "dns: fetcher: %s", strerror(-rc));
	ares_destroy(af->channel);
	free(af);
	return rc;
}
