/* SPDX-License-Identifier: MIT */
/*
 * cmd_batch - `dkimq batch`: sign or verify every message of mbox
 * files, Maildirs and directories with the daemon's worker pool and key
 * cache, optionally writing each result to an output directory, and
 * report counts, throughput, cache counters and peak memory.
 *
 * The main thread reads the archives (spool/archive.h) and submits;
 * workers finish each job in batch_done(), which writes the output,
 * counts the result and frees the job.  Memory in flight is bounded by
 * the pool's queue depth times the maximum message size, plus the mbox
 * read buffer.  SIGINT stops reading; what was submitted is drained and
 * reported, and the exit status is 130.  Limitations: outputs of two
 * inputs with the same file names overwrite each other; the clock
 * starts after setup (keys, DNS).  Finished jobs, with their items,
 * go to a free list and carry the next messages: at most queue depth
 * plus the worker count are ever made, instead of a 13 KB zeroed job
 * and its result buffers per message.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "spool/archive.h"
#include "util/log.h"
#include "workers/workers.h"

#define BATCH_MAX_SIZE	(64u * 1024 * 1024)	/* without a config */
#define BATCH_DEPTH	256
#define BATCH_SLOTS	(DKIM_CAT_COUNT + 1)
#define BATCH_ERROR	DKIM_CAT_COUNT		/* the slot of errors */
#define BATCH_SIGNED	DKIM_CAT_PASS		/* sign mode reuses slots */
#define BATCH_UNSIGNED	DKIM_CAT_NONE
#define BATCH_EXIT_INTERRUPTED 130	/* 128 + SIGINT, as a shell says */

static const char batch_help[] =
"usage: dkimq batch --mode sign|verify [OPTIONS] INPUT...\n"
"Signs or verifies every message of each INPUT: an mbox file, a Maildir\n"
"or a directory of message files.\n"
"\n"
"  --mode M            sign or verify\n"
"  --config FILE       the configuration (signing: selectors per From\n"
"                      domain; also [dns] and verification settings)\n"
"  --domain D, --selector S, --key FILE, --algorithm A\n"
"                      sign with this one key instead of a configuration\n"
"  --threads N         worker threads (default: one per core)\n"
"  --queue-depth N     messages in flight (default 256)\n"
"  --max-size BYTES    skip larger messages (default: the configuration's\n"
"                      max_message_size, else 64 MiB)\n"
"  --dns HOST[:PORT]   key servers; --dns-zone FILE a static zone\n"
"  --out DIR           write each result there (directory inputs keep\n"
"                      their names; mbox messages go to DIR/new/ with\n"
"                      Maildir names, listed in DIR/index)\n"
"  --report FILE       write a JSON summary there (\"-\": stdout)\n"
"  --quiet             no summary table\n";

enum {
	OPT_MODE = 256, OPT_CONFIG, OPT_DOMAIN, OPT_SELECTOR, OPT_KEY,
	OPT_ALG, OPT_THREADS, OPT_DEPTH, OPT_MAXSIZE, OPT_DNS, OPT_ZONE,
	OPT_OUT, OPT_REPORT, OPT_QUIET, OPT_HELP,
};

static const struct option batch_opts[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "selector", required_argument, NULL, OPT_SELECTOR },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "algorithm", required_argument, NULL, OPT_ALG },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "queue-depth", required_argument, NULL, OPT_DEPTH },
	{ "max-size", required_argument, NULL, OPT_MAXSIZE },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "dns-zone", required_argument, NULL, OPT_ZONE },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct batch_args {
	int mode;		/* enum wrk_mode, or -1 */
	const char *config, *domain, *selector, *key, *alg;
	const char *dns, *zone, *out, *report;
	unsigned long threads, depth, max_size;
	bool quiet;
	char **inputs;
	int ninputs;
};

/* One message in flight: owned by its job's user pointer. */
struct batch_item {
	char *buf;
	char name[300];
	struct wrk_job *next_free;	/* on the free list */
};

struct batch {
	const struct batch_args *a;
	struct wrk_pool *pool;
	struct dns_cache *cache;
	struct spool_archive **arcs;
	FILE *index;
	bool tty;
	unsigned threads;
	long long total;	/* messages, or -1 when unknown */
	uint64_t seq;		/* mbox names */
	time_t started;
	char host[64];

