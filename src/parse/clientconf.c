/* One entry point per operation for the client editors, chosen by the file's format. */
#include "rekey/clientconf.h"

#include "rekey/conninfo.h"
#include "rekey/envfile.h"
#include "rekey/inifile.h"

int
rk_clientconf_edit(struct rk_buf *out, struct rk_bytes in, const struct rk_client *client,
    const char *label, struct rk_err *err)
{
	switch (client->format) {
	case RK_FORMAT_ENV:
		return rk_envfile_set(out, in, client->set, client->nset, label, err);
	case RK_FORMAT_INI:
	case RK_FORMAT_PG_SERVICE:
		return rk_inifile_set(out, in, client->format, client->section, client->set,
		    client->nset, label, err);
	case RK_FORMAT_CONNINFO:
		return rk_conninfo_set(out, in, client->variable, client->set, client->nset,
		    label, err);
	}
	rk_buf_init(out, 0);
	return rk_fail(err, RK_E_INTERNAL, "%s: unknown client file format", label);
}

int
rk_clientconf_mask(struct rk_buf *out, struct rk_bytes in, const struct rk_client *client,
    const char *label, struct rk_err *err)
{
	struct rk_buf copy;
	int r;

	switch (client->format) {
	case RK_FORMAT_ENV:
		return rk_envfile_mask(out, in, label, err);
	case RK_FORMAT_INI:
	case RK_FORMAT_PG_SERVICE:
		return rk_inifile_mask(out, in, client->format, label, err);
	case RK_FORMAT_CONNINFO:
		if (client->variable != NULL)
			return rk_envfile_mask(out, in, label, err);
		/* The string alone: checked as every client file is, then masked whole, PEM
		 * blocks first. */
		rk_buf_init(out, 0);
		if ((r = rk_envfile_check_bytes(in, label, err)) != 0 ||
		    (r = rk_envfile_mask_pem(&copy, in, err)) != 0)
			return r;
		r = rk_conninfo_mask(out, rk_buf_bytes(&copy), err);
		rk_buf_clear(&copy);
		return r;
	}
	rk_buf_init(out, 0);
	return rk_fail(err, RK_E_INTERNAL, "%s: unknown client file format", label);
}
