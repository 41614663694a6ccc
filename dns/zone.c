/* SPDX-License-Identifier: MIT */
/*
 * dns/zone.c - a TXT source read once from a static zone file, for tests
 * and offline verification.
 *
 * Names are kept lowercased in an open-addressing hash table, so a
 * lookup costs one hash and no I/O.  The table is built by
 * dns_zone_open() and only read afterwards, so any number of threads
 * may share the source.  Limitations: only the line forms documented in
 * dns.h are understood (no $ORIGIN, no relative names, no parentheses);
 * TIMEOUT answers at once instead of waiting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

#define ZONE_STRING_MAX 255	/* one <character-string> (RFC 1035 3.3) */
#define ZONE_TTL_MAX 2147483647u	/* RFC 2181 8 */

struct zone_entry {
	char *name;		/* lowercased, no trailing dot */
	uint64_t hash;
	enum dns_status status;
	uint32_t ttl;
	size_t ntxt;
	char *txt[DNS_TXT_MAX];
	size_t txt_len[DNS_TXT_MAX];
};

struct zone_source {
	struct dns_source base;	/* first, see dns.h */
	struct zone_entry *entries;
	size_t nentries;
	size_t entries_cap;
	size_t *slots;		/* entry index + 1; 0 is an empty slot */
	size_t nslots;		/* a power of two, or 0 */
};

/* The file being read, for error lines. */
struct zone_reader {
	const char *path;
	unsigned long lineno;
	char *err;
	size_t errlen;
};

/* A growing byte buffer for one TXT line's joined strings. */
struct zone_buf {
	char *p;
	size_t len;
	size_t cap;
};

static int zone_lookup(struct dns_source *src, const char *qname,
    struct dns_answer *out);
static void zone_free(struct dns_source *src);

static const struct dns_source_ops zone_ops = {
	.name = "zone",
	.lookup = zone_lookup,
	.free = zone_free,
};

/* zone_error - write "path:line: message" to the reader's err; -EINVAL. */
static int __attribute__((format(printf, 2, 3)))
zone_error(const struct zone_reader *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->err == NULL || r->errlen == 0) {
		return -EINVAL;
	}
	n = snprintf(r->err, r->errlen, "%s:%lu: ", r->path, r->lineno);
	if (n >= 0 && (size_t)n < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* zone_hash - FNV-1a over name[0..len), which is already lowercased. */
static uint64_t
zone_hash(const char *name, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ull;
	}
	return h;
}

/*
 * zone_find - the entry for the lowercased name with hash h, or NULL.
 * The table always has an empty slot, so the probe ends.
 */
static struct zone_entry *
zone_find(const struct zone_source *z, const char *name, uint64_t h)
{
	size_t mask, i, idx;
	struct zone_entry *e;

	if (z->nslots == 0) {
		return NULL;
	}
	mask = z->nslots - 1;
	for (i = (size_t)h & mask; z->slots[i] != 0; i = (i + 1) & mask) {
		idx = z->slots[i] - 1;
		e = &z->entries[idx];
		if (e->hash == h && strcmp(e->name, name) == 0) {
			return e;
		}
	}
	return NULL;
}

/* zone_slot_put - place entry idx into the table; there is room. */
static void
zone_slot_put(struct zone_source *z, size_t idx)
{
	size_t mask = z->nslots - 1;
	size_t i;

	i = (size_t)z->entries[idx].hash & mask;
	while (z->slots[i] != 0) {
		i = (i + 1) & mask;
	}
	z->slots[i] = idx + 1;
}

/*
 * zone_grow - make room for one more entry: the entry array grows by
 * doubling and the table is rebuilt so that it stays at most half full.
 * Returns 0 or -ENOMEM (z unchanged).
 */
static int
zone_grow(struct zone_source *z)
{
	struct zone_entry *entries;
	size_t cap, nslots, i;
	size_t *slots;

	if (z->nentries == z->entries_cap) {
		cap = z->entries_cap == 0 ? 32 : z->entries_cap * 2;
		entries = realloc(z->entries, cap * sizeof(*entries));
		if (entries == NULL) {
			return -ENOMEM;
		}
		z->entries = entries;
		z->entries_cap = cap;
	}
	if ((z->nentries + 1) * 2 <= z->nslots) {
		return 0;
	}

	nslots = z->nslots == 0 ? 64 : z->nslots * 2;
	slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL) {
		return -ENOMEM;
	}
	free(z->slots);
	z->slots = slots;
	z->nslots = nslots;
	for (i = 0; i < z->nentries; i++) {
		zone_slot_put(z, i);
	}
	return 0;
}

