/*
 * A replace tried up to its rename, for `rekey rehearse`: one `sh -c` script through the
 * backend's own run operation (ssh exec channel or fork and exec, `sudo -n` in front when the
 * host says sudo), so a host answers exactly as it will when the replace runs for real. Both
 * backends use it as their probe_replace operation.
 */
#include "transport_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/fsutil.h"
#include "rekey/strutil.h"

/*
 * A replace up to its rename, without the content (filecmd.c's replace_script does the same
 * checks in the same words; both call the functions of target_checks.sh, put in front of
 * each). The probe file is named as the replace's temporary siblings
 * are, so one a killed rehearsal left is removed by the next replace of the file. Who creates
 * it is who the replace creates it as: the login, or root under sudo; a file that does not
 * exist yet gets the login's owner, as the replace gives it ($SUDO_USER under sudo).
 */
static const char probe_script[] =
    "LC_ALL=C; export LC_ALL\n"
    "path=$1 dir=$2 tmp=$3 mode=$4 owner=$5 group=$6 links=$7 asked=$5\n"
    "if [ ! -d \"$dir\" ]; then [ -e \"$dir\" ] && exit 13; exit 12; fi\n"
    "check_folders \"$dir\" || exit\n"
    "if old=$(stat -c '%h %f %U %G %s' -- \"$path\" 2>&1); then\n"
    "\tnlink=${old%% *} old=${old#* }\n"
    "\tset -f; set -- $old; set +f\n"
    "\tif [ -h \"$path\" ]; then\n"
    "\t\t[ \"$links\" = yes ] || exit 10\n"
    "\telif [ -f \"$path\" ]; then\n"
    "\t\tcheck_links \"$path\" \"$nlink\" || exit\n"
    "\t\t[ \"$owner\" != - ] || owner=$2\n"
    "\t\t[ \"$group\" != - ] || group=$3\n"
    "\telse\n"
    "\t\texit 11\n"
    "\tfi\n"
    "\t[ -z \"$sticky\" ] || check_owner \"$2\" \"${SUDO_USER:-$(id -un)}\" \"$asked\" || exit\n"
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

/* The reason a shell or coreutils gave, without the "sh: 1: cannot create X: " in front. */
static const char *
reason_of(const char *line)
{
	const char *colon = strrchr(line, ':');

	return colon != NULL && colon[1] == ' ' && colon[2] != '\0' ? colon + 2 : line;
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
tp_probe_replace(struct rk_push_probe *out, struct rk_transport *t,
    const struct rk_file_spec *spec, unsigned long long need, struct rk_err *err)
{
	char *dir = NULL, *tmp = NULL, mode[8], line[320], a[32], b[32];
	struct rk_file_stat kind = { .exists = true };
	struct rk_run_result res;
	struct rk_buf script = { 0 };
	const char *who;
	int r;

	memset(out, 0, sizeof(*out));
	rk_run_result_init(&res);
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(spec->mode & 07777));
	if ((r = tp_check_target_path(spec->path, err)) != 0) {
		out->problem = RK_PUSH_OTHER;
		rk_err_prefix(err, "%s", spec->path != NULL ? spec->path : "(no path)");
		goto out;
	}
	if ((r = rk_path_dirname(&dir, spec->path, err)) != 0 ||
	    (r = tp_temp_sibling(&tmp, spec->path, err)) != 0 ||
	    (r = tp_script_with_checks(&script, probe_script, err)) != 0)
		goto out;
	{
		const char *argv[] = { "sh", "-c", (const char *)script.ptr, "rekey-probe",
		    spec->path, dir, tmp, mode, spec->owner != NULL ? spec->owner : "-",
		    spec->group != NULL ? spec->group : "-", spec->allow_symlink ? "yes" : "no",
		    NULL };

		if ((r = t->ops->run(&res, t, argv, t->host->sudo, err)) != 0)
			goto out;
	}
	tp_first_line(line, sizeof(line), &res.err);
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
	case PROBE_EXIT_NOT_FILE:
		/* Refused on the host; said in the words the replace uses. */
		kind.is_symlink = res.exit_status == PROBE_EXIT_SYMLINK;
		out->problem = kind.is_symlink ? RK_PUSH_SYMLINK : RK_PUSH_NOT_FILE;
		if ((r = tp_check_target_kind(&kind, spec, err)) != 0)
			rk_err_prefix(err, "%s", spec->path);
		else
			r = rk_fail(err, RK_E_INTERNAL, "the probe refused a target it may replace");
		goto out;
	case TP_EXIT_HARD_LINKS:
	case TP_EXIT_OPEN_FOLDER:
	case TP_EXIT_FOREIGN_FILE:
		/* Refused on the host by target_checks.sh; the replace says the same. */
		out->problem = res.exit_status == TP_EXIT_HARD_LINKS ? RK_PUSH_HARD_LINKS :
		    res.exit_status == TP_EXIT_OPEN_FOLDER ? RK_PUSH_OPEN_FOLDER :
		    RK_PUSH_FOREIGN_FILE;
		if ((r = tp_fail_from_target_check(res.exit_status, line, dir, err)) != 0)
			rk_err_prefix(err, "%s", spec->path);
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
	rk_buf_clear(&script);
	free(dir);
	free(tmp);
	return r;
}
