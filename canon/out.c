/* SPDX-License-Identifier: MIT */
/*
 * out - the staging buffer between canonicalization and its sink.
 *
 * Gathers the short pieces that header and relaxed body canonicalization
 * produce so that a digest sees few, large updates.  The writers
 * themselves are inline in canon_int.h.  A struct canon_out belongs to
 * the thread that uses it; nothing here allocates.
 */
#include "canon/canon_int.h"

/* canon_out_init - direct out to sink(arg, ...). */
void
canon_out_init(struct canon_out *out, canon_sink_fn sink, void *arg)
{
	out->sink = sink;
	out->arg = arg;
	out->fill = 0;
	out->total = 0;
}

/* canon_out_flush - hand staged bytes to the sink. */
void
canon_out_flush(struct canon_out *out)
{
	if (out->fill == 0) {
		return;
	}
	out->sink(out->arg, out->stage, out->fill);
	out->fill = 0;
}
