/* SPDX-License-Identifier: MIT */
/*
 * dns_test - the TXT sources and key-record parsing of dns/.
 *
 * The zone source is checked against the shared interop zone and small
 * zone files written to /tmp; key records come from that zone or are
 * given inline.  The resolver is checked against a tiny DNS responder
 * that runs in a thread of the test on a loopback ephemeral port, so no
 * test needs the network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "crypto/crypto.h"
#include "dns/dns.h"

#ifndef DKIMQ_SHARED
#error "DKIMQ_SHARED must name the shared directory"
#endif

#define ZONE_PATH DKIMQ_SHARED "/testdata/interop/keys.zone"

/* ---- helpers ---- */

/* open_zone - the shared interop zone; fails the test otherwise. */
static struct dns_source *
open_zone(void)
{
	struct dns_source *src = NULL;
	char err[256];
	int rc;

	rc = dns_zone_open(ZONE_PATH, &src, err, sizeof(err));
	cr_assert_eq(rc, 0, "dns_zone_open: %d %s", rc, err);
	cr_assert_not_null(src);
	return src;
}

/* lookup - dns_lookup() that must return 0. */
static void
lookup(struct dns_source *src, const char *name, struct dns_answer *a)
{
	int rc = dns_lookup(src, name, a);

	cr_assert_eq(rc, 0, "dns_lookup(%s): %d", name, rc);
}

