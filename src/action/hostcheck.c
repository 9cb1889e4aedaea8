/*
 * The rehearsal's other questions to a host, each one `sh -c` script through the transport's
 * run operation: how the files it would touch are now (to prove afterwards that nothing
 * changed), and whether the programs of a command are there.
 */
#include "rekey/hostcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first line of b, control characters as '?'. */
static void
first_line(char *dst, size_t size, const struct rk_buf *b)
{
	size_t i, n = 0;

	for (i = 0; b->ptr != NULL && i < b->len && b->ptr[i] != '\n' && n + 1 < size; i++)
		dst[n++] = b->ptr[i] < 0x20 || b->ptr[i] == 0x7f ? '?' : (char)b->ptr[i];
	dst[n] = '\0';
}

/* ---- snapshots ------------------------------------------------------------------------------ */

/* One line per path, in order; the path itself is never printed (it may hold a newline). */
static const char snapshot_script[] =
    "LC_ALL=C; export LC_ALL\n"
    "cap=$1; shift\n"
    "for p do\n"
    "\tif out=$(stat -c '%f %U %G %s %.9Y' -- \"$p\" 2>&1); then\n"
    "\t\tsum=-\n"
    "\t\tif [ -f \"$p\" ] && [ ! -h \"$p\" ]; then\n"
    "\t\t\tset -- $out\n"
    "\t\t\tif [ \"$4\" -le \"$cap\" ]; then sum=$(sha256sum < \"$p\") || exit 1; sum=${sum%% *}; fi\n"
    "\t\tfi\n"
    "\t\tprintf 'file %s %s\\n' \"$out\" \"$sum\"\n"
    "\telse\n"
    "\t\tcase $out in *': No such file or directory') echo absent ;;\n"
    "\t\t*) printf '%s\\n' \"$out\" >&2; exit 1 ;; esac\n"
    "\tfi\n"
    "done\n";

int
rk_host_snapshot(struct rk_path_state *out, struct rk_transport *t,
    const char *const *paths, size_t n, struct rk_err *err)
{
	const char **argv;
	struct rk_run_result res;
	char cap[32], line[320];
	const char *p;
	size_t i;
	int r = 0;

	if (n == 0)
		return 0;
	if ((argv = calloc(n + 6, sizeof(*argv))) == NULL)
		return rk_fail_nomem(err);
	snprintf(cap, sizeof(cap), "%d", RK_REMOTE_FILE_MAX);
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = snapshot_script;
	argv[3] = "rekey-snapshot";
	argv[4] = cap;
	for (i = 0; i < n; i++)
		argv[5 + i] = paths[i];
	rk_run_result_init(&res);
	memset(out, 0, n * sizeof(*out));
	if ((r = t->ops->run(&res, t, argv, t->host->sudo, err)) != 0)
		goto out;
	if (res.exit_status != 0) {
		first_line(line, sizeof(line), &res.err);
		r = rk_fail(err, RK_E_REMOTE, "reading the state of the files failed: %s",
		    line[0] != '\0' ? line : "exit status not 0");
		goto out;
	}
	p = res.out.ptr != NULL ? (const char *)res.out.ptr : "";
	for (i = 0; i < n; i++) {
		struct rk_path_state *s = &out[i];
		const char *nl = strchr(p, '\n');

		if (nl == NULL) {
			r = rk_fail(err, RK_E_REMOTE, "%s: no state read", paths[i]);
			goto out;
		}
		if (strncmp(p, "file ", 5) == 0) {
			if (sscanf(p, "file %x %63s %63s %llu %31s %64s", &s->raw_mode, s->owner,
			    s->group, &s->size, s->mtime, s->sha256) != 6) {
				r = rk_fail(err, RK_E_REMOTE, "%s: unexpected state", paths[i]);
				goto out;
			}
			s->exists = true;
			s->is_regular = (s->raw_mode & 0170000) == 0100000;
			if (strcmp(s->sha256, "-") == 0)
				s->sha256[0] = '\0';
		}
		p = nl + 1;
	}
 out:
	rk_run_result_clear(&res);
	free(argv);
	return r;
}

