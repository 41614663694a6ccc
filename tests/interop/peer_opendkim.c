/* SPDX-License-Identifier: MIT */
/*
 * peer_opendkim - libopendkim (Debian libopendkim11) as an interop peer.
 *
 *   peer_opendkim sign KEYFILE DOMAIN SELECTOR HCANON/BCANON ALG [--length]
 *   peer_opendkim verify ZONEFILE
 *
 * Both read one message from stdin.  sign writes a DKIM-Signature field
 * (in the message's own line ending) above the unchanged message.  It
 * signs every field but those RFC 6376 5.4 says not to, From once more
 * than present (oversigning); --length adds l=.
 * verify prints "pass" (exit 0) or "fail: reason" (exit 1) for the
 * signature libopendkim reports as deciding.  Usage and setup errors
 * exit 2.  Lines may end in LF or CRLF; libopendkim is always fed CRLF.
 *
 * Does not touch DNS: the zone file (the keys.zone format) is rewritten
 * into libopendkim's DKIM_QUERY_FILE format ("name record" per line) in a
 * temporary file.  Limitations: NXDOMAIN, SERVFAIL and TIMEOUT lines all
 * become a missing key, since the file method cannot say "try again";
 * only the first TXT record of a name is seen.  The default minimum key
 * size (1024 bits) and clock drift (300 s) are left as they are.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <opendkim/dkim.h>

#define PEER_EXIT_PASS	0
#define PEER_EXIT_FAIL	1
#define PEER_EXIT_USAGE	2

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/*
 * buf_add - append n bytes; returns 0, or -ENOMEM.  Keeps data
 * NUL-terminated so that a key can be handed on as a string.
 */
static int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (b->len + n + 1 > cap) {
			cap *= 2;
		}
		d = realloc(b->data, cap);
		if (d == NULL) {
			return -ENOMEM;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* buf_read - append all of f; returns 0, or -errno. */
static int
buf_read(struct buf *b, FILE *f)
{
	char chunk[8192];
	size_t n;
	int rc;

	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		rc = buf_add(b, chunk, n);
		if (rc < 0) {
			return rc;
		}
	}
	if (ferror(f)) {
		return -EIO;
	}
	return buf_add(b, "", 0);
}

/* buf_load - read the file at path into b; returns 0, or -errno. */
static int
buf_load(struct buf *b, const char *path)
{
	FILE *f;
	int rc;

	f = fopen(path, "rb");
	if (f == NULL) {
		return -errno;
	}
	rc = buf_read(b, f);
	fclose(f);
	return rc;
}

/*
 * line_end - the end of the line starting at p (at its LF or CR LF, or at
 * end); *next is set to the start of the following line.
 */
static const char *
line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL) {
		*next = end;
		return end;
	}
	*next = nl + 1;
	if (nl > p && nl[-1] == '\r') {
		return nl - 1;
	}
	return nl;
}

/*
 * feed_headers - hand each header field to libopendkim, continuation
 * lines joined with CRLF and the final line ending left off, as
 * dkim_header() wants.  Returns a pointer to the body (after the empty
 * line, or the end of the message), or NULL with *st set on failure.
 */
static const char *
feed_headers(DKIM *dkim, const char *p, const char *end, DKIM_STAT *st)
{
	struct buf field = { NULL, 0, 0 };
	const char *next;
	const char *eol;

	*st = DKIM_STAT_OK;
	while (p < end) {
		eol = line_end(p, end, &next);
		if (eol == p) {
			p = next;
			break;
		}
		if (field.len > 0 && *p != ' ' && *p != '\t') {
			*st = dkim_header(dkim, (u_char *)field.data,
			    field.len);
			field.len = 0;
			if (*st != DKIM_STAT_OK) {
				goto out;
			}
		}
		if (field.len > 0 && buf_add(&field, "\r\n", 2) < 0) {
			*st = DKIM_STAT_NORESOURCE;
			goto out;
		}
		if (buf_add(&field, p, (size_t)(eol - p)) < 0) {
			*st = DKIM_STAT_NORESOURCE;
			goto out;
		}
		p = next;
	}
	if (field.len > 0) {
		*st = dkim_header(dkim, (u_char *)field.data, field.len);
	}
out:
	free(field.data);
	return *st == DKIM_STAT_OK ? p : NULL;
}

