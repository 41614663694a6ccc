// SPDX-License-Identifier: MIT
/*
 * cli_test - the dkimq binary as a black box: keygen, dns-record, sign,
 * verify and check-config are run with fork/exec, given stdin bytes, and
 * judged on their stdout, stderr and exit status.  Keys are made once per
 * run by keygen (a PRE_ALL hook, handed to the tests in the environment);
 * each test works in its own mkdtemp directory under /tmp, removed after.
 * Every child runs under a 10 s deadline and is killed past it, so a hang
 * is a failure, not a stuck suite.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"

#define RUN_DEADLINE_MS 10000
#define KEYS_ENV "DKIMQ_CLI_TEST_KEYS"
#define STATUS_TIMEOUT (-1)

/* What one child did. */
struct proc {
	int status;	/* exit status, 128 + signal, or STATUS_TIMEOUT */
	char *out;
	size_t out_len;
	char *err;
	size_t err_len;
};

static const char msg_crlf[] =
    "From: Joe SixPack <joe@example.com>\r\n"
    "To: Suzie Q <suzie@example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
    "Message-ID: <20030712040037.46341.5F8J@example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

static const char msg_lf[] =
    "From: Joe SixPack <joe@example.com>\n"
    "To: Suzie Q <suzie@example.net>\n"
    "Subject: Is dinner ready?\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\n"
    "Message-ID: <20030712040037.46341.5F8J@example.com>\n"
    "\n"
    "Hi.\n"
    "\n"
    "We lost the game.  Are you hungry yet?\n"
    "\n"
    "Joe.\n";

/* A body hash that decodes (of the empty relaxed body). */
#define SOME_BH "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static char keydir[256];	/* keys and zones made by keygen */
static bool own_keydir;		/* made by this process: remove it */
static char tdir[256];		/* this test's scratch directory */

/* ---- running a child ---- */

/* append - add n bytes to a NUL-terminated growing buffer */
static int
append(char **b, size_t *len, const char *p, size_t n)
{
	char *nb = realloc(*b, *len + n + 1);

	if (nb == NULL) {
		return -1;
	}
	memcpy(nb + *len, p, n);
	*len += n;
	nb[*len] = '\0';
	*b = nb;
	return 0;
}

/* now_ms - a monotonic clock in milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* child_exec - in the child: wire the pipes and exec argv */
static void
child_exec(const char *const *argv, int in, int out, int err)
{
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	/* Let a sanitizer report stand apart from a plain exit 1. */
	setenv("ASAN_OPTIONS", "exitcode=99:detect_leaks=1", 1);
	setenv("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1", 1);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

/* pump - feed stdin and drain stdout and stderr until both close or
 * the deadline passes; returns false on a timeout */
static bool
pump(struct proc *p, int in, int out, int err, const char *data,
    size_t len)
{
	long long deadline = now_ms() + RUN_DEADLINE_MS;
	size_t off = 0;
	char chunk[65536];

	if (len == 0) {
		close(in);
		in = -1;
	}
	while (out >= 0 || err >= 0) {
		struct pollfd fds[3] = {
			{ .fd = out, .events = POLLIN },
			{ .fd = err, .events = POLLIN },
			{ .fd = in, .events = POLLOUT },
		};
		long long left = deadline - now_ms();

		if (left <= 0 || poll(fds, 3, (int)left) < 0) {
			if (left > 0 && errno == EINTR) {
				continue;
			}
			break;
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i == 0 ? &out : &err;
			ssize_t n;

			if (*fd < 0 || fds[i].revents == 0) {
				continue;
			}
			n = read(*fd, chunk, sizeof(chunk));
			if (n <= 0) {
				close(*fd);
				*fd = -1;
			} else if (i == 0) {
				append(&p->out, &p->out_len, chunk, (size_t)n);
			} else {
				append(&p->err, &p->err_len, chunk, (size_t)n);
			}
		}
		if (in >= 0 && fds[2].revents != 0) {
			ssize_t n = write(in, data + off, len - off);

			if (n > 0) {
				off += (size_t)n;
			}
			if (n <= 0 || off == len) {
				close(in);
				in = -1;
			}
		}
	}
	if (in >= 0) {
		close(in);
	}
	if (out >= 0 || err >= 0) {
		if (out >= 0) {
			close(out);
		}
		if (err >= 0) {
			close(err);
		}
		return false;
	}
	return true;
}

/* run_prog - run argv (argv[0] looked up in PATH) with stdin bytes;
 * returns 0 or -1 when no child could be started */
static int
run_prog(struct proc *p, const char *const *argv, const char *in,
    size_t in_len)
{
	int pin[2], pout[2], perr[2], ws;
	pid_t pid;
	bool done;

	memset(p, 0, sizeof(*p));
	p->out = calloc(1, 1);
	p->err = calloc(1, 1);
	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 ||
	    pipe2(perr, O_CLOEXEC) != 0) {
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		return -1;
	}
	if (pid == 0) {
		child_exec(argv, pin[0], pout[1], perr[1]);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	done = pump(p, pin[1], pout[0], perr[0], in, in_len);
	if (!done) {
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
	}
	if (!done) {
		p->status = STATUS_TIMEOUT;
	} else if (WIFEXITED(ws)) {
		p->status = WEXITSTATUS(ws);
	} else {
		p->status = 128 + WTERMSIG(ws);
	}
	return 0;
}

/* run_dkimq - run dkimq with args (NULL-terminated) and stdin bytes */
static void
run_dkimq(struct proc *p, const char *in, size_t in_len,
    const char *const *args)
{
	const char *argv[256];
	size_t n = 0;

	argv[n++] = DKIMQ_BIN;
	while (*args != NULL && n < 255) {
		argv[n++] = *args++;
	}
	argv[n] = NULL;
	if (run_prog(p, argv, in, in_len) != 0) {
		p->status = -2;
	}
}

/* RUN(p, in, len, "cmd", ..., NULL) runs dkimq with those arguments. */
#define RUN(p, in, len, ...) \
	run_dkimq((p), (in), (len), (const char *const[]){ __VA_ARGS__ })

/* proc_free - release what p holds */
static void
proc_free(struct proc *p)
{
	free(p->out);
	free(p->err);
	memset(p, 0, sizeof(*p));
}

/* ---- files and directories ---- */

/* rm_entry - nftw callback removing one entry */
static int
rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return remove(path);
}