	pthread_mutex_t mu;	/* guards what follows */
	uint64_t done, bytes, truncated, oversized, out_errors;
	uint64_t slots[BATCH_SLOTS];
	double t0, last_progress;
	struct wrk_job *free_jobs;	/* finished, ready for reuse */
};

static volatile sig_atomic_t batch_stop;

/* on_sigint - stop submitting; a second SIGINT kills (SA_RESETHAND). */
static void
on_sigint(int sig)
{
	(void)sig;
	batch_stop = 1;
}

/* now_s - the monotonic clock in seconds. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* number - parse a positive decimal into *out; false when not one. */
static bool
number(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *s != '\0' && *end == '\0' && *out > 0 &&
	    s[0] != '-';
}

/* parse_mode - "sign" or "verify" into a->mode; false otherwise. */
static bool
parse_mode(const char *s, struct batch_args *a)
{
	if (strcmp(s, "sign") == 0) {
		a->mode = WRK_SIGN;
	} else if (strcmp(s, "verify") == 0) {
		a->mode = WRK_VERIFY;
	} else {
		return false;
	}
	return true;
}

/* parse_args - fill a; returns 0, -1 after --help, or EXIT_USAGE. */
static int
parse_args(int argc, char **argv, struct batch_args *a)
{
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", batch_opts, NULL)) != -1) {
		bool ok = true;

		switch (o) {
		case OPT_MODE: ok = parse_mode(optarg, a); break;
		case OPT_CONFIG: a->config = optarg; break;
		case OPT_DOMAIN: a->domain = optarg; break;
		case OPT_SELECTOR: a->selector = optarg; break;
		case OPT_KEY: a->key = optarg; break;
		case OPT_ALG: a->alg = optarg; break;
		case OPT_THREADS: ok = number(optarg, &a->threads); break;
		case OPT_DEPTH: ok = number(optarg, &a->depth); break;
		case OPT_MAXSIZE: ok = number(optarg, &a->max_size); break;
		case OPT_DNS: a->dns = optarg; break;
		case OPT_ZONE: a->zone = optarg; break;
		case OPT_OUT: a->out = optarg; break;
		case OPT_REPORT: a->report = optarg; break;
		case OPT_QUIET: a->quiet = true; break;
		case OPT_HELP:
			fputs(batch_help, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
		if (!ok) {
			return cli_usage_error("batch", "bad value for --%s: "
			    "%s", batch_opts[o - OPT_MODE].name, optarg);
		}
	}
	return 0;
}

/* check_args - the combinations parse_args cannot see. */
static int
check_args(struct batch_args *a, int argc, char **argv)
{
	bool onekey = a->domain || a->selector || a->key;

	if (a->mode < 0) {
		return cli_usage_error("batch", "--mode sign|verify is "
		    "required");
	}
	if (a->dns != NULL && a->zone != NULL) {
		return cli_usage_error("batch", "--dns and --dns-zone "
		    "exclude each other");
	}
	if (onekey && (a->mode != WRK_SIGN || a->config != NULL ||
	    !a->domain || !a->selector || !a->key)) {
		return cli_usage_error("batch", "signing with one key takes "
		    "--domain, --selector and --key, without --config");
	}
	if (a->mode == WRK_SIGN && a->config == NULL && !onekey) {
		return cli_usage_error("batch", "signing needs --config or "
		    "--domain/--selector/--key");
	}
	if (optind >= argc) {
		return cli_usage_error("batch", "no INPUT given");
	}
	a->inputs = argv + optind;
	a->ninputs = argc - optind;
	return 0;
}

/* key_is_ed25519 - whether the private key at path is Ed25519, so that
 * the one-key signature takes its algorithm, as `dkimq sign` does. */
static bool
key_is_ed25519(const char *path)
{
	struct crypto_key *k = NULL;
	bool ed;

	if (crypto_key_load_private(path, &k, NULL, 0) != 0) {
		return false;
	}
	ed = crypto_key_type(k) == CRYPTO_KEY_ED25519;
	crypto_key_free(k);
	return ed;
}

/*
 * onekey_config - a configuration file in tmp (PATH_MAX bytes) with one
 * selector for --domain, so that signing with one key goes through the
 * same cfg_sign_specs() path as a configuration.  Returns 0 or -errno.
 */
static int
onekey_config(const struct batch_args *a, char *tmp, size_t len)
{
	char key[4096];
	FILE *f;
	int fd;

	if (realpath(a->key, key) == NULL) {
		return -errno;
	}
	snprintf(tmp, len, "%s/dkimq-batch-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(tmp);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		return -errno;
	}
	fprintf(f, "[selector:%s]\nrecord = %s\nkey = %s\ndomains = %s\n",
	    a->selector, a->selector, key, a->domain);
	if (a->alg != NULL || key_is_ed25519(key)) {
		fprintf(f, "algorithm = %s\n", a->alg ? a->alg :
		    "ed25519-sha256");
	}
	fprintf(f, "[domain:%s]\ndkim_selector = %s\n", a->domain,
	    a->selector);
	return fclose(f) == 0 ? 0 : -errno;
}

/* load_config - the configuration to run under, or NULL (verify with
 * none); *rc is the exit status on failure. */
static struct cfg *
load_config(const struct batch_args *a, int *rc)
{
	char tmp[4096] = "";
	const char *path = a->config;
	struct cfg *c;
	int err;

	*rc = 0;
	if (path == NULL && a->key != NULL) {
		err = onekey_config(a, tmp, sizeof(tmp));
		if (err < 0) {
			fprintf(stderr, "dkimq batch: %s: %s\n", a->key,
			    strerror(-err));
			*rc = 1;
			return NULL;
		}
		path = tmp;
	}
	if (path == NULL) {
		return NULL;
	}
	c = cfg_load(path, a->mode == WRK_SIGN);
	if (tmp[0] != '\0') {
		unlink(tmp);
	}
	if (c == NULL || c->nerrors > 0) {
		for (size_t i = 0; c != NULL && i < c->nerrors; i++) {
			fprintf(stderr, "dkimq batch: %s\n", c->errors[i]);
		}
		cfg_free(c);
		*rc = 1;
		return NULL;
	}
	return c;
}

/*
 * write_output - the result of one message to DIR/name, through a
 * temporary file and rename so that a partial file is never seen: a
 * Maildir's "new/NAME" goes through tmp/NAME, as the Maildir rule has
 * it, a plain NAME through .NAME.tmp.  Returns 0 or -errno.
 */
static int
write_output(const char *dir, const char *name, struct iovec *iov,
    int iovcnt)
{
	const char *base = strrchr(name, '/');
	char path[4400], tmp[4400];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (base != NULL) {
		snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, base + 1);
	} else {
		snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		return -errno;
	}
	rc = cli_write_all(fd, iov, iovcnt);
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
	}
	if (rc < 0) {
		unlink(tmp);
	}
	return rc;
}

