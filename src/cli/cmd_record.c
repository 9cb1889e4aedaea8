/*
 * `rekey record`: check, show and list incident records (archive.h) after the fact, as an
 * auditor would, months later and on another machine. Nothing here writes a record.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "rekey/archive.h"
#include "rekey/fsutil.h"
#include "rekey/key.h"
#include "rekey/strutil.h"

/* A record is a few hundred KiB; the archive's own bound on what it unpacks is this too. */
#define RECORD_FILE_MAX		RK_ARCHIVE_TOTAL_MAX

#define VERIFY_SYNOPSIS	"usage: rekey record verify [--pubkey FILE] [--json] ARCHIVE\n"
#define SHOW_SYNOPSIS	"usage: rekey record show ARCHIVE\n"
#define LIST_SYNOPSIS	"usage: rekey record list [FOLDER]\n"

static const char verify_help[] = VERIFY_SYNOPSIS
	"\n"
	"Checks an incident record: every member listed in MANIFEST.sha256 with its SHA-256 and\n"
	"nothing unlisted, MANIFEST.sig over MANIFEST.sha256, and timeline.jsonl's hash chain\n"
	"from playbook.yml. Names the first member or line that is wrong.\n"
	"\n"
	"  --pubkey FILE         check the signature with this public key (PEM), kept apart\n"
	"                        from the record; without it, with the signer.pub it carries,\n"
	"                        which proves only that the record is whole, not who sealed it\n"
	"  --json                one JSON object on stdout\n"
	"  --help                this help\n"
	"\n"
	"exit status: 0 valid, 1 not valid (the problem on stderr, or in the JSON), 2 usage\n";

static const char show_help_text[] = SHOW_SYNOPSIS
	"\n"
	"Prints the record's report (report.md), after checking the record as verify does.\n"
	"A record that does not verify is still shown, under a first line \"NOT VALID: ...\",\n"
	"and the exit status is then 1.\n";

static const char list_help[] = LIST_SYNOPSIS
	"\n"
	"Lists every *.tar.gz in FOLDER (default: this folder): file, incident, live or\n"
	"REHEARSAL, outcome, start and whether it verifies (with the signer.pub it carries).\n"
	"A file that is not a record is listed as such. Exit status 1 when any file listed is\n"
	"not a valid record.\n";

static const char record_help[] = VERIFY_SYNOPSIS SHOW_SYNOPSIS LIST_SYNOPSIS
	"\n"
	"`rekey record COMMAND --help` describes each command.\n";


/* The archive's bytes, or an exit code: 2 when there is no such file to judge. */
static int
read_archive(struct rk_buf *out, const struct rk_cli *cli, const char *path)
{
	struct rk_err err = { 0 };

	rk_buf_init(out, RECORD_FILE_MAX);
	if (rk_file_read(out, path, RECORD_FILE_MAX, &err) == 0)
		return RK_EXIT_OK;
	cli_report_error(cli, "record", &err);	/* the message names the file */
	return err.code == RK_E_LIMIT ? RK_EXIT_FAILED : RK_EXIT_USAGE;
}

static void
print_escaped(FILE *f, const char *prefix, const char *s, const char *suffix)
{
	char *esc = rk_text_escape(s);

	fprintf(f, "%s%s%s", prefix, esc != NULL ? esc : "?", suffix);
	free(esc);
}

/* "rekey: record: FILE: NOT VALID: problem" on stderr. */
static void
report_not_valid(const char *path, const struct rk_archive_check *c)
{
	print_escaped(stderr, "rekey: record: ", path, ": NOT VALID: ");
	print_escaped(stderr, "", c->problem, "\n");
}

/* ---- verify ------------------------------------------------------------------------- */

static int
print_check_json(const char *path, const struct rk_archive_check *c)
{
	json_t *o = json_pack("{s:s, s:b, s:I, s:b, s:b, s:b, s:s, s:s?, s:s?}",
	    "file", path, "valid", c->ok, "members", (json_int_t)c->members,
	    "manifest", c->manifest_ok, "signature", c->signature_ok, "chain", c->chain_ok,
	    "key", c->key_given ? "given" : "signer.pub",
	    "signer", c->signer[0] != '\0' ? c->signer : NULL,
	    "problem", c->ok ? NULL : c->problem);
	int r;

	if (o == NULL)
		return -1;
	r = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	fputc('\n', stdout);
	json_decref(o);
	return r;
}

static void
print_check_text(const char *path, const struct rk_archive_check *c)
{
	print_escaped(stdout, "", path, ": valid\n");
	printf("  members    %zu\n", c->members);
	printf("  manifest   every member listed with its SHA-256, nothing else\n");
	printf("  signature  MANIFEST.sig verifies with %s (SHA256 %s)\n",
	    c->key_given ? "the key given" : "signer.pub", c->signer);
	printf("  timeline   the hash chain holds\n");
	if (!c->key_given)
		printf("note: checked with the signer.pub the record carries; compare its "
		    "fingerprint with a copy kept elsewhere, or give --pubkey\n");
}