/* rm_tree - remove dir and everything in it */
static void
rm_tree(const char *dir)
{
	if (dir[0] != '\0') {
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

/* in_dir - dir/name in one of a ring of static buffers */
static const char *
in_dir(const char *dir, const char *name)
{
	static char ring[16][512];
	static unsigned next;
	char *b = ring[next++ % 16];

	snprintf(b, sizeof(ring[0]), "%s/%s", dir, name);
	return b;
}

/* key_path - a file made by the PRE_ALL keygen */
static const char *
key_path(const char *name)
{
	return in_dir(keydir, name);
}

/* tmp_path - a file in this test's scratch directory */
static const char *
tmp_path(const char *name)
{
	return in_dir(tdir, name);
}

/* write_file - create path with the given bytes and mode */
static int
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ssize_t n;

	if (fd < 0) {
		return -1;
	}
	n = write(fd, data, len);
	close(fd);
	if (n < 0 || (size_t)n != len || chmod(path, mode) != 0) {
		return -1;
	}
	return 0;
}

/* put_file - write_file in a test, asserting success */
static void
put_file(const char *path, const char *text, mode_t mode)
{
	cr_assert_eq(write_file(path, text, strlen(text), mode), 0,
	    "cannot write %s", path);
}

/* ---- the keys, made once per run ---- */

/* keygen_into - keygen args, appending its stdout to zone */
static int
keygen_into(const char *zone, const char *const *args)
{
	struct proc p;
	FILE *fp;

	run_dkimq(&p, NULL, 0, args);
	if (p.status != 0) {
		fprintf(stderr, "keygen failed: %s", p.err);
		proc_free(&p);
		return -1;
	}
	fp = fopen(zone, "a");
	if (fp == NULL) {
		proc_free(&p);
		return -1;
	}
	fwrite(p.out, 1, p.out_len, fp);
	fclose(fp);
	proc_free(&p);
	return 0;
}

#define KEYGEN(zone, ...) \
	keygen_into((zone), (const char *const[]){ "keygen", __VA_ARGS__ })

/* keys_make - the shared keys: s1 (RSA 2048), e1 (Ed25519), dk
 * (DomainKeys) in keys.zone; t1 (RSA, t=y) in testing.zone; k1024
 * (RSA 1024) in small.zone */
static int
keys_make(void)
{
	char zone[300], testing[300], small[300];

	snprintf(keydir, sizeof(keydir), "/tmp/dkimq-cli-keys-XXXXXX");
	if (mkdtemp(keydir) == NULL) {
		return -1;
	}
	snprintf(zone, sizeof(zone), "%s/keys.zone", keydir);
	snprintf(testing, sizeof(testing), "%s/testing.zone", keydir);
	snprintf(small, sizeof(small), "%s/small.zone", keydir);
	if (KEYGEN(zone, "--type", "rsa", "--bits", "2048", "--domain",
	    "example.com", "--selector", "s1", "--out", keydir, NULL) != 0 ||
	    KEYGEN(zone, "--type", "ed25519", "--domain", "example.com",
	    "--selector", "e1", "--out", keydir, NULL) != 0 ||
	    KEYGEN(zone, "--type", "domainkeys", "--domain", "example.com",
	    "--selector", "dk", "--out", keydir, NULL) != 0 ||
	    KEYGEN(testing, "--type", "rsa", "--domain", "example.com",
	    "--selector", "t1", "--testing", "--out", keydir, NULL) != 0 ||
	    KEYGEN(small, "--type", "rsa", "--bits", "1024", "--domain",
	    "example.com", "--selector", "k1024", "--out", keydir,
	    NULL) != 0) {
		return -1;
	}
	return 0;
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	if (getenv(KEYS_ENV) == NULL && keys_make() == 0) {
		setenv(KEYS_ENV, keydir, 1);
		own_keydir = true;
	}
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	if (own_keydir) {
		rm_tree(keydir);
	}
}

/* setup - find the shared keys (making them if the hook could not)
 * and make this test's scratch directory */
static void
setup(void)
{
	const char *k = getenv(KEYS_ENV);

	if (k != NULL) {
		snprintf(keydir, sizeof(keydir), "%s", k);
		own_keydir = false;
	} else {
		cr_assert_eq(keys_make(), 0, "cannot make the test keys");
		own_keydir = true;
	}
	snprintf(tdir, sizeof(tdir), "/tmp/dkimq-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
}

/* teardown - remove the scratch directory (and keys made by setup) */
static void
teardown(void)
{
	rm_tree(tdir);
	if (own_keydir) {
		rm_tree(keydir);
	}
}

/* setup_bare - only a scratch directory */
static void
setup_bare(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/dkimq-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
}

/* teardown_bare - remove the scratch directory */
static void
teardown_bare(void)
{
	rm_tree(tdir);
}

/* ---- signing and verifying ---- */

/* sign_msg - run dkimq sign args on msg; assert exit 0; the output is
 * the caller's (free it) */
static char *
sign_msg(const char *msg, size_t len, const char *const *args)
{
	const char *argv[128];
	struct proc p;
	size_t n = 0;
	char *out;

	argv[n++] = "sign";
	while (*args != NULL && n < 127) {
		argv[n++] = *args++;
	}
	argv[n] = NULL;
	run_dkimq(&p, msg, len, argv);
	cr_assert_eq(p.status, 0, "sign exited %d: %s", p.status, p.err);
	out = p.out;
	p.out = NULL;
	proc_free(&p);
	return out;
}

#define SIGN(msg, ...) \
	sign_msg((msg), strlen(msg), (const char *const[]){ __VA_ARGS__ })

/* The usual signature arguments. */
#define RSA_ARGS "--domain", "example.com", "--selector", "s1", \
	"--key", key_path("s1.private")
#define ED_ARGS "--domain", "example.com", "--selector", "e1", \
	"--key", key_path("e1.private")

/* verify_json - dkimq verify --json --dns-zone zone extra... on msg */
static void
verify_json(struct proc *p, const char *zone, const char *msg, size_t len,
    const char *const *extra)
{
	const char *argv[128];
	size_t n = 0;

	argv[n++] = "verify";
	argv[n++] = "--json";
	argv[n++] = "--dns-zone";
	argv[n++] = zone;
	while (*extra != NULL && n < 127) {
		argv[n++] = *extra++;
	}
	argv[n] = NULL;
	run_dkimq(p, msg, len, argv);
}

#define VERIFY(p, zone, msg, len, ...) verify_json((p), (zone), (msg), \
	(len), (const char *const[]){ __VA_ARGS__ })

/* ---- reading the JSON verdict ---- */

/* json_one_object - assert out is exactly one {"result": ...} line */
static void
json_one_object(const struct proc *p)
{
	const char *o = p->out;

	cr_assert_eq(p->status, 0, "verify exited %d: %s", p->status, p->err);
	cr_assert_eq(strncmp(o, "{\"result\": \"", 12), 0, "output: %s", o);
	cr_assert_geq(p->out_len, 3);
	cr_assert_eq(strcmp(o + p->out_len - 2, "}\n"), 0, "output: %s", o);
	cr_assert_eq(strchr(o, '\n'), o + p->out_len - 1,
	    "more than one line: %s", o);
	cr_assert_eq(strlen(o), p->out_len, "NUL byte in output");
	cr_assert_not_null(strstr(o, "\"signatures\": ["), "%s", o);
}

#define SIG_OPEN "{\"type\": "

/* json_nsigs - the number of signature objects */
static size_t
json_nsigs(const char *out)
{
	size_t n = 0;

	for (const char *p = strstr(out, SIG_OPEN); p != NULL;
	    p = strstr(p + 1, SIG_OPEN)) {
		n++;
	}
	return n;
}

/* json_get - the string value of key in signature i (or, with i -1,
 * of the top object), unescaped only for \" and \\; "" if absent */
static const char *
json_get(const char *out, int i, const char *key)
{
	static char ring[8][1024];
	static unsigned next;
	char *v = ring[next++ % 8], pat[64];
	const char *p = out, *end;
	size_t n = 0;

	v[0] = '\0';
	for (int k = 0; k <= i && p != NULL; k++) {
		p = strstr(k == 0 ? p : p + 1, SIG_OPEN);
	}
	if (p == NULL) {
		return v;
	}
	end = i < 0 ? strstr(out, SIG_OPEN) : strstr(p + 1, SIG_OPEN);
	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	p = strstr(p, pat);
	if (p == NULL || (end != NULL && p > end)) {
		return v;
	}
	for (p += strlen(pat); *p != '\0' && *p != '"' && n < 1023; p++) {
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) {
			p++;
		}
		v[n++] = *p;
	}
	v[n] = '\0';
	return v;
}

/* expect_sig - signature i has this result and category */
static void
expect_sig(const struct proc *p, int i, const char *result,
    const char *category)
{
	cr_expect_str_eq(json_get(p->out, i, "result"), result,
	    "signature %d: %s", i, p->out);
	cr_expect_str_eq(json_get(p->out, i, "category"), category,
	    "signature %d: %s", i, p->out);
}

