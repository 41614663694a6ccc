// SPDX-License-Identifier: MIT
/*
 * verify - judge the DKIM-Signature and DomainKey-Signature fields of a
 * message.
 *
 * A signature field is read as (RFC 6376 3.5, RFC 4870 3.2.2):
 *
 *   DKIM-Signature: tag-list      required v= a= b= bh= d= h= s=,
 *                                 optional c= i= l= q= t= x= z=
 *   DomainKey-Signature: tag-list required b= d= s=, optional a= c= h= q=
 *
 * begin() parses every field top down (at most max_signatures of the
 * enabled kinds), judges the malformed ones at once and lists the key
 * records the rest need; key() takes each answer; end() checks the keys
 * against the signatures, hashes (body digests shared between
 * signatures with the same canonicalization, hash and l=), verifies and
 * sets the overall result.  The b= value is left out of the signature
 * field by a hole in its canonicalization, never by copying the field.
 *
 * Strict by default: RFC 6376 with RFC 8301.  allow_sha1 admits rsa-sha1
 * and RSA keys under 1024 bits; legacy also admits drafts without v= or
 * with v=0.5, q=dns, and applies the RFC 4871 key g= rule.  Each
 * allowance used is named in the reason.  A verifier belongs to one
 * thread.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim_int.h"
#include "dkim/hsel.h"

#define BODY_CACHE 8

struct vsig {
	enum dkim_sig_type type;
	size_t field;
	struct dkim_sig_result *res;
	bool done;		/* judged; nothing more to do */
	enum dkim_alg alg;
	enum crypto_hash hash;
	enum canon_mode hcanon;
	enum canon_mode bcanon;
	unsigned char b[CRYPTO_SIG_MAX];
	size_t blen;
	unsigned char bh[CRYPTO_DIGEST_MAX];
	size_t bhlen;
	bool bh_bad;		/* legacy: bh= did not decode */
	const char *h;		/* h= value in the message, or NULL */
	size_t hlen;
	bool has_l;
	uint64_t l;
	size_t hole_off;	/* b= value within the field's raw bytes */
	size_t hole_len;
	char local[256];	/* i= (DKIM) or sender (DK) local part */
	char idom[256];		/* ... and its domain */
	int query;
	char allow[160];	/* legacy allowances used */
};

struct body_digest {
	enum canon_mode mode;
	enum crypto_hash hash;
	uint64_t limit;
	uint64_t clen;
	unsigned char d[CRYPTO_DIGEST_MAX];
	size_t dlen;
};

struct dkim_verifier {
	struct crypto_md *md;
	const struct canon_msg *m;
	struct dkim_verify_opts o;
	size_t nsigs;
	struct vsig sigs[DKIM_MAX_SIGNATURES];
	struct dkim_report rep;
	size_t nq;
	struct dkim_key_query q[DKIM_MAX_SIGNATURES];
	struct dns_key_result a[DKIM_MAX_SIGNATURES];
	size_t nbody;
	struct body_digest body[BODY_CACHE];
	struct canon_out out;
};

/* dkim_verifier_create - a verifier with its own digest context */
struct dkim_verifier *
dkim_verifier_create(void)
{
	struct dkim_verifier *v = calloc(1, sizeof(*v));

	if (v == NULL) {
		return NULL;
	}
	v->md = crypto_md_create();
	if (v->md == NULL) {
		free(v);
		return NULL;
	}
	return v;
}

/* drop_answers - release the keys of the current message */
static void
drop_answers(struct dkim_verifier *v)
{
	for (size_t i = 0; i < v->nq; i++) {
		dns_key_free(&v->a[i].key);
	}
	v->nq = 0;
}

/* dkim_verifier_free - release the verifier */
void
dkim_verifier_free(struct dkim_verifier *v)
{
	if (v == NULL) {
		return;
	}
	drop_answers(v);
	crypto_md_free(v->md);
	free(v);
}

/* judge - set a final verdict with a formatted reason */
__attribute__((format(printf, 4, 5)))
static void
judge(struct vsig *s, enum dkim_result r, enum dkim_category c,
    const char *fmt, ...)
{
	va_list ap;

	s->res->result = r;
	s->res->category = c;
	va_start(ap, fmt);
	vsnprintf(s->res->reason, sizeof(s->res->reason), fmt, ap);
	va_end(ap);
	s->done = true;
}

