#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "rekey/expiry.h"
#include "rekey/log.h"
#include "rekey/playbook.h"
#include "rekey/strutil.h"

static const struct rk_command commands[] = {
	{ "plan", cmd_plan, "[--json] [--diff] [--only-expiring D] PLAYBOOK",
	    "print the ordered plan that run carries out; change nothing", NULL },
	{ "verify", cmd_verify, "[--json] PLAYBOOK",
	    "check every service's TLS now: chain, name, version, fingerprint", NULL },
	{ "rehearse", cmd_rehearse, "[--json] [--only-expiring D] PLAYBOOK",
	    "try every step against the real estate, change nothing, say go or no-go", NULL },
	{ "run", cmd_run, "[--json] [--on-failure P] [--only-expiring D] PLAYBOOK",
	    "carry out the plan, journaled, rolling back on failure", NULL },
	{ "resume", cmd_resume, "[--json] [--on-failure P] PLAYBOOK",
	    "finish an interrupted or failed run from its journal", NULL },
	{ "rollback", cmd_rollback, "[--json] PLAYBOOK",
	    "undo a run from its journal and backups", NULL },
	{ "expiry", cmd_expiry, "[--within D] [--crl-within D] [--json] [--prometheus F] PLAYBOOK",
	    "what expires soon or is out of step, served and deployed; for timers", NULL },
	{ "sweep", cmd_sweep, "[--paths DIR]... [--match FILE]... [--json] [--no-record] PLAYBOOK",
	    "find every copy of the compromised keys and certificates left on the hosts", NULL },
	{ "record", cmd_record, "verify|show|list ...",
	    "check, show and list incident records (INCIDENT.tar.gz)", NULL },
	{ "pki", cmd_pki, "inspect|issue|revoke|init ...",
	    "the certificate engine alone: inspect, issue, revoke, init", NULL },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

bool
cli_command_is_available(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].run != NULL;
	return false;
}

static bool
wants_color(int fd)
{
	const char *no = getenv("NO_COLOR");

	/* https://no-color.org: any non-empty NO_COLOR turns colour off. */
	if (no != NULL && *no != '\0')
		return false;
	return isatty(fd) == 1;
}

static void
print_help(FILE *f)
{
	size_t i;

	fprintf(f,
	    "rekey %s: emergency certificate rotation for PostgreSQL and MariaDB estates\n"
	    "\n"
	    "usage: rekey <command> [options] PLAYBOOK\n"
	    "       rekey <command> --help\n"
	    "       rekey --version\n"
	    "\n"
	    "commands:\n", REKEY_VERSION);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s%s\n", commands[i].name, commands[i].summary,
		    commands[i].run == NULL ? " (not available yet)" : "");
	fprintf(f,
	    "\n"
	    "options:\n"
	    "  -h, --help      this help; with a command, that command's help\n"
	    "  -V, --version   print the version\n"
	    "      --debug     show where errors were raised\n"
	    "\n"
	    "exit status: 0 success, 1 the operation failed on some target,\n"
	    "             2 usage or playbook error (nothing was touched)\n"
	    "\n"
	    "Colour is used only on a terminal, and never when NO_COLOR is set.\n");
}

static void
log_to_stderr(enum rk_log_level level, const char *msg, void *payload)
{
	(void)payload;
	fprintf(stderr, "rekey: %s: %s\n", rk_log_level_name(level), msg);
}

int
cli_usage_error(const struct rk_cli *cli, const char *fmt, ...)
{
	char msg[1024], *esc;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The words may be the user's own (a file name, an option's value): escaped. */
	esc = rk_text_escape(msg);
	fprintf(stderr, "rekey: %s%s%s\n", cli->command != NULL ? cli->command : "",
	    cli->command != NULL ? ": " : "", esc != NULL ? esc : msg);
	free(esc);
	return RK_EXIT_USAGE;
}

void
cli_print_escaped(const char *prefix, const char *text)
{
	char *esc = rk_text_escape(text);

	printf("%s%s\n", prefix, esc != NULL ? esc : "(not shown: out of memory)");
	free(esc);
}