/* contains_ci - whether hay holds needle, ignoring ASCII case */
static bool
contains_ci(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

/* ---- reading signatures ---- */

/* sig_field - the unfolded value of the nth field named name (with the
 * colon, e.g. "DKIM-Signature:") in msg, or NULL */
static const char *
sig_field(const char *msg, int nth, const char *name)
{
	static char v[8192];
	size_t nl = strlen(name), n = 0;
	const char *p = msg;

	for (;;) {
		if (strncasecmp(p, name, nl) == 0 && nth-- == 0) {
			break;
		}
		p = strchr(p, '\n');
		if (p == NULL || p[1] == '\r' || p[1] == '\n') {
			return NULL;
		}
		p++;
	}
	for (p += nl; *p != '\0' && n < sizeof(v) - 1; p++) {
		if (*p == '\n' && p[1] != ' ' && p[1] != '\t') {
			break;
		}
		if (*p != '\r' && *p != '\n') {
			v[n++] = *p;
		}
	}
	v[n] = '\0';
	return v;
}

/* sig_tag - the value of tag in the nth DKIM-Signature, trimmed of
 * whitespace, or NULL when the tag is absent */
static const char *
sig_tag(const char *msg, int nth, const char *tag)
{
	static char v[8192];
	const char *f = sig_field(msg, nth, "DKIM-Signature:");
	size_t tl = strlen(tag);

	if (f == NULL) {
		return NULL;
	}
	while (*f != '\0') {
		const char *semi;
		size_t n = 0;

		f += strspn(f, " \t;");
		semi = strchr(f, ';');
		if (semi == NULL) {
			semi = f + strlen(f);
		}
		if (strncmp(f, tag, tl) == 0 && f[tl] == '=') {
			for (const char *q = f + tl + 1; q < semi; q++) {
				if (*q != ' ' && *q != '\t') {
					v[n++] = *q;
				}
			}
			v[n] = '\0';
			return v;
		}
		f = semi;
	}
	return NULL;
}

/* count_fields - how many header fields start with name */
static size_t
count_fields(const char *msg, const char *name)
{
	size_t n = 0, nl = strlen(name);

	for (const char *p = msg; p != NULL; p = strchr(p, '\n')) {
		if (*p == '\n') {
			p++;
		}
		if (*p == '\r' || *p == '\n' || *p == '\0') {
			break;
		}
		if (strncasecmp(p, name, nl) == 0) {
			n++;
		}
	}
	return n;
}

/* ends_with - whether the len bytes at s end with the bytes of t */
static bool
ends_with(const char *s, size_t len, const char *t, size_t tlen)
{
	return len >= tlen && memcmp(s + len - tlen, t, tlen) == 0;
}

/* round_trip - sign msg (args), verify the result, expect one pass per
 * signature and overall pass; returns the signed message */
static char *
round_trip(const char *msg, size_t nsigs, const char *const *args)
{
	char *s = sign_msg(msg, strlen(msg), args);
	struct proc p;

	VERIFY(&p, key_path("keys.zone"), s, strlen(s), NULL);
	json_one_object(&p);
	cr_expect_str_eq(json_get(p.out, -1, "result"), "pass", "%s", p.out);
	cr_expect_eq(json_nsigs(p.out), nsigs, "%s", p.out);
	for (size_t i = 0; i < nsigs; i++) {
		expect_sig(&p, (int)i, "pass", "pass");
	}
	proc_free(&p);
	return s;
}

#define ROUND_TRIP(msg, nsigs, ...) \
	round_trip((msg), (nsigs), (const char *const[]){ __VA_ARGS__ })

/* ---- keygen and dns-record ---- */

/* zone_line - split `NAME TTL TXT "s" "s"...`; joined gets the strings
 * concatenated; asserts each string is at most 255 bytes */
static void
zone_line(const char *line, char *name, size_t nlen, char *ttl,
    size_t tlen, char *joined, size_t jlen)
{
	const char *p = line, *sp;
	size_t n = 0, strings = 0;

	sp = strchr(p, ' ');
	cr_assert_not_null(sp, "%s", line);
	snprintf(name, nlen, "%.*s", (int)(sp - p), p);
	p = sp + 1;
	sp = strchr(p, ' ');
	cr_assert_not_null(sp, "%s", line);
	snprintf(ttl, tlen, "%.*s", (int)(sp - p), p);
	p = sp + 1;
	cr_assert_eq(strncmp(p, "TXT ", 4), 0, "%s", line);
	p += 4;
	while (*p == '"') {
		const char *q = strchr(p + 1, '"');

		cr_assert_not_null(q, "unterminated string: %s", line);
		cr_expect_leq(q - p - 1, 255, "string of %td bytes",
		    q - p - 1);
		cr_assert_lt(n + (size_t)(q - p - 1), jlen);
		memcpy(joined + n, p + 1, (size_t)(q - p - 1));
		n += (size_t)(q - p - 1);
		strings++;
		p = q + 1;
		if (*p == ' ') {
			p++;
		}
	}
	joined[n] = '\0';
	cr_assert_gt(strings, 0, "no strings: %s", line);
	cr_assert(*p == '\0' || *p == '\n', "trailing bytes: %s", line);
}

/* expect_record - value is "v=DKIM1; k=TYPE; p=BASE64" and parses */
static void
expect_record(const char *value, const char *type)
{
	char head[64];
	struct dns_key k;
	char why[200] = "";
	const char *b64;

	snprintf(head, sizeof(head), "v=DKIM1; k=%s; p=", type);
	cr_assert_eq(strncmp(value, head, strlen(head)), 0, "%s", value);
	b64 = value + strlen(head);
	cr_expect_gt(strlen(b64), 40);
	cr_expect_eq(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/="), strlen(b64), "%s", b64);
	cr_assert_eq(dns_key_parse(DNS_KEY_DKIM, value, strlen(value), &k,
	    why, sizeof(why)), 0, "%s: %s", value, why);
	cr_expect_eq(k.type, strcmp(type, "rsa") == 0 ? CRYPTO_KEY_RSA :
	    CRYPTO_KEY_ED25519);
	cr_expect_not(k.revoked);
	dns_key_free(&k);
}

TestSuite(keygen, .init = setup_bare, .fini = teardown_bare,
    .timeout = 60);

Test(keygen, writes_the_private_key_with_mode_0600)
{
	struct proc p;
	struct stat st;

	RUN(&p, NULL, 0, "keygen", "--type", "ed25519", "--domain",
	    "example.com", "--selector", "k1", "--out", tdir, NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(stat(tmp_path("k1.private"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_expect_gt(st.st_size, 0);
	proc_free(&p);
}

Test(keygen, refuses_to_overwrite_and_names_the_path)
{
	struct proc p;
	struct stat st;
	const char *path = tmp_path("k1.private");

	put_file(path, "precious", 0600);
	RUN(&p, NULL, 0, "keygen", "--type", "ed25519", "--domain",
	    "example.com", "--selector", "k1", "--out", tdir, NULL);
	cr_expect_eq(p.status, 1, "status %d", p.status);
	cr_expect_not_null(strstr(p.err, path), "stderr: %s", p.err);
	cr_expect_eq(p.out_len, 0, "printed a record: %s", p.out);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_size, 8, "the existing file was changed");
	proc_free(&p);
}

Test(keygen, rsa_prints_one_zone_line_with_short_strings)
{
	struct proc p;
	char name[256], ttl[16], value[4096];

	RUN(&p, NULL, 0, "keygen", "--type", "rsa", "--bits", "4096",
	    "--domain", "example.com", "--selector", "big", "--out", tdir,
	    NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(strchr(p.out, '\n'), p.out + p.out_len - 1,
	    "not one line: %s", p.out);
	zone_line(p.out, name, sizeof(name), ttl, sizeof(ttl), value,
	    sizeof(value));
	cr_expect_str_eq(name, "big._domainkey.example.com.");
	cr_expect_str_eq(ttl, "3600");
	expect_record(value, "rsa");
	proc_free(&p);
}

Test(keygen, ed25519_prints_one_parsable_zone_line)
{
	struct proc p;
	char name[256], ttl[16], value[4096];

	RUN(&p, NULL, 0, "keygen", "--type", "ed25519", "--domain",
	    "example.org", "--selector", "e9", "--out", tdir, NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(strchr(p.out, '\n'), p.out + p.out_len - 1,
	    "not one line: %s", p.out);
	zone_line(p.out, name, sizeof(name), ttl, sizeof(ttl), value,
	    sizeof(value));
	cr_expect_str_eq(name, "e9._domainkey.example.org.");
	cr_expect_str_eq(ttl, "3600");
	expect_record(value, "ed25519");
	proc_free(&p);
}

Test(keygen, refuses_512_bits_as_a_usage_error)
{
	struct proc p;

	RUN(&p, NULL, 0, "keygen", "--type", "rsa", "--bits", "512",
	    "--domain", "example.com", "--selector", "k1", "--out", tdir,
	    NULL);
	cr_expect_eq(p.status, 2, "status %d", p.status);
	cr_expect_eq(access(tmp_path("k1.private"), F_OK), -1,
	    "a key was written");
	proc_free(&p);
}

Test(keygen, domainkeys_prints_a_record_per_domain_without_v)
{
	struct proc p;
	char name[256], ttl[16], value[4096];
	char *second;
	struct dns_key k;

	RUN(&p, NULL, 0, "keygen", "--type", "domainkeys", "--domain",
	    "example.com", "--domain", "example.org", "--selector", "dk",
	    "--out", tdir, NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	second = strchr(p.out, '\n');
	cr_assert_not_null(second);
	*second++ = '\0';
	cr_assert_eq(strchr(second, '\n'), p.out + p.out_len - 1,
	    "not two lines: %s", second);

	zone_line(p.out, name, sizeof(name), ttl, sizeof(ttl), value,
	    sizeof(value));
	cr_expect_str_eq(name, "dk._domainkey.example.com.");
	cr_expect_null(strstr(value, "v=DKIM1"), "%s", value);
	cr_expect_eq(strncmp(value, "k=rsa; p=", 9), 0, "%s", value);
	cr_assert_eq(dns_key_parse(DNS_KEY_DK, value, strlen(value), &k,
	    NULL, 0), 0, "%s", value);
	dns_key_free(&k);

	zone_line(second, name, sizeof(name), ttl, sizeof(ttl), value,
	    sizeof(value));
	cr_expect_str_eq(name, "dk._domainkey.example.org.");
	cr_expect_null(strstr(value, "v=DKIM1"), "%s", value);
	cr_expect_eq(strncmp(value, "k=rsa; p=", 9), 0, "%s", value);
	proc_free(&p);
}

/* same_record - keygen's line for a new key equals dns-record's */
static void
same_record(const char *type)
{
	struct proc kg, dr;

	RUN(&kg, NULL, 0, "keygen", "--type", type, "--domain",
	    "example.com", "--selector", "k1", "--out", tdir, NULL);
	cr_assert_eq(kg.status, 0, "%s", kg.err);
	RUN(&dr, NULL, 0, "dns-record", "--key", tmp_path("k1.private"),
	    "--domain", "example.com", "--selector", "k1", NULL);
	cr_assert_eq(dr.status, 0, "%s", dr.err);
	cr_expect_str_eq(dr.out, kg.out);
	proc_free(&kg);
	proc_free(&dr);
}

Test(keygen, dns_record_prints_what_keygen_printed_rsa)
{
	same_record("rsa");
}

Test(keygen, dns_record_prints_what_keygen_printed_ed25519)
{
	same_record("ed25519");
}

/* ---- sign and verify round trips ---- */

TestSuite(roundtrip, .init = setup, .fini = teardown, .timeout = 60);

Test(roundtrip, rsa_signature_passes)
{
	char *s = ROUND_TRIP(msg_crlf, 1, RSA_ARGS, NULL);

	cr_expect_str_eq(sig_tag(s, 0, "a"), "rsa-sha256");
	cr_expect_str_eq(sig_tag(s, 0, "d"), "example.com");
	cr_expect_str_eq(sig_tag(s, 0, "s"), "s1");
	free(s);
}

Test(roundtrip, ed25519_signature_passes)
{
	char *s = ROUND_TRIP(msg_crlf, 1, ED_ARGS, NULL);

	cr_expect_str_eq(sig_tag(s, 0, "a"), "ed25519-sha256");
	free(s);
}

Test(roundtrip, every_canonicalization_passes)
{
	static const char *const modes[] = {
		"simple/simple", "simple/relaxed", "relaxed/simple",
		"relaxed/relaxed",
	};

	for (size_t i = 0; i < 4; i++) {
		char *s = ROUND_TRIP(msg_crlf, 1, RSA_ARGS, "--canon",
		    modes[i], NULL);
		const char *c = sig_tag(s, 0, "c");

		/* simple/simple may be written as c=simple or left out */
		if (c == NULL) {
			c = "simple/simple";
		} else if (strchr(c, '/') == NULL) {
			cr_expect(strcmp(c, "simple") == 0 ||
			    strcmp(c, "relaxed") == 0, "c=%s", c);
		}
		if (strchr(c, '/') != NULL) {
			cr_expect_str_eq(c, modes[i]);
		}
		free(s);
		s = ROUND_TRIP(msg_crlf, 1, ED_ARGS, "--canon", modes[i],
		    NULL);
		free(s);
	}
}

Test(roundtrip, body_length_adds_l_and_passes)
{
	char *s = ROUND_TRIP(msg_crlf, 1, RSA_ARGS, "--body-length", NULL);
	const char *l = sig_tag(s, 0, "l");

	cr_assert_not_null(l, "no l= tag");
	cr_expect_gt(atol(l), 0, "l=%s", l);
	free(s);
	s = ROUND_TRIP(msg_crlf, 1, RSA_ARGS, NULL);
	cr_expect_null(sig_tag(s, 0, "l"), "l= without --body-length");
	free(s);
}

Test(roundtrip, identity_adds_i_and_passes)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, "--identity",
	    "joe@example.com", NULL);
	struct proc p;

	cr_expect_str_eq(sig_tag(s, 0, "i"), "joe@example.com");
	VERIFY(&p, key_path("keys.zone"), s, strlen(s), NULL);
	json_one_object(&p);
	expect_sig(&p, 0, "pass", "pass");
	cr_expect_str_eq(json_get(p.out, 0, "i"), "joe@example.com");
	proc_free(&p);
	free(s);
}

Test(roundtrip, expire_adds_x_after_t)
{
	char *s = ROUND_TRIP(msg_crlf, 1, RSA_ARGS, "--expire", "3600",
	    NULL);
	const char *t = sig_tag(s, 0, "t"), *x;
	long tv;

	cr_assert_not_null(t, "no t=");
	tv = atol(t);
	x = sig_tag(s, 0, "x");
	cr_assert_not_null(x, "no x=");
	cr_expect_eq(atol(x), tv + 3600, "t=%ld x=%s", tv, x);
	free(s);
}

Test(roundtrip, rsa_and_ed25519_in_one_run_both_pass)
{
	char *s = ROUND_TRIP(msg_crlf, 2, RSA_ARGS, "--selector", "e1",
	    "--key", key_path("e1.private"), NULL);

	cr_expect_eq(count_fields(s, "DKIM-Signature:"), 2);
	cr_expect_str_eq(sig_tag(s, 0, "s"), "s1");
	cr_expect_str_eq(sig_tag(s, 1, "s"), "e1");
	cr_expect_str_eq(sig_tag(s, 1, "a"), "ed25519-sha256");
	cr_expect_str_eq(sig_tag(s, 1, "d"), "example.com");
	free(s);
}

Test(roundtrip, domainkeys_signature_verifies_with_domainkeys)
{
	char *s = SIGN(msg_crlf, "--type", "domainkeys", "--domain",
	    "example.com", "--selector", "dk", "--key",
	    key_path("dk.private"), NULL);
	struct proc p;

	cr_expect_eq(count_fields(s, "DomainKey-Signature:"), 1);
	cr_expect_eq(count_fields(s, "DKIM-Signature:"), 0);
	VERIFY(&p, key_path("keys.zone"), s, strlen(s), "--domainkeys",
	    NULL);
	json_one_object(&p);
	cr_expect_str_eq(json_get(p.out, -1, "result"), "pass", "%s", p.out);
	cr_assert_eq(json_nsigs(p.out), 1, "%s", p.out);
	cr_expect_str_eq(json_get(p.out, 0, "type"), "domainkeys");
	expect_sig(&p, 0, "pass", "pass");
	proc_free(&p);
	free(s);
}

Test(roundtrip, both_types_give_two_passing_signatures)
{
	char *s = SIGN(msg_crlf, "--type", "both", "--domain",
	    "example.com", "--selector", "dk", "--key",
	    key_path("dk.private"), NULL);
	struct proc p;

	cr_expect_eq(count_fields(s, "DomainKey-Signature:"), 1);
	cr_expect_eq(count_fields(s, "DKIM-Signature:"), 1);
	VERIFY(&p, key_path("keys.zone"), s, strlen(s), "--domainkeys",
	    NULL);
	json_one_object(&p);
	cr_expect_str_eq(json_get(p.out, -1, "result"), "pass", "%s", p.out);
	cr_assert_eq(json_nsigs(p.out), 2, "%s", p.out);
	cr_expect_str_eq(json_get(p.out, 0, "type"), "dkim");
	cr_expect_str_eq(json_get(p.out, 1, "type"), "domainkeys");
	expect_sig(&p, 0, "pass", "pass");
	expect_sig(&p, 1, "pass", "pass");
	proc_free(&p);
	free(s);
}

Test(roundtrip, each_kind_switched_off_sees_only_the_other)
{
	char *dkim_only = SIGN(msg_crlf, RSA_ARGS, NULL);
	char *dk_only = SIGN(msg_crlf, "--type", "domainkeys", "--domain",
	    "example.com", "--selector", "dk", "--key",
	    key_path("dk.private"), NULL);
	struct proc p;

	VERIFY(&p, key_path("keys.zone"), dkim_only, strlen(dkim_only),
	    "--domainkeys", "--no-dkim", NULL);
	cr_expect_str_eq(json_get(p.out, -1, "result"), "none", "%s", p.out);
	cr_expect_eq(json_nsigs(p.out), 0, "%s", p.out);
	proc_free(&p);
	VERIFY(&p, key_path("keys.zone"), dk_only, strlen(dk_only), NULL);
	cr_expect_str_eq(json_get(p.out, -1, "result"), "none", "%s", p.out);
	cr_expect_eq(json_nsigs(p.out), 0, "%s", p.out);
	proc_free(&p);
	free(dkim_only);
	free(dk_only);
}

Test(roundtrip, domainkeys_refuses_a_domain_not_the_senders)
{
	struct proc p;

	RUN(&p, msg_crlf, strlen(msg_crlf), "sign", "--type", "domainkeys",
	    "--domain", "example.org", "--selector", "dk", "--key",
	    key_path("dk.private"), NULL);
	cr_expect_eq(p.status, 1, "%s", p.err);
	cr_expect(strstr(p.err, "example.org") != NULL, "%s", p.err);
	cr_expect_eq(p.out_len, 0);
	proc_free(&p);
}

Test(roundtrip, domainkeys_h_list_always_covers_the_sender)
{
	static const char msg[] =
	    "From: Author <author@elsewhere.example>\r\n"
	    "Sender: Robot <robot@example.com>\r\n"
	    "Subject: on behalf\r\n"
	    "\r\n"
	    "Sent by the robot.\r\n";
	char *s = SIGN(msg, "--type", "domainkeys", "--headers",
	    "from:subject", "--domain", "example.com", "--selector", "dk",
	    "--key", key_path("dk.private"), NULL);
	struct proc p;

	cr_expect(strstr(s, "h=sender:from:subject;") != NULL, "%s", s);
	VERIFY(&p, key_path("keys.zone"), s, strlen(s), "--domainkeys",
	    NULL);
	expect_sig(&p, 0, "pass", "pass");
	cr_expect_str_eq(json_get(p.out, 0, "sender"), "robot@example.com",
	    "%s", p.out);
	proc_free(&p);
	free(s);
}

Test(roundtrip, bare_lf_message_stays_lf_and_passes)
{
	char *s = ROUND_TRIP(msg_lf, 2, RSA_ARGS, "--selector", "e1",
	    "--key", key_path("e1.private"), NULL);
	size_t n = strlen(s);

	cr_expect_null(strchr(s, '\r'), "a CR in the output: %s", s);
	cr_expect(ends_with(s, n, msg_lf, strlen(msg_lf)),
	    "the message bytes changed: %s", s);
	cr_expect_eq(count_fields(s, "DKIM-Signature:"), 2);
	free(s);
}

Test(roundtrip, crlf_message_stays_crlf)
{
	char *s = ROUND_TRIP(msg_crlf, 1, RSA_ARGS, NULL);
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			cr_assert(i > 0 && s[i - 1] == '\r',
			    "bare LF at byte %zu", i);
		}
	}
	cr_expect(ends_with(s, n, msg_crlf, strlen(msg_crlf)),
	    "the message bytes changed");
	free(s);
}

Test(roundtrip, lf_signature_verifies_after_conversion_to_crlf)
{
	char *s = SIGN(msg_lf, RSA_ARGS, NULL);
	size_t n = strlen(s), k = 0;
	char *c = malloc(2 * n + 1);
	struct proc p;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			c[k++] = '\r';
		}
		c[k++] = s[i];
	}
	c[k] = '\0';
	VERIFY(&p, key_path("keys.zone"), c, k, NULL);
	json_one_object(&p);
	expect_sig(&p, 0, "pass", "pass");
	proc_free(&p);
	free(c);
	free(s);
}

/* ---- verify output and options ---- */

TestSuite(verify, .init = setup, .fini = teardown, .timeout = 60);

Test(verify, auth_results_comes_first_with_the_authserv_id)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, NULL);
	struct proc p;
	const char *ar;

	RUN(&p, s, strlen(s), "verify", "--dns-zone", key_path("keys.zone"),
	    "--authserv-id", "mx.test.example", NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_assert_eq(strncmp(p.out, "Authentication-Results:", 23), 0,
	    "%s", p.out);
	ar = sig_field(p.out, 0, "Authentication-Results:");
	cr_assert_not_null(ar);
	cr_expect_eq(strncmp(ar, " mx.test.example;", 17), 0, "%s", ar);
	cr_expect_not_null(strstr(ar, "dkim=pass"), "%s", ar);
	cr_expect(ends_with(p.out, p.out_len, s, strlen(s)),
	    "the message is not written after the field");
	proc_free(&p);
	free(s);
}

Test(verify, json_prints_exactly_one_object)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, NULL);
	struct proc p;

	VERIFY(&p, key_path("keys.zone"), s, strlen(s), NULL);
	json_one_object(&p);
	cr_expect_eq(json_nsigs(p.out), 1);
	cr_expect_str_eq(json_get(p.out, -1, "result"), "pass");
	cr_expect_str_eq(json_get(p.out, 0, "type"), "dkim");
	cr_expect_str_eq(json_get(p.out, 0, "d"), "example.com");
	cr_expect_str_eq(json_get(p.out, 0, "s"), "s1");
	cr_expect_str_eq(json_get(p.out, 0, "a"), "rsa-sha256");
	cr_expect_not_null(strstr(p.out, "\"reason\": \""), "%s", p.out);
	cr_expect_not_null(strstr(p.out, "\"i\": \""), "%s", p.out);
	cr_expect_eq(strstr(p.out, "Authentication-Results"), NULL,
	    "the message was printed too");
	proc_free(&p);
	free(s);
}

