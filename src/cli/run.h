/*
 * Private to cli/: one invocation of `rekey run`, `resume`, `rollback` or `rehearse`, as
 * cmd_run carries it out, run_summary tells it and run_record writes it down.
 */
#ifndef REKEY_RUN_H
#define REKEY_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "board.h"
#include "cli.h"
#include "rekey/executor.h"
#include "rekey/journal.h"

enum run_mode {
	MODE_RUN,
	MODE_RESUME,
	MODE_ROLLBACK,
	MODE_REHEARSE,
};

struct run_args {
	enum run_mode		 mode;
	bool			 json;
	bool			 has_policy;
	enum rk_on_failure	 on_failure;
	long			 only_expiring;	/* seconds; 0: every certificate */
	const char		*playbook;
};

/* What one invocation holds; cleared at the end whatever happened. */
struct run {
	const struct rk_cli	*cli;
	struct run_args		 args;
	struct rk_diags		 diags;
	struct rk_model		*model;
	struct rk_plan		*plan;
	char			*dir;		/* <records>/<incident> */
	char			*journal_path;
	char			*ledger;
	struct rk_journal	*journal;
	struct rk_journal_log	*log;		/* resume, rollback: what the journal held */
	struct rk_revoked_set	*revoked;	/* per revocation */
	char			**revoke_errors;
	struct rk_revocation_facts *facts;
	struct rk_kv		*header_facts;
	char			**header_strings;
	size_t			 nheader;
	struct rk_run_ctx	*ctx;
	struct board		 board;
	bool			 board_ready;
	struct rk_run_report	*report;
	bool			 ssh_ready;
	bool			 mariadb_ready;
	char			*scratch;	/* rehearse: its folder, removed at the end */
	char			*scratch_journal;
	struct rk_buf		 playbook_bytes;	/* as loaded, for the record */
	char			*record;	/* the record written, or NULL */
	char			 record_error[512];	/* why it was not */
	char			 journal_error[512];	/* why the journal stopped the run */
	const char		*earlier;	/* rehearse: what the incident's journal says */
	struct cli_selection	 selection;	/* --only-expiring */
};

enum unit_result {
	UNIT_VERIFIED,
	UNIT_ROLLED_BACK,
	UNIT_UNDO_FAILED,	/* a rollback left something of it neither old nor new */
	UNIT_FAILED,
	UNIT_INCOMPLETE,	/* its host changed, the rest not reached (journal, stop) */
	UNIT_SKIPPED,
	UNIT_NOT_STARTED,
};

/* "run", "resume", "rollback" or "rehearse". */
const char *run_mode_name(enum run_mode mode);

/*
 * What became of a unit (a service, or a client when svc is NULL); *first_failed is the step
 * whose error says why (or NULL), and *undo_failed the first of its steps whose undo failed
 * (or NULL).
 */
enum unit_result run_unit_result(const struct run *run, const struct rk_service *svc,
	    const struct rk_client *c, const struct rk_step **first_failed,
	    const struct rk_step **undo_failed);
/* "verified", "rolled back", "undo FAILED", "failed", "incomplete", ... as the summary says. */
const char *run_unit_result_name(enum unit_result u);
/* Whether the run did all it set out to (a rollback: undid everything). */
bool	run_ok(const struct run *run);
/* Prints the summary (text or JSON) and what to do next; returns the exit code. */
int	run_finish(struct run *run);

/* The incident record of the run (run->record names it once written). */
int	run_write_record(struct run *run, struct rk_err *err) RK_MUST_CHECK;

#endif