int
cli_parse_duration(const struct rk_cli *cli, const char *option, const char *text,
    bool positive, long *out)
{
	if (!rk_expiry_parse_duration(text, out) || (positive && *out <= 0))
		return cli_usage_error(cli, "%s: '%s' is not a duration (30d, 12h, 2w, or a number "
		    "of days)", option, text);
	return RK_EXIT_OK;
}

int
cli_show_help(const char *help, bool asked)
{
	fputs(help, asked ? stdout : stderr);
	return asked ? RK_EXIT_OK : RK_EXIT_USAGE;
}

int
cli_run_subcommand(const struct rk_cli *cli, int argc, char **argv,
    const struct cli_subcommand *subs, size_t nsubs, const char *help, const char *names)
{
	size_t i;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_show_help(help, argc >= 2);
	for (i = 0; i < nsubs; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(cli, argc - 1, argv + 1);
	return cli_usage_error(cli, "unknown subcommand '%s' (%s)", argv[1], names);
}

void
cli_report_error(const struct rk_cli *cli, const char *what, const struct rk_err *err)
{
	/* A message may quote a file name or a server's words: escaped, as all outside text. */
	char *w = rk_text_escape(what), *m = rk_text_escape(err->msg);

	fprintf(stderr, "rekey: %s: %s\n", w != NULL ? w : "?", m != NULL ? m : err->msg);
	free(w);
	free(m);
	if (cli->debug && err->file != NULL)
		fprintf(stderr, "rekey: (%s error raised at %s:%d)\n", rk_code_name(err->code),
		    err->file, err->line);
}

int
cli_load_playbook(const struct rk_cli *cli, const char *path, const struct cli_load_opts *opts,
    struct rk_diags *diags, struct rk_model **out)
{
	struct rk_model *model = NULL;
	struct rk_err err = { 0 };
	int r;

	*out = NULL;
	rk_diags_init(diags, path);
	r = rk_playbook_load(&model, path, diags, &err);
	if (r == 0 && opts->check_local) {
		cli_check_ca(model, diags);
		rk_diags_sort(diags);
		if (rk_diags_has_errors(diags))
			r = RK_E_USAGE;
	}
	if (r != 0 && diags->nerrors > 0 && opts->json) {
		(void)render_diags_json(stdout, diags);
	} else if (!opts->json) {
		render_diags(stderr, diags, cli->color_err);
		if (r != 0 && diags->nerrors > 0) {
			char *esc = rk_text_escape(path);

			fprintf(stderr, "rekey: %s: %zu error%s; nothing was changed\n",
			    esc != NULL ? esc : "?", diags->nerrors, diags->nerrors == 1 ? "" : "s");
			free(esc);
		}
	}
	/* Out of memory with nothing else to say: the diags' own line said it. */
	if (r != 0 && diags->nerrors == 0 && (err.msg[0] != '\0' || !diags->out_of_memory))
		cli_report_error(cli, path, &err);
	if (r != 0) {
		rk_model_free(model);
		/* Memory or the system failing is not the playbook's fault: exit 2 would send
		 * the user looking for a mistake in it. */
		if (diags->nerrors == 0 && err.code != RK_E_USAGE && err.code != RK_E_LIMIT)
			return RK_EXIT_FAILED;
		return RK_EXIT_USAGE;
	}
	*out = model;
	return RK_EXIT_OK;
}

int
cli_open_playbook_command(const struct rk_cli *cli, int argc, char **argv,
    void (*usage)(FILE *), struct cli_playbook_args *args, struct rk_diags *diags,
    struct rk_model **model)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "diff", no_argument, NULL, 'D' },
		{ "only-expiring", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_load_opts load = { 0 };
	int c;

	args->json = false;
	args->diff = false;
	args->only_expiring = 0;
	*model = NULL;
	rk_diags_init(diags, NULL);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			args->json = true;
			break;
		case 'D':
			if (!args->takes_diff)
				return cli_usage_error(cli, "takes no --diff (see rekey %s --help)",
				    cli->command);
			args->diff = true;
			break;
		case 'x':
			if (!args->takes_only_expiring)
				return cli_usage_error(cli, "takes no --only-expiring (see rekey %s "
				    "--help)", cli->command);
			if (cli_parse_duration(cli, "--only-expiring", optarg, true,
			    &args->only_expiring) != RK_EXIT_OK)
				return RK_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return RK_EXIT_OK;
		default:
			usage(stderr);
			return RK_EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expects one PLAYBOOK (see rekey %s --help)",
		    cli->command);
	load.json = args->json;
	load.check_local = args->check_local;
	rk_diags_clear(diags);
	return cli_load_playbook(cli, argv[optind], &load, diags, model);
}

