/*
 * `rekey expiry`: what ends soon across the estate and what is out of step, for a daily
 * check (systemd timer or cron) and for Prometheus. Reads servers and files; changes nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "rekey/expiry.h"
#include "rekey/fsutil.h"
#include "rekey/ssh.h"
#include "rekey/strutil.h"

#define DEFAULT_WINDOW		(30L * 86400)
#define DEFAULT_CRL_WINDOW	(3L * 86400)
/* A metrics file of a large estate: 10,000 items of a few hundred bytes each. */
#define PROM_MAX		(8 * 1024 * 1024)

struct expiry_args {
	bool		 json;
	long		 window;
	long		 crl_window;
	const char	*prometheus;
	const char	*playbook;
};

static void
expiry_usage(FILE *f)
{
	fprintf(f,
	    "usage: rekey expiry [--within DURATION] [--crl-within DURATION] [--json]\n"
	    "                    [--prometheus FILE] PLAYBOOK\n"
	    "\n"
	    "For every service of PLAYBOOK: the certificate it serves now (TLS probe) and the\n"
	    "files deployed on its host (files.cert, files.ca, files.crl, read over its\n"
	    "transport); every client's deployed files; the playbook's ca.cert and ca.crl. Each\n"
	    "with its end date, days left, issuer and fingerprint. Flagged: a certificate inside\n"
	    "the window or expired, a CA inside the window, a server that serves another\n"
	    "certificate than its file holds (a reload that never happened), a certificate file\n"
	    "without its intermediates or that clients would refuse, a CRL whose nextUpdate is\n"
	    "inside the CRL window or past, a host, server or file that cannot be read.\n"
	    "Changes nothing.\n"
	    "Exit status: 0 nothing flagged, 1 something flagged, 2 usage or playbook error.\n"
	    "\n"
	    "  --within D       the window for certificates and CAs (default 30d); D is N\n"
	    "                   followed by d, h or w, or N days\n"
	    "  --crl-within D   the window for CRLs (default 3d: CRLs live days, not months)\n"
	    "  --json           one JSON document with every item and problem\n"
	    "  --prometheus F   also write F for node_exporter's textfile collector (atomically:\n"
	    "                   a temporary file renamed over F)\n"
	    "  --help           this help\n");
}

static int
parse_args(struct expiry_args *a, const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "within", required_argument, NULL, 'w' },
		{ "crl-within", required_argument, NULL, 'c' },
		{ "prometheus", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	a->window = DEFAULT_WINDOW;
	a->crl_window = DEFAULT_CRL_WINDOW;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'w':
		case 'c':
			if (cli_parse_duration(cli, c == 'w' ? "--within" : "--crl-within",
			    optarg, false, c == 'w' ? &a->window : &a->crl_window) != RK_EXIT_OK)
				return RK_EXIT_USAGE;
			break;
		case 'p':
			if (optarg[0] == '\0')
				return cli_usage_error(cli, "--prometheus: an empty file name");
			a->prometheus = optarg;
			break;
		case 'h':
			expiry_usage(stdout);
			return -1;
		default:
			expiry_usage(stderr);
			return RK_EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expects one PLAYBOOK (see rekey expiry --help)");
	a->playbook = argv[optind];
	return RK_EXIT_OK;
}

/* ---- the text report ---------------------------------------------------------------------- */

/* Whose an item is: a service, a client, or which of the playbook's own files. */
static const char *
owner_of(const struct rk_model *m, const struct rk_expiry_item *it)
{
	if (it->service != NULL)
		return it->service->name;
	if (it->client != NULL)
		return it->client->name;
	if (it->path != NULL && it->path == m->ca.chain)
		return "ca.chain";
	if (it->path != NULL && it->path == m->ca.parent.crl)
		return "ca.parent.crl";
	return it->what == RK_EXPIRY_CRL ? "ca.crl" : "ca.cert";
}

/* "2026-12-12", or "-" when the item has no date. */
static void
format_day(char out[32], const struct rk_expiry_item *it)
{
	if (!it->known || it->until == 0) {
		snprintf(out, 32, "-");
		return;
	}
	cli_format_time(out, 32, it->until);
	out[strcspn(out, "T")] = '\0';
}

