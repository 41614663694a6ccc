// SPDX-License-Identifier: MIT
/*
 * sign - make DKIM-Signature and DomainKey-Signature fields.
 *
 * Each signature is computed over the message as given, so several may
 * be made in one call: DKIM-Signature fields go on top and cover the
 * original fields only, a DomainKey-Signature goes right above the
 * original fields, which are then exactly the fields "below" it.  The
 * body digest is shared by signatures with the same body canonicalization
 * and hash.  The new fields are folded at 78 columns with the message's
 * own line ending.  A signer belongs to one thread.
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

#define FOLD_COLUMN 78

static const char default_headers[] =
    "from:from:reply-to:subject:date:to:cc:message-id:in-reply-to:"
    "references:mime-version:content-type:content-transfer-encoding";

struct dkim_signer {
	struct crypto_md *md;
	struct canon_out out;
	struct dkim_buf result;
	struct dkim_buf field;
	struct dkim_buf hlist;
};

/* dkim_signer_create - a signer with its own digest context */
struct dkim_signer *
dkim_signer_create(void)
{
	struct dkim_signer *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return NULL;
	}
	s->md = crypto_md_create();
	if (s->md == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

/* dkim_signer_free - release the signer */
void
dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL) {
		return;
	}
	crypto_md_free(s->md);
	dkim_buf_free(&s->result);
	dkim_buf_free(&s->field);
	dkim_buf_free(&s->hlist);
	free(s);
}

/* alg_hash - the digest of an algorithm */
static enum crypto_hash
alg_hash(enum dkim_alg a)
{
	return a == DKIM_ALG_RSA_SHA1 ? CRYPTO_SHA1 : CRYPTO_SHA256;
}

