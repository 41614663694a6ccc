// SPDX-License-Identifier: MIT
/*
 * hsel - which header fields a signature covers, in which order.
 *
 * DKIM (RFC 6376 5.4.2): h= is read left to right; each name takes the
 * bottom-most instance not yet taken, and a name with no instance left
 * contributes nothing.  DomainKeys (RFC 4870 3.3, 3.5): only fields
 * below the signature count; without h= all of them in order, with h=
 * each name listed once takes all its instances in message order, and a
 * name listed several times takes one instance per entry, the last
 * entry the bottom-most.  Both walk the h= text in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim_int.h"
#include "dkim/hsel.h"

/* next_name - the next name of a colon list, trimmed; false at end */
bool
dkim_hlist_next(const char **p, const char *end, const char **name,
    size_t *len)
{
	const char *s = *p;
	const char *e;

	while (s < end) {
		while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' ||
		    *s == '\n' || *s == ':')) {
			s++;
		}
		e = s;
		while (e < end && *e != ':') {
			e++;
		}
		*p = e;
		*len = (size_t)(e - s);
		while (*len > 0 && strchr(" \t\r\n", s[*len - 1]) != NULL) {
			(*len)--;
		}
		if (*len > 0) {
			*name = s;
			return true;
		}
		s = e;
	}
	*p = end;
	return false;
}

/* dkim_hsel_dkim - feed DKIM-selected fields to out */
int
dkim_hsel_dkim(const struct canon_msg *m, const char *h, size_t hlen,
    enum canon_mode mode, struct canon_out *out)
{
	struct cursor {
		const char *name;
		size_t len;
		size_t before;
	} small[32], *cur = small;
	size_t ncur = 0, cap = 32;
	const char *p = h, *end = h + hlen, *name;
	size_t len;

	while (dkim_hlist_next(&p, end, &name, &len)) {
		struct cursor *c = NULL;
		long i;

		for (size_t k = 0; k < ncur; k++) {
			if (cur[k].len == len &&
			    strncasecmp(cur[k].name, name, len) == 0) {
				c = &cur[k];
				break;
			}
		}
		if (c == NULL) {
			if (ncur == cap) {
				struct cursor *n = malloc(2 * cap * sizeof(*n));

				if (n == NULL) {
					if (cur != small) {
						free(cur);
					}
					return -ENOMEM;
				}
				memcpy(n, cur, ncur * sizeof(*n));
				if (cur != small) {
					free(cur);
				}
				cur = n;
				cap *= 2;
			}
			c = &cur[ncur++];
			c->name = name;
			c->len = len;
			c->before = m->nfields;
		}
		i = canon_find_last(m, name, len, c->before);
		if (i < 0) {
			c->before = 0;
			continue;
		}
		c->before = (size_t)i;
		canon_header(mode, &m->fields[i], 0, 0, true, out);
	}
	if (cur != small) {
		free(cur);
	}
	return 0;
}

/* count_names - entries of name in the h= list */
static size_t
count_names(const char *h, size_t hlen, const char *name, size_t len)
{
	const char *p = h, *end = h + hlen, *n;
	size_t l, c = 0;

	while (dkim_hlist_next(&p, end, &n, &l)) {
		if (l == len && strncasecmp(n, name, len) == 0) {
			c++;
		}
	}
	return c;
}

/* dkim_hsel_dk - feed DomainKeys-selected fields below sig to out */
void
dkim_hsel_dk(const struct canon_msg *m, size_t sig, const char *h,
    size_t hlen, enum canon_mode mode, const char **from,
    size_t *from_len, const char **sender, size_t *sender_len,
    struct canon_out *out)
{
	const char *p = h, *end = h + hlen, *name;
	size_t len;

	*from = *sender = NULL;
	if (h == NULL) {
		for (size_t i = sig + 1; i < m->nfields; i++) {
			dkim_hsel_note(&m->fields[i], from, from_len, sender,
			    sender_len);
			canon_header(mode, &m->fields[i], 0, 0, true, out);
		}
		return;
	}
	while (dkim_hlist_next(&p, end, &name, &len)) {
		size_t entries = count_names(h, hlen, name, len);
		size_t seen = count_names(h, (size_t)(p - h), name, len);
		size_t inst = 0, want;

		for (size_t i = sig + 1; i < m->nfields; i++) {
			inst += canon_field_is(&m->fields[i], name, len);
		}
		/*
		 * One entry takes every instance; entry k of n takes the
		 * instance n - k from the bottom.
		 */
		want = entries == 1 ? 0 : inst - (entries - seen) - 1;
		if (entries > 1 && inst < entries - seen + 1) {
			continue;
		}
		for (size_t i = sig + 1, k = 0; i < m->nfields; i++) {
			const struct canon_field *f = &m->fields[i];

			if (!canon_field_is(f, name, len)) {
				continue;
			}
			if (entries == 1 || k == want) {
				dkim_hsel_note(f, from, from_len, sender,
				    sender_len);
				canon_header(mode, f, 0, 0, true, out);
			}
			k++;
		}
	}
}

/* dkim_hsel_note - remember the value of a signed From or Sender */
void
dkim_hsel_note(const struct canon_field *f, const char **from,
    size_t *from_len, const char **sender, size_t *sender_len)
{
	size_t vlen;
	const char *v = dkim_field_value(f, &vlen);

	if (v == NULL) {
		return;
	}
	if (canon_field_is(f, "from", 4)) {
		*from = v;
		*from_len = vlen;
	} else if (canon_field_is(f, "sender", 6)) {
		*sender = v;
		*sender_len = vlen;
	}
}
