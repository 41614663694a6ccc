// SPDX-License-Identifier: MIT
/*
 * addr - just enough RFC 5322 address parsing to find the author's or
 * sender's domain: angle addresses, bare addr-specs, comments and
 * quoted local parts.  Not a validator: a value it cannot read yields
 * -ENOENT and the caller decides.  Limitations: group syntax is read as
 * text, so "list: a@b;" yields a@b.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim_int.h"

/* dkim_field_value - bytes after the colon */
const char *
dkim_field_value(const struct canon_field *f, size_t *len)
{
	if (f->colon >= f->raw_len) {
		*len = 0;
		return NULL;
	}
	*len = f->raw_len - f->colon - 1;
	return f->raw + f->colon + 1;
}

/* dkim_copy_nofws - copy without whitespace */
int
dkim_copy_nofws(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			continue;
		}
		if (o + 1 >= len) {
			out[0] = '\0';
			return -ENAMETOOLONG;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/*
 * strip_comments - copy v into out dropping (comments), keeping quoted
 * strings intact.  Returns the length written.
 */
static size_t
strip_comments(const char *v, size_t n, char *out, size_t len)
{
	size_t o = 0;
	int depth = 0;
	bool quoted = false;

	for (size_t i = 0; i < n && o + 1 < len; i++) {
		char c = v[i];

		if (c == '\\' && i + 1 < n && (quoted || depth > 0)) {
			if (depth == 0) {
				out[o++] = v[++i];
			} else {
				i++;
			}
			continue;
		}
		if (!quoted && c == '(') {
			depth++;
			continue;
		}
		if (!quoted && depth > 0 && c == ')') {
			depth--;
			continue;
		}
		if (depth > 0) {
			continue;
		}
		if (c == '"') {
			quoted = !quoted;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return o;
}

/*
 * take - copy s[a..b) without surrounding WSP and quotes, as an
 * address whose '@' offset goes to *at.
 */
static int
take(const char *s, size_t a, size_t b, char *out, size_t len,
    size_t *at)
{
	size_t o = 0;
	const char *p;

	while (a < b && strchr(" \t\r\n", s[a]) != NULL) {
		a++;
	}
	while (b > a && strchr(" \t\r\n", s[b - 1]) != NULL) {
		b--;
	}
	for (size_t i = a; i < b; i++) {
		if (s[i] == '"' || s[i] == '\r' || s[i] == '\n') {
			continue;
		}
		if (o + 1 >= len) {
			return -ENAMETOOLONG;
		}
		out[o++] = s[i];
	}
	out[o] = '\0';
	p = strrchr(out, '@');
	if (p == NULL || p == out || p[1] == '\0') {
		return -ENOENT;
	}
	*at = (size_t)(p - out);
	return 0;
}

/* dkim_addr_extract - first mailbox address of a field value */
int
dkim_addr_extract(const char *v, size_t n, char *out, size_t len,
    size_t *at)
{
	char tmp[1024];
	size_t m = strip_comments(v, n < sizeof(tmp) ? n : sizeof(tmp) - 1,
	    tmp, sizeof(tmp));
	bool quoted = false;
	size_t start = 0;

	/* An angle address wins; remember where the first word starts. */
	for (size_t i = 0; i < m; i++) {
		if (tmp[i] == '"') {
			quoted = !quoted;
		} else if (!quoted && tmp[i] == '<') {
			char *end = memchr(tmp + i, '>', m - i);

			if (end == NULL) {
				return -ENOENT;
			}
			return take(tmp, i + 1, (size_t)(end - tmp), out, len,
			    at);
		} else if (!quoted && tmp[i] == ',') {
			break;
		}
	}

	/* No angle brackets: the first comma-separated item. */
	quoted = false;
	for (size_t i = 0; i <= m; i++) {
		if (i < m && tmp[i] == '"') {
			quoted = !quoted;
		}
		if (i == m || (!quoted && tmp[i] == ',')) {
			return take(tmp, start, i, out, len, at);
		}
	}
	return -ENOENT;
}

/* dkim_domain_within - sub equals dom or lies below it */
bool
dkim_domain_within(const char *sub, const char *dom)
{
	size_t ls = strlen(sub);
	size_t ld = strlen(dom);

	if (ld == 0 || ls < ld) {
		return false;
	}
	if (strcasecmp(sub + ls - ld, dom) != 0) {
		return false;
	}
	return ls == ld || sub[ls - ld - 1] == '.';
}

/* field_domain - domain of the first address of the last named field */
static int
field_domain(const struct canon_msg *m, const char *name, char *buf,
    size_t len)
{
	char addr[512];
	size_t vlen, at;
	long i = canon_find_last(m, name, strlen(name), m->nfields);
	const char *v;
	int rc;

	/*
	 * RFC 5322 allows one From and one Sender; when a message has
	 * several, the topmost is the one a reader's client shows.
	 */
	for (long j = i - 1; j >= 0; j--) {
		if (canon_field_is(&m->fields[j], name, strlen(name))) {
			i = j;
		}
	}
	if (i < 0) {
		return -ENOENT;
	}
	v = dkim_field_value(&m->fields[i], &vlen);
	if (v == NULL) {
		return -ENOENT;
	}
	rc = dkim_addr_extract(v, vlen, addr, sizeof(addr), &at);
	if (rc != 0) {
		return rc;
	}
	if (strlen(addr + at + 1) + 1 > len) {
		return -ENAMETOOLONG;
	}
	for (size_t k = 0; addr[at + 1 + k] != '\0'; k++) {
		buf[k] = (char)tolower((unsigned char)addr[at + 1 + k]);
		buf[k + 1] = '\0';
	}
	return 0;
}

/* dkim_from_domain - the author's domain */
int
dkim_from_domain(const struct canon_msg *m, char *buf, size_t len)
{
	return field_domain(m, "from", buf, len);
}

/* dkim_sender_domain - Sender's domain, else From's */
int
dkim_sender_domain(const struct canon_msg *m, char *buf, size_t len,
    bool *is_sender)
{
	*is_sender = true;
	if (field_domain(m, "sender", buf, len) == 0) {
		return 0;
	}
	*is_sender = false;
	return field_domain(m, "from", buf, len);
}

/* dkim_valid_name - a domain or selector of LDH/underscore labels */
bool
dkim_valid_name(const char *d)
{
	size_t label = 0, n = strlen(d);

	if (n == 0 || n > 253) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0) {
				return false;
			}
			label = 0;
		} else if ((isalnum(c) || c == '-' || c == '_') &&
		    ++label <= 63) {
			continue;
		} else {
			return false;
		}
	}
	return label > 0;
}