/*
 * zone_add - the entry for name (lowercased), created empty with status
 * st if it is new; *created says which.  NULL when out of memory.
 */
static struct zone_entry *
zone_add(struct zone_source *z, const char *name, enum dns_status st,
    bool *created)
{
	uint64_t h = zone_hash(name, strlen(name));
	struct zone_entry *e;

	e = zone_find(z, name, h);
	*created = e == NULL;
	if (e != NULL) {
		return e;
	}
	if (zone_grow(z) < 0) {
		return NULL;
	}
	e = &z->entries[z->nentries];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	if (e->name == NULL) {
		return NULL;
	}
	e->hash = h;
	e->status = st;
	zone_slot_put(z, z->nentries);
	z->nentries++;
	return e;
}

/* zone_buf_put - append byte c.  Returns 0 or -ENOMEM. */
static int
zone_buf_put(struct zone_buf *b, char c)
{
	size_t cap;
	char *p;

	if (b->len == b->cap) {
		cap = b->cap == 0 ? 256 : b->cap * 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			return -ENOMEM;
		}
		b->p = p;
		b->cap = cap;
	}
	b->p[b->len++] = c;
	return 0;
}

/* zone_is_wsp - SP or HTAB, the only separators of a line. */
static bool
zone_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* zone_skip_wsp - the first byte at or after p that is not WSP. */
static const char *
zone_skip_wsp(const char *p, const char *end)
{
	while (p < end && zone_is_wsp(*p)) {
		p++;
	}
	return p;
}

/* zone_token_end - the end of the run of non-WSP bytes at p. */
static const char *
zone_token_end(const char *p, const char *end)
{
	while (p < end && !zone_is_wsp(*p)) {
		p++;
	}
	return p;
}

/* zone_token_is - whether [p, q) is word, ASCII case-insensitive. */
static bool
zone_token_is(const char *p, const char *q, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(q - p) == n && strncasecmp(p, word, n) == 0;
}

/*
 * zone_escape - decode the escape after a backslash at *pp (which points
 * past the backslash) into *c and advance *pp.  \DDD is a decimal byte;
 * any other \X stands for X (RFC 1035 5.1).  Returns 0 or -EINVAL.
 */
static int
zone_escape(const char **pp, const char *end, unsigned char *c)
{
	const char *p = *pp;
	unsigned v = 0;
	int i;

	if (p >= end) {
		return -EINVAL;
	}
	if (*p < '0' || *p > '9') {
		*c = (unsigned char)*p;
		*pp = p + 1;
		return 0;
	}
	for (i = 0; i < 3; i++) {
		if (p >= end || *p < '0' || *p > '9') {
			return -EINVAL;
		}
		v = v * 10 + (unsigned)(*p - '0');
		p++;
	}
	if (v > 255) {
		return -EINVAL;
	}
	*c = (unsigned char)v;
	*pp = p;
	return 0;
}

/*
 * zone_strings - decode the quoted strings from p to end, joined with
 * nothing between, into b.  The grammar is
 *	strings = string *( 1*WSP string ) *WSP [ ";" comment ]
 *	string = DQUOTE *( char / "\" escape ) DQUOTE
 * with each string at most 255 bytes once decoded.  Returns 0, -EINVAL
 * (with the reader's error) or -ENOMEM.
 */
static int
zone_strings(const struct zone_reader *r, const char *p, const char *end,
    struct zone_buf *b)
{
	size_t start;
	unsigned char c;

	p = zone_skip_wsp(p, end);
	if (p == end || *p != '"') {
		return zone_error(r, "expected a quoted string after TXT");
	}
	while (p < end && *p == '"') {
		start = b->len;
		for (p++; p < end && *p != '"'; ) {
			c = (unsigned char)*p++;
			if (c == '\\' && zone_escape(&p, end, &c) < 0) {
				return zone_error(r, "bad escape in string");
			}
			if (zone_buf_put(b, (char)c) < 0) {
				return -ENOMEM;
			}
		}
		if (p == end) {
			return zone_error(r, "unterminated string");
		}
		if (b->len - start > ZONE_STRING_MAX) {
			return zone_error(r, "string longer than %d bytes",
			    ZONE_STRING_MAX);
		}
		p = zone_skip_wsp(p + 1, end);
	}
	if (p < end && *p != ';') {
		return zone_error(r, "unexpected text after the strings");
	}
	return 0;
}