/* write_tmp - text into a new temporary file; the path is in path. */
static void
write_tmp(const char *text, char path[64])
{
	size_t len = strlen(text);
	int fd;

	snprintf(path, 64, "/tmp/dns_test_XXXXXX.zone");
	fd = mkstemps(path, 5);
	cr_assert_geq(fd, 0, "mkstemps: %s", strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* zone_key - parse the first TXT record at name of the shared zone. */
static int
zone_key(enum dns_key_kind kind, const char *name, struct dns_key *k,
    char *reason, size_t reason_len)
{
	struct dns_source *src = open_zone();
	struct dns_answer a;
	int rc;

	lookup(src, name, &a);
	cr_assert_eq(a.status, DNS_OK, "%s: %s", name,
	    dns_status_name(a.status));
	cr_assert_geq(a.ntxt, 1);
	rc = dns_key_parse(kind, a.txt[0], a.txt_len[0], k, reason,
	    reason_len);
	dns_answer_free(&a);
	dns_source_free(src);
	return rc;
}

/* text_key - parse an inline DKIM key record. */
static int
text_key(const char *txt, struct dns_key *k, char *reason,
    size_t reason_len)
{
	return dns_key_parse(DNS_KEY_DKIM, txt, strlen(txt), k, reason,
	    reason_len);
}

/* expect_reject - a DKIM record fails with a reason containing want. */
static void
expect_reject(const char *name, const char *want)
{
	struct dns_key k;
	char reason[256] = "";
	int rc;

	rc = zone_key(DNS_KEY_DKIM, name, &k, reason, sizeof(reason));
	cr_expect_eq(rc, -EINVAL, "%s: rc %d", name, rc);
	cr_expect(strstr(reason, want) != NULL, "%s: reason \"%s\", want "
	    "\"%s\"", name, reason, want);
	cr_expect_null(k.key);
}

/* expect_text_reject - as expect_reject() for an inline record. */
static void
expect_text_reject(const char *txt, const char *want)
{
	struct dns_key k;
	char reason[256] = "";
	int rc;

	rc = text_key(txt, &k, reason, sizeof(reason));
	cr_expect_eq(rc, -EINVAL, "\"%s\": rc %d", txt, rc);
	cr_expect(strstr(reason, want) != NULL, "\"%s\": reason \"%s\", "
	    "want \"%s\"", txt, reason, want);
	cr_expect_null(k.key);
}

/* A 512-bit RSA key in SubjectPublicKeyInfo form, from keys.zone. */
#define RSA512 "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALgSoqXVSEmfcIsOzw7oRuCCOw" \
	"smtX/SJnTWxYyj2leFxfS/AVJ+dYfY+hXqMsT7l+MZvvh/R1WzN4MO/kI/7XsCAwEA" \
	"AQ=="

/* ---- the zone source ---- */

Test(zone, answers_a_listed_name_with_its_record)
{
	struct dns_source *src = open_zone();
	struct dns_answer a;
	const char *want = "v=DKIM1; k=ed25519; "
	    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

	lookup(src, "brisbane._domainkey.football.example.com", &a);
	cr_assert_eq(a.status, DNS_OK);
	cr_assert_eq(a.ntxt, 1);
	cr_expect_str_eq(a.txt[0], want);
	cr_expect_eq(a.txt_len[0], strlen(want));
	cr_expect_eq(a.ttl, 300);
	dns_answer_free(&a);
	cr_expect_eq(a.ntxt, 0);
	dns_source_free(src);
}

Test(zone, joins_the_strings_of_a_record_with_nothing_between)
{
	struct dns_source *src = open_zone();
	struct dns_answer a;
	const char *tail = "VX9yRjwIDAQAB";

	lookup(src, "shan._domainkey.vmt2.cis.att.net", &a);
	cr_assert_eq(a.status, DNS_OK);
	cr_assert_eq(a.ntxt, 1);
	cr_assert_eq(strlen(a.txt[0]), a.txt_len[0]);
	cr_expect_str_eq(a.txt[0] + a.txt_len[0] - strlen(tail), tail);
	dns_answer_free(&a);

	lookup(src, "20120113._domainkey.gmail.com", &a);
	cr_assert_eq(a.status, DNS_OK);
	cr_expect(strstr(a.txt[0], "hkx4xYSIc9oSwVmAl5") != NULL,
	    "second string not joined: %s", a.txt[0]);
	dns_answer_free(&a);
	dns_source_free(src);
}

Test(zone, answers_the_listed_failures)
{
	static const struct {
		const char *name;
		enum dns_status want;
	} cases[] = {
		{ "nonexistent._domainkey.messiah.edu", DNS_NXDOMAIN },
		{ "test3._domainkey.blackhole.messiah.edu", DNS_TIMEOUT },
		{ "test3._domainkey.blackhole2.messiah.edu", DNS_SERVFAIL },
		{ "2023-05-ed25519-does-not-exist._domainkey.wander.science",
		    DNS_NXDOMAIN },
	};
	struct dns_source *src = open_zone();
	struct dns_answer a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lookup(src, cases[i].name, &a);
		cr_expect_eq(a.status, cases[i].want, "%s: %s", cases[i].name,
		    dns_status_name(a.status));
		cr_expect_eq(a.ntxt, 0);
		dns_answer_free(&a);
	}
	dns_source_free(src);
}

Test(zone, answers_nxdomain_for_an_unlisted_name)
{
	struct dns_source *src = open_zone();
	struct dns_answer a;

	lookup(src, "nobody._domainkey.example.net", &a);
	cr_expect_eq(a.status, DNS_NXDOMAIN);
	cr_expect_eq(a.ntxt, 0);
	lookup(src, "messiah.edu", &a);
	cr_expect_eq(a.status, DNS_NXDOMAIN);
	dns_source_free(src);
}

Test(zone, matches_names_case_insensitively)
{
	struct dns_source *src = open_zone();
	struct dns_answer a;

	lookup(src, "TEST1._DomainKey.Messiah.EDU", &a);
	cr_assert_eq(a.status, DNS_OK);
	cr_expect(strncmp(a.txt[0], "v=DKIM1; t=y; s=email;", 22) == 0,
	    "got %s", a.txt[0]);
	dns_answer_free(&a);
	lookup(src, "TEST3._DOMAINKEY.BLACKHOLE2.MESSIAH.EDU", &a);
	cr_expect_eq(a.status, DNS_SERVFAIL);
	dns_source_free(src);
}

Test(zone, keeps_an_empty_string_as_an_empty_record)
{
	struct dns_source *src = open_zone();
	struct dns_answer a;

	lookup(src, "2023-05-ed25519-empty._domainkey.wander.science", &a);
	cr_assert_eq(a.status, DNS_OK);
	cr_assert_eq(a.ntxt, 1);
	cr_expect_eq(a.txt_len[0], 0);
	cr_expect_str_eq(a.txt[0], "");
	dns_answer_free(&a);
	dns_source_free(src);
}

Test(zone, decodes_escapes_and_gathers_several_records)
{
	struct dns_source *src = NULL;
	struct dns_answer a;
	char path[64], err[256];
	int rc;

	write_tmp("; two records for one name\r\n"
	    "  Multi.Example.  30 txt \"a\\\"b\" \"\\\\\" \"\\065\\z\"\n"
	    "\n"
	    "multi.example 600 TXT \"two\" ; trailing comment\n"
	    "gone.example 0 nxdomain\n", path);
	rc = dns_zone_open(path, &src, err, sizeof(err));
	unlink(path);
	cr_assert_eq(rc, 0, "%s", err);

	lookup(src, "multi.example", &a);
	cr_assert_eq(a.status, DNS_OK);
	cr_assert_eq(a.ntxt, 2);
	cr_expect_str_eq(a.txt[0], "a\"b\\Az");
	cr_expect_str_eq(a.txt[1], "two");
	cr_expect_eq(a.ttl, 30);
	dns_answer_free(&a);
	lookup(src, "gone.example", &a);
	cr_expect_eq(a.status, DNS_NXDOMAIN);
	dns_source_free(src);
}

Test(zone, finds_every_name_of_a_large_zone)
{
	struct dns_source *src = NULL;
	struct dns_answer a;
	char *text, path[64], err[256], name[64], want[32];
	size_t cap = 3000 * 64, off = 0;
	int i, rc;

	/* Enough names for several table resizes; no final line break. */
	text = malloc(cap);
	cr_assert_not_null(text);
	for (i = 0; i < 3000; i++) {
		off += (size_t)snprintf(text + off, cap - off,
		    "%sS%d._domainkey.example.org %d TXT \"v%d\"",
		    i == 0 ? "" : "\n", i, i + 1, i);
	}
	write_tmp(text, path);
	free(text);
	rc = dns_zone_open(path, &src, err, sizeof(err));
	unlink(path);
	cr_assert_eq(rc, 0, "%s", err);

	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "s%d._domainkey.EXAMPLE.org", i);
		snprintf(want, sizeof(want), "v%d", i);
		lookup(src, name, &a);
		cr_assert_eq(a.status, DNS_OK, "%s", name);
		cr_assert_str_eq(a.txt[0], want);
		cr_assert_eq(a.ttl, (uint32_t)i + 1);
		dns_answer_free(&a);
	}
	lookup(src, "s3000._domainkey.example.org", &a);
	cr_expect_eq(a.status, DNS_NXDOMAIN);
	dns_source_free(src);
}