/* check_spec - refuse what RFC 6376 and RFC 8301 forbid a signer */
static int
check_spec(const struct canon_msg *m, const struct dkim_sign_spec *sp,
    char *err, size_t errlen)
{
	enum crypto_key_type kt;

	if (sp->key == NULL || !crypto_key_has_private(sp->key)) {
		snprintf(err, errlen, "no private key for selector %s",
		    sp->selector ? sp->selector : "?");
		return -EINVAL;
	}
	if (sp->sdid == NULL || !dkim_valid_name(sp->sdid)) {
		snprintf(err, errlen, "invalid signing domain \"%s\"",
		    sp->sdid ? sp->sdid : "");
		return -EINVAL;
	}
	if (sp->selector == NULL || !dkim_valid_name(sp->selector)) {
		snprintf(err, errlen, "invalid selector \"%s\"",
		    sp->selector ? sp->selector : "");
		return -EINVAL;
	}
	kt = crypto_key_type(sp->key);
	if ((sp->alg == DKIM_ALG_ED25519_SHA256) !=
	    (kt == CRYPTO_KEY_ED25519)) {
		snprintf(err, errlen, "the %s key cannot make %s signatures",
		    kt == CRYPTO_KEY_ED25519 ? "ed25519" : "rsa",
		    dkim_alg_name(sp->alg));
		return -EINVAL;
	}
	if (kt == CRYPTO_KEY_RSA && crypto_key_bits(sp->key) < 1024) {
		snprintf(err, errlen, "rsa key of %u bits is under the RFC "
		    "8301 minimum of 1024", crypto_key_bits(sp->key));
		return -EINVAL;
	}
	if (sp->type == DKIM_TYPE_DK && sp->alg != DKIM_ALG_RSA_SHA1) {
		snprintf(err, errlen, "DomainKeys signs with rsa-sha1 only");
		return -EINVAL;
	}
	if (canon_find_last(m, "from", 4, m->nfields) < 0) {
		snprintf(err, errlen, "message has no From field");
		return -EINVAL;
	}
	if (sp->identity != NULL) {
		const char *at = strrchr(sp->identity, '@');

		if (at == NULL || !dkim_domain_within(at + 1, sp->sdid)) {
			snprintf(err, errlen, "identity \"%s\" is not within "
			    "d=%s", sp->identity, sp->sdid);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * build_hlist - the h= value for a DKIM signature into s->hlist: every
 * instance of each listed name, plus one for a name listed twice.
 * Returns 0, -EINVAL (no From in the list), -ENOMEM.
 */
static int
build_hlist(struct dkim_signer *s, const struct canon_msg *m,
    const char *list, char *err, size_t errlen)
{
	const char *p = list, *end = list + strlen(list), *name;
	size_t len;
	bool from = false;
	int rc = 0;

	s->hlist.len = 0;
	while (rc == 0 && dkim_hlist_next(&p, end, &name, &len)) {
		const char *q = list, *n2;
		size_t l2, listed = 0, first = 0, inst = 0;

		/* Handle each name at its first mention only. */
		while (dkim_hlist_next(&q, end, &n2, &l2)) {
			if (l2 == len && strncasecmp(n2, name, len) == 0) {
				if (listed++ == 0) {
					first = (size_t)(n2 - list);
				}
			}
		}
		if (first != (size_t)(name - list)) {
			continue;
		}
		for (size_t i = 0; i < m->nfields; i++) {
			inst += canon_field_is(&m->fields[i], name, len);
		}
		if (listed > 1) {
			inst++;
		}
		from |= len == 4 && strncasecmp(name, "from", 4) == 0;
		for (size_t k = 0; rc == 0 && k < inst; k++) {
			if (s->hlist.len > 0) {
				rc = dkim_buf_add(&s->hlist, ":", 1);
			}
			for (size_t c = 0; rc == 0 && c < len; c++) {
				char lc = (char)tolower((unsigned char)name[c]);

				rc = dkim_buf_add(&s->hlist, &lc, 1);
			}
		}
	}
	if (rc == 0 && !from) {
		snprintf(err, errlen, "the signed header list must include "
		    "From");
		return -EINVAL;
	}
	if (rc == 0 && s->hlist.len == 0) {
		rc = dkim_buf_add(&s->hlist, "", 0);
	}
	return rc;
}

/*
 * fold_add - append tag text to the field, starting a new folded line
 * when it would pass the fold column.  *col tracks the column.
 */
static int
fold_add(struct dkim_buf *f, size_t *col, const char *text, size_t n,
    const char *eol)
{
	int rc = 0;

	if (*col > 1 && *col + 1 + n > FOLD_COLUMN) {
		rc = dkim_buf_str(f, eol);
		if (rc == 0) {
			rc = dkim_buf_add(f, "\t", 1);
		}
		*col = 8;
	} else if (*col > 0) {
		rc = dkim_buf_add(f, " ", 1);
		(*col)++;
	}
	if (rc == 0) {
		rc = dkim_buf_add(f, text, n);
	}
	*col += n;
	return rc;
}

/*
 * fold_tag - format one tag and append it with fold_add().  Does nothing
 * and returns rc when an earlier step failed, so a field is built as a
 * chain of calls that keeps the first error.
 */
__attribute__((format(printf, 5, 6)))
static int
fold_tag(struct dkim_buf *f, size_t *col, const char *eol, int rc,
    const char *fmt, ...)
{
	char tag[400];
	va_list ap;
	int n;

	if (rc != 0) {
		return rc;
	}
	va_start(ap, fmt);
	n = vsnprintf(tag, sizeof(tag), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tag)) {
		return -EINVAL;
	}
	return fold_add(f, col, tag, (size_t)n, eol);
}

/*
 * fold_list - append "h=" and a colon list, breaking after colons so no
 * line passes the fold column.
 */
static int
fold_list(struct dkim_buf *f, size_t *col, const char *tag,
    const char *list, size_t n, const char *eol)
{
	size_t i = 0;
	int rc = 0;
	bool first = true;

	while (rc == 0 && i < n) {
		const char *c = memchr(list + i, ':', n - i);
		size_t e = c ? (size_t)(c - list) + 1 : n;
		char piece[300];
		size_t plen = 0;

		if (first) {
			plen = (size_t)snprintf(piece, sizeof(piece), "%s",
			    tag);
		}
		if (e - i + plen + 1 >= sizeof(piece)) {
			return -EINVAL;
		}
		memcpy(piece + plen, list + i, e - i);
		plen += e - i;
		if (e == n) {
			piece[plen++] = ';';
		}
		if (first || *col + plen > FOLD_COLUMN) {
			rc = fold_add(f, col, piece, plen, eol);
		} else {
			rc = dkim_buf_add(f, piece, plen);
			*col += plen;
		}
		first = false;
		i = e;
	}
	return rc;
}

/*
 * fold_b64 - append a base64 value after "b=", in pieces that keep each
 * line within the fold column.
 */
static int
fold_b64(struct dkim_buf *f, size_t col, const char *b64, size_t n,
    const char *eol)
{
	int rc = 0;

	while (rc == 0 && n > 0) {
		size_t room = col < FOLD_COLUMN ? FOLD_COLUMN - col : 0;
		size_t take = n < room ? n : room;

		if (take == 0) {
			rc = dkim_buf_str(f, eol);
			if (rc == 0) {
				rc = dkim_buf_add(f, "\t", 1);
			}
			col = 8;
			continue;
		}
		rc = dkim_buf_add(f, b64, take);
		b64 += take;
		n -= take;
		col += take;
	}
	return rc;
}

/*
 * sign_digest - sign the finished digest in s->md and append the
 * base64 of the signature to the field after "b=".
 */
static int
sign_digest(struct dkim_signer *s, const struct dkim_sign_spec *sp,
    size_t col, const char *eol, char *err, size_t errlen)
{
	unsigned char dig[CRYPTO_DIGEST_MAX], sig[CRYPTO_SIG_MAX];
	char b64[CRYPTO_SIG_MAX * 4 / 3 + 8];
	size_t dlen, slen = sizeof(sig), blen;
	int rc;

	rc = crypto_md_end(s->md, dig, &dlen);
	if (rc == 0) {
		rc = crypto_sign(sp->key, alg_hash(sp->alg), dig, dlen, sig,
		    &slen);
	}
	if (rc != 0) {
		snprintf(err, errlen, "signing with selector %s failed",
		    sp->selector);
		return rc;
	}
	blen = crypto_b64_encode(sig, slen, b64);
	return fold_b64(&s->field, col, b64, blen, eol);
}

/* hash_own_field - feed the signature field so far (ending "b=") */
static void
hash_own_field(struct dkim_signer *s, enum canon_mode mode)
{
	struct canon_field self = {
		.raw = s->field.data,
		.raw_len = s->field.len,
	};
	const char *colon = memchr(s->field.data, ':', s->field.len);

	self.colon = (size_t)(colon - s->field.data);
	self.name_len = self.colon;
	canon_header(mode, &self, 0, 0, false, &s->out);
	canon_out_flush(&s->out);
}

/* sign_dkim - one DKIM-Signature into s->field */
static int
sign_dkim(struct dkim_signer *s, const struct canon_msg *m,
    const struct dkim_sign_spec *sp, time_t now, char *err, size_t errlen)
{
	const char *eol = m->crlf ? "\r\n" : "\n";
	const char *body = m->buf + m->body_off;
	size_t blen = m->len - m->body_off;
	unsigned char bh[CRYPTO_DIGEST_MAX];
	char bh64[64];
	size_t dlen, col = 0;
	uint64_t clen;
	int rc;

	rc = build_hlist(s, m, sp->headers ? sp->headers : default_headers,
	    err, errlen);
	if (rc != 0) {
		return rc;
	}

	/* The body hash comes first: it goes into the signed field. */
	if (crypto_md_begin(s->md, alg_hash(sp->alg)) != 0) {
		return -EIO;
	}
	canon_out_init(&s->out, crypto_md_sink, s->md);
	clen = canon_body(sp->body_canon, body, blen, CANON_NO_LIMIT,
	    &s->out);
	canon_out_flush(&s->out);
	if (crypto_md_end(s->md, bh, &dlen) != 0) {
		return -EIO;
	}
	crypto_b64_encode(bh, dlen, bh64);

	s->field.len = 0;
	rc = dkim_buf_str(&s->field, "DKIM-Signature:");
	col = strlen("DKIM-Signature:");
	rc = fold_tag(&s->field, &col, eol, rc, "v=1; a=%s;",
	    dkim_alg_name(sp->alg));
	rc = fold_tag(&s->field, &col, eol, rc, "c=%s/%s;",
	    sp->header_canon == CANON_RELAXED ? "relaxed" : "simple",
	    sp->body_canon == CANON_RELAXED ? "relaxed" : "simple");
	rc = fold_tag(&s->field, &col, eol, rc, "d=%s;", sp->sdid);
	rc = fold_tag(&s->field, &col, eol, rc, "s=%s;", sp->selector);
	if (sp->identity != NULL) {
		rc = fold_tag(&s->field, &col, eol, rc, "i=%s;",
		    sp->identity);
	}
	if (sp->body_length) {
		rc = fold_tag(&s->field, &col, eol, rc, "l=%llu;",
		    (unsigned long long)clen);
	}
	if (sp->timestamp || sp->expire) {
		rc = fold_tag(&s->field, &col, eol, rc, "t=%lld;",
		    (long long)now);
	}
	if (sp->expire) {
		rc = fold_tag(&s->field, &col, eol, rc, "x=%lld;",
		    (long long)now + (long long)sp->expire);
	}
	rc = rc ? rc : fold_list(&s->field, &col, "h=", s->hlist.data,
	    s->hlist.len, eol);
	rc = fold_tag(&s->field, &col, eol, rc, "bh=%s;", bh64);
	rc = rc ? rc : fold_add(&s->field, &col, "b=", 2, eol);
	if (rc != 0) {
		return rc;
	}

	/* The signed fields, then this field with an empty b=. */
	if (crypto_md_begin(s->md, alg_hash(sp->alg)) != 0) {
		return -EIO;
	}
	canon_out_init(&s->out, crypto_md_sink, s->md);
	rc = dkim_hsel_dkim(m, s->hlist.data, s->hlist.len, sp->header_canon,
	    &s->out);
	if (rc != 0) {
		return rc;
	}
	hash_own_field(s, sp->header_canon);
	rc = sign_digest(s, sp, col, eol, err, errlen);
	return rc ? rc : dkim_buf_str(&s->field, eol);
}

/* lists_name - whether the colon list names name */
static bool
lists_name(const char *list, const char *name)
{
	const char *p = list, *end = list + strlen(list), *n;
	size_t len;

	while (dkim_hlist_next(&p, end, &n, &len)) {
		if (len == strlen(name) && strncasecmp(n, name, len) == 0) {
			return true;
		}
	}
	return false;
}

/* sign_dk - one DomainKey-Signature into s->field */
static int
sign_dk(struct dkim_signer *s, const struct canon_msg *m,
    const struct dkim_sign_spec *sp, char *err, size_t errlen)
{
	const char *eol = m->crlf ? "\r\n" : "\n";
	const char *h = NULL;
	const char *from, *sender;
	size_t hlen = 0, col, from_len, sender_len;
	char dom[256];
	bool is_sender;
	int rc;

	/* RFC 4870 3.3: the signing domain is that of Sender, else From. */
	if (dkim_sender_domain(m, dom, sizeof(dom), &is_sender) != 0) {
		snprintf(err, errlen, "DomainKeys: message has no sender "
		    "address in Sender or From");
		return -EINVAL;
	}
	if (!dkim_domain_within(dom, sp->sdid)) {
		snprintf(err, errlen, "DomainKeys: --domain %s does not match "
		    "the %s domain %s", sp->sdid, is_sender ? "Sender" : "From",
		    dom);
		return -EINVAL;
	}
	if (sp->headers != NULL) {
		char list[1024];
		const char *use = sp->headers;

		/*
		 * The signing identity is the Sender when there is one; a
		 * signature that left it out could never verify.
		 */
		if (is_sender && !lists_name(sp->headers, "sender")) {
			snprintf(list, sizeof(list), "sender:%s", sp->headers);
			use = list;
		}
		rc = build_hlist(s, m, use, err, errlen);
		if (rc != 0) {
			return rc;
		}
		h = s->hlist.data;
		hlen = s->hlist.len;
	}

	s->field.len = 0;
	rc = dkim_buf_str(&s->field, "DomainKey-Signature:");
	col = strlen("DomainKey-Signature:");
	rc = fold_tag(&s->field, &col, eol, rc, "a=rsa-sha1; q=dns; c=%s;",
	    sp->header_canon == CANON_DK_SIMPLE ? "simple" : "nofws");
	rc = fold_tag(&s->field, &col, eol, rc, "s=%s;", sp->selector);
	rc = fold_tag(&s->field, &col, eol, rc, "d=%s;", sp->sdid);
	if (h != NULL) {
		rc = rc ? rc : fold_list(&s->field, &col, "h=", h, hlen, eol);
	}
	rc = rc ? rc : fold_add(&s->field, &col, "b=", 2, eol);
	if (rc != 0) {
		return rc;
	}

	if (crypto_md_begin(s->md, CRYPTO_SHA1) != 0) {
		return -EIO;
	}
	canon_out_init(&s->out, crypto_md_sink, s->md);
	/* Every original field is below the new signature: index -1. */
	dkim_hsel_dk(m, (size_t)-1, h, hlen, sp->header_canon, &from,
	    &from_len, &sender, &sender_len, &s->out);
	/* The DomainKeys body modes add the header/body CRLF themselves. */
	canon_body(sp->header_canon, m->buf + m->body_off,
	    m->len - m->body_off, CANON_NO_LIMIT, &s->out);
	canon_out_flush(&s->out);
	rc = sign_digest(s, sp, col, eol, err, errlen);
	return rc ? rc : dkim_buf_str(&s->field, eol);
}

/* dkim_sign - make every signature of specs */
int
dkim_sign(struct dkim_signer *s, const struct canon_msg *m,
    const struct dkim_sign_spec *specs, size_t n, time_t now,
    const char **out, size_t *out_len, char *err, size_t errlen)
{
	int rc = 0;

	if (now == 0) {
		now = time(NULL);
	}
	s->result.len = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct dkim_sign_spec *sp = &specs[i];

			/* DKIM fields first, the DomainKey one last. */
			if ((sp->type == DKIM_TYPE_DK) != (pass == 1)) {
				continue;
			}
			rc = check_spec(m, sp, err, errlen);
			if (rc == 0) {
				rc = sp->type == DKIM_TYPE_DK ?
				    sign_dk(s, m, sp, err, errlen) :
				    sign_dkim(s, m, sp, now, err, errlen);
			}
			if (rc == 0) {
				rc = dkim_buf_add(&s->result, s->field.data,
				    s->field.len);
			}
			if (rc != 0) {
				if (rc == -ENOMEM) {
					snprintf(err, errlen, "out of memory");
				}
				return rc;
			}
		}
	}
	*out = s->result.data ? s->result.data : "";
	*out_len = s->result.len;
	return 0;
}