/*
 * A sealed archive is a record only with what every record holds: without its timeline,
 * "the hash chain holds" would be said of no chain, and without the playbook or incident.json
 * nothing says what was done. Marks c not valid, naming the first member missing.
 */
static int
check_record_members(struct rk_archive_check *c, struct rk_bytes archive, struct rk_err *err)
{
	static const char *const needed[] = {
		"incident.json", "timeline.jsonl", "playbook.yml", "verification.json", "report.md",
	};
	const char *missing = NULL;
	int r;

	if (!c->ok)
		return 0;
	if ((r = rk_archive_first_missing(&missing, archive, needed,
	    sizeof(needed) / sizeof(needed[0]), err)) != 0)
		return r;
	if (missing != NULL) {
		c->ok = false;
		snprintf(c->problem, sizeof(c->problem), "%s is not in the archive: every "
		    "incident record holds it", missing);
	}
	return 0;
}

/* Reads and checks one archive; *c is the verdict when RK_EXIT_OK is returned. */
static int
check_file(struct rk_archive_check *c, struct rk_buf *data, const struct rk_cli *cli,
    const char *path, const struct rk_bytes *pubkey)
{
	struct rk_err err = { 0 };
	int rc;

	if ((rc = read_archive(data, cli, path)) != RK_EXIT_OK)
		return rc;
	if (rk_archive_verify(c, rk_buf_bytes(data), pubkey, &err) != 0 ||
	    check_record_members(c, rk_buf_bytes(data), &err) != 0) {
		cli_report_error(cli, path, &err);
		return RK_EXIT_FAILED;
	}
	return RK_EXIT_OK;
}

static int
record_verify(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rk_archive_check check;
	struct rk_buf data = { 0 }, pub = { 0 };
	struct rk_bytes pubkey;
	const char *pubkey_path = NULL, *path;
	char fp[RK_KEY_FINGERPRINT_LEN];
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': pubkey_path = optarg; break;
		case 'j': json = true; break;
		case 'h': return cli_show_help(verify_help, true);
		default: return cli_show_help(verify_help, false);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "verify expects one ARCHIVE (see rekey record verify "
		    "--help)");
	path = argv[optind];
	rk_buf_init(&pub, RK_PEM_MAX);
	if (pubkey_path != NULL) {
		struct rk_err err = { 0 };

		/* A key that is not one is the caller's mistake, not the record's. */
		if (rk_file_read(&pub, pubkey_path, RK_PEM_MAX, &err) != 0 ||
		    rk_public_key_fingerprint(fp, rk_buf_bytes(&pub), &err) != 0) {
			cli_report_error(cli, pubkey_path, &err);
			rc = RK_EXIT_USAGE;
			goto out;
		}
		pubkey = rk_buf_bytes(&pub);
	}
	if ((rc = check_file(&check, &data, cli, path, pubkey_path != NULL ? &pubkey : NULL)) !=
	    RK_EXIT_OK)
		goto out;
	if (json && print_check_json(path, &check) != 0) {
		rc = cli_usage_error(cli, "out of memory");
		goto out;
	}
	if (!json && check.ok)
		print_check_text(path, &check);
	else if (!json)
		report_not_valid(path, &check);
	rc = check.ok ? RK_EXIT_OK : RK_EXIT_FAILED;
 out:
	rk_buf_clear(&data);
	rk_buf_clear(&pub);
	return rc;
}

/* ---- show --------------------------------------------------------------------------- */

/* Prints text with each unsafe character escaped (tabs and newlines kept): a report from
 * outside must not steer the terminal. */
static void
print_text(struct rk_bytes text)
{
	char esc[RK_TEXT_ESCAPE_MAX];
	size_t i = 0, n;

	while (i < text.len) {
		if (text.ptr[i] == '\n') {
			fputc('\n', stdout);
			i++;
			continue;
		}
		if (rk_text_char_is_unsafe(text.ptr + i, text.len - i, true, &n))
			fwrite(esc, 1, rk_text_escape_one(esc, text.ptr + i, n), stdout);
		else
			fwrite(text.ptr + i, 1, n, stdout);
		i += n;
	}
	if (text.len > 0 && text.ptr[text.len - 1] != '\n')
		fputc('\n', stdout);
}

