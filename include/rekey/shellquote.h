/* Quoting for the one place rekey builds a shell command line: the ssh backend's exec requests. */
#ifndef REKEY_SHELLQUOTE_H
#define REKEY_SHELLQUOTE_H

#include "rekey/bytes.h"
#include "rekey/err.h"

/*
 * Appends s to out as one POSIX shell word: inside single quotes, with each ' written as
 * '\'' (close, escaped quote, reopen). Inside single quotes no character is special
 * (POSIX XCU 2.2.2), so spaces, $, backticks, backslashes and newlines pass through as they
 * are; the empty string becomes ''. The remote login shell must be a POSIX shell (sh, bash,
 * dash, ksh, zsh): csh reads a newline inside quotes differently. Thread-safe.
 */
int	rk_shell_quote(struct rk_buf *out, const char *s, struct rk_err *err) RK_MUST_CHECK;
/*
 * Appends argv (NULL-terminated, at least one word) as a command line: each word through
 * rk_shell_quote(), separated by single spaces, so the shell hands the program exactly argv.
 */
int	rk_shell_join(struct rk_buf *out, const char *const *argv, struct rk_err *err)
	    RK_MUST_CHECK;

#endif
