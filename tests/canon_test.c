/* SPDX-License-Identifier: MIT */
/*
 * canon_test - framing, canonicalization and tag lists (canon/).
 *
 * Known answers come from tests/data/canon/: the RFC 6376 3.4.5 example,
 * vector tables, and golden output made with Mail::DKIM.  A line-based
 * reference canonicalizer written here from the RFC text, and a byte at
 * a time one for relaxed bodies, are run against the streaming one on
 * pseudo-random input.  Nothing is timed.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "canon/canon.h"

#ifndef DKIMQ_SRC
#define DKIMQ_SRC "."	/* CMake passes the source tree */
#endif
#define DATA_DIR DKIMQ_SRC "/tests/data/canon/"

/* A sink that keeps everything, and how it was called. */
struct sinkbuf {
	unsigned char *p;
	size_t len;
	size_t cap;
	size_t calls;
	size_t max_call;
	const void *first;	/* data of the first call */
	size_t first_len;
};

/* collect - canon_sink_fn that appends to a struct sinkbuf. */
static void
collect(void *arg, const void *data, size_t len)
{
	struct sinkbuf *b = arg;

	if (b->calls == 0) {
		b->first = data;
		b->first_len = len;
	}
	b->calls++;
	if (len > b->max_call) {
		b->max_call = len;
	}
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2 + 64;

		b->p = realloc(b->p, cap);
		cr_assert_not_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

/* sink_reset - empty b, keeping its memory. */
static void
sink_reset(struct sinkbuf *b)
{
	unsigned char *p = b->p;
	size_t cap = b->cap;

	memset(b, 0, sizeof(*b));
	b->p = p;
	b->cap = cap;
}

/* digest_sink - canon_sink_fn that feeds an EVP_MD_CTX. */
static void
digest_sink(void *arg, const void *data, size_t len)
{
	cr_assert_eq(EVP_DigestUpdate(arg, data, len), 1);
}

/* esc - printable form of p[0..n) for failure messages (4 in turn). */
static const char *
esc(const void *data, size_t n)
{
	static char pool[4][400];
	static int next;
	const unsigned char *p = data;
	char *s = pool[next++ % 4];
	size_t i, o = 0;

	for (i = 0; i < n && o < sizeof(pool[0]) - 8; i++) {
		unsigned char c = p[i];

		if (c == '\r') {
			o += (size_t)sprintf(s + o, "\\r");
		} else if (c == '\n') {
			o += (size_t)sprintf(s + o, "\\n");
		} else if (c == '\t') {
			o += (size_t)sprintf(s + o, "\\t");
		} else if (c < 0x20 || c >= 0x7f || c == '\\') {
			o += (size_t)sprintf(s + o, "\\x%02x", c);
		} else {
			s[o++] = (char)c;
		}
	}
	s[o] = '\0';
	return s;
}

/* same - whether a[0..alen) and b[0..blen) hold the same bytes. */
static bool
same(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* expect_bytes - assert that got[0..glen) is want[0..wlen). */
static void
expect_bytes(const void *got, size_t glen, const void *want, size_t wlen,
    const char *what)
{
	cr_assert(same(got, glen, want, wlen),
	    "%s:\n  got  \"%s\" (%zu)\n  want \"%s\" (%zu)", what,
	    esc(got, glen), glen, esc(want, wlen), wlen);
}

/* slurp - the bytes of tests/data/canon/name; the caller frees them. */
static char *
slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *p;
	long n;

	snprintf(path, sizeof(path), "%s%s", DATA_DIR, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_geq(n, 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	cr_assert_not_null(p);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* body_into - canon_body() of s[0..n) into b (reset first), flushed. */
static uint64_t
body_into(struct sinkbuf *b, enum canon_mode mode, const char *s, size_t n,
    uint64_t limit)
{
	struct canon_out out;
	uint64_t total;

	sink_reset(b);
	canon_out_init(&out, collect, b);
	total = canon_body(mode, s, n, limit, &out);
	canon_out_flush(&out);
	return total;
}

/* headers_into - every field of m in mode, each with CRLF, appended. */
static void
headers_into(struct sinkbuf *b, enum canon_mode mode,
    const struct canon_msg *m)
{
	struct canon_out out;
	size_t i;

	canon_out_init(&out, collect, b);
	for (i = 0; i < m->nfields; i++) {
		canon_header(mode, &m->fields[i], 0, 0, true, &out);
	}
	canon_out_flush(&out);
}

/* field_into - canon_header() of f with a hole, into b (reset first). */
static void
field_into(struct sinkbuf *b, enum canon_mode mode,
    const struct canon_field *f, size_t hole_off, size_t hole_len,
    bool eol)
{
	struct canon_out out;

	sink_reset(b);
	canon_out_init(&out, collect, b);
	canon_header(mode, f, hole_off, hole_len, eol, &out);
	canon_out_flush(&out);
}

/* to_lf - s[0..n) with every CRLF as LF, in a new buffer. */
static char *
to_lf(const char *s, size_t n, size_t *out_len)
{
	char *d = malloc(n + 1);
	size_t i, o = 0;

	cr_assert_not_null(d);
	for (i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			continue;
		}
		d[o++] = s[i];
	}
	*out_len = o;
	return d;
}

/* has_lone_cr - whether s[0..n) holds a CR that does not begin CRLF. */
static bool
has_lone_cr(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')) {
			return true;
		}
	}
	return false;
}

/* mode_named - the canon_mode a .kat file or file name calls name. */
static enum canon_mode
mode_named(const char *name)
{
	if (strcmp(name, "simple") == 0) {
		return CANON_SIMPLE;
	}
	if (strcmp(name, "relaxed") == 0) {
		return CANON_RELAXED;
	}
	if (strcmp(name, "dk-simple") == 0) {
		return CANON_DK_SIMPLE;
	}
	cr_assert_str_eq(name, "dk-nofws", "unknown mode");
	return CANON_DK_NOFWS;
}

/* One line of a .kat file. */
struct kat {
	char mode[16];
	char in[512];
	size_t in_len;
	char out[512];
	size_t out_len;
	int line;
};

/*
 * kat_string - decode the C-escaped "..." at *pp into out, advance *pp.
 * Returns the decoded length.
 */
static size_t
kat_string(const char **pp, char *out, size_t cap, int line)
{
	const char *p = *pp;
	size_t o = 0;

	while (*p == ' ' || *p == '\t') {
		p++;
	}
	cr_assert_eq(*p, '"', "kat line %d: string expected", line);
	for (p++; *p != '"'; p++) {
		char c = *p;

		cr_assert_neq(c, '\0', "kat line %d: open string", line);
		cr_assert_lt(o, cap, "kat line %d: string too long", line);
		if (c == '\\') {
			c = *++p;
			if (c == 'r') {
				c = '\r';
			} else if (c == 'n') {
				c = '\n';
			} else if (c == 't') {
				c = '\t';
			} else if (c == 'x') {
				char hex[3] = { p[1], p[2], '\0' };

				c = (char)strtoul(hex, NULL, 16);
				p += 2;
			}
		}
		out[o++] = c;
	}
	*pp = p + 1;
	return o;
}

/* kat_next - read the next vector from f; false at the end. */
static bool
kat_next(FILE *f, struct kat *k)
{
	char line[2048];
	const char *p;

	while (fgets(line, sizeof(line), f) != NULL) {
		k->line++;
		if (line[0] == '#' || line[0] == '\n') {
			continue;
		}
		cr_assert_eq(sscanf(line, "%15s", k->mode), 1);
		p = line + strlen(k->mode);
		k->in_len = kat_string(&p, k->in, sizeof(k->in), k->line);
		k->out_len = kat_string(&p, k->out, sizeof(k->out), k->line);
		return true;
	}
	return false;
}

/* kat_open - open tests/data/canon/name. */
static FILE *
kat_open(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", DATA_DIR, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	return f;
}

/* sha256_b64 - base64 SHA-256 of what canon_body() makes of body. */
static void
sha256_b64(enum canon_mode mode, const char *body, size_t len,
    char b64[45])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct canon_out out;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	cr_assert_not_null(ctx);
	cr_assert_eq(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	canon_out_init(&out, digest_sink, ctx);
	canon_body(mode, body, len, CANON_NO_LIMIT, &out);
	canon_out_flush(&out);
	cr_assert_eq(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
	EVP_MD_CTX_free(ctx);
	cr_assert_eq(EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen),
	    44);
}

/* parse_ok - canon_msg_parse() that must succeed. */
static void
parse_ok(struct canon_msg *m, const char *buf, size_t len)
{
	canon_msg_init(m);
	cr_assert_eq(canon_msg_parse(m, buf, len), 0);
}

/* expect_field - field i of m has the given raw bytes and name. */
static void
expect_field(const struct canon_msg *m, size_t i, const char *raw,
    size_t raw_len, size_t name_len)
{
	const struct canon_field *f;

	cr_assert_lt(i, m->nfields, "field %zu missing", i);
	f = &m->fields[i];
	expect_bytes(f->raw, f->raw_len, raw, raw_len, "field raw");
	cr_assert_eq(f->name_len, name_len, "field %zu name_len", i);
}

/*
 * ---------------------------------------------------------------------
 * Reference canonicalizers: line by line, straight from the RFC text,
 * with no attempt at speed.  Output buffers need 2 * len + 8 bytes.
 * ---------------------------------------------------------------------
 */

/* ref_line - transform one body line (without its end) for mode. */
static size_t
ref_line(enum canon_mode mode, const char *s, size_t n, char *d)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		bool wsp = s[i] == ' ' || s[i] == '\t';
		bool run = i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t');

		if (mode == CANON_RELAXED && wsp) {
			if (!run) {
				d[o++] = ' ';
			}
		} else if (mode == CANON_DK_NOFWS && (wsp || s[i] == '\r')) {
			continue;
		} else {
			d[o++] = s[i];
		}
	}
	if (mode == CANON_RELAXED && n > 0 &&
	    (s[n - 1] == ' ' || s[n - 1] == '\t')) {
		o--;
	}
	return o;
}

