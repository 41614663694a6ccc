/* SPDX-License-Identifier: MIT */
/*
 * msg - frame a message into header-field slices and a body offset.
 *
 * One pass with memchr() over the line ends; fields point into the
 * caller's buffer and nothing is copied.  Lines end in LF with an
 * optional CR before it.  Does not interpret field values, unfold or
 * check RFC 5322 syntax: a line without a colon is kept as a nameless
 * field so that the signed byte stream stays exactly what was received.
 * The field array is owned by the struct canon_msg and its thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "canon/canon_int.h"

#define MSG_FIELDS_MIN 32

/* canon_msg_init - zero m so that canon_msg_parse() may (re)use it. */
void
canon_msg_init(struct canon_msg *m)
{
	memset(m, 0, sizeof(*m));
}

/* canon_msg_free - release m's field array; m may be parsed again. */
void
canon_msg_free(struct canon_msg *m)
{
	free(m->fields);
	m->fields = NULL;
	m->nfields = 0;
	m->fields_cap = 0;
}

/*
 * msg_grow - make room for one more field.  Returns 0 or -ENOMEM; the
 * old array stays valid on failure.
 */
static int
msg_grow(struct canon_msg *m)
{
	struct canon_field *nf;
	size_t cap;

	if (m->nfields < m->fields_cap) {
		return 0;
	}
	cap = m->fields_cap ? m->fields_cap * 2 : MSG_FIELDS_MIN;
	nf = reallocarray(m->fields, cap, sizeof(*nf));
	if (nf == NULL) {
		return -ENOMEM;
	}
	m->fields = nf;
	m->fields_cap = cap;
	return 0;
}

/*
 * msg_field_start - fill f for a field whose first line is
 * line[0..len), without its line end.
 */
static void
msg_field_start(struct canon_field *f, const char *line, size_t len)
{
	const char *colon;
	size_t n;

	f->raw = line;
	f->raw_len = len;

	/* RFC 5322 puts the colon on the first line; obs-syntax allows WSP
	 * before it, which is not part of the name. */
	colon = memchr(line, ':', len);
	if (colon == NULL) {
		f->name_len = 0;
		f->colon = len;
		return;
	}
	f->colon = (size_t)(colon - line);
	n = f->colon;
	while (n > 0 && canon_is_wsp((unsigned char)line[n - 1])) {
		n--;
	}
	f->name_len = n;
}

/* canon_msg_parse - frame buf[0..len) into header fields and body. */
int
canon_msg_parse(struct canon_msg *m, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	struct canon_field *f;
	bool in_field = false;

	m->buf = buf;
	m->len = len;
	m->nfields = 0;
	m->body_off = len;
	m->has_body = false;
	m->crlf = false;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		const char *next = lf ? lf + 1 : end;
		const char *cend = lf ? lf : end;

		if (lf != NULL && lf > p && lf[-1] == '\r') {
			cend = lf - 1;
		}
		if (p == buf) {
			m->crlf = lf != NULL && cend != lf;
		}

		/* An empty line (it always has its LF) ends the header. */
		if (cend == p) {
			m->has_body = true;
			m->body_off = (size_t)(next - buf);
			break;
		}

		/* A line led by WSP continues the field above it; raw then
		 * takes in the line break before it. */
		if (in_field && (*p == ' ' || *p == '\t')) {
			bool nameless;

			f = &m->fields[m->nfields - 1];
			nameless = f->colon == f->raw_len;
			f->raw_len = (size_t)(cend - f->raw);
			if (nameless) {
				f->colon = f->raw_len;
			}
		} else {
			if (msg_grow(m) < 0) {
				m->nfields = 0;
				return -ENOMEM;
			}
			f = &m->fields[m->nfields++];
			msg_field_start(f, p, (size_t)(cend - p));
			in_field = true;
		}
		p = next;
	}
	return 0;
}

/* canon_field_is - whether field f is named name (ASCII case-insensitive). */
bool
canon_field_is(const struct canon_field *f, const char *name,
    size_t name_len)
{
	size_t i;

	if (f->name_len == 0 || f->name_len != name_len) {
		return false;
	}

	/* Not strncasecmp(): names may hold NUL bytes, and the locale
	 * must not matter. */
	for (i = 0; i < name_len; i++) {
		unsigned char a = (unsigned char)f->raw[i];
		unsigned char b = (unsigned char)name[i];

		if (a >= 'A' && a <= 'Z') {
			a += 'a' - 'A';
		}
		if (b >= 'A' && b <= 'Z') {
			b += 'a' - 'A';
		}
		if (a != b) {
			return false;
		}
	}
	return true;
}

/* canon_find_last - index of the last field named name below before. */
long
canon_find_last(const struct canon_msg *m, const char *name,
    size_t name_len, size_t before)
{
	size_t i = before < m->nfields ? before : m->nfields;

	while (i > 0) {
		i--;
		if (canon_field_is(&m->fields[i], name, name_len)) {
			return (long)i;
		}
	}
	return -1;
}
