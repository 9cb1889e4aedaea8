/*
 * `rekey pki`: the certificate engine alone, for a responder who wants one certificate now,
 * or a development PKI. Each command is a file of its own (pki_*.c); here, what they share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pki_cmd.h"
#include "rekey/fsutil.h"
#include "rekey/names.h"
#include "rekey/strutil.h"

static const char pki_help[] = INSPECT_SYNOPSIS INIT_SYNOPSIS ISSUE_SYNOPSIS REVOKE_SYNOPSIS
	"\n"
	"`rekey pki COMMAND --help` describes each command and its options.\n"
	"CA and key passphrases: --ca-passphrase-env VAR, --ca-passphrase-file F,\n"
	"--key-passphrase-env VAR, --key-passphrase-file F (the key written by issue).\n"
	"Key types: " KEY_TYPES ".\n";

/* Prints label and a value from outside (a certificate, a CRL, a folder), escaped. */
void
pki_print_field(const char *label, const char *value)
{
	char *esc = rk_text_escape(value != NULL ? value : "");

	printf("  %-11s %s\n", label, esc != NULL ? esc : "?");
	free(esc);
}

/* ---- shared option handling --------------------------------------------------------- */

/* Loads a secret named by --X-env or --X-file; *has is false when neither was given. */
int
pki_load_secret(struct rk_secret *out, bool *has, const struct pki_secret_opt *o, const char *what,
    const struct rk_cli *cli)
{
	struct rk_err err = { 0 };
	int r = 0;

	*has = false;
	if (o->env != NULL && o->file != NULL)
		return cli_usage_error(cli, "give the %s passphrase by env or by file, not both",
		    what);
	if (o->env == NULL && o->file == NULL)
		return RK_EXIT_OK;
	if ((r = rk_secret_from_source(out, o->env, o->file, &err)) != 0)
		return cli_usage_error(cli, "%s passphrase: %s", what, err.msg);
	*has = true;
	return RK_EXIT_OK;
}

bool
pki_take_days(const struct rk_cli *cli, const char *option, const char *arg, int max,
    int *out, int *rc)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < 1 || v > max) {
		*rc = cli_usage_error(cli, "%s: 1 to %d", option, max);
		return false;
	}
	*out = (int)v;
	return true;
}

bool
pki_take_key_type(const struct rk_cli *cli, const char *arg, enum rk_key_type *out, int *rc)
{
	int v;

	if (!rk_enum_lookup(rk_key_type_names, arg, &v)) {
		*rc = cli_usage_error(cli, "--key: unsupported key type '%s' (%s)", arg,
		    KEY_TYPES);
		return false;
	}
	*out = (enum rk_key_type)v;
	return true;
}

bool
pki_take_san(const struct rk_cli *cli, const char *option, const char *arg, char **sans,
    size_t max, size_t *n, int *rc)
{
	char why[256];

	if (*n == max) {
		*rc = cli_usage_error(cli, "too many %s options", option);
		return false;
	}
	if (rk_san_parse(&sans[*n], arg, why, sizeof(why)) != 0) {
		*rc = cli_usage_error(cli, "%s: %s", option, why);
		return false;
	}
	(*n)++;
	return true;
}

char *
pki_path_beside(const char *ca_cert, const char *name)
{
	struct rk_err err = { 0 };
	char *dir = NULL, *path = NULL;

	if (rk_path_dirname(&dir, ca_cert, &err) == 0 &&
	    asprintf(&path, "%s/%s", dir, name) < 0)
		path = NULL;
	free(dir);
	return path;
}

/* ---- dispatch ------------------------------------------------------------------------ */

int
cmd_pki(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
		{ "inspect", pki_inspect },
		{ "init", pki_init },
		{ "issue", pki_issue },
		{ "revoke", pki_revoke },
	};

	return cli_run_subcommand(cli, argc, argv, subs, sizeof(subs) / sizeof(subs[0]), pki_help,
	    "inspect, init, issue, revoke");
}
