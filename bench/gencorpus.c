/* SPDX-License-Identifier: MIT */
/*
 * gencorpus - a deterministic corpus of mail for the benchmark.
 *
 *   gencorpus [--count N] [--seed S] [--domains D] [--dir DIR]
 *       [--mbox FILE]
 *
 * Writes N messages (CRLF line ends) as DIR/msg-NNNNNN.eml and/or as
 * one mboxrd FILE, then prints one line of statistics: messages, bytes,
 * mean and median size.  Sizes imitate real mail: text bodies are
 * log-normal around a 6 KB message, a tenth carry a base64 attachment
 * of 50 KB to 1 MB (log-uniform), and every thousandth one of 5 MB.
 * From: cycles through bench0.example .. bench(D-1).example.  The same
 * seed gives the same bytes on the same libm.
 *
 * Does not sign anything or make keys; see bench/run.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GEN_TEXT_MEDIAN	5200.0	/* body bytes; headers bring ~6 KB */
#define GEN_TEXT_SIGMA	0.7
#define GEN_ATT_MIN	(50.0 * 1024)
#define GEN_ATT_MAX	(1024.0 * 1024)
#define GEN_BIG		(5u * 1024 * 1024)

static const char *const gen_words[] = {
	"the", "queue", "message", "signature", "domain", "selector",
	"report", "meeting", "tomorrow", "please", "review", "attached",
	"budget", "draft", "server", "release", "thanks", "regards", "and",
	"of", "to", "in", "for", "with", "on", "this", "that", "we", "you",
	"schedule", "update", "invoice", "project", "customer", "notes",
};

#define GEN_NWORDS (sizeof(gen_words) / sizeof(gen_words[0]))

