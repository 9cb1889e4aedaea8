/* Private to cli/: the only code that prints or exits. */
#ifndef REKEY_CLI_H
#define REKEY_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "rekey/bytes.h"
#include "rekey/cert.h"
#include "rekey/diag.h"
#include "rekey/model.h"
#include "rekey/plan.h"
#include "rekey/revocation.h"
#include "rekey/transport.h"

/* Exit codes: the contract with scripts and CI. */
enum rk_exit {
	RK_EXIT_OK = 0,		/* success */
	RK_EXIT_FAILED = 1,	/* the operation failed on some target */
	RK_EXIT_USAGE = 2,	/* usage or playbook error; nothing was touched */
};

struct rk_cli {
	const char	*command;
	bool		 color;		/* stdout is a TTY and NO_COLOR is unset */
	bool		 color_err;	/* the same for stderr */
	bool		 debug;
};

struct rk_command {
	const char	*name;
	int		(*run)(const struct rk_cli *cli, int argc, char **argv);
	const char	*usage;		/* after "rekey NAME " */
	const char	*summary;
	const char	*issue;		/* set while the command is not built yet */
};

/* Whether `rekey NAME` is built in this version (false for commands still to come). */
bool	cli_command_is_available(const char *name);

int	cmd_plan(const struct rk_cli *cli, int argc, char **argv);
int	cmd_pki(const struct rk_cli *cli, int argc, char **argv);
int	cmd_verify(const struct rk_cli *cli, int argc, char **argv);
int	cmd_run(const struct rk_cli *cli, int argc, char **argv);
int	cmd_resume(const struct rk_cli *cli, int argc, char **argv);
int	cmd_rollback(const struct rk_cli *cli, int argc, char **argv);
int	cmd_rehearse(const struct rk_cli *cli, int argc, char **argv);
int	cmd_record(const struct rk_cli *cli, int argc, char **argv);
int	cmd_expiry(const struct rk_cli *cli, int argc, char **argv);
int	cmd_sweep(const struct rk_cli *cli, int argc, char **argv);

/* A transport for host, not yet connected: ssh, or local (the command line picks). */
int	cli_transport_new(struct rk_transport **out, const struct rk_host *host,
	    struct rk_err *err);

/* Whether path names something on this machine (NULL: no); its loader judges what. */
bool	cli_file_exists(const char *path);
/* cli_transport_new, then connected (an rk_expiry_open_fn / rk_sweep_open_fn). */
int	cli_transport_open(struct rk_transport **out, const struct rk_host *host, void *payload,
	    struct rk_err *err);
/* The newest INC-* folder of records holding a journal, for a playbook without incident.id;
 * *out NULL when there is none. */
int	cli_newest_incident(char **out, const char *records, struct rk_err *err);
/*
 * The key that seals the incident record: record.signing_key, or the CA key (after a CA
 * rotation, the new CA's key in the incident folder dir). *by says which, in words.
 */
struct rk_key;
int	cli_open_record_signer(struct rk_key **out, const char **by, const struct rk_model *m,
	    const char *dir, bool rehearsal, struct rk_err *err);

/*
 * What clients trust and the CRLs they check, as files: ca.cert and ca.crl (when it exists)
 * themselves, or under an intermediate (ca.chain) the trust bundle and every link's CRL made
 * in a private folder, which cli_trust_files_remove() removes.
 */
struct cli_trust_files {
	const char	*trust;
	const char	*crl;		/* NULL: no CRL */
	char		 dir[64];	/* "" when nothing was made */
	char		*made_trust;
	char		*made_crl;
};

int	cli_trust_files_make(struct cli_trust_files *f, const struct rk_model *m,
	    struct rk_err *err);
void	cli_trust_files_remove(struct cli_trust_files *f);

/* The Prometheus text format (promfile.c): a gauge family's HELP and TYPE lines, then its
 * samples; labels with a NULL or empty value are left out. */
struct prom_label {
	const char	*name;
	const char	*value;
};

int	prom_gauge_family(struct rk_buf *b, const char *name, const char *help,
	    struct rk_err *err) RK_MUST_CHECK;
int	prom_sample(struct rk_buf *b, const char *name, const struct prom_label *labels,
	    size_t n, double value, struct rk_err *err) RK_MUST_CHECK;

/* What `rekey expiry` looks at (cmd_expiry.c), for the commands that choose by it: the
 * estate checked now with the playbook's trust, windows in seconds. */
struct rk_expiry_report;
int	cli_expiry_report(struct rk_expiry_report *out, const struct rk_model *m, long window,
	    long crl_window, struct rk_err *err);