static int
record_show(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rk_archive_check check;
	struct rk_buf data = { 0 }, report = { 0 };
	struct rk_err err = { 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return cli_show_help(show_help_text, true);
		default: return cli_show_help(show_help_text, false);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "show expects one ARCHIVE (see rekey record show "
		    "--help)");
	if ((rc = check_file(&check, &data, cli, argv[optind], NULL)) != RK_EXIT_OK)
		goto out;
	if (rk_archive_read_member(&report, rk_buf_bytes(&data), "report.md", &err) != 0) {
		if (!check.ok)
			report_not_valid(argv[optind], &check);
		cli_report_error(cli, argv[optind], &err);
		rc = RK_EXIT_FAILED;
		goto out;
	}
	if (!check.ok)
		print_escaped(stdout, "NOT VALID: ", check.problem,
		    " (what follows may have been altered)\n\n");
	print_text(rk_buf_bytes(&report));
	rc = check.ok ? RK_EXIT_OK : RK_EXIT_FAILED;
 out:
	rk_buf_clear(&data);
	rk_buf_clear(&report);
	return rc;
}

/* ---- list --------------------------------------------------------------------------- */

static int
is_archive_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 7 && strcmp(e->d_name + n - 7, ".tar.gz") == 0;
}

/* A string field of incident.json, or "-". */
static const char *
field(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && *s != '\0' ? s : "-";
}

/* One row of the listing; returns whether the file is a valid record. */
static bool
list_one(const char *dir, const char *name)
{
	struct rk_archive_check check;
	struct rk_buf data = { 0 }, inc = { 0 };
	struct rk_err err = { 0 };
	json_t *o = NULL;
	char *path = NULL, *cols[5] = { NULL };
	const char *why = NULL;
	bool valid = false;
	size_t i;

	rk_buf_init(&data, RECORD_FILE_MAX);
	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		path = NULL;
		why = "out of memory";
	} else if (rk_file_read(&data, path, RECORD_FILE_MAX, &err) != 0) {
		why = err.msg;
	} else if (rk_archive_read_member(&inc, rk_buf_bytes(&data), "incident.json",
	    &err) != 0) {
		why = err.msg;
	} else if ((o = json_loadb((const char *)inc.ptr, inc.len, 0, NULL)) == NULL ||
	    !json_is_object(o)) {
		why = "incident.json is not a JSON object";
	} else if (rk_archive_verify(&check, rk_buf_bytes(&data), NULL, &err) != 0 ||
	    check_record_members(&check, rk_buf_bytes(&data), &err) != 0) {
		why = err.msg;
	}
	cols[0] = rk_text_escape(name);
	if (why != NULL) {
		cols[1] = rk_text_escape(why);
		printf("%-34s not a record: %s\n", cols[0] != NULL ? cols[0] : "?",
		    cols[1] != NULL ? cols[1] : "?");
		goto out;
	}
	cols[1] = rk_text_escape(field(o, "id"));
	cols[2] = rk_text_escape(strcmp(field(o, "mode"), "rehearsal") == 0 ? "REHEARSAL" :
	    field(o, "mode"));
	cols[3] = rk_text_escape(field(o, "outcome"));
	cols[4] = rk_text_escape(field(o, "started"));
	for (i = 0; i < 5; i++)
		if (cols[i] == NULL)
			goto out;
	printf("%-34s %-16s %-10s %-12s %-21s ", cols[0], cols[1], cols[2], cols[3], cols[4]);
	valid = check.ok;
	if (valid)
		printf("yes\n");
	else
		print_escaped(stdout, "NO: ", check.problem, "\n");
 out:
	for (i = 0; i < 5; i++)
		free(cols[i]);
	json_decref(o);
	free(path);
	rk_buf_clear(&inc);
	rk_buf_clear(&data);
	return valid;
}

static int
record_list(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dirent **names = NULL;
	const char *dir = ".";
	int c, i, n, rc = RK_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return cli_show_help(list_help, true);
		default: return cli_show_help(list_help, false);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(cli, "list expects at most one FOLDER");
	if (argc - optind == 1)
		dir = argv[optind];
	if ((n = scandir(dir, &names, is_archive_name, alphasort)) == -1)
		return cli_usage_error(cli, "%s: %s", dir, strerror(errno));
	printf("%-34s %-16s %-10s %-12s %-21s %s\n", "FILE", "INCIDENT", "MODE", "OUTCOME",
	    "STARTED", "VERIFIES");
	for (i = 0; i < n; i++) {
		if (!list_one(dir, names[i]->d_name))
			rc = RK_EXIT_FAILED;
		free(names[i]);
	}
	free(names);
	return rc;
}

/* ---- dispatch ----------------------------------------------------------------------- */

int
cmd_record(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
		{ "verify", record_verify },
		{ "show", record_show },
		{ "list", record_list },
	};

	return cli_run_subcommand(cli, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
	    record_help, "verify, show, list");
}