/* result_slot - where a finished job is counted. */
static int
result_slot(const struct wrk_job *j)
{
	if (j->res.error != 0 || j->res.dest == WRK_DEST_FAILED) {
		return BATCH_ERROR;
	}
	if (j->mode == WRK_SIGN) {
		return j->res.nsigs > 0 ? BATCH_SIGNED : BATCH_UNSIGNED;
	}
	return (int)j->res.category;
}

/* progress - the live line on a terminal; b->mu is held. */
static void
progress(struct batch *b, bool last)
{
	double t = now_s();
	double secs = t - b->t0;
	double rate, mbs;

	if (!b->tty || (!last && t - b->last_progress < 0.25)) {
		return;
	}
	b->last_progress = t;
	rate = secs > 0 ? (double)b->done / secs : 0;
	mbs = secs > 0 ? (double)b->bytes / 1e6 / secs : 0;
	if (b->total >= 0) {
		double eta = rate > 0 ? ((double)b->total -
		    (double)b->done) / rate : 0;

		fprintf(stderr, "\r%llu of %lld messages, %.1f MB/s, "
		    "%.0f msg/s, ETA %.0f s   ", (unsigned long long)b->done,
		    b->total, mbs, rate, eta);
	} else {
		fprintf(stderr, "\r%llu messages, %.1f MB/s, %.0f msg/s   ",
		    (unsigned long long)b->done, mbs, rate);
	}
	if (last) {
		fputc('\n', stderr);
	}
}

