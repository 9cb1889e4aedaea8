/* Unified diffs (diff -u) of two texts, computed on the real lines and shown from masked copies. */
#ifndef REKEY_UDIFF_H
#define REKEY_UDIFF_H

#include <stdbool.h>

#include "rekey/bytes.h"
#include "rekey/err.h"

/* Lines of context around each change, as diff -u prints by default. */
#define RK_UDIFF_CONTEXT	3

/* The two texts compared, and what is printed for each of their lines. */
struct rk_udiff_input {
	const char	*label_old;	/* the "---" line */
	const char	*label_new;	/* the "+++" line */
	struct rk_bytes	 old_text, new_text;
	/*
	 * Copies to print instead, line for line (a copy with each secret value masked), or
	 * empty views to print old_text and new_text themselves. The edit script comes from the
	 * real texts, so a password that changed shows as a changed line without its value.
	 * A copy with another number of lines than its text is RK_E_INTERNAL.
	 */
	struct rk_bytes	 old_shown, new_shown;
	unsigned	 context;
};

/*
 * Appends the unified diff of in->old_text and in->new_text to out (initialised by the
 * caller): the "---" and "+++" lines, then each hunk "@@ -a,b +c,d @@" with its context,
 * as `diff -u` writes it and `patch` applies it, "\ No newline at end of file" included.
 * Nothing is appended when the texts are equal; *changed (may be NULL) says which.
 * Printed lines end in "\n" whatever the file's line ending (a CR before it is dropped), and
 * other control characters but tab are shown as \xNN, so a file cannot drive the terminal.
 * Long edits stay fast: past a bound on the edit distance, the span between the first and the
 * last change is shown as one replacement, which is still a correct diff.
 */
int	rk_udiff(struct rk_buf *out, const struct rk_udiff_input *in, bool *changed,
	    struct rk_err *err) RK_MUST_CHECK;

#endif
