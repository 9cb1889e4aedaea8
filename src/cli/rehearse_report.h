/* Private to cli/: what `rekey rehearse` prints at its end, and its scratch folder's removal. */
#ifndef REKEY_CLI_REHEARSE_REPORT_H
#define REKEY_CLI_REHEARSE_REPORT_H

#include <stdbool.h>

#include "board.h"
#include "cli.h"
#include "rekey/actions.h"
#include "rekey/executor.h"

struct rehearse_view {
	const struct rk_cli		*cli;
	const struct rk_plan		*plan;
	const struct rk_run_ctx		*ctx;
	const struct rk_run_report	*report;
	const struct board		*board;
	bool				 json;
	const char			*earlier;	/* what the incident's journal says, or NULL */
	const char			*record;	/* the record written, or NULL */
	const char			*record_error;	/* why it was not */
};

/*
 * The go/no-go table (one row per step: its unit, its check, go, NO-GO, live only or
 * skipped, what was seen, and the fix under each no-go), the client diffs, the estimate of
 * the live run and the verdict; as one JSON object under json. Returns the exit code: 0 when
 * every check is go.
 */
int	rehearse_report(const struct rehearse_view *v);

/* Removes the rehearsal's scratch folder and everything in it; key files are overwritten
 * first. Best effort: what it cannot remove it names on stderr. */
void	rehearse_remove_scratch(const char *dir);

#endif
