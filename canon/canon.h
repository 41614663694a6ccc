/* SPDX-License-Identifier: MIT */
/*
 * canon - message framing and canonicalization, the public contract.
 *
 * A message is parsed once into header-field slices that point into the
 * caller's buffer; nothing is copied.  Canonicalization (DKIM simple and
 * relaxed, DomainKeys simple and nofws) streams its output through a small
 * staging buffer into a sink, normally a digest, so no canonical copy of
 * the message is ever built.  Bare LF line endings are read as CRLF.
 * The module also holds the tag=value list parser that DKIM signatures,
 * DomainKeys signatures and key records share.
 *
 * Does not hash, sign or fetch keys: see crypto/ and dns/.  All functions
 * are reentrant; a struct canon_msg or canon_out belongs to one thread.
 */
#ifndef DKIMQ_CANON_H
#define DKIMQ_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One header field, as a slice of the message buffer. */
struct canon_field {
	const char *raw;	/* first byte of the field name */
	size_t raw_len;		/* up to, not including, the final EOL */
	size_t name_len;	/* name without WSP before ':'; 0: none */
	size_t colon;		/* offset of ':' in raw; raw_len if none */
};

/*
 * A parsed message.  Fields are private to canon_msg_parse() except as
 * documented here; the buffer stays owned by the caller and must outlive
 * the struct.
 */
struct canon_msg {
	const char *buf;	/* borrowed message bytes */
	size_t len;
	struct canon_field *fields;	/* header fields, top to bottom */
	size_t nfields;
	size_t fields_cap;	/* private: allocated slots */
	size_t body_off;	/* first body byte; len when there is none */
	bool has_body;		/* an empty line ended the header */
	bool crlf;		/* first line ended in CRLF (else LF) */
};

/* canon_msg_init - zero m so that canon_msg_parse() may (re)use it. */
void canon_msg_init(struct canon_msg *m);

/*
 * canon_msg_parse - frame buf[0..len) into header fields and body.
 *
 * buf is borrowed and must stay valid while m is used.  A header field
 * runs over continuation lines that begin with SP or HTAB; the header
 * ends at the first empty line (CRLF or bare LF), or at the end of buf
 * when there is none (then has_body is false and body_off == len).  A
 * line without a colon becomes a field with name_len 0 that no header
 * name ever matches.  NUL and 8-bit bytes are ordinary bytes.  m's field
 * array is reused across calls and grows as needed.
 *
 * Returns 0, or -ENOMEM (m then holds no fields).  Does not block.
 */
int canon_msg_parse(struct canon_msg *m, const char *buf, size_t len);

/* canon_msg_free - release m's field array; m may be parsed again. */
void canon_msg_free(struct canon_msg *m);

/*
 * canon_field_is - whether field f is named name (ASCII
 * case-insensitive).
 */
bool canon_field_is(const struct canon_field *f, const char *name,
    size_t name_len);

/*
 * canon_find_last - index of the last field named name below index
 * before (exclusive; pass m->nfields to search all), or -1.
 */
long canon_find_last(const struct canon_msg *m, const char *name,
    size_t name_len, size_t before);

enum canon_mode {
	CANON_SIMPLE,		/* RFC 6376 3.4.1 and 3.4.3 */
	CANON_RELAXED,		/* RFC 6376 3.4.2 and 3.4.4 */
	CANON_DK_SIMPLE,	/* RFC 4870 3.4.1 */
	CANON_DK_NOFWS,		/* RFC 4870 3.4.2 */
};

/* A sink receives canonical bytes, for example crypto_md_sink(). */
typedef void (*canon_sink_fn)(void *arg, const void *data, size_t len);

#define CANON_STAGE_SIZE 4096

/*
 * Output staging.  Short pieces are gathered here; spans longer than a
 * quarter of the stage go to the sink directly, so that a CRLF body in
 * simple mode reaches the digest without any copy.  Fields are private.
 */
struct canon_out {
	canon_sink_fn sink;
	void *arg;
	size_t fill;
	uint64_t total;		/* bytes delivered so far, flushed or not */
	unsigned char stage[CANON_STAGE_SIZE];
};