Test(verify, unsigned_message_is_none)
{
	struct proc p;

	VERIFY(&p, key_path("keys.zone"), msg_crlf, strlen(msg_crlf), NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_expect_str_eq(p.out, "{\"result\": \"none\", \"signatures\": []}\n");
	proc_free(&p);
}

Test(verify, exit_status_is_0_for_fail_and_permerror)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, NULL);
	char *body = strstr(s, "game");
	struct proc p;
	static const char broken[] =
	    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com\r\n"
	    "From: a@example.com\r\n\r\nbody\r\n";

	cr_assert_not_null(body);
	body[0] = 'n';
	VERIFY(&p, key_path("keys.zone"), s, strlen(s), NULL);
	json_one_object(&p);
	cr_expect_str_eq(json_get(p.out, -1, "result"), "fail");
	proc_free(&p);
	RUN(&p, s, strlen(s), "verify", "--dns-zone", key_path("keys.zone"),
	    "--authserv-id", "mx", NULL);
	cr_expect_eq(p.status, 0, "%s", p.err);
	cr_expect_not_null(strstr(p.out, "dkim=fail"), "%s", p.out);
	proc_free(&p);
	VERIFY(&p, key_path("keys.zone"), broken, strlen(broken), NULL);
	json_one_object(&p);
	cr_expect_str_eq(json_get(p.out, -1, "result"), "permerror");
	proc_free(&p);
	free(s);
}