/* ref_body - reference body canonicalization of s[0..n) into d. */
static size_t
ref_body(enum canon_mode mode, const char *s, size_t n, char *d)
{
	size_t i = 0, o = 0, keep = 0;
	bool dk = mode == CANON_DK_SIMPLE || mode == CANON_DK_NOFWS;

	if (dk) {
		o = 2;		/* room for the header/body CRLF */
	}
	while (i < n) {
		const char *lf = memchr(s + i, '\n', n - i);
		size_t e = lf ? (size_t)(lf - s) : n;
		size_t next = lf ? e + 1 : n;
		size_t w;

		if (lf != NULL && e > i && s[e - 1] == '\r') {
			e--;
		}
		w = ref_line(mode, s + i, e - i, d + o);
		o += w;
		memcpy(d + o, "\r\n", 2);
		o += 2;
		if (w > 0) {
			keep = o;	/* trailing empty lines end here */
		}
		i = next;
	}
	if (dk) {
		if (keep == 0) {
			return 0;
		}
		memcpy(d, "\r\n", 2);
		return keep;
	}
	if (mode == CANON_SIMPLE && keep == 0) {
		memcpy(d, "\r\n", 2);
		return 2;
	}
	return keep;
}

/*
 * ref_relaxed_bytes - relaxed body canonicalization (RFC 6376 3.4.4) of
 * s[0..n) into d, a byte at a time and independent of ref_body().
 *
 * CRLF and bare LF end a line; a CR before no LF is text.  A WSP run is
 * held back and becomes one SP only when text follows on its line, so
 * WSP at a line end goes.  Line ends are held back too and written when
 * text follows, which drops the trailing empty lines; the last line
 * then gets its CRLF unless nothing was written.  d needs 2 * n + 2
 * bytes.  Returns the length written.
 */
static size_t
ref_relaxed_bytes(const unsigned char *s, size_t n, unsigned char *d)
{
	size_t i, o = 0, breaks = 0;
	bool wsp = false;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
			continue;	/* the LF ends the line */
		}
		if (c == '\n') {
			breaks++;
			wsp = false;
			continue;
		}
		if (c == ' ' || c == '\t') {
			wsp = true;
			continue;
		}
		for (; breaks > 0; breaks--) {
			d[o++] = '\r';
			d[o++] = '\n';
		}
		if (wsp) {
			d[o++] = ' ';
			wsp = false;
		}
		d[o++] = c;
	}
	if (o > 0) {
		d[o++] = '\r';
		d[o++] = '\n';
	}
	return o;
}

/*
 * ref_relaxed_part - unfold s[a..b), squeeze and trim its WSP, lowercase
 * it when it is the name; append to d at *o.
 */
static void
ref_relaxed_part(const char *s, size_t a, size_t b, bool name, char *d,
    size_t *o)
{
	char u[4096];
	size_t i, un = 0, start = *o;

	for (i = a; i < b; i++) {
		bool crlf = s[i] == '\r' && i + 1 < b && s[i + 1] == '\n';

		if (!crlf && s[i] != '\n') {
			u[un++] = s[i];
		}
	}
	for (i = 0; i < un; i++) {
		char c = u[i];

		if (c == ' ' || c == '\t') {
			if (*o > start && d[*o - 1] != ' ') {
				d[(*o)++] = ' ';
			}
			continue;
		}
		if (name && c >= 'A' && c <= 'Z') {
			c += 'a' - 'A';
		}
		d[(*o)++] = c;
	}
	if (un > 0 && (u[un - 1] == ' ' || u[un - 1] == '\t') &&
	    *o > start) {
		(*o)--;
	}
}

/*
 * ref_header - reference header canonicalization of s[0..n), a field's
 * raw bytes with any hole already cut out; colon is the colon's offset
 * (n if none).  Writes the field and CRLF.
 */
static size_t
ref_header(enum canon_mode mode, const char *s, size_t n, size_t colon,
    char *d)
{
	size_t i, o = 0;

	if (mode == CANON_SIMPLE || mode == CANON_DK_SIMPLE) {
		for (i = 0; i < n; i++) {
			if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) {
				d[o++] = '\r';
			}
			d[o++] = s[i];
		}
	} else if (mode == CANON_DK_NOFWS) {
		for (i = 0; i < n; i++) {
			if (strchr(" \t\r\n", s[i]) == NULL || s[i] == '\0') {
				d[o++] = s[i];
			}
		}
	} else {
		ref_relaxed_part(s, 0, colon, true, d, &o);
		if (colon < n) {
			d[o++] = ':';
			ref_relaxed_part(s, colon + 1, n, false, d, &o);
		}
	}
	memcpy(d + o, "\r\n", 2);
	return o + 2;
}

/* rnd - xorshift64, deterministic so that a failure can be replayed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const enum canon_mode all_modes[] = {
	CANON_SIMPLE, CANON_RELAXED, CANON_DK_SIMPLE, CANON_DK_NOFWS,
};

/* =========================== framing ============================= */

Test(framing, header_and_body_split_at_first_empty_line)
{
	static const char msg[] =
	    "From: a\r\nTo: b\r\n\r\nbody\r\n\r\nX: y\r\n";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 2);
	expect_field(&m, 0, "From: a", 7, 4);
	expect_field(&m, 1, "To: b", 5, 2);
	cr_assert(m.has_body);
	cr_assert_eq(m.body_off, 18);
	cr_assert(m.crlf);
	cr_assert_eq(m.buf, msg);
	cr_assert_eq(m.len, sizeof(msg) - 1);
	canon_msg_free(&m);
}

Test(framing, header_without_empty_line_has_no_body)
{
	static const char msg[] = "From: a\r\nTo: b\r\n";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 2);
	cr_assert_not(m.has_body);
	cr_assert_eq(m.body_off, m.len);
	canon_msg_free(&m);
}

Test(framing, last_line_without_line_end_is_a_field)
{
	static const char msg[] = "From: a\r\nTo: b";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 2);
	expect_field(&m, 1, "To: b", 5, 2);
	cr_assert_not(m.has_body);
	cr_assert_eq(m.body_off, m.len);
	canon_msg_free(&m);
}

Test(framing, empty_header_then_empty_body)
{
	struct canon_msg m;

	parse_ok(&m, "\r\n", 2);
	cr_assert_eq(m.nfields, 0);
	cr_assert(m.has_body);
	cr_assert_eq(m.body_off, 2);
	cr_assert(m.crlf);
	canon_msg_free(&m);

	parse_ok(&m, "\nbody", 5);
	cr_assert_eq(m.nfields, 0);
	cr_assert(m.has_body);
	cr_assert_eq(m.body_off, 1);
	cr_assert_not(m.crlf);
	canon_msg_free(&m);
}

