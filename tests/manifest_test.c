// SPDX-License-Identifier: MIT
/*
 * manifest_test - the shared third-party interop vectors
 * (../shared/testdata/interop): in --legacy mode with DomainKeys on,
 * every case the source projects assert gives their overall and
 * per-signature results; in the default strict mode every case gives
 * the verdict written down in tests/data/manifest_strict.tsv with the
 * RFC reason.  The cases their sources skip are judged as listed in
 * legacy_choices below, with why; no case goes unchecked.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dkim/dkim.h"

#define VECTORS DKIMQ_SHARED "/testdata/interop"

/* Skipped in their source: what dkimq gives under --legacy, and why. */
static const struct {
	const char *file;
	const char *result;
	const char *why;
} legacy_choices[] = {
	{ "mdkim_bad_dk_3.txt", "pass pass",
	    "no q= tag: RFC 4870 3.2.2 defaults q= to dns, and Mail::DKIM "
	    "passes it too; its source's intent (permerror) is not the RFC's" },
	{ "mdkim_good_ietf00_1.txt", "permerror permerror",
	    "ietf-00 draft signature has no bh= tag; no later verifier "
	    "can check it" },
	{ "mdkim_good_ietf00_2.txt", "permerror permerror", "as ietf00_1" },
	{ "mdkim_good_ietf00_3.txt", "permerror permerror", "as ietf00_1" },
	{ "mdkim_good_ietf00_4.txt", "permerror permerror", "as ietf00_1" },
	{ "mdkim_good_ietf00_5.txt", "permerror permerror", "as ietf00_1" },
};

struct row {
	char file[128];
	char overall[32];
	char per[256];
	char assertion[32];
	long time;
};

/* split - tab-separated fields of line, in place */
static int
split(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (line == NULL) {
			break;
		}
		*line++ = '\0';
	}
	return n;
}

/* load_manifest - the rows of manifest.tsv */
static size_t
load_manifest(struct row *rows, size_t max)
{
	FILE *fp = fopen(VECTORS "/manifest.tsv", "r");
	char line[4096];
	size_t n = 0;

	cr_assert_not_null(fp, "cannot open the shared manifest");
	cr_assert_not_null(fgets(line, sizeof(line), fp));
	while (n < max && fgets(line, sizeof(line), fp) != NULL) {
		char *f[10];

		if (split(line, f, 10) < 8) {
			continue;
		}
		snprintf(rows[n].file, sizeof(rows[n].file), "%s", f[0]);
		snprintf(rows[n].overall, sizeof(rows[n].overall), "%s", f[4]);
		snprintf(rows[n].per, sizeof(rows[n].per), "%s", f[5]);
		snprintf(rows[n].assertion, sizeof(rows[n].assertion), "%s",
		    f[6]);
		/* A plain number is the time the source verified at. */
		rows[n].time = strspn(f[7], "0123456789") == strlen(f[7]) ?
		    atol(f[7]) : 0;
		n++;
	}
	fclose(fp);
	return n;
}

/* verdict - "overall per,per" for one vector under o */
static void
verdict(const struct row *r, struct dkim_verify_opts o, char *out,
    size_t len)
{
	char path[512], *buf, err[256];
	struct dns_source *src;
	struct dkim_verifier *v = dkim_verifier_create();
	struct dkim_report *rep = malloc(sizeof(*rep));
	struct canon_msg m;
	size_t blen, n;

	snprintf(path, sizeof(path), VECTORS "/messages/%s", r->file);
	cr_assert_eq(cli_read_file(path, &buf, &blen), 0, "%s", path);
	cr_assert_eq(dns_zone_open(VECTORS "/keys.zone", &src, err,
	    sizeof(err)), 0, "%s", err);
	canon_msg_init(&m);
	cr_assert_eq(canon_msg_parse(&m, buf, blen), 0);
	o.now = r->time;
	cr_assert_eq(dkim_verify_message(v, &m, &o, src, rep), 0);
	n = (size_t)snprintf(out, len, "%s ", dkim_result_name(rep->result));
	for (size_t i = 0; i < rep->nsigs && n < len; i++) {
		n += (size_t)snprintf(out + n, len - n, "%s%s", i ? "," : "",
		    dkim_result_name(rep->sigs[i].result));
	}
	canon_msg_free(&m);
	dns_source_free(src);
	dkim_verifier_free(v);
	free(rep);
	free(buf);
}

Test(manifest, legacy_mode_gives_every_asserted_result)
{
	static struct row rows[200];
	struct dkim_verify_opts o = {
		.dkim = true, .domainkeys = true, .legacy = true,
		.max_signatures = DKIM_MAX_SIGNATURES,
	};
	size_t n = load_manifest(rows, 200), checked = 0, chosen = 0;

	cr_assert_geq(n, 86, "manifest has %zu rows", n);
	for (size_t i = 0; i < n; i++) {
		char got[512], want[300];
		const char *choice = NULL;

		verdict(&rows[i], o, got, sizeof(got));
		for (size_t k = 0; k < sizeof(legacy_choices) /
		    sizeof(legacy_choices[0]); k++) {
			if (strcmp(legacy_choices[k].file, rows[i].file) == 0) {
				choice = legacy_choices[k].result;
			}
		}
		if (strcmp(rows[i].assertion, "skipped-in-source") == 0) {
			cr_assert_not_null(choice, "%s is skipped in its "
			    "source but not in legacy_choices", rows[i].file);
			cr_expect_str_eq(got, choice, "%s", rows[i].file);
			chosen++;
			continue;
		}
		cr_assert_null(choice, "%s is asserted; it needs no choice",
		    rows[i].file);
		snprintf(want, sizeof(want), "%s %s", rows[i].overall,
		    rows[i].per);
		cr_expect_str_eq(got, want, "%s [%s]", rows[i].file,
		    rows[i].assertion);
		checked++;
	}
	cr_expect_eq(checked + chosen, n);
}

Test(manifest, strict_mode_gives_the_rfc_verdicts)
{
	static struct row rows[200];
	struct dkim_verify_opts o = {
		.dkim = true, .domainkeys = true,
		.max_signatures = DKIM_MAX_SIGNATURES,
	};
	size_t n = load_manifest(rows, 200), seen = 0;
	FILE *fp = fopen(DKIMQ_SRC "/tests/data/manifest_strict.tsv", "r");
	char line[1024];

	cr_assert_not_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *f[4], got[512], want[300];
		const struct row *r = NULL;

		if (line[0] == '#' || split(line, f, 4) != 4) {
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (strcmp(rows[i].file, f[0]) == 0) {
				r = &rows[i];
			}
		}
		cr_assert_not_null(r, "%s is not in the manifest", f[0]);
		verdict(r, o, got, sizeof(got));
		snprintf(want, sizeof(want), "%s %s", f[1], f[2]);
		cr_expect_str_eq(got, want, "%s: %s", f[0], f[3]);
		seen++;
	}
	fclose(fp);
	cr_expect_eq(seen, n, "strict table covers %zu of %zu vectors", seen,
	    n);
}
