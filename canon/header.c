/* SPDX-License-Identifier: MIT */
/*
 * header - canonicalize one header field: DKIM simple and relaxed (RFC
 * 6376 3.4.1, 3.4.2) and DomainKeys simple and nofws (RFC 4870 3.4).
 *
 * Works on the slice that canon_msg_parse() made, minus an optional hole
 * (the b= value being signed or checked), and writes through the stage
 * of a struct canon_out.  Does not pick which fields are signed or in
 * what order: that is dkim/.  Holds no state between calls.
 */
#include "canon/canon_int.h"

/* A piece of the field's raw bytes that survives the hole. */
struct span {
	size_t off;
	size_t len;
};

/*
 * Relaxed state, carried across the pieces on either side of a hole.
 * A CR is held back (pend_cr) until the next byte shows whether it
 * starts a line break, which unfolding drops, or is an ordinary byte.
 */
struct relaxed {
	struct canon_out *out;
	bool lower;		/* lowercase A-Z: we are in the name */
	bool started;		/* a non-WSP byte was written */
	bool pend_sp;		/* a WSP run is waiting for more text */
	bool pend_cr;
};

/*
 * header_spans - split raw[a..b) around the hole [lo, hi) into at most
 * two spans.  Returns how many of sp[] it filled.
 */
static int
header_spans(size_t a, size_t b, size_t lo, size_t hi, struct span sp[2])
{
	int n = 0;
	size_t e;

	e = b < lo ? b : lo;
	if (a < e) {
		sp[n].off = a;
		sp[n].len = e - a;
		n++;
	}
	e = a > hi ? a : hi;
	if (e < b) {
		sp[n].off = e;
		sp[n].len = b - e;
		n++;
	}
	return n;
}

/*
 * simple_span - write p[0..n) as it is except that an LF without a CR
 * before it becomes CRLF.  *prev is the byte written last (0 at first)
 * and is updated, so that a hole between CR and LF is no special case.
 */
static void
simple_span(struct canon_out *out, const char *p, size_t n,
    unsigned char *prev)
{
	const char *s0 = p, *start = p, *end = p + n, *lf;

	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		unsigned char before = lf > s0 ? (unsigned char)lf[-1] : *prev;

		if (before != '\r') {
			canon_out_write(out, start, (size_t)(lf - start));
			canon_out_write(out, "\r\n", 2);
			start = lf + 1;
		}
		p = lf + 1;
	}
	canon_out_write(out, start, (size_t)(end - start));
	if (n > 0) {
		*prev = (unsigned char)end[-1];
	}
}

/* header_simple - RFC 6376 3.4.1 and RFC 4870 3.4.1: no change. */
static void
header_simple(const struct canon_field *f, struct span *sp, int nsp,
    struct canon_out *out)
{
	unsigned char prev = 0;
	int i;

	for (i = 0; i < nsp; i++) {
		simple_span(out, f->raw + sp[i].off, sp[i].len, &prev);
	}
}

/* relaxed_put - write the text byte c after any pending SP. */
static void
relaxed_put(struct relaxed *r, unsigned char c)
{
	if (r->pend_sp) {
		canon_out_putc(r->out, ' ');
		r->pend_sp = false;
	}
	if (r->lower && c >= 'A' && c <= 'Z') {
		c += 'a' - 'A';
	}
	canon_out_putc(r->out, c);
	r->started = true;
}

/*
 * relaxed_bytes - feed p[0..n): line breaks (CRLF or LF) vanish, WSP
 * runs shrink to one SP written only if text follows, and WSP before the
 * first text byte is dropped.
 */
static void
relaxed_bytes(struct relaxed *r, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (r->pend_cr) {
			r->pend_cr = false;
			if (c == '\n') {
				continue;
			}
			relaxed_put(r, '\r');
		}
		if (c == '\r') {
			r->pend_cr = true;
		} else if (c == ' ' || c == '\t') {
			r->pend_sp = r->started;
		} else if (c != '\n') {
			relaxed_put(r, c);
		}
	}
}

/* relaxed_end - finish a name or value: a held CR is text, WSP is not. */
static void
relaxed_end(struct relaxed *r)
{
	if (r->pend_cr) {
		r->pend_cr = false;
		relaxed_put(r, '\r');
	}
	r->pend_sp = false;
}

/*
 * header_relaxed - RFC 6376 3.4.2: "name:value" with the name lowercased,
 * the field unfolded, WSP runs as one SP and no WSP around the colon or
 * at the end.  A field without a colon is all name.
 */
static void
header_relaxed(const struct canon_field *f, size_t lo, size_t hi,
    struct canon_out *out)
{
	struct relaxed r = { .out = out, .lower = true };
	struct span sp[2];
	int i, n;

	n = header_spans(0, f->colon, lo, hi, sp);
	for (i = 0; i < n; i++) {
		relaxed_bytes(&r, (const unsigned char *)f->raw + sp[i].off,
		    sp[i].len);
	}
	relaxed_end(&r);
	if (f->colon >= f->raw_len) {
		return;
	}

	canon_out_putc(out, ':');
	r.lower = false;
	r.started = false;
	n = header_spans(f->colon + 1, f->raw_len, lo, hi, sp);
	for (i = 0; i < n; i++) {
		relaxed_bytes(&r, (const unsigned char *)f->raw + sp[i].off,
		    sp[i].len);
	}
	relaxed_end(&r);
}

/* header_nofws - RFC 4870 3.4.2: drop every SP, HTAB, CR and LF. */
static void
header_nofws(const struct canon_field *f, struct span *sp, int nsp,
    struct canon_out *out)
{
	int i;

	for (i = 0; i < nsp; i++) {
		const char *p = f->raw + sp[i].off;
		const char *end = p + sp[i].len;

		while (p < end) {
			const char *q = p;

			while (q < end && *q != ' ' && *q != '\t' &&
			    *q != '\r' && *q != '\n') {
				q++;
			}
			canon_out_write(out, p, (size_t)(q - p));
			p = q < end ? q + 1 : q;
		}
	}
}

/* canon_header - canonicalize field f in mode and write it to out. */
void
canon_header(enum canon_mode mode, const struct canon_field *f,
    size_t hole_off, size_t hole_len, bool eol, struct canon_out *out)
{
	struct span sp[2];
	size_t lo, hi;
	int nsp;

	/* A hole reaching past the field is cut to the field. */
	lo = hole_off < f->raw_len ? hole_off : f->raw_len;
	hi = hole_len < f->raw_len - lo ? lo + hole_len : f->raw_len;
	nsp = header_spans(0, f->raw_len, lo, hi, sp);

	switch (mode) {
	case CANON_SIMPLE:
	case CANON_DK_SIMPLE:
		header_simple(f, sp, nsp, out);
		break;
	case CANON_RELAXED:
		header_relaxed(f, lo, hi, out);
		break;
	case CANON_DK_NOFWS:
		header_nofws(f, sp, nsp, out);
		break;
	}
	if (eol) {
		canon_out_write(out, "\r\n", 2);
	}
}
