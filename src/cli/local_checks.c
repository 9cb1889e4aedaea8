/*
 * What plan checks on this machine before anything connects: the CA's files. A server
 * certificate given as ca.cert, a junk file or another CA's key is reported on the playbook's
 * own line, with the other problems, before a run would find it in preflight.
 */
#include <errno.h>
#include <sys/stat.h>

#include "cli.h"
#include "rekey/cacheck.h"
#include "rekey/secret.h"

static bool
file_exists(const char *path)
{
	struct stat st;

	return path != NULL && stat(path, &st) == 0;
}

void
cli_check_ca(const struct rk_model *m, struct rk_diags *d)
{
	const struct rk_secret_ref *ref = &m->ca.key_passphrase;
	struct rk_secret pass = { NULL, 0 };
	struct rk_ca_check how = { 0 };
	struct rk_err err = { 0 };
	enum rk_ca_file bad;

	/* A missing file is already a warning of its own ("preflight will fail"). */
	if (!file_exists(m->ca.cert))
		return;
	how.signs_crls = rk_model_signs_crl(m);
	how.check_key = file_exists(m->ca.key);
	if (how.check_key && (ref->env != NULL || ref->file != NULL)) {
		if ((ref->env != NULL ? rk_secret_from_env(&pass, ref->env, &err) :
		    rk_secret_from_file(&pass, ref->file, &err)) == 0) {
			how.passphrase = &pass;
		} else {
			/* Unset variables are warned about where they are named. */
			how.check_key = false;
			if (ref->env == NULL)
				rk_diags_warn(d, m->ca.key_pos, "ca key %s: not checked against "
				    "ca.cert: %s", m->ca.key, err.msg);
		}
	}
	if (rk_ca_check_files(&bad, m->ca.cert, m->ca.key, &how, &err) != 0) {
		if (bad == RK_CA_FILE_CERT)
			rk_diags_error(d, m->ca.cert_pos, "ca cert %s", err.msg);
		else
			rk_diags_error(d, m->ca.key_pos, "ca key %s", err.msg);
	}
	rk_secret_clear(&pass);
}