/*
 * feed_body - hand the body to libopendkim line by line, each ending in
 * CRLF.  An unterminated last line is terminated too, as SMTP would
 * deliver it: libopendkim refuses such a body with relaxed and leaves out
 * the CRLF that RFC 6376 3.4.3 adds with simple.
 */
static DKIM_STAT
feed_body(DKIM *dkim, const char *p, const char *end)
{
	const char *next;
	const char *eol;
	DKIM_STAT st;

	while (p < end) {
		eol = line_end(p, end, &next);
		st = dkim_body(dkim, (u_char *)p, (size_t)(eol - p));
		if (st == DKIM_STAT_OK) {
			st = dkim_body(dkim, (u_char *)"\r\n", 2);
		}
		if (st != DKIM_STAT_OK) {
			return st;
		}
		p = next;
	}
	return DKIM_STAT_OK;
}

/*
 * feed_message - run a whole message through a signing or verifying
 * handle up to and including dkim_eom(); returns its status, or the
 * first failing one before it.
 */
static DKIM_STAT
feed_message(DKIM *dkim, const struct buf *msg)
{
	const char *end = msg->data + msg->len;
	const char *body;
	DKIM_STAT st;

	body = feed_headers(dkim, msg->data, end, &st);
	if (body == NULL) {
		return st;
	}
	st = dkim_eoh(dkim);
	if (st != DKIM_STAT_OK) {
		return st;
	}
	st = feed_body(dkim, body, end);
	if (st != DKIM_STAT_OK) {
		return st;
	}
	return dkim_eom(dkim, NULL);
}

/* message_is_lf - whether the message's first line ends in a bare LF. */
static bool
message_is_lf(const struct buf *msg)
{
	const char *nl = memchr(msg->data, '\n', msg->len);

	return nl != NULL && (nl == msg->data || nl[-1] != '\r');
}

/* parse_canon - "simple" or "relaxed" to a DKIM_CANON_* value, or -1. */
static dkim_canon_t
parse_canon(const char *s, size_t n)
{
	if (n == 6 && strncmp(s, "simple", n) == 0) {
		return DKIM_CANON_SIMPLE;
	}
	if (n == 7 && strncmp(s, "relaxed", n) == 0) {
		return DKIM_CANON_RELAXED;
	}
	return -1;
}

/* parse_alg - a DKIM_SIGN_* value for the a= name, or DKIM_SIGN_UNKNOWN. */
static dkim_alg_t
parse_alg(const char *s)
{
	if (strcmp(s, "rsa-sha256") == 0) {
		return DKIM_SIGN_RSASHA256;
	}
	if (strcmp(s, "ed25519-sha256") == 0) {
		return DKIM_SIGN_ED25519SHA256;
	}
	return DKIM_SIGN_UNKNOWN;
}

/*
 * write_field - write "DKIM-Signature: ", the generated value with its
 * folds in the message's line ending, and one line ending.
 */
static void
write_field(const char *value, size_t len, bool lf)
{
	const char *eol = lf ? "\n" : "\r\n";
	size_t i;

	printf("%s: ", DKIM_SIGNHEADER);
	for (i = 0; i < len; i++) {
		if (value[i] == '\r') {
			continue;
		}
		if (value[i] == '\n') {
			fputs(eol, stdout);
		} else {
			putchar(value[i]);
		}
	}
	fputs(eol, stdout);
}