/* usage_error - verify with args exits 2 and prints nothing on stdout */
static void
usage_error(const char *const *args)
{
	const char *argv[32];
	struct proc p;
	size_t n = 0;

	argv[n++] = "verify";
	while (*args != NULL) {
		argv[n++] = *args++;
	}
	argv[n] = NULL;
	run_dkimq(&p, msg_crlf, strlen(msg_crlf), argv);
	cr_expect_eq(p.status, 2, "%s %s: status %d", argv[1],
	    argv[2] ? argv[2] : "", p.status);
	cr_expect_eq(p.out_len, 0, "%s: stdout %s", argv[1], p.out);
	cr_expect_gt(p.err_len, 0, "%s: no message", argv[1]);
	proc_free(&p);
}

#define USAGE_ERROR(...) usage_error((const char *const[]){ __VA_ARGS__ })

Test(verify, bad_options_exit_2)
{
	const char *zone = key_path("keys.zone");

	USAGE_ERROR("--max-signatures", "0", "--dns-zone", zone, NULL);
	USAGE_ERROR("--max-signatures", "51", "--dns-zone", zone, NULL);
	USAGE_ERROR("--max-signatures", "many", "--dns-zone", zone, NULL);
	USAGE_ERROR("--no-such-option", "--dns-zone", zone, NULL);
	USAGE_ERROR("--dns", "127.0.0.1:5353", "--dns-zone", zone, NULL);
}

/* sign_usage_error - sign with the RSA key and args exits 2 */
static void
sign_usage_error(const char *a, const char *b)
{
	struct proc p;

	RUN(&p, msg_crlf, strlen(msg_crlf), "sign", RSA_ARGS, a, b, NULL);
	cr_expect_eq(p.status, 2, "sign %s %s: status %d: %.1500s", a, b,
	    p.status, p.err);
	cr_expect_eq(p.out_len, 0, "sign %s %s: stdout %s", a, b, p.out);
	proc_free(&p);
}

Test(verify, sign_bad_options_exit_2)
{
	sign_usage_error("--canon", "fancy/relaxed");
	sign_usage_error("--algorithm", "rsa-md5");
	sign_usage_error("--expire", "soon");
	sign_usage_error("--no-such-option", "x");
}

Test(verify, missing_input_file_exits_1)
{
	struct proc p;
	const char *path = tmp_path("no-such.eml");

	RUN(&p, NULL, 0, "verify", "--json", "--dns-zone",
	    key_path("keys.zone"), path, NULL);
	cr_expect_eq(p.status, 1, "status %d", p.status);
	cr_expect_eq(p.out_len, 0, "stdout: %s", p.out);
	cr_expect_not_null(strstr(p.err, "no-such.eml"), "%s", p.err);
	proc_free(&p);
}

Test(verify, max_signatures_1_checks_only_the_first)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, "--selector", "e1", "--key",
	    key_path("e1.private"), NULL);
	struct proc p;

	VERIFY(&p, key_path("keys.zone"), s, strlen(s), "--max-signatures",
	    "1", NULL);
	json_one_object(&p);
	cr_expect_eq(json_nsigs(p.out), 1, "%s", p.out);
	cr_expect_str_eq(json_get(p.out, 0, "s"), "s1");
	proc_free(&p);
	VERIFY(&p, key_path("keys.zone"), s, strlen(s), NULL);
	json_one_object(&p);
	cr_expect_eq(json_nsigs(p.out), 2, "%s", p.out);
	proc_free(&p);
	free(s);
}

Test(verify, reads_the_message_from_a_file_argument)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, NULL);
	const char *path = tmp_path("signed.eml");
	struct proc p;

	put_file(path, s, 0644);
	RUN(&p, NULL, 0, "verify", "--json", "--dns-zone",
	    key_path("keys.zone"), path, NULL);
	json_one_object(&p);
	expect_sig(&p, 0, "pass", "pass");
	proc_free(&p);
	free(s);
}

/* ---- RFC 8301 ---- */

TestSuite(rfc8301, .init = setup, .fini = teardown, .timeout = 60);

Test(rfc8301, rsa_1024_signs_with_a_warning)
{
	char *s;
	struct proc p, v;

	RUN(&p, msg_crlf, strlen(msg_crlf), "sign", "--domain",
	    "example.com", "--selector", "k1024", "--key",
	    key_path("k1024.private"), NULL);
	cr_assert_eq(p.status, 0, "%s", p.err);
	cr_expect_gt(p.err_len, 0, "no warning for a 1024-bit key");
	cr_expect(strstr(p.err, "1024") != NULL ||
	    strstr(p.err, "2048") != NULL || strstr(p.err, "8301") != NULL,
	    "warning: %s", p.err);
	s = p.out;
	VERIFY(&v, key_path("small.zone"), s, strlen(s), NULL);
	json_one_object(&v);
	expect_sig(&v, 0, "pass", "pass");
	proc_free(&v);
	proc_free(&p);
}

