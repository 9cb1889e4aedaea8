/* In-place, byte-exact edits of database connection strings: URLs and libpq keyword strings. */
#ifndef REKEY_CONNINFO_H
#define REKEY_CONNINFO_H

#include <stddef.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"

/*
 * Sets each set[i].key to set[i].value as a parameter of the connection string s, appending
 * the result to out (which the caller initialised). Two forms are understood:
 *
 * - URL: "scheme://[user[:password]@]hosts[/db][?k=v&...]", for any scheme such as
 *   postgresql, postgres, mysql, mariadb, jdbc:postgresql or jdbc:mysql. Only the query
 *   changes: a parameter is replaced where it is, or appended ("?" or "&") at the end. Keys
 *   are compared decoded, as libpq does; values are percent-encoded (RFC 3986: all but
 *   unreserved characters, "/" and ":"). The user information, password included, is copied
 *   byte for byte. As in libpq, the user information ends at the first "@" before any "/". So
 *   a URL with neither user information nor a path whose query holds a raw "@" is refused:
 *   an edit of a value before that "@" could make libpq read the query as user information.
 *   A raw "#" anywhere is refused: libpq has no fragments and reads it as data, other readers
 *   start a fragment there.
 * - Keyword (libpq): "host=h sslmode=verify-full ...", separated by blanks, spaces allowed
 *   around "=". A value is replaced where it is, or " key=value" is appended. Values holding
 *   a blank, "'" or "\" (or empty) are written in single quotes with "\" before "'" and "\";
 *   a value that was quoted stays quoted.
 *
 * Setting sslmode settles its aliases too, which libpq reads as sslmode and which win when
 * written after it: each "requiressl" parameter, and in a URL each "ssl" ("ssl=true" is
 * require), is rewritten where it is into sslmode with the new value.
 *
 * A parameter written more than once is changed everywhere; one whose decoded value already
 * equals the new value keeps its bytes (idempotent). line is the line number errors name
 * ("label:line: unterminated quote in connection string"); messages never hold a value.
 */
int	rk_conninfo_edit(struct rk_buf *out, struct rk_bytes s, const struct rk_setting *set,
	    size_t nset, const char *label, unsigned line, struct rk_err *err) RK_MUST_CHECK;

/*
 * Edits a connection string held in a file, with the contract of rk_envfile_set (envfile.h):
 * out initialised by the call, owned by the caller on success, empty on failure.
 * When variable is NULL the file holds the string alone; blanks and newlines around it are
 * kept, and a second non-blank line is an error. Otherwise in is a dotenv file and the string
 * is the value of every assignment of variable (a missing variable is an error), re-quoted for
 * the env file as rk_envfile_edit does.
 */
int	rk_conninfo_set(struct rk_buf *out, struct rk_bytes in, const char *variable,
	    const struct rk_setting *set, size_t nset, const char *label, struct rk_err *err)
	    RK_MUST_CHECK;

/*
 * A copy of s fit for a log or diff, into out (initialised by the call): the password in a
 * URL's user information and any parameter whose name holds a secret ("password",
 * "sslpassword": rk_secretname_holds_secret) show as RK_MASK. A string that is no
 * connection string is masked as free text (rk_conninfo_mask_text). Every newline stays.
 * Fails only when out of memory or over the cap.
 */
int	rk_conninfo_mask(struct rk_buf *out, struct rk_bytes s, struct rk_err *err) RK_MUST_CHECK;

/*
 * The same for free text, such as a command's error message quoting a connection string: in
 * every "scheme://user:password@" the password, and after every "password", "passwd",
 * "passphrase", "pwd", "secret" or "token" followed by "=" or ":" (any case, inside a word
 * too: "MYSQL_PWD=", blanks allowed) the value up to a blank or its closing quote, show as
 * RK_MASK. Best effort by design: it is a second line of defence for text rekey did not
 * write. Fails only when out of memory or over the cap.
 */
int	rk_conninfo_mask_text(struct rk_buf *out, struct rk_bytes text, struct rk_err *err)
	    RK_MUST_CHECK;

#endif
