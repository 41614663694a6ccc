// SPDX-License-Identifier: MIT
/*
 * render - a verdict as an RFC 8601 Authentication-Results field and as
 * the JSON object of `dkimq verify --json`.  Reasons become RFC 8601
 * comments with their parentheses and backslashes escaped; values that
 * are not RFC 5322 atoms are quoted.
 */
#include <stdio.h>
#include <string.h>

#include "dkim/dkim_int.h"

/* is_token - whether s can stand unquoted as a method property value */
static bool
is_token(const char *s)
{
	if (*s == '\0') {
		return false;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f || strchr("()<>,;:\\\"[]", c)) {
			return false;
		}
	}
	return true;
}

/* add_value - a property value, quoted when it must be */
static int
add_value(struct dkim_buf *b, const char *s)
{
	int rc;

	if (is_token(s)) {
		return dkim_buf_str(b, s);
	}
	rc = dkim_buf_add(b, "\"", 1);
	for (; rc == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			rc = dkim_buf_add(b, "\\", 1);
		}
		if (rc == 0 && c >= ' ' && c < 0x7f) {
			rc = dkim_buf_add(b, s, 1);
		}
	}
	return rc ? rc : dkim_buf_add(b, "\"", 1);
}

/* add_comment - " (text)" with comment specials escaped */
static int
add_comment(struct dkim_buf *b, const char *s)
{
	int rc = dkim_buf_str(b, " (");

	for (; rc == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '(' || c == ')' || c == '\\') {
			rc = dkim_buf_add(b, "\\", 1);
		}
		if (rc == 0 && c >= ' ' && c < 0x7f) {
			rc = dkim_buf_add(b, s, 1);
		}
	}
	return rc ? rc : dkim_buf_add(b, ")", 1);
}

/* column - the display column at the end of b (tabs as 8) */
static size_t
column(const struct dkim_buf *b)
{
	size_t i = b->len, col = 0;

	while (i > 0 && b->data[i - 1] != '\n') {
		i--;
	}
	for (; i < b->len; i++) {
		col = b->data[i] == '\t' ? (col + 8) & ~(size_t)7 : col + 1;
	}
	return col;
}

/* add_prop - " ptype.name=value", folded before it when it is long */
static int
add_prop(struct dkim_buf *b, const char *eol, const char *name,
    const char *value)
{
	size_t need = strlen(name) + strlen(value) + 2;
	int rc = column(b) + need > 78 ? dkim_buf_fmt(b, "%s\t", eol) :
	    dkim_buf_add(b, " ", 1);

	rc = rc ? rc : dkim_buf_fmt(b, "%s=", name);
	return rc ? rc : add_value(b, value);
}

/* add_sig - one resinfo for signature s */
static int
add_sig(struct dkim_buf *b, const char *eol,
    const struct dkim_sig_result *s)
{
	bool dk = s->type == DKIM_TYPE_DK;
	int rc = dkim_buf_fmt(b, ";%s\t%s=%s", eol,
	    dk ? "domainkeys" : "dkim", dkim_result_name(s->result));

	if (rc == 0 && (s->reason[0] || dk)) {
		char note[300];

		snprintf(note, sizeof(note), "%s%s%s",
		    dk ? "historic method" : "", dk && s->reason[0] ? "; " : "",
		    s->reason);
		rc = add_comment(b, note);
	}
	if (rc == 0 && s->sdid[0]) {
		rc = add_prop(b, eol, "header.d", s->sdid);
	}
	if (rc == 0 && !dk && s->identity[0]) {
		rc = add_prop(b, eol, "header.i", s->identity);
	}
	if (rc == 0 && s->selector[0]) {
		rc = add_prop(b, eol, "header.s", s->selector);
	}
	if (rc == 0 && !dk && s->alg[0]) {
		rc = add_prop(b, eol, "header.a", s->alg);
	}
	if (rc == 0 && dk && s->sender[0]) {
		rc = add_prop(b, eol, s->sender_is_sender ? "header.sender" :
		    "header.from", s->sender);
	}
	if (rc == 0 && !dk && s->b_prefix[0]) {
		char pre[9];

		/* RFC 6008: eight characters identify the signature. */
		memcpy(pre, s->b_prefix, 8);
		pre[8] = '\0';
		rc = add_prop(b, eol, "header.b", pre);
	}
	return rc;
}

/* dkim_auth_results - append the Authentication-Results field */
int
dkim_auth_results(struct dkim_buf *b, const char *authserv_id,
    const struct dkim_report *r, bool dkim, bool domainkeys, bool crlf)
{
	const char *eol = crlf ? "\r\n" : "\n";
	bool seen_dkim = false, seen_dk = false;
	int rc = dkim_buf_str(b, "Authentication-Results: ");

	rc = rc ? rc : add_value(b, authserv_id);
	for (size_t i = 0; rc == 0 && i < r->nsigs; i++) {
		seen_dk |= r->sigs[i].type == DKIM_TYPE_DK;
		seen_dkim |= r->sigs[i].type == DKIM_TYPE_DKIM;
		rc = add_sig(b, eol, &r->sigs[i]);
	}
	if (rc == 0 && dkim && !seen_dkim) {
		rc = dkim_buf_fmt(b, ";%s\tdkim=none", eol);
	}
	if (rc == 0 && domainkeys && !seen_dk) {
		rc = dkim_buf_fmt(b, ";%s\tdomainkeys=none", eol);
	}
	return rc ? rc : dkim_buf_str(b, eol);
}

/* json_member - `"key": "value"` with a leading separator */
static int
json_member(struct dkim_buf *b, const char *key, const char *value)
{
	int rc = dkim_buf_fmt(b, ", \"%s\": ", key);

	return rc ? rc : dkim_json_str(b, value);
}

/* dkim_report_json - append the verdict as JSON */
int
dkim_report_json(struct dkim_buf *b, const struct dkim_report *r)
{
	int rc = dkim_buf_fmt(b, "{\"result\": \"%s\", \"signatures\": [",
	    dkim_result_name(r->result));

	for (size_t i = 0; rc == 0 && i < r->nsigs; i++) {
		const struct dkim_sig_result *s = &r->sigs[i];

		rc = dkim_buf_fmt(b, "%s{\"type\": \"%s\"", i ? ", " : "",
		    s->type == DKIM_TYPE_DK ? "domainkeys" : "dkim");
		rc = rc ? rc : json_member(b, "d", s->sdid);
		rc = rc ? rc : json_member(b, "s", s->selector);
		rc = rc ? rc : json_member(b, "i", s->identity);
		rc = rc ? rc : json_member(b, "a", s->alg);
		rc = rc ? rc : json_member(b, "result",
		    dkim_result_name(s->result));
		rc = rc ? rc : json_member(b, "category",
		    dkim_category_name(s->category));
		rc = rc ? rc : json_member(b, "reason", s->reason);
		if (rc == 0 && s->type == DKIM_TYPE_DK) {
			rc = json_member(b, s->sender_is_sender ? "sender" :
			    "from", s->sender);
		}
		if (rc == 0 && s->testing) {
			rc = dkim_buf_str(b, ", \"testing\": true");
		}
		rc = rc ? rc : dkim_buf_str(b, "}");
	}
	return rc ? rc : dkim_buf_str(b, "]}");
}