Test(framing, empty_message_has_nothing)
{
	struct canon_msg m;

	parse_ok(&m, "", 0);
	cr_assert_eq(m.nfields, 0);
	cr_assert_not(m.has_body);
	cr_assert_eq(m.body_off, 0);
	cr_assert_not(m.crlf);
	canon_msg_free(&m);
}

Test(framing, header_ending_exactly_at_empty_line_has_empty_body)
{
	static const char msg[] = "Subject: x\n\n";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 1);
	cr_assert(m.has_body);
	cr_assert_eq(m.body_off, m.len);
	canon_msg_free(&m);
}

Test(framing, crlf_flag_follows_first_line_only)
{
	struct canon_msg m;

	parse_ok(&m, "A: 1\r\nB: 2\n\n", 12);
	cr_assert(m.crlf);
	cr_assert_eq(m.nfields, 2);
	canon_msg_free(&m);

	parse_ok(&m, "A: 1\nB: 2\r\n\r\n", 13);
	cr_assert_not(m.crlf);
	cr_assert_eq(m.nfields, 2);
	canon_msg_free(&m);

	parse_ok(&m, "A: 1", 4);
	cr_assert_not(m.crlf);
	canon_msg_free(&m);
}

Test(framing, tab_and_space_led_lines_continue_the_field)
{
	static const char msg[] =
	    "Subject: one\r\n\ttwo\r\n  three\nTo: x\r\n\r\n";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 2);
	expect_field(&m, 0, "Subject: one\r\n\ttwo\r\n  three", 27, 7);
	cr_assert_eq(m.fields[0].colon, 7);
	expect_field(&m, 1, "To: x", 5, 2);
	canon_msg_free(&m);
}

Test(framing, whitespace_only_line_continues_rather_than_ends_header)
{
	static const char msg[] = "A: 1\r\n \r\nB: 2\r\n\r\nbody";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 2);
	expect_field(&m, 0, "A: 1\r\n ", 7, 1);
	cr_assert_eq(m.body_off, sizeof(msg) - 1 - 4);
	canon_msg_free(&m);
}

Test(framing, name_excludes_whitespace_before_colon)
{
	static const char msg[] = "Subject \t: x\r\n:empty\r\n";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 2);
	cr_assert_eq(m.fields[0].name_len, 7);
	cr_assert_eq(m.fields[0].colon, 9);
	cr_assert(canon_field_is(&m.fields[0], "subject", 7));
	cr_assert_eq(m.fields[1].name_len, 0);
	cr_assert_eq(m.fields[1].colon, 0);
	cr_assert_not(canon_field_is(&m.fields[1], "", 0));
	canon_msg_free(&m);
}

Test(framing, line_without_colon_is_a_nameless_field)
{
	static const char msg[] =
	    "From joe@example.com Mon Dec  1 10:00:00 2025\r\n"
	    "garbage\r\n continued: here\r\n"
	    "To: x\r\n\r\n";
	struct canon_msg m;
	const struct canon_field *f;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 3);

	/* The mbox line has a colon (in the time), so it is a field named
	 * "From joe@example.com Mon Dec  1 10", which matches nothing. */
	cr_assert_not(canon_field_is(&m.fields[0], "From", 4));

	f = &m.fields[1];
	cr_assert_eq(f->name_len, 0);
	cr_assert_eq(f->raw_len, strlen("garbage\r\n continued: here"));
	cr_assert_eq(f->colon, f->raw_len);
	cr_assert_not(canon_field_is(f, "garbage", 7));
	cr_assert_eq(canon_find_last(&m, "to", 2, m.nfields), 2);
	canon_msg_free(&m);
}

Test(framing, mbox_from_line_without_colon_is_nameless)
{
	static const char msg[] = "From joe@example.com\nTo: x\n\nhi\n";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 2);
	cr_assert_eq(m.fields[0].name_len, 0);
	cr_assert_eq(m.fields[0].colon, m.fields[0].raw_len);
	cr_assert_eq(canon_find_last(&m, "From", 4, m.nfields), -1);
	cr_assert_eq(m.body_off, 28);
	canon_msg_free(&m);
}

Test(framing, nul_bytes_are_ordinary)
{
	static const char msg[] = "X-A\0b: v\0w\r\nX-A: z\r\n\r\nb\0dy";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 2);
	expect_field(&m, 0, "X-A\0b: v\0w", 10, 5);
	cr_assert(canon_field_is(&m.fields[0], "x-a\0B", 5));
	cr_assert_not(canon_field_is(&m.fields[0], "x-a\0c", 5));
	cr_assert_not(canon_field_is(&m.fields[0], "X-A", 3));
	cr_assert_eq(canon_find_last(&m, "X-A", 3, m.nfields), 1);
	cr_assert_eq(m.body_off, 22);
	cr_assert_eq(m.len - m.body_off, 4);
	canon_msg_free(&m);
}

Test(framing, one_megabyte_header_line)
{
	const size_t big = 1 << 20;
	size_t len = 8 + big + 2 + 7 + 2 + 4, off;
	char *msg = malloc(len);
	struct canon_msg m;
	struct sinkbuf b = { 0 };

	cr_assert_not_null(msg);
	memcpy(msg, "X-Big: ", 7);
	memset(msg + 7, 'x', big + 1);
	off = 8 + big;
	memcpy(msg + off, "\r\nTo: a\r\n\r\nbody", 15);
	cr_assert_eq(off + 15, len);

	parse_ok(&m, msg, len);
	cr_assert_eq(m.nfields, 2);
	cr_assert_eq(m.fields[0].raw_len, 8 + big);
	cr_assert_eq(m.fields[0].name_len, 5);
	cr_assert_eq(m.body_off, len - 4);

	field_into(&b, CANON_RELAXED, &m.fields[0], 0, 0, true);
	cr_assert_eq(b.len, 6 + big + 1 + 2);
	cr_assert_eq(memcmp(b.p, "x-big:xxx", 9), 0);
	cr_assert_leq(b.max_call, CANON_STAGE_SIZE);
	canon_msg_free(&m);
	free(b.p);
	free(msg);
}

Test(framing, ten_thousand_fields)
{
	const size_t n = 10000;
	char *msg = malloc(n * 16 + 8), name[16];
	struct canon_msg m;
	size_t len = 0, i;

	cr_assert_not_null(msg);
	for (i = 0; i < n; i++) {
		len += (size_t)sprintf(msg + len, "X-%zu: v\n", i);
	}
	len += (size_t)sprintf(msg + len, "\nend\n");

	parse_ok(&m, msg, len);
	cr_assert_eq(m.nfields, n);
	cr_assert_geq(m.fields_cap, n);
	for (i = 0; i < n; i++) {
		int nl = sprintf(name, "X-%zu", i);

		cr_assert(canon_field_is(&m.fields[i], name, (size_t)nl));
	}
	cr_assert_eq(canon_find_last(&m, "x-0", 3, m.nfields), 0);
	cr_assert_eq(canon_find_last(&m, "X-9999", 6, m.nfields), 9999);
	cr_assert_eq(canon_find_last(&m, "X-9999", 6, 9999), -1);
	cr_assert_eq(m.body_off, len - 4);
	canon_msg_free(&m);
	free(msg);
}

Test(framing, find_last_searches_below_before)
{
	static const char msg[] =
	    "From: 1\r\nTo: 2\r\nfrom: 3\r\nFROM : 4\r\n\r\n";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 4);
	cr_assert_eq(canon_find_last(&m, "From", 4, m.nfields), 3);
	cr_assert_eq(canon_find_last(&m, "From", 4, 3), 2);
	cr_assert_eq(canon_find_last(&m, "From", 4, 2), 0);
	cr_assert_eq(canon_find_last(&m, "From", 4, 0), -1);
	cr_assert_eq(canon_find_last(&m, "From", 4, 99), 3);
	cr_assert_eq(canon_find_last(&m, "Fro", 3, m.nfields), -1);
	canon_msg_free(&m);
}

