// SPDX-License-Identifier: MIT
/*
 * log - the logger of log.h.  A line is formatted into a stack buffer
 * and written with one write(2) so lines from several threads never
 * interleave; lines longer than the buffer are cut.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "util/log.h"

static const char *log_name = "dkimq";
static bool log_syslog;
static bool log_debug_on;

/* log_init - set the program name and destination */
void
log_init(const char *progname, bool use_syslog)
{
	log_name = progname;
	log_syslog = use_syslog;
	if (use_syslog) {
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

/* log_set_verbose - turn debug lines on or off */
void
log_set_verbose(bool on)
{
	log_debug_on = on;
}

/* log_verbose - whether debug lines are on */
bool
log_verbose(void)
{
	return log_debug_on;
}

/* emit - format and write one line */
static void
emit(int prio, const char *word, int err, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n = 0;
	int k;

	if (!log_syslog) {
		k = snprintf(line, sizeof(line), "%s: %s%s", log_name,
		    word, word[0] ? ": " : "");
		n = k > 0 ? (size_t)k : 0;
	}
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = k > 0 ? n + (size_t)k : n;
	if (n >= sizeof(line)) {
		n = sizeof(line) - 1;
	}
	if (err != 0 && n < sizeof(line) - 1) {
		k = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(-err));
		n = k > 0 ? n + (size_t)k : n;
		if (n >= sizeof(line)) {
			n = sizeof(line) - 1;
		}
	}
	if (log_syslog) {
		syslog(prio, "%s", line);
		return;
	}
	if (n >= sizeof(line) - 1) {
		n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
		return;
	}
}

#define EMIT(prio, word, err) do { \
	va_list ap; \
	va_start(ap, fmt); \
	emit((prio), (word), (err), fmt, ap); \
	va_end(ap); \
} while (0)

/* log_warn - a warning with the error appended */
void
log_warn(int err, const char *fmt, ...)
{
	EMIT(LOG_WARNING, "warning", err);
}

/* log_warnx - a warning */
void
log_warnx(const char *fmt, ...)
{
	EMIT(LOG_WARNING, "warning", 0);
}

/* log_info - an event */
void
log_info(const char *fmt, ...)
{
	EMIT(LOG_INFO, "", 0);
}

/* log_debug - a debug line, when verbose */
void
log_debug(const char *fmt, ...)
{
	if (!log_debug_on) {
		return;
	}
	EMIT(LOG_DEBUG, "debug", 0);
}

/* fatal - an error with errno text, then exit */
void
fatal(int err, const char *fmt, ...)
{
	EMIT(LOG_ERR, "error", err);
	exit(1);
}

/* fatalx - an error, then exit */
void
fatalx(const char *fmt, ...)
{
	EMIT(LOG_ERR, "error", 0);
	exit(1);
}

/* panic - a broken invariant */
void
panic(const char *fmt, ...)
{
	EMIT(LOG_CRIT, "panic", 0);
	abort();
}