/*
 * job_put - free the message of j, finished or never submitted, and
 * put j with its item on the free list for the next message.
 */
static void
job_put(struct batch *b, struct wrk_job *j)
{
	struct batch_item *it = j->user;

	free(it->buf);
	it->buf = NULL;
	pthread_mutex_lock(&b->mu);
	it->next_free = b->free_jobs;
	b->free_jobs = j;
	pthread_mutex_unlock(&b->mu);
}

/* batch_done - a finished job: write, count, release (worker thread). */
static void
batch_done(void *arg, struct wrk_job *j)
{
	struct batch *b = arg;
	struct batch_item *it = j->user;
	int slot = result_slot(j);
	int rc = 0;

	if (b->a->out != NULL && slot != BATCH_ERROR) {
		rc = write_output(b->a->out, it->name, j->res.iov,
		    j->res.iovcnt);
	}
	if (slot == BATCH_ERROR) {
		log_warnx("batch: %s: %s", it->name, j->res.reason[0] ?
		    j->res.reason : strerror(-j->res.error));
	}
	if (rc < 0) {
		log_warn(-rc, "batch: %s/%s", b->a->out, it->name);
	}

	pthread_mutex_lock(&b->mu);
	b->done++;
	b->bytes += j->len;
	b->slots[slot]++;
	b->out_errors += rc < 0;
	progress(b, false);
	pthread_mutex_unlock(&b->mu);
	job_put(b, j);
}

/*
 * job_get - a finished job with its item from the free list, else a
 * new pair; NULL when memory is short.
 */
static struct wrk_job *
job_get(struct batch *b)
{
	struct batch_item *it;
	struct wrk_job *j;

	pthread_mutex_lock(&b->mu);
	j = b->free_jobs;
	if (j != NULL) {
		b->free_jobs = ((struct batch_item *)j->user)->next_free;
	}
	pthread_mutex_unlock(&b->mu);
	if (j != NULL) {
		return j;
	}
	j = wrk_job_create();
	it = calloc(1, sizeof(*it));
	if (j == NULL || it == NULL) {
		wrk_job_free(j);
		free(it);
		return NULL;
	}
	j->user = it;
	return j;
}

/* jobs_free - release the free list (the pool is stopped). */
static void
jobs_free(struct batch *b)
{
	while (b->free_jobs != NULL) {
		struct wrk_job *j = b->free_jobs;
		struct batch_item *it = j->user;

		b->free_jobs = it->next_free;
		free(it);
		wrk_job_free(j);
	}
}

/* item_name - the output name of message m of an archive a. */
static void
item_name(struct batch *b, const struct spool_archive *a,
    const struct spool_archive_msg *m, const char *input,
    struct batch_item *it)
{
	if (spool_archive_kind(a) != SPOOL_ARCHIVE_MBOX) {
		snprintf(it->name, sizeof(it->name), "%s", m->name);
		return;
	}
	snprintf(it->name, sizeof(it->name), "new/%lld.M%06lluP%d.%s",
	    (long long)b->started, (unsigned long long)b->seq++,
	    (int)getpid(), b->host);
	if (b->index != NULL) {
		fprintf(b->index, "%llu\t%s\t%s\n",
		    (unsigned long long)m->index, it->name, input);
	}
}

/* skip_message - count a message that cannot be submitted. */
static void
skip_message(struct batch *b, const char *input,
    const struct spool_archive_msg *m)
{
	log_warnx("batch: %s: message %llu%s%s: %s", input,
	    (unsigned long long)m->index, m->name[0] ? " " : "", m->name,
	    m->error == -EFBIG ? "over the size limit" :
	    strerror(-m->error));
	pthread_mutex_lock(&b->mu);
	b->slots[BATCH_ERROR]++;
	b->oversized += m->error == -EFBIG;
	b->done++;
	pthread_mutex_unlock(&b->mu);
}

