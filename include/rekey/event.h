/* Progress of a run, as values sent to observers: the board, the --json stream, the record. */
#ifndef REKEY_EVENT_H
#define REKEY_EVENT_H

#include <time.h>

#include "rekey/plan.h"

enum rk_event_kind {
	RK_EVENT_RUN_BEGIN,
	RK_EVENT_GROUP_BEGIN,		/* phase and wave of the group */
	RK_EVENT_STEP_BEGIN,
	RK_EVENT_STEP_DONE,
	RK_EVENT_STEP_DONE_BEFORE,	/* resume: the journal says it was done */
	RK_EVENT_STEP_FAILED,		/* detail: the error */
	RK_EVENT_STEP_SKIPPED,		/* detail: why */
	RK_EVENT_STEP_UNDONE,		/* rolled back */
	RK_EVENT_UNDO_FAILED,		/* detail: the error; a human must look */
	RK_EVENT_RUN_END,
};

struct rk_event {
	enum rk_event_kind	 kind;
	const struct rk_step	*step;		/* NULL for run and group events */
	enum rk_phase		 phase;
	unsigned		 wave;
	const char		*host;		/* NULL: this machine */
	const char		*detail;	/* one line, never a secret; may be NULL */
	struct timespec		 at;		/* CLOCK_REALTIME */
};

/*
 * An observer sees every event, in order, one call at a time (the executor serialises the
 * calls), and must not fail or block for long: it cannot stop a run.
 */
typedef void (*rk_observer_fn)(const struct rk_event *event, void *payload);

const char	*rk_event_kind_name(enum rk_event_kind kind);

#endif
