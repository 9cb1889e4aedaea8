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
 * change, every other byte is copied; a second run changes nothing. Each format is read as
 * its real reader reads it, and a line that reader would read otherwise than as a comment, a
 * section or a key is refused with its number and the reason, never its bytes.
 *
 * format is RK_FORMAT_INI (my.cnf, as mysys reads it for MariaDB and MySQL clients) or
 * RK_FORMAT_PG_SERVICE (libpq's service file); any other is RK_E_INTERNAL.
 *
 * - my.cnf: "#" and ";" lines are comments, "!include" and "!includedir" lines are kept (the
 *   included files are not edited). A group header's name runs to the first "]" and loses
 *   the blanks before it, not after "[" ("[ client ]" is not "client"); names match in any
 *   case, and every group of the name is the section ("[client]" and "[CLIENT]"). An option
 *   is "key", "key=value" or "key = value", the key [A-Za-z0-9_][A-Za-z0-9_.-]*, "-" and "_"
 *   alike in it; an option before any group is refused (mysys refuses the file). An unquoted
 *   "#" anywhere ends the line ("skip-ssl # note" is the key skip-ssl); matching quotes
 *   around a value go, and backslash escapes (\n \t \s \" ...) are read in any value. A
 *   client reads "loose-K" as K, and "skip-K", "disable-K" and "enable-K" set K too: each
 *   of them is changed into K=value where it is. A value that is not printable ASCII without
 *   blanks, "#", quotes or "\" is written in double quotes with "\" before "\" and '"'. A
 *   key written without a value ("skip-ssl") is given one. No line may be longer than the
 *   4094 bytes mysys reads as one.
 * - pg_service.conf: a line is trimmed at both ends; "#" lines are comments (";" lines are
 *   not, nor is "!include", and a line starting "ldap" is an LDAP lookup: all refused). A
 *   header is "[name]" exactly; a key is exactly the bytes before the first "=" (a blank
 *   before it is refused: libpq would read it as part of the key), and the value is all
 *   after it, as libpq reads it: there is no quoting, so a value with a blank at either end
 *   is refused. libpq reads only the first section of a name: a second one is refused with
 *   both lines. Keys are written "key=value".
 *
 * A key written more than once in the section (or, in my.cnf, in several groups of the same
 * name) is changed everywhere. A missing key is added after the last key line of the last
 * such group (my.cnf, spaced as that line is) or of the service; a missing section is added
 * at the end of the file, after a blank line. Malformed input: a section header without "]",
 * and the checks of rk_envfile_check_text.
 */
int	rk_inifile_set(struct rk_buf *out, struct rk_bytes in, enum rk_client_format format,
	    const char *section, const struct rk_setting *set, size_t nset, const char *label,
	    struct rk_err *err) RK_MUST_CHECK;

/*
 * A copy of the ini file in fit for a diff or a log: PEM blocks masked first
 * (rk_envfile_mask_pem), the value of every key that names a secret
 * (rk_secretname_holds_secret: "password", "passwd", ...) shown as RK_MASK, quotes included,
 * and a line the editor would refuse shown as RK_MASK whole. Every line stays a line, so a
 * masked copy lines up with the file. format as for rk_inifile_set; same out and error
 * contract; it fails only on what rk_envfile_check_bytes refuses.
 */
int	rk_inifile_mask(struct rk_buf *out, struct rk_bytes in, enum rk_client_format format,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;

#endif