Test(zone, reports_syntax_errors_with_file_and_line)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *want;
	} cases[] = {
		{ "a.example 300 MX \"x\"\n", 1,
		    "expected TXT, NXDOMAIN, SERVFAIL or TIMEOUT" },
		{ "; c\n\na.example 300 TXT \"x\"\nb.example\n", 4,
		    "expected TXT, NXDOMAIN, SERVFAIL or TIMEOUT" },
		{ "a.example TXT \"x\"\n", 1, "expected a TTL" },
		{ "a.example 99999999999 TXT \"x\"\n", 1, "bad TTL" },
		{ "a.example 300 TXT\n", 1, "expected a quoted string" },
		{ "a.example 300 TXT \"x\n", 1, "unterminated string" },
		{ "a.example 300 TXT \"x\" junk\n", 1, "unexpected text" },
		{ "a.example 300 TXT \"\\256\"\n", 1, "bad escape" },
		{ "a..example 300 TXT \"x\"\n", 1, "bad name" },
		{ "a.example NXDOMAIN\na.example 1 TXT \"x\"\n", 2,
		    "already listed as nxdomain" },
		{ "a.example TIMEOUT\na.example SERVFAIL\n", 2,
		    "listed twice" },
		{ "a.example NXDOMAIN extra\n", 1, "unexpected text" },
	};
	struct dns_source *src;
	char path[64], err[512], prefix[96];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_tmp(cases[i].text, path);
		src = NULL;
		err[0] = '\0';
		rc = dns_zone_open(path, &src, err, sizeof(err));
		unlink(path);
		snprintf(prefix, sizeof(prefix), "%s:%u: ", path,
		    cases[i].line);
		cr_expect_eq(rc, -EINVAL, "case %zu: rc %d", i, rc);
		cr_expect_null(src);
		cr_expect(strncmp(err, prefix, strlen(prefix)) == 0,
		    "case %zu: \"%s\" does not start with \"%s\"", i, err,
		    prefix);
		cr_expect(strstr(err, cases[i].want) != NULL,
		    "case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
	}
}

Test(zone, rejects_a_string_longer_than_255_bytes)
{
	char text[400], path[64], err[256];
	struct dns_source *src = NULL;
	int rc;

	snprintf(text, sizeof(text), "long.example 1 TXT \"%0256d\"\n", 0);
	write_tmp(text, path);
	rc = dns_zone_open(path, &src, err, sizeof(err));
	unlink(path);
	cr_expect_eq(rc, -EINVAL);
	cr_expect(strstr(err, ":1: string longer than 255") != NULL,
	    "%s", err);
}

Test(zone, returns_enoent_for_a_missing_file)
{
	struct dns_source *src = NULL;
	char err[256] = "";
	int rc;

	rc = dns_zone_open("/nonexistent/dkimq.zone", &src, err,
	    sizeof(err));
	cr_expect_eq(rc, -ENOENT);
	cr_expect_null(src);
	cr_expect(strstr(err, "/nonexistent/dkimq.zone") != NULL, "%s", err);
}

/* ---- dispatch and names ---- */

Test(source, refuses_names_that_are_not_domain_names)
{
	struct dns_source *src = open_zone();
	struct dns_answer a;
	char name[300];
	const char *bad[] = {
		"", ".", "a..b", ".a", "a.", "a b.example", "a\\.example",
		"a\t.example",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(dns_lookup(src, bad[i], &a), -EINVAL,
		    "\"%s\" accepted", bad[i]);
	}

	/* A 64-byte label, then names of 254 and 253 bytes. */
	memset(name, 'a', 64);
	strcpy(name + 64, ".example");
	cr_expect_eq(dns_lookup(src, name, &a), -EINVAL);
	for (i = 0; i < 254; i++) {
		name[i] = i % 2 == 0 ? 'a' : '.';
	}
	name[253] = 'a';
	name[254] = '\0';
	cr_expect_eq(dns_lookup(src, name, &a), -EINVAL);
	name[253] = '\0';
	cr_expect_eq(dns_lookup(src, name, &a), 0);
	cr_expect_eq(a.status, DNS_NXDOMAIN);
	dns_source_free(src);
}

Test(source, names_statuses_and_says_which_are_temporary)
{
	cr_expect_str_eq(dns_status_name(DNS_OK), "ok");
	cr_expect_str_eq(dns_status_name(DNS_NXDOMAIN), "nxdomain");
	cr_expect_str_eq(dns_status_name(DNS_NODATA), "nodata");
	cr_expect_str_eq(dns_status_name(DNS_SERVFAIL), "servfail");
	cr_expect_str_eq(dns_status_name(DNS_TIMEOUT), "timeout");
	cr_expect(!dns_status_is_temporary(DNS_OK));
	cr_expect(!dns_status_is_temporary(DNS_NXDOMAIN));
	cr_expect(!dns_status_is_temporary(DNS_NODATA));
	cr_expect(dns_status_is_temporary(DNS_SERVFAIL));
	cr_expect(dns_status_is_temporary(DNS_TIMEOUT));
	dns_source_free(NULL);
}

/* ---- DKIM key records ---- */

Test(keyrec, accepts_a_plain_rsa_record)
{
	struct dns_key k;
	char reason[256] = "";
	int rc;

	rc = zone_key(DNS_KEY_DKIM, "test1._domainkey.messiah.edu", &k,
	    reason, sizeof(reason));
	cr_assert_eq(rc, 0, "%s", reason);
	cr_expect_eq(k.type, CRYPTO_KEY_RSA);
	cr_assert_not_null(k.key);
	cr_expect_eq(crypto_key_type(k.key), CRYPTO_KEY_RSA);
	cr_expect_eq(crypto_key_bits(k.key), 512);
	cr_expect_eq(k.hashes, DNS_HASH_SHA1 | DNS_HASH_SHA256);
	cr_expect(k.testing);
	cr_expect(!k.strict);
	cr_expect(k.email);
	cr_expect(!k.revoked);
	cr_expect_null(k.granularity);
	dns_key_free(&k);
	cr_expect_null(k.key);
}

