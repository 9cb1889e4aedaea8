/* Private to src/record: the human report, rendered from the record's own JSON members. */
#ifndef REKEY_RECORD_INT_H
#define REKEY_RECORD_INT_H

#include <jansson.h>

#include "rekey/bytes.h"
#include "rekey/err.h"

/*
 * report.md and report.html from incident.json, verification.json, the changes by host and
 * timeline.jsonl's lines: the summary first, then the timeline, revocations, changes, the
 * verification table, and what is still open. The HTML is one file: no script, no fetch.
 */
int	rk_report_render(struct rk_buf *md, struct rk_buf *html, const json_t *incident,
	    const json_t *verification, const json_t *changes, struct rk_bytes timeline,
	    struct rk_err *err) RK_MUST_CHECK;

#endif
