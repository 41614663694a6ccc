// SPDX-License-Identifier: MIT
/*
 * buf - the growable output buffer used for signature fields,
 * Authentication-Results and JSON, and the JSON string escaper.
 * Each buffer belongs to one thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"

/* buf_reserve - make room for n more bytes */
static int
buf_reserve(struct dkim_buf *b, size_t n)
{
	size_t need = b->len + n + 1;
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (need <= b->cap) {
		return 0;
	}
	while (cap < need) {
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (p == NULL) {
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

/* dkim_buf_add - append bytes */
int
dkim_buf_add(struct dkim_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0) {
		return -ENOMEM;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* dkim_buf_str - append a string */
int
dkim_buf_str(struct dkim_buf *b, const char *s)
{
	return dkim_buf_add(b, s, strlen(s));
}

/* dkim_buf_fmt - append formatted text */
int
dkim_buf_fmt(struct dkim_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) != 0) {
		return -ENOMEM;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* dkim_buf_free - release the buffer */
void
dkim_buf_free(struct dkim_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/*
 * utf8_len - the length of the valid UTF-8 sequence at s (2 to 4), or 0
 * when s does not start one (overlong forms and surrogates included).
 */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	uint32_t cp;

	if (n == 0 || s[0] > 0xf4) {
		return 0;
	}
	cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
		return 0;
	}
	return n;
}

/* dkim_json_str - append s as a JSON string */
int
dkim_json_str(struct dkim_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	int rc = dkim_buf_add(b, "\"", 1);

	while (rc == 0 && *s != '\0') {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
		size_t n = c >= 0x80 ? utf8_len((const unsigned char *)s) : 1;

		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			rc = dkim_buf_add(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f || n == 0) {
			/*
			 * Control bytes, and bytes of a hostile message that
			 * are not UTF-8, are escaped one by one so the output
			 * is always valid JSON.
			 */
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			rc = dkim_buf_add(b, esc, 6);
			n = 1;
		} else {
			rc = dkim_buf_add(b, s, n);
		}
		s += n;
	}
	if (rc == 0) {
		rc = dkim_buf_add(b, "\"", 1);
	}
	return rc;
}
