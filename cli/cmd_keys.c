// SPDX-License-Identifier: MIT
/*
 * cmd_keys - key administration: `dkimq keygen` makes a key and prints
 * the DNS records to publish, `dkimq dns-record` prints them for an
 * existing key, `dkimq check-config` checks a configuration.  Records
 * are zone-file lines, `NAME. TTL TXT "..." "..."`, with the value split
 * into strings of at most 255 bytes (RFC 1035 character-strings).  DKIM
 * and DomainKeys records differ only in their tags; DomainKeys has no
 * shared record, so every domain gets its own line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "util/log.h"

#define MAX_DOMAINS 64
#define TXT_STRING_MAX 255

struct key_args {
	const char *type;	/* keygen: rsa, ed25519, domainkeys */
	const char *rtype;	/* dns-record: dkim, domainkeys */
	unsigned bits;
	const char *domains[MAX_DOMAINS];
	size_t ndomains;
	const char *selector;
	const char *out_dir;
	const char *key_path;
	unsigned ttl;
	bool testing;
};

enum {
	OPT_TYPE = 256, OPT_BITS, OPT_DOMAIN, OPT_SELECTOR, OPT_OUT, OPT_KEY,
	OPT_TTL, OPT_TESTING, OPT_HELP,
};

static const struct option key_opts[] = {
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "bits", required_argument, NULL, OPT_BITS },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "selector", required_argument, NULL, OPT_SELECTOR },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "testing", no_argument, NULL, OPT_TESTING },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char keygen_help[] =
"usage: dkimq keygen --type rsa|ed25519|domainkeys [--bits 2048]\n"
"           --domain D [--domain D2 ...] --selector S [--out DIR]\n"
"           [--ttl 3600] [--testing]\n"
"Writes DIR/S.private (mode 0600, never overwritten) and prints the\n"
"DNS record to publish for each domain.  domainkeys makes an RSA key\n"
"with DomainKeys records.  --testing adds t=y.\n";

static const char record_help[] =
"usage: dkimq dns-record --key FILE --domain D [--domain D2 ...]\n"
"           --selector S [--type dkim|domainkeys] [--ttl 3600]\n"
"           [--testing]\n"
"Prints the DNS record of an existing private key for each domain.\n";

