/* SPDX-License-Identifier: MIT */
/*
 * odkim_bench - the benchmark's work done with libopendkim (Debian
 * libopendkim11), for a side-by-side comparison with `dkimq batch`.
 *
 *   odkim_bench sign --key FILE --selector S --alg A [--threads N] DIR
 *   odkim_bench verify --zone FILE [--threads N] DIR
 *
 * Each thread takes the next file of DIR, reads it whole (as dkimq
 * batch does) and signs it (relaxed/relaxed, d= the From domain, the
 * header set dkimq signs by default, From oversigned) or verifies it.
 * Prints one JSON line: messages, bytes, seconds, messages_per_second,
 * pass, fail, peak_rss_kib.  Nothing is written out.
 *
 * Keys for verification come from the zone file (the keys.zone format,
 * TXT lines only) held in memory and handed over through
 * dkim_set_key_lookup(), the equivalent of a warm key cache; the key
 * record is still parsed by libopendkim for every message, as it does.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <opendkim/dkim.h>

#define OB_MAX_THREADS 256

struct ob_key {
	char *name;
	char *txt;
};

struct ob_state {
	DKIM_LIB *lib;
	bool sign;
	const char *dir;
	char **files;
	size_t nfiles;
	atomic_size_t next;
	char *key;		/* PEM, signing */
	const char *selector;
	dkim_alg_t alg;
	atomic_ullong bytes, pass, fail;
};

static struct ob_key *ob_keys;
static size_t ob_nkeys;

/* read_all - file path into a new buffer; 0 or -errno. */
static int
read_all(const char *path, char **out, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &st) < 0 || (b = malloc((size_t)st.st_size + 1)) ==
	    NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n <= 0) {
			free(b);
			close(fd);
			return -EIO;
		}
		got += (size_t)n;
	}
	b[got] = '\0';
	close(fd);
	*out = b;
	*len = got;
	return 0;
}

/*
 * zone_load - keep the TXT lines of a keys.zone file: NAME TTL TXT
 * "a" "b" ..., the strings joined.  Escapes are not undone (keygen
 * writes none).  Returns 0 or -errno.
 */
static int
zone_load(const char *path)
{
	char line[8192];
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		return -errno;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char name[512], *p, *q, txt[8192];
		size_t tl = 0;

		if (sscanf(line, "%511s", name) != 1 || name[0] == ';' ||
		    strstr(line, " TXT ") == NULL) {
			continue;
		}
		p = strstr(line, " TXT ") + 5;
		while ((p = strchr(p, '"')) != NULL) {
			q = strchr(p + 1, '"');
			if (q == NULL || tl + (size_t)(q - p) >= sizeof txt) {
				break;
			}
			memcpy(txt + tl, p + 1, (size_t)(q - p - 1));
			tl += (size_t)(q - p - 1);
			p = q + 1;
		}
		txt[tl] = '\0';
		if (name[strlen(name) - 1] == '.') {
			name[strlen(name) - 1] = '\0';
		}
		ob_keys = realloc(ob_keys, (ob_nkeys + 1) * sizeof *ob_keys);
		if (ob_keys == NULL) {
			fclose(f);
			return -ENOMEM;
		}
		ob_keys[ob_nkeys].name = strdup(name);
		ob_keys[ob_nkeys].txt = strdup(txt);
		ob_nkeys++;
	}
	fclose(f);
	return 0;
}

/* key_lookup - libopendkim's key callback over the zone in memory. */
static DKIM_CBSTAT
key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	(void)dkim;
	char name[600];

	snprintf(name, sizeof name, "%s._domainkey.%s",
	    (const char *)dkim_sig_getselector(sig),
	    (const char *)dkim_sig_getdomain(sig));
	for (size_t i = 0; i < ob_nkeys; i++) {
		if (strcasecmp(ob_keys[i].name, name) == 0) {
			snprintf((char *)buf, buflen, "%s", ob_keys[i].txt);
			return DKIM_CBSTAT_CONTINUE;
		}
	}
	return DKIM_CBSTAT_NOTFOUND;
}

