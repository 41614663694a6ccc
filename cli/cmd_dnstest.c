// SPDX-License-Identifier: MIT
/*
 * cmd_dnstest - `dkimq dns-test`: fetch the key record of a selector
 * through the key cache (resolver, a given server or a zone file) and
 * check it against the private key: that it exists, parses, is not
 * revoked and holds the same public key.  One line per finding on
 * stdout; exit 0 only when everything matches.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "dns/dns.h"

static const char dnstest_help[] =
"usage: dkimq dns-test --key FILE --domain D --selector S [OPTIONS]\n"
"Looks up S._domainkey.D and checks that the record exists, parses\n"
"and holds the public key of the private key FILE.  Exit 0 when\n"
"everything matches, 1 otherwise.\n"
"\n"
"  --dns HOST[:PORT]     ask this server (default: resolv.conf's)\n"
"  --dns-zone FILE       answer from a static zone file\n"
"  --type dkim|domainkeys  the record's syntax (dkim)\n";

enum {
	OPT_KEY = 256, OPT_DOMAIN, OPT_SELECTOR, OPT_DNS, OPT_ZONE,
	OPT_TYPE, OPT_HELP,
};

static const struct option dnstest_opts[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "selector", required_argument, NULL, OPT_SELECTOR },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "dns-zone", required_argument, NULL, OPT_ZONE },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct dnstest_args {
	const char *key, *domain, *selector, *dns, *zone;
	enum dns_key_kind kind;
};

/* parse_args - options into *a; returns 0, -1 (help shown) or 2 */
static int
parse_args(int argc, char **argv, struct dnstest_args *a)
{
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", dnstest_opts, NULL)) != -1) {
		switch (o) {
		case OPT_KEY: a->key = optarg; break;
		case OPT_DOMAIN: a->domain = optarg; break;
		case OPT_SELECTOR: a->selector = optarg; break;
		case OPT_DNS: a->dns = optarg; break;
		case OPT_ZONE: a->zone = optarg; break;
		case OPT_TYPE:
			if (strcmp(optarg, "dkim") == 0) {
				a->kind = DNS_KEY_DKIM;
			} else if (strcmp(optarg, "domainkeys") == 0) {
				a->kind = DNS_KEY_DK;
			} else {
				return cli_usage_error("dns-test",
				    "--type is dkim or domainkeys");
			}
			break;
		case OPT_HELP:
			fputs(dnstest_help, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (a->key == NULL || a->domain == NULL || a->selector == NULL) {
		return cli_usage_error("dns-test",
		    "--key, --domain and --selector are required");
	}
	if (a->dns != NULL && a->zone != NULL) {
		return cli_usage_error("dns-test", "--dns and --dns-zone "
		    "exclude each other");
	}
	if (optind < argc) {
		return cli_usage_error("dns-test", "unexpected argument "
		    "\"%s\"", argv[optind]);
	}
	return 0;
}

/*
 * judge - one line per finding about r against key; returns the number
 * of problems.  The checks stop at the first that makes the next ones
 * meaningless (no record, no parse, no key).
 */
static int
judge(const char *qname, const struct dns_key_result *r,
    const struct crypto_key *key)
{
	if (r->status != DNS_OK) {
		printf("problem: %s: %s (%s)\n", qname,
		    dns_status_is_temporary(r->status) ?
		    "the DNS could not be asked" : "no record",
		    dns_status_name(r->status));
		return 1;
	}
	printf("ok: %s: record found\n", qname);
	if (!r->parsed) {
		printf("problem: %s: record does not parse: %s\n", qname,
		    r->reason);
		return 1;
	}
	if (r->key.revoked) {
		printf("problem: %s: key is revoked (empty p=)\n", qname);
		return 1;
	}
	printf("ok: %s: record parses (%s, %u bits%s)\n", qname,
	    crypto_key_type(r->key.key) == CRYPTO_KEY_ED25519 ?
	    "ed25519" : "rsa", crypto_key_bits(r->key.key),
	    r->key.testing ? ", testing" : "");
	if (!crypto_key_public_eq(r->key.key, key)) {
		printf("problem: %s: public key does not match the private "
		    "key\n", qname);
		return 1;
	}
	printf("ok: %s: public key matches the private key\n", qname);
	return 0;
}

/* cmd_dns_test - dkimq dns-test */
int
cmd_dns_test(int argc, char **argv)
{
	struct dnstest_args a = { .kind = DNS_KEY_DKIM };
	struct dns_source *zsrc = NULL;
	struct dns_cache *cache = NULL;
	struct crypto_key *key = NULL;
	struct dns_key_result r = { 0 };
	char qname[512], err[300];
	int rc, status;

	status = parse_args(argc, argv, &a);
	if (status != 0) {
		return status < 0 ? 0 : status;
	}
	rc = crypto_key_load_private(a.key, &key, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "dkimq dns-test: %s\n", err);
		return 1;
	}
	snprintf(qname, sizeof(qname), "%s._domainkey.%s", a.selector,
	    a.domain);
	status = cli_key_cache("dns-test", a.dns, a.zone, NULL, &zsrc,
	    &cache);
	if (status != 0) {
		goto out;
	}
	status = 1;
	rc = dns_cache_lookup_wait(cache, a.kind, qname, &r);
	if (rc != 0) {
		fprintf(stderr, "dkimq dns-test: out of memory\n");
		goto out;
	}
	status = judge(qname, &r, key) == 0 ? 0 : 1;
out:
	dns_key_free(&r.key);
	dns_cache_free(cache);
	dns_source_free(zsrc);
	crypto_key_free(key);
	return status;
}
