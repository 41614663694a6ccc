/* SPDX-License-Identifier: MIT */
/*
 * dkim - the protocol, the public contract: DKIM-Signature (RFC 6376,
 * RFC 8463, RFC 8301) and DomainKey-Signature (RFC 4870) signing and
 * verification over a framed message, the result vocabulary, and the
 * Authentication-Results (RFC 8601) and JSON renderings of a verdict.
 *
 * A signer or verifier is a per-thread object that owns its digest
 * contexts and is reused for every message.  The verifier works in
 * three steps so that a caller with an asynchronous resolver can park a
 * message while its keys are fetched: begin (parse the signatures and
 * list the key records needed), one answer per key, end (hash and
 * check).  dkim_verify_message() runs all three with a blocking source.
 *
 * Does not read files, log, or decide what to do with a message; see
 * cli/ and workers/.
 */
#ifndef DKIMQ_DKIM_H
#define DKIMQ_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "canon/canon.h"
#include "crypto/crypto.h"
#include "dns/dns.h"

/* RFC 8601 result words, in the order a verdict prefers them. */
enum dkim_result {
	DKIM_RES_NONE = 0,
	DKIM_RES_PASS,
	DKIM_RES_FAIL,
	DKIM_RES_NEUTRAL,
	DKIM_RES_POLICY,
	DKIM_RES_TEMPERROR,
	DKIM_RES_PERMERROR,
};

/* The administrator's categories (DESIGN.md, verification results). */
enum dkim_category {
	DKIM_CAT_NONE = 0,
	DKIM_CAT_PASS,
	DKIM_CAT_INVALID_SIGNATURE,
	DKIM_CAT_DNS_UNREACHABLE,
	DKIM_CAT_INVALID_DNS_SELECTOR,
	DKIM_CAT_VERIFICATION_FAILED,
};

#define DKIM_CAT_COUNT 6

enum dkim_sig_type {
	DKIM_TYPE_DKIM = 0,
	DKIM_TYPE_DK,
};

enum dkim_alg {
	DKIM_ALG_RSA_SHA256 = 0,
	DKIM_ALG_RSA_SHA1,
	DKIM_ALG_ED25519_SHA256,
};

/* dkim_result_name - "pass", "fail", ...; never NULL. */
const char *dkim_result_name(enum dkim_result r);

/* dkim_category_name - "pass", "invalid_signature", ...; never NULL. */
const char *dkim_category_name(enum dkim_category c);

/* dkim_category_parse - inverse of dkim_category_name; -1 if unknown. */
int dkim_category_parse(const char *name);

/* dkim_alg_name - "rsa-sha256", "rsa-sha1", "ed25519-sha256". */
const char *dkim_alg_name(enum dkim_alg a);

/* dkim_alg_parse - inverse of dkim_alg_name; -1 if unknown. */
int dkim_alg_parse(const char *name);

/* dkim_canon_parse - "relaxed/simple" etc. into two modes; -EINVAL. */
int dkim_canon_parse(const char *s, enum canon_mode *header,
    enum canon_mode *body);

/* ---- signing ---- */

/*
 * One signature to make.  Strings and key are borrowed for the call.
 * headers is a colon list of field names or NULL for the default set;
 * every instance present of a listed name is signed, and a name listed
 * twice is oversigned (one entry more than its instances, so that a
 * copy added later breaks the signature).  The default set oversigns
 * From.  For DomainKeys, alg must be rsa-sha1, header_canon gives the
 * c= (CANON_DK_SIMPLE or CANON_DK_NOFWS), and headers NULL means no h=.
 */
struct dkim_sign_spec {
	enum dkim_sig_type type;
	enum dkim_alg alg;
	enum canon_mode header_canon;
	enum canon_mode body_canon;
	const char *sdid;		/* d= */
	const char *selector;		/* s= */
	const char *identity;		/* i=, or NULL */
	const char *headers;
	bool body_length;		/* add l= */
	bool timestamp;			/* add t= */
	uint64_t expire;		/* x= this many seconds after t=; 0 */
	struct crypto_key *key;
};

struct dkim_signer;

/* dkim_signer_create - a per-thread signer, or NULL when out of memory. */
struct dkim_signer *dkim_signer_create(void);

/* dkim_signer_free - release s; NULL is allowed. */
void dkim_signer_free(struct dkim_signer *s);

/*
 * dkim_sign - make the n signatures of specs over message m.
 *
 * On success *out is the text of the new header fields, to be written
 * before the message's own bytes: DKIM-Signature fields first, then a
 * DomainKey-Signature, each ending in the message's line-ending
 * convention.  *out points to a buffer owned by s, valid until the next
 * call; *out_len is its length.  now is the signing time (0: time()).
 *
 * Returns 0, or -EINVAL with err (errlen bytes) naming the problem: no
 * From field, a key that does not fit the algorithm, an RSA key under
 * 1024 bits, i= outside d=, a DomainKeys d= that is not the sender's
 * domain, a header list without From.  -ENOMEM, -EIO (OpenSSL).
 * Does not block.
 */
int dkim_sign(struct dkim_signer *s, const struct canon_msg *m,
    const struct dkim_sign_spec *specs, size_t n, time_t now,
    const char **out, size_t *out_len, char *err, size_t errlen);