/* --only-expiring (only_expiring.c): what a run was narrowed to. */
struct cli_selection {
	char	*certificates;	/* the names kept, comma-separated ("" none) */
	bool	 crl;		/* the CRL is signed and its loaders stay */
	bool	 nothing;	/* nothing is due: the model was left as it was */
};

/*
 * Checks the estate as `rekey expiry --within window` does and narrows m to the certificates
 * due (rk_model_select), the CRL's loaders too when it is due; says what is kept and why on
 * f, and that nothing is to be done when nothing is due (out->nothing, m left as it was). The incident's reason becomes superseded unless the playbook gives one.
 */
int	cli_select_expiring(struct cli_selection *out, struct rk_model *m, long window, FILE *f,
	    struct rk_err *err);
/* The same narrowing from what a journal recorded (resume, rollback). */
int	cli_select_named(struct rk_model *m, const char *names, bool crl, struct rk_err *err);
void	cli_selection_clear(struct cli_selection *s);

/* How a command loads its playbook. */
struct cli_load_opts {
	bool	json;		/* problems go to stdout as one JSON document */
	bool	check_local;	/* also check the CA's files on this machine (plan, run) */
};

/*
 * Loads and validates a playbook. Every diag is printed (to stderr as FILE:LINE:COL, or,
 * with json and any error, to stdout as {"errors": [...], "warnings": [...]}) and kept in
 * *diags, which the caller clears, so a JSON document can carry the warnings. Returns an
 * rk_exit code; *out is set only with RK_EXIT_OK.
 */
int	cli_load_playbook(const struct rk_cli *cli, const char *path,
	    const struct cli_load_opts *opts, struct rk_diags *diags, struct rk_model **out);

/* What `rekey CMD [--json] [--diff] PLAYBOOK` commands parse. */
struct cli_playbook_args {
	bool	json;
	bool	diff;
	bool	takes_diff;	/* in: whether --diff is an option of the command */
	bool	takes_only_expiring;	/* in: whether --only-expiring is one */
	long	only_expiring;	/* its window in seconds; 0 when not given */
	bool	check_local;	/* in: passed on to cli_load_playbook */
};

/*
 * Parses those options (usage prints the command's help to the stream given) and loads the
 * playbook into *model, its diags into *diags (initialised here; the caller clears them).
 * Returns RK_EXIT_OK with *model set, or the exit code to return at once (--help included,
 * as RK_EXIT_OK with *model NULL).
 */
int	cli_open_playbook_command(const struct rk_cli *cli, int argc, char **argv,
	    void (*usage)(FILE *), struct cli_playbook_args *args, struct rk_diags *diags,
	    struct rk_model **model);
/* Adds the errors about the CA's files (ca.cert a CA, ca.key its key) to d. */
void	cli_check_ca(const struct rk_model *m, struct rk_diags *d);

/* Each revocation of a model resolved on this machine, for the plan to show and use. */
struct cli_revocation_view {
	struct rk_revoked_set	 set;
	char			*error;		/* why it could not be resolved now, or NULL */
};

struct cli_revocations {
	struct cli_revocation_view	*views;		/* model->nrevocations */
	struct rk_revocation_facts	*facts;
	struct rk_plan_facts		 plan_facts;
	size_t				 n;
};

/*
 * Resolves every revocation with ca.cert and the ledger beside it, as `run` will when it
 * begins: by file, folder, serial or common name (the newest of a name spared). A target
 * that cannot be resolved now (a file not there yet) keeps its reason. Fails only when out
 * of memory.
 */
int	cli_resolve_revocations(struct cli_revocations *out, const struct rk_model *m,
	    struct rk_err *err);
void	cli_revocations_clear(struct cli_revocations *r);
/* A command's subcommand (`rekey pki inspect`), run with argv from its own name on. */
struct cli_subcommand {
	const char	*name;
	int		(*run)(const struct rk_cli *cli, int argc, char **argv);
};

/*
 * Runs the subcommand argv[1] names among subs; with no word or --help, prints help (to
 * stdout for --help, exit 0; else to stderr, exit 2). names lists them for the error.
 */
int	cli_run_subcommand(const struct rk_cli *cli, int argc, char **argv,
	    const struct cli_subcommand *subs, size_t nsubs, const char *help, const char *names);
/* Parses a command-line duration (rk_expiry_parse_duration), above 0 when positive; a
 * usage error naming option otherwise. Returns an rk_exit code. */
int	cli_parse_duration(const struct rk_cli *cli, const char *option, const char *text,
	    bool positive, long *out);
