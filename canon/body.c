/* SPDX-License-Identifier: MIT */
/*
 * body - canonicalize a message body: DKIM simple and relaxed (RFC 6376
 * 3.4.3, 3.4.4) and DomainKeys simple and nofws (RFC 4870 3.4).
 *
 * The body is in memory, so trailing empty lines are found by one scan
 * back from its end and the rest is written in a single forward pass
 * that looks at most one byte ahead.  CRLF text in simple mode goes to
 * the sink in place; relaxed mode finds the few bytes that change 64 at
 * a time (SSE2 where the compiler has it, plain C elsewhere) and hands
 * the clean runs between them on in place; nofws writes runs through
 * the stage.  Does not hash; holds no state between calls.
 */
#include "canon/canon_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
 * The relaxed block scan.  A byte of the trimmed body is bad, that is,
 * it is not passed on as it is, when it is
 *   - HTAB, which becomes SP or goes;
 *   - SP before SP, HTAB, CR, LF or the end: a WSP run to squeeze, or
 *     WSP before a line break to drop; or
 *   - LF after no CR, a bare LF to write as CRLF.
 * A CR before no LF is text, and a CRLF after text is kept, so neither
 * is bad.  Every WSP run that changes starts with a bad byte, and
 * whether a byte is bad depends on the input alone, not on what was
 * written before it.
 */
#define RELAXED_BLOCK 64

/* Bit i of each mask stands for byte i of a block. */
struct relaxed_class {
	uint64_t sp;
	uint64_t tab;
	uint64_t cr;
	uint64_t lf;
};

#if defined(__SSE2__)
/* relaxed_classify - fill k from p[0..64), 16 bytes to a compare. */
static inline void
relaxed_classify(const unsigned char *p, struct relaxed_class *k)
{
	const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	int i;

	k->sp = k->tab = k->cr = k->lf = 0;
	for (i = 0; i < RELAXED_BLOCK; i += 16) {
		__m128i v = _mm_loadu_si128((const void *)(p + i));

		k->sp |= (uint64_t)(unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(v, sp)) << i;
		k->tab |= (uint64_t)(unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(v, tab)) << i;
		k->cr |= (uint64_t)(unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(v, cr)) << i;
		k->lf |= (uint64_t)(unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(v, lf)) << i;
	}
}
#else
/* relaxed_classify - fill k from p[0..64), a byte at a time. */
static inline void
relaxed_classify(const unsigned char *p, struct relaxed_class *k)
{
	int i;

	k->sp = k->tab = k->cr = k->lf = 0;
	for (i = 0; i < RELAXED_BLOCK; i++) {
		k->sp |= (uint64_t)(p[i] == ' ') << i;
		k->tab |= (uint64_t)(p[i] == '\t') << i;
		k->cr |= (uint64_t)(p[i] == '\r') << i;
		k->lf |= (uint64_t)(p[i] == '\n') << i;
	}
}
#endif

/*
 * relaxed_bad - the mask of the bad bytes of p[0..64), all of which are
 * read.  cr_before: the byte before p[0] is CR; stop_after: the byte
 * after p[63] is SP, HTAB, CR or LF, or is the end.
 */
static inline uint64_t
relaxed_bad(const unsigned char *p, bool cr_before, bool stop_after)
{
	struct relaxed_class k;
	uint64_t stop, stop_next, cr_prev;

	relaxed_classify(p, &k);
	stop = k.sp | k.tab | k.cr | k.lf;
	stop_next = stop >> 1 | (uint64_t)stop_after << 63;
	cr_prev = k.cr << 1 | (uint64_t)cr_before;
	return k.tab | (k.sp & stop_next) | (k.lf & ~cr_prev);
}

/*
 * relaxed_block - the mask of the bad bytes among the 64 from p, a
 * position in b[0..end), or the fewer left there.  Reads b[0..end)
 * only: a short block is copied into SP padding first, which is as good
 * as the end for an SP before it, and bytes past the end are never bad.
 */
static inline uint64_t
relaxed_block(const unsigned char *b, const unsigned char *p,
    const unsigned char *end)
{
	size_t left = (size_t)(end - p);
	bool cr_before = p > b && p[-1] == '\r';
	unsigned char pad[RELAXED_BLOCK];

	if (left > RELAXED_BLOCK) {
		return relaxed_bad(p, cr_before,
		    relaxed_stop[p[RELAXED_BLOCK]]);
	}
	if (left == RELAXED_BLOCK) {
		return relaxed_bad(p, cr_before, true);
	}
	memset(pad, ' ', sizeof(pad));
	memcpy(pad, p, left);
	return relaxed_bad(pad, cr_before, true) &
	    (((uint64_t)1 << left) - 1);
}

/*
 * relaxed_fix - write what the bad byte at p becomes and return the
 * first byte after what it covers: a WSP run, written as one SP unless
 * a line break or the end follows; or a bare LF, written as CRLF.
 */
static const unsigned char *
relaxed_fix(struct emit *e, const unsigned char *p,
    const unsigned char *end)
{
	bool drop;

	if (*p == '\n') {
		emit(e, "\r\n", 2);
		return p + 1;
	}
	p = wsp_run_end(p, end, &drop);
	if (!drop) {
		emit(e, " ", 1);
	}
	return p;
}

/*
 * body_relaxed - write b[0..n), which ends in text, with WSP runs as one
 * SP, WSP before a line break dropped and every line break as CRLF; then
 * the final CRLF.
 *
 * Most of a body is already canonical: text, single spaces between
 * words, CRLF after text.  So the bad bytes of a 64-byte block are found
 * at once, and a block without any is passed over whole; clean text
 * accumulates into spans of b that reach the sink uncopied when long.
 * Each bad byte, lowest first, ends the span and is fixed; the mask
 * then goes on above the fix, or a new block starts where a WSP run
 * that crossed the block's end stopped.
 */
static void
body_relaxed(struct emit *e, const char *b, size_t n)
{
	const unsigned char *base = (const unsigned char *)b;
	const unsigned char *p = base, *end = base + n, *start = base;

	while (p < end) {
		const unsigned char *blk = p;
		uint64_t bad = relaxed_block(base, blk, end);

		p = (size_t)(end - blk) > RELAXED_BLOCK ?
		    blk + RELAXED_BLOCK : end;
		while (bad != 0) {
			const unsigned char *q = blk + __builtin_ctzll(bad);
			size_t done;

			emit(e, start, (size_t)(q - start));
			start = relaxed_fix(e, q, end);
			done = (size_t)(start - blk);
			if (done >= RELAXED_BLOCK) {
				p = start;
				break;
			}
			bad &= ~(uint64_t)0 << done;
		}
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
