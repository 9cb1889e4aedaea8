/*
 * The rehearsal's questions to a host, each one `sh -c` script through the transport's run
 * operation (ssh exec channel or fork and exec, `sudo -n` in front when the host says sudo),
 * so a host answers exactly as it will when the replace or the command runs for real.
 */
#include "rekey/hostcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rekey/fsutil.h"
#include "rekey/strutil.h"

/*
 * A replace up to its rename, without the content (filecmd.c's replace_script does the same
 * checks in the same words). The probe file is named as the replace's temporary siblings
 * are, so one a killed rehearsal left is removed by the next replace of the file. Who creates
 * it is who the replace creates it as: the login, or root under sudo; a file that does not
 * exist yet gets the login's owner, as the replace gives it ($SUDO_USER under sudo).
 */
static const char probe_script[] =
    "LC_ALL=C; export LC_ALL\n"
    "path=$1 dir=$2 tmp=$3 mode=$4 owner=$5 group=$6 links=$7\n"
    "if [ ! -d \"$dir\" ]; then [ -e \"$dir\" ] && exit 13; exit 12; fi\n"
    "if old=$(stat -c '%f %U %G %s' -- \"$path\" 2>&1); then\n"
    "\tif [ -h \"$path\" ]; then\n"
    "\t\t[ \"$links\" = yes ] || exit 10\n"
    "\telif [ -f \"$path\" ]; then\n"
    "\t\tset -- $old\n"
    "\t\t[ \"$owner\" != - ] || owner=$2\n"
    "\t\t[ \"$group\" != - ] || group=$3\n"
    "\telse\n"
    "\t\texit 11\n"
    "\tfi\n"
    "\tprintf 'old %s\\n' \"$old\"\n"
    "else\n"
    "\tcase $old in *': No such file or directory') echo absent ;;\n"
    "\t*) printf '%s\\n' \"$old\" >&2; exit 1 ;; esac\n"
    "fi\n"
    "me=$(id -un) && mygroup=$(id -gn) || exit 1\n"
    "login=${SUDO_USER:-$me}\n"
    "[ \"$owner\" != - ] || owner=$login\n"
    "[ \"$group\" != - ] || group=$(id -gn -- \"$login\") || exit 1\n"
    "printf 'as %s %s %s\\n' \"$owner\" \"$group\" \"$me\"\n"
    "out=$( (umask 077 && set -C && : > \"$tmp\") 2>&1 ) || { printf '%s\\n' \"$out\" >&2; exit 30; }\n"
    "if [ \"$owner\" != \"$me\" ] || [ \"$group\" != \"$mygroup\" ]; then\n"
    "\tout=$(chown -- \"$owner:$group\" \"$tmp\" 2>&1) ||\n"
    "\t    { rm -f -- \"$tmp\"; printf '%s\\n' \"$out\" >&2; exit 31; }\n"
    "fi\n"
    "out=$(chmod -- \"$mode\" \"$tmp\" 2>&1) || { rm -f -- \"$tmp\"; printf '%s\\n' \"$out\" >&2; exit 31; }\n"
    "rm -f -- \"$tmp\" || exit 32\n"
    "df -Pk -- \"$dir\" | { read -r _ && read -r _ _ _ avail _ && echo \"free $avail\"; }\n";

#define PROBE_EXIT_SYMLINK	10
#define PROBE_EXIT_NOT_FILE	11
#define PROBE_EXIT_NO_DIR	12
#define PROBE_EXIT_DIR_NOT_DIR	13
#define PROBE_EXIT_CREATE	30
#define PROBE_EXIT_OWNER	31
#define PROBE_EXIT_REMOVE	32

/* The first line of b, control characters as '?'. */
static void
first_line(char *dst, size_t size, const struct rk_buf *b)
{
	size_t i, n = 0;

	for (i = 0; b->ptr != NULL && i < b->len && b->ptr[i] != '\n' && n + 1 < size; i++)
		dst[n++] = b->ptr[i] < 0x20 || b->ptr[i] == 0x7f ? '?' : (char)b->ptr[i];
	dst[n] = '\0';
}

/* The reason a shell or coreutils gave, without the "sh: 1: cannot create X: " in front. */
static const char *
reason_of(const char *line)
{
	const char *colon = strrchr(line, ':');

	return colon != NULL && colon[1] == ' ' && colon[2] != '\0' ? colon + 2 : line;
}

