/* A client's configuration file edited as its playbook entry says, whatever its format. */
#ifndef REKEY_CLIENTCONF_H
#define REKEY_CLIENTCONF_H

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"

/*
 * Applies client->set to in, the client's configuration file, with the editor of its format:
 * dotenv (rk_envfile_set), my.cnf and pg_service.conf in client->section (rk_inifile_set),
 * or a connection string alone in the file or in client->variable (rk_conninfo_set). The
 * editors' contract holds (envfile.h): out initialised by the call, owned by the caller on
 * success and empty on failure, only the named keys change, a second run changes nothing.
 * label names the file in errors ("app1:/srv/app/.env").
 */
int	rk_clientconf_edit(struct rk_buf *out, struct rk_bytes in, const struct rk_client *client,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;

/*
 * A copy of in, a configuration file of client's format, with every secret value masked
 * (RK_MASK): PEM blocks, lines the editor would refuse, secret-looking keys
 * (rk_secretname_holds_secret) and the password of any connection string. Line for line the
 * same as in, so it can stand for the file in a diff (udiff.h). Same out contract.
 */
int	rk_clientconf_mask(struct rk_buf *out, struct rk_bytes in, const struct rk_client *client,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;

#endif