/* permerror - a malformed or unsupported signature */
#define BAD_SIG(s, ...) \
	judge((s), DKIM_RES_PERMERROR, DKIM_CAT_INVALID_SIGNATURE, __VA_ARGS__)
/* a key record that is missing, revoked, malformed or unfit */
#define BAD_KEY(s, ...) \
	judge((s), DKIM_RES_PERMERROR, DKIM_CAT_INVALID_DNS_SELECTOR, \
	    __VA_ARGS__)

/* allow - note that a legacy allowance was needed */
static void
allow(struct vsig *s, const char *what)
{
	size_t n = strlen(s->allow);

	snprintf(s->allow + n, sizeof(s->allow) - n, "%s%s", n ? ", " : "",
	    what);
}

/* tag_copy - a tag value without FWS into a result string */
static void
tag_copy(const struct canon_tag *t, char *out, size_t len)
{
	if (t == NULL) {
		out[0] = '\0';
		return;
	}
	if (dkim_copy_nofws(t->value, t->value_len, out, len) != 0) {
		/* Keep what fits: the value is only reported. */
		size_t n = t->value_len < len - 1 ? t->value_len : len - 1;

		memcpy(out, t->value, n);
		out[n] = '\0';
	}
}

/* tag_is - whether tag t's value (FWS removed) equals word */
static bool
tag_is(const struct canon_tag *t, const char *word)
{
	char buf[64];

	if (dkim_copy_nofws(t->value, t->value_len, buf, sizeof(buf)) != 0) {
		return false;
	}
	return strcasecmp(buf, word) == 0;
}

/* decode64 - a base64 tag value into out; false when it does not decode */
static bool
decode64(const struct canon_tag *t, unsigned char *out, size_t cap,
    size_t *len)
{
	unsigned char tmp[CRYPTO_SIG_MAX + 8];

	if (t->value_len > (sizeof(tmp) - 3) * 4 / 3) {
		return false;
	}
	if (crypto_b64_decode(t->value, t->value_len, tmp, len) != 0) {
		return false;
	}
	if (*len > cap) {
		return false;
	}
	memcpy(out, tmp, *len);
	return true;
}

