// SPDX-License-Identifier: MIT
/*
 * fetch - one key record from a TXT source, looked up and parsed: the
 * blocking path used by one-shot commands and by the cache's fetcher.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns/dns.h"

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
	out->status = ans.status;
	if (ans.status == DNS_OK && ans.ntxt == 0) {
		out->status = DNS_NODATA;
	}
	out->ttl = ans.ttl;
	for (size_t i = 0; i < ans.ntxt && !out->parsed; i++) {
		char why[sizeof(out->reason)];

		rc = dns_key_parse(kind, ans.txt[i], ans.txt_len[i], &out->key,
		    why, sizeof(why));
		if (rc == 0) {
			out->parsed = true;
		} else if (i == 0) {
			snprintf(out->reason, sizeof(out->reason), "%s", why);
		}
	}
	dns_answer_free(&ans);
	return rc == -ENOMEM ? rc : 0;
}