/* gen_next - splitmix64: the next 64 random bits of *s. */
static uint64_t
gen_next(uint64_t *s)
{
	uint64_t z;

	*s += 0x9e3779b97f4a7c15ULL;
	z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* gen_unit - a uniform double in (0, 1). */
static double
gen_unit(uint64_t *s)
{
	return ((double)(gen_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

/* gen_normal - a standard normal deviate (Box-Muller). */
static double
gen_normal(uint64_t *s)
{
	double u = gen_unit(s);
	double v = gen_unit(s);

	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* gen_text - about n bytes of wrapped text lines into f. */
static size_t
gen_text(FILE *f, uint64_t *s, size_t n)
{
	size_t done = 0;
	size_t col = 0;

	while (done < n) {
		const char *w = gen_words[gen_next(s) % GEN_NWORDS];
		size_t wl = strlen(w);

		if (col + wl + 1 > 72) {
			fputs("\r\n", f);
			done += 2;
			col = 0;
		}
		if (col > 0) {
			fputc(' ', f);
			done++;
			col++;
		}
		fputs(w, f);
		done += wl;
		col += wl;
	}
	fputs("\r\n", f);
	return done + 2;
}

/* gen_base64 - n bytes of base64 text in 76-column lines into f. */
static size_t
gen_base64(FILE *f, uint64_t *s, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[80];
	size_t done = 0;

	while (done < n) {
		uint64_t r = 0;

		for (int i = 0; i < 76; i++) {
			if (i % 10 == 0) {
				r = gen_next(s);
			}
			line[i] = b64[r & 63];
			r >>= 6;
		}
		line[76] = '\r';
		line[77] = '\n';
		fwrite(line, 1, 78, f);
		done += 78;
	}
	return done;
}

/* gen_message - message i (0-based) into f; returns its size. */
static size_t
gen_message(FILE *f, uint64_t *s, unsigned i, unsigned ndomains)
{
	double text = GEN_TEXT_MEDIAN * exp(GEN_TEXT_SIGMA * gen_normal(s));
	double pick = gen_unit(s);
	size_t att = 0;
	long start = ftell(f);

	if (i % 1000 == 999) {
		att = GEN_BIG;
	} else if (pick < 0.10) {
		att = (size_t)(GEN_ATT_MIN *
		    pow(GEN_ATT_MAX / GEN_ATT_MIN, gen_unit(s)));
	}
	if (text < 200) {
		text = 200;
	}
	if (text > 200000) {
		text = 200000;
	}

	fprintf(f, "Return-Path: <user%u@bench%u.example>\r\n"
	    "Received: from mx%u.bench.example (mx%u.bench.example "
	    "[192.0.2.%u])\r\n\tby mail.example.net with ESMTPS id "
	    "%08x; Tue, 1 Dec 2026 10:%02u:%02u +0000\r\n",
	    i % 97, i % ndomains, i % 7, i % 7, i % 250 + 1,
	    (unsigned)gen_next(s), i / 60 % 60, i % 60);
	fprintf(f, "From: User %u <user%u@bench%u.example>\r\n"
	    "To: Reader <reader%u@example.net>\r\n"
	    "Subject: benchmark message %u about the %s %s\r\n"
	    "Date: Tue, 1 Dec 2026 10:%02u:%02u +0000\r\n"
	    "Message-ID: <%u.%016llx@bench%u.example>\r\n"
	    "MIME-Version: 1.0\r\n",
	    i % 97, i % 97, i % ndomains, i % 13, i,
	    gen_words[gen_next(s) % GEN_NWORDS],
	    gen_words[gen_next(s) % GEN_NWORDS], i / 60 % 60, i % 60, i,
	    (unsigned long long)gen_next(s), i % ndomains);
	if (att == 0) {
		fputs("Content-Type: text/plain; charset=utf-8\r\n\r\n", f);
		gen_text(f, s, (size_t)text);
	} else {
		fputs("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
		    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		    f);
		gen_text(f, s, (size_t)text);
		fputs("--b1\r\nContent-Type: application/octet-stream\r\n"
		    "Content-Transfer-Encoding: base64\r\n"
		    "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
		    "\r\n", f);
		gen_base64(f, s, att);
		fputs("--b1--\r\n", f);
	}
	return (size_t)(ftell(f) - start);
}

/* size_cmp - qsort order for sizes. */
static int
size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a;
	size_t y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* copy_into_mbox - append message file src to the mbox mb, quoted. */
static int
copy_into_mbox(FILE *mb, const char *src)
{
	char line[8192];
	FILE *f = fopen(src, "rb");
	int bol = 1;

	if (f == NULL) {
		return -errno;
	}
	fputs("From bench@bench.example Tue Dec  1 10:00:00 2026\n", mb);
	while (fgets(line, sizeof line, f) != NULL) {
		const char *p = line;

		while (bol && *p == '>') {
			p++;
		}
		if (bol && strncmp(p, "From ", 5) == 0) {
			fputc('>', mb);
		}
		fputs(line, mb);
		bol = line[strlen(line) - 1] == '\n';
	}
	fputs("\n", mb);
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned count = 1000, ndomains = 4;
	uint64_t seed = 1;
	const char *dir = NULL, *mbox = NULL;
	size_t *sizes;
	double total = 0;
	char path[4096];
	FILE *mb = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--count") == 0) {
			count = (unsigned)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--seed") == 0) {
			seed = strtoull(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--domains") == 0) {
			ndomains = (unsigned)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--dir") == 0) {
			dir = argv[i + 1];
		} else if (strcmp(argv[i], "--mbox") == 0) {
			mbox = argv[i + 1];
		} else {
			break;
		}
	}
	if (count == 0 || ndomains == 0 || dir == NULL) {
		fprintf(stderr, "usage: gencorpus [--count N] [--seed S] "
		    "[--domains D] --dir DIR [--mbox FILE]\n");
		return 2;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	if (mbox != NULL && (mb = fopen(mbox, "wb")) == NULL) {
		perror(mbox);
		return 1;
	}
	sizes = calloc(count, sizeof *sizes);
	if (sizes == NULL) {
		return 1;
	}

	for (unsigned i = 0; i < count; i++) {
		FILE *f;

		snprintf(path, sizeof path, "%s/msg-%06u.eml", dir, i);
		f = fopen(path, "wb");
		if (f == NULL) {
			perror(path);
			return 1;
		}
		sizes[i] = gen_message(f, &seed, i, ndomains);
		if (fclose(f) != 0) {
			perror(path);
			return 1;
		}
		total += (double)sizes[i];
		if (mb != NULL && copy_into_mbox(mb, path) < 0) {
			perror(path);
			return 1;
		}
	}
	if (mb != NULL && fclose(mb) != 0) {
		perror(mbox);
		return 1;
	}

	qsort(sizes, count, sizeof *sizes, size_cmp);
	printf("messages %u bytes %.0f mean %.0f median %zu\n", count,
	    total, total / count, sizes[count / 2]);
	free(sizes);
	return 0;
}
