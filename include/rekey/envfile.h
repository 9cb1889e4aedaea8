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
 * The checks on raw input every client editor and mask makes first: at most
 * RK_CLIENT_FILE_MAX bytes (RK_E_LIMIT), no line over RK_CLIENT_LINE_MAX bytes (RK_E_LIMIT),
 * no NUL byte and valid UTF-8 (RK_E_USAGE). Returns 0 or a negative rk_code with
 * "label:LINE: ..." in err.
 */
int	rk_envfile_check_bytes(struct rk_bytes in, const char *label, struct rk_err *err)
	    RK_MUST_CHECK;

/*
 * rk_envfile_check_bytes, and no PEM private key ("-----BEGIN ... PRIVATE KEY-----"
 * anywhere in a line): a key file named as a client's file, or a key pasted into one, is
 * refused whole, so that none of it is ever shown as diff context. Every editor calls it.
 */
int	rk_envfile_check_text(struct rk_bytes in, const char *label, struct rk_err *err)
	    RK_MUST_CHECK;

/*
 * Refuses (RK_E_USAGE, naming the key, never the value) a setting whose name holds a secret
 * (rk_secretname_holds_secret): rekey changes TLS settings, never secrets. Every editor
 * calls it on its settings, as the playbook parser does.
 */
int	rk_envfile_check_setting_names(const struct rk_setting *set, size_t nset,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;

/*
 * The first step of every mask: a copy of in (initialised by the call, caller frees) where
 * each line of a PEM block, from a "-----BEGIN" line to its "-----END" line (or to the end of
 * the text), and any line with "-----END", shows as RK_MASK, its newline kept. Fails only
 * when out of memory or over the cap.
 */
int	rk_envfile_mask_pem(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
	    RK_MUST_CHECK;

/*
 * Sets each set[i].key to set[i].value in the dotenv file in, as bash reads the file when it
 * sources it. Understood, one to a line: blank lines, "#" comments, "KEY" or "export KEY"
 * lines, and "KEY=value" or "export KEY=value" with the value right after "=" and then only
 * blanks and an optional "# comment". A value is one word: empty, 'single' quoted (literal),
 * "double" quoted (a backslash escapes the next byte), or unquoted bytes bash takes as they
 * are. Everything else is refused with its line and the reason, never its bytes (RK_E_USAGE):
 * blanks around "=" ("K= x" runs x), a second word ("A=1 B=2"), quotes joined to other text
 * (K=''a), a backslash outside quotes, one at the end of a line (it joins the next), shell
 * operators, command substitution, an unterminated quote. A value bash expands ($X, ~/x at
 * the start or after ":", braces after export) is rewritten when its key is set, since its
 * bytes are not its value.
 *
 * A key not in the file is added at its end as KEY=value, in the file's newline style; a
 * file without a final newline still ends without one. Values are written plainly when they
 * only hold [A-Za-z0-9_./:@%+,=^-], in single quotes when they need quoting and hold no "'",
 * and in double quotes otherwise; "~" is always quoted. Keys must match
 * [A-Za-z_][A-Za-z0-9_]* and not name a secret (rk_envfile_check_setting_names); values
 * must not hold a newline or NUL (RK_E_USAGE). See the contract above. bash reads a CR of a
 * CRLF file as part of the value: such a file is edited in its own style for the readers
 * that strip it (docker compose, systemd).
 */
int	rk_envfile_set(struct rk_buf *out, struct rk_bytes in, const struct rk_setting *set,
	    size_t nset, const char *label, struct rk_err *err) RK_MUST_CHECK;

/*
 * The decoded value of the last assignment of key in the env file in, as a new string the
 * caller frees (wipe it: it may be a secret). *out is NULL when the key is absent. If line is
 * not NULL it gets the line number of that assignment. A value bash expands is an error
 * (RK_E_USAGE): its bytes are not its value.
 */
int	rk_envfile_get(char **out, unsigned *line, struct rk_bytes in, const char *key,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;

/*
 * Rewrites the value of every assignment of key in the env file in through fn: fn gets the
 * decoded value (NUL-terminated) and the line number, and appends the new value to its out
 * (initialised for it). A value fn leaves as it was keeps its line byte for byte; a changed one
 * is written back in the old quote style when it can hold it. A key not in the file, or a
 * value bash expands (fn would edit bytes that are not the value), is an error (RK_E_USAGE).
 * Same out and error contract as rk_envfile_set.
 */
int	rk_envfile_edit(struct rk_buf *out, struct rk_bytes in, const char *key,
	    int (*fn)(struct rk_buf *out, const char *value, unsigned line, void *arg,
	    struct rk_err *err), void *arg, const char *label, struct rk_err *err) RK_MUST_CHECK;

/*
 * A copy of the env file in fit for a diff or a log: PEM blocks masked first
 * (rk_envfile_mask_pem), then the value of every key that names a secret
 * (rk_secretname_holds_secret) shown as RK_MASK, and the password of a connection URL or
 * keyword string held in any value masked too (rk_conninfo_mask). A line the editor would
 * refuse is shown as RK_MASK whole. Every line stays a line. Fails only on what
 * rk_envfile_check_bytes refuses, when out of memory or over the cap.
 */
int	rk_envfile_mask(struct rk_buf *out, struct rk_bytes in, const char *label,
	    struct rk_err *err) RK_MUST_CHECK;

#endif