/* parse_args - shared options of keygen and dns-record */
static int
parse_args(const char *cmd, const char *help, int argc, char **argv,
    struct key_args *a)
{
	char *end;
	long n;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", key_opts, NULL)) != -1) {
		switch (o) {
		case OPT_TYPE: a->type = a->rtype = optarg; break;
		case OPT_SELECTOR: a->selector = optarg; break;
		case OPT_OUT: a->out_dir = optarg; break;
		case OPT_KEY: a->key_path = optarg; break;
		case OPT_TESTING: a->testing = true; break;
		case OPT_DOMAIN:
			if (a->ndomains == MAX_DOMAINS) {
				return cli_usage_error(cmd,
				    "at most %d domains", MAX_DOMAINS);
			}
			a->domains[a->ndomains++] = optarg;
			break;
		case OPT_BITS:
		case OPT_TTL:
			n = strtol(optarg, &end, 10);
			if (*end != '\0' || n <= 0 || n > 0x7fffffff) {
				return cli_usage_error(cmd, "--%s takes a "
				    "positive number", o == OPT_BITS ? "bits" :
				    "ttl");
			}
			*(o == OPT_BITS ? &a->bits : &a->ttl) = (unsigned)n;
			break;
		case OPT_HELP:
			fputs(help, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	}
	if (a->ndomains == 0 || a->selector == NULL) {
		return cli_usage_error(cmd, "--domain and --selector are "
		    "required");
	}
	return 0;
}

/*
 * print_record - one zone-file line for domain, the value split into
 * 255-byte strings.
 */
static int
print_record(const struct key_args *a, const char *domain, bool dk,
    const struct crypto_key *k)
{
	unsigned char *pub;
	size_t plen, vlen;
	char *b64, *value;
	bool ed = crypto_key_type(k) == CRYPTO_KEY_ED25519;
	int rc = crypto_key_public(k, &pub, &plen);

	if (rc != 0) {
		return rc;
	}
	b64 = malloc(crypto_b64_encoded_len(plen) + 1);
	value = malloc(crypto_b64_encoded_len(plen) + 64);
	if (b64 == NULL || value == NULL) {
		free(pub);
		free(b64);
		free(value);
		return -ENOMEM;
	}
	crypto_b64_encode(pub, plen, b64);
	vlen = (size_t)sprintf(value, "%sk=%s;%s p=%s", dk ? "" : "v=DKIM1; ",
	    ed ? "ed25519" : "rsa", a->testing ? " t=y;" : "", b64);
	printf("%s._domainkey.%s. %u TXT", a->selector, domain,
	    a->ttl ? a->ttl : 3600);
	for (size_t off = 0; off < vlen; off += TXT_STRING_MAX) {
		size_t take = vlen - off < TXT_STRING_MAX ? vlen - off :
		    TXT_STRING_MAX;

		printf(" \"%.*s\"", (int)take, value + off);
	}
	printf("\n");
	free(pub);
	free(b64);
	free(value);
	return 0;
}

/* print_records - a line per domain */
static int
print_records(const char *cmd, const struct key_args *a, bool dk,
    const struct crypto_key *k)
{
	for (size_t i = 0; i < a->ndomains; i++) {
		int rc = print_record(a, a->domains[i], dk, k);

		if (rc != 0) {
			log_warn(rc, "%s", cmd);
			return 1;
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* cmd_keygen - dkimq keygen */
int
cmd_keygen(int argc, char **argv)
{
	struct key_args a = { .bits = 2048, .out_dir = "." };
	struct crypto_key *k = NULL;
	enum crypto_key_type type;
	char path[4096];
	bool dk;
	int rc;

	rc = parse_args("keygen", keygen_help, argc, argv, &a);
	if (rc != 0) {
		return rc < 0 ? 0 : rc;
	}
	if (a.type == NULL) {
		return cli_usage_error("keygen", "--type rsa, ed25519 or "
		    "domainkeys is required");
	}
	dk = strcmp(a.type, "domainkeys") == 0;
	if (strcmp(a.type, "rsa") == 0 || dk) {
		type = CRYPTO_KEY_RSA;
	} else if (strcmp(a.type, "ed25519") == 0) {
		type = CRYPTO_KEY_ED25519;
	} else {
		return cli_usage_error("keygen", "unknown key type \"%s\"",
		    a.type);
	}
	if (type == CRYPTO_KEY_RSA && (a.bits < 1024 || a.bits > 8192)) {
		return cli_usage_error("keygen", "--bits must be 1024 to 8192 "
		    "(RFC 8301 forbids keys under 1024 bits)");
	}
	if (type == CRYPTO_KEY_RSA && a.bits < 2048) {
		log_warnx("keygen: RFC 8301 asks for rsa keys of at least "
		    "2048 bits");
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.private", a.out_dir,
	    a.selector) >= sizeof(path)) {
		return cli_usage_error("keygen", "--out path too long");
	}
	rc = crypto_keygen(type, a.bits, &k);
	if (rc == 0) {
		rc = crypto_key_write_private(k, path);
	}
	if (rc == -EEXIST) {
		fprintf(stderr, "dkimq keygen: %s exists; not overwriting "
		    "it\n", path);
		crypto_key_free(k);
		return 1;
	}
	if (rc != 0) {
		log_warn(rc, "keygen: %s", path);
		crypto_key_free(k);
		return 1;
	}
	fprintf(stderr, "dkimq keygen: wrote %s\n", path);
	rc = print_records("keygen", &a, dk, k);
	crypto_key_free(k);
	return rc;
}

/* cmd_dns_record - dkimq dns-record */
int
cmd_dns_record(int argc, char **argv)
{
	struct key_args a = { 0 };
	struct crypto_key *k = NULL;
	char err[300];
	bool dk = false;
	int rc;

	rc = parse_args("dns-record", record_help, argc, argv, &a);
	if (rc != 0) {
		return rc < 0 ? 0 : rc;
	}
	if (a.key_path == NULL) {
		return cli_usage_error("dns-record", "--key is required");
	}
	if (a.rtype != NULL) {
		dk = strcmp(a.rtype, "domainkeys") == 0;
		if (!dk && strcmp(a.rtype, "dkim") != 0) {
			return cli_usage_error("dns-record", "--type is dkim "
			    "or domainkeys");
		}
	}
	if (crypto_key_load_private(a.key_path, &k, err, sizeof(err)) != 0) {
		fprintf(stderr, "dkimq dns-record: %s\n", err);
		return 1;
	}
	if (dk && crypto_key_type(k) != CRYPTO_KEY_RSA) {
		fprintf(stderr, "dkimq dns-record: DomainKeys needs an rsa "
		    "key; %s is ed25519\n", a.key_path);
		crypto_key_free(k);
		return 1;
	}
	rc = print_records("dns-record", &a, dk, k);
	crypto_key_free(k);
	return rc;
}

/* cmd_check_config - dkimq check-config FILE */
int
cmd_check_config(int argc, char **argv)
{
	struct cfg *c;
	int status;

	if (argc != 2 || argv[1][0] == '-') {
		if (argc == 2 && strcmp(argv[1], "--help") == 0) {
			printf("usage: dkimq check-config FILE\n");
			return 0;
		}
		return cli_usage_error("check-config", "expected one FILE");
	}
	c = cfg_load(argv[1], true);
	if (c == NULL) {
		log_warnx("check-config: out of memory");
		return 1;
	}
	for (size_t i = 0; i < c->nerrors; i++) {
		fprintf(stderr, "%s\n", c->errors[i]);
	}
	status = c->nerrors ? 1 : 0;
	if (status == 0) {
		printf("%s: ok (%zu selectors, %zu domains)\n", argv[1],
		    c->nselectors, c->ndomains);
	}
	cfg_free(c);
	return status;
}