/*
 * zone_ttl - parse the decimal TTL [p, q).  Returns 0 with *ttl, or
 * -EINVAL when it is not all digits or over ZONE_TTL_MAX.
 */
static int
zone_ttl(const char *p, const char *q, uint32_t *ttl)
{
	uint64_t v = 0;

	if (p == q) {
		return -EINVAL;
	}
	for (; p < q; p++) {
		if (*p < '0' || *p > '9') {
			return -EINVAL;
		}
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > ZONE_TTL_MAX) {
			return -EINVAL;
		}
	}
	*ttl = (uint32_t)v;
	return 0;
}

/*
 * zone_name - copy the name token [p, q) lowercased into name (one
 * trailing dot dropped) and check it.  Returns 0 or -EINVAL.
 */
static int
zone_name(const char *p, const char *q, char name[DNS_NAME_MAX + 1])
{
	size_t n = (size_t)(q - p), i;

	if (n > 1 && q[-1] == '.') {
		n--;
	}
	if (n > DNS_NAME_MAX) {
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		name[i] = (char)dns_ascii_lower((unsigned char)p[i]);
	}
	name[n] = '\0';
	return dns_name_valid(name) ? 0 : -EINVAL;
}

/*
 * zone_status_word - the outcome named by [p, q), or DNS_OK when the
 * token is none of NXDOMAIN, SERVFAIL and TIMEOUT.
 */
static enum dns_status
zone_status_word(const char *p, const char *q)
{
	if (zone_token_is(p, q, "NXDOMAIN")) {
		return DNS_NXDOMAIN;
	}
	if (zone_token_is(p, q, "SERVFAIL")) {
		return DNS_SERVFAIL;
	}
	if (zone_token_is(p, q, "TIMEOUT")) {
		return DNS_TIMEOUT;
	}
	return DNS_OK;
}

/*
 * zone_status_line - record `NAME [TTL] NXDOMAIN|SERVFAIL|TIMEOUT`; the
 * rest of the line after the word (rest) may only hold a comment.
 */
static int
zone_status_line(struct zone_source *z, const struct zone_reader *r,
    const char *name, enum dns_status st, uint32_t ttl, const char *rest,
    const char *end)
{
	struct zone_entry *e;
	bool created;

	rest = zone_skip_wsp(rest, end);
	if (rest < end && *rest != ';') {
		return zone_error(r, "unexpected text after %s",
		    dns_status_name(st));
	}
	e = zone_add(z, name, st, &created);
	if (e == NULL) {
		return -ENOMEM;
	}
	if (!created) {
		return zone_error(r, "%s is listed twice", name);
	}
	e->ttl = ttl;
	return 0;
}

/* zone_txt_line - record `NAME TTL TXT "s1" ...`; rest follows TXT. */
static int
zone_txt_line(struct zone_source *z, const struct zone_reader *r,
    const char *name, uint32_t ttl, const char *rest, const char *end)
{
	struct zone_buf b = { 0 };
	struct zone_entry *e;
	bool created;
	int rc;

	rc = zone_strings(r, rest, end, &b);
	if (rc < 0) {
		goto out;
	}
	e = zone_add(z, name, DNS_OK, &created);
	rc = -ENOMEM;
	if (e == NULL) {
		goto out;
	}
	if (e->status != DNS_OK) {
		rc = zone_error(r, "%s is already listed as %s", name,
		    dns_status_name(e->status));
		goto out;
	}
	if (e->ntxt == DNS_TXT_MAX) {
		rc = zone_error(r, "more than %d TXT records for %s",
		    DNS_TXT_MAX, name);
		goto out;
	}

	/* The buffer becomes the record; NUL-terminate it first. */
	if (zone_buf_put(&b, '\0') < 0) {
		goto out;
	}
	if (e->ntxt == 0 || ttl < e->ttl) {
		e->ttl = ttl;
	}
	e->txt[e->ntxt] = b.p;
	e->txt_len[e->ntxt] = b.len - 1;
	e->ntxt++;
	b.p = NULL;
	rc = 0;
out:
	free(b.p);
	return rc;
}

/*
 * zone_line - parse one line, without its line break:
 *	line = *WSP [ ";" comment / record ]
 *	record = NAME 1*WSP TTL 1*WSP "TXT" 1*WSP strings
 *	       / NAME [ 1*WSP TTL ] 1*WSP ( "NXDOMAIN" / "SERVFAIL"
 *	         / "TIMEOUT" ) *WSP [ ";" comment ]
 * Words match case-insensitively.  Returns 0, -EINVAL with the error
 * line written, or -ENOMEM.
 */