Test(framing, reparse_reuses_fields_and_resets_state)
{
	static const char a[] = "A: 1\r\nB: 2\r\nC: 3\r\n\r\nbody";
	static const char b[] = "D: 4";
	struct canon_msg m;

	parse_ok(&m, a, sizeof(a) - 1);
	cr_assert_eq(m.nfields, 3);
	cr_assert_eq(canon_msg_parse(&m, b, sizeof(b) - 1), 0);
	cr_assert_eq(m.nfields, 1);
	cr_assert_not(m.has_body);
	cr_assert_eq(m.body_off, 4);
	cr_assert_eq(m.buf, b);
	canon_msg_free(&m);
	cr_assert_null(m.fields);
	cr_assert_eq(canon_msg_parse(&m, a, sizeof(a) - 1), 0);
	cr_assert_eq(m.nfields, 3);
	canon_msg_free(&m);
}

Test(framing, leading_continuation_line_starts_a_field)
{
	static const char msg[] = " X: 1\r\n\tmore\r\nY: 2\r\n\r\n";
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	cr_assert_eq(m.nfields, 2);
	expect_field(&m, 0, " X: 1\r\n\tmore", 12, 2);
	cr_assert_not(canon_field_is(&m.fields[0], "X", 1));
	canon_msg_free(&m);
}

/* ============================= body ============================== */

Test(body, vectors_from_body_kat)
{
	FILE *f = kat_open("body.kat");
	struct sinkbuf b = { 0 };
	struct kat k = { 0 };
	char what[64];
	int n = 0;

	while (kat_next(f, &k)) {
		enum canon_mode mode = mode_named(k.mode);
		uint64_t total;

		snprintf(what, sizeof(what), "body.kat line %d", k.line);
		total = body_into(&b, mode, k.in, k.in_len, CANON_NO_LIMIT);
		expect_bytes(b.p, b.len, k.out, k.out_len, what);
		cr_assert_eq(total, k.out_len, "%s: length", what);

		if (!has_lone_cr(k.in, k.in_len)) {
			size_t lf_len;
			char *lf = to_lf(k.in, k.in_len, &lf_len);

			snprintf(what, sizeof(what), "body.kat line %d (LF)",
			    k.line);
			body_into(&b, mode, lf, lf_len, CANON_NO_LIMIT);
			expect_bytes(b.p, b.len, k.out, k.out_len, what);
			free(lf);
		}
		n++;
	}
	fclose(f);
	cr_assert_geq(n, 40, "only %d vectors read", n);
	free(b.p);
}