/*
 * feed - hand the message to the handle: each header field as it
 * stands (continuation lines included, last line ending left off), then
 * the body in one piece.  Messages are CRLF.  Returns dkim_eom's
 * status or the first failure.
 */
static DKIM_STAT
feed(DKIM *dkim, const char *p, size_t len)
{
	const char *end = p + len;
	DKIM_STAT st;

	while (p < end && !(p[0] == '\r' && p + 1 < end && p[1] == '\n')) {
		const char *f = p;

		do {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		st = dkim_header(dkim, (u_char *)f, (size_t)(p - f) - 2);
		if (st != DKIM_STAT_OK) {
			return st;
		}
	}
	p = p + 2 <= end ? p + 2 : end;
	st = dkim_eoh(dkim);
	if (st == DKIM_STAT_OK && p < end) {
		st = dkim_body(dkim, (u_char *)p, (size_t)(end - p));
	}
	if (st == DKIM_STAT_OK) {
		st = dkim_eom(dkim, NULL);
	}
	return st;
}

/* from_domain - the domain of the From field's address into d. */
static int
from_domain(const char *m, char *d, size_t dl)
{
	const char *f = strncasecmp(m, "From:", 5) == 0 ? m :
	    strcasestr(m, "\nFrom:");
	const char *at, *e;

	if (f == NULL || (at = strchr(f, '@')) == NULL) {
		return -1;
	}
	at++;
	e = at + strcspn(at, ">\r\n ");
	snprintf(d, dl, "%.*s", (int)(e - at), at);
	return 0;
}

/* one_message - sign or verify file i; updates the counters. */
static void
one_message(struct ob_state *s, size_t i)
{
	char path[4096], domain[256];
	DKIM *dkim = NULL;
	DKIM_STAT st;
	size_t len;
	char *m;
	bool ok = false;

	snprintf(path, sizeof path, "%s/%s", s->dir, s->files[i]);
	if (read_all(path, &m, &len) < 0) {
		s->fail++;
		return;
	}
	if (s->sign) {
		if (from_domain(m, domain, sizeof domain) == 0) {
			dkim = dkim_sign(s->lib, (u_char *)"b", NULL,
			    (u_char *)s->key, (u_char *)s->selector,
			    (u_char *)domain, DKIM_CANON_RELAXED,
			    DKIM_CANON_RELAXED, s->alg, -1, &st);
		}
	} else {
		dkim = dkim_verify(s->lib, (u_char *)"b", NULL, &st);
	}
	if (dkim != NULL && feed(dkim, m, len) == DKIM_STAT_OK) {
		if (s->sign) {
			u_char *hdr;
			size_t hl;

			ok = dkim_getsighdr_d(dkim, 16, &hdr, &hl) ==
			    DKIM_STAT_OK;
		} else {
			DKIM_SIGINFO *sig = dkim_getsignature(dkim);

			ok = sig != NULL && DKIM_SIG_CHECK(sig);
		}
	}
	if (dkim != NULL) {
		dkim_free(dkim);
	}
	s->bytes += len;
	if (ok) {
		s->pass++;
	} else {
		s->fail++;
	}
	free(m);
}

/* worker - take files until none is left. */
static void *
worker(void *arg)
{
	struct ob_state *s = arg;
	size_t i;

	while ((i = atomic_fetch_add(&s->next, 1)) < s->nfiles) {
		one_message(s, i);
	}
	return NULL;
}

/* name_cmp - qsort order for names. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_files - the regular files of dir into s, sorted. */
static int
list_files(struct ob_state *s)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;

	if (d == NULL) {
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			continue;
		}
		s->files = realloc(s->files, (s->nfiles + 1) *
		    sizeof *s->files);
		if (s->files == NULL) {
			closedir(d);
			return -ENOMEM;
		}
		s->files[s->nfiles++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(s->files, s->nfiles, sizeof *s->files, name_cmp);
	return 0;
}

/* lib_setup - the library options for s; 0 or -1. */
static int
lib_setup(struct ob_state *s)
{
	static const char *sign_hdrs[] = { "from", "reply-to", "subject",
	    "date", "to", "cc", "message-id", "in-reply-to", "references",
	    "mime-version", "content-type", "content-transfer-encoding",
	    NULL };
	static const char *oversign[] = { "from", NULL };
	const char **p;

	if (!s->sign) {
		return dkim_set_key_lookup(s->lib, key_lookup) ==
		    DKIM_STAT_OK ? 0 : -1;
	}
	p = sign_hdrs;
	if (dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    (void *)p, sizeof p) != DKIM_STAT_OK) {
		return -1;
	}
	p = oversign;
	return dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    (void *)p, sizeof p) == DKIM_STAT_OK ? 0 : -1;
}

