// SPDX-License-Identifier: MIT
/*
 * recover - start-up recovery, run once before the watcher: list the
 * inputs, read the journal once for their lines (cutting a torn last
 * line), finish each interrupted hand-off by the commit order of
 * spool.h, and empty the output folders' tmp/.  Memory is bounded by
 * the number of inputs, not by the journal's length.
 *
 * A queue id may come back once its message has left: a mailer that
 * names files after inodes reuses names.  A journal line is taken as
 * an input's only when the input is older than the line (its status
 * change time not after the line's time_us); a newer input with an old
 * id is left to be processed.  Limitation: a name reused within the
 * file system's timestamp granularity (a few ms, coarse clocks) of the
 * earlier message's line still counts as handed off; lines without
 * time_us, written before it existed, count for any input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/spool_int.h"
#include "util/log.h"

static const char *const out_dirs[] = { "out", "forward", "rejected" };

/* exists - whether rel names something (symlinks not followed) */
static bool
exists(struct spool *sp, const char *rel)
{
	struct stat st;

	return fstatat(sp->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* list_inputs - "QUEUE/ID" of every input into s */
static int
list_inputs(struct spool *sp, struct spool_set *s)
{
	static const char *const queues[] = { "sign", "verify" };
	char path[SPOOL_PATH_MAX];
	struct dirent *e;
	DIR *d;
	int fd;

	for (size_t q = 0; q < 2; q++) {
		snprintf(path, sizeof(path), "%s/new", queues[q]);
		fd = openat(sp->rootfd, path, O_RDONLY | O_DIRECTORY);
		if (fd < 0 || (d = fdopendir(fd)) == NULL) {
			if (fd >= 0) {
				close(fd);
			}
			return -errno;
		}
		while ((e = readdir(d)) != NULL) {
			if (!spool_id_valid(e->d_name)) {
				continue;
			}
			snprintf(path, sizeof(path), "%s/%s", queues[q],
			    e->d_name);
			if (spool_set_add(s, path) < 0) {
				closedir(d);
				return -ENOMEM;
			}
		}
		closedir(d);
	}
	return 0;
}

/*
 * read_journal - for each listed input, "TIME_US<TAB>TO" of the last
 * line with its id (TIME_US 0 when the line has none); cut a torn end.
 */
static int
read_journal(struct spool *sp, struct spool_set *s,
    struct spool_recovery *st)
{
	char id[NAME_MAX + 1], q[16], to[SPOOL_PATH_MAX], key[NAME_MAX + 20];
	char val[SPOOL_PATH_MAX + 24];
	size_t cap = 0, good = 0;
	uint64_t t;
	char *line = NULL;
	ssize_t n;
	FILE *fp;
	int fd;

	fd = openat(sp->rootfd, SPOOL_JOURNAL, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (fp = fdopen(fd, "r")) == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return errno == ENOENT ? 0 : -errno;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] != '\n') {
			break;
		}
		good += (size_t)n;
		if (spool_journal_field(line, (size_t)n, "id", id,
		    sizeof(id)) != 0 ||
		    spool_journal_field(line, (size_t)n, "queue", q,
		    sizeof(q)) != 0 ||
		    spool_journal_field(line, (size_t)n, "to", to,
		    sizeof(to)) != 0) {
			continue;
		}
		if (spool_journal_number(line, (size_t)n, "time_us",
		    &t) != 0) {
			t = 0;
		}
		snprintf(key, sizeof(key), "%s/%s", q, id);
		snprintf(val, sizeof(val), "%llu\t%s", (unsigned long long)t,
		    to);
		if (spool_set_has(s, key) && spool_set_put(s, key, val) != 0) {
			break;
		}
	}
	free(line);
	fclose(fp);

	/* A line without its newline was torn by a crash mid-write. */
	fd = sp->journalfd;
	{
		struct stat jst;

		if (fstat(fd, &jst) == 0 && (size_t)jst.st_size > good) {
			st->truncated = (size_t)jst.st_size - good;
			if (ftruncate(fd, (off_t)good) != 0 ||
			    fdatasync(fd) != 0) {
				return -errno;
			}
		}
	}
	return 0;
}