static void
print_row(const struct rk_model *m, const struct rk_expiry_item *it, bool color)
{
	const char *red = color ? "\033[31m" : "", *green = color ? "\033[32m" : "";
	const char *reset = color ? "\033[0m" : "";
	char day[32], days[16], state[160] = "", line[512], *name;
	unsigned bit;

	format_day(day, it);
	snprintf(days, sizeof(days), it->known && it->until != 0 ? "%ld" : "-", it->days_left);
	for (bit = 1; bit < 1u << RK_EXPIRY_PROBLEMS; bit <<= 1)
		if (it->problems & bit)
			snprintf(state + strlen(state), sizeof(state) - strlen(state), "%s%s",
			    state[0] != '\0' ? "," : "", rk_expiry_problem_name(bit));
	name = rk_text_escape(owner_of(m, it));
	snprintf(line, sizeof(line), "%-16.16s %-12s %-5s %-9s %-10s %5s  %-23.23s  %s%s%s",
	    name != NULL ? name : "?", it->host != NULL ? it->host->name : "-",
	    it->what == RK_EXPIRY_CERT ? "cert" : rk_expiry_what_name(it->what),
	    rk_expiry_source_name(it->source), day, days,
	    it->fingerprint[0] != '\0' ? it->fingerprint : "-",
	    it->problems != 0 ? red : green, it->problems != 0 ? state : "ok", reset);
	free(name);
	puts(line);
}