/* submit_one - hand message m to the pool; 0 or -errno. */
static int
submit_one(struct batch *b, const struct spool_archive *a,
    struct spool_archive_msg *m, const char *input)
{
	struct wrk_job *j = job_get(b);
	struct batch_item *it;
	int rc;

	if (j == NULL) {
		free(m->buf);
		return -ENOMEM;
	}
	it = j->user;
	item_name(b, a, m, input, it);
	if (m->truncated) {
		log_warnx("batch: %s: message %llu is truncated", input,
		    (unsigned long long)m->index);
		pthread_mutex_lock(&b->mu);
		b->truncated++;
		pthread_mutex_unlock(&b->mu);
	}
	it->buf = m->buf;
	j->mode = (enum wrk_mode)b->a->mode;
	j->buf = m->buf;
	j->len = m->len;
	rc = wrk_submit(b->pool, j);
	if (rc < 0) {
		job_put(b, j);
	}
	return rc;
}

/* run_input - read archive i and submit its messages; 0 or -errno. */
static int
run_input(struct batch *b, int i)
{
	struct spool_archive *a = b->arcs[i];
	const char *input = b->a->inputs[i];
	struct spool_archive_msg m;
	int rc = 0;

	while (!batch_stop && (rc = spool_archive_next(a, &m)) == 1) {
		if (m.error != 0) {
			skip_message(b, input, &m);
			continue;
		}
		rc = submit_one(b, a, &m, input);
		if (rc < 0) {
			return rc;
		}
	}
	if (batch_stop) {
		return 0;
	}
	if (rc < 0) {
		log_warn(-rc, "batch: %s: read", input);
	}
	return rc;
}

/* open_inputs - open every archive first, so that a bad INPUT fails
 * before any work, and the total is known when it can be. */
static int
open_inputs(struct batch *b, size_t max_size)
{
	b->arcs = calloc((size_t)b->a->ninputs, sizeof(*b->arcs));
	if (b->arcs == NULL) {
		return 1;
	}
	b->total = 0;
	for (int i = 0; i < b->a->ninputs; i++) {
		const char *in = b->a->inputs[i];
		int rc = spool_archive_open(in, max_size, &b->arcs[i]);
		long long n;

		if (rc < 0) {
			fprintf(stderr, "dkimq batch: %s: %s\n", in,
			    rc == -EINVAL ? "not an mbox, Maildir or "
			    "directory" : strerror(-rc));
			return 1;
		}
		n = spool_archive_total(b->arcs[i]);
		b->total = n < 0 || b->total < 0 ? -1 : b->total + n;
	}
	return 0;
}

/* open_out - create the output directory and, for mbox inputs, its
 * Maildir folders and the index file. */