Test(body, simple_empty_body_hash_is_rfc6376_value)
{
	char b64[45];

	sha256_b64(CANON_SIMPLE, "", 0, b64);
	cr_assert_str_eq(b64, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	sha256_b64(CANON_SIMPLE, "\r\n\r\n\n", 5, b64);
	cr_assert_str_eq(b64, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
}

Test(body, relaxed_empty_body_hash_is_rfc6376_value)
{
	char b64[45];

	sha256_b64(CANON_RELAXED, "", 0, b64);
	cr_assert_str_eq(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	sha256_b64(CANON_RELAXED, " \r\n\t\r\n", 6, b64);
	cr_assert_str_eq(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

Test(body, simple_crlf_body_reaches_sink_uncopied)
{
	const size_t n = 2000;
	size_t len = n * 14, i;
	char *body = malloc(len);
	struct sinkbuf b = { 0 };

	cr_assert_not_null(body);
	for (i = 0; i < n; i++) {
		memcpy(body + i * 14, "line of text\r\n", 14);
	}
	cr_assert_eq(body_into(&b, CANON_SIMPLE, body, len, CANON_NO_LIMIT),
	    len);

	/* The whole text but its last CRLF in one call, from the buffer
	 * itself; then the CRLF the canonicalization adds. */
	cr_assert_eq(b.first, body);
	cr_assert_eq(b.first_len, len - 2);
	cr_assert_eq(b.calls, 2);
	expect_bytes(b.p, b.len, body, len, "simple body");
	free(b.p);
	free(body);
}

Test(body, bare_lf_body_is_written_as_crlf_in_large_spans)
{
	const size_t n = 2000;
	size_t len = n * 13, i;
	char *body = malloc(len), *crlf = malloc(n * 14);
	struct sinkbuf b = { 0 };

	cr_assert_not_null(body);
	cr_assert_not_null(crlf);
	for (i = 0; i < n; i++) {
		memcpy(body + i * 13, "line of text\n", 13);
		memcpy(crlf + i * 14, "line of text\r\n", 14);
	}
	body_into(&b, CANON_SIMPLE, body, len, CANON_NO_LIMIT);
	expect_bytes(b.p, b.len, crlf, n * 14, "LF body");
	cr_assert_leq(b.calls, n * 14 / (CANON_STAGE_SIZE / 2) + 2);
	free(b.p);
	free(crlf);
	free(body);
}

Test(body, relaxed_output_is_batched_through_the_stage)
{
	const size_t n = 20000;
	char *body = malloc(n * 4);
	struct sinkbuf b = { 0 };
	size_t i;

	cr_assert_not_null(body);
	for (i = 0; i < n; i++) {
		memcpy(body + i * 4, i % 10 == 9 ? "w \t\n" : "w \t ", 4);
	}
	body_into(&b, CANON_RELAXED, body, n * 4, CANON_NO_LIMIT);
	cr_assert_eq(b.len, n / 10 * (9 * 2 + 1 + 2));
	cr_assert_leq(b.max_call, CANON_STAGE_SIZE);
	cr_assert_leq(b.calls, b.len / (CANON_STAGE_SIZE / 2) + 1);
	free(b.p);
	free(body);
}

Test(body, matches_line_based_reference_on_random_input)
{
	static const char alphabet[] = "ab \t\r\n\n\0";
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	struct sinkbuf b = { 0 };
	char in[64], want[2 * 64 + 8];
	int iter;

	for (iter = 0; iter < 40000; iter++) {
		size_t len = rnd(&seed) % 40, i, wlen;
		enum canon_mode mode = all_modes[iter % 4];
		uint64_t total;

		for (i = 0; i < len; i++) {
			in[i] = alphabet[rnd(&seed) % (sizeof(alphabet) - 1)];
		}
		wlen = ref_body(mode, in, len, want);
		total = body_into(&b, mode, in, len, CANON_NO_LIMIT);
		cr_assert(same(b.p, b.len, want, wlen),
		    "mode %d input \"%s\":\n  got  \"%s\"\n  want \"%s\"",
		    (int)mode, esc(in, len), esc(b.p, b.len),
		    esc(want, wlen));
		cr_assert_eq(total, wlen);
	}
	free(b.p);
}

Test(body, matches_reference_across_stage_fills_and_limits)
{
	static const char alphabet[] = "abcdefgh  \t\r\n\n";
	const size_t len = 9 * CANON_STAGE_SIZE + 123;
	uint64_t seed = 0x13198a2e03707344ULL;
	char *in = malloc(len), *want = malloc(2 * len + 8);
	struct sinkbuf b = { 0 };
	size_t i, wlen;
	int m, l;

	cr_assert_not_null(in);
	cr_assert_not_null(want);
	for (m = 0; m < 4; m++) {
		for (i = 0; i < len; i++) {
			in[i] = alphabet[rnd(&seed) % (sizeof(alphabet) - 1)];
		}
		wlen = ref_body(all_modes[m], in, len, want);
		for (l = 0; l < 6; l++) {
			uint64_t lim = l == 0 ? CANON_NO_LIMIT :
			    l == 1 ? 0 : l == 2 ? wlen - 1 : rnd(&seed) % wlen;
			size_t cut = lim < wlen ? (size_t)lim : wlen;

			cr_assert_eq(body_into(&b, all_modes[m], in, len, lim),
			    wlen, "mode %d limit %d", m, l);
			cr_assert(same(b.p, b.len, want, cut),
			    "mode %d limit %llu: output differs", m,
			    (unsigned long long)lim);
		}
	}
	free(b.p);
	free(want);
	free(in);
}

Test(body, limit_writes_prefix_and_returns_full_length)
{
	static const char body[] = "Hello  world \r\nsecond line\r\n\r\n";
	struct sinkbuf full = { 0 }, b = { 0 };
	uint64_t limits[] = { 0, 1, 5, 14, 15, 26, 27, 1000 };
	size_t i, j;

	for (j = 0; j < 2; j++) {
		enum canon_mode mode = j ? CANON_RELAXED : CANON_SIMPLE;
		uint64_t want = body_into(&full, mode, body, sizeof(body) - 1,
		    CANON_NO_LIMIT);

		cr_assert_eq(want, j ? 26 : 28);
		for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
			uint64_t lim = limits[i];
			size_t cut = lim < want ? (size_t)lim : (size_t)want;

			cr_assert_eq(body_into(&b, mode, body,
			    sizeof(body) - 1, lim), want);
			expect_bytes(b.p, b.len, full.p, cut, "l= prefix");
		}
	}
	free(full.p);
	free(b.p);
}

Test(body, limit_cuts_inside_a_direct_span)
{
	const size_t len = 3 * CANON_STAGE_SIZE;
	char *body = malloc(len);
	struct sinkbuf b = { 0 };

	cr_assert_not_null(body);
	memset(body, 'a', len);
	body[len - 2] = '\r';
	body[len - 1] = '\n';
	cr_assert_eq(body_into(&b, CANON_SIMPLE, body, len, 5000), len);
	cr_assert_eq(b.len, 5000);
	cr_assert_eq(b.first, body);
	expect_bytes(b.p, b.len, body, 5000, "cut span");
	free(b.p);
	free(body);
}

Test(body, limit_applies_to_dk_and_relaxed_output_alike)
{
	static const char body[] = "a  b\r\n\r\n";
	struct sinkbuf b = { 0 };

	cr_assert_eq(body_into(&b, CANON_RELAXED, body, 8, 2), 5);
	expect_bytes(b.p, b.len, "a ", 2, "relaxed l=2");
	cr_assert_eq(body_into(&b, CANON_DK_SIMPLE, body, 8, 3), 8);
	expect_bytes(b.p, b.len, "\r\na", 3, "dk l=3");
	free(b.p);
}

/*
 * relaxed_placed - canon_body() in relaxed mode of in[0..len) with the
 * given limit, the body copied to offset off of a buffer whose bytes on
 * either side would change the result if they were read (CR before it,
 * LF and SP after it), and again alone in a heap block of exactly len
 * bytes, where a sanitizer sees any read past it.  Both must give
 * ref_relaxed_bytes() cut to limit, and its full length.
 */
static void
relaxed_placed(struct sinkbuf *b, const unsigned char *in, size_t len,
    size_t off, uint64_t limit, const char *what)
{
	unsigned char *want = malloc(2 * len + 2);
	char *pad = malloc(off + len + 64);
	char *alone = malloc(len > 0 ? len : 1);
	size_t wlen, cut, i;
	uint64_t total;

	cr_assert_not_null(want);
	cr_assert_not_null(pad);
	cr_assert_not_null(alone);
	wlen = ref_relaxed_bytes(in, len, want);
	cut = limit < wlen ? (size_t)limit : wlen;

	memset(pad, '\r', off);
	memcpy(pad + off, in, len);
	for (i = 0; i < 64; i++) {
		pad[off + len + i] = (i + len) % 2 ? ' ' : '\n';
	}
	total = body_into(b, CANON_RELAXED, pad + off, len, limit);
	cr_assert(same(b->p, b->len, want, cut),
	    "%s, offset %zu, limit %llu, input \"%s\" (%zu):\n"
	    "  got  \"%s\" (%zu)\n  want \"%s\" (%zu)", what, off,
	    (unsigned long long)limit, esc(in, len), len, esc(b->p, b->len),
	    b->len, esc(want, cut), cut);
	cr_assert_eq(total, wlen, "%s: total", what);

	memcpy(alone, in, len);
	total = body_into(b, CANON_RELAXED, alone, len, limit);
	cr_assert(same(b->p, b->len, want, cut), "%s: exact block differs",
	    what);
	cr_assert_eq(total, wlen, "%s: exact block total", what);
	free(alone);
	free(pad);
	free(want);
}

Test(body, relaxed_matches_bytewise_reference_at_any_offset_and_limit)
{
	/* Alphabets from stop-heavy to long clean runs with rare stops. */
#define ABC(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *c;
		size_t n;
	} abc[] = {
		ABC(" \t\r\na\0\xff"),
		ABC("    \t\r\r\n\na"),
		ABC("aaaaaaaa \r\n"),
		ABC("a\xff\0aaaa\xff\0aaaa aaa\xff\0aaaa \r\n"),
		ABC("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \t\r\n"),
	};
#undef ABC
	uint64_t seed = 0xa4093822299f31d0ULL;
	struct sinkbuf b = { 0 };
	unsigned char *in = malloc(5000);
	char what[64];
	int iter;

	cr_assert_not_null(in);
	for (iter = 0; iter < 20000; iter++) {
		size_t a = rnd(&seed) % (sizeof(abc) / sizeof(abc[0]));
		size_t len = rnd(&seed) % 301, off = rnd(&seed) % 64, i;
		uint64_t limit = CANON_NO_LIMIT, r = rnd(&seed) % 8;

		if (r == 0) {
			len = 1000 + rnd(&seed) % 4001;
		}
		for (i = 0; i < len; i++) {
			in[i] = (unsigned char)abc[a].c[rnd(&seed) % abc[a].n];
		}
		if (r >= 5) {
			/* About the canonical length, often past it. */
			limit = rnd(&seed) % (2 * len + 3);
		}
		snprintf(what, sizeof(what), "iteration %d", iter);
		relaxed_placed(&b, in, len, off, limit, what);
	}
	free(in);
	free(b.p);
}

Test(body, relaxed_block_edges_match_bytewise_reference)
{
	/*
	 * Bodies of text with put[] written at at: the spots where 64-byte
	 * blocks meet, where a neighbour decides what a byte needs.
	 */
	static const struct {
		const char *what;
		size_t len;
		size_t at;
		const char *put;
		size_t put_len;
	} cases[] = {
		{ "SP at 63, SP at 64", 130, 63, "  ", 2 },
		{ "SP at 63, HTAB at 64", 130, 63, " \t", 2 },
		{ "SP at 63, CRLF at 64", 130, 63, " \r\n", 3 },
		{ "SP at 63, LF at 64", 130, 63, " \n", 2 },
		{ "SP at 63, lone CR at 64", 130, 63, " \ry", 3 },
		{ "SP at 63, text at 64", 130, 63, " y", 2 },
		{ "SP at 127, LF at 128", 200, 127, " \n", 2 },
		{ "CR at 63, LF at 64", 130, 63, "\r\n", 2 },
		{ "lone CR at 63", 130, 63, "\r", 1 },
		{ "bare LF at 64", 130, 64, "\n", 1 },
		{ "bare LF at 0", 130, 0, "\n", 1 },
		{ "CRLF at 0", 130, 0, "\r\n", 2 },
		{ "HTAB at 0", 130, 0, "\t", 1 },
		{ "HTAB at 63", 130, 63, "\t", 1 },
		{ "HTAB at 64", 130, 64, "\t", 1 },
		{ "WSP run over 64", 200, 60, "  \t    ", 7 },
		{ "WSP run over 64, then LF", 200, 60, "        \n", 9 },
		{ "WSP run over 64, then CRLF", 200, 60, "      \r\n", 8 },
		{ "WSP run to 127, bare LF at 128", 200, 120, "\t       \n",
		    9 },
		{ "63 bytes", 63, 0, "", 0 },
		{ "64 bytes", 64, 0, "", 0 },
		{ "65 bytes", 65, 0, "", 0 },
		{ "128 bytes", 128, 0, "", 0 },
		{ "64 bytes, SP at 62", 64, 62, " ", 1 },
		{ "64 bytes, SP at 63", 64, 63, " ", 1 },
		{ "64 bytes, lone CR at 63", 64, 63, "\r", 1 },
		{ "65 bytes, lone CR at 64", 65, 64, "\r", 1 },
		{ "65 bytes, SP at 63, lone CR at 64", 65, 63, " \r", 2 },
		{ "65 bytes, LF at 64", 65, 64, "\n", 1 },
		{ "65 bytes, SP at 63, LF at 64", 65, 63, " \n", 2 },
		{ "128 bytes, SP at 127", 128, 127, " ", 1 },
		{ "128 bytes, CRLF at 126", 128, 126, "\r\n", 2 },
		{ "129 bytes, lone CR at 128", 129, 128, "\r", 1 },
	};
	static const uint64_t limits[] = { CANON_NO_LIMIT, 0, 63, 64, 65 };
	struct sinkbuf b = { 0 };
	unsigned char in[256];
	size_t i, off, l;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_leq(cases[i].at + cases[i].put_len, cases[i].len);
		memset(in, 'x', cases[i].len);
		memcpy(in + cases[i].at, cases[i].put, cases[i].put_len);
		for (off = 0; off < 16; off += 5) {
			for (l = 0; l < sizeof(limits) / sizeof(limits[0]);
			    l++) {
				relaxed_placed(&b, in, cases[i].len, off,
				    limits[l], cases[i].what);
			}
		}
	}
	free(b.p);
}

Test(body, relaxed_block_edges_give_known_output)
{
	/* 130 bytes of text with put[] written at at, where it must
	 * become out[]. */
	static const struct {
		const char *what;
		size_t at;
		const char *put;
		const char *out;
	} cases[] = {
		{ "SP HTAB over the edge is one SP", 63, " \t", " " },
		{ "SP SP over the edge is one SP", 63, "  ", " " },
		{ "SP before CRLF over the edge goes", 63, " \r\n", "\r\n" },
		{ "SP before bare LF at 64 goes", 63, " \n", "\r\n" },
		{ "bare LF at 64 becomes CRLF", 64, "\n", "\r\n" },
		{ "CR at 63 and LF at 64 stay", 63, "\r\n", "\r\n" },
		{ "HTAB at 0 becomes SP", 0, "\t", " " },
		{ "HTAB at 63 becomes SP", 63, "\t", " " },
		{ "SP before a lone CR at 64 stays", 63, " \ry", " \ry" },
	};
	char in[130], want[140];
	struct sinkbuf b = { 0 };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t at = cases[i].at, plen = strlen(cases[i].put);
		size_t olen = strlen(cases[i].out);
		size_t rest = sizeof(in) - at - plen, wlen = at + olen + rest;

		memset(in, 'x', sizeof(in));
		memcpy(in + at, cases[i].put, plen);
		memset(want, 'x', at);
		memcpy(want + at, cases[i].out, olen);
		memset(want + at + olen, 'x', rest);
		memcpy(want + wlen, "\r\n", 2);
		wlen += 2;
		cr_assert_eq(body_into(&b, CANON_RELAXED, in, sizeof(in),
		    CANON_NO_LIMIT), wlen, "%s: length", cases[i].what);
		expect_bytes(b.p, b.len, want, wlen, cases[i].what);
	}
	free(b.p);
}

/* ============================ header ============================= */

Test(header, vectors_from_header_kat)
{
	FILE *f = kat_open("header.kat");
	struct sinkbuf b = { 0 };
	struct kat k = { 0 };
	struct canon_msg m;
	char what[64], msg[600];
	int n = 0;

	canon_msg_init(&m);
	while (kat_next(f, &k)) {
		enum canon_mode mode = mode_named(k.mode);
		size_t len = k.in_len + 2;

		memcpy(msg, k.in, k.in_len);
		memcpy(msg + k.in_len, "\r\n", 2);
		snprintf(what, sizeof(what), "header.kat line %d", k.line);
		cr_assert_eq(canon_msg_parse(&m, msg, len), 0);
		cr_assert_eq(m.nfields, 1, "%s: fields", what);
		field_into(&b, mode, &m.fields[0], 0, 0, true);
		expect_bytes(b.p, b.len, k.out, k.out_len, what);

		if (!has_lone_cr(msg, len)) {
			size_t lf_len;
			char *lf = to_lf(msg, len, &lf_len);

			snprintf(what, sizeof(what), "header.kat line %d (LF)",
			    k.line);
			cr_assert_eq(canon_msg_parse(&m, lf, lf_len), 0);
			field_into(&b, mode, &m.fields[0], 0, 0, true);
			expect_bytes(b.p, b.len, k.out, k.out_len, what);
			free(lf);
		}
		n++;
	}
	fclose(f);
	canon_msg_free(&m);
	cr_assert_geq(n, 20, "only %d vectors read", n);
	free(b.p);
}

Test(header, eol_false_leaves_off_the_crlf)
{
	static const char msg[] = "DKIM-Signature:  v=1 \r\n\r\n";
	struct canon_msg m;
	struct sinkbuf b = { 0 };

	parse_ok(&m, msg, sizeof(msg) - 1);
	field_into(&b, CANON_RELAXED, &m.fields[0], 0, 0, false);
	expect_bytes(b.p, b.len, "dkim-signature:v=1", 18, "relaxed");
	field_into(&b, CANON_SIMPLE, &m.fields[0], 0, 0, false);
	expect_bytes(b.p, b.len, "DKIM-Signature:  v=1 ", 21, "simple");
	canon_msg_free(&m);
	free(b.p);
}

Test(header, matches_reference_on_random_fields_and_holes)
{
	static const char alphabet[] = "aB \t\r:x";
	uint64_t seed = 0x243f6a8885a308d3ULL;
	struct sinkbuf b = { 0 };
	struct canon_msg m;
	char msg[128], cut[128], want[300];
	int iter;

	canon_msg_init(&m);
	for (iter = 0; iter < 40000; iter++) {
		enum canon_mode mode = all_modes[iter % 4];
		size_t len = 1, ho, hl, clen, wlen;
		const struct canon_field *f;

		/* A name byte, then text with folds that keep it one
		 * field. */
		msg[0] = 'N';
		while (len < 40) {
			uint64_t r = rnd(&seed) % 12;

			if (r == 0) {
				memcpy(msg + len, "\r\n ", 3);
				len += 3;
			} else if (r == 1) {
				memcpy(msg + len, "\n\t", 2);
				len += 2;
			} else {
				msg[len++] = alphabet[r % 7];
			}
			if (rnd(&seed) % 20 == 0) {
				break;
			}
		}
		memcpy(msg + len, "\r\n", 2);
		cr_assert_eq(canon_msg_parse(&m, msg, len + 2), 0);
		cr_assert_eq(m.nfields, 1);
		f = &m.fields[0];

		/* A hole after the colon, or none. */
		ho = hl = 0;
		if (f->colon + 1 < f->raw_len && rnd(&seed) % 2) {
			ho = f->colon + 1 + rnd(&seed) %
			    (f->raw_len - f->colon - 1);
			hl = rnd(&seed) % (f->raw_len - ho + 1);
		}
		memcpy(cut, f->raw, ho);
		memcpy(cut + ho, f->raw + ho + hl, f->raw_len - ho - hl);
		clen = f->raw_len - hl;
		wlen = ref_header(mode, cut, clen,
		    f->colon < f->raw_len ? f->colon : clen, want);

		field_into(&b, mode, f, ho, hl, true);
		cr_assert(same(b.p, b.len, want, wlen),
		    "mode %d field \"%s\" hole %zu+%zu:\n  got  \"%s\"\n"
		    "  want \"%s\"", (int)mode, esc(f->raw, f->raw_len), ho,
		    hl, esc(b.p, b.len), esc(want, wlen));
	}
	canon_msg_free(&m);
	free(b.p);
}

/* ===================== whole-message golden files ================== */

/*
 * golden_dkim - the .header and .body files of stem for mode match
 * canonicalizing stem.eml, with CRLF and with bare LF line ends.
 */
static void
golden_dkim(const char *stem, const char *mode_name)
{
	enum canon_mode mode = mode_named(mode_name);
	struct sinkbuf b = { 0 };
	struct canon_msg m;
	char name[128], *msg, *hdr, *body, *lf;
	size_t len, hlen, blen, lflen;
	int pass;

	snprintf(name, sizeof(name), "%s.eml", stem);
	msg = slurp(name, &len);
	snprintf(name, sizeof(name), "%s.%s.header", stem, mode_name);
	hdr = slurp(name, &hlen);
	snprintf(name, sizeof(name), "%s.%s.body", stem, mode_name);
	body = slurp(name, &blen);
	lf = to_lf(msg, len, &lflen);

	for (pass = 0; pass < 2; pass++) {
		const char *in = pass ? lf : msg;
		size_t ilen = pass ? lflen : len;

		parse_ok(&m, in, ilen);
		cr_assert(m.has_body);
		cr_assert_eq(m.crlf, pass == 0);
		sink_reset(&b);
		headers_into(&b, mode, &m);
		expect_bytes(b.p, b.len, hdr, hlen, name);
		body_into(&b, mode, in + m.body_off, ilen - m.body_off,
		    CANON_NO_LIMIT);
		expect_bytes(b.p, b.len, body, blen, name);
		canon_msg_free(&m);
	}
	free(lf);
	free(body);
	free(hdr);
	free(msg);
	free(b.p);
}

/* golden_dk - stem.MODE.all is every field and then canon_body(). */
static void
golden_dk(const char *stem, const char *mode_name)
{
	enum canon_mode mode = mode_named(mode_name);
	struct sinkbuf b = { 0 };
	struct canon_msg m;
	struct canon_out out;
	char name[128], *msg, *all, *lf;
	size_t len, alen, lflen, i;
	int pass;

	snprintf(name, sizeof(name), "%s.eml", stem);
	msg = slurp(name, &len);
	snprintf(name, sizeof(name), "%s.%s.all", stem, mode_name);
	all = slurp(name, &alen);
	lf = to_lf(msg, len, &lflen);

	for (pass = 0; pass < 2; pass++) {
		const char *in = pass ? lf : msg;
		size_t ilen = pass ? lflen : len;

		parse_ok(&m, in, ilen);
		sink_reset(&b);
		canon_out_init(&out, collect, &b);
		for (i = 0; i < m.nfields; i++) {
			canon_header(mode, &m.fields[i], 0, 0, true, &out);
		}
		canon_body(mode, in + m.body_off, ilen - m.body_off,
		    CANON_NO_LIMIT, &out);
		cr_assert_eq(out.total, alen);
		canon_out_flush(&out);
		expect_bytes(b.p, b.len, all, alen, name);
		canon_msg_free(&m);
	}
	free(lf);
	free(all);
	free(msg);
	free(b.p);
}

Test(golden, rfc6376_example_relaxed)
{
	golden_dkim("rfc6376-3.4.5", "relaxed");
}

Test(golden, rfc6376_example_simple)
{
	golden_dkim("rfc6376-3.4.5", "simple");
}

Test(golden, folded_message_matches_mail_dkim_in_dkim_modes)
{
	golden_dkim("folded", "simple");
	golden_dkim("folded", "relaxed");
	golden_dkim("blankbody", "simple");
	golden_dkim("blankbody", "relaxed");
}

Test(golden, folded_message_matches_mail_dkim_in_dk_modes)
{
	golden_dk("folded", "dk-simple");
	golden_dk("folded", "dk-nofws");
}

Test(golden, dk_blank_body_drops_the_header_body_line)
{
	golden_dk("blankbody", "dk-simple");
	golden_dk("blankbody", "dk-nofws");
}

/* ============================== hole ============================= */

/*
 * sig_hole - the raw offset and length of the b= value in field f, found
 * with canon_tags_parse() on the field value.
 */
static void
sig_hole(const struct canon_field *f, size_t *off, size_t *len)
{
	struct canon_tag tags[CANON_TAGS_MAX];
	const struct canon_tag *t;
	size_t v = f->colon + 1;
	int n;

	n = canon_tags_parse(f->raw + v, f->raw_len - v, tags,
	    CANON_TAGS_MAX, NULL);
	cr_assert_gt(n, 0);
	t = canon_tag_find(tags, n, "b");
	cr_assert_not_null(t);
	*off = v + t->span_off;
	*len = t->span_len;
}

Test(hole, blanks_folded_b_value_in_every_mode)
{
	static const char msg[] =
	    "DKIM-Signature: a=rsa-sha256; b=dGVz\r\n\tdA= ;\r\n"
	    " bh=47DE; d=example.com\r\n\r\n";
	static const struct {
		enum canon_mode mode;
		const char *want;
	} cases[] = {
		{ CANON_SIMPLE, "DKIM-Signature: a=rsa-sha256; b=;\r\n"
		    " bh=47DE; d=example.com" },
		{ CANON_DK_SIMPLE, "DKIM-Signature: a=rsa-sha256; b=;\r\n"
		    " bh=47DE; d=example.com" },
		{ CANON_RELAXED, "dkim-signature:a=rsa-sha256; b=; "
		    "bh=47DE; d=example.com" },
		{ CANON_DK_NOFWS, "DKIM-Signature:a=rsa-sha256;b=;"
		    "bh=47DE;d=example.com" },
	};
	struct sinkbuf b = { 0 };
	struct canon_msg m;
	size_t off, len, i;

	parse_ok(&m, msg, sizeof(msg) - 1);
	sig_hole(&m.fields[0], &off, &len);
	expect_bytes(m.fields[0].raw + off, len, "dGVz\r\n\tdA= ", 11,
	    "span");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		field_into(&b, cases[i].mode, &m.fields[0], off, len, false);
		expect_bytes(b.p, b.len, cases[i].want,
		    strlen(cases[i].want), "hole");
	}
	canon_msg_free(&m);
	free(b.p);
}

