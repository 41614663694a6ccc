// SPDX-License-Identifier: MIT
/*
 * cmd_verify - `dkimq verify`: read one message, verify its signatures
 * with keys from the resolver, a given server or a static zone, and
 * write either the message with an Authentication-Results field on top
 * or (--json) one JSON object.  Exit 0 whenever a verdict was reached.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "util/log.h"

static const char verify_help[] =
"usage: dkimq verify [OPTIONS] [FILE]\n"
"Verifies FILE (stdin when absent) and writes it with an\n"
"Authentication-Results field prepended, or a JSON verdict.\n"
"\n"
"  --json                print one JSON object instead of the message\n"
"  --max-signatures N    check at most N signatures (1 to 50; 5)\n"
"  --authserv-id ID      authserv-id of the result field (host name)\n"
"  --dns HOST[:PORT]     send key queries to this server\n"
"  --dns-zone FILE       answer key queries from a static zone file\n"
"  --domainkeys          verify DomainKey-Signature fields too\n"
"  --no-dkim             do not verify DKIM-Signature fields\n"
"  --allow-sha1          accept rsa-sha1 and RSA keys under 1024 bits\n"
"  --legacy              also accept pre-RFC 6376 signatures (no v=,\n"
"                        v=0.5, q=dns, RFC 4871 g=), small keys, rsa-sha1\n"
"  --config FILE         authserv_id, allow_sha1, legacy, [dns] and the\n"
"                        [domain:*] verification settings\n"
"  --time T              verify as of this Unix time (tests)\n";

enum {
	OPT_JSON = 256, OPT_MAX, OPT_AUTHSERV, OPT_DNS, OPT_ZONE, OPT_DK,
	OPT_NO_DKIM, OPT_SHA1, OPT_LEGACY, OPT_CONFIG, OPT_TIME, OPT_HELP,
};

static const struct option verify_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "max-signatures", required_argument, NULL, OPT_MAX },
	{ "authserv-id", required_argument, NULL, OPT_AUTHSERV },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "dns-zone", required_argument, NULL, OPT_ZONE },
	{ "domainkeys", no_argument, NULL, OPT_DK },
	{ "no-dkim", no_argument, NULL, OPT_NO_DKIM },
	{ "allow-sha1", no_argument, NULL, OPT_SHA1 },
	{ "legacy", no_argument, NULL, OPT_LEGACY },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct verify_args {
	bool json;
	const char *authserv;
	const char *dns;
	const char *zone;
	const char *config;
	const char *file;
	struct dkim_verify_opts o;
	bool dk_set, dkim_set;
};

/* parse_args - options into *a; returns 0, -1 (help shown) or 2 */
static int
parse_args(int argc, char **argv, struct verify_args *a)
{
	char *end;
	long n;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", verify_opts, NULL)) != -1) {
		switch (o) {
		case OPT_JSON: a->json = true; break;
		case OPT_AUTHSERV: a->authserv = optarg; break;
		case OPT_DNS: a->dns = optarg; break;
		case OPT_ZONE: a->zone = optarg; break;
		case OPT_CONFIG: a->config = optarg; break;
		case OPT_SHA1: a->o.allow_sha1 = true; break;
		case OPT_LEGACY: a->o.legacy = true; break;
		case OPT_DK:
			a->o.domainkeys = true;
			a->dk_set = true;
			break;
		case OPT_NO_DKIM:
			a->o.dkim = false;
			a->dkim_set = true;
			break;
		case OPT_MAX:
			n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > DKIM_MAX_SIGNATURES) {
				return cli_usage_error("verify",
				    "--max-signatures takes 1 to %d",
				    DKIM_MAX_SIGNATURES);
			}
			a->o.max_signatures = (unsigned)n;
			break;
		case OPT_TIME:
			n = strtol(optarg, &end, 10);
			if (*end != '\0' || n <= 0) {
				return cli_usage_error("verify",
				    "--time takes a Unix time");
			}
			a->o.now = (time_t)n;
			break;
		case OPT_HELP:
			fputs(verify_help, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (a->dns != NULL && a->zone != NULL) {
		return cli_usage_error("verify", "--dns and --dns-zone "
		    "exclude each other");
	}
	if (argc - optind > 1) {
		return cli_usage_error("verify", "one message at a time");
	}
	a->file = optind < argc ? argv[optind] : NULL;
	return 0;
}

/* apply_config - settings from the configuration, under the flags */
static int
apply_config(struct verify_args *a, struct cfg **out)
{
	struct cfg *c = cfg_load(a->config, false);
	const struct cfg_domain *d;

	if (c == NULL || c->nerrors > 0) {
		for (size_t i = 0; c && i < c->nerrors; i++) {
			fprintf(stderr, "%s\n", c->errors[i]);
		}
		cfg_free(c);
		return 1;
	}
	a->o.allow_sha1 |= c->allow_sha1;
	a->o.legacy |= c->legacy;
	if (a->authserv == NULL) {
		a->authserv = c->authserv_id;
	}
	if (a->dns == NULL && a->zone == NULL) {
		a->zone = c->zone_file;
		a->dns = c->dns_servers;
	}
	d = cfg_domain_find(c, "*", true);
	if (d != NULL) {
		if (!a->dk_set) {
			a->o.domainkeys = d->verify_domainkeys;
		}
		if (!a->dkim_set) {
			a->o.dkim = d->verify_dkim;
		}
		if (a->o.max_signatures == 0) {
			a->o.max_signatures = d->max_signatures;
		}
	}
	*out = c;
	return 0;
}

/* open_source - the key source the options name */
static int
open_source(const struct verify_args *a, const struct cfg *c,
    struct dns_source **src)
{
	char err[300];
	int rc;

	if (a->zone != NULL) {
		rc = dns_zone_open(a->zone, src, err, sizeof(err));
	} else {
		rc = dns_resolver_open(a->dns, c ? c->dns_timeout_ms : 0,
		    c ? c->dns_retries : 0, src, err, sizeof(err));
	}
	if (rc != 0) {
		fprintf(stderr, "dkimq verify: %s\n", err);
		return rc == -EINVAL ? EXIT_USAGE : 1;
	}
	return 0;
}

/* emit - write the verdict */
static int
emit(const struct verify_args *a, const struct dkim_report *r,
    const struct canon_msg *m, const char *buf, size_t len)
{
	struct dkim_buf out = { 0 };
	char host[256] = "localhost";
	struct iovec iov[2];
	int rc;

	if (a->json) {
		rc = dkim_report_json(&out, r);
		rc = rc ? rc : dkim_buf_str(&out, "\n");
	} else {
		const char *id = a->authserv;

		if (id == NULL) {
			gethostname(host, sizeof(host) - 1);
			id = host;
		}
		rc = dkim_auth_results(&out, id, r, a->o.dkim, a->o.domainkeys,
		    m->crlf || m->nfields == 0);
	}
	if (rc != 0) {
		log_warnx("verify: out of memory");
		return 1;
	}
	iov[0].iov_base = out.data;
	iov[0].iov_len = out.len;
	iov[1].iov_base = (void *)buf;
	iov[1].iov_len = a->json ? 0 : len;
	rc = cli_write_all(STDOUT_FILENO, iov, 2);
	dkim_buf_free(&out);
	if (rc != 0) {
		log_warn(rc, "verify: write");
		return 1;
	}
	return 0;
}

/* cmd_verify - dkimq verify */
int
cmd_verify(int argc, char **argv)
{
	struct verify_args a = { .o = { .dkim = true } };
	struct dkim_verifier *v = NULL;
	struct dns_source *src = NULL;
	struct dkim_report *r = NULL;
	struct cfg *cfg = NULL;
	struct canon_msg m;
	char *buf = NULL;
	size_t len;
	int rc, status;

	canon_msg_init(&m);
	status = parse_args(argc, argv, &a);
	if (status != 0) {
		return status < 0 ? 0 : status;
	}
	if (a.config != NULL && (status = apply_config(&a, &cfg)) != 0) {
		return status;
	}
	status = open_source(&a, cfg, &src);
	if (status != 0) {
		goto out;
	}
	status = 1;
	rc = cli_read_file(a.file, &buf, &len);
	if (rc != 0) {
		log_warn(rc, "verify: %s", a.file ? a.file : "stdin");
		goto out;
	}
	v = dkim_verifier_create();
	r = malloc(sizeof(*r));
	if (v == NULL || r == NULL || canon_msg_parse(&m, buf, len) != 0) {
		log_warnx("verify: out of memory");
		goto out;
	}
	rc = dkim_verify_message(v, &m, &a.o, src, r);
	if (rc != 0) {
		log_warn(rc, "verify");
		goto out;
	}
	status = emit(&a, r, &m, buf, len);
out:
	dkim_verifier_free(v);
	dns_source_free(src);
	canon_msg_free(&m);
	cfg_free(cfg);
	free(buf);
	free(r);
	return status;
}
