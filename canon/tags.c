/* SPDX-License-Identifier: MIT */
/*
 * tags - the tag=value list of RFC 6376 3.2, shared by DKIM-Signature,
 * DomainKey-Signature and DNS key records.
 *
 * Splits the list into name and value slices of the input; copies
 * nothing and allocates nothing.  Does not know any tag's meaning or
 * check a value's syntax: dkim/ and dns/ do.  Limitations: a line break
 * is accepted as whitespace even where no WSP follows it.
 */
#include <errno.h>
#include <limits.h>

#include "canon/canon_int.h"

/* tag_is_space - SP, HTAB or either half of a (folding) line break. */
static bool
tag_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* tag_is_alpha - ALPHA of RFC 5234. */
static bool
tag_is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* tag_is_namechar - ALPHA / DIGIT / "_". */
static bool
tag_is_namechar(unsigned char c)
{
	return tag_is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* tag_skip_space - the first index at or after i that is not space. */
static size_t
tag_skip_space(const unsigned char *s, size_t n, size_t i)
{
	while (i < n && tag_is_space(s[i])) {
		i++;
	}
	return i;
}

/*
 * tag_spec - parse one tag-spec starting at s[i], which is not space,
 * into t.  The spec ends at the next ';' or at n; *end gets that index.
 * Returns 0, or -EINVAL with *why set.
 */
static int
tag_spec(const unsigned char *s, size_t n, size_t i, struct canon_tag *t,
    size_t *end, const char **why)
{
	const unsigned char *semi;
	size_t v, e;

	/* tag-name = ALPHA *(ALPHA / DIGIT / "_") */
	if (s[i] == ';' || s[i] == '=') {
		*why = s[i] == ';' ? "empty tag" : "empty tag name";
		return -EINVAL;
	}
	if (!tag_is_alpha(s[i])) {
		*why = "bad tag name";
		return -EINVAL;
	}
	t->name = (const char *)s + i;
	while (i < n && tag_is_namechar(s[i])) {
		i++;
	}
	t->name_len = (size_t)((const char *)s + i - t->name);

	/* [FWS] "=" */
	i = tag_skip_space(s, n, i);
	if (i == n || s[i] != '=') {
		*why = i == n || s[i] == ';' ? "tag without '='" :
		    "bad tag name";
		return -EINVAL;
	}
	i++;

	/* [FWS] tag-value [FWS], up to ';' or the end; the span is
	 * untrimmed so that a caller can blank exactly the value. */
	semi = memchr(s + i, ';', n - i);
	e = semi != NULL ? (size_t)(semi - s) : n;
	t->span_off = i;
	t->span_len = e - i;
	v = tag_skip_space(s, e, i);
	while (e > v && tag_is_space(s[e - 1])) {
		e--;
	}
	t->value = (const char *)s + v;
	t->value_len = e - v;
	*end = i + t->span_len;
	return 0;
}

/* tag_seen - whether t's name is already among tags[0..n). */
static bool
tag_seen(const struct canon_tag *tags, size_t n, const struct canon_tag *t)
{
	size_t k;

	for (k = 0; k < n; k++) {
		if (tags[k].name_len == t->name_len &&
		    memcmp(tags[k].name, t->name, t->name_len) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * canon_tags_parse - split s[0..n) into at most max tags.
 *
 *   tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *
 * Only a list that is all space, or space after the last ';', may hold
 * no tag-spec; ";;" is an error, as in RFC 6376.
 */
int
canon_tags_parse(const char *s, size_t n, struct canon_tag *tags,
    size_t max, const char **why)
{
	const unsigned char *u = (const unsigned char *)s;
	const char *dummy;
	struct canon_tag t;
	size_t count = 0, i, end;
	int rc;

	if (why == NULL) {
		why = &dummy;
	}
	i = tag_skip_space(u, n, 0);
	while (i < n) {
		rc = tag_spec(u, n, i, &t, &end, why);
		if (rc < 0) {
			return rc;
		}
		if (tag_seen(tags, count, &t)) {
			*why = "duplicate tag";
			return -EEXIST;
		}
		if (count == max || count == (size_t)INT_MAX) {
			*why = "too many tags";
			return -E2BIG;
		}
		tags[count++] = t;
		if (end == n) {
			break;
		}
		i = tag_skip_space(u, n, end + 1);
	}
	return (int)count;
}

/* canon_tag_find - the tag named name (case-sensitive), or NULL. */
const struct canon_tag *
canon_tag_find(const struct canon_tag *tags, int ntags, const char *name)
{
	size_t len = strlen(name);
	int k;

	for (k = 0; k < ntags; k++) {
		if (tags[k].name_len == len &&
		    memcmp(tags[k].name, name, len) == 0) {
			return &tags[k];
		}
	}
	return NULL;
}
