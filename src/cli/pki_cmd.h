/* Private to cli/: the commands of `rekey pki`, one file each, and what they share. */
#ifndef REKEY_PKI_CMD_H
#define REKEY_PKI_CMD_H

#include <stdbool.h>

#include "cli.h"
#include "rekey/model.h"
#include "rekey/secret.h"

#define KEY_TYPES	"rsa-2048 rsa-3072 rsa-4096 ec-p256 ec-p384 ed25519"

/* Each subcommand's help, `rekey pki SUB --help`; `rekey pki --help` shows every synopsis. */
#define INSPECT_SYNOPSIS \
	"usage: rekey pki inspect [--json] [--passphrase-env VAR|--passphrase-file F] FILE...\n"
#define INIT_SYNOPSIS \
	"usage: rekey pki init [--intermediate] [--name DNS:x|IP:y]... [--key TYPE] [--days N]\n" \
	"                      [--client-cn NAME] [--ca-cn NAME] [--root-cn NAME] DIR\n"
#define ISSUE_SYNOPSIS \
	"usage: rekey pki issue --ca-cert F --ca-key F --profile server|client --subject /CN=x\n" \
	"                      [--san DNS:x|IP:y]... [--key TYPE] [--days N]\n" \
	"                      --cert-out F --key-out F [--ledger F] [--replaces SERIAL]\n"
#define REVOKE_SYNOPSIS \
	"usage: rekey pki revoke --ca-cert F --ca-key F [--crl F] [--crl-days N] [--reason R]\n" \
	"                      [--ledger F] [--include-current]\n" \
	"                      (--serial S | --cert F | --folder DIR | --cn NAME)...\n" \
	"       rekey pki revoke --ca-cert F --ca-key F [--crl F] [--crl-days N] --renew\n"
#define CA_PASSPHRASE_HELP \
	"  --ca-passphrase-env VAR, --ca-passphrase-file F\n" \
	"                       the CA key's passphrase (a file must be mode 0600)\n"

/* A passphrase's source, from --X-env VAR or --X-file F (at most one given). */
struct pki_secret_opt {
	const char	*env;
	const char	*file;
};

/* Loads a secret named by --X-env or --X-file; *has is false when neither was given. */
int	pki_load_secret(struct rk_secret *out, bool *has, const struct pki_secret_opt *o,
	    const char *what, const struct rk_cli *cli);
/*
 * The options init and issue share, each false with *rc set to the usage error when the
 * value is refused: --days N (1 to max) as option says, --key TYPE, and --name or --san
 * (option) adding one SAN to sans, which holds max.
 */
bool	pki_take_days(const struct rk_cli *cli, const char *option, const char *arg, int max,
	    int *out, int *rc);
bool	pki_take_key_type(const struct rk_cli *cli, const char *arg, enum rk_key_type *out,
	    int *rc);
bool	pki_take_san(const struct rk_cli *cli, const char *option, const char *arg,
	    char **sans, size_t max, size_t *n, int *rc);
/* name in the folder of ca_cert (malloc'ed; NULL when out of memory). */
char	*pki_path_beside(const char *ca_cert, const char *name);
/* Prints label and a value from outside (a certificate, a CRL, a folder), escaped. */
void	pki_print_field(const char *label, const char *value);

int	pki_inspect(const struct rk_cli *cli, int argc, char **argv);
int	pki_init(const struct rk_cli *cli, int argc, char **argv);
int	pki_issue(const struct rk_cli *cli, int argc, char **argv);
int	pki_revoke(const struct rk_cli *cli, int argc, char **argv);

#endif