/* find_output - an output of id in some DEST/new, into buf */
static bool
find_output(struct spool *sp, const char *id, char *buf, size_t len)
{
	struct dirent *e;
	DIR *d;
	int fd;

	for (size_t i = 0; i < sizeof(out_dirs) / sizeof(*out_dirs); i++) {
		snprintf(buf, len, "%s/new/%s", out_dirs[i], id);
		if (exists(sp, buf)) {
			return true;
		}
	}
	fd = openat(sp->rootfd, "quarantine", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return false;
	}
	while ((e = readdir(d)) != NULL) {
		if (!spool_id_valid(e->d_name)) {
			continue;
		}
		snprintf(buf, len, "quarantine/%s/new/%s", e->d_name, id);
		if (exists(sp, buf)) {
			closedir(d);
			return true;
		}
	}
	closedir(d);
	return false;
}

/* finish_line - an input whose line is in the journal */
static int
finish_line(struct spool *sp, const char *input, const char *id,
    const char *to, struct spool_recovery *st)
{
	char tmp[SPOOL_PATH_MAX], reason[SPOOL_PATH_MAX + 8];
	const char *nw;

	if (strncmp(to, SPOOL_FAILED "/", sizeof(SPOOL_FAILED)) == 0) {
		snprintf(reason, sizeof(reason), "%s.reason", to);
		if (!exists(sp, reason)) {
			spool_write_file(sp, reason, "recovered\n", 10);
		}
		if (!exists(sp, to)) {
			st->to_failed++;
			if (renameat(sp->rootfd, input, sp->rootfd, to) != 0) {
				return -errno;
			}
			return 0;
		}
	} else if (to[0] != '\0' && !exists(sp, to)) {
		/* DEST/new/ID from DEST/tmp/ID, if it is still there */
		nw = strstr(to, "/new/");
		if (nw != NULL && strlen(to) < sizeof(tmp)) {
			snprintf(tmp, sizeof(tmp), "%.*s/tmp/%s",
			    (int)(nw - to), to, nw + 5);
			if (exists(sp, tmp) && renameat(sp->rootfd, tmp,
			    sp->rootfd, to) != 0) {
				return -errno;
			}
		}
	}
	st->completed++;
	log_info("%s: recovery: hand-off finished, to=%s", id,
	    to[0] ? to : "-");
	if (unlinkat(sp->rootfd, input, 0) != 0 && errno != ENOENT) {
		return -errno;
	}
	return 0;
}

