/* SPDX-License-Identifier: MIT */
/*
 * dns/keyrec.c - key records: the text of one TXT record turned into a
 * checked struct dns_key, for DKIM (RFC 6376 3.6.1) and DomainKeys
 * (RFC 4870 3.2.3).
 *
 * Does not fetch records (see source.c) and does not decide whether a
 * key fits a signature: h=, t=s and g= are only reported.  Reentrant;
 * keeps no state.  Limitations: reasons quote at most a few dozen bytes
 * of a bad value, with unprintable bytes shown as '?'.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canon/canon.h"
#include "crypto/crypto.h"
#include "dns/dns.h"

#define KEYREC_QUOTE_MAX 40	/* bytes of a bad value quoted in reasons */

/* A member of a colon-separated tag value, as a slice. */
struct keyrec_item {
	const char *p;
	size_t n;
};

/* keyrec_fail - write the reason, if there is room for one; -EINVAL. */
static int __attribute__((format(printf, 3, 4)))
keyrec_fail(char *reason, size_t reason_len, const char *fmt, ...)
{
	va_list ap;

	if (reason != NULL && reason_len > 0) {
		va_start(ap, fmt);
		vsnprintf(reason, reason_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * keyrec_quote - a printable copy of at most KEYREC_QUOTE_MAX bytes of
 * v[0..n) in buf, for a reason that names a bad value.
 */
static const char *
keyrec_quote(const char *v, size_t n, char buf[KEYREC_QUOTE_MAX + 1])
{
	size_t i;

	if (n > KEYREC_QUOTE_MAX) {
		n = KEYREC_QUOTE_MAX;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		buf[i] = c > ' ' && c < 0x7f ? (char)c : '?';
	}
	buf[n] = '\0';
	return buf;
}

/* keyrec_is_fws - SP, HTAB, CR or LF, what FWS is made of. */
static bool
keyrec_is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* keyrec_is - whether v[0..n) is exactly word. */
static bool
keyrec_is(const char *v, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(v, word, n) == 0;
}

/*
 * keyrec_next - the next member of the colon list *pp..end, trimmed of
 * FWS, in *it; advances *pp past its colon.  Returns false at the end.
 */
static bool
keyrec_next(const char **pp, const char *end, struct keyrec_item *it)
{
	const char *p = *pp, *q;

	if (p == NULL) {
		return false;
	}
	q = memchr(p, ':', (size_t)(end - p));
	*pp = q != NULL ? q + 1 : NULL;
	if (q == NULL) {
		q = end;
	}
	while (p < q && keyrec_is_fws(*p)) {
		p++;
	}
	while (q > p && keyrec_is_fws(q[-1])) {
		q--;
	}
	it->p = p;
	it->n = (size_t)(q - p);
	return true;
}

/* keyrec_hashes - h=, a colon list of hash names, as DNS_HASH_* bits. */
static unsigned
keyrec_hashes(const struct canon_tag *h)
{
	const char *p = h->value, *end = h->value + h->value_len;
	struct keyrec_item it;
	unsigned bits = 0;

	while (keyrec_next(&p, end, &it)) {
		if (keyrec_is(it.p, it.n, "sha1")) {
			bits |= DNS_HASH_SHA1;
		} else if (keyrec_is(it.p, it.n, "sha256")) {
			bits |= DNS_HASH_SHA256;
		}
	}
	return bits;
}

/* keyrec_lists - whether the colon list of tag t has member word. */
static bool
keyrec_lists(const struct canon_tag *t, const char *word)
{
	const char *p = t->value, *end = t->value + t->value_len;
	struct keyrec_item it;

	while (keyrec_next(&p, end, &it)) {
		if (keyrec_is(it.p, it.n, word)) {
			return true;
		}
	}
	return false;
}

/*
 * keyrec_version - the DKIM v= rule: when present it is the first tag
 * and says exactly DKIM1 (RFC 6376 3.6.1; other records are discarded).
 */
static int
keyrec_version(const struct canon_tag *tags, int ntags, char *reason,
    size_t reason_len)
{
	const struct canon_tag *v = canon_tag_find(tags, ntags, "v");
	char q[KEYREC_QUOTE_MAX + 1];

	if (v == NULL) {
		return 0;
	}
	if (v != &tags[0]) {
		return keyrec_fail(reason, reason_len, "key record version "
		    "unsupported: v= is not the first tag");
	}
	if (!keyrec_is(v->value, v->value_len, "DKIM1")) {
		return keyrec_fail(reason, reason_len, "key record version "
		    "v=%s unsupported", keyrec_quote(v->value, v->value_len,
		    q));
	}
	return 0;
}

/* keyrec_type - k=: rsa when absent; ed25519 only for DKIM. */
static int
keyrec_type(enum dns_key_kind kind, const struct canon_tag *k,
    enum crypto_key_type *type, char *reason, size_t reason_len)
{
	char q[KEYREC_QUOTE_MAX + 1];

	*type = CRYPTO_KEY_RSA;
	if (k == NULL || keyrec_is(k->value, k->value_len, "rsa")) {
		return 0;
	}
	if (kind == DNS_KEY_DKIM &&
	    keyrec_is(k->value, k->value_len, "ed25519")) {
		*type = CRYPTO_KEY_ED25519;
		return 0;
	}
	return keyrec_fail(reason, reason_len, "unsupported key type k=%s",
	    keyrec_quote(k->value, k->value_len, q));
}

/*
 * keyrec_pubkey - p=: base64 with FWS anywhere (RFC 6376 3.6.1); empty
 * once FWS is removed means revoked.  Sets out->key or out->revoked.
 */
static int
keyrec_pubkey(const struct canon_tag *p, struct dns_key *out,
    char *reason, size_t reason_len)
{
	const char *tname;
	unsigned char *der;
	size_t i, len;
	int rc;

	for (i = 0; i < p->value_len; i++) {
		if (!keyrec_is_fws(p->value[i])) {
			break;
		}
	}
	if (i == p->value_len) {
		out->revoked = true;
		return 0;
	}

	der = malloc(p->value_len * 3 / 4 + 3);
	if (der == NULL) {
		return -ENOMEM;
	}
	rc = crypto_b64_decode(p->value, p->value_len, der, &len);
	if (rc < 0) {
		free(der);
		return keyrec_fail(reason, reason_len,
		    "key record p= is not valid base64");
	}
	rc = crypto_key_from_public(out->type, der, len, &out->key);
	free(der);
	if (rc == -ENOMEM) {
		return rc;
	}
	if (rc < 0) {
		out->key = NULL;
		tname = out->type == CRYPTO_KEY_ED25519 ? "ed25519" : "rsa";
		return keyrec_fail(reason, reason_len,
		    "key record p= does not hold a valid %s key", tname);
	}
	return 0;
}

/*
 * keyrec_flags - t=, h=, s= and g=.  DKIM reads t= as a colon list of
 * flags (y, s); DomainKeys knows only t=y, and has neither h= nor s=,
 * so those keep their "absent" meaning there.  g= is copied for both.
 */
static int
keyrec_flags(enum dns_key_kind kind, const struct canon_tag *tags,
    int ntags, struct dns_key *out)
{
	const struct canon_tag *t;

	out->hashes = DNS_HASH_SHA1 | DNS_HASH_SHA256;
	out->email = true;
	t = canon_tag_find(tags, ntags, "t");
	if (t != NULL) {
		out->testing = keyrec_lists(t, "y");
		out->strict = kind == DNS_KEY_DKIM && keyrec_lists(t, "s");
	}
	if (kind == DNS_KEY_DKIM) {
		t = canon_tag_find(tags, ntags, "h");
		if (t != NULL) {
			out->hashes = keyrec_hashes(t);
		}
		t = canon_tag_find(tags, ntags, "s");
		if (t != NULL) {
			out->email = keyrec_lists(t, "*") ||
			    keyrec_lists(t, "email");
		}
	}

	t = canon_tag_find(tags, ntags, "g");
	if (t != NULL) {
		out->granularity = strndup(t->value, t->value_len);
		if (out->granularity == NULL) {
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * keyrec_tags - split the record into tags, naming the problem.  Returns
 * the tag count or -EINVAL.
 */
static int
keyrec_tags(const char *txt, size_t len, struct canon_tag *tags,
    char *reason, size_t reason_len)
{
	const char *why = NULL;
	size_t i;
	int n;

	i = 0;
	while (i < len && keyrec_is_fws(txt[i])) {
		i++;
	}
	if (i == len) {
		return keyrec_fail(reason, reason_len, "key record is empty");
	}

	n = canon_tags_parse(txt, len, tags, CANON_TAGS_MAX, &why);
	switch (n) {
	case -EEXIST:
		return keyrec_fail(reason, reason_len,
		    "key record has duplicate tag");
	case -E2BIG:
		return keyrec_fail(reason, reason_len,
		    "key record has more than %d tags", CANON_TAGS_MAX);
	default:
		break;
	}
	if (n < 0) {
		return keyrec_fail(reason, reason_len,
		    "key record syntax error: %s",
		    why != NULL ? why : "bad tag list");
	}
	return n;
}

/* dns_key_parse - parse one TXT record's text. */
int
dns_key_parse(enum dns_key_kind kind, const char *txt, size_t len,
    struct dns_key *out, char *reason, size_t reason_len)
{
	struct canon_tag tags[CANON_TAGS_MAX];
	const struct canon_tag *p;
	int ntags, rc;

	memset(out, 0, sizeof(*out));
	if (reason != NULL && reason_len > 0) {
		reason[0] = '\0';
	}

	/*
	 * The order of the checks decides which reason a record with
	 * several faults gets: syntax, then version, key type, the
	 * presence of p=, and last the key bytes themselves.  Unknown tags
	 * (n= among them) are ignored, and so is v= for DomainKeys, whose
	 * records carry none but may be DKIM records read by a DK verifier.
	 */
	ntags = keyrec_tags(txt, len, tags, reason, reason_len);
	if (ntags < 0) {
		return ntags;
	}
	if (kind == DNS_KEY_DKIM) {
		rc = keyrec_version(tags, ntags, reason, reason_len);
		if (rc < 0) {
			return rc;
		}
	}
	rc = keyrec_type(kind, canon_tag_find(tags, ntags, "k"), &out->type,
	    reason, reason_len);
	if (rc < 0) {
		goto fail;
	}
	p = canon_tag_find(tags, ntags, "p");
	if (p == NULL) {
		rc = keyrec_fail(reason, reason_len,
		    "key record has no p= tag");
		goto fail;
	}
	rc = keyrec_flags(kind, tags, ntags, out);
	if (rc < 0) {
		goto fail;
	}
	rc = keyrec_pubkey(p, out, reason, reason_len);
	if (rc < 0) {
		goto fail;
	}
	return 0;
fail:
	dns_key_free(out);
	return rc;
}

/* dns_key_free - release what *k owns and zero it. */
void
dns_key_free(struct dns_key *k)
{
	if (k == NULL) {
		return;
	}
	crypto_key_free(k->key);
	free(k->granularity);
	memset(k, 0, sizeof(*k));
}