/* sign_setup - library options for signing; returns 0 or -1. */
static int
sign_setup(DKIM_LIB *lib, bool length)
{
	static const char *oversign[] = { "from", NULL };
	const u_char **skiphdrs = dkim_should_not_signhdrs;
	unsigned int flags = length ? DKIM_LIBFLAGS_SIGNLEN : 0;

	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof flags) != DKIM_STAT_OK) {
		return -1;
	}
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SKIPHDRS,
	    (void *)skiphdrs, sizeof skiphdrs) != DKIM_STAT_OK) {
		return -1;
	}
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    (void *)oversign, sizeof(char **)) != DKIM_STAT_OK) {
		return -1;
	}
	return 0;
}

/* cmd_sign - see the file comment; returns the exit status. */
static int
cmd_sign(DKIM_LIB *lib, int argc, char **argv)
{
	struct buf key = { NULL, 0, 0 };
	struct buf msg = { NULL, 0, 0 };
	const char *slash;
	dkim_canon_t hc, bc;
	dkim_alg_t alg;
	DKIM *dkim = NULL;
	DKIM_STAT st;
	u_char *field;
	size_t flen;
	bool length;
	int rc = PEER_EXIT_USAGE;

	length = argc == 7 && strcmp(argv[6], "--length") == 0;
	if (argc != 6 && !length) {
		fprintf(stderr, "peer_opendkim: sign KEYFILE DOMAIN SELECTOR"
		    " HCANON/BCANON ALG [--length]\n");
		return PEER_EXIT_USAGE;
	}
	slash = strchr(argv[4], '/');
	hc = parse_canon(argv[4], slash ? (size_t)(slash - argv[4]) :
	    strlen(argv[4]));
	bc = slash ? parse_canon(slash + 1, strlen(slash + 1)) :
	    DKIM_CANON_SIMPLE;
	alg = parse_alg(argv[5]);
	if (hc < 0 || bc < 0 || alg == DKIM_SIGN_UNKNOWN) {
		fprintf(stderr, "peer_opendkim: bad canon %s or alg %s\n",
		    argv[4], argv[5]);
		return PEER_EXIT_USAGE;
	}
	if (buf_load(&key, argv[1]) < 0 || buf_read(&msg, stdin) < 0) {
		fprintf(stderr, "peer_opendkim: cannot read %s or stdin\n",
		    argv[1]);
		goto out;
	}
	if (sign_setup(lib, length) < 0) {
		fprintf(stderr, "peer_opendkim: dkim_options failed\n");
		goto out;
	}

	dkim = dkim_sign(lib, (u_char *)"peer", NULL, (u_char *)key.data,
	    (u_char *)argv[3], (u_char *)argv[2], hc, bc, alg, -1, &st);
	if (dkim == NULL) {
		fprintf(stderr, "peer_opendkim: dkim_sign: %s\n",
		    dkim_getresultstr(st));
		goto out;
	}

	/*
	 * XXX libopendkim 2.11.0~beta2: an ed25519-sha256 signature with
	 * simple header canonicalization does not verify (not even in
	 * libopendkim) once the field is folded, so leave it unfolded.
	 */
	if (alg == DKIM_SIGN_ED25519SHA256 && hc == DKIM_CANON_SIMPLE) {
		dkim_set_margin(dkim, 0);
	}
	st = feed_message(dkim, &msg);
	if (st == DKIM_STAT_OK) {
		st = dkim_getsighdr_d(dkim, strlen(DKIM_SIGNHEADER) + 2,
		    &field, &flen);
	}
	if (st != DKIM_STAT_OK) {
		fprintf(stderr, "peer_opendkim: signing: %s: %s\n",
		    dkim_getresultstr(st), dkim_geterror(dkim) ?
		    dkim_geterror(dkim) : "no detail");
		goto out;
	}

	write_field((const char *)field, flen, message_is_lf(&msg));
	fwrite(msg.data, 1, msg.len, stdout);
	rc = fflush(stdout) == 0 ? PEER_EXIT_PASS : PEER_EXIT_USAGE;
out:
	if (dkim != NULL) {
		dkim_free(dkim);
	}
	free(key.data);
	free(msg.data);
	return rc;
}

