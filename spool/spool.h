/* SPDX-License-Identifier: MIT */
/*
 * spool - the queue sidecar of DESIGN.md, the public contract: the
 * spool layout, the watcher (inotify and file reads through io_uring,
 * or a plain read() loop where io_uring is unavailable), the hand-off
 * of results to their folders with group commit, the results journal
 * and start-up recovery.
 *
 * Durability, in the committer's batch order: (1) every output is
 * written to DEST/tmp/ID and fdatasync'd, failure reasons to
 * failed/ID.reason; (2) the batch's journal lines are appended to
 * results.jsonl and fdatasync'd; (3) outputs are renamed into
 * DEST/new/ (failed inputs into failed/) and each directory touched is
 * fsync'd once; (4) the inputs are unlinked.  Recovery therefore knows:
 * an input without a journal line was not handed off (its tmp/ output
 * is stale); an input with one was, and only steps 3 and 4 may be left.
 *
 * Does not sign or verify: see workers/.  The archive readers of batch
 * runs (mbox, Maildir) are declared in their own section by their
 * author.
 */
#ifndef DKIMQ_SPOOL_H
#define DKIMQ_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "dkim/dkim.h"
#include "dns/dns.h"
#include "workers/workers.h"

/* The folders of the layout, relative to the spool root. */
#define SPOOL_JOURNAL "results.jsonl"
#define SPOOL_FAILED "failed"

struct spool;

/*
 * spool_open - make (mode 0750) and open the layout under root: the
 * sign, verify, out, forward and rejected tmp/ and new/ folders,
 * quarantine/ and failed/, and the journal.  Returns 0 with *out
 * (owned by the caller, spool_free), or -errno with err.
 */
int spool_open(const char *root, struct spool **out, char *err,
    size_t errlen);

/* spool_free - close and release sp; NULL is allowed. */
void spool_free(struct spool *sp);

struct spool_recovery {
	size_t completed;	/* handed off before the crash: input removed */
	size_t journaled;	/* output there without a line: line written */
	size_t to_failed;	/* failed/ moves finished */
	size_t stale;		/* tmp/ leftovers removed */
	size_t truncated;	/* bytes of a torn last journal line cut */
	size_t reused;		/* newer than their id's line: left as new */
};

/*
 * spool_recover - finish interrupted hand-offs (see the order above):
 * for each input in sign/new and verify/new whose id has a journal
 * line, put its output in place from tmp/ if it is still there (or move
 * it to failed/), then unlink the input; an input whose output is in a
 * DEST/new/ without a journal line gets a minimal line ("action":
 * "recovered"), then is unlinked.  Other tmp/ files of the output
 * folders are removed, and a torn last journal line is cut.  Blocks;
 * run before the watcher starts.  Returns 0 or -errno.
 */
int spool_recover(struct spool *sp, struct spool_recovery *st);

/* What one journal line says (strings borrowed). */
struct spool_record {
	const char *id;
	enum wrk_mode queue;
	const char *domain;
	const struct dkim_report *report;	/* signatures; NULL: none */
	const char *action;
	const char *to;		/* relative to the spool; "" for delete */
	uint64_t bytes;		/* input size */
	uint64_t us;		/* microseconds in the pipeline */
	const char *reason;	/* why, or NULL/"" for none */
	uint64_t time_us;	/* wall clock when the line was made, in
				 * microseconds since 1970; 0: left out */
};

/*
 * spool_journal_line - append r as one results.jsonl line, newline
 * included: {"id", "queue", "domain", "signatures" (the array of
 * `dkimq verify --json`), "action", "to", "bytes", "us"}, then
 * "time_us" when r->time_us is set and "reason" when there is one.
 * Returns 0 or -ENOMEM.
 */
int spool_journal_line(struct dkim_buf *b, const struct spool_record *r);

/*
 * spool_id_valid - whether name can be a queue id: 1 to 255 bytes of
 * printable ASCII other than '/', '"' and '\', not starting with '.'.
 */
bool spool_id_valid(const char *name);

struct spool_run_opts {
	const char *config_path;	/* reloaded on SIGHUP */
	struct cfg *cfg;	/* taken over; replaced on reload */
	struct dns_cache *cache;	/* borrowed; or NULL */
	struct dns_source *src;	/* borrowed; used when cache is NULL */
	bool once;		/* process what is queued, then return */
	bool no_uring;		/* use the plain loop even if io_uring works */
	unsigned stats_s;	/* seconds between summaries; 0: 60 */
	unsigned batch_ms;	/* group commit window; 0: 5 */
	unsigned batch_max;	/* messages per commit; 0: 128 */
	size_t queue_depth;	/* pool bound; 0: 256 */
};

/*
 * spool_run - the sidecar: recover, then watch SPOOL/sign/new and
 * SPOOL/verify/new (messages already there are taken too), process on
 * a pool of o->cfg->threads workers and hand off.  SIGHUP reloads the
 * configuration and keys (a configuration with errors is refused and
 * the old one kept); SIGTERM and SIGINT stop taking work, drain what
 * is in flight and return.  With o->once, returns when what was queued
 * at start is done.  Blocks these signals in the calling thread.
 * Returns 0, or -errno when the spool cannot be opened or watched.
 * o->cfg is freed before it returns.
 */
int spool_run(struct spool_run_opts *o);

#endif