Test(hole, at_end_of_field_with_trailing_fold)
{
	static const char msg[] =
	    "DKIM-Signature: v=1; d=x;\r\n b=AAAA\r\n BBBB\r\n\r\n";
	struct sinkbuf b = { 0 };
	struct canon_msg m;
	size_t off, len;

	parse_ok(&m, msg, sizeof(msg) - 1);
	sig_hole(&m.fields[0], &off, &len);
	cr_assert_eq(off + len, m.fields[0].raw_len);
	field_into(&b, CANON_RELAXED, &m.fields[0], off, len, false);
	expect_bytes(b.p, b.len, "dkim-signature:v=1; d=x; b=", 27,
	    "relaxed");
	field_into(&b, CANON_SIMPLE, &m.fields[0], off, len, true);
	expect_bytes(b.p, b.len, "DKIM-Signature: v=1; d=x;\r\n b=\r\n", 32,
	    "simple");
	canon_msg_free(&m);
	free(b.p);
}

Test(hole, past_the_field_is_cut_to_it)
{
	static const char msg[] = "X: abc\r\n";
	struct sinkbuf b = { 0 };
	struct canon_msg m;

	parse_ok(&m, msg, sizeof(msg) - 1);
	field_into(&b, CANON_SIMPLE, &m.fields[0], 4, 1000, true);
	expect_bytes(b.p, b.len, "X: a\r\n", 6, "long hole");
	field_into(&b, CANON_SIMPLE, &m.fields[0], 1000, 5, true);
	expect_bytes(b.p, b.len, "X: abc\r\n", 8, "hole past end");
	field_into(&b, CANON_RELAXED, &m.fields[0], 3, SIZE_MAX, true);
	expect_bytes(b.p, b.len, "x:\r\n", 4, "SIZE_MAX hole");
	canon_msg_free(&m);
	free(b.p);
}

