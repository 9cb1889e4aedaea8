/* One list of names that hold secrets, for the masks of client files and the playbook checks. */
#ifndef REKEY_SECRETNAME_H
#define REKEY_SECRETNAME_H

#include <stdbool.h>

/*
 * True when name (a variable, option or playbook key, any case) looks like it holds a secret.
 * The name is cut into words at every character that is not a letter or a digit and where a
 * lower-case letter meets an upper-case one ("authToken" is "auth" and "token"). It is secret
 * when a word
 *
 * - holds PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, CREDENTIAL, PRIVATE or AUTHORIZATION;
 * - starts or ends with PASS (DBPASS, PASSCODE), or holds PWD (MYSQL_PWD, DBPWD);
 * - is PW or PSK, or is or ends with AUTH (AUTH, REDISAUTH, OAUTH), but not AUTHOR, AUTHORITY.
 *
 * A name whose last word is ENV, FILE or PATH names where a secret is (PASSWORD_FILE,
 * passfile, PGPASSFILE), not the secret: it is no secret. Erring toward masking is the
 * intent: a harmless name masked costs a line of diff, a secret shown costs a rotation.
 * A name that only says KEY is left to rk_secretname_holds_secret, which sees the value.
 */
bool	rk_secretname_is_secret(const char *name);

/*
 * As rk_secretname_is_secret, and also true for a name with KEY in a word (API_KEY, sslkey,
 * ssl-key) unless value is a path: it starts with "/", "./", "../" or "~/" (a key file's path
 * is no secret, a key is). value NULL counts as no path.
 */
bool	rk_secretname_holds_secret(const char *name, const char *value);

#endif