Test(rfc8301, rsa_sha1_without_allow_sha1_is_refused)
{
	struct proc p;

	RUN(&p, msg_crlf, strlen(msg_crlf), "sign", RSA_ARGS,
	    "--algorithm", "rsa-sha1", NULL);
	cr_expect_eq(p.status, 2, "status %d: %.1500s", p.status, p.err);
	cr_expect_eq(p.out_len, 0, "output: %s", p.out);
	proc_free(&p);
}

Test(rfc8301, rsa_sha1_verifies_only_with_allow_sha1)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, "--algorithm", "rsa-sha1",
	    "--allow-sha1", NULL);
	struct proc p;

	cr_expect_str_eq(sig_tag(s, 0, "a"), "rsa-sha1");
	VERIFY(&p, key_path("keys.zone"), s, strlen(s), NULL);
	json_one_object(&p);
	cr_expect_str_eq(json_get(p.out, 0, "result"), "permerror",
	    "%s", p.out);
	cr_expect_not_null(strstr(json_get(p.out, 0, "reason"), "8301"),
	    "%s", p.out);
	proc_free(&p);
	VERIFY(&p, key_path("keys.zone"), s, strlen(s), "--allow-sha1",
	    NULL);
	json_one_object(&p);
	expect_sig(&p, 0, "pass", "pass");
	proc_free(&p);
	free(s);
}

Test(rfc8301, rsa_768_key_is_refused_naming_1024)
{
	const char *key = tmp_path("k768.private");
	const char *const gen[] = {
		"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
		"rsa_keygen_bits:768", "-out", key, NULL,
	};
	struct proc p;

	cr_assert_eq(run_prog(&p, gen, NULL, 0), 0);
	cr_assert_eq(p.status, 0, "openssl: %s", p.err);
	proc_free(&p);
	chmod(key, 0600);
	RUN(&p, msg_crlf, strlen(msg_crlf), "sign", "--domain",
	    "example.com", "--selector", "k768", "--key", key, NULL);
	cr_expect_eq(p.status, 1, "status %d", p.status);
	cr_expect_not_null(strstr(p.err, "1024"), "%s", p.err);
	cr_expect_eq(p.out_len, 0, "output: %s", p.out);
	proc_free(&p);
}

/* ---- tampering ---- */

TestSuite(tamper, .init = setup, .fini = teardown, .timeout = 60);

/* verify_fails - s verifies as fail/verification_failed */
static void
verify_fails(const char *s)
{
	struct proc p;

	VERIFY(&p, key_path("keys.zone"), s, strlen(s), NULL);
	json_one_object(&p);
	cr_expect_str_eq(json_get(p.out, -1, "result"), "fail", "%s", p.out);
	expect_sig(&p, 0, "fail", "verification_failed");
	proc_free(&p);
}

Test(tamper, changed_body_byte_fails)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, NULL);
	char *b = strstr(s, "hungry");

	cr_assert_not_null(b);
	b[0] = 'H';
	verify_fails(s);
	free(s);
	s = SIGN(msg_crlf, ED_ARGS, NULL);
	b = strstr(s, "hungry");
	b[0] = 'H';
	verify_fails(s);
	free(s);
}

Test(tamper, changed_subject_fails)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, NULL);
	char *b = strstr(s, "Is dinner");

	cr_assert_not_null(b);
	memcpy(b, "No", 2);
	verify_fails(s);
	free(s);
}

Test(tamper, extra_from_on_top_fails)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, NULL);
	size_t n = strlen(s);
	static const char from[] = "From: Mallory <m@evil.example>\r\n";
	char *t = malloc(n + sizeof(from));

	memcpy(t, from, sizeof(from) - 1);
	memcpy(t + sizeof(from) - 1, s, n + 1);
	verify_fails(t);
	free(t);
	free(s);
}

/* ---- expiry ---- */

TestSuite(expiry, .init = setup, .fini = teardown, .timeout = 60);

Test(expiry, expired_signature_is_permerror)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, "--expire", "60", NULL);
	struct proc p;

	VERIFY(&p, key_path("keys.zone"), s, strlen(s), "--time",
	    "4000000000", NULL);
	json_one_object(&p);
	expect_sig(&p, 0, "permerror", "invalid_signature");
	cr_expect(contains_ci(json_get(p.out, 0, "reason"), "expired"),
	    "%s", p.out);
	proc_free(&p);

	/* Within the minute it still passes. */
	VERIFY(&p, key_path("keys.zone"), s, strlen(s), NULL);
	json_one_object(&p);
	expect_sig(&p, 0, "pass", "pass");
	proc_free(&p);
	free(s);
}

Test(expiry, x_before_t_is_permerror)
{
	static const char m[] =
	    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
	    " d=example.com; s=s1; t=2000; x=1000; h=from:subject;\r\n"
	    " bh=" SOME_BH "; b=dGVzdA==\r\n"
	    "From: Joe <joe@example.com>\r\n"
	    "Subject: hi\r\n"
	    "\r\n";
	struct proc p;

	/* At time 500 the signature is not yet expired: only x < t is
	 * wrong with it, apart from the signature bytes. */
	VERIFY(&p, key_path("keys.zone"), m, strlen(m), "--time", "500",
	    NULL);
	json_one_object(&p);
	expect_sig(&p, 0, "permerror", "invalid_signature");
	cr_expect_not_null(strstr(json_get(p.out, 0, "reason"), "x="),
	    "%s", p.out);
	proc_free(&p);
}

/* ---- key records ---- */

TestSuite(keyrec, .init = setup, .fini = teardown, .timeout = 60);

/* verify_with_zone - sign with s1, verify against a one-line zone */
static void
verify_with_zone(struct proc *p, const char *zone_text)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, NULL);
	const char *zone = tmp_path("one.zone");

	put_file(zone, zone_text, 0644);
	VERIFY(p, zone, s, strlen(s), NULL);
	json_one_object(p);
	free(s);
}

Test(keyrec, revoked_key_is_invalid_dns_selector)
{
	struct proc p;

	verify_with_zone(&p, "s1._domainkey.example.com. 3600 TXT "
	    "\"v=DKIM1; k=rsa; p=\"\n");
	cr_expect_str_eq(json_get(p.out, -1, "result"), "permerror");
	expect_sig(&p, 0, "permerror", "invalid_dns_selector");
	proc_free(&p);
}

Test(keyrec, nxdomain_is_invalid_dns_selector)
{
	struct proc p;

	verify_with_zone(&p, "s1._domainkey.example.com. NXDOMAIN\n");
	expect_sig(&p, 0, "permerror", "invalid_dns_selector");
	proc_free(&p);
	verify_with_zone(&p, "; nothing listed\n");
	expect_sig(&p, 0, "permerror", "invalid_dns_selector");
	proc_free(&p);
}

Test(keyrec, timeout_is_dns_unreachable)
{
	struct proc p;

	verify_with_zone(&p, "s1._domainkey.example.com. TIMEOUT\n");
	cr_expect_str_eq(json_get(p.out, -1, "result"), "temperror");
	expect_sig(&p, 0, "temperror", "dns_unreachable");
	proc_free(&p);
}

Test(keyrec, servfail_is_dns_unreachable)
{
	struct proc p;

	verify_with_zone(&p, "s1._domainkey.example.com. SERVFAIL\n");
	cr_expect_str_eq(json_get(p.out, -1, "result"), "temperror");
	expect_sig(&p, 0, "temperror", "dns_unreachable");
	proc_free(&p);
}

Test(keyrec, testing_key_passes_and_says_so)
{
	char *s = SIGN(msg_crlf, "--domain", "example.com", "--selector",
	    "t1", "--key", key_path("t1.private"), NULL);
	struct proc p;

	VERIFY(&p, key_path("testing.zone"), s, strlen(s), NULL);
	json_one_object(&p);
	expect_sig(&p, 0, "pass", "pass");
	cr_expect(strstr(p.out, "\"testing\": true") != NULL ||
	    contains_ci(json_get(p.out, 0, "reason"), "testing"),
	    "%s", p.out);
	proc_free(&p);
	RUN(&p, s, strlen(s), "verify", "--dns-zone",
	    key_path("testing.zone"), "--authserv-id", "mx", NULL);
	cr_assert_eq(p.status, 0);
	cr_expect(contains_ci(sig_field(p.out, 0,
	    "Authentication-Results:"), "testing"), "%s", p.out);
	proc_free(&p);
	free(s);
}

/* ---- bad input ---- */

TestSuite(badinput, .init = setup, .fini = teardown, .timeout = 120);

/* judge - verify in; exit 0 with one JSON verdict, or exit 1 with a
 * one-line error; a crash, sanitizer report or hang fails */
