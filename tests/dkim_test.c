// SPDX-License-Identifier: MIT
/*
 * dkim_test - the dkim/dkim.h contract: the three-step verifier (begin
 * lists one query per distinct key record, dkim_verify_key hands the
 * answers over, an unanswered query is a temperror), dkim_verify_message
 * over a zone source on the RFC 8463 A.3 message, and the two
 * renderings: the Authentication-Results field (header.d, header.s, an
 * eight-character header.b, escaped comments) and the JSON report
 * (quotes, backslashes and control bytes escaped).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dkim/dkim.h"

#define VECTORS DKIMQ_SHARED "/testdata/interop"
#define RFC8463_MSG VECTORS "/messages/mailauth_rfc8463_signed.eml"
#define RFC8463_ED "brisbane._domainkey.football.example.com"
#define RFC8463_RSA "test._domainkey.football.example.com"

/* The state of one test: a message, its parse, a verifier, a zone. */
static char *msg;
static size_t msg_len;
static struct canon_msg cm;
static struct dkim_verifier *ver;
static struct dns_source *zone;
static struct dkim_report *rep;

/* load_msg - read path into msg */
static void
load_msg(const char *path)
{
	cr_assert_eq(cli_read_file(path, &msg, &msg_len), 0, "%s", path);
}

/* parse_msg - frame msg into cm */
static void
parse_msg(void)
{
	cr_assert_eq(canon_msg_parse(&cm, msg, msg_len), 0);
}

/* setup - a verifier, the shared zone and a report */
static void
setup(void)
{
	char err[256] = "";

	canon_msg_init(&cm);
	ver = dkim_verifier_create();
	cr_assert_not_null(ver);
	cr_assert_eq(dns_zone_open(VECTORS "/keys.zone", &zone, err,
	    sizeof(err)), 0, "%s", err);
	rep = calloc(1, sizeof(*rep));
	cr_assert_not_null(rep);
}

/* teardown - release what setup and the test made */
static void
teardown(void)
{
	canon_msg_free(&cm);
	dkim_verifier_free(ver);
	dns_source_free(zone);
	free(rep);
	free(msg);
	msg = NULL;
}

/* opts - strict DKIM verification of up to 50 signatures */
static struct dkim_verify_opts
opts(void)
{
	struct dkim_verify_opts o = {
		.max_signatures = DKIM_MAX_SIGNATURES,
		.dkim = true,
	};

	return o;
}

/* with_rsa_copy - msg with the RSA signature (its second field) copied
 * on top, so that two signatures share selector "test" */
static void
with_rsa_copy(void)
{
	const char *rsa = strstr(msg, "DKIM-Signature: v=1; a=rsa-sha256");
	const char *end = strstr(msg, "From: ");
	size_t n = (size_t)(end - rsa);
	char *m;

	cr_assert_not_null(rsa);
	cr_assert_not_null(end);
	cr_assert_lt(rsa, end);
	m = malloc(msg_len + n + 1);
	cr_assert_not_null(m);
	memcpy(m, rsa, n);
	memcpy(m + n, msg, msg_len + 1);
	free(msg);
	msg = m;
	msg_len += n;
}

/* answer - fetch query q from the zone and hand it to the verifier */
static void
answer(const struct dkim_key_query *q, size_t i)
{
	struct dns_key_result a;

	memset(&a, 0, sizeof(a));
	cr_assert_eq(dns_key_fetch(zone, q[i].kind, q[i].qname, &a), 0,
	    "%s", q[i].qname);
	dkim_verify_key(ver, i, &a);
}

/* results - "r,r,r" of the report's signatures */
static const char *
results(void)
{
	static char buf[512];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rep->nsigs && n < sizeof(buf); i++) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
		    i ? "," : "", dkim_result_name(rep->sigs[i].result));
	}
	return buf;
}

/* ---- the three-step verifier ---- */

TestSuite(verifier, .init = setup, .fini = teardown);

Test(verifier, begin_lists_one_query_per_key_record)
{
	struct dkim_verify_opts o = opts();
	const struct dkim_key_query *q = NULL;
	int n;

	load_msg(RFC8463_MSG);
	parse_msg();
	n = dkim_verify_begin(ver, &cm, &o, &q);
	cr_assert_eq(n, 2);
	cr_assert_not_null(q);
	cr_expect_eq(q[0].kind, DNS_KEY_DKIM);
	cr_expect_eq(q[1].kind, DNS_KEY_DKIM);
	cr_expect_str_eq(q[0].qname, RFC8463_ED);
	cr_expect_str_eq(q[1].qname, RFC8463_RSA);
	for (int i = 0; i < n; i++) {
		answer(q, (size_t)i);
	}
	cr_assert_eq(dkim_verify_end(ver, rep), 0);
	cr_expect_str_eq(results(), "pass,pass");
}