Test(hole, joining_cr_and_lf_across_the_hole_unfolds)
{
	static const char msg[] = "X: a\rZZ\n b\r\n";
	struct sinkbuf b = { 0 };
	struct canon_msg m;

	/* Without the hole the CR is text and the LF a bare fold; with it
	 * cut out, CR and LF make one CRLF fold. */
	parse_ok(&m, msg, sizeof(msg) - 1);
	field_into(&b, CANON_RELAXED, &m.fields[0], 0, 0, false);
	expect_bytes(b.p, b.len, "x:a\rZZ b", 8, "no hole");
	field_into(&b, CANON_RELAXED, &m.fields[0], 5, 2, false);
	expect_bytes(b.p, b.len, "x:a b", 5, "relaxed hole");
	field_into(&b, CANON_SIMPLE, &m.fields[0], 5, 2, false);
	expect_bytes(b.p, b.len, "X: a\r\n b", 8, "simple hole");
	canon_msg_free(&m);
	free(b.p);
}

/* ============================= stage ============================= */

Test(stage, total_counts_staged_and_direct_bytes)
{
	char big[CANON_STAGE_SIZE / 4 + 1];	/* just long enough */
	struct sinkbuf b = { 0 };
	struct canon_out out;
	uint64_t n;

	memset(big, 'q', sizeof(big));
	canon_out_init(&out, collect, &b);
	n = canon_body(CANON_RELAXED, "a b\r\n", 5, CANON_NO_LIMIT, &out);
	cr_assert_eq(n, 5);
	cr_assert_eq(out.total, 5);
	cr_assert_eq(b.calls, 0, "short output must wait in the stage");
	n = canon_body(CANON_SIMPLE, big, sizeof(big), CANON_NO_LIMIT, &out);
	cr_assert_eq(n, sizeof(big) + 2);
	cr_assert_eq(out.total, 5 + sizeof(big) + 2);
	cr_assert_eq(b.calls, 2, "stage flushed, then the span direct");
	canon_out_flush(&out);
	canon_out_flush(&out);
	cr_assert_eq(b.calls, 3);
	cr_assert_eq(b.len, out.total);
	free(b.p);
}