static int
random_hex(char *out, size_t n, struct rk_err *err)
{
	unsigned char raw[16];
	size_t i;

	if (n > sizeof(raw) || getrandom(raw, n, 0) != (ssize_t)n)
		return rk_fail_errno(err, "getrandom");
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* "old RAW OWNER GROUP SIZE" or "absent", "as OWNER GROUP CREATOR", "free KB". */
static int
parse_probe(struct rk_push_probe *out, const char *text, const char *path, struct rk_err *err)
{
	char owner[64], group[64];
	unsigned raw;
	unsigned long long size, kb;
	const char *p = text, *nl;

	if (sscanf(p, "old %x %63s %63s %llu", &raw, owner, group, &size) == 4) {
		out->current.exists = true;
		out->current.is_regular = (raw & 0170000) == 0100000;
		out->current.is_symlink = (raw & 0170000) == 0120000;
		out->current.mode = raw & 07777;
		out->current.size = size;
		snprintf(out->current.owner, sizeof(out->current.owner), "%s", owner);
		snprintf(out->current.group, sizeof(out->current.group), "%s", group);
	} else if (strncmp(p, "absent\n", 7) != 0) {
		goto bad;
	}
	if ((nl = strchr(p, '\n')) == NULL)
		goto bad;
	p = nl + 1;
	if (sscanf(p, "as %63s %63s %63s", out->owner, out->group, out->creator) != 3 ||
	    (nl = strchr(p, '\n')) == NULL)
		goto bad;
	p = nl + 1;
	if (sscanf(p, "free %llu", &kb) != 1)
		goto bad;
	out->free_bytes = kb * 1024;
	return 0;
 bad:
	return rk_fail(err, RK_E_REMOTE, "%s: unexpected answer from the host", path);
}

int
rk_probe_push(struct rk_push_probe *out, struct rk_transport *t,
    const struct rk_file_spec *spec, unsigned long long need, struct rk_err *err)
{
	char *dir = NULL, *tmp = NULL, mode[8], rnd[17], line[320], a[32], b[32];
	struct rk_run_result res;
	const char *who;
	int r;

	memset(out, 0, sizeof(*out));
	rk_run_result_init(&res);
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(spec->mode & 07777));
	if ((r = rk_path_dirname(&dir, spec->path, err)) != 0 ||
	    (r = random_hex(rnd, 8, err)) != 0)
		goto out;
	if (asprintf(&tmp, "%s.rekey-tmp-%s", spec->path, rnd) < 0) {
		tmp = NULL;
		r = rk_fail_nomem(err);
		goto out;
	}
	{
		const char *argv[] = { "sh", "-c", probe_script, "rekey-probe", spec->path, dir,
		    tmp, mode, spec->owner != NULL ? spec->owner : "-",
		    spec->group != NULL ? spec->group : "-", spec->allow_symlink ? "yes" : "no",
		    NULL };

		if ((r = t->ops->run(&res, t, argv, t->host->sudo, err)) != 0)
			goto out;
	}
	first_line(line, sizeof(line), &res.err);
	who = t->host->sudo ? "root (sudo)" : t->host->user != NULL ? t->host->user :
	    "the login";
	switch (res.exit_status) {
	case 0:
		if (res.out.ptr == NULL) {
			r = rk_fail(err, RK_E_REMOTE, "%s: no answer from the host", spec->path);
			goto out;
		}
		if ((r = parse_probe(out, (const char *)res.out.ptr, spec->path, err)) != 0)
			goto out;
		if (out->free_bytes < need + out->current.size) {
			out->problem = RK_PUSH_NO_ROOM;
			r = rk_fail(err, RK_E_REMOTE, "%s: %s free in %s, the replace needs %s (the "
			    "new file and the backup of the old one)", spec->path,
			    rk_size_text(a, sizeof(a), out->free_bytes), dir,
			    rk_size_text(b, sizeof(b), need + out->current.size));
		}
		goto out;
	case PROBE_EXIT_SYMLINK:
		out->problem = RK_PUSH_SYMLINK;
		r = rk_fail(err, RK_E_USAGE, "%s is a symbolic link: replacing it would cut the "
		    "link; name its target instead, or set allow_symlink: true", spec->path);
		goto out;
	case PROBE_EXIT_NOT_FILE:
		out->problem = RK_PUSH_NOT_FILE;
		r = rk_fail(err, RK_E_USAGE, "%s is not a regular file: rekey replaces only files",
		    spec->path);
		goto out;
	case PROBE_EXIT_NO_DIR:
		out->problem = RK_PUSH_NO_FOLDER;
		r = rk_fail(err, RK_E_REMOTE, "%s: the folder %s does not exist", spec->path, dir);
		goto out;
	case PROBE_EXIT_DIR_NOT_DIR:
		out->problem = RK_PUSH_NO_FOLDER;
		r = rk_fail(err, RK_E_REMOTE, "%s: %s is not a folder", spec->path, dir);
		goto out;
	case PROBE_EXIT_CREATE:
		out->problem = RK_PUSH_CANNOT_CREATE;
		r = rk_fail(err, RK_E_REMOTE, "%s: %s cannot create a file in %s: %s", spec->path,
		    who, dir, line[0] != '\0' ? reason_of(line) : "failed");
		goto out;
	case PROBE_EXIT_OWNER:
		out->problem = RK_PUSH_CANNOT_OWN;
		r = rk_fail(err, RK_E_REMOTE, "%s: %s cannot give the new file its owner, group "
		    "and mode (%s:%s %s): %s", spec->path, who,
		    spec->owner != NULL ? spec->owner : "as now",
		    spec->group != NULL ? spec->group : "as now", mode,
		    line[0] != '\0' ? reason_of(line) : "failed");
		goto out;
	case PROBE_EXIT_REMOVE:
		out->problem = RK_PUSH_OTHER;
		r = rk_fail(err, RK_E_REMOTE, "%s: the probe file %s could not be removed: %s",
		    spec->path, tmp, line[0] != '\0' ? reason_of(line) : "failed");
		goto out;
	default:
		out->problem = RK_PUSH_OTHER;
		r = rk_fail(err, RK_E_REMOTE, "%s: %s", spec->path, line[0] != '\0' ? line :
		    "the check failed on the host");
		goto out;
	}
 out:
	rk_run_result_clear(&res);
	free(dir);
	free(tmp);
	return r;
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
