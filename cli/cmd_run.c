// SPDX-License-Identifier: MIT
/*
 * cmd_run - `dkimq run`: the queue sidecar.  Loads the configuration
 * with its keys (refusing to start on any check-config error), opens
 * the key source (a static zone when [dns] zone_file is set, else the
 * resolver) behind the shared key cache, and hands over to spool_run()
 * until SIGTERM, or until the queue is empty with --once.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "spool/spool.h"
#include "util/log.h"

static const char run_help[] =
"usage: dkimq run --config FILE [OPTIONS]\n"
"Watches SPOOL/sign/new and SPOOL/verify/new, signs or verifies each\n"
"message on a pool of workers and hands it to out/, quarantine/,\n"
"forward/, rejected/ or failed/, with one line per message in\n"
"SPOOL/results.jsonl.  SIGHUP reloads, SIGTERM drains and exits.\n"
"\n"
"  --config FILE       the configuration (required)\n"
"  --once              process what is queued, then exit\n"
"  --syslog            log to syslog instead of stderr\n"
"  --verbose           debug lines too\n"
"  --no-uring          use the plain read() loop, not io_uring\n"
"  --stats SECONDS     interval of the throughput line (60)\n"
"  --batch-ms MS       group-commit window (5)\n"
"  --batch-max N       messages per commit (128)\n"
"  --queue-depth N     messages in the pool at once (256)\n";

enum {
	OPT_CONFIG = 256, OPT_ONCE, OPT_SYSLOG, OPT_VERBOSE, OPT_NO_URING,
	OPT_STATS, OPT_BATCH_MS, OPT_BATCH_MAX, OPT_DEPTH, OPT_HELP,
};

static const struct option run_opts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "no-uring", no_argument, NULL, OPT_NO_URING },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "batch-ms", required_argument, NULL, OPT_BATCH_MS },
	{ "batch-max", required_argument, NULL, OPT_BATCH_MAX },
	{ "queue-depth", required_argument, NULL, OPT_DEPTH },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* number - a decimal option value in [lo, hi], or -1 */
static long
number(const char *s, long lo, long hi)
{
	char *end;
	long n = strtol(s, &end, 10);

	return *end != '\0' || end == s || n < lo || n > hi ? -1 : n;
}

/* parse_args - options into *o; 0, -1 (help shown) or 2 */
static int
parse_args(int argc, char **argv, struct spool_run_opts *o,
    bool *use_syslog)
{
	long n;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", run_opts, NULL)) != -1) {
		n = 0;
		switch (c) {
		case OPT_CONFIG: o->config_path = optarg; break;
		case OPT_ONCE: o->once = true; break;
		case OPT_SYSLOG: *use_syslog = true; break;
		case OPT_VERBOSE: log_set_verbose(true); break;
		case OPT_NO_URING: o->no_uring = true; break;
		case OPT_STATS:
			n = number(optarg, 1, 86400);
			o->stats_s = (unsigned)n;
			break;
		case OPT_BATCH_MS:
			n = number(optarg, 1, 10000);
			o->batch_ms = (unsigned)n;
			break;
		case OPT_BATCH_MAX:
			n = number(optarg, 1, 100000);
			o->batch_max = (unsigned)n;
			break;
		case OPT_DEPTH:
			n = number(optarg, 1, 1000000);
			o->queue_depth = (size_t)n;
			break;
		case OPT_HELP:
			fputs(run_help, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
		if (n < 0) {
			return cli_usage_error("run", "bad number \"%s\"",
			    optarg);
		}
	}
	if (o->config_path == NULL) {
		return cli_usage_error("run", "--config FILE is required");
	}
	if (optind < argc) {
		return cli_usage_error("run", "unexpected argument \"%s\"",
		    argv[optind]);
	}
	return 0;
}

/* open_keys - the key source and the cache over it */
static int
open_keys(const struct cfg *c, struct dns_source **src,
    struct dns_cache **cache)
{
	struct dns_cache_opts co = {
		.entries = c->cache_entries, .min_ttl = c->cache_min_ttl,
		.max_ttl = c->cache_max_ttl,
	};
	struct dns_fetcher *f = NULL;
	char err[300];
	int rc;

	if (c->zone_file != NULL && c->zone_file[0] != '\0') {
		rc = dns_zone_open(c->zone_file, src, err, sizeof(err));
		rc = rc ? rc : dns_fetcher_source(*src, &f);
	} else {
		rc = dns_fetcher_resolver(c->dns_servers, c->dns_timeout_ms,
		    c->dns_retries, &f, err, sizeof(err));
	}
	if (rc != 0) {
		log_warnx("run: dns: %s", rc == -ENOMEM ? "out of memory" :
		    err);
		return rc;
	}
	*cache = dns_cache_create(&co, f);
	if (*cache == NULL) {
		dns_fetcher_free(f);
		log_warnx("run: dns: out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* cmd_run - dkimq run */
int
cmd_run(int argc, char **argv)
{
	struct spool_run_opts o = { 0 };
	struct dns_source *src = NULL;
	struct dns_cache *cache = NULL;
	bool use_syslog = false;
	struct cfg *cfg;
	sigset_t sigs;
	int status, rc;

	/*
	 * Signals wait for the loop's signalfd from the start, so that a
	 * SIGHUP or SIGTERM during start-up is acted on, not fatal.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	status = parse_args(argc, argv, &o, &use_syslog);
	if (status != 0) {
		return status < 0 ? 0 : status;
	}
	cli_keep_freed_buffers();
	if (use_syslog) {
		log_init("dkimq", true);
	}
	cfg = cfg_load(o.config_path, true);
	if (cfg == NULL) {
		log_warnx("run: out of memory");
		return 1;
	}
	if (cfg->nerrors > 0) {
		for (size_t i = 0; i < cfg->nerrors; i++) {
			log_warnx("config: %s", cfg->errors[i]);
		}
		log_warnx("run: %s: %zu configuration errors; not starting",
		    o.config_path, cfg->nerrors);
		cfg_free(cfg);
		return 1;
	}
	if (cfg->spool == NULL || cfg->spool[0] == '\0') {
		log_warnx("run: %s: [dkimq] spool is not set", o.config_path);
		cfg_free(cfg);
		return 1;
	}
	if (open_keys(cfg, &src, &cache) != 0) {
		cfg_free(cfg);
		dns_source_free(src);
		return 1;
	}
	o.cfg = cfg;
	o.cache = cache;
	rc = spool_run(&o);
	dns_cache_free(cache);
	dns_source_free(src);
	return rc == 0 ? 0 : 1;
}