/* canon_out_init - direct out to sink(arg, ...). */
void canon_out_init(struct canon_out *out, canon_sink_fn sink, void *arg);

/* canon_out_flush - hand staged bytes to the sink. */
void canon_out_flush(struct canon_out *out);

/*
 * canon_header - canonicalize field f in mode and write it to out.
 *
 * The raw bytes [hole_off, hole_off + hole_len) of f are left out, which
 * is how the b= value of the signature being made or checked is
 * removed; pass hole_len 0 for none.  When eol is true the field is
 * followed by CRLF, as every signed field is but the signature itself.
 *
 * Simple keeps the field as it is (bare LF becomes CRLF).  Relaxed
 * lowercases the name, unfolds, turns each WSP run into one SP and trims
 * WSP at both ends of the value and before the colon; a CR that starts
 * no line break is kept as text, and a field without a colon is
 * canonicalized as a name alone.  DomainKeys simple is DKIM simple;
 * nofws drops every SP, HTAB, CR and LF and keeps the name's case.
 *
 * The result is that of the field with the hole cut out, except that
 * in relaxed mode the colon is written even if the hole covers it (a
 * hole should lie in the value).  f is borrowed.
 */
void canon_header(enum canon_mode mode, const struct canon_field *f,
    size_t hole_off, size_t hole_len, bool eol, struct canon_out *out);

/* Pass as limit to canon_body() for no l= limit. */
#define CANON_NO_LIMIT UINT64_MAX

/*
 * canon_body - canonicalize body[0..len) in mode and write at most limit
 * bytes of the result to out.
 *
 * Simple: trailing empty lines removed, a final CRLF ensured; an empty
 * body is one CRLF.  Relaxed: WSP at line ends removed, WSP runs become
 * one SP, trailing empty lines removed (a line of only WSP is empty);
 * an empty body stays empty.  DomainKeys simple and nofws per RFC 4870
 * (nofws drops every SP, HTAB and CR; both drop trailing empty lines).
 * Bare LF counts as CRLF.  A body not ending in a line break is treated
 * as if it did.
 *
 * The DomainKeys modes also write the CRLF of the empty line that ends
 * the header, first, because RFC 4870 3.4 drops that line too when the
 * body is only empty lines: the caller writes the last header field
 * with its CRLF and then calls canon_body(), whether or not the message
 * has a body.  DomainKeys output is thus empty or starts with CRLF.
 *
 * body is borrowed.  Returns the full canonical length, which may exceed
 * what was written when limit is smaller.  Does not flush out.
 */
uint64_t canon_body(enum canon_mode mode, const char *body, size_t len,
    uint64_t limit, struct canon_out *out);

/* One tag of a tag=value list (RFC 6376 3.2), as slices of the input. */
struct canon_tag {
	const char *name;
	size_t name_len;
	const char *value;	/* trimmed of surrounding FWS */
	size_t value_len;
	size_t span_off;	/* offset in the input just after '=' */
	size_t span_len;	/* from there up to ';' or the end */
};

#define CANON_TAGS_MAX 64

/*
 * canon_tags_parse - split s[0..n) into at most max tags.
 *
 * The grammar is tag-list = tag-spec *( ";" tag-spec ) [ ";" ], tag-spec
 * = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS], with tag-name ALPHA
 * *(ALPHA / DIGIT / "_").  An empty list, or an empty spec after the last
 * ";", is allowed.  Values are not checked beyond that.
 *
 * Returns the number of tags; -EINVAL for a syntax error, -EEXIST for a
 * tag named twice, -E2BIG for more than max.  On error *why (if why is
 * not NULL) points to a static one-line description.
 */
int canon_tags_parse(const char *s, size_t n, struct canon_tag *tags,
    size_t max, const char **why);

/*
 * canon_tag_find - the tag named name (case-sensitive, as RFC 6376 says)
 * among tags[0..ntags), or NULL.
 */
const struct canon_tag *canon_tag_find(const struct canon_tag *tags,
    int ntags, const char *name);

#endif
