/* Private to cli/: the run's observer (terminal board, timestamped lines, JSON stream). */
#ifndef REKEY_CLI_BOARD_H
#define REKEY_CLI_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "rekey/event.h"
#include "rekey/plan.h"

enum board_style {
	BOARD_TERMINAL,		/* stdout is a terminal: a status line redrawn in place */
	BOARD_LINES,		/* one timestamped line per event */
	BOARD_JSON,		/* one JSON object per line */
};

struct board {
	const struct rk_plan	*plan;
	enum board_style	 style;
	bool			 color;
	struct timespec		 started;	/* CLOCK_MONOTONIC */
	char			 phase[64];
	size_t			 done, failed, running;
	char			**errors;	/* per step (by id - 1): its failure, or NULL */
	char			**undo_errors;	/* per step (by id - 1): why its undo failed */
	const struct rk_step	**current;	/* per host of the model: its step running */
	int			 width;		/* of the terminal, for the status line */
	bool			 rehearsal;	/* words of a rehearsal: go, NO-GO */
};

int	board_init(struct board *b, const struct rk_plan *plan, enum board_style style,
	    bool color);
void	board_clear(struct board *b);
/* An rk_observer_fn; payload is the board. */
void	board_observe(const struct rk_event *ev, void *payload);
/* Seconds since board_init. */
double	board_elapsed(const struct board *b);
/* What made step s fail, as the executor said it; NULL when nothing did. */
const char *board_error_of(const struct board *b, const struct rk_step *s);
/* Why the undo of step s failed, as the executor said it; NULL when it did not fail. */
const char *board_undo_error_of(const struct board *b, const struct rk_step *s);

#endif