static void
judge(struct proc *p, const char *in, size_t len, const char *const *extra)
{
	verify_json(p, key_path("keys.zone"), in, len, extra);
	cr_assert(p->status == 0 || p->status == 1,
	    "verify exited %d (timeout %d): %.2000s", p->status,
	    STATUS_TIMEOUT, p->err);
	if (p->status == 0) {
		json_one_object(p);
	} else {
		cr_expect_gt(p->err_len, 0);
		cr_expect_eq(strchr(p->err, '\n'), p->err + p->err_len - 1,
		    "not one line: %s", p->err);
	}
}

#define JUDGE(p, in, len, ...) \
	judge((p), (in), (len), (const char *const[]){ __VA_ARGS__ })

/* judge_sign - sign in; exit 0 or a one-line exit 1 */
static void
judge_sign(const char *in, size_t len)
{
	struct proc p;

	RUN(&p, in, len, "sign", RSA_ARGS, NULL);
	cr_assert(p.status == 0 || p.status == 1,
	    "sign exited %d: %.2000s", p.status, p.err);
	if (p.status == 1) {
		cr_expect_eq(strchr(p.err, '\n'), p.err + p.err_len - 1,
		    "not one line: %s", p.err);
	}
	proc_free(&p);
}

Test(badinput, empty_input)
{
	struct proc p;

	JUDGE(&p, "", 0, NULL);
	if (p.status == 0) {
		cr_expect_str_eq(json_get(p.out, -1, "result"), "none");
	}
	proc_free(&p);
	judge_sign("", 0);
}

Test(badinput, message_without_body)
{
	static const char m[] = "From: joe@example.com\r\nSubject: x\r\n";
	struct proc p;

	JUDGE(&p, m, strlen(m), NULL);
	proc_free(&p);
	judge_sign(m, strlen(m));
}

Test(badinput, signed_message_without_body_separator)
{
	static const char m[] = "From: joe@example.com\r\nSubject: x\r\n";
	char *s = SIGN(m, RSA_ARGS, NULL);
	struct proc p;

	JUDGE(&p, s, strlen(s), NULL);
	cr_expect_str_eq(json_get(p.out, 0, "result"), "pass", "%s", p.out);
	proc_free(&p);
	free(s);
}

Test(badinput, header_line_without_colon)
{
	static const char m[] = "From: joe@example.com\r\n"
	    "this line has no colon\r\nSubject: x\r\n\r\nbody\r\n";
	struct proc p;

	JUDGE(&p, m, strlen(m), NULL);
	proc_free(&p);
	judge_sign(m, strlen(m));
}

Test(badinput, nul_bytes_in_header_and_body)
{
	static const char m[] = "From: joe@example.com\r\n"
	    "Subject: a\0b\r\n\r\nbo\0dy\r\n";
	struct proc p;

	JUDGE(&p, m, sizeof(m) - 1, NULL);
	proc_free(&p);
	judge_sign(m, sizeof(m) - 1);
}

Test(badinput, eight_bit_bytes_in_headers)
{
	static const char m[] = "From: J\xc3\xb6rg <j@example.com>\r\n"
	    "Subject: \xff\xfe\x80 caf\xe9\r\n\r\nbody\r\n";
	struct proc p;
	char *s;

	JUDGE(&p, m, strlen(m), NULL);
	proc_free(&p);
	s = SIGN(m, RSA_ARGS, NULL);
	JUDGE(&p, s, strlen(s), NULL);
	expect_sig(&p, 0, "pass", "pass");
	proc_free(&p);
	free(s);
}

Test(badinput, one_megabyte_header_line)
{
	size_t big = 1 << 20;
	char *m = malloc(big + 100);
	size_t n = 0;
	struct proc p;

	n += (size_t)sprintf(m, "From: joe@example.com\r\nX-Big: ");
	memset(m + n, 'a', big);
	n += big;
	n += (size_t)sprintf(m + n, "\r\n\r\nbody\r\n");
	JUDGE(&p, m, n, NULL);
	proc_free(&p);
	judge_sign(m, n);
	free(m);
}

Test(badinput, ten_thousand_header_fields)
{
	char *m = malloc(10000 * 32 + 100);
	size_t n = 0;
	struct proc p;

	n += (size_t)sprintf(m, "From: joe@example.com\r\n");
	for (int i = 0; i < 10000; i++) {
		n += (size_t)sprintf(m + n, "X-Field-%d: v\r\n", i);
	}
	n += (size_t)sprintf(m + n, "\r\nbody\r\n");
	JUDGE(&p, m, n, NULL);
	proc_free(&p);
	judge_sign(m, n);
	free(m);
}

/* hand_sig - judge a message under "DKIM-Signature: tags" and expect
 * the one signature to be permerror invalid_signature with a reason
 * holding why (any case; NULL: any reason); *p is kept */
static void
hand_sig(struct proc *p, const char *tags, const char *why)
{
	char m[4096];
	int n = snprintf(m, sizeof(m), "DKIM-Signature: %s\r\n"
	    "From: Joe <joe@example.com>\r\nSubject: hi\r\n\r\nHi.\r\n",
	    tags);

	JUDGE(p, m, (size_t)n, NULL);
	cr_assert_eq(p->status, 0, "%s", p->err);
	cr_expect_str_eq(json_get(p->out, -1, "result"), "permerror",
	    "%s: %s", tags, p->out);
	cr_expect_eq(json_nsigs(p->out), 1, "%s", p->out);
	expect_sig(p, 0, "permerror", "invalid_signature");
	if (why != NULL) {
		cr_expect(contains_ci(json_get(p->out, 0, "reason"), why),
		    "reason lacks \"%s\": %s", why, p->out);
	}
}

#define TAGS_OK_BUT(x) "v=1; a=rsa-sha256; c=relaxed/relaxed; " \
	"d=example.com; s=s1; h=from:subject; " x

Test(badinput, duplicate_tag_is_permerror_naming_it)
{
	struct proc p;

	hand_sig(&p, TAGS_OK_BUT("s=s2; bh=" SOME_BH "; b=dGVzdA=="),
	    "duplicate");
	proc_free(&p);
}

Test(badinput, unknown_algorithm_is_permerror)
{
	struct proc p;

	hand_sig(&p, "v=1; a=rsa-md5; d=example.com; s=s1; h=from; "
	    "bh=" SOME_BH "; b=dGVzdA==", "rsa-md5");
	proc_free(&p);
}

Test(badinput, garbage_base64_in_b_is_permerror)
{
	struct proc p;

	hand_sig(&p, TAGS_OK_BUT("bh=" SOME_BH "; b=!!not*base64??"), "b=");
	proc_free(&p);
}

Test(badinput, garbage_base64_in_bh_is_permerror)
{
	struct proc p;

	hand_sig(&p, TAGS_OK_BUT("bh=%%%zz%%%; b=dGVzdA=="), "bh=");
	proc_free(&p);
}

Test(badinput, missing_required_tags_are_permerror)
{
	static const char *const sigs[] = {
		/* no v= */
		"a=rsa-sha256; d=example.com; s=s1; h=from; bh=" SOME_BH
		    "; b=dGVzdA==",
		/* no a= */
		"v=1; d=example.com; s=s1; h=from; bh=" SOME_BH
		    "; b=dGVzdA==",
		/* no d= */
		"v=1; a=rsa-sha256; s=s1; h=from; bh=" SOME_BH
		    "; b=dGVzdA==",
		/* no s= */
		"v=1; a=rsa-sha256; d=example.com; h=from; bh=" SOME_BH
		    "; b=dGVzdA==",
		/* no h= */
		"v=1; a=rsa-sha256; d=example.com; s=s1; bh=" SOME_BH
		    "; b=dGVzdA==",
		/* no bh= */
		"v=1; a=rsa-sha256; d=example.com; s=s1; h=from; "
		    "b=dGVzdA==",
		/* no b= */
		"v=1; a=rsa-sha256; d=example.com; s=s1; h=from; bh="
		    SOME_BH,
	};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct proc p;

		hand_sig(&p, sigs[i], NULL);
		proc_free(&p);
	}
}

Test(badinput, h_without_from_is_permerror)
{
	struct proc p;

	hand_sig(&p, "v=1; a=rsa-sha256; d=example.com; s=s1; "
	    "h=subject; bh=" SOME_BH "; b=dGVzdA==", "from");
	proc_free(&p);
}

Test(badinput, identity_outside_d_is_permerror)
{
	struct proc p;

	hand_sig(&p, TAGS_OK_BUT("i=joe@example.org; bh=" SOME_BH
	    "; b=dGVzdA=="), "i=");
	proc_free(&p);
}

Test(badinput, l_larger_than_the_body_fails)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, "--body-length", NULL);
	char *cut = strstr(s, "Joe.\r\n");
	struct proc p;

	cr_assert_not_null(cut);
	*cut = '\0';
	JUDGE(&p, s, strlen(s), NULL);
	cr_expect_str_eq(json_get(p.out, 0, "result"), "fail", "%s", p.out);
	cr_expect_not_null(strstr(json_get(p.out, 0, "reason"), "l="),
	    "%s", p.out);
	proc_free(&p);
	free(s);
}