Test(verifier, signatures_sharing_a_selector_make_one_query)
{
	struct dkim_verify_opts o = opts();
	const struct dkim_key_query *q = NULL;
	int n;

	load_msg(RFC8463_MSG);
	with_rsa_copy();
	parse_msg();
	n = dkim_verify_begin(ver, &cm, &o, &q);
	cr_assert_eq(n, 2, "%d queries for two distinct records", n);
	cr_expect_str_neq(q[0].qname, q[1].qname);
	for (int i = 0; i < n; i++) {
		cr_expect(strcmp(q[i].qname, RFC8463_ED) == 0 ||
		    strcmp(q[i].qname, RFC8463_RSA) == 0, "%s", q[i].qname);
		answer(q, (size_t)i);
	}
	cr_assert_eq(dkim_verify_end(ver, rep), 0);
	cr_expect_eq(rep->nsigs, 3);
	cr_expect_str_eq(results(), "pass,pass,pass");
	cr_expect_str_eq(rep->sigs[0].selector, "test");
	cr_expect_str_eq(rep->sigs[1].selector, "brisbane");
	cr_expect_str_eq(rep->sigs[2].selector, "test");
	cr_expect_eq(rep->result, DKIM_RES_PASS);
}

Test(verifier, unanswered_queries_are_temperror)
{
	struct dkim_verify_opts o = opts();
	const struct dkim_key_query *q = NULL;

	load_msg(RFC8463_MSG);
	parse_msg();
	cr_assert_eq(dkim_verify_begin(ver, &cm, &o, &q), 2);
	cr_assert_eq(dkim_verify_end(ver, rep), 0);
	cr_assert_eq(rep->nsigs, 2);
	cr_expect_str_eq(results(), "temperror,temperror");
	cr_expect_eq(rep->sigs[0].category, DKIM_CAT_DNS_UNREACHABLE);
	cr_expect_eq(rep->result, DKIM_RES_TEMPERROR);
}

Test(verifier, one_unanswered_query_leaves_the_other_signature_judged)
{
	struct dkim_verify_opts o = opts();
	const struct dkim_key_query *q = NULL;

	load_msg(RFC8463_MSG);
	parse_msg();
	cr_assert_eq(dkim_verify_begin(ver, &cm, &o, &q), 2);
	answer(q, 1);
	cr_assert_eq(dkim_verify_end(ver, rep), 0);
	cr_expect_str_eq(results(), "temperror,pass");
	cr_expect_eq(rep->result, DKIM_RES_PASS);
}

Test(verifier, answers_given_by_hand_decide_the_category)
{
	struct dkim_verify_opts o = opts();
	const struct dkim_key_query *q = NULL;
	struct dns_key_result a;

	load_msg(RFC8463_MSG);
	parse_msg();
	cr_assert_eq(dkim_verify_begin(ver, &cm, &o, &q), 2);
	memset(&a, 0, sizeof(a));
	a.status = DNS_NXDOMAIN;
	dkim_verify_key(ver, 0, &a);
	memset(&a, 0, sizeof(a));
	a.status = DNS_TIMEOUT;
	dkim_verify_key(ver, 1, &a);
	cr_assert_eq(dkim_verify_end(ver, rep), 0);
	cr_expect_str_eq(results(), "permerror,temperror");
	cr_expect_eq(rep->sigs[0].category, DKIM_CAT_INVALID_DNS_SELECTOR);
	cr_expect_eq(rep->sigs[1].category, DKIM_CAT_DNS_UNREACHABLE);
	cr_expect_eq(rep->result, DKIM_RES_TEMPERROR);
}

