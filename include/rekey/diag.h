/* Diagnostics about an input file: every problem as FILE:LINE:COLUMN: message, collected before reporting. */
#ifndef REKEY_DIAG_H
#define REKEY_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/err.h"

enum rk_severity {
	RK_SEV_ERROR,
	RK_SEV_WARNING,
};

/* A place in an input file; lines and columns count from 1, 0 means "the whole file". */
struct rk_pos {
	unsigned	line;
	unsigned	col;
};

struct rk_diag {
	enum rk_severity	 severity;
	struct rk_pos		 pos;
	char			*msg;	/* never holds a secret value */
};

struct rk_diags {
	char		*file;		/* the path as the user wrote it */
	struct rk_diag	*items;
	size_t		 n, cap;
	size_t		 nerrors;
	bool		 out_of_memory;	/* a diag could not be stored: the list is incomplete */
};

/* Bound on how many diags a file may produce, so hostile input cannot fill memory. */
#define RK_DIAGS_MAX	1000

void	rk_diags_init(struct rk_diags *d, const char *file);
void	rk_diags_clear(struct rk_diags *d);
/* Adds one diag; never fails from the caller's view (an allocation failure is remembered). */
void	rk_diags_add(struct rk_diags *d, enum rk_severity sev, struct rk_pos pos,
	    const char *fmt, ...) RK_PRINTF(4, 5);
#define rk_diags_error(d, pos, ...)	rk_diags_add((d), RK_SEV_ERROR, (pos), __VA_ARGS__)
#define rk_diags_warn(d, pos, ...)	rk_diags_add((d), RK_SEV_WARNING, (pos), __VA_ARGS__)
bool	rk_diags_has_errors(const struct rk_diags *d);
/*
 * Drops every diag and marks the list out of memory: after an allocation failed, what was
 * found may be an artefact of the missing memory ("unknown host" for a host that could not
 * be stored), not a fault of the file.
 */
void	rk_diags_forget(struct rk_diags *d);
/* The place of byte offset off in text; columns count characters, as libyaml's do. */
struct rk_pos rk_pos_at_offset(const unsigned char *text, size_t off);
/* Sorts by line, then column, keeping the order of equal places (a stable sort). */
void	rk_diags_sort(struct rk_diags *d);

#endif