/* ============================== tags ============================= */

/* tags_ok - parse s, which must give want tags. */
static int
tags_ok(const char *s, struct canon_tag *tags, int want)
{
	const char *why = NULL;
	int n = canon_tags_parse(s, strlen(s), tags, CANON_TAGS_MAX, &why);

	cr_assert_eq(n, want, "\"%s\": %d (%s)", esc(s, strlen(s)), n,
	    why ? why : "-");
	return n;
}

/* tags_fail - parse s, which must fail with err and a reason. */
static void
tags_fail(const char *s, int err)
{
	struct canon_tag tags[CANON_TAGS_MAX];
	const char *why = NULL;
	int n = canon_tags_parse(s, strlen(s), tags, CANON_TAGS_MAX, &why);

	cr_assert_eq(n, err, "\"%s\": got %d", esc(s, strlen(s)), n);
	cr_assert_not_null(why);
	cr_assert_gt(strlen(why), 0);
}

/* expect_tag - t, parsed from s, is name=value with the given span. */
static void
expect_tag(const char *s, const struct canon_tag *t, const char *name,
    const char *value, size_t span_off, size_t span_len)
{
	expect_bytes(t->name, t->name_len, name, strlen(name), "tag name");
	expect_bytes(t->value, t->value_len, value, strlen(value),
	    "tag value");
	cr_assert_eq(t->span_off, span_off, "%s span_off", name);
	cr_assert_eq(t->span_len, span_len, "%s span_len", name);
	cr_assert_eq(s[span_off - 1], '=', "%s span start", name);
}

Test(tags, splits_names_values_and_spans)
{
	static const char s[] = "v=1; a=rsa-sha256;d=example.com";
	struct canon_tag t[CANON_TAGS_MAX];

	tags_ok(s, t, 3);
	expect_tag(s, &t[0], "v", "1", 2, 1);
	expect_tag(s, &t[1], "a", "rsa-sha256", 7, 10);
	expect_tag(s, &t[2], "d", "example.com", 20, 11);
	cr_assert_eq(t[1].name, s + 5);
}

Test(tags, fws_around_name_equals_and_value_is_trimmed)
{
	static const char s[] = " \r\n\tk \t=\r\n  rsa \r\n ;\tp = MIG\r\n Z ";
	struct canon_tag t[CANON_TAGS_MAX];

	tags_ok(s, t, 2);
	expect_tag(s, &t[0], "k", "rsa", 8, 11);
	expect_bytes(s + t[0].span_off, t[0].span_len, "\r\n  rsa \r\n ", 11,
	    "untrimmed span");
	expect_tag(s, &t[1], "p", "MIG\r\n Z", 24, 9);
}

Test(tags, trailing_semicolon_and_space_are_allowed)
{
	struct canon_tag t[CANON_TAGS_MAX];

	tags_ok("v=1;", t, 1);
	tags_ok("v=1; \r\n ", t, 1);
	tags_ok("v=1 ;  ", t, 1);
}

Test(tags, empty_list_has_no_tags)
{
	struct canon_tag t[CANON_TAGS_MAX];

	tags_ok("", t, 0);
	tags_ok(" \t\r\n ", t, 0);
	cr_assert_eq(canon_tags_parse("", 0, NULL, 0, NULL), 0);
}

Test(tags, empty_value_is_allowed)
{
	static const char s[] = "b=; t= ;x=";
	struct canon_tag t[CANON_TAGS_MAX];

	tags_ok(s, t, 3);
	expect_tag(s, &t[0], "b", "", 2, 0);
	expect_tag(s, &t[1], "t", "", 6, 1);
	expect_tag(s, &t[2], "x", "", 10, 0);
}

Test(tags, tag_without_equals_is_rejected)
{
	tags_fail("k=rsa; t; p=MIG", -EINVAL);
	tags_fail("k=rsa; t", -EINVAL);
	tags_fail("k", -EINVAL);
	tags_fail("k rsa=1", -EINVAL);
}

Test(tags, empty_specs_and_bad_names_are_rejected)
{
	tags_fail(";", -EINVAL);
	tags_fail("a=1;;b=2", -EINVAL);
	tags_fail("a=1; ;", -EINVAL);
	tags_fail("=1", -EINVAL);
	tags_fail("a=1; =2", -EINVAL);
	tags_fail("1a=2", -EINVAL);
	tags_fail("_a=2", -EINVAL);
	tags_fail("a-b=2", -EINVAL);
	tags_fail("a.b=2", -EINVAL);
	tags_fail("\xc3\xa9=2", -EINVAL);
}

Test(tags, names_may_hold_digits_and_underscores)
{
	struct canon_tag t[CANON_TAGS_MAX];

	tags_ok("a1_b=x; Z9=y", t, 2);
	cr_assert_eq(t[0].name_len, 4);
	cr_assert_eq(t[1].name_len, 2);
}

Test(tags, duplicate_name_is_eexist)
{
	struct canon_tag t[CANON_TAGS_MAX];
	const char *why = NULL;
	static const char s[] = "a=1; b=2; a=3";

	cr_assert_eq(canon_tags_parse(s, strlen(s), t, CANON_TAGS_MAX, &why),
	    -EEXIST);
	cr_assert_str_eq(why, "duplicate tag");
	tags_ok("a=1; A=2", t, 2);
}

Test(tags, more_than_max_is_e2big)
{
	struct canon_tag t[CANON_TAGS_MAX + 1];
	const char *why = NULL;
	char s[CANON_TAGS_MAX * 8 + 16];
	size_t len = 0;
	int i;

	for (i = 0; i < CANON_TAGS_MAX; i++) {
		len += (size_t)sprintf(s + len, "t%d=%d;", i, i);
	}
	cr_assert_eq(canon_tags_parse(s, len, t, CANON_TAGS_MAX, NULL),
	    CANON_TAGS_MAX);
	len += (size_t)sprintf(s + len, "extra=1");
	cr_assert_eq(canon_tags_parse(s, len, t, CANON_TAGS_MAX, &why),
	    -E2BIG);
	cr_assert_not_null(why);
	cr_assert_eq(canon_tags_parse("a=1;b=2;c=3", 11, t, 2, NULL), -E2BIG);
	cr_assert_eq(canon_tags_parse("a=1", 3, t, 0, NULL), -E2BIG);
}

Test(tags, value_keeps_everything_but_semicolons)
{
	static const char s[] = "h=from : to;z=a=b|c\0d";
	struct canon_tag t[CANON_TAGS_MAX];
	int n;

	n = canon_tags_parse(s, sizeof(s) - 1, t, CANON_TAGS_MAX, NULL);
	cr_assert_eq(n, 2);
	expect_tag(s, &t[0], "h", "from : to", 2, 9);
	expect_bytes(t[1].value, t[1].value_len, "a=b|c\0d", 7, "z value");
}

Test(tags, find_is_case_sensitive)
{
	struct canon_tag t[CANON_TAGS_MAX];
	int n = tags_ok("v=1; V=2; bh=x", t, 3);

	cr_assert_eq(canon_tag_find(t, n, "v"), &t[0]);
	cr_assert_eq(canon_tag_find(t, n, "V"), &t[1]);
	cr_assert_eq(canon_tag_find(t, n, "bh"), &t[2]);
	cr_assert_null(canon_tag_find(t, n, "b"));
	cr_assert_null(canon_tag_find(t, n, "bhx"));
	cr_assert_null(canon_tag_find(t, 0, "v"));
}