Test(badinput, signature_field_without_value_is_permerror)
{
	static const char *const ms[] = {
		"DKIM-Signature:\r\nFrom: joe@example.com\r\n\r\nHi.\r\n",
		"DKIM-Signature:   \r\nFrom: joe@example.com\r\n\r\nHi.\r\n",
	};

	for (size_t i = 0; i < 2; i++) {
		struct proc p;

		JUDGE(&p, ms[i], strlen(ms[i]), NULL);
		cr_assert_eq(p.status, 0, "%s", p.err);
		cr_expect_eq(json_nsigs(p.out), 1, "%s", p.out);
		expect_sig(&p, 0, "permerror", "invalid_signature");
		proc_free(&p);
	}
}

Test(badinput, sixty_signatures_report_the_first_fifty)
{
	char *s = SIGN(msg_crlf, RSA_ARGS, NULL);
	const char *end = strstr(s, "From: ");
	size_t slen = (size_t)(end - s), blen = strlen(end);
	char *m = malloc(60 * slen + blen + 1), *w = m;
	struct proc p;

	for (int i = 0; i < 60; i++) {
		memcpy(w, s, slen);
		w += slen;
	}
	memcpy(w, end, blen + 1);
	JUDGE(&p, m, strlen(m), "--max-signatures", "50", NULL);
	cr_assert_eq(p.status, 0);
	cr_expect_eq(json_nsigs(p.out), 50, "%zu reported",
	    json_nsigs(p.out));
	cr_expect_str_eq(json_get(p.out, -1, "result"), "pass");
	cr_expect_str_eq(json_get(p.out, 49, "result"), "pass");
	proc_free(&p);
	free(m);
	free(s);
}

/* ---- configuration ---- */

TestSuite(config, .init = setup, .fini = teardown, .timeout = 60);

/* conf_text - a configuration with s1 (rsa) and e1 (ed25519) for
 * example.com, with extra appended to the domain section */
static void
write_conf(const char *path, const char *rsa_key, const char *extra)
{
	char text[4096];

	snprintf(text, sizeof(text),
	    "[selector:s1]\n"				/* 1 */
	    "type = dkim\n"				/* 2 */
	    "key = %s\n"				/* 3 */
	    "algorithm = rsa-sha256\n"			/* 4 */
	    "domains = example.com\n"			/* 5 */
	    "\n"					/* 6 */
	    "[selector:e1]\n"				/* 7 */
	    "type = dkim\n"				/* 8 */
	    "key = %s\n"				/* 9 */
	    "algorithm = ed25519-sha256\n"		/* 10 */
	    "domains = example.com\n"			/* 11 */
	    "\n"					/* 12 */
	    "[domain:example.com]\n"			/* 13 */
	    "dkim_selector = s1, e1\n"			/* 14 */
	    "%s",					/* 15 */
	    rsa_key, key_path("e1.private"), extra);
	put_file(path, text, 0644);
}

/* check_config - run check-config on path */
static void
check_config(struct proc *p, const char *path)
{
	RUN(p, NULL, 0, "check-config", path, NULL);
}

/* expect_problem - exit 1 and a "FILE:LINE: ..." line holding what */
static void
expect_problem(const char *path, int line, const char *what)
{
	struct proc p;
	char *all, prefix[600];
	const char *hit = NULL;

	check_config(&p, path);
	cr_expect_eq(p.status, 1, "status %d: %s%s", p.status, p.out, p.err);
	all = malloc(p.out_len + p.err_len + 2);
	sprintf(all, "%s\n%s", p.out, p.err);
	for (char *l = strtok(all, "\n"); l != NULL; l = strtok(NULL, "\n")) {
		if (strstr(l, what) == NULL) {
			continue;
		}
		hit = l;
		if (line > 0) {
			snprintf(prefix, sizeof(prefix), "%s:%d: ", path,
			    line);
			cr_expect_eq(strncmp(l, prefix, strlen(prefix)), 0,
			    "want %s...: %s", prefix, l);
		} else {
			size_t pl = strlen(path);
			const char *q = l + pl + 1;

			cr_expect(strncmp(l, path, pl) == 0 &&
			    l[pl] == ':' && strspn(q, "0123456789") > 0 &&
			    strncmp(q + strspn(q, "0123456789"), ": ", 2) ==
			    0, "not FILE:LINE: %s", l);
		}
		break;
	}
	cr_expect_not_null(hit, "no line naming \"%s\": %s%s", what, p.out,
	    p.err);
	free(all);
	proc_free(&p);
}

Test(config, valid_configuration_is_ok)
{
	const char *conf = tmp_path("ok.conf");
	struct proc p;

	write_conf(conf, key_path("s1.private"), "");
	check_config(&p, conf);
	cr_expect_eq(p.status, 0, "%s%s", p.out, p.err);
	cr_expect_not_null(strstr(p.out, "ok"), "%s", p.out);
	proc_free(&p);
}

Test(config, unknown_key_is_named_with_its_line)
{
	const char *conf = tmp_path("bad.conf");

	write_conf(conf, key_path("s1.private"), "colour = blue\n");
	expect_problem(conf, 15, "colour");
}

Test(config, bad_action_is_named_with_its_line)
{
	const char *conf = tmp_path("bad.conf");

	write_conf(conf, key_path("s1.private"),
	    "verification_failed = explode\n");
	expect_problem(conf, 15, "verification_failed");
}

Test(config, group_readable_key_file_is_a_problem)
{
	const char *conf = tmp_path("bad.conf");
	const char *key = tmp_path("s1.private");
	FILE *in = fopen(key_path("s1.private"), "r");
	char buf[8192];
	size_t n;

	/* The shared key, copied with mode 0644. */
	cr_assert_not_null(in);
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	cr_assert_eq(write_file(key, buf, n, 0644), 0);
	write_conf(conf, key, "");
	expect_problem(conf, 0, key);
}

Test(config, two_active_rsa_selectors_for_a_domain_clash)
{
	const char *conf = tmp_path("bad.conf");
	char text[4096];

	snprintf(text, sizeof(text),
	    "[selector:s1]\ntype = dkim\nkey = %s\n"
	    "algorithm = rsa-sha256\ndomains = example.com\n\n"
	    "[selector:k1024]\ntype = dkim\nkey = %s\n"
	    "algorithm = rsa-sha256\ndomains = example.com\n\n"
	    "[domain:example.com]\ndkim_selector = s1, k1024\n",
	    key_path("s1.private"), key_path("k1024.private"));
	put_file(conf, text, 0644);
	expect_problem(conf, 0, "two active");
}

Test(config, missing_key_file_is_named)
{
	const char *conf = tmp_path("bad.conf");
	const char *key = tmp_path("absent.private");

	write_conf(conf, key, "");
	expect_problem(conf, 0, key);
}

Test(config, sign_uses_the_active_selectors_of_the_from_domain)
{
	const char *conf = tmp_path("sign.conf");
	char text[4096];
	char *s;

	snprintf(text, sizeof(text),
	    "[selector:s1]\ntype = dkim\nkey = %s\n"
	    "domains = example.com\n\n"
	    "[selector:e1]\ntype = dkim\nkey = %s\n"
	    "algorithm = ed25519-sha256\ndomains = example.com\n\n"
	    "[selector:k1024]\ntype = dkim\nkey = %s\n"
	    "domains = example.com\nstatus = off\n\n"
	    "[domain:example.com]\ndkim_selector = s1, e1, k1024\n",
	    key_path("s1.private"), key_path("e1.private"),
	    key_path("k1024.private"));
	put_file(conf, text, 0644);
	s = ROUND_TRIP(msg_crlf, 2, "--config", conf, NULL);
	cr_expect_eq(count_fields(s, "DKIM-Signature:"), 2);
	cr_expect_str_eq(sig_tag(s, 0, "s"), "s1");
	cr_expect_str_eq(sig_tag(s, 0, "d"), "example.com");
	cr_expect_str_eq(sig_tag(s, 1, "s"), "e1");
	cr_expect_str_eq(sig_tag(s, 1, "a"), "ed25519-sha256");
	free(s);
}

Test(config, sign_as_sets_d_to_the_sign_as_domain)
{
	const char *conf = tmp_path("sign.conf");
	static const char m[] =
	    "From: Ann <ann@example.org>\r\nSubject: hi\r\n\r\nHi.\r\n";
	char text[4096];
	char *s;

	snprintf(text, sizeof(text),
	    "[selector:s1]\ntype = dkim\nkey = %s\n"
	    "domains = example.org\nsign_as = example.com\n\n"
	    "[domain:example.org]\ndkim_selector = s1\n",
	    key_path("s1.private"));
	put_file(conf, text, 0644);
	s = ROUND_TRIP(m, 1, "--config", conf, NULL);
	cr_expect_str_eq(sig_tag(s, 0, "d"), "example.com");
	cr_expect_str_eq(sig_tag(s, 0, "s"), "s1");
	free(s);
}