/* usage - print the synopsis; returns 2. */
static int
usage(void)
{
	fprintf(stderr, "usage: odkim_bench sign --key FILE --selector S "
	    "--alg A [--threads N] DIR\n"
	    "       odkim_bench verify --zone FILE [--threads N] DIR\n");
	return 2;
}

int
main(int argc, char **argv)
{
	static struct ob_state s;
	pthread_t tid[OB_MAX_THREADS];
	struct timespec t0, t1;
	struct rusage ru;
	unsigned threads = 1;
	const char *keyfile = NULL, *zone = NULL;
	size_t klen;
	double secs;
	int i;

	if (argc < 3) {
		return usage();
	}
	s.sign = strcmp(argv[1], "sign") == 0;
	if (!s.sign && strcmp(argv[1], "verify") != 0) {
		return usage();
	}
	s.alg = DKIM_SIGN_RSASHA256;
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--key") == 0) {
			keyfile = argv[i + 1];
		} else if (strcmp(argv[i], "--selector") == 0) {
			s.selector = argv[i + 1];
		} else if (strcmp(argv[i], "--alg") == 0) {
			s.alg = strcmp(argv[i + 1], "ed25519-sha256") == 0 ?
			    DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256;
		} else if (strcmp(argv[i], "--zone") == 0) {
			zone = argv[i + 1];
		} else if (strcmp(argv[i], "--threads") == 0) {
			threads = (unsigned)atoi(argv[i + 1]);
		} else {
			break;
		}
	}
	if (i != argc - 1 || threads == 0 || threads > OB_MAX_THREADS ||
	    (s.sign && (keyfile == NULL || s.selector == NULL)) ||
	    (!s.sign && zone == NULL)) {
		return usage();
	}
	s.dir = argv[i];
	if (list_files(&s) < 0 || (keyfile != NULL &&
	    read_all(keyfile, &s.key, &klen) < 0) ||
	    (zone != NULL && zone_load(zone) < 0)) {
		fprintf(stderr, "odkim_bench: cannot read input\n");
		return 1;
	}
	s.lib = dkim_init(NULL, NULL);
	if (s.lib == NULL || lib_setup(&s) < 0) {
		fprintf(stderr, "odkim_bench: library setup failed\n");
		return 1;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned t = 0; t < threads; t++) {
		pthread_create(&tid[t], NULL, worker, &s);
	}
	for (unsigned t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"messages\": %zu, \"bytes\": %llu, \"seconds\": %.4f, "
	    "\"cpu_seconds\": %.4f, "
	    "\"messages_per_second\": %.1f, \"pass\": %llu, \"fail\": %llu, "
	    "\"peak_rss_kib\": %ld}\n", s.nfiles,
	    (unsigned long long)s.bytes, secs, (double)ru.ru_utime.tv_sec +
	    (double)ru.ru_stime.tv_sec + ((double)ru.ru_utime.tv_usec +
	    (double)ru.ru_stime.tv_usec) / 1e6, (double)s.nfiles / secs,
	    (unsigned long long)s.pass, (unsigned long long)s.fail,
	    ru.ru_maxrss);
	dkim_close(s.lib);
	return 0;
}
