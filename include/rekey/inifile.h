/* In-place, byte-exact edits of ini files: my.cnf option files and libpq's pg_service.conf. */
#ifndef REKEY_INIFILE_H
#define REKEY_INIFILE_H

#include <stddef.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"

/*
 * Sets each set[i].key to set[i].value in the section named section ("client", a service
 * name) of the ini file in, with the contract of rk_envfile_set (envfile.h): out initialised
 * by the call, owned by the caller on success and empty on failure; only the keys named
 * change, every other byte is copied; a second run changes nothing.
 *
 * format is RK_FORMAT_INI (my.cnf, as MySQL and MariaDB read it) or RK_FORMAT_PG_SERVICE
 * (libpq's service file); any other is RK_E_INTERNAL. Both understand "[section]",
 * "key=value" with or without blanks around "=", "#" and ";" comment lines, and keep
 * "!include" and "!includedir" lines as they are (the included files are not edited).
 *
 * - my.cnf: "-" and "_" are the same in a key ("ssl-ca" is "ssl_ca"), as in mysqld. A value
 *   may be in '' or "" quotes, and "#" after a blank starts a comment. A value with a blank,
 *   "#", a quote or "\" is written in double quotes with "\" before "\" and
 *   '"'; others are written plainly. A key written without a value ("skip-ssl") is given one.
 * - pg_service.conf: keys match exactly, and the value is the rest of the line, as libpq
 *   reads it: there is no quoting, so a value with a blank at either end is refused.
 *
 * A key written more than once in the section (or in several sections of the same name) is
 * changed everywhere. A missing key is added after the last key line of the last such
 * section, spaced as that line is ("key = value" or "key=value"); a missing section is added
 * at the end of the file, after a blank line. Malformed input: a section header without "]",
 * an unterminated quote (my.cnf), and the checks of rk_envfile_check_text.
 */
int	rk_inifile_set(struct rk_buf *out, struct rk_bytes in, enum rk_client_format format,
	    const char *section, const struct rk_setting *set, size_t nset, const char *label,
	    struct rk_err *err) RK_MUST_CHECK;

/*
 * A copy of the ini file in fit for a diff or a log: the value of every key that names a
 * secret (rk_envfile_key_is_secret: "password", "passwd", ...) shows as RK_MASK, quotes
 * included. Every line stays a line, so a masked copy lines up with the file. format as for
 * rk_inifile_set; same out and error contract.
 */
int	rk_inifile_mask(struct rk_buf *out, struct rk_bytes in, enum rk_client_format format,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;

#endif