/*
 * --debug is global, but people type it where they type other options: after the command
 * too ("rekey pki issue --debug ..."). Takes it out of the command's words (argv[0] is the
 * command), up to a "--"; returns how many words are left.
 */
static int
take_debug_option(int argc, char **argv, bool *found)
{
	int i, o;

	for (i = o = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[o++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--debug") == 0)
			*found = true;
		else
			argv[o++] = argv[i];
	}
	argv[o] = NULL;		/* argv[argc] is NULL, so there is room */
	return o;
}

/*
 * A run keeps one session per host open from its first step to its last: an estate of a
 * thousand hosts needs more descriptors than the usual soft limit of 1024, and the hard limit
 * is there for that (nginx and many servers raise it the same way). Best effort: where it
 * cannot be raised, a host past the limit fails to connect with "Too many open files".
 */
static void
allow_one_socket_per_host(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &lim);
	}
}

/*
 * glibc gives each thread that meets a busy lock an arena of its own, up to eight per core,
 * and keeps their freed pages: with a worker per host lane waiting on the network that cost
 * 35 MB at 1,000 hosts (bench/rotate.sh: 210 MB with the default, 176 MB with two), for no
 * speed, since the lanes spend their time in poll(2), not in malloc. A MALLOC_ARENA_MAX or
 * GLIBC_TUNABLES the user set still wins.
 */
static void
share_malloc_arenas(void)
{
#ifdef __GLIBC__
	if (getenv("MALLOC_ARENA_MAX") == NULL && getenv("GLIBC_TUNABLES") == NULL)
		(void)mallopt(M_ARENA_MAX, 2);
#endif
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct rk_cli cli = { 0 };
	const struct rk_command *cmd = NULL;
	static char progname[64];
	size_t i;
	int c;

	/* As ssh-agent does: no core dump or ptrace of a process that holds private keys. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	allow_one_socket_per_host();
	share_malloc_arenas();
	cli.color = wants_color(STDOUT_FILENO);
	cli.color_err = wants_color(STDERR_FILENO);

	/* Options before the command; "+" stops at the first word so commands get theirs. */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_help(stdout);
			return RK_EXIT_OK;
		case 'V':
			printf("rekey %s\n", REKEY_VERSION);
			return RK_EXIT_OK;
		case 'd':
			cli.debug = true;
			break;
		default:
			fprintf(stderr, "Try 'rekey --help'.\n");
			return RK_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_help(stderr);
		return RK_EXIT_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "rekey: unknown command '%s'. Try 'rekey --help'.\n", argv[optind]);
		return RK_EXIT_USAGE;
	}
	cli.command = cmd->name;
	argc = optind + take_debug_option(argc - optind, argv + optind, &cli.debug);
	rk_log_set_sink(log_to_stderr, NULL, cli.debug ? RK_LOG_DEBUG : RK_LOG_WARN);
	if (cmd->run == NULL) {
		if (argc > optind + 1 && (strcmp(argv[optind + 1], "--help") == 0 ||
		    strcmp(argv[optind + 1], "-h") == 0)) {
			printf("usage: rekey %s %s\n\n%s.\n\nNot available yet in rekey %s "
			    "(planned in %s).\n", cmd->name, cmd->usage, cmd->summary,
			    REKEY_VERSION, cmd->issue);
			return RK_EXIT_OK;
		}
		return cli_usage_error(&cli, "not available yet in rekey %s (planned in %s)",
		    REKEY_VERSION, cmd->issue);
	}
	/* The command sees argv from its own name on, as a program of its own would; getopt's
	 * messages then start with "rekey plan:". */
	argc -= optind;
	argv += optind;
	snprintf(progname, sizeof(progname), "rekey %s", cmd->name);
	argv[0] = progname;
	optind = 0;		/* 0, not 1: glibc then resets getopt's state fully */
	return cmd->run(&cli, argc, argv);
}
