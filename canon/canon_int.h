/* SPDX-License-Identifier: MIT */
/*
 * canon_int - helpers shared by the files of canon/ and by nobody else.
 *
 * The staging writers are inline because every canonical byte passes
 * through them; see struct canon_out in canon.h for the staging rule.
 */
#ifndef DKIMQ_CANON_INT_H
#define DKIMQ_CANON_INT_H

#include <string.h>

#include "canon/canon.h"

/* Spans longer than this skip the stage and go to the sink as they are. */
#define CANON_DIRECT_MIN (CANON_STAGE_SIZE / 4)

/*
 * canon_out_write - append data[0..len) to out: staged when short, handed
 * to the sink directly (after what is staged) when long.  data is
 * borrowed for the duration of the call.
 */
static inline void
canon_out_write(struct canon_out *out, const void *data, size_t len)
{
	if (len == 0) {
		return;
	}
	out->total += len;
	if (len > CANON_DIRECT_MIN) {
		canon_out_flush(out);
		out->sink(out->arg, data, len);
		return;
	}
	if (len > CANON_STAGE_SIZE - out->fill) {
		canon_out_flush(out);
	}
	memcpy(out->stage + out->fill, data, len);
	out->fill += len;
}

/* canon_out_putc - append the single byte c to out. */
static inline void
canon_out_putc(struct canon_out *out, unsigned char c)
{
	if (out->fill == CANON_STAGE_SIZE) {
		canon_out_flush(out);
	}
	out->stage[out->fill++] = c;
	out->total++;
}

/* canon_is_wsp - whether c is WSP (SP or HTAB), RFC 5234. */
static inline int
canon_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

#endif