const char *
rk_path_state_change(const struct rk_path_state *a, const struct rk_path_state *b)
{
	if (a->exists != b->exists)
		return a->exists ? "it was removed" : "it was created";
	if (!a->exists)
		return NULL;
	if (strcmp(a->sha256, b->sha256) != 0 || a->size != b->size)
		return "its content (SHA-256) changed";
	if ((a->raw_mode & 0170000) != (b->raw_mode & 0170000))
		return "its type changed";
	if ((a->raw_mode & 07777) != (b->raw_mode & 07777))
		return "its mode changed";
	if (strcmp(a->owner, b->owner) != 0)
		return "its owner changed";
	if (strcmp(a->group, b->group) != 0)
		return "its group changed";
	if (strcmp(a->mtime, b->mtime) != 0)
		return "its modification time changed";
	return NULL;
}

/* ---- commands ------------------------------------------------------------------------------- */

#define PROGRAMS_MAX	8

/*
 * The programs a command line runs: the first word of each simple command (split at unquoted
 * ; & | and newlines) that is not a NAME=value assignment, unquoted. Enough for the lines a
 * playbook holds ("set -a; . ./.env; psql ..."); a line of loops and functions is checked for
 * what it starts with.
 */
static size_t
programs_of(char out[][256], const char *line)
{
	size_t n = 0, len = 0;
	bool first = true, word = false, assignment = false;
	char quote = 0, cur[256];
	const char *p;

	for (p = line;; p++) {
		char c = *p;
		bool ends_word = c == '\0' || (quote == 0 && (c == ' ' || c == '\t' ||
		    c == ';' || c == '&' || c == '|' || c == '\n' || c == '(' || c == ')'));

		if (!ends_word) {
			/* A backslash outside single quotes makes the next character a plain one
			 * (as printf %q writes "it\'s"): neither a quote nor a separator. */
			if (c == '\\' && quote != '\'' && p[1] != '\0') {
				c = *++p;
				if (len + 1 < sizeof(cur))
					cur[len++] = c;
				word = true;
				continue;
			}
			if (quote == 0 && (c == '\'' || c == '"')) {
				quote = c;
			} else if (quote != 0 && c == quote) {
				quote = 0;
			} else if (len + 1 < sizeof(cur)) {
				if (c == '=' && quote == 0 && len > 0)
					assignment = true;
				cur[len++] = c;
			}
			word = true;
			if (c != '\0')
				continue;
		}
		if (word && first && !assignment && len > 0 && n < PROGRAMS_MAX) {
			cur[len] = '\0';
			memcpy(out[n++], cur, len + 1);
			first = false;
		} else if (word && !assignment) {
			first = false;
		}
		word = assignment = false;
		len = 0;
		if (c == ';' || c == '&' || c == '|' || c == '\n' || c == '(' || c == ')')
			first = true;
		if (c == '\0')
			break;
	}
	return n;
}

/* Each program's `command -v` answer on a line, or "missing NAME". */
static const char which_script[] =
    "for p do command -v \"$p\" || printf 'missing %s\\n' \"$p\"; done\n";

int
rk_host_has_command(bool *found, char *where, size_t size, struct rk_transport *t,
    const char *command_line, struct rk_err *err)
{
	char programs[PROGRAMS_MAX][256], *line, *save = NULL;
	const char *argv[PROGRAMS_MAX + 5];
	struct rk_run_result res;
	size_t n, i, used = 0;
	int r;

	*found = false;
	where[0] = '\0';
	if ((n = programs_of(programs, command_line)) == 0)
		return rk_fail(err, RK_E_USAGE, "cannot tell which program \"%.80s\" runs",
		    command_line);
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = which_script;
	argv[3] = "rekey-which";
	for (i = 0; i < n; i++)
		argv[4 + i] = programs[i];
	argv[4 + n] = NULL;
	rk_run_result_init(&res);
	if ((r = t->ops->run(&res, t, argv, t->host->sudo, err)) != 0)
		goto out;
	*found = true;
	for (line = res.out.ptr != NULL ? strtok_r((char *)res.out.ptr, "\n", &save) : NULL;
	    line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "missing ", 8) == 0) {
			if (*found)
				where[used = 0] = '\0';
			*found = false;
		} else if (!*found || strchr(line, '/') == NULL) {
			continue;	/* a shell builtin, or we only name what is missing */
		}
		if (used + 3 < size) {
			snprintf(where + used, size - used, "%s%s", used > 0 ? ", " : "",
			    *found ? line : line + 8);
			used = strlen(where);
		}
	}
	if (*found && used == 0)
		snprintf(where, size, "shell builtins only");
 out:
	rk_run_result_clear(&res);
	return r;
}