Test(verifier, answer_is_moved_and_zeroed)
{
	struct dkim_verify_opts o = opts();
	const struct dkim_key_query *q = NULL;
	struct dns_key_result a, zero;

	load_msg(RFC8463_MSG);
	parse_msg();
	cr_assert_eq(dkim_verify_begin(ver, &cm, &o, &q), 2);
	for (size_t i = 0; i < 2; i++) {
		memset(&a, 0, sizeof(a));
		cr_assert_eq(dns_key_fetch(zone, q[i].kind, q[i].qname, &a),
		    0);
		cr_assert(a.parsed, "%s: %s", q[i].qname, a.reason);
		dkim_verify_key(ver, i, &a);
		memset(&zero, 0, sizeof(zero));
		cr_expect_eq(memcmp(&a, &zero, sizeof(a)), 0,
		    "answer %zu not zeroed", i);
	}
	cr_assert_eq(dkim_verify_end(ver, rep), 0);
	cr_expect_str_eq(results(), "pass,pass");
}

Test(verifier, unsigned_message_needs_no_query)
{
	static const char m[] = "From: a@example.com\r\n\r\nHi.\r\n";
	struct dkim_verify_opts o = opts();
	const struct dkim_key_query *q = NULL;

	msg = strdup(m);
	msg_len = strlen(m);
	parse_msg();
	cr_assert_eq(dkim_verify_begin(ver, &cm, &o, &q), 0);
	cr_assert_eq(dkim_verify_end(ver, rep), 0);
	cr_expect_eq(rep->nsigs, 0);
	cr_expect_eq(rep->result, DKIM_RES_NONE);
}

Test(verifier, rfc8463_message_passes_twice_from_a_zone)
{
	struct dkim_verify_opts o = opts();

	load_msg(RFC8463_MSG);
	parse_msg();
	cr_assert_eq(dkim_verify_message(ver, &cm, &o, zone, rep), 0);
	cr_assert_eq(rep->nsigs, 2);
	cr_expect_str_eq(results(), "pass,pass");
	cr_expect_eq(rep->result, DKIM_RES_PASS);
	cr_expect_str_eq(rep->sigs[0].alg, "ed25519-sha256");
	cr_expect_str_eq(rep->sigs[1].alg, "rsa-sha256");
	cr_expect_str_eq(rep->sigs[0].sdid, "football.example.com");
	cr_expect_str_eq(rep->sigs[0].identity, "@football.example.com");
	cr_expect_eq(rep->sigs[0].category, DKIM_CAT_PASS);
	cr_expect_eq(rep->sigs[1].category, DKIM_CAT_PASS);
}

Test(verifier, rfc8463_message_with_a_changed_body_fails_twice)
{
	struct dkim_verify_opts o = opts();
	char *p;

	load_msg(RFC8463_MSG);
	p = strstr(msg, "hungry");
	cr_assert_not_null(p);
	p[0] = 'H';
	parse_msg();
	cr_assert_eq(dkim_verify_message(ver, &cm, &o, zone, rep), 0);
	cr_expect_str_eq(results(), "fail,fail");
	cr_expect_eq(rep->sigs[0].category, DKIM_CAT_VERIFICATION_FAILED);
}

/* ---- Authentication-Results ---- */

TestSuite(auth_results, .init = setup, .fini = teardown);

/* ar_text - the field for rep under mx.example.net, NUL-terminated;
 * the caller frees it */
static char *
ar_text(bool dkim, bool domainkeys, bool crlf)
{
	struct dkim_buf b = { 0 };

	cr_assert_eq(dkim_auth_results(&b, "mx.example.net", rep, dkim,
	    domainkeys, crlf), 0);
	cr_assert_eq(dkim_buf_add(&b, "", 1), 0);
	return b.data;
}

/* unfold - s with every line break and the WSP after it made one SP */
static char *
unfold(const char *s)
{
	char *u = malloc(strlen(s) + 1), *w = u;

	cr_assert_not_null(u);
	while (*s != '\0') {
		if (*s == '\r' || *s == '\n') {
			s += strspn(s, "\r\n");
			if (*s == ' ' || *s == '\t') {
				s += strspn(s, " \t");
				*w++ = ' ';
			}
			continue;
		}
		*w++ = *s++;
	}
	*w = '\0';
	return u;
}

/* prop - the value after "name=" in s, up to WSP, ';' or the end */
static const char *
prop(const char *s, const char *name, int nth)
{
	static char v[256];
	char pat[64];
	const char *p = s;
	size_t n;

	snprintf(pat, sizeof(pat), " %s=", name);
	for (int k = 0; k <= nth && p != NULL; k++) {
		p = strstr(k == 0 ? p : p + 1, pat);
	}
	if (p == NULL) {
		return "";
	}
	p += strlen(pat);
	n = strcspn(p, " \t;\r\n");
	snprintf(v, sizeof(v), "%.*s", (int)n, p);
	return v;
}

