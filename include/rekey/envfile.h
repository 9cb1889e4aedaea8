/* In-place, byte-exact edits of dotenv files (KEY=value), and the checks all client editors share. */
#ifndef REKEY_ENVFILE_H
#define REKEY_ENVFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"

/* Caps on a client configuration file: its size, and the length of one line. */
#define RK_CLIENT_FILE_MAX	(1024 * 1024)
#define RK_CLIENT_LINE_MAX	(64 * 1024)
/* Cap on an edited file: the input plus the keys set in it. */
#define RK_CLIENT_OUT_MAX	(2 * RK_CLIENT_FILE_MAX)
/* What a masked secret is shown as. */
#define RK_MASK			"********"

/*
 * The contract every client editor (rk_envfile_set, rk_inifile_set, rk_conninfo_set) keeps:
 *
 * - out is initialised by the call (the caller need not, and must not hold data in it). On
 *   success it holds the whole new file; the caller owns it and frees it with rk_buf_clear().
 *   On failure out is cleared and empty: the caller leaves the file as it is.
 * - Only the keys named in set change. Every other byte (comments, order, blank lines, spacing,
 *   CRLF or LF, a missing final newline) is copied as it was.
 * - A key written more than once is changed everywhere it is written, so the result does not
 *   depend on whether the reader takes the first value (libpq's service file) or the last
 *   (shells, dotenv, my.cnf).
 * - A key whose current value already equals the new one is not touched, so a second run gives
 *   the same bytes (idempotent), and an existing quoting style is kept when it can hold the value.
 * - Errors name the file as label and a line ("app.env:3: unterminated double quote") and never
 *   hold a value: values may be passwords.
 * - Thread-safe: no state outside the arguments.
 */

/*
 * The checks on raw input every client editor makes first: at most RK_CLIENT_FILE_MAX bytes
 * (RK_E_LIMIT), no line over RK_CLIENT_LINE_MAX bytes (RK_E_LIMIT), no NUL byte and valid
 * UTF-8 (RK_E_USAGE). Returns 0 or a negative rk_code with "label:LINE: ..." in err.
 */
int	rk_envfile_check_text(struct rk_bytes in, const char *label, struct rk_err *err)
	    RK_MUST_CHECK;

/*
 * Sets each set[i].key to set[i].value in the dotenv file in. Understood: "KEY=value",
 * "export KEY=value", spaces around "=", 'single' (literal) and "double" quoted values
 * (backslash escapes \\ \" \$ \`), and "#" comments (inside quotes "#" is data). A key not
 * in the file is added at its end as KEY=value, in the file's newline style; a file without a
 * final newline still ends without one. Values are written plainly when they only hold
 * [A-Za-z0-9_./:@%+,=~^-], in single quotes when they need quoting and hold no "'", and in
 * double quotes otherwise. Keys must match [A-Za-z_][A-Za-z0-9_]*; values must not hold a
 * newline or NUL (RK_E_USAGE). Malformed input (an unterminated quote, and the checks of
 * rk_envfile_check_text) fails with the line number. See the contract above.
 */
int	rk_envfile_set(struct rk_buf *out, struct rk_bytes in, const struct rk_setting *set,
	    size_t nset, const char *label, struct rk_err *err) RK_MUST_CHECK;

/*
 * The decoded value of the last assignment of key in the env file in, as a new string the
 * caller frees (wipe it: it may be a secret). *out is NULL when the key is absent. If line is
 * not NULL it gets the line number of that assignment.
 */
int	rk_envfile_get(char **out, unsigned *line, struct rk_bytes in, const char *key,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;

/*
 * Rewrites the value of every assignment of key in the env file in through fn: fn gets the
 * decoded value (NUL-terminated) and the line number, and appends the new value to its out
 * (initialised for it). A value fn leaves as it was keeps its line byte for byte; a changed one
 * is written back in the old quote style when it can hold it. A key not in the file is an
 * error (RK_E_USAGE): there is nothing to edit. Same out and error contract as rk_envfile_set.
 */
int	rk_envfile_edit(struct rk_buf *out, struct rk_bytes in, const char *key,
	    int (*fn)(struct rk_buf *out, const char *value, unsigned line, void *arg,
	    struct rk_err *err), void *arg, const char *label, struct rk_err *err) RK_MUST_CHECK;

/*
 * True when key names a secret: it holds PASSWORD, PASSWD, PASS, SECRET, TOKEN, CREDENTIAL or
 * PRIVATE (any case), or KEY while its value is not a path (a value starting with "/", "./",
 * "../" or "~/"). value may be NULL (then a KEY counts as secret).
 */
bool	rk_envfile_key_is_secret(const char *key, const char *value);

/*
 * A copy of the env file in fit for a diff or a log: the value of every secret key (see
 * rk_envfile_key_is_secret) is shown as RK_MASK, and the password of a connection URL or
 * keyword string held in any value is masked too (rk_conninfo_mask). Lines that do not parse
 * are copied as they are. Same out and error contract as rk_envfile_set.
 */
int	rk_envfile_mask(struct rk_buf *out, struct rk_bytes in, const char *label,
	    struct rk_err *err) RK_MUST_CHECK;

#endif