/* parse_number - all digits, at most 20, into *out */
static bool
parse_number(const struct canon_tag *t, uint64_t *out)
{
	char buf[32];
	uint64_t n = 0;

	if (dkim_copy_nofws(t->value, t->value_len, buf, sizeof(buf)) != 0 ||
	    buf[0] == '\0') {
		return false;
	}
	for (const char *p = buf; *p; p++) {
		if (!isdigit((unsigned char)*p) ||
		    n > (UINT64_MAX - 9) / 10) {
			return false;
		}
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*out = n;
	return true;
}

/*
 * qp_decode - dkim-quoted-printable (RFC 6376 2.11) into out, FWS
 * removed.  Returns false on a bad escape or when it does not fit.
 */
static bool
qp_decode(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			continue;
		}
		if (c == '=') {
			char hex[3] = { 0 };

			if (i + 2 >= n + 0 || !isxdigit((unsigned char)s[i + 1])
			    || !isxdigit((unsigned char)s[i + 2])) {
				return false;
			}
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			c = (char)strtol(hex, NULL, 16);
			i += 2;
		}
		if (o + 1 >= len) {
			return false;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

/*
 * parse_common - tags shared by both kinds: d=, s=, b= and the b=
 * hole.  Returns false when the signature was judged.
 */
static bool
parse_common(struct vsig *s, const struct canon_field *f,
    const struct canon_tag *tags, int nt)
{
	const struct canon_tag *d = canon_tag_find(tags, nt, "d");
	const struct canon_tag *sel = canon_tag_find(tags, nt, "s");
	const struct canon_tag *b = canon_tag_find(tags, nt, "b");

	if (b == NULL || d == NULL || sel == NULL) {
		BAD_SIG(s, "signature lacks the %s= tag",
		    b == NULL ? "b" : d == NULL ? "d" : "s");
		return false;
	}
	if (!dkim_valid_name(s->res->sdid)) {
		BAD_SIG(s, "d= is not a domain name");
		return false;
	}
	if (!dkim_valid_name(s->res->selector)) {
		BAD_SIG(s, "s= is not a valid selector");
		return false;
	}
	if (b->value_len == 0) {
		BAD_SIG(s, "b= is empty");
		return false;
	}
	if (!decode64(b, s->b, sizeof(s->b), &s->blen)) {
		BAD_SIG(s, "b= is not valid base64");
		return false;
	}
	s->hole_off = f->colon + 1 + b->span_off;
	s->hole_len = b->span_len;
	return true;
}

/* parse_version - v=, with the drafts' forms under legacy */
static bool
parse_version(struct vsig *s, const struct canon_tag *tags, int nt,
    const struct dkim_verify_opts *o)
{
	const struct canon_tag *v = canon_tag_find(tags, nt, "v");

	if (v == NULL) {
		if (!o->legacy) {
			BAD_SIG(s, "signature has no v= tag (a pre-RFC "
			    "draft; --legacy accepts it)");
			return false;
		}
		allow(s, "no v= tag");
		return true;
	}
	if (tag_is(v, "1")) {
		return true;
	}
	if (o->legacy && tag_is(v, "0.5")) {
		allow(s, "v=0.5 draft");
		return true;
	}
	BAD_SIG(s, "unsupported signature version v=%.*s",
	    (int)(v->value_len > 16 ? 16 : v->value_len), v->value);
	return false;
}

/* parse_alg - a= for DKIM */
static bool
parse_alg(struct vsig *s, const struct dkim_verify_opts *o)
{
	int a = dkim_alg_parse(s->res->alg);

	if (s->res->alg[0] == '\0') {
		BAD_SIG(s, "signature lacks the a= tag");
		return false;
	}
	if (a < 0) {
		BAD_SIG(s, "unsupported algorithm a=%s", s->res->alg);
		return false;
	}
	s->alg = (enum dkim_alg)a;
	s->hash = a == DKIM_ALG_RSA_SHA1 ? CRYPTO_SHA1 : CRYPTO_SHA256;
	if (a == DKIM_ALG_RSA_SHA1 && !o->allow_sha1) {
		if (!o->legacy) {
			BAD_SIG(s, "rsa-sha1 is not accepted (RFC 8301); "
			    "--allow-sha1 accepts it");
			return false;
		}
		allow(s, "rsa-sha1");
	}
	return true;
}

/* parse_query - q= must offer dns/txt */
static bool
parse_query(struct vsig *s, const struct canon_tag *q,
    const struct dkim_verify_opts *o)
{
	const char *p, *end, *name;
	size_t len;

	if (q == NULL) {
		return true;
	}
	p = q->value;
	end = q->value + q->value_len;
	while (dkim_hlist_next(&p, end, &name, &len)) {
		if (len == 7 && strncasecmp(name, "dns/txt", 7) == 0) {
			return true;
		}
		if (o->legacy && len == 3 && strncasecmp(name, "dns", 3) == 0) {
			allow(s, "q=dns draft");
			return true;
		}
	}
	BAD_SIG(s, "unsupported query method q=%.*s",
	    (int)(q->value_len > 32 ? 32 : q->value_len), q->value);
	return false;
}

/* parse_identity - i=, which must lie within d= */
static bool
parse_identity(struct vsig *s, const struct canon_tag *i)
{
	char id[320];
	char *at;

	if (i == NULL) {
		snprintf(s->idom, sizeof(s->idom), "%s", s->res->sdid);
		s->local[0] = '\0';
		return true;
	}
	if (!qp_decode(i->value, i->value_len, id, sizeof(id))) {
		BAD_SIG(s, "i= is not valid dkim-quoted-printable");
		return false;
	}
	snprintf(s->res->identity, sizeof(s->res->identity), "%s", id);
	at = strrchr(id, '@');
	if (at == NULL) {
		BAD_SIG(s, "i= has no @");
		return false;
	}
	*at = '\0';
	snprintf(s->local, sizeof(s->local), "%s", id);
	snprintf(s->idom, sizeof(s->idom), "%s", at + 1);
	if (!dkim_domain_within(s->idom, s->res->sdid)) {
		BAD_SIG(s, "i= domain %s is not within d=%s", s->idom,
		    s->res->sdid);
		return false;
	}
	return true;
}

/* parse_times - t= and x= */
static bool
parse_times(struct vsig *s, const struct canon_tag *tags, int nt,
    time_t now)
{
	const struct canon_tag *t = canon_tag_find(tags, nt, "t");
	const struct canon_tag *x = canon_tag_find(tags, nt, "x");
	uint64_t tv = 0, xv = 0;

	if (t != NULL && !parse_number(t, &tv)) {
		BAD_SIG(s, "t= is not a number");
		return false;
	}
	if (x != NULL && !parse_number(x, &xv)) {
		BAD_SIG(s, "x= is not a number");
		return false;
	}
	if (x != NULL && t != NULL && xv < tv) {
		BAD_SIG(s, "x= is before t=");
		return false;
	}
	if (x != NULL && xv < (uint64_t)now) {
		BAD_SIG(s, "signature expired at %llu (x=)",
		    (unsigned long long)xv);
		return false;
	}
	return true;
}

/* parse_dkim - the tags of a DKIM-Signature */
static void
parse_dkim(struct vsig *s, const struct canon_field *f,
    const struct canon_tag *tags, int nt, const struct dkim_verify_opts *o)
{
	const struct canon_tag *bh = canon_tag_find(tags, nt, "bh");
	const struct canon_tag *c = canon_tag_find(tags, nt, "c");
	const struct canon_tag *h = canon_tag_find(tags, nt, "h");
	const struct canon_tag *l = canon_tag_find(tags, nt, "l");
	const char *p, *end, *name;
	size_t len;
	bool from = false;

	if (!parse_version(s, tags, nt, o) || !parse_alg(s, o) ||
	    !parse_common(s, f, tags, nt)) {
		return;
	}
	if (bh == NULL || h == NULL) {
		BAD_SIG(s, "signature lacks the %s= tag", bh ? "h" : "bh");
		return;
	}
	/* A bh= of the wrong length is a digest that cannot match. */
	if (!decode64(bh, s->bh, sizeof(s->bh), &s->bhlen)) {
		if (!o->legacy) {
			BAD_SIG(s, "bh= is not valid base64");
			return;
		}
		/* Early verifiers compared bh= as text: it just differs. */
		s->bh_bad = true;
	}
	s->hcanon = s->bcanon = CANON_SIMPLE;
	if (c != NULL) {
		char cv[32];

		tag_copy(c, cv, sizeof(cv));
		if (dkim_canon_parse(cv, &s->hcanon, &s->bcanon) != 0) {
			BAD_SIG(s, "unsupported canonicalization c=%s", cv);
			return;
		}
	}
	s->h = h->value;
	s->hlen = h->value_len;
	p = h->value;
	end = p + h->value_len;
	while (dkim_hlist_next(&p, end, &name, &len)) {
		from |= len == 4 && strncasecmp(name, "from", 4) == 0;
	}
	if (!from) {
		BAD_SIG(s, "h= does not include From");
		return;
	}
	if (l != NULL) {
		if (!parse_number(l, &s->l)) {
			BAD_SIG(s, "l= is not a number");
			return;
		}
		s->has_l = true;
	}
	if (!parse_identity(s, canon_tag_find(tags, nt, "i")) ||
	    !parse_query(s, canon_tag_find(tags, nt, "q"), o)) {
		return;
	}
	parse_times(s, tags, nt, o->now);
}

/* null_sink - discard canonical bytes (used to find the DK sender) */
static void
null_sink(void *arg, const void *p, size_t n)
{
}

/* dk_identity - the signed Sender, else From, of a DomainKey-Signature */
static bool
dk_identity(struct dkim_verifier *v, struct vsig *s)
{
	const char *from, *sender, *val;
	size_t flen, slen, vlen, at;
	char addr[512];
	struct canon_out out;

	canon_out_init(&out, null_sink, NULL);
	dkim_hsel_dk(v->m, s->field, s->h, s->hlen, s->hcanon, &from, &flen,
	    &sender, &slen, &out);
	s->res->sender_is_sender = sender != NULL;
	val = sender ? sender : from;
	vlen = sender ? slen : flen;
	if (val == NULL ||
	    dkim_addr_extract(val, vlen, addr, sizeof(addr), &at) != 0) {
		BAD_SIG(s, "DomainKeys: no signed Sender or From address");
		return false;
	}
	snprintf(s->res->sender, sizeof(s->res->sender), "%s", addr);
	addr[at] = '\0';
	snprintf(s->local, sizeof(s->local), "%s", addr);
	snprintf(s->idom, sizeof(s->idom), "%s", addr + at + 1);
	if (!dkim_domain_within(s->idom, s->res->sdid)) {
		BAD_SIG(s, "DomainKeys: d=%s is not the %s domain %s",
		    s->res->sdid, sender ? "Sender" : "From", s->idom);
		return false;
	}
	return true;
}

/* parse_dk - the tags of a DomainKey-Signature */
static void
parse_dk(struct dkim_verifier *v, struct vsig *s,
    const struct canon_field *f, const struct canon_tag *tags, int nt)
{
	const struct canon_tag *c = canon_tag_find(tags, nt, "c");
	const struct canon_tag *q = canon_tag_find(tags, nt, "q");
	const struct canon_tag *h = canon_tag_find(tags, nt, "h");

	s->alg = DKIM_ALG_RSA_SHA1;
	s->hash = CRYPTO_SHA1;
	if (s->res->alg[0] == '\0') {
		snprintf(s->res->alg, sizeof(s->res->alg), "rsa-sha1");
	} else if (strcasecmp(s->res->alg, "rsa-sha1") != 0) {
		BAD_SIG(s, "unsupported DomainKeys algorithm a=%s",
		    s->res->alg);
		return;
	}
	/* RFC 4870 3.2.2: q= defaults to dns, the only method defined. */
	if (q != NULL && !tag_is(q, "dns")) {
		BAD_SIG(s, "unsupported DomainKeys query method q=%.*s",
		    (int)(q->value_len > 32 ? 32 : q->value_len), q->value);
		return;
	}
	s->hcanon = CANON_DK_SIMPLE;
	if (c != NULL && tag_is(c, "nofws")) {
		s->hcanon = CANON_DK_NOFWS;
	} else if (c != NULL && !tag_is(c, "simple")) {
		BAD_SIG(s, "unsupported DomainKeys canonicalization c=%.*s",
		    (int)(c->value_len > 32 ? 32 : c->value_len), c->value);
		return;
	}
	s->bcanon = s->hcanon;
	if (h != NULL) {
		s->h = h->value;
		s->hlen = h->value_len;
	}
	if (!parse_common(s, f, tags, nt)) {
		return;
	}
	dk_identity(v, s);
}

/*
 * add_query - the key record name for s, shared with an earlier
 * signature that needs the same record.
 */
static void
add_query(struct dkim_verifier *v, struct vsig *s)
{
	enum dns_key_kind kind =
	    s->type == DKIM_TYPE_DK ? DNS_KEY_DK : DNS_KEY_DKIM;
	char name[320];

	snprintf(name, sizeof(name), "%s._domainkey.%s", s->res->selector,
	    s->res->sdid);
	for (size_t i = 0; i < v->nq; i++) {
		if (v->q[i].kind == kind &&
		    strcasecmp(v->q[i].qname, name) == 0) {
			s->query = (int)i;
			return;
		}
	}
	v->q[v->nq].kind = kind;
	snprintf(v->q[v->nq].qname, sizeof(v->q[v->nq].qname), "%s", name);
	memset(&v->a[v->nq], 0, sizeof(v->a[v->nq]));
	v->a[v->nq].status = DNS_TIMEOUT;
	snprintf(v->a[v->nq].reason, sizeof(v->a[v->nq].reason),
	    "no answer was given");
	s->query = (int)v->nq++;
}

/* begin_sig - parse one signature field into a new vsig */
static void
begin_sig(struct dkim_verifier *v, size_t field, enum dkim_sig_type type)
{
	const struct canon_field *f = &v->m->fields[field];
	struct canon_tag tags[CANON_TAGS_MAX];
	struct vsig *s = &v->sigs[v->nsigs];
	const char *why = NULL;
	size_t vlen;
	const char *val = dkim_field_value(f, &vlen);
	int nt;

	memset(s, 0, sizeof(*s));
	s->type = type;
	s->field = field;
	s->query = -1;
	s->res = &v->rep.sigs[v->nsigs++];
	memset(s->res, 0, sizeof(*s->res));
	s->res->type = type;

	nt = canon_tags_parse(val, vlen, tags, CANON_TAGS_MAX, &why);
	if (nt < 0) {
		BAD_SIG(s, "signature syntax error: %s",
		    why ? why : "malformed tag list");
		return;
	}
	tag_copy(canon_tag_find(tags, nt, "d"), s->res->sdid,
	    sizeof(s->res->sdid));
	tag_copy(canon_tag_find(tags, nt, "s"), s->res->selector,
	    sizeof(s->res->selector));
	tag_copy(canon_tag_find(tags, nt, "a"), s->res->alg,
	    sizeof(s->res->alg));
	tag_copy(canon_tag_find(tags, nt, "b"), s->res->b_prefix,
	    sizeof(s->res->b_prefix));
	for (char *p = s->res->sdid; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
	}
	if (type == DKIM_TYPE_DK) {
		parse_dk(v, s, f, tags, nt);
	} else {
		parse_dkim(s, f, tags, nt, &v->o);
	}
	if (!s->done) {
		add_query(v, s);
	}
}

/* dkim_verify_begin - parse the signatures, list the keys needed */
int
dkim_verify_begin(struct dkim_verifier *v, const struct canon_msg *m,
    const struct dkim_verify_opts *o,
    const struct dkim_key_query **queries)
{
	unsigned max;

	drop_answers(v);
	v->m = m;
	v->o = *o;
	if (v->o.now == 0) {
		v->o.now = time(NULL);
	}
	max = o->max_signatures ? o->max_signatures : DKIM_DEFAULT_SIGNATURES;
	if (max > DKIM_MAX_SIGNATURES) {
		max = DKIM_MAX_SIGNATURES;
	}
	v->nsigs = 0;
	v->nbody = 0;
	for (size_t i = 0; i < m->nfields && v->nsigs < max; i++) {
		const struct canon_field *f = &m->fields[i];

		if (o->dkim && canon_field_is(f, "dkim-signature", 14)) {
			begin_sig(v, i, DKIM_TYPE_DKIM);
		} else if (o->domainkeys &&
		    canon_field_is(f, "domainkey-signature", 19)) {
			begin_sig(v, i, DKIM_TYPE_DK);
		}
	}
	*queries = v->q;
	return (int)v->nq;
}

/* dkim_verify_key - take the answer to query i */
void
dkim_verify_key(struct dkim_verifier *v, size_t i, struct dns_key_result *a)
{
	if (i >= v->nq) {
		dns_key_free(&a->key);
		return;
	}
	dns_key_free(&v->a[i].key);
	v->a[i] = *a;
	memset(a, 0, sizeof(*a));
}

/*
 * granularity_ok - RFC 4871 3.6.1 g=: "*" matches any local part, one
 * "*" in the pattern matches any run of characters, and an empty
 * pattern matches nothing unless dk_empty_ok (DomainKeys, where an
 * empty g= sets no limit).
 */
static bool
granularity_ok(const char *g, const char *local, bool dk_empty_ok)
{
	const char *star = strchr(g, '*');
	size_t lg = strlen(g), ll = strlen(local), pre, suf;

	if (lg == 0) {
		return dk_empty_ok;
	}
	if (star == NULL) {
		return strcmp(g, local) == 0;
	}
	pre = (size_t)(star - g);
	suf = lg - pre - 1;
	return ll >= pre + suf && strncmp(g, local, pre) == 0 &&
	    strcmp(g + pre + 1, local + ll - suf) == 0;
}

/*
 * check_key - whether the answer for s holds a key s may use.  Judges s
 * and returns false when not.
 */
static bool
check_key(struct dkim_verifier *v, struct vsig *s)
{
	struct dns_key_result *a = &v->a[s->query];
	const struct dns_key *k = &a->key;
	const char *qn = v->q[s->query].qname;
	bool dk = s->type == DKIM_TYPE_DK;
	unsigned need = s->hash == CRYPTO_SHA1 ? DNS_HASH_SHA1 :
	    DNS_HASH_SHA256;
	enum crypto_key_type want = s->alg == DKIM_ALG_ED25519_SHA256 ?
	    CRYPTO_KEY_ED25519 : CRYPTO_KEY_RSA;

	if (dns_status_is_temporary(a->status)) {
		judge(s, DKIM_RES_TEMPERROR, DKIM_CAT_DNS_UNREACHABLE,
		    "key lookup for %s failed: %s", qn,
		    dns_status_name(a->status));
		return false;
	}
	if (a->status != DNS_OK) {
		BAD_KEY(s, "no key record at %s (%s)", qn,
		    dns_status_name(a->status));
		return false;
	}
	if (!a->parsed) {
		BAD_KEY(s, "key record at %s: %s", qn, a->reason);
		return false;
	}
	s->res->testing = k->testing;
	if (k->revoked || k->key == NULL) {
		BAD_KEY(s, "key at %s is revoked (empty p=)", qn);
		return false;
	}
	if (k->type != want) {
		BAD_KEY(s, "key at %s is not an %s key", qn,
		    want == CRYPTO_KEY_RSA ? "rsa" : "ed25519");
		return false;
	}
	if (!dk && !(k->hashes & need)) {
		BAD_KEY(s, "key at %s does not allow %s (h=)", qn,
		    need == DNS_HASH_SHA1 ? "sha1" : "sha256");
		return false;
	}
	if (!dk && !k->email) {
		BAD_KEY(s, "key at %s is not for email (s=)", qn);
		return false;
	}
	if (!dk && k->strict && strcasecmp(s->idom, s->res->sdid) != 0) {
		BAD_KEY(s, "key at %s requires i= in d= itself (t=s)", qn);
		return false;
	}
	if (k->granularity != NULL && (dk || v->o.legacy) &&
	    !granularity_ok(k->granularity, s->local, dk)) {
		BAD_KEY(s, "key at %s: g=%s does not match local part \"%s\"",
		    qn, k->granularity, s->local);
		return false;
	}
	if (k->type == CRYPTO_KEY_RSA && crypto_key_bits(k->key) < 1024) {
		char what[48];

		if (!v->o.allow_sha1 && !v->o.legacy) {
			BAD_KEY(s, "rsa key at %s has %u bits, under the RFC "
			    "8301 minimum of 1024", qn,
			    crypto_key_bits(k->key));
			return false;
		}
		snprintf(what, sizeof(what), "rsa key of %u bits",
		    crypto_key_bits(k->key));
		if (!v->o.allow_sha1) {
			allow(s, what);
		}
	}
	return true;
}

/* body_digest - the body digest for s, from the cache or computed */
static const struct body_digest *
body_digest(struct dkim_verifier *v, const struct vsig *s)
{
	const struct canon_msg *m = v->m;
	uint64_t limit = s->has_l ? s->l : CANON_NO_LIMIT;
	struct body_digest *b;

	for (size_t i = 0; i < v->nbody; i++) {
		b = &v->body[i];
		if (b->mode == s->bcanon && b->hash == s->hash &&
		    b->limit == limit) {
			return b;
		}
	}
	b = &v->body[v->nbody < BODY_CACHE ? v->nbody++ : BODY_CACHE - 1];
	b->mode = s->bcanon;
	b->hash = s->hash;
	b->limit = limit;
	if (crypto_md_begin(v->md, s->hash) != 0) {
		return NULL;
	}
	canon_out_init(&v->out, crypto_md_sink, v->md);
	b->clen = canon_body(s->bcanon, m->buf + m->body_off,
	    m->len - m->body_off, limit, &v->out);
	canon_out_flush(&v->out);
	if (crypto_md_end(v->md, b->d, &b->dlen) != 0) {
		return NULL;
	}
	return b;
}

/* header_digest - the digest the signature b= covers, into dig */
static int
header_digest(struct dkim_verifier *v, const struct vsig *s,
    unsigned char *dig, size_t *dlen)
{
	const struct canon_msg *m = v->m;
	const struct canon_field *f = &m->fields[s->field];

	if (crypto_md_begin(v->md, s->hash) != 0) {
		return -EIO;
	}
	canon_out_init(&v->out, crypto_md_sink, v->md);
	if (s->type == DKIM_TYPE_DK) {
		const char *from, *sender;
		size_t fl, sl;

		dkim_hsel_dk(m, s->field, s->h, s->hlen, s->hcanon, &from,
		    &fl, &sender, &sl, &v->out);
		canon_body(s->bcanon, m->buf + m->body_off,
		    m->len - m->body_off, CANON_NO_LIMIT, &v->out);
	} else {
		int rc = dkim_hsel_dkim(m, s->h, s->hlen, s->hcanon, &v->out);

		if (rc != 0) {
			return rc;
		}
		canon_header(s->hcanon, f, s->hole_off, s->hole_len, false,
		    &v->out);
	}
	canon_out_flush(&v->out);
	return crypto_md_end(v->md, dig, dlen);
}

/* finish_sig - check one signature that has its key */
static void
finish_sig(struct dkim_verifier *v, struct vsig *s)
{
	unsigned char dig[CRYPTO_DIGEST_MAX];
	size_t dlen;
	int rc;

	if (!check_key(v, s)) {
		return;
	}
	if (s->type == DKIM_TYPE_DKIM) {
		const struct body_digest *b = body_digest(v, s);

		if (b == NULL) {
			BAD_SIG(s, "internal digest failure");
			return;
		}
		if (s->has_l && s->l > b->clen) {
			judge(s, DKIM_RES_FAIL, DKIM_CAT_VERIFICATION_FAILED,
			    "l=%llu exceeds the body length %llu",
			    (unsigned long long)s->l,
			    (unsigned long long)b->clen);
			return;
		}
		if (s->bh_bad || b->dlen != s->bhlen ||
		    memcmp(b->d, s->bh, b->dlen) != 0) {
			judge(s, DKIM_RES_FAIL, DKIM_CAT_VERIFICATION_FAILED,
			    "body hash does not match%s", s->bh_bad ?
			    " (bh= is not valid base64)" : "");
			return;
		}
	}
	if (header_digest(v, s, dig, &dlen) != 0) {
		BAD_SIG(s, "internal digest failure");
		return;
	}
	rc = crypto_verify(v->a[s->query].key.key, s->hash, dig, dlen, s->b,
	    s->blen);
	if (rc == -EBADMSG) {
		judge(s, DKIM_RES_FAIL, DKIM_CAT_VERIFICATION_FAILED,
		    "signature does not verify");
		return;
	}
	if (rc != 0) {
		BAD_SIG(s, "signature could not be checked");
		return;
	}
	judge(s, DKIM_RES_PASS, DKIM_CAT_PASS, "%s%s%s%s",
	    s->allow[0] ? "accepted under --legacy: " : "", s->allow,
	    s->allow[0] && s->res->testing ? "; " : "",
	    s->res->testing ? "key is in testing mode (t=y)" : "");
}

/*
 * rank - preference among per-signature results for the overall one:
 * a pass wins, then a fail, then the errors.
 */
static int
rank(enum dkim_result r)
{
	switch (r) {
	case DKIM_RES_PASS:
		return 6;
	case DKIM_RES_FAIL:
		return 5;
	case DKIM_RES_TEMPERROR:
		return 4;
	case DKIM_RES_PERMERROR:
		return 3;
	case DKIM_RES_POLICY:
		return 2;
	case DKIM_RES_NEUTRAL:
		return 1;
	default:
		return 0;
	}
}

/* dkim_verify_end - judge every signature */
int
dkim_verify_end(struct dkim_verifier *v, struct dkim_report *r)
{
	enum dkim_result best = DKIM_RES_NONE;

	for (size_t i = 0; i < v->nsigs; i++) {
		struct vsig *s = &v->sigs[i];

		if (!s->done) {
			finish_sig(v, s);
		}
		if (rank(s->res->result) > rank(best)) {
			best = s->res->result;
		}
	}
	r->result = best;
	r->nsigs = v->nsigs;
	memcpy(r->sigs, v->rep.sigs, v->nsigs * sizeof(r->sigs[0]));
	drop_answers(v);
	return 0;
}

/* dkim_verify_message - the three steps with a blocking source */
int
dkim_verify_message(struct dkim_verifier *v, const struct canon_msg *m,
    const struct dkim_verify_opts *o, struct dns_source *src,
    struct dkim_report *r)
{
	const struct dkim_key_query *q;
	int n = dkim_verify_begin(v, m, o, &q);

	if (n < 0) {
		return n;
	}
	for (int i = 0; i < n; i++) {
		struct dns_key_result a;
		int rc = dns_key_fetch(src, q[i].kind, q[i].qname, &a);

		if (rc != 0) {
			return rc;
		}
		dkim_verify_key(v, (size_t)i, &a);
	}
	return dkim_verify_end(v, r);
}