/* finish_output - an input whose output exists without a line */
static int
finish_output(struct spool *sp, const char *input, enum wrk_mode queue,
    const char *id, const char *to, struct spool_recovery *st)
{
	struct spool_record r = {
		.id = id, .queue = queue, .action = "recovered", .to = to,
		.reason = "output found at start-up without a journal line",
		.time_us = spool_wall_us(),
	};
	struct dkim_buf b = { 0 };
	struct stat sb;
	int rc;

	if (fstatat(sp->rootfd, input, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		r.bytes = (uint64_t)sb.st_size;
	}
	rc = spool_journal_line(&b, &r);
	rc = rc ? rc : spool_journal_append(sp, b.data, b.len);
	dkim_buf_free(&b);
	if (rc != 0) {
		return rc;
	}
	st->journaled++;
	log_info("%s: recovery: journal line written, to=%s", id, to);
	if (unlinkat(sp->rootfd, input, 0) != 0 && errno != ENOENT) {
		return -errno;
	}
	return 0;
}

/* clean_tmp - remove every file of folder rel */
static void
clean_tmp(struct spool *sp, const char *rel, struct spool_recovery *st)
{
	char path[SPOOL_PATH_MAX];
	struct dirent *e;
	DIR *d;
	int fd;

	fd = openat(sp->rootfd, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", rel, e->d_name);
		if (unlinkat(sp->rootfd, path, 0) == 0) {
			st->stale++;
		}
	}
	closedir(d);
}

/* clean_all_tmp - the tmp/ folders of every destination */
static void
clean_all_tmp(struct spool *sp, struct spool_recovery *st)
{
	char path[SPOOL_PATH_MAX];
	struct dirent *e;
	DIR *d;
	int fd;

	for (size_t i = 0; i < sizeof(out_dirs) / sizeof(*out_dirs); i++) {
		snprintf(path, sizeof(path), "%s/tmp", out_dirs[i]);
		clean_tmp(sp, path, st);
	}
	fd = openat(sp->rootfd, "quarantine", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (spool_id_valid(e->d_name)) {
			snprintf(path, sizeof(path), "quarantine/%s/tmp",
			    e->d_name);
			clean_tmp(sp, path, st);
		}
	}
	closedir(d);
}

/*
 * newer_than - whether input arrived after time_us (0: never), going
 * by its status change time, which its link into new/ set last.
 */
static bool
newer_than(struct spool *sp, const char *input, uint64_t time_us)
{
	struct stat sb;
	uint64_t ct;

	if (time_us == 0 ||
	    fstatat(sp->rootfd, input, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		return false;
	}
	ct = (uint64_t)sb.st_ctim.tv_sec * 1000000u +
	    (uint64_t)sb.st_ctim.tv_nsec / 1000;
	return ct > time_us;
}

/* recover_one - decide for one input key "QUEUE/ID" */
static int
recover_one(struct spool *sp, struct spool_set *s, const char *key,
    struct spool_recovery *st)
{
	char input[SPOOL_PATH_MAX], out[SPOOL_PATH_MAX];
	const char *slash = strchr(key, '/');
	const char *val = spool_set_get(s, key);
	enum wrk_mode q = strncmp(key, "sign/", 5) == 0 ? WRK_SIGN :
	    WRK_VERIFY;
	char *tab;
	uint64_t t;

	snprintf(input, sizeof(input), "%.*s/new/%s", (int)(slash - key),
	    key, slash + 1);
	if (val != NULL) {
		t = strtoull(val, &tab, 10);
		if (newer_than(sp, input, t)) {
			st->reused++;
			log_info("%s: recovery: journaled before, but this "
			    "input is newer: processed as new", slash + 1);
			return 0;
		}
		return finish_line(sp, input, slash + 1, tab + 1, st);
	}
	if (find_output(sp, slash + 1, out, sizeof(out))) {
		return finish_output(sp, input, q, slash + 1, out, st);
	}
	return 0;
}

/* spool_recover - finish interrupted hand-offs */
int
spool_recover(struct spool *sp, struct spool_recovery *st)
{
	struct spool_set *s = spool_set_create();
	char **keys = NULL;
	size_t nkeys = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	if (s == NULL) {
		return -ENOMEM;
	}
	rc = list_inputs(sp, s);
	rc = rc ? rc : read_journal(sp, s, st);
	rc = rc ? rc : spool_set_keys(s, &keys, &nkeys);
	for (size_t i = 0; rc == 0 && i < nkeys; i++) {
		rc = recover_one(sp, s, keys[i], st);
		if (rc != 0) {
			log_warn(rc, "spool: recovery: %s", keys[i]);
		}
	}
	for (size_t i = 0; i < nkeys; i++) {
		free(keys[i]);
	}
	free(keys);
	spool_set_free(s);
	if (rc != 0) {
		return rc;
	}
	clean_all_tmp(sp, st);

	/* One fsync per folder makes the finished hand-offs durable. */
	for (size_t i = 0; i < sizeof(out_dirs) / sizeof(*out_dirs); i++) {
		char path[32];

		snprintf(path, sizeof(path), "%s/new", out_dirs[i]);
		spool_fsync_dir(sp, path);
	}
	spool_fsync_dir(sp, "sign/new");
	spool_fsync_dir(sp, "verify/new");
	spool_fsync_dir(sp, SPOOL_FAILED);
	return 0;
}
