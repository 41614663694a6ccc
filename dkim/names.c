// SPDX-License-Identifier: MIT
/*
 * names - the words of the result vocabulary, algorithms and
 * canonicalizations, in both directions.  Pure tables; no state.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim.h"

static const char *const result_names[] = {
	[DKIM_RES_NONE] = "none",
	[DKIM_RES_PASS] = "pass",
	[DKIM_RES_FAIL] = "fail",
	[DKIM_RES_NEUTRAL] = "neutral",
	[DKIM_RES_POLICY] = "policy",
	[DKIM_RES_TEMPERROR] = "temperror",
	[DKIM_RES_PERMERROR] = "permerror",
};

static const char *const category_names[DKIM_CAT_COUNT] = {
	[DKIM_CAT_NONE] = "none",
	[DKIM_CAT_PASS] = "pass",
	[DKIM_CAT_INVALID_SIGNATURE] = "invalid_signature",
	[DKIM_CAT_DNS_UNREACHABLE] = "dns_unreachable",
	[DKIM_CAT_INVALID_DNS_SELECTOR] = "invalid_dns_selector",
	[DKIM_CAT_VERIFICATION_FAILED] = "verification_failed",
};

static const char *const alg_names[] = {
	[DKIM_ALG_RSA_SHA256] = "rsa-sha256",
	[DKIM_ALG_RSA_SHA1] = "rsa-sha1",
	[DKIM_ALG_ED25519_SHA256] = "ed25519-sha256",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* dkim_result_name - word for r */
const char *
dkim_result_name(enum dkim_result r)
{
	if ((size_t)r >= NELEM(result_names)) {
		return "permerror";
	}
	return result_names[r];
}

/* dkim_category_name - config key for c */
const char *
dkim_category_name(enum dkim_category c)
{
	if ((size_t)c >= NELEM(category_names)) {
		return "none";
	}
	return category_names[c];
}

/* dkim_category_parse - category from its config key */
int
dkim_category_parse(const char *name)
{
	for (size_t i = 0; i < NELEM(category_names); i++) {
		if (strcmp(name, category_names[i]) == 0) {
			return (int)i;
		}
	}
	return -1;
}

/* dkim_alg_name - a= word for a */
const char *
dkim_alg_name(enum dkim_alg a)
{
	if ((size_t)a >= NELEM(alg_names)) {
		return "unknown";
	}
	return alg_names[a];
}

/* dkim_alg_parse - algorithm from its a= word */
int
dkim_alg_parse(const char *name)
{
	for (size_t i = 0; i < NELEM(alg_names); i++) {
		if (strcasecmp(name, alg_names[i]) == 0) {
			return (int)i;
		}
	}
	return -1;
}

/* canon_word - one of "simple", "relaxed" (n bytes) into *mode */
static int
canon_word(const char *s, size_t n, enum canon_mode *mode)
{
	if (n == 6 && strncasecmp(s, "simple", 6) == 0) {
		*mode = CANON_SIMPLE;
		return 0;
	}
	if (n == 7 && strncasecmp(s, "relaxed", 7) == 0) {
		*mode = CANON_RELAXED;
		return 0;
	}
	return -EINVAL;
}

/* dkim_canon_parse - c= value into header and body modes */
int
dkim_canon_parse(const char *s, enum canon_mode *header,
    enum canon_mode *body)
{
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);

	if (canon_word(s, hlen, header) != 0) {
		return -EINVAL;
	}
	if (slash == NULL) {
		/* RFC 6376 3.5: the body defaults to simple. */
		*body = CANON_SIMPLE;
		return 0;
	}
	return canon_word(slash + 1, strlen(slash + 1), body);
}