Test(keyrec, rejects_an_unknown_version)
{
	expect_reject("testbad1._domainkey.messiah.edu",
	    "key record version v=DKIM3 unsupported");
}

Test(keyrec, rejects_a_tag_without_a_value)
{
	expect_reject("testbad2._domainkey.messiah.edu",
	    "key record syntax error: ");
}

Test(keyrec, rejects_an_unknown_key_type)
{
	expect_reject("testbad3._domainkey.messiah.edu",
	    "unsupported key type k=foobar");
}

Test(keyrec, reads_a_service_list_without_email_as_not_email)
{
	struct dns_key k;
	char reason[256] = "";

	cr_assert_eq(zone_key(DNS_KEY_DKIM, "testbad4._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect(!k.email);
	dns_key_free(&k);

	cr_assert_eq(zone_key(DNS_KEY_DKIM, "test2._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect(k.email, "s=email:web:fine is for email");
	dns_key_free(&k);

	cr_assert_eq(text_key("s = chat : * ; p=" RSA512, &k, reason,
	    sizeof(reason)), 0, "%s", reason);
	cr_expect(k.email, "s=* is for email");
	dns_key_free(&k);
}

Test(keyrec, gives_no_hashes_for_a_hash_list_of_unknown_names)
{
	struct dns_key k;
	char reason[256] = "";

	cr_assert_eq(zone_key(DNS_KEY_DKIM, "testbad7._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect_eq(k.hashes, 0);
	cr_expect_not_null(k.key);
	dns_key_free(&k);
}

Test(keyrec, reads_the_known_members_of_a_hash_list)
{
	struct dns_key k;
	char reason[256] = "";

	cr_assert_eq(zone_key(DNS_KEY_DKIM, "shan._domainkey.vmt2.cis.att.net",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect_eq(k.hashes, DNS_HASH_SHA1 | DNS_HASH_SHA256);
	cr_expect_str_eq(k.granularity, "*");
	dns_key_free(&k);

	cr_assert_eq(zone_key(DNS_KEY_DKIM, "test2._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect_eq(k.hashes, DNS_HASH_SHA1, "h=md5:sha1");
	cr_expect(k.testing, "t = y:n:extra");
	cr_expect(!k.strict);
	dns_key_free(&k);

	cr_assert_eq(text_key("h= sha256 :\tsha1 ; p=" RSA512, &k, reason,
	    sizeof(reason)), 0, "%s", reason);
	cr_expect_eq(k.hashes, DNS_HASH_SHA1 | DNS_HASH_SHA256);
	dns_key_free(&k);
}

Test(keyrec, reads_the_testing_and_strict_flags)
{
	struct dns_key k;
	char reason[256] = "";

	cr_assert_eq(zone_key(DNS_KEY_DKIM, "test5._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect(k.strict);
	cr_expect(!k.testing);
	dns_key_free(&k);

	cr_assert_eq(text_key("t=s:y:q; p=" RSA512, &k, reason,
	    sizeof(reason)), 0, "%s", reason);
	cr_expect(k.strict);
	cr_expect(k.testing);
	dns_key_free(&k);

	cr_assert_eq(text_key("t=; p=" RSA512, &k, reason,
	    sizeof(reason)), 0, "%s", reason);
	cr_expect(!k.strict);
	cr_expect(!k.testing);
	dns_key_free(&k);
}

Test(keyrec, accepts_a_revoked_key_as_revoked)
{
	struct dns_key k;
	char reason[256] = "";

	cr_assert_eq(zone_key(DNS_KEY_DKIM,
	    "testrevoked._domainkey.messiah.edu", &k, reason,
	    sizeof(reason)), 0, "%s", reason);
	cr_expect(k.revoked);
	cr_expect_null(k.key);
	cr_expect(k.testing);
	dns_key_free(&k);

	cr_assert_eq(text_key("v=DKIM1; p= \r\n\t", &k, reason,
	    sizeof(reason)), 0, "%s", reason);
	cr_expect(k.revoked);
	dns_key_free(&k);
}

Test(keyrec, keeps_the_granularity_value)
{
	static const struct {
		const char *name;
		const char *want;	/* NULL: no g= */
	} cases[] = {
		{ "test3._domainkey.messiah.edu", "jl*g" },
		{ "test4._domainkey.messiah.edu", "" },
		{ "testbad8._domainkey.messiah.edu", "*poe" },
		{ "test1._domainkey.messiah.edu", NULL },
	};
	struct dns_key k;
	char reason[256] = "";
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(zone_key(DNS_KEY_DKIM, cases[i].name, &k, reason,
		    sizeof(reason)), 0, "%s: %s", cases[i].name, reason);
		if (cases[i].want == NULL) {
			cr_expect_null(k.granularity, "%s", cases[i].name);
		} else {
			cr_assert_not_null(k.granularity, "%s",
			    cases[i].name);
			cr_expect_str_eq(k.granularity, cases[i].want);
		}
		dns_key_free(&k);
	}
}

Test(keyrec, accepts_a_raw_ed25519_key)
{
	static const char *names[] = {
		"2023-05-ed25519._domainkey.wander.science",
		"brisbane._domainkey.football.example.com",
		"sed._domainkey.test.ex",
	};
	struct dns_key k;
	char reason[256] = "";
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_eq(zone_key(DNS_KEY_DKIM, names[i], &k, reason,
		    sizeof(reason)), 0, "%s: %s", names[i], reason);
		cr_expect_eq(k.type, CRYPTO_KEY_ED25519);
		cr_assert_not_null(k.key);
		cr_expect_eq(crypto_key_type(k.key), CRYPTO_KEY_ED25519);
		dns_key_free(&k);
	}
}

Test(keyrec, rejects_an_ed25519_key_in_spki_form)
{
	expect_reject("invalid._domainkey.wander.science",
	    "key record p= does not hold a valid ed25519 key");
}

Test(keyrec, accepts_a_bare_pkcs1_rsa_key)
{
	struct dns_key k;
	char reason[256] = "";

	cr_assert_eq(zone_key(DNS_KEY_DKIM, "newengland._domainkey.example.com",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_assert_not_null(k.key);
	cr_expect_eq(crypto_key_bits(k.key), 1024);
	dns_key_free(&k);
}

Test(keyrec, rejects_an_empty_record)
{
	expect_reject("2023-05-ed25519-empty._domainkey.wander.science",
	    "key record is empty");
	expect_text_reject(" \t", "key record is empty");
}

Test(keyrec, rejects_a_version_that_is_not_the_first_tag)
{
	expect_text_reject("k=rsa; v=DKIM1; p=" RSA512,
	    "key record version unsupported");
	expect_text_reject("v=DKIM1 extra; p=" RSA512,
	    "key record version v=DKIM1?extra unsupported");
}

Test(keyrec, rejects_a_duplicate_tag)
{
	expect_text_reject("v=DKIM1; p=" RSA512 "; k=rsa; p=",
	    "key record has duplicate tag");
}

Test(keyrec, rejects_a_record_without_p)
{
	expect_text_reject("v=DKIM1; k=rsa; t=y", "key record has no p= tag");
}

Test(keyrec, rejects_garbage_in_p)
{
	expect_text_reject("v=DKIM1; p=MFww*garbage*",
	    "key record p= is not valid base64");
	expect_text_reject("v=DKIM1; p=AAAA",
	    "key record p= does not hold a valid rsa key");
}

Test(keyrec, ignores_unknown_tags_and_folding_inside_p)
{
	struct dns_key k;
	char reason[256] = "";

	cr_assert_eq(text_key("v=DKIM1; x1=extra; n=notes;\r\n p=MFwwDQYJKoZ"
	    "IhvcNAQEBBQADSwAwSAJBALgSoqXVSEmfcIsOzw7oRuCCOwsmtX/SJnTWxYyj2l"
	    "eFxfS/AVJ+dYfY+hXqMsT7l+MZvvh/R1WzN4MO/kI/7Xs\r\n\tCAwEAAQ==",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect_not_null(k.key);
	dns_key_free(&k);
}

/* ---- DomainKeys key records ---- */

Test(dkkey, accepts_a_domainkeys_record)
{
	struct dns_key k;
	char reason[256] = "";

	cr_assert_eq(zone_key(DNS_KEY_DK, "s1024._domainkey.yahoo.com", &k,
	    reason, sizeof(reason)), 0, "%s", reason);
	cr_assert_not_null(k.key);
	cr_expect_eq(crypto_key_bits(k.key), 1024);
	cr_expect(k.testing);
	cr_expect(k.email);
	dns_key_free(&k);
}

Test(dkkey, accepts_only_rsa_keys)
{
	struct dns_key k;
	char reason[256] = "";
	int rc;

	rc = zone_key(DNS_KEY_DK, "brisbane._domainkey.football.example.com",
	    &k, reason, sizeof(reason));
	cr_expect_eq(rc, -EINVAL);
	cr_expect(strstr(reason, "unsupported key type k=ed25519") != NULL,
	    "%s", reason);
}

Test(dkkey, ignores_v_h_s_and_the_strict_flag)
{
	struct dns_key k;
	char reason[256] = "";

	cr_assert_eq(zone_key(DNS_KEY_DK, "testbad1._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	dns_key_free(&k);
	cr_assert_eq(zone_key(DNS_KEY_DK, "testbad7._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect_eq(k.hashes, DNS_HASH_SHA1 | DNS_HASH_SHA256);
	dns_key_free(&k);
	cr_assert_eq(zone_key(DNS_KEY_DK, "testbad4._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect(k.email);
	dns_key_free(&k);
	cr_assert_eq(zone_key(DNS_KEY_DK, "test5._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect(!k.strict);
	dns_key_free(&k);
	cr_assert_eq(zone_key(DNS_KEY_DK, "test3._domainkey.messiah.edu",
	    &k, reason, sizeof(reason)), 0, "%s", reason);
	cr_expect_str_eq(k.granularity, "jl*g");
	dns_key_free(&k);
}

/* ---- the resolver, against a responder in a thread ---- */

/* One TXT record the responder serves: its strings, NULL-terminated. */
struct txt_rr {
	uint32_t ttl;
	const char *s[8];
};

/*
 * A responder on one loopback port.  It answers every query with the
 * same outcome: rcode (0 with rrs, or an error), nothing at all
 * (silent), or over UDP a TC=1 answer and over TCP the full one;
 * malformed spoils the first string of each record.
 */
struct responder {
	int family;
	int udp;
	int tcp;		/* -1 unless truncate */
	unsigned port;
	int rcode;
	bool silent;
	bool truncate;
	bool malformed;		/* a TXT string overruns its RDATA */
	const struct txt_rr *rrs;
	size_t nrrs;
	atomic_int udp_queries;
	atomic_int tcp_queries;
	atomic_bool stop;
	pthread_t thread;
};

/* put16 - a big-endian 16-bit value at p; returns p + 2. */
static unsigned char *
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return p + 2;
}

/*
 * reply - the response to query q[0..qlen) in out (cap bytes): the
 * header and question echoed, then r's records unless tc or an rcode.
 * Returns its length, or 0 for a query too short to answer.
 */
static size_t
reply(const struct responder *r, const unsigned char *q, size_t qlen,
    bool tc, unsigned char *out, size_t cap)
{
	size_t i = 12, j, k, n;
	unsigned char *p, *rdlen;
	bool records = !tc && r->rcode == 0;

	while (i < qlen && q[i] != 0) {
		i += q[i] + 1u;
	}
	if (i + 5 > qlen || i + 5 > cap) {
		return 0;
	}
	memcpy(out, q, i + 5);
	out[2] = (unsigned char)(0x84 | (tc ? 0x02 : 0) | (q[2] & 0x01));
	out[3] = (unsigned char)(0x80 | r->rcode);
	put16(out + 4, 1);
	put16(out + 6, records ? (unsigned)r->nrrs : 0);
	put16(out + 8, 0);
	put16(out + 10, 0);
	p = out + i + 5;
	for (j = 0; records && j < r->nrrs; j++) {
		p = put16(p, 0xc00c);
		p = put16(p, 16);
		p = put16(p, 1);
		p = put16(p, r->rrs[j].ttl >> 16);
		p = put16(p, r->rrs[j].ttl & 0xffff);
		rdlen = p;
		p += 2;
		for (k = 0; r->rrs[j].s[k] != NULL; k++) {
			n = strlen(r->rrs[j].s[k]);
			*p++ = (unsigned char)n;
			memcpy(p, r->rrs[j].s[k], n);
			p += n;
		}
		put16(rdlen, (unsigned)(p - rdlen - 2));
		if (r->malformed) {
			rdlen[2]++;
		}
	}
	return (size_t)(p - out);
}

/* serve_tcp - answer one query on a new TCP connection, then close. */
static void
serve_tcp(struct responder *r)
{
	unsigned char q[512], ans[4096];
	struct timeval tv = { .tv_sec = 2 };
	size_t qlen, n;
	int c;

	c = accept(r->tcp, NULL, NULL);
	if (c < 0) {
		return;
	}
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	atomic_fetch_add(&r->tcp_queries, 1);
	if (recv(c, q, 2, MSG_WAITALL) == 2) {
		qlen = (size_t)q[0] << 8 | q[1];
		if (qlen <= sizeof(q) &&
		    recv(c, q, qlen, MSG_WAITALL) == (ssize_t)qlen) {
			n = reply(r, q, qlen, false, ans + 2,
			    sizeof(ans) - 2);
			put16(ans, (unsigned)n);
			send(c, ans, n + 2, MSG_NOSIGNAL);
		}
	}
	close(c);
}

/* serve - the responder thread: poll both sockets until stop. */
static void *
serve(void *arg)
{
	struct responder *r = arg;
	struct pollfd pfd[2] = {
		{ .fd = r->udp, .events = POLLIN },
		{ .fd = r->tcp, .events = POLLIN },
	};
	struct sockaddr_storage from;
	unsigned char q[512], ans[4096];
	socklen_t fromlen;
	ssize_t qlen;
	size_t n;

	while (!atomic_load(&r->stop)) {
		if (poll(pfd, r->tcp >= 0 ? 2 : 1, 20) <= 0) {
			continue;
		}
		if (r->tcp >= 0 && (pfd[1].revents & POLLIN)) {
			serve_tcp(r);
		}
		if (!(pfd[0].revents & POLLIN)) {
			continue;
		}
		fromlen = sizeof(from);
		qlen = recvfrom(r->udp, q, sizeof(q), 0,
		    (struct sockaddr *)&from, &fromlen);
		if (qlen <= 0) {
			continue;
		}
		atomic_fetch_add(&r->udp_queries, 1);
		n = reply(r, q, (size_t)qlen, r->truncate, ans, sizeof(ans));
		if (!r->silent && n > 0) {
			sendto(r->udp, ans, n, 0, (struct sockaddr *)&from,
			    fromlen);
		}
	}
	return NULL;
}

/*
 * bind_loopback - a socket of type on the loopback address of family at
 * port (0: any); returns the fd and sets *port, or -1.
 */
static int
bind_loopback(int family, int type, unsigned *port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*in) : sizeof(*in6);
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = htons((uint16_t)*port);
	} else {
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		in6->sin6_port = htons((uint16_t)*port);
	}
	fd = socket(family, type, 0);
	if (fd < 0) {
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4) < 0)) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? in->sin_port : in6->sin6_port);
	return fd;
}

/*
 * responder_start - bind r's sockets (UDP, and TCP on the same port when
 * truncating) and start its thread.  Returns false when the address
 * family cannot be bound here.
 */
static bool
responder_start(struct responder *r)
{
	int tries;

	for (tries = 0; tries < 20; tries++) {
		r->port = 0;
		r->tcp = -1;
		r->udp = bind_loopback(r->family, SOCK_DGRAM, &r->port);
		if (r->udp < 0) {
			return false;
		}
		if (!r->truncate) {
			break;
		}
		r->tcp = bind_loopback(r->family, SOCK_STREAM, &r->port);
		if (r->tcp >= 0) {
			break;
		}
		close(r->udp);
		r->udp = -1;
	}
	cr_assert_geq(r->udp, 0, "no port for UDP and TCP");
	cr_assert_eq(pthread_create(&r->thread, NULL, serve, r), 0);
	return true;
}

/* responder_stop - end r's thread and close its sockets. */
static void
responder_stop(struct responder *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
	close(r->udp);
	if (r->tcp >= 0) {
		close(r->tcp);
	}
}

/* open_resolver - a resolver source for r's port. */
static struct dns_source *
open_resolver(const struct responder *r, unsigned timeout_ms,
    unsigned retries)
{
	struct dns_source *src = NULL;
	char servers[64], err[256] = "";
	int rc;

	snprintf(servers, sizeof(servers), r->family == AF_INET ?
	    "127.0.0.1:%u" : "[::1]:%u", r->port);
	rc = dns_resolver_open(servers, timeout_ms, retries, &src, err,
	    sizeof(err));
	cr_assert_eq(rc, 0, "dns_resolver_open(%s): %s", servers, err);
	return src;
}

/* now_s - a monotonic clock in seconds. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct txt_rr two_rrs[] = {
	{ 300, { "v=DKIM1; k=rsa; ", "p=", "QUJD", NULL } },
	{ 60, { "second", NULL } },
};

Test(resolver, answers_the_txt_records_of_a_server)
{
	struct responder r = { .family = AF_INET, .rrs = two_rrs,
	    .nrrs = 2 };
	struct dns_source *src;
	struct dns_answer a;

	responder_start(&r);
	src = open_resolver(&r, 1000, 1);
	lookup(src, "sel._domainkey.example.com", &a);
	cr_assert_eq(a.status, DNS_OK, "%s", dns_status_name(a.status));
	cr_assert_eq(a.ntxt, 2);
	cr_expect_str_eq(a.txt[0], "v=DKIM1; k=rsa; p=QUJD");
	cr_expect_eq(a.txt_len[0], strlen("v=DKIM1; k=rsa; p=QUJD"));
	cr_expect_str_eq(a.txt[1], "second");
	cr_expect_eq(a.ttl, 60);
	dns_answer_free(&a);
	dns_source_free(src);
	responder_stop(&r);
	cr_expect_eq(atomic_load(&r.udp_queries), 1);
}

Test(resolver, reports_servfail_from_the_server)
{
	struct responder r = { .family = AF_INET, .rcode = 2 };
	struct dns_source *src;
	struct dns_answer a;

	responder_start(&r);
	src = open_resolver(&r, 1000, 1);
	lookup(src, "sel._domainkey.example.com", &a);
	cr_expect_eq(a.status, DNS_SERVFAIL, "%s", dns_status_name(a.status));
	cr_expect_eq(a.ntxt, 0);
	dns_source_free(src);
	responder_stop(&r);
}

Test(resolver, reports_nxdomain_from_the_server)
{
	struct responder r = { .family = AF_INET, .rcode = 3 };
	struct dns_source *src;
	struct dns_answer a;

	responder_start(&r);
	src = open_resolver(&r, 1000, 1);
	lookup(src, "sel._domainkey.example.com", &a);
	cr_expect_eq(a.status, DNS_NXDOMAIN, "%s", dns_status_name(a.status));
	dns_source_free(src);
	responder_stop(&r);
}

Test(resolver, reports_nodata_for_an_empty_answer)
{
	struct responder r = { .family = AF_INET };
	struct dns_source *src;
	struct dns_answer a;

	responder_start(&r);
	src = open_resolver(&r, 1000, 1);
	lookup(src, "sel._domainkey.example.com", &a);
	cr_expect_eq(a.status, DNS_NODATA, "%s", dns_status_name(a.status));
	dns_source_free(src);
	responder_stop(&r);
}

Test(resolver, reports_a_malformed_txt_record_as_servfail)
{
	struct responder r = { .family = AF_INET, .rrs = two_rrs,
	    .nrrs = 2, .malformed = true };
	struct dns_source *src;
	struct dns_answer a;

	responder_start(&r);
	src = open_resolver(&r, 1000, 1);
	lookup(src, "sel._domainkey.example.com", &a);
	cr_expect_eq(a.status, DNS_SERVFAIL, "%s", dns_status_name(a.status));
	cr_expect_eq(a.ntxt, 0);
	dns_source_free(src);
	responder_stop(&r);
}

Test(resolver, times_out_when_nothing_answers)
{
	struct responder r = { .family = AF_INET, .silent = true };
	struct dns_source *src;
	struct dns_answer a;
	double t0, dt;

	responder_start(&r);
	src = open_resolver(&r, 1000, 2);
	t0 = now_s();
	lookup(src, "sel._domainkey.example.com", &a);
	dt = now_s() - t0;
	cr_expect_eq(a.status, DNS_TIMEOUT, "%s", dns_status_name(a.status));
	cr_expect_geq(dt, 0.9, "gave up after %.2f s", dt);
	cr_expect_leq(dt, 1.0 * 2 + 1.5, "took %.2f s", dt);
	dns_source_free(src);
	responder_stop(&r);
	cr_expect_eq(atomic_load(&r.udp_queries), 2, "one query a try");
}

Test(resolver, times_out_when_the_port_is_closed)
{
	struct responder r = { .family = AF_INET };
	struct dns_source *src;
	struct dns_answer a;

	/* Bind for a free port number, then close it. */
	r.udp = bind_loopback(AF_INET, SOCK_DGRAM, &r.port);
	cr_assert_geq(r.udp, 0);
	close(r.udp);
	src = open_resolver(&r, 1000, 1);
	lookup(src, "sel._domainkey.example.com", &a);
	cr_expect_eq(a.status, DNS_TIMEOUT, "%s", dns_status_name(a.status));
	dns_source_free(src);
}

Test(resolver, retries_a_truncated_answer_over_tcp)
{
	static char big[800 + 1];
	static struct txt_rr rr = { 3600, { 0 } };
	struct responder r = { .family = AF_INET, .truncate = true,
	    .rrs = &rr, .nrrs = 1 };
	struct dns_source *src;
	struct dns_answer a;
	static char part[4][256];
	size_t i, off;

	/* A 4096-bit key record is about 800 bytes: four strings. */
	snprintf(big, sizeof(big), "v=DKIM1; k=rsa; p=");
	for (i = strlen(big); i < 800; i++) {
		big[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/"[i % 44];
	}
	big[800] = '\0';
	for (i = 0, off = 0; i < 4; i++, off += 200) {
		memcpy(part[i], big + off, 200);
		part[i][200] = '\0';
		rr.s[i] = part[i];
	}

	responder_start(&r);
	src = open_resolver(&r, 1000, 1);
	lookup(src, "big._domainkey.example.com", &a);
	cr_assert_eq(a.status, DNS_OK, "%s", dns_status_name(a.status));
	cr_assert_eq(a.ntxt, 1);
	cr_expect_eq(a.txt_len[0], 800);
	cr_expect_str_eq(a.txt[0], big);
	cr_expect_eq(a.ttl, 3600);
	dns_answer_free(&a);
	dns_source_free(src);
	responder_stop(&r);
	cr_expect_geq(atomic_load(&r.udp_queries), 1);
	cr_expect_geq(atomic_load(&r.tcp_queries), 1, "no TCP retry");
}

Test(resolver, asks_an_ipv6_server)
{
	struct responder r = { .family = AF_INET6, .rrs = two_rrs,
	    .nrrs = 1 };
	struct dns_source *src;
	struct dns_answer a;

	if (!responder_start(&r)) {
		cr_skip_test("no IPv6 loopback here");
	}
	src = open_resolver(&r, 1000, 1);
	lookup(src, "sel._domainkey.example.com", &a);
	cr_expect_eq(a.status, DNS_OK, "%s", dns_status_name(a.status));
	cr_expect_eq(a.ntxt, 1);
	dns_answer_free(&a);
	dns_source_free(src);
	responder_stop(&r);
	cr_expect_eq(atomic_load(&r.udp_queries), 1);
}

Test(resolver, keeps_sources_apart_in_one_thread)
{
	struct responder ok = { .family = AF_INET, .rrs = two_rrs,
	    .nrrs = 1 };
	struct responder nx = { .family = AF_INET, .rcode = 3 };
	struct dns_source *a_src, *b_src;
	struct dns_answer a;
	int i;

	responder_start(&ok);
	responder_start(&nx);
	a_src = open_resolver(&ok, 1000, 1);
	b_src = open_resolver(&nx, 1000, 1);
	for (i = 0; i < 3; i++) {
		lookup(a_src, "sel._domainkey.example.com", &a);
		cr_expect_eq(a.status, DNS_OK, "round %d", i);
		dns_answer_free(&a);
		lookup(b_src, "sel._domainkey.example.com", &a);
		cr_expect_eq(a.status, DNS_NXDOMAIN, "round %d", i);
	}
	dns_source_free(a_src);
	dns_source_free(b_src);
	responder_stop(&ok);
	responder_stop(&nx);
	cr_expect_eq(atomic_load(&ok.udp_queries), 3);
	cr_expect_eq(atomic_load(&nx.udp_queries), 3);
}

/* A source shared by several threads, and how many lookups passed. */
struct shared_run {
	struct dns_source *src;
	atomic_int ok;
};

/* shared_lookups - a thread's five lookups through the shared source. */
static void *
shared_lookups(void *arg)
{
	struct shared_run *run = arg;
	struct dns_answer a;
	int i;

	for (i = 0; i < 5; i++) {
		if (dns_lookup(run->src, "sel._domainkey.example.com",
		    &a) == 0 && a.status == DNS_OK && a.ntxt == 1) {
			atomic_fetch_add(&run->ok, 1);
		}
		dns_answer_free(&a);
	}
	return NULL;
}

Test(resolver, serves_several_threads_from_one_source)
{
	struct responder r = { .family = AF_INET, .rrs = two_rrs,
	    .nrrs = 1 };
	struct shared_run run;
	pthread_t th[4];
	int i;

	responder_start(&r);
	run.src = open_resolver(&r, 2000, 2);
	atomic_init(&run.ok, 0);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(pthread_create(&th[i], NULL, shared_lookups,
		    &run), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
	}
	cr_expect_eq(atomic_load(&run.ok), 20);
	dns_source_free(run.src);
	responder_stop(&r);
}

Test(resolver, rejects_bad_server_lists)
{
	static const char *bad[] = {
		"localhost", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:",
		"[::1", "[::1]x", "1.2.3.4,", "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4",
		"999.1.1.1",
	};
	struct dns_source *src;
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		src = NULL;
		err[0] = '\0';
		rc = dns_resolver_open(bad[i], 0, 0, &src, err, sizeof(err));
		cr_expect_eq(rc, -EINVAL, "\"%s\" accepted", bad[i]);
		cr_expect_null(src);
		cr_expect_neq(err[0], '\0', "\"%s\": no reason", bad[i]);
	}

	rc = dns_resolver_open("127.0.0.1, [::1]:5353 ,::1", 0, 0, &src,
	    err, sizeof(err));
	cr_expect_eq(rc, 0, "%s", err);
	dns_source_free(src);
	rc = dns_resolver_open("", 0, 0, &src, err, sizeof(err));
	cr_expect_eq(rc, 0, "%s", err);
	dns_source_free(src);
	rc = dns_resolver_open(NULL, 0, 0, &src, err, sizeof(err));
	cr_expect_eq(rc, 0, "%s", err);
	dns_source_free(src);
}