static void
print_text(const struct rk_model *m, const struct rk_expiry_report *r,
    const struct expiry_args *a, bool color)
{
	char when[32], msg[1024], prefix[400], *path;
	struct tm tm;
	size_t i;
	unsigned bit;

	if (gmtime_r(&r->checked_at, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(when, sizeof(when), "now");
	cli_print_escaped("rekey expiry: ", a->playbook);
	printf("checked %s; window %ld days for certificates and CAs, %ld for CRLs\n\n", when,
	    r->window / 86400, r->crl_window / 86400);
	printf("%-16s %-12s %-5s %-9s %-10s %5s  %-23s  %s\n", "SERVICE/CLIENT", "HOST", "FILE",
	    "SOURCE", "UNTIL", "DAYS", "SHA-256 (start)", "STATE");
	for (i = 0; i < r->n; i++)
		print_row(m, &r->items[i], color);
	putchar('\n');
	if (r->nproblems == 0) {
		printf("nothing inside the window, nothing out of step\n");
		return;
	}
	printf("%zu item%s flagged:\n", r->nproblems, r->nproblems == 1 ? "" : "s");
	for (i = 0; i < r->n; i++) {
		const struct rk_expiry_item *it = &r->items[i];

		if (it->problems == 0)
			continue;
		path = rk_text_escape(it->path != NULL ? it->path : "");
		snprintf(prefix, sizeof(prefix), "  %s (%s%s%s%s): ", owner_of(m, it),
		    it->host != NULL ? it->host->name : "", it->host != NULL ? ":" : "",
		    it->path != NULL && path != NULL ? path : "",
		    it->path == NULL ? "served" : "");
		free(path);
		for (bit = 1; bit < 1u << RK_EXPIRY_PROBLEMS; bit <<= 1) {
			if (!(it->problems & bit))
				continue;
			rk_expiry_describe(msg, sizeof(msg), r, it, bit);
			cli_print_escaped(prefix, msg);
		}
	}
}

/* ---- JSON --------------------------------------------------------------------------------- */

static json_t *
string_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
iso_time(time_t t)
{
	char buf[32];

	cli_format_time(buf, sizeof(buf), t);
	return json_string(buf);
}

static json_t *
item_json(const struct rk_expiry_report *r, const struct rk_expiry_item *it)
{
	json_t *o = json_object(), *problems = json_array();
	char msg[1024];
	unsigned bit;

	if (o == NULL || problems == NULL) {
		json_decref(o);
		json_decref(problems);
		return NULL;
	}
	json_object_set_new(o, "what", json_string(rk_expiry_what_name(it->what)));
	json_object_set_new(o, "source", json_string(rk_expiry_source_name(it->source)));
	json_object_set_new(o, "service", string_or_null(it->service != NULL ?
	    it->service->name : NULL));
	json_object_set_new(o, "client", string_or_null(it->client != NULL ?
	    it->client->name : NULL));
	json_object_set_new(o, "host", string_or_null(it->host != NULL ? it->host->name : NULL));
	json_object_set_new(o, "certificate", string_or_null(it->certificate != NULL ?
	    it->certificate->name : NULL));
	json_object_set_new(o, "path", string_or_null(it->path));
	json_object_set_new(o, "subject", string_or_null(it->known ? it->subject : NULL));
	json_object_set_new(o, "issuer", string_or_null(it->known ? it->issuer : NULL));
	json_object_set_new(o, "fingerprint", string_or_null(it->fingerprint));
	json_object_set_new(o, it->what == RK_EXPIRY_CRL ? "next_update" : "not_after",
	    it->known && it->until != 0 ? iso_time(it->until) : json_null());
	json_object_set_new(o, "days_left", it->known && it->until != 0 ?
	    json_integer(it->days_left) : json_null());
	for (bit = 1; bit < 1u << RK_EXPIRY_PROBLEMS; bit <<= 1) {
		if (!(it->problems & bit))
			continue;
		rk_expiry_describe(msg, sizeof(msg), r, it, bit);
		json_array_append_new(problems, json_pack("{s:s, s:s}", "problem",
		    rk_expiry_problem_name(bit), "message", msg));
	}
	json_object_set_new(o, "problems", problems);
	return o;
}

static int
print_json(const struct rk_expiry_report *r, const struct expiry_args *a,
    const struct rk_diags *diags)
{
	json_t *doc = json_object(), *list = json_array(), *item;
	size_t i;

	if (doc == NULL || list == NULL)
		goto oom;
	for (i = 0; i < r->n; i++)
		if ((item = item_json(r, &r->items[i])) == NULL ||
		    json_array_append_new(list, item) != 0)
			goto oom;
	json_object_set_new(doc, "rekey_expiry", json_integer(1));
	json_object_set_new(doc, "playbook", json_string(a->playbook));
	json_object_set_new(doc, "checked_at", iso_time(r->checked_at));
	json_object_set_new(doc, "window_days", json_integer(r->window / 86400));
	json_object_set_new(doc, "crl_window_days", json_integer(r->crl_window / 86400));
	json_object_set_new(doc, "ok", json_boolean(r->nproblems == 0));
	json_object_set_new(doc, "complete", json_boolean(r->complete));
	json_object_set_new(doc, "flagged", json_integer((json_int_t)r->nproblems));
	json_object_set_new(doc, "items", list);
	json_object_set_new(doc, "warnings", cli_diags_json(diags, RK_SEV_WARNING));
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(doc);
	return 0;
 oom:
	json_decref(list);
	json_decref(doc);
	return -1;
}

/* ---- Prometheus --------------------------------------------------------------------------- */

struct prom_families {
	const char	*name;
	const char	*help;
};

static const struct prom_families families[] = {
	{ "rekey_certificate_not_after_seconds",
	  "When a certificate stops being valid (notAfter), as a Unix time: source served is "
	  "what the server presents, deployed the file on its host." },
	{ "rekey_ca_not_after_seconds",
	  "When a CA certificate stops being valid, as a Unix time (the first to end in a file)." },
	{ "rekey_crl_next_update_seconds",
	  "When a CRL must be replaced (nextUpdate), as a Unix time: past it, servers that "
	  "load the CRL refuse every client certificate." },
	{ "rekey_expiry_problem",
	  "1 for each problem rekey expiry found (problem names what)." },
};

/* The labels that say whose an item is and where it is. */
static size_t
item_labels(struct prom_label *l, const struct rk_expiry_item *it)
{
	size_t n = 0;

	l[n++] = (struct prom_label){ it->client != NULL ? "client" : "service",
	    it->client != NULL ? it->client->name : it->service != NULL ? it->service->name :
	    NULL };
	l[n++] = (struct prom_label){ "host", it->host != NULL ? it->host->name : NULL };
	l[n++] = (struct prom_label){ "source", rk_expiry_source_name(it->source) };
	l[n++] = (struct prom_label){ "path", it->path };
	return n;
}

static int
prom_items(struct rk_buf *b, const struct rk_expiry_report *r, size_t family,
    struct rk_err *err)
{
	struct prom_label l[8];
	size_t i, n;
	unsigned bit;
	int ret = prom_gauge_family(b, families[family].name, families[family].help, err);

	for (i = 0; i < r->n && ret == 0; i++) {
		const struct rk_expiry_item *it = &r->items[i];

		n = item_labels(l, it);
		if (family == 3) {
			l[n++] = (struct prom_label){ "what", rk_expiry_what_name(it->what) };
			for (bit = 1; ret == 0 && bit < 1u << RK_EXPIRY_PROBLEMS; bit <<= 1) {
				if (!(it->problems & bit))
					continue;
				l[n] = (struct prom_label){ "problem", rk_expiry_problem_name(bit) };
				ret = prom_sample(b, families[family].name, l, n + 1, 1, err);
			}
			continue;
		}
		if (!it->known || it->until == 0 || (family == 0 && it->what != RK_EXPIRY_CERT) ||
		    (family == 1 && it->what != RK_EXPIRY_CA) ||
		    (family == 2 && it->what != RK_EXPIRY_CRL))
			continue;
		if (family == 0)
			l[n++] = (struct prom_label){ "certificate", it->certificate != NULL ?
			    it->certificate->name : NULL };
		if (family == 2)
			l[n++] = (struct prom_label){ "issuer", it->issuer };
		else
			l[n++] = (struct prom_label){ "subject", it->subject };
		if (family != 2)
			l[n++] = (struct prom_label){ "fingerprint", it->fingerprint };
		ret = prom_sample(b, families[family].name, l, n, (double)it->until, err);
	}
	return ret;
}

static int
write_prometheus(const char *path, const struct rk_expiry_report *r, struct rk_err *err)
{
	struct rk_buf b;
	size_t f;
	int ret = 0;

	rk_buf_init(&b, PROM_MAX);
	for (f = 0; f < sizeof(families) / sizeof(families[0]) && ret == 0; f++)
		ret = prom_items(&b, r, f, err);
	if (ret == 0)
		ret = prom_gauge_family(&b, "rekey_expiry_check_success", "1 when every host, "
		    "server and file could be checked; 0 when some could not (problems unreachable "
		    "or unreadable).", err);
	if (ret == 0)
		ret = prom_sample(&b, "rekey_expiry_check_success", NULL, 0, r->complete, err);
	if (ret == 0)
		ret = prom_gauge_family(&b, "rekey_expiry_problems", "Items with at least one "
		    "problem.", err);
	if (ret == 0)
		ret = prom_sample(&b, "rekey_expiry_problems", NULL, 0, (double)r->nproblems, err);
	if (ret == 0)
		ret = prom_gauge_family(&b, "rekey_expiry_window_seconds", "The window the check "
		    "flagged certificates and CAs within.", err);
	if (ret == 0)
		ret = prom_sample(&b, "rekey_expiry_window_seconds", NULL, 0, (double)r->window,
		    err);
	if (ret == 0)
		ret = prom_gauge_family(&b, "rekey_expiry_check_timestamp_seconds", "When the "
		    "check ran, as a Unix time.", err);
	if (ret == 0)
		ret = prom_sample(&b, "rekey_expiry_check_timestamp_seconds", NULL, 0,
		    (double)r->checked_at, err);
	if (ret == 0)
		ret = rk_file_replace(path, rk_buf_bytes(&b), 0644, err);
	rk_buf_clear(&b);
	return ret;
}

/* ---- the command -------------------------------------------------------------------------- */

int
cli_expiry_report(struct rk_expiry_report *out, const struct rk_model *m, long window,
    long crl_window, struct rk_err *err)
{
	struct cli_trust_files files;
	struct rk_expiry_request req = { m, time(NULL), window, crl_window, NULL, cli_transport_open,
	    NULL, (size_t)m->policy.max_parallel };
	int r;

	if ((r = cli_trust_files_make(&files, m, err)) != 0)
		return r;
	req.trust_file = files.trust;
	if ((r = rk_ssh_global_init(err)) == 0) {
		r = rk_expiry_check(out, &req, err);
		rk_ssh_global_cleanup();
	}
	cli_trust_files_remove(&files);
	return r;
}

int
cmd_expiry(const struct rk_cli *cli, int argc, char **argv)
{
	struct expiry_args args = { 0 };
	struct rk_expiry_report report = { 0 };
	struct rk_model *model = NULL;
	struct rk_err err = { 0 };
	struct rk_diags diags;
	struct cli_load_opts load = { false, false };
	int rc;

	rk_diags_init(&diags, NULL);
	if ((rc = parse_args(&args, cli, argc, argv)) != RK_EXIT_OK) {
		rk_diags_clear(&diags);
		return rc == -1 ? RK_EXIT_OK : rc;
	}
	rk_diags_clear(&diags);
	load.json = args.json;
	if ((rc = cli_load_playbook(cli, args.playbook, &load, &diags, &model)) != RK_EXIT_OK)
		goto out;
	if (cli_expiry_report(&report, model, args.window, args.crl_window, &err) != 0) {
		cli_report_error(cli, "expiry", &err);
		rc = RK_EXIT_FAILED;
		goto out;
	}
	if (args.json ? print_json(&report, &args, &diags) != 0 :
	    (print_text(model, &report, &args, cli->color), 0) != 0) {
		fprintf(stderr, "rekey: expiry: out of memory\n");
		rc = RK_EXIT_FAILED;
		goto out;
	}
	if (args.prometheus != NULL && write_prometheus(args.prometheus, &report, &err) != 0) {
		cli_report_error(cli, "expiry: --prometheus", &err);
		rc = RK_EXIT_FAILED;
		goto out;
	}
	rc = report.nproblems == 0 ? RK_EXIT_OK : RK_EXIT_FAILED;
 out:
	rk_expiry_report_clear(&report);
	rk_model_free(model);
	rk_diags_clear(&diags);
	return rc;
}
