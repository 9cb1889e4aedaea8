/*
 * The executor: carries a plan out, group by group ((phase, wave) runs of steps, with a barrier
 * between groups), each host of a group in its own lane (its steps in plan order, lanes in
 * parallel up to max_parallel), writing the journal's "start" before every action and "done"
 * or "failed" after it. It knows no transport, server or key: cli/ hands it one row of
 * operations per action (struct rk_action_ops), as curl is handed a TLS backend. It prints
 * nothing; progress leaves as events to the observer.
 */
#ifndef REKEY_EXECUTOR_H
#define REKEY_EXECUTOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "rekey/err.h"
#include "rekey/event.h"
#include "rekey/journal.h"
#include "rekey/plan.h"

#define RK_ACTIONS	(RK_ACT_WRITE_RECORD + 1)
#define RK_RESULT_KV_MAX	12
#define RK_RESULT_STORE		1024	/* inline: what a step says nearly always fits */
#define RK_RESULT_OVERFLOW	8192	/* one block more, made when it does not */
#define RK_BATCH_STEPS_MAX	64	/* steps one run_batch call takes at most */

/*
 * What a step produced and what undoes it, for the journal. Keys are static strings; values
 * are copied into store, or into overflow past it (a run of 1,000 hosts holds ten thousand of
 * these until it ends: the common case stays small). Never a secret: a key is named by its
 * path. All zeroes is an empty result; rk_step_result_reset empties one that was used.
 */
struct rk_step_result {
	struct rk_kv	 out[RK_RESULT_KV_MAX];
	size_t		 nout;
	struct rk_kv	 undo[RK_RESULT_KV_MAX];
	size_t		 nundo;
	char		 store[RK_RESULT_STORE];
	size_t		 used;
	char		*overflow;		/* RK_RESULT_OVERFLOW bytes, or NULL */
	size_t		 overflow_used;
};

void	rk_step_result_reset(struct rk_step_result *r);

int	rk_step_result_out(struct rk_step_result *r, const char *key, const char *value,
	    struct rk_err *err) RK_MUST_CHECK;
int	rk_step_result_undo(struct rk_step_result *r, const char *key, const char *value,
	    struct rk_err *err) RK_MUST_CHECK;

/* In what order undo runs for one unit: files back first, then reloads, then checks. */
enum rk_undo_rank {
	RK_UNDO_CONTENT,	/* put the old bytes back (push-file, edit-config) */
	RK_UNDO_RELOAD,		/* reload again, so the old files are served */
	RK_UNDO_CHECK,		/* verify the old state works */
};

/*
 * The operations of one action. ctx is the executor config's ctx, handed through. run may be
 * called from any lane thread, but never twice at once for one host. A step that fails after
 * changing something puts what undoes it in res all the same.
 */
struct rk_action_ops {
	int	(*run)(void *ctx, const struct rk_step *step, struct rk_step_result *res,
		    struct rk_err *err);
	/* Undoes a done step from what its journal record says (NULL: nothing to undo). */
	int	(*undo)(void *ctx, const struct rk_step *step, const struct rk_kv *undo,
		    size_t nundo, const struct rk_kv *out, size_t nout, struct rk_err *err);
	/*
	 * Several steps of one host at once: steps[0..n), all of this action, consecutive in
	 * the host's lane, none the interrupted run touched. Runs them as run would, in order,
	 * in as few round trips as the host allows, and stops at the first that fails. Returns
	 * how many it ran: codes[i] (0 or the error), errs[i] and res[i] say how each of those
	 * ended; any after a failure were not run. NULL: the steps run one by one.
	 */
	size_t	(*run_batch)(void *ctx, const struct rk_step *const *steps, size_t n,
		    struct rk_step_result *const *res, int *codes, struct rk_err *errs);
	enum rk_undo_rank undo_rank;
	/*
	 * Resume: the step was started but its "done" never reached the journal. Checks the
	 * host (is the new file there?) and sets *done, filling res as run would have. NULL:
	 * the step is simply run again (reloads and checks are idempotent).
	 */
	int	(*check_done)(bool *done, void *ctx, const struct rk_step *step,
		    struct rk_step_result *res, struct rk_err *err);
	/*
	 * Resume: the step was done by the interrupted run; hands what it produced back to
	 * the context (a probe's baseline, which must not be probed again once the new
	 * certificate is served). NULL: nothing to take back.
	 */
	void	(*recall)(void *ctx, const struct rk_step *step, const struct rk_kv *out,
		    size_t nout);
};

/* What became of each step. */
enum rk_step_outcome {
	RK_OUTCOME_PENDING,	/* never reached: the run stopped before it */
	RK_OUTCOME_DONE,
	RK_OUTCOME_DONE_BEFORE,	/* resume: done by the run that was interrupted */
	RK_OUTCOME_FAILED,
	RK_OUTCOME_SKIPPED,	/* its host, service or client had failed, or the run halted */
	RK_OUTCOME_UNDONE,	/* done, then rolled back */
};

struct rk_run_report {
	enum rk_step_outcome	*outcomes;	/* one per plan step, by index */
	size_t			 nsteps;
	size_t			 done, failed, skipped, undone, undo_failed;
	bool			 stopped;	/* the stop flag was raised */
	bool			 halted;	/* a failure stopped the run (policy or preflight) */
	bool			 journal_failed;	/* the journal could not be written: the
						 * run stopped at once, its later steps left */
};

struct rk_executor_config {
	const struct rk_plan		*plan;
	const struct rk_action_ops	*ops;		/* RK_ACTIONS rows, by enum rk_action */
	void				*ctx;
	struct rk_journal		*journal;	/* open for writing */
	/* Resume: what the journal held when it was reopened; NULL for a fresh run. */
	const struct rk_journal_log	*before;
	enum rk_on_failure		 on_failure;
	size_t				 max_parallel;
	rk_observer_fn			 observer;	/* may be NULL */
	void				*observer_payload;
	/* Raised by a signal handler (Ctrl-C): no new group or lane starts; lanes in flight
	 * finish their group, so no host is left half-way. */
	const volatile sig_atomic_t	*stop;
	/* A rehearsal: every step is tried, so that every no-go is found at once. A failure
	 * skips only its own unit's later steps (a host that cannot be reached, every step on
	 * it); nothing halts the run and nothing is undone (a rehearsal changes nothing). */
	bool				 rehearsal;
};

/*
 * Runs (or, with before, resumes) the plan. Returns 0 when the journal could be kept (the
 * report says what succeeded: a failed step is not an error here), or an error when the
 * journal could not be written, which stops the run at once; *out is then the report of what
 * was done up to there (journal_failed set). NULL only when the run could not begin. *out
 * is the caller's to free.
 */
int	rk_executor_run(struct rk_run_report **out, const struct rk_executor_config *cfg,
	    struct rk_err *err) RK_MUST_CHECK;
/*
 * Undoes every step the journal (cfg->before) holds as done, newest first within each
 * rank (files, then reloads, then checks), and journals each as undone. A journal that
 * cannot be written is handled as by rk_executor_run.
 */
int	rk_executor_rollback(struct rk_run_report **out, const struct rk_executor_config *cfg,
	    struct rk_err *err) RK_MUST_CHECK;
void	rk_run_report_free(struct rk_run_report *report);

const char	*rk_step_outcome_name(enum rk_step_outcome outcome);

#endif