static int
open_out(struct batch *b)
{
	char path[4200];
	bool mbox = false;

	if (b->a->out == NULL) {
		return 0;
	}
	if (mkdir(b->a->out, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "dkimq batch: %s: %s\n", b->a->out,
		    strerror(errno));
		return 1;
	}
	for (int i = 0; i < b->a->ninputs; i++) {
		mbox |= spool_archive_kind(b->arcs[i]) == SPOOL_ARCHIVE_MBOX;
	}
	if (!mbox) {
		return 0;
	}

	/* mbox messages make DIR a Maildir, which the index sits beside */
	for (int i = 0; i < 3; i++) {
		static const char *const sub[] = { "tmp", "new", "cur" };

		snprintf(path, sizeof(path), "%s/%s", b->a->out, sub[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "dkimq batch: %s: %s\n", path,
			    strerror(errno));
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/index", b->a->out);
	b->index = fopen(path, "w");
	if (b->index == NULL) {
		fprintf(stderr, "dkimq batch: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	return 0;
}

/* slot_name - the result word of slot i in this mode. */
static const char *
slot_name(const struct batch *b, int i)
{
	if (i == BATCH_ERROR) {
		return "error";
	}
	if (b->a->mode == WRK_SIGN) {
		return i == BATCH_SIGNED ? "signed" :
		    i == BATCH_UNSIGNED ? "unsigned" : NULL;
	}
	return dkim_category_name((enum dkim_category)i);
}

/* cpu_seconds - user and system time of the whole process. */
static double
cpu_seconds(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec +
	    ((double)ru->ru_utime.tv_usec + (double)ru->ru_stime.tv_usec) /
	    1e6;
}

/* report_json - the --report object into out. */
static int
report_json(const struct batch *b, double secs, const struct rusage *ru,
    struct dkim_buf *out)
{
	struct dns_cache_stats st;
	const char *sep = "";
	int rc;

	dns_cache_stats(b->cache, &st);
	rc = dkim_buf_fmt(out, "{\"mode\": \"%s\", \"threads\": %u, "
	    "\"messages\": %llu, \"bytes\": %llu, \"seconds\": %.4f, "
	    "\"cpu_seconds\": %.4f, "
	    "\"messages_per_second\": %.1f, \"megabytes_per_second\": "
	    "%.2f, \"truncated\": %llu, \"oversized\": %llu, "
	    "\"interrupted\": %s, \"results\": {",
	    b->a->mode == WRK_SIGN ? "sign" : "verify", b->threads,
	    (unsigned long long)b->done, (unsigned long long)b->bytes, secs,
	    cpu_seconds(ru), secs > 0 ? (double)b->done / secs : 0,
	    secs > 0 ? (double)b->bytes / 1e6 / secs : 0,
	    (unsigned long long)b->truncated,
	    (unsigned long long)b->oversized, batch_stop ? "true" : "false");
	for (int i = 0; rc == 0 && i < BATCH_SLOTS; i++) {
		if (slot_name(b, i) == NULL) {
			continue;
		}
		rc = dkim_buf_fmt(out, "%s\"%s\": %llu", sep,
		    slot_name(b, i), (unsigned long long)b->slots[i]);
		sep = ", ";
	}
	if (rc == 0) {
		rc = dkim_buf_fmt(out, "}, \"dns_cache\": {\"hits\": %llu, "
		    "\"misses\": %llu, \"coalesced\": %llu, \"expired\": "
		    "%llu, \"evictions\": %llu, \"errors\": %llu, "
		    "\"queries\": %llu}, \"peak_rss_kib\": %ld}\n",
		    (unsigned long long)st.hits,
		    (unsigned long long)st.misses,
		    (unsigned long long)st.coalesced,
		    (unsigned long long)st.expired,
		    (unsigned long long)st.evictions,
		    (unsigned long long)st.errors,
		    (unsigned long long)st.queries, ru->ru_maxrss);
	}
	return rc;
}

/* summary - the table printed at the end. */
static void
summary(const struct batch *b, double secs, long rss)
{
	struct dns_cache_stats st;

	dns_cache_stats(b->cache, &st);
	printf("dkimq batch: %s%s, %u thread%s\n",
	    b->a->mode == WRK_SIGN ? "sign" : "verify",
	    batch_stop ? " (interrupted)" : "", b->threads,
	    b->threads == 1 ? "" : "s");
	printf("  %-22s %llu\n", "messages", (unsigned long long)b->done);
	printf("  %-22s %.1f MB\n", "bytes", (double)b->bytes / 1e6);
	printf("  %-22s %.3f\n", "seconds", secs);
	printf("  %-22s %.1f\n", "messages/s",
	    secs > 0 ? (double)b->done / secs : 0);
	printf("  %-22s %.1f\n", "MB/s",
	    secs > 0 ? (double)b->bytes / 1e6 / secs : 0);
	for (int i = 0; i < BATCH_SLOTS; i++) {
		if (slot_name(b, i) != NULL) {
			printf("  %-22s %llu\n", slot_name(b, i),
			    (unsigned long long)b->slots[i]);
		}
	}
	printf("  %-22s %llu\n", "truncated",
	    (unsigned long long)b->truncated);
	printf("  %-22s hits %llu, misses %llu, queries %llu, "
	    "errors %llu\n", "dns cache", (unsigned long long)st.hits,
	    (unsigned long long)st.misses, (unsigned long long)st.queries,
	    (unsigned long long)st.errors);
	printf("  %-22s %ld KiB\n", "peak RSS", rss);
}

/* finish - summary, report file; returns the exit status. */
static int
finish(struct batch *b, double secs)
{
	struct dkim_buf out = { 0 };
	struct rusage ru;
	FILE *f;
	int rc = 0;

	getrusage(RUSAGE_SELF, &ru);
	progress(b, true);
	if (!b->a->quiet) {
		summary(b, secs, ru.ru_maxrss);
	}
	if (b->a->report == NULL) {
		return b->out_errors > 0;
	}
	if (report_json(b, secs, &ru, &out) < 0) {
		return 1;
	}
	f = strcmp(b->a->report, "-") == 0 ? stdout :
	    fopen(b->a->report, "w");
	if (f == NULL || fwrite(out.data, 1, out.len, f) != out.len) {
		fprintf(stderr, "dkimq batch: %s: %s\n", b->a->report,
		    strerror(errno));
		rc = 1;
	}
	if (f != NULL && f != stdout && fclose(f) != 0) {
		rc = 1;
	}
	dkim_buf_free(&out);
	return rc ? rc : b->out_errors > 0;
}

/* run - set up the pool, feed every input, drain; the exit status. */
static int
run(struct batch *b, const struct cfg *c, size_t max_size)
{
	struct wrk_pool_opts po = { 0 };
	struct sigaction sa = { 0 };
	char err[256];
	int rc = 0;

	if (open_inputs(b, max_size) != 0 || open_out(b) != 0) {
		return 1;
	}
	po.threads = (unsigned)b->a->threads;
	if (po.threads == 0 && c != NULL) {
		po.threads = c->threads;
	}
	b->threads = po.threads ? po.threads :
	    (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	po.queue_depth = b->a->depth ? b->a->depth : BATCH_DEPTH;
	po.cfg = c;
	po.cache = b->cache;
	po.done = batch_done;
	po.done_arg = b;
	b->pool = wrk_pool_create(&po, err, sizeof(err));
	if (b->pool == NULL) {
		fprintf(stderr, "dkimq batch: %s\n", err);
		return 1;
	}

	sa.sa_handler = on_sigint;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	b->t0 = now_s();
	for (int i = 0; i < b->a->ninputs && !batch_stop && rc == 0; i++) {
		rc = run_input(b, i);
	}
	wrk_pool_stop(b->pool);
	signal(SIGINT, SIG_DFL);
	rc = finish(b, now_s() - b->t0) || rc < 0;
	return batch_stop ? BATCH_EXIT_INTERRUPTED : rc;
}

/* cmd_batch - see cli.h */
int
cmd_batch(int argc, char **argv)
{
	struct batch_args a = { .mode = -1 };
	struct dns_source *zsrc = NULL;
	struct batch b = { .a = &a };
	struct cfg *c;
	size_t max_size;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc == 0) {
		rc = check_args(&a, argc, argv);
	}
	if (rc != 0) {
		return rc < 0 ? 0 : rc;
	}
	c = load_config(&a, &rc);
	if (rc != 0) {
		return rc;
	}
	cli_keep_freed_buffers();
	rc = cli_key_cache("batch", a.dns ? a.dns : c ? c->dns_servers :
	    NULL, a.zone ? a.zone : c ? c->zone_file : NULL, c, &zsrc,
	    &b.cache);
	if (rc != 0) {
		cfg_free(c);
		return rc;
	}
	max_size = a.max_size ? a.max_size : c && c->max_message_size ?
	    c->max_message_size : BATCH_MAX_SIZE;
	pthread_mutex_init(&b.mu, NULL);
	b.tty = isatty(STDERR_FILENO);
	b.started = time(NULL);
	if (gethostname(b.host, sizeof(b.host)) < 0) {
		snprintf(b.host, sizeof(b.host), "localhost");
	}
	b.host[strcspn(b.host, "/:")] = '\0';

	rc = run(&b, c, max_size);

	wrk_pool_free(b.pool);
	jobs_free(&b);
	for (int i = 0; b.arcs != NULL && i < a.ninputs; i++) {
		spool_archive_free(b.arcs[i]);
	}
	free(b.arcs);
	if (b.index != NULL && fclose(b.index) != 0) {
		rc = 1;
	}
	dns_cache_free(b.cache);
	dns_source_free(zsrc);
	cfg_free(c);
	pthread_mutex_destroy(&b.mu);
	return rc;
}