/*
 * zone_txt - parse the quoted strings of one TXT line at p, joined with
 * nothing between and with \X and \DDD undone, into out.  Returns 0, or
 * -EINVAL for a malformed string.
 */
static int
zone_txt(const char *p, struct buf *out)
{
	char c;

	for (;;) {
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (*p == '\0' || *p == '\n' || *p == '\r') {
			return 0;
		}
		if (*p++ != '"') {
			return -EINVAL;
		}
		while (*p != '"') {
			if (*p == '\0' || *p == '\n') {
				return -EINVAL;
			}
			c = *p++;
			if (c == '\\' && p[0] >= '0' && p[0] <= '9' &&
			    p[1] >= '0' && p[1] <= '9' &&
			    p[2] >= '0' && p[2] <= '9') {
				c = (char)((p[0] - '0') * 100 +
				    (p[1] - '0') * 10 + (p[2] - '0'));
				p += 3;
			} else if (c == '\\' && *p != '\0') {
				c = *p++;
			}
			if (buf_add(out, &c, 1) < 0) {
				return -ENOMEM;
			}
		}
		p++;
	}
}

/*
 * next_word - the blank-separated word at *p, NUL-terminated in place;
 * *p moves past it and one delimiter.  Returns NULL at the end of line.
 */
static char *
next_word(char **p)
{
	char *w = *p + strspn(*p, " \t\r\n");
	size_t n = strcspn(w, " \t\r\n");

	if (n == 0) {
		*p = w;
		return NULL;
	}
	*p = w + n;
	if (**p != '\0') {
		*(*p)++ = '\0';
	}
	return w;
}

/*
 * zone_line - turn one zone-file line into "name record\n" in out, or
 * nothing for comments, blank lines and error names.  Returns 0, or
 * -EINVAL for a line it does not understand.
 */
static int
zone_line(char *line, struct buf *out)
{
	struct buf txt = { NULL, 0, 0 };
	char *p = line;
	char *name, *word;
	size_t nlen;
	int rc;

	name = next_word(&p);
	if (name == NULL || *name == ';' || *name == '#') {
		return 0;
	}
	word = next_word(&p);
	if (word == NULL) {
		return -EINVAL;
	}
	if (strcasecmp(word, "NXDOMAIN") == 0 ||
	    strcasecmp(word, "SERVFAIL") == 0 ||
	    strcasecmp(word, "TIMEOUT") == 0) {
		return 0;
	}
	word = next_word(&p);
	if (word != NULL && strcasecmp(word, "IN") == 0) {
		word = next_word(&p);
	}
	if (word == NULL || strcasecmp(word, "TXT") != 0) {
		return -EINVAL;
	}

	rc = zone_txt(p, &txt);
	nlen = strlen(name);
	if (nlen > 0 && name[nlen - 1] == '.') {
		nlen--;
	}
	if (rc == 0 && (buf_add(out, name, nlen) < 0 ||
	    buf_add(out, " ", 1) < 0 ||
	    buf_add(out, txt.data ? txt.data : "", txt.len) < 0 ||
	    buf_add(out, "\n", 1) < 0)) {
		rc = -ENOMEM;
	}
	free(txt.data);
	return rc;
}

/*
 * zone_convert - write the keys of the zone file at zone into a new
 * temporary file in libopendkim's query-file format; path receives its
 * name (the caller unlinks it).  Returns 0, or -errno.
 */
static int
zone_convert(const char *zone, char *path, size_t pathlen)
{
	struct buf out = { NULL, 0, 0 };
	const char *tmp = getenv("TMPDIR");
	char *line = NULL;
	size_t cap = 0;
	FILE *in;
	int fd;
	int rc = 0;

	in = fopen(zone, "r");
	if (in == NULL) {
		return -errno;
	}
	while (rc == 0 && getline(&line, &cap, in) != -1) {
		rc = zone_line(line, &out);
	}
	free(line);
	fclose(in);
	if (rc < 0) {
		goto out;
	}

	snprintf(path, pathlen, "%s/peer_opendkim.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		rc = -errno;
		path[0] = '\0';
		goto out;
	}
	if (out.len > 0 && write(fd, out.data, out.len) != (ssize_t)out.len) {
		rc = -EIO;
	}
	close(fd);
out:
	free(out.data);
	return rc;
}

