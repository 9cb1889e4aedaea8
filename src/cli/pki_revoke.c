/*
 * `rekey pki revoke`: certificates added to the CA's CRL, every entry it held kept.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pki_cmd.h"
#include "rekey/ca.h"
#include "rekey/fsutil.h"
#include "rekey/ledger.h"
#include "rekey/names.h"
#include "rekey/revocation.h"
#include "rekey/strutil.h"

#define REASONS		"keyCompromise, cACompromise, superseded, affiliationChanged, " \
			"cessationOfOperation or unspecified"

static const char revoke_help[] = REVOKE_SYNOPSIS
	"\n"
	"Adds certificates to the CA's CRL, keeping every entry it already holds, and prints\n"
	"each serial it revokes. --cn never takes the newest certificate of the name (per the\n"
	"ledger, the one most likely in service) unless --include-current is given.\n"
	"With --renew and nothing to revoke, signs the CRL again as it is: every entry kept,\n"
	"the next CRL number, nextUpdate --crl-days ahead (a CRL near its nextUpdate, which\n"
	"servers that load it would then refuse every client certificate over).\n"
	"\n"
	CA_PASSPHRASE_HELP
	"  --crl F               the CRL (default ca.crl beside the CA certificate)\n"
	"  --crl-days N          nextUpdate N days ahead (default 7)\n"
	"  --reason R            " REASONS "\n"
	"  --ledger F            the ledger --cn reads (default ledger.json beside the CA)\n"
	"  --serial S            a serial, as hex (colons optional)\n"
	"  --cert F              a certificate file this CA issued (not its own)\n"
	"  --folder DIR          every certificate of this CA in DIR (*.crt, *.pem, *.cer)\n"
	"  --cn NAME             the certificates the ledger holds for this common name\n"
	"  --include-current     with --cn, the newest certificate of the name too\n"
	"  --renew               sign the CRL anew even when nothing is revoked\n"
	"  --help                this help\n";

/* Prints "rekey: pki revoke: " and msg on stderr, escaped: it may name files from a folder. */
static void
print_note(const char *msg)
{
	char *esc = rk_text_escape(msg);

	fprintf(stderr, "rekey: pki revoke: %s\n", esc != NULL ? esc : msg);
	free(esc);
}

enum target_kind { TARGET_SERIAL, TARGET_CERT, TARGET_FOLDER, TARGET_CN };

struct target {
	enum target_kind	 kind;
	const char		*value;
};

static bool
parse_reason(const struct rk_cli *cli, const char *word, enum rk_reason *out, int *rc)
{
	const char *near;
	int v;

	if (rk_enum_lookup(rk_reason_names, word, &v)) {
		*out = (enum rk_reason)v;
		return true;
	}
	if ((near = rk_reason_suggest(word)) != NULL)
		*rc = cli_usage_error(cli, "--reason: unsupported value '%s' (did you mean "
		    "'%s'?)", word, near);
	else
		*rc = cli_usage_error(cli, "--reason: unsupported value '%s' (%s)", word, REASONS);
	return false;
}

/* One line per serial selected, on stdout: what was revoked is never left to guess. */
static void
print_revocations(const struct rk_revoked_set *rv, const struct rk_crl *previous)
{
	char line[800];
	size_t i;

	for (i = 0; i < rv->n; i++) {
		bool before = previous != NULL && rk_crl_has_serial(previous, rv->items[i].serial);
		char *esc;

		snprintf(line, sizeof(line), "%s %s (%s)", before ? "already revoked" : "revoked",
		    rv->items[i].serial, rv->items[i].source);
		esc = rk_text_escape(line);
		printf("%s\n", esc != NULL ? esc : line);
		free(esc);
	}
}

/* The CRL entries for the set, each with this run's time and reason. */
static int
crl_entries_of(struct rk_crl_entry **out, const struct rk_revoked_set *rv, enum rk_reason reason,
    struct rk_err *err)
{
	time_t now = time(NULL);
	size_t i;