static int
zone_line(struct zone_source *z, const struct zone_reader *r,
    const char *p, const char *end)
{
	char name[DNS_NAME_MAX + 1];
	const char *q;
	uint32_t ttl = 0;
	bool has_ttl = false;
	enum dns_status st;

	p = zone_skip_wsp(p, end);
	if (p == end || *p == ';') {
		return 0;
	}
	q = zone_token_end(p, end);
	if (zone_name(p, q, name) < 0) {
		return zone_error(r, "bad name \"%.*s\"", (int)(q - p), p);
	}

	p = zone_skip_wsp(q, end);
	q = zone_token_end(p, end);
	if (p < q && *p >= '0' && *p <= '9') {
		if (zone_ttl(p, q, &ttl) < 0) {
			return zone_error(r, "bad TTL \"%.*s\"",
			    (int)(q - p), p);
		}
		has_ttl = true;
		p = zone_skip_wsp(q, end);
		q = zone_token_end(p, end);
	}

	if (zone_token_is(p, q, "TXT")) {
		if (!has_ttl) {
			return zone_error(r, "expected a TTL before TXT");
		}
		return zone_txt_line(z, r, name, ttl, q, end);
	}
	st = zone_status_word(p, q);
	if (st == DNS_OK) {
		return zone_error(r,
		    "expected TXT, NXDOMAIN, SERVFAIL or TIMEOUT");
	}
	return zone_status_line(z, r, name, st, ttl, q, end);
}

/* zone_read - parse every line of f into z.  Returns 0 or -errno. */
static int
zone_read(struct zone_source *z, FILE *f, struct zone_reader *r)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	while ((n = getline(&line, &cap, f)) >= 0) {
		r->lineno++;
		if (n > 0 && line[n - 1] == '\n') {
			n--;
		}
		if (n > 0 && line[n - 1] == '\r') {
			n--;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			rc = zone_error(r, "NUL byte in line");
			goto out;
		}
		rc = zone_line(z, r, line, line + n);
		if (rc < 0) {
			goto out;
		}
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(r->err, r->errlen, "%s: read error", r->path);
	}
out:
	free(line);
	return rc;
}

/* dns_zone_open - load a static zone file. */
int
dns_zone_open(const char *path, struct dns_source **out, char *err,
    size_t errlen)
{
	struct zone_reader r = {
		.path = path, .lineno = 0, .err = err, .errlen = errlen,
	};
	struct zone_source *z;
	char dummy[1];
	FILE *f;
	int rc;

	*out = NULL;
	if (r.err == NULL || r.errlen == 0) {
		r.err = dummy;
		r.errlen = sizeof(dummy);
	}
	r.err[0] = '\0';

	z = calloc(1, sizeof(*z));
	if (z == NULL) {
		return -ENOMEM;
	}
	z->base.ops = &zone_ops;

	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		snprintf(r.err, r.errlen, "%s: %s", path, strerror(-rc));
		zone_free(&z->base);
		return rc;
	}
	rc = zone_read(z, f, &r);
	fclose(f);
	if (rc < 0) {
		zone_free(&z->base);
		return rc;
	}
	*out = &z->base;
	return 0;
}

/* zone_lookup - answer from the table; an unlisted name is NXDOMAIN. */
static int
zone_lookup(struct dns_source *src, const char *qname,
    struct dns_answer *out)
{
	const struct zone_source *z = (const struct zone_source *)src;
	char name[DNS_NAME_MAX + 1];
	const struct zone_entry *e;
	size_t n = strlen(qname), i;
	int rc;

	if (n > DNS_NAME_MAX) {
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		name[i] = (char)dns_ascii_lower((unsigned char)qname[i]);
	}
	name[n] = '\0';

	e = zone_find(z, name, zone_hash(name, n));
	if (e == NULL) {
		out->status = DNS_NXDOMAIN;
		return 0;
	}
	out->status = e->status;
	out->ttl = e->ttl;
	for (i = 0; i < e->ntxt; i++) {
		rc = dns_answer_add(out, e->txt[i], e->txt_len[i], e->ttl);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* zone_free - release the table and every entry. */
static void
zone_free(struct dns_source *src)
{
	struct zone_source *z = (struct zone_source *)src;
	size_t i, j;

	for (i = 0; i < z->nentries; i++) {
		for (j = 0; j < z->entries[i].ntxt; j++) {
			free(z->entries[i].txt[j]);
		}
		free(z->entries[i].name);
	}
	free(z->entries);
	free(z->slots);
	free(z);
}
