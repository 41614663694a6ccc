// SPDX-License-Identifier: MIT
/*
 * fetch - one key record from a TXT source, looked up and parsed: the
 * blocking path used by one-shot commands and by the cache's source
 * fetcher, and the answer-to-result step the c-ares fetcher shares.
 * Holds no state; does not cache (see cache.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

/* dns_key_from_answer - parse the first TXT record of ans that parses */
int
dns_key_from_answer(enum dns_key_kind kind, const struct dns_answer *ans,
    struct dns_key_result *out)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->status = ans->status;
	if (ans->status == DNS_OK && ans->ntxt == 0) {
		out->status = DNS_NODATA;
	}
	out->ttl = ans->ttl;
	for (size_t i = 0; i < ans->ntxt && !out->parsed; i++) {
		char why[sizeof(out->reason)];

		rc = dns_key_parse(kind, ans->txt[i], ans->txt_len[i],
		    &out->key, why, sizeof(why));
		if (rc == 0) {
			out->parsed = true;
		} else if (i == 0) {
			snprintf(out->reason, sizeof(out->reason), "%s", why);
		}
	}
	return rc == -ENOMEM ? rc : 0;
}

/* dns_key_fetch - look up and parse one key record */
int
dns_key_fetch(struct dns_source *src, enum dns_key_kind kind,
    const char *qname, struct dns_key_result *out)
{
	struct dns_answer ans;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dns_lookup(src, qname, &ans);
	if (rc == -EINVAL) {
		out->status = DNS_NXDOMAIN;
		snprintf(out->reason, sizeof(out->reason), "invalid name");
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	rc = dns_key_from_answer(kind, &ans, out);
	dns_answer_free(&ans);
	return rc;
}

/* dns_key_result_copy - a copy of src with its own references */
int
dns_key_result_copy(struct dns_key_result *dst,
    const struct dns_key_result *src)
{
	*dst = *src;
	dst->key.granularity = NULL;
	dst->key.key = NULL;
	if (src->key.granularity != NULL) {
		dst->key.granularity = strdup(src->key.granularity);
		if (dst->key.granularity == NULL) {
			memset(dst, 0, sizeof(*dst));
			return -ENOMEM;
		}
	}
	if (src->key.key != NULL) {
		dst->key.key = crypto_key_ref(src->key.key);
	}
	return 0;
}