/* verify_reason - why sig (may be NULL) did not pass. */
static const char *
verify_reason(DKIM *dkim, DKIM_SIGINFO *sig, DKIM_STAT st)
{
	int err;

	if (sig != NULL) {
		err = dkim_sig_geterror(sig);
		if (err != DKIM_SIGERROR_OK) {
			return dkim_sig_geterrorstr(err);
		}
		if (dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
			return "body hash mismatch";
		}
	}
	if (dkim_geterror(dkim) != NULL) {
		return dkim_geterror(dkim);
	}
	return dkim_getresultstr(st);
}

/* cmd_verify - see the file comment; returns the exit status. */
static int
cmd_verify(DKIM_LIB *lib, int argc, char **argv)
{
	struct buf msg = { NULL, 0, 0 };
	dkim_query_t qtype = DKIM_QUERY_FILE;
	char keyfile[4096] = "";
	DKIM *dkim = NULL;
	DKIM_SIGINFO *sig;
	DKIM_STAT st;
	int rc = PEER_EXIT_USAGE;

	if (argc != 2) {
		fprintf(stderr, "peer_opendkim: verify ZONEFILE\n");
		return PEER_EXIT_USAGE;
	}
	if (zone_convert(argv[1], keyfile, sizeof keyfile) < 0) {
		fprintf(stderr, "peer_opendkim: cannot convert zone %s\n",
		    argv[1]);
		goto out;
	}
	if (buf_read(&msg, stdin) < 0) {
		fprintf(stderr, "peer_opendkim: cannot read stdin\n");
		goto out;
	}
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qtype,
	    sizeof qtype) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, keyfile,
	    strlen(keyfile)) != DKIM_STAT_OK) {
		fprintf(stderr, "peer_opendkim: dkim_options failed\n");
		goto out;
	}

	dkim = dkim_verify(lib, (u_char *)"peer", NULL, &st);
	if (dkim == NULL) {
		fprintf(stderr, "peer_opendkim: dkim_verify: %s\n",
		    dkim_getresultstr(st));
		goto out;
	}
	st = feed_message(dkim, &msg);
	sig = dkim_getsignature(dkim);
	if (st == DKIM_STAT_OK && sig != NULL && DKIM_SIG_CHECK(sig)) {
		printf("pass\n");
		rc = PEER_EXIT_PASS;
	} else {
		printf("fail: %s\n", verify_reason(dkim, sig, st));
		rc = PEER_EXIT_FAIL;
	}
out:
	if (dkim != NULL) {
		dkim_free(dkim);
	}
	if (keyfile[0] != '\0') {
		unlink(keyfile);
	}
	free(msg.data);
	return rc;
}

int
main(int argc, char **argv)
{
	DKIM_LIB *lib;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: peer_opendkim sign|verify ...\n");
		return PEER_EXIT_USAGE;
	}
	lib = dkim_init(NULL, NULL);
	if (lib == NULL) {
		fprintf(stderr, "peer_opendkim: dkim_init failed\n");
		return PEER_EXIT_USAGE;
	}
	if (strcmp(argv[1], "sign") == 0) {
		rc = cmd_sign(lib, argc - 1, argv + 1);
	} else if (strcmp(argv[1], "verify") == 0) {
		rc = cmd_verify(lib, argc - 1, argv + 1);
	} else {
		fprintf(stderr, "usage: peer_opendkim sign|verify ...\n");
		rc = PEER_EXIT_USAGE;
	}
	dkim_close(lib);
	return rc;
}