/* dkim_sender_domain - the domain of Sender:, else From: (RFC 4870
 * 3.3), written lowercase to buf (len bytes).  Returns 0 or -ENOENT
 * when neither field holds an address; *is_sender tells which. */
int dkim_sender_domain(const struct canon_msg *m, char *buf, size_t len,
    bool *is_sender);

/*
 * dkim_from_domain - the domain of the first address in From:, in
 * lowercase, into buf.  Returns 0, -ENOENT (no From, no address),
 * -ENAMETOOLONG.
 */
int dkim_from_domain(const struct canon_msg *m, char *buf, size_t len);

/* ---- verification ---- */

#define DKIM_MAX_SIGNATURES 50
#define DKIM_DEFAULT_SIGNATURES 5

struct dkim_verify_opts {
	unsigned max_signatures;	/* 1..50; 0 means 5 */
	bool dkim;			/* verify DKIM-Signature */
	bool domainkeys;		/* verify DomainKey-Signature */
	bool allow_sha1;	/* rsa-sha1 and RSA keys under 1024 bits */
	bool legacy;		/* also what pre-RFC 6376 signers made */
	time_t now;		/* 0: time() */
};

/* The verdict on one signature.  Strings are NUL-terminated copies. */
struct dkim_sig_result {
	enum dkim_sig_type type;
	enum dkim_result result;
	enum dkim_category category;
	bool testing;			/* the key said t=y */
	char sdid[256];			/* d= */
	char selector[64];		/* s= */
	char identity[320];		/* i= decoded, or "" */
	char alg[24];			/* a= as written */
	char b_prefix[16];		/* first bytes of b=, for header.b */
	char sender[320];	/* DK: the From/Sender address checked */
	bool sender_is_sender;	/* DK: it came from Sender: */
	char reason[256];
};

struct dkim_report {
	enum dkim_result result;	/* over all signatures */
	size_t nsigs;
	struct dkim_sig_result sigs[DKIM_MAX_SIGNATURES];
};

/* One key record the verifier needs. */
struct dkim_key_query {
	enum dns_key_kind kind;
	char qname[320];		/* selector._domainkey.sdid */
};

struct dkim_verifier;

/* dkim_verifier_create - a per-thread verifier, or NULL. */
struct dkim_verifier *dkim_verifier_create(void);

/* dkim_verifier_free - release v; NULL is allowed. */
void dkim_verifier_free(struct dkim_verifier *v);

/*
 * dkim_verify_begin - parse the signatures of m (borrowed until
 * dkim_verify_end) under o, and list the key records needed.
 *
 * Returns the number of queries, which *queries (owned by v, valid until
 * dkim_verify_end) holds; signatures that need no key (malformed ones)
 * are already judged.  Returns -ENOMEM.
 */
int dkim_verify_begin(struct dkim_verifier *v, const struct canon_msg *m,
    const struct dkim_verify_opts *o,
    const struct dkim_key_query **queries);

/*
 * dkim_verify_key - hand over the answer to query index i.  *a is moved
 * into v (its key reference included); a is zeroed.  Each query must
 * be answered once before dkim_verify_end.
 */
void dkim_verify_key(struct dkim_verifier *v, size_t i,
    struct dns_key_result *a);

/*
 * dkim_verify_end - hash, check and judge every signature into *r.
 * Returns 0 or -ENOMEM.  Does not block.
 */
int dkim_verify_end(struct dkim_verifier *v, struct dkim_report *r);

/*
 * dkim_verify_message - begin, fetch each key from src (blocking), end.
 */
int dkim_verify_message(struct dkim_verifier *v,
    const struct canon_msg *m, const struct dkim_verify_opts *o,
    struct dns_source *src, struct dkim_report *r);

/* ---- renderings ---- */

/*
 * A growable output buffer.  Functions that append to it return 0 or
 * -ENOMEM; after a failure the buffer keeps what it had.
 */
struct dkim_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* dkim_buf_add - append n bytes. */
int dkim_buf_add(struct dkim_buf *b, const void *p, size_t n);

/* dkim_buf_str - append a NUL-terminated string. */
int dkim_buf_str(struct dkim_buf *b, const char *s);

/* dkim_buf_fmt - append printf-style text. */
int dkim_buf_fmt(struct dkim_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* dkim_buf_free - release b's memory and zero it. */
void dkim_buf_free(struct dkim_buf *b);

/*
 * dkim_auth_results - append an Authentication-Results field for r under
 * authserv_id, folded, ending in CRLF when crlf is true, else LF.
 * An empty report gives "dkim=none" (and "domainkeys=none" when
 * domainkeys is true).
 */
int dkim_auth_results(struct dkim_buf *b, const char *authserv_id,
    const struct dkim_report *r, bool dkim, bool domainkeys, bool crlf);

/*
 * dkim_report_json - append r as the JSON object of `dkimq verify
 * --json`: {"result": ..., "signatures": [...]}, without a newline.
 */
int dkim_report_json(struct dkim_buf *b, const struct dkim_report *r);

/* dkim_json_str - append s as a JSON string literal, escaped. */
int dkim_json_str(struct dkim_buf *b, const char *s);

#endif
