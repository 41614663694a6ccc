/* SPDX-License-Identifier: MIT */
/*
 * body - canonicalize a message body: DKIM simple and relaxed (RFC 6376
 * 3.4.3, 3.4.4) and DomainKeys simple and nofws (RFC 4870 3.4).
 *
 * The body is in memory, so trailing empty lines are found by one scan
 * back from its end and the rest is written in a single forward pass:
 * nothing is buffered or looked ahead.  CRLF text in simple mode goes to
 * the sink in place; relaxed mode transforms bytes straight into the
 * stage, and nofws writes runs through it.  Does not hash; holds no
 * state between calls.
 */
#include "canon/canon_int.h"

/* Output with the l= cut: room is what may still be written. */
struct emit {
	struct canon_out *out;
	uint64_t room;
	uint64_t total;		/* full canonical length so far */
};

/*
 * Bytes that end a relaxed text run: WSP and both halves of a line
 * break.  Everything else, NUL and 8-bit bytes included, is text.
 */
static const unsigned char relaxed_stop[256] = {
	['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1,
};

/* emit - count p[0..n) and write as much of it as the limit allows. */
static inline void
emit(struct emit *e, const void *p, size_t n)
{
	e->total += n;
	if (e->room == 0) {
		return;
	}
	if (n > e->room) {
		n = (size_t)e->room;
	}
	canon_out_write(e->out, p, n);
	e->room -= n;
}

/*
 * trim_breaks - length of b[0..n) without its trailing line breaks,
 * i.e. without the trailing empty lines and the last line's end.
 */
static size_t
trim_breaks(const char *b, size_t n)
{
	while (n > 0 && b[n - 1] == '\n') {
		n--;
		if (n > 0 && b[n - 1] == '\r') {
			n--;
		}
	}
	return n;
}

/*
 * trim_relaxed - as trim_breaks(), but WSP goes too, because a line of
 * WSP is empty once the WSP at its end is removed.  A CR not before an
 * LF is text and stops the scan.
 */
static size_t
trim_relaxed(const char *b, size_t n)
{
	while (n > 0) {
		char c = b[n - 1];

		if (c == '\n') {
			n--;
			if (n > 0 && b[n - 1] == '\r') {
				n--;
			}
		} else if (c == ' ' || c == '\t') {
			n--;
		} else {
			break;
		}
	}
	return n;
}

/* trim_nofws - as trim_breaks(), but nofws removes SP, HTAB and CR too. */
static size_t
trim_nofws(const char *b, size_t n)
{
	while (n > 0) {
		char c = b[n - 1];

		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			break;
		}
		n--;
	}
	return n;
}

/*
 * body_simple - write b[0..n), which ends in no line break, with each
 * bare LF as CRLF, then the final CRLF.  CRLF lines accumulate into one
 * span that reaches the sink uncopied.
 */
static void
body_simple(struct emit *e, const char *b, size_t n)
{
	const char *p = b, *start = b, *end = b + n, *lf;

	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (lf == b || lf[-1] != '\r') {
			emit(e, start, (size_t)(lf - start));
			emit(e, "\r\n", 2);
			start = lf + 1;
		}
		p = lf + 1;
	}
	emit(e, start, (size_t)(end - start));
	emit(e, "\r\n", 2);
}

/*
 * wsp_run_end - the end of the SP/HTAB run starting at p, and whether a
 * line break (or the end) follows it, in which case relaxed drops it.
 */
static const unsigned char *
wsp_run_end(const unsigned char *p, const unsigned char *end, bool *drop)
{
	while (p < end && (*p == ' ' || *p == '\t')) {
		p++;
	}
	*drop = p == end || *p == '\n' ||
	    (*p == '\r' && p + 1 < end && p[1] == '\n');
	return p;
}

/*
 * body_relaxed - write b[0..n), which ends in text, with WSP runs as one
 * SP, WSP before a line break dropped and every line break as CRLF; then
 * the final CRLF.
 *
 * Most of a body is already canonical: text, single spaces between
 * words, CRLF after text.  Such runs are found with one table lookup a
 * byte and handed on as spans of b, so a long clean run reaches the
 * sink uncopied; only the places that change (WSP runs, HTAB, WSP at a
 * line end, bare LF) are written piecewise.
 */
static void
body_relaxed(struct emit *e, const char *b, size_t n)
{
	const unsigned char *p = (const unsigned char *)b, *end = p + n;
	const unsigned char *start = p;
	bool drop;

	while (p < end) {
		unsigned char c = *p;

		if (!relaxed_stop[c]) {
			p++;
			continue;
		}
		if (c == ' ' && p + 1 < end && !relaxed_stop[p[1]]) {
			p += 2;
			continue;
		}
		if (c == '\r' && p + 1 < end && p[1] == '\n') {
			/* Only text or a line start precede a kept CRLF. */
			p += 2;
			continue;
		}
		emit(e, start, (size_t)(p - start));
		if (c == ' ' || c == '\t') {
			p = wsp_run_end(p, end, &drop);
			if (!drop) {
				emit(e, " ", 1);
			}
		} else if (c == '\n') {
			emit(e, "\r\n", 2);
			p++;
		} else {
			/* A CR before no LF is text; it starts the next run. */
			start = p++;
			continue;
		}
		start = p;
	}
	emit(e, start, (size_t)(end - start));
	emit(e, "\r\n", 2);
}

/*
 * body_nofws - write b[0..n), which ends in text, without SP, HTAB or
 * CR and with each LF as CRLF; then the final CRLF.
 */
static void
body_nofws(struct emit *e, const char *b, size_t n)
{
	const char *p = b, *end = b + n;

	while (p < end) {
		const char *q = p;

		while (q < end && !relaxed_stop[(unsigned char)*q]) {
			q++;
		}
		emit(e, p, (size_t)(q - p));
		if (q < end && *q == '\n') {
			emit(e, "\r\n", 2);
		}
		p = q < end ? q + 1 : q;
	}
	emit(e, "\r\n", 2);
}

/* canon_body - canonicalize body[0..len) in mode, at most limit bytes. */
uint64_t
canon_body(enum canon_mode mode, const char *body, size_t len,
    uint64_t limit, struct canon_out *out)
{
	struct emit e = { .out = out, .room = limit, .total = 0 };
	size_t n;

	switch (mode) {
	case CANON_SIMPLE:
		/* An empty body is a single CRLF (RFC 6376 3.4.3). */
		body_simple(&e, body, trim_breaks(body, len));
		break;
	case CANON_RELAXED:
		n = trim_relaxed(body, len);
		if (n > 0) {
			body_relaxed(&e, body, n);
		}
		break;

	/*
	 * RFC 4870 3.4: when the body is only empty lines, the empty line
	 * that ends the header is dropped as well, so the DomainKeys modes
	 * write that CRLF themselves, ahead of a non-empty body.
	 */
	case CANON_DK_SIMPLE:
		n = trim_breaks(body, len);
		if (n > 0) {
			emit(&e, "\r\n", 2);
			body_simple(&e, body, n);
		}
		break;
	case CANON_DK_NOFWS:
		n = trim_nofws(body, len);
		if (n > 0) {
			emit(&e, "\r\n", 2);
			body_nofws(&e, body, n);
		}
		break;
	}
	return e.total;
}