	if ((*out = calloc(rv->n + 1, sizeof(**out))) == NULL)
		return rk_fail_nomem(err);
	for (i = 0; i < rv->n; i++) {
		memcpy((*out)[i].serial, rv->items[i].serial, sizeof((*out)[i].serial));
		(*out)[i].revoked_at = now;
		(*out)[i].reason = reason;
		(*out)[i].has_reason = true;
	}
	return 0;
}

int
pki_revoke(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca-cert", required_argument, NULL, 'C' },
		{ "ca-key", required_argument, NULL, 'K' },
		{ "ca-passphrase-env", required_argument, NULL, 'E' },
		{ "ca-passphrase-file", required_argument, NULL, 'F' },
		{ "crl", required_argument, NULL, 'c' },
		{ "crl-days", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'r' },
		{ "serial", required_argument, NULL, 's' },
		{ "cert", required_argument, NULL, 'x' },
		{ "folder", required_argument, NULL, 'D' },
		{ "cn", required_argument, NULL, 'n' },
		{ "ledger", required_argument, NULL, 'l' },
		{ "include-current", no_argument, NULL, 'i' },
		{ "renew", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct target targets[256];
	struct pki_secret_opt ca_so = { NULL, NULL };
	struct rk_secret ca_pass = { NULL, 0 };
	struct rk_signing_ca ca = { NULL, NULL, NULL };
	struct rk_revoked_set rv = { NULL, 0, NULL, 0 };
	struct rk_crl_entry *entries = NULL;
	enum rk_reason reason = RK_REASON_UNSPECIFIED;
	struct rk_crl *previous = NULL, *crl = NULL;
	struct rk_ledger *ledger = NULL;
	struct rk_err err = { 0 };
	struct rk_buf pem;
	const char *ca_cert = NULL, *ca_key = NULL, *crl_path = NULL, *ledger_path = NULL;
	char *crl_default = NULL, *ledger_default = NULL, next[32], source[PATH_MAX + 16];
	size_t ntargets = 0, i, found, before = 0;
	bool has_pass, include_current = false, ledger_tried = false, renew = false;
	int c, crl_days = 7, rc = RK_EXIT_USAGE, r = 0;

	rk_buf_init(&pem, RK_PEM_MAX);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		enum target_kind kind;

		switch (c) {
		case 'C': ca_cert = optarg; continue;
		case 'K': ca_key = optarg; continue;
		case 'E': ca_so.env = optarg; continue;
		case 'F': ca_so.file = optarg; continue;
		case 'c': crl_path = optarg; continue;
		case 'l': ledger_path = optarg; continue;
		case 'i': include_current = true; continue;
		case 'N': renew = true; continue;
		case 'd':
			if (!pki_take_days(cli, "--crl-days", optarg, RK_CRL_DAYS_MAX, &crl_days,
			    &rc))
				goto out;
			continue;
		case 'r':
			if (!parse_reason(cli, optarg, &reason, &rc))
				goto out;
			continue;
		case 's': kind = TARGET_SERIAL; break;
		case 'x': kind = TARGET_CERT; break;
		case 'D': kind = TARGET_FOLDER; break;
		case 'n': kind = TARGET_CN; break;
		case 'h': rc = cli_show_help(revoke_help, true); goto out;
		default: rc = cli_show_help(revoke_help, false); goto out;
		}
		if (ntargets == sizeof(targets) / sizeof(targets[0])) {
			rc = cli_usage_error(cli, "too many revocation targets");
			goto out;
		}
		targets[ntargets].kind = kind;
		targets[ntargets++].value = optarg;
	}
	if (ca_cert == NULL || ca_key == NULL || (ntargets == 0 && !renew) || optind != argc) {
		rc = cli_usage_error(cli, "revoke needs --ca-cert, --ca-key and at least one of "
		    "--serial, --cert, --folder or --cn (or --renew to sign the CRL again)");
		goto out;
	}
	if ((rc = pki_load_secret(&ca_pass, &has_pass, &ca_so, "CA", cli)) != RK_EXIT_OK)
		goto out;
	rc = RK_EXIT_FAILED;
	if ((crl_path == NULL && (crl_path = crl_default = pki_path_beside(ca_cert, "ca.crl")) ==
	    NULL) || (ledger_path == NULL &&
	    (ledger_path = ledger_default = pki_path_beside(ca_cert, "ledger.json")) == NULL)) {
		r = rk_fail_nomem(&err);
		goto fail;
	}
	if ((r = rk_signing_ca_open(&ca, ca_cert, ca_key, has_pass ? &ca_pass : NULL, &err)) != 0)
		goto fail;
	/* The CRL is read first: every entry it holds is kept, whatever is listed here. */
	if (rk_crl_load_file(&previous, crl_path, &err) != 0) {
		if (err.sys_errno != ENOENT)
			goto fail;
		rk_err_clear(&err);
	} else {
		before = rk_crl_count(previous);
	}
	for (i = 0; i < ntargets && r == 0; i++) {
		if (targets[i].kind == TARGET_CN && ledger == NULL &&
		    (r = rk_ledger_open(&ledger, ledger_path, &err)) != 0)
			break;
		switch (targets[i].kind) {
		case TARGET_SERIAL:
			/* The ledger only names the profile here: a damaged one must not stop
			 * an emergency revocation by serial. */
			if (ledger == NULL && !ledger_tried) {
				struct rk_err ignored = { 0 };

				ledger_tried = true;
				if (rk_ledger_open(&ledger, ledger_path, &ignored) != 0)
					ledger = NULL;
			}
			r = rk_revoked_add_serial(&rv, targets[i].value, "--serial", ledger, &err);
			break;
		case TARGET_CERT:
			snprintf(source, sizeof(source), "--cert %s", targets[i].value);
			r = rk_revoked_add_cert_file(&rv, targets[i].value, source, ca.cert, &err);
			break;
		case TARGET_FOLDER:
			if ((r = rk_revoked_add_folder(&rv, targets[i].value, ca.cert, &found,
			    &err)) == 0)
				printf("%s: %zu certificate%s issued by this CA\n", targets[i].value,
				    found, found == 1 ? "" : "s");
			break;
		case TARGET_CN:
			r = rk_revoked_add_cn(&rv, targets[i].value, ledger, ledger_path,
			    include_current, &found, &err);
			break;
		}
	}
	for (i = 0; i < rv.nnotes; i++)
		print_note(rv.notes[i]);
	if (r != 0 || crl_entries_of(&entries, &rv, reason, &err) != 0 ||
	    rk_crl_build(&crl, previous, entries, rv.n, ca.cert, ca.key, crl_days,
	    &err) != 0 || rk_crl_to_pem(&pem, crl, &err) != 0 ||
	    rk_file_replace(crl_path, rk_buf_bytes(&pem), 0644, &err) != 0)
		goto fail;
	print_revocations(&rv, previous);
	cli_format_time(next, sizeof(next), rk_crl_next_update(crl));
	printf("CRL %s: number %ld, %zu new entr%s, %zu in all, next update %s\n", crl_path,
	    rk_crl_number(crl), rk_crl_count(crl) - before,
	    rk_crl_count(crl) - before == 1 ? "y" : "ies", rk_crl_count(crl), next);
	rc = RK_EXIT_OK;
	goto out;
 fail:
	cli_report_error(cli, "pki revoke", &err);
	if (err.code == RK_E_USAGE)
		rc = RK_EXIT_USAGE;
 out:
	rk_revoked_set_clear(&rv);
	free(entries);
	free(crl_default);
	free(ledger_default);
	rk_ledger_free(ledger);
	rk_signing_ca_close(&ca);
	rk_crl_free(previous);
	rk_crl_free(crl);
	rk_buf_clear(&pem);
	rk_secret_clear(&ca_pass);
	return rc;
}