Test(auth_results, verified_message_names_d_s_and_eight_chars_of_b)
{
	struct dkim_verify_opts o = opts();
	char *t, *u;

	load_msg(RFC8463_MSG);
	parse_msg();
	cr_assert_eq(dkim_verify_message(ver, &cm, &o, zone, rep), 0);
	t = ar_text(true, false, true);
	u = unfold(t);
	cr_expect_eq(strncmp(t, "Authentication-Results: mx.example.net;",
	    39), 0, "%s", t);
	cr_expect_eq(strcmp(t + strlen(t) - 2, "\r\n"), 0, "%s", t);
	cr_expect_str_eq(prop(u, "dkim", 0), "pass", "%s", u);
	cr_expect_str_eq(prop(u, "dkim", 1), "pass", "%s", u);
	cr_expect_str_eq(prop(u, "header.d", 0), "football.example.com");
	cr_expect_str_eq(prop(u, "header.s", 0), "brisbane");
	cr_expect_str_eq(prop(u, "header.s", 1), "test");
	cr_expect_str_eq(prop(u, "header.b", 0), "/gCrinpc", "%s", u);
	cr_expect_str_eq(prop(u, "header.b", 1), "F45dVWDf", "%s", u);
	cr_expect_str_eq(prop(u, "header.a", 0), "ed25519-sha256");
	free(u);
	free(t);
}

Test(auth_results, lines_are_folded_under_80_columns_with_the_ending)
{
	struct dkim_verify_opts o = opts();
	char *t;

	load_msg(RFC8463_MSG);
	parse_msg();
	cr_assert_eq(dkim_verify_message(ver, &cm, &o, zone, rep), 0);
	t = ar_text(true, false, false);
	cr_expect_null(strchr(t, '\r'), "CR in an LF field: %s", t);
	cr_expect_eq(t[strlen(t) - 1], '\n');
	for (char *l = t, *e; *l != '\0'; l = e + 1) {
		e = strchr(l, '\n');
		cr_assert_not_null(e);
		cr_expect_leq(e - l, 78, "line of %td: %.*s", e - l,
		    (int)(e - l), l);
		if (l != t) {
			cr_expect(*l == ' ' || *l == '\t',
			    "continuation without WSP: %s", l);
		}
	}
	free(t);
}

Test(auth_results, empty_report_is_none)
{
	char *t;

	t = ar_text(true, false, true);
	cr_expect_not_null(strstr(t, "dkim=none"), "%s", t);
	cr_expect_null(strstr(t, "domainkeys"), "%s", t);
	free(t);
	t = ar_text(true, true, false);
	cr_expect_not_null(strstr(t, "dkim=none"), "%s", t);
	cr_expect_not_null(strstr(t, "domainkeys=none"), "%s", t);
	free(t);
}