/* Prints prefix, then text escaped (it comes from outside: a server, a file), then a newline. */
void	cli_print_escaped(const char *prefix, const char *text);
/* Prints a (sub)command's help for --help (stdout, RK_EXIT_OK) or after a bad option
 * (stderr, RK_EXIT_USAGE), and returns that code. */
int	cli_show_help(const char *help, bool asked);
/* Prints "rekey: CMD: message" to stderr; returns RK_EXIT_USAGE for `return cli_usage_error()`. */
int	cli_usage_error(const struct rk_cli *cli, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));


/* Prints "rekey: WHAT: message" to stderr, and with --debug where it was raised. */
void	cli_report_error(const struct rk_cli *cli, const char *what, const struct rk_err *err);

/* What `plan --diff` found for one client's configuration file. */
struct cli_client_view {
	bool	 done;		/* its host was reached for it (or failed trying) */
	bool	 changed;	/* the edit changes the file */
	char	*diff;		/* unified diff, secrets masked; "" when unchanged */
	char	*error;		/* why it could not be read or edited, or NULL */
};

/* One view per client of the model, in model order. */
struct cli_client_views {
	struct cli_client_view	*views;
	size_t			 n;
};

/*
 * Reads every client's configuration file through its host's transport (one worker per
 * host, up to policy.max_parallel at once) and works out its masked diff. Writes nothing.
 * A host or file that fails has its error in its view; only setting up can fail here.
 */
int	cli_read_client_changes(struct cli_client_views *out, const struct rk_model *m,
	    struct rk_err *err);
void	cli_client_views_clear(struct cli_client_views *views);
/* The view of the client c, or NULL when views is NULL or holds none for it. */
const struct cli_client_view *cli_client_view_of(const struct cli_client_views *views,
	    const struct rk_model *m, const struct rk_client *c);

void	render_diags(FILE *f, const struct rk_diags *d, bool color);
/* {"errors": [...], "warnings": [...]}, each {file, line, column, message}. */
int	render_diags_json(FILE *f, const struct rk_diags *d);
/* Text from outside (a certificate, a host) as a JSON string: bytes that are not UTF-8
 * escaped, so the document stays valid; "" and NULL are null. */
struct json_t *cli_json_text(const char *s);
/* The diags of one severity as a JSON array (a new reference; NULL when out of memory). */
struct json_t;
struct json_t *cli_diags_json(const struct rk_diags *d, enum rk_severity sev);
/* views: NULL unless --diff, else each client's edit is followed by its diff. */
void	render_plan_text(FILE *f, const struct rk_plan *plan,
	    const struct cli_client_views *views, const struct cli_revocations *revs, bool color);
int	render_plan_json(FILE *f, const struct rk_plan *plan,
	    const struct cli_client_views *views, const struct cli_revocations *revs,
	    const struct rk_diags *diags);

/*
 * What one certificate is, as every command that describes one in JSON reports it
 * (pki inspect --json, verify --json; README, "JSON shapes"). A command that cannot know a
 * field leaves it unknown, and the JSON has null there.
 */
struct cli_cert_facts {
	char	 subject[512];		/* "/O=x/CN=y", as OpenSSL's one-line form */
	char	 issuer[512];
	char	 serial[64];		/* "5D:3A:91:..." */
	char	 sha256[RK_FINGERPRINT_LEN];
	char	**san;			/* nsan strings, "DNS:x" / "IP:y"; malloc'ed */
	size_t	 nsan;
	time_t	 not_before;		/* (time_t)-1: not known */
	time_t	 not_after;
	char	 key[64];		/* "EC P-256"; "": not known */
	char	 key_type[16];		/* "RSA", "EC", "Ed25519"; "": not known */
	int	 key_bits;		/* 0: not known */
	int	 ca;			/* basicConstraints CA:TRUE: 1 or 0; -1: not known */
};

/* The facts of cert, every field known; clear them with cli_cert_facts_clear. */
int	cli_cert_facts_of(struct cli_cert_facts *out, const struct rk_cert *cert,
	    struct rk_err *err);
void	cli_cert_facts_clear(struct cli_cert_facts *f);
/* The one JSON shape of a certificate, days_left counted from now; NULL when out of memory. */
struct json_t *render_cert_json(const struct cli_cert_facts *f, time_t now);
/* t as RFC 3339 UTC, "2026-12-01T03:12:09Z" ("?" when it is not a time); size >= 21. */
void	cli_format_time(char *buf, size_t size, time_t t);

#endif
