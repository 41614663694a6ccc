// SPDX-License-Identifier: MIT
/*
 * policy - the decisions of the pipeline that do not touch crypto:
 * whose settings verify a message (the recipient's local domain),
 * whether its sender is trusted, which category acts, where an action
 * sends the message, and the subject-prefix splice over the buffer.
 * Pure functions over a framed message; no state, no logging.
 * Limitations: addresses are found by a simple scan (angle brackets,
 * else the first word holding '@'); comments and quoted local parts
 * with '@' in them are not decoded.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "workers/workers.h"

/*
 * field_addr - the first address in field f's value, as a slice: the
 * text inside the first <...>, else the first blank-separated word that
 * holds '@'.  Returns its length (0: none), *out pointing into f.
 */
static size_t
field_addr(const struct canon_field *f, const char **out)
{
	const char *v = f->raw + f->colon + 1;
	const char *end = f->raw + f->raw_len;
	const char *lt, *p, *q;

	if (f->colon >= f->raw_len) {
		return 0;
	}
	lt = memchr(v, '<', (size_t)(end - v));
	if (lt != NULL) {
		q = memchr(lt, '>', (size_t)(end - lt));
		if (q != NULL && memchr(lt, '@', (size_t)(q - lt)) != NULL) {
			*out = lt + 1;
			return (size_t)(q - lt - 1);
		}
	}
	for (p = v; p < end; p = q) {
		while (p < end && strchr(" \t\r\n,;", *p) != NULL) {
			p++;
		}
		q = p;
		while (q < end && strchr(" \t\r\n,;", *q) == NULL) {
			q++;
		}
		if (q > p && memchr(p, '@', (size_t)(q - p)) != NULL) {
			*out = p;
			return (size_t)(q - p);
		}
	}
	return 0;
}

/* first_addr - the address of the first field named name, or 0 */
static size_t
first_addr(const struct canon_msg *m, const char *name, const char **out)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < m->nfields; i++) {
		if (canon_field_is(&m->fields[i], name, nlen)) {
			return field_addr(&m->fields[i], out);
		}
	}
	return 0;
}

/* wrk_recipient_domain - Delivered-To, X-Original-To, To */
int
wrk_recipient_domain(const struct canon_msg *m, char *buf, size_t len)
{
	static const char *const names[] = {
		"delivered-to", "x-original-to", "to",
	};
	const char *a, *at;
	size_t n, dlen;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = first_addr(m, names[i], &a);
		at = n ? memrchr(a, '@', n) : NULL;
		if (at == NULL || at + 1 == a + n) {
			continue;
		}
		dlen = (size_t)(a + n - at - 1);
		if (dlen >= len) {
			return -ENAMETOOLONG;
		}
		for (size_t k = 0; k < dlen; k++) {
			char c = at[1 + k];

			buf[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		buf[dlen] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* wrk_trusted_sender - match From against trusted_senders */
bool
wrk_trusted_sender(const struct cfg *c, const struct canon_msg *m)
{
	const char *a, *at;
	size_t n;

	if (c == NULL || c->ntrusted == 0) {
		return false;
	}
	n = first_addr(m, "from", &a);
	at = n ? memrchr(a, '@', n) : NULL;
	if (at == NULL) {
		return false;
	}
	for (size_t i = 0; i < c->ntrusted; i++) {
		const char *t = c->trusted_senders[i];
		size_t tlen = strlen(t);

		if (t[0] == '@') {
			size_t dlen = (size_t)(a + n - at);

			if (tlen == dlen && strncasecmp(t, at, dlen) == 0) {
				return true;
			}
		} else if (tlen == n && strncasecmp(t, a, n) == 0) {
			return true;
		}
	}
	return false;
}

/* wrk_category - the best signature's category */
enum dkim_category
wrk_category(const struct dkim_report *r)
{
	if (r == NULL || r->nsigs == 0) {
		return DKIM_CAT_NONE;
	}
	for (size_t i = 0; i < r->nsigs; i++) {
		if (r->sigs[i].result == r->result) {
			return r->sigs[i].category;
		}
	}
	return r->sigs[0].category;
}

/* wrk_dest_of - the destination of an action */
enum wrk_dest
wrk_dest_of(const struct cfg_action *a, enum dkim_category cat,
    int *smtp_code)
{
	int code = 0;
	enum wrk_dest d;

	switch (a->kind) {
	case CFG_ACT_DELETE:
		d = WRK_DEST_DELETE;
		break;
	case CFG_ACT_FORWARD:
		d = WRK_DEST_FORWARD;
		break;
	case CFG_ACT_MAILBOX:
		d = WRK_DEST_QUARANTINE;
		break;
	case CFG_ACT_REJECT:
		d = WRK_DEST_REJECTED;
		code = cat == DKIM_CAT_DNS_UNREACHABLE ? 452 : 550;
		break;
	case CFG_ACT_NONE:
	case CFG_ACT_HEADER:
	default:
		d = WRK_DEST_OUT;
		break;
	}
	if (smtp_code != NULL) {
		*smtp_code = code;
	}
	return d;
}

/* wrk_splice - header fields, bytes, and the subject prefix */
int
wrk_splice(const struct canon_msg *m, const char *hdr, size_t hdr_len,
    const char *pfx, size_t pfx_len, struct iovec *iov, int *iovcnt)
{
	const char *at = NULL;
	int n = 0;

	if (hdr_len > 0) {
		iov[n].iov_base = (void *)hdr;
		iov[n++].iov_len = hdr_len;
	}

	/* The prefix goes after "Subject:" and the blanks that follow. */
	for (size_t i = 0; pfx != NULL && i < m->nfields; i++) {
		const struct canon_field *f = &m->fields[i];
		const char *end = f->raw + f->raw_len;

		if (!canon_field_is(f, "subject", 7)) {
			continue;
		}
		at = f->raw + f->colon + 1;
		while (at < end && (*at == ' ' || *at == '\t')) {
			at++;
		}
		break;
	}
	if (at == NULL) {
		iov[n].iov_base = (void *)m->buf;
		iov[n++].iov_len = m->len;
		*iovcnt = n;
		return pfx != NULL ? -ENOENT : 0;
	}
	iov[n].iov_base = (void *)m->buf;
	iov[n++].iov_len = (size_t)(at - m->buf);
	iov[n].iov_base = (void *)pfx;
	iov[n++].iov_len = pfx_len;
	iov[n].iov_base = (void *)at;
	iov[n++].iov_len = m->len - (size_t)(at - m->buf);
	*iovcnt = n;
	return 0;
}