/* one_sig - rep holds one signature with this reason */
static void
one_sig(enum dkim_result res, const char *reason)
{
	struct dkim_sig_result *s = &rep->sigs[0];

	memset(rep, 0, sizeof(*rep));
	rep->nsigs = 1;
	rep->result = res;
	s->type = DKIM_TYPE_DKIM;
	s->result = res;
	s->category = res == DKIM_RES_PASS ? DKIM_CAT_PASS :
	    DKIM_CAT_VERIFICATION_FAILED;
	snprintf(s->sdid, sizeof(s->sdid), "example.com");
	snprintf(s->selector, sizeof(s->selector), "sel2026");
	snprintf(s->alg, sizeof(s->alg), "rsa-sha256");
	snprintf(s->b_prefix, sizeof(s->b_prefix), "AbCdEfGhIjKlMn");
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

Test(auth_results, header_b_is_eight_characters)
{
	char *t, *u;

	one_sig(DKIM_RES_PASS, "");
	t = ar_text(true, false, true);
	u = unfold(t);
	cr_expect_str_eq(prop(u, "header.b", 0), "AbCdEfGh", "%s", u);
	cr_expect_str_eq(prop(u, "header.d", 0), "example.com", "%s", u);
	cr_expect_str_eq(prop(u, "header.s", 0), "sel2026", "%s", u);
	cr_expect_null(strchr(u, '('), "a comment without a reason: %s", u);
	free(u);
	free(t);
}

Test(auth_results, parentheses_in_reasons_are_escaped)
{
	char *t, *u;

	one_sig(DKIM_RES_FAIL, "body (as sent) differs \\ here");
	t = ar_text(true, false, true);
	u = unfold(t);
	cr_expect_not_null(strstr(u,
	    "dkim=fail (body \\(as sent\\) differs \\\\ here)"), "%s", u);
	free(u);
	free(t);
}

/* ---- JSON ---- */

TestSuite(json, .init = setup, .fini = teardown);

/* json_of - dkim_json_str(s) as a new NUL-terminated string */
static char *
json_of(const char *s)
{
	struct dkim_buf b = { 0 };

	cr_assert_eq(dkim_json_str(&b, s), 0);
	cr_assert_eq(dkim_buf_add(&b, "", 1), 0);
	return b.data;
}

Test(json, string_escapes_quotes_backslashes_and_controls)
{
	char *j = json_of("a\"b\\c\x01\x1f" "d\te\nf");
	char *u = json_of("plain");

	cr_expect(strcmp(j, "\"a\\\"b\\\\c\\u0001\\u001fd\\te\\nf\"") == 0 ||
	    strcmp(j, "\"a\\\"b\\\\c\\u0001\\u001fd\\u0009e\\u000af\"") == 0,
	    "%s", j);
	cr_expect_str_eq(u, "\"plain\"");
	free(j);
	free(u);
}

Test(json, utf8_passes_through_and_invalid_bytes_are_escaped)
{
	char *j = json_of("caf\xc3\xa9 \xe2\x82\xac");
	char *bad = json_of("a\xff\xc3(\xed\xa0\x80");

	cr_expect_str_eq(j, "\"caf\xc3\xa9 \xe2\x82\xac\"");
	/* A lone 0xff, a cut sequence and a surrogate are escaped. */
	cr_expect_str_eq(bad,
	    "\"a\\u00ff\\u00c3(\\u00ed\\u00a0\\u0080\"");
	free(j);
	free(bad);
}

Test(json, report_escapes_the_reason)
{
	struct dkim_buf b = { 0 };
	const char *want = "\"reason\": \"bad \\\"quote\\\" \\\\ \\u0007\"";

	one_sig(DKIM_RES_FAIL, "bad \"quote\" \\ \a");
	cr_assert_eq(dkim_report_json(&b, rep), 0);
	cr_assert_eq(dkim_buf_add(&b, "", 1), 0);
	cr_expect_eq(strncmp(b.data, "{\"result\": \"fail\", \"signatures\": "
	    "[{", 35), 0, "%s", b.data);
	cr_expect_not_null(strstr(b.data, want), "%s", b.data);
	cr_expect_not_null(strstr(b.data, "\"category\": "
	    "\"verification_failed\""), "%s", b.data);
	cr_expect_eq(strcmp(b.data + strlen(b.data) - 2, "]}"), 0, "%s",
	    b.data);
	cr_expect_null(strchr(b.data, '\n'), "a newline: %s", b.data);
	for (const char *p = b.data; *p != '\0'; p++) {
		cr_expect_geq((unsigned char)*p, 0x20, "raw control byte");
	}
	dkim_buf_free(&b);
}

Test(json, empty_report_is_none_with_no_signatures)
{
	struct dkim_buf b = { 0 };

	memset(rep, 0, sizeof(*rep));
	cr_assert_eq(dkim_report_json(&b, rep), 0);
	cr_assert_eq(dkim_buf_add(&b, "", 1), 0);
	cr_expect_str_eq(b.data, "{\"result\": \"none\", \"signatures\": []}");
	dkim_buf_free(&b);
}

Test(json, signature_fields_escape_quotes_in_d_and_s)
{
	struct dkim_buf b = { 0 };

	one_sig(DKIM_RES_PERMERROR, "");
	snprintf(rep->sigs[0].sdid, sizeof(rep->sigs[0].sdid), "ex\"ample");
	snprintf(rep->sigs[0].selector, sizeof(rep->sigs[0].selector),
	    "s\\1");
	cr_assert_eq(dkim_report_json(&b, rep), 0);
	cr_assert_eq(dkim_buf_add(&b, "", 1), 0);
	cr_expect_not_null(strstr(b.data, "\"d\": \"ex\\\"ample\""), "%s",
	    b.data);
	cr_expect_not_null(strstr(b.data, "\"s\": \"s\\\\1\""), "%s",
	    b.data);
	dkim_buf_free(&b);
}
