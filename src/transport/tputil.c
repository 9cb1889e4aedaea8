#include "transport_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "rekey/log.h"
#include "rekey/strutil.h"

/* timeout(1)'s exit status when it stopped the command with TERM, and with KILL. */
#define TIMEOUT_EXIT_TERM	124
#define TIMEOUT_EXIT_KILL	(128 + 9)

const char *const tp_timeout_probe[] = { "sh", "-c", "id && exec timeout -k 1 5 true", NULL };

int
tp_random_hex(char *out, size_t n, struct rk_err *err)
{
	unsigned char raw[32];
	size_t got = 0;
	ssize_t k;

	if (n > sizeof(raw))
		return rk_fail(err, RK_E_INTERNAL, "tp_random_hex: %zu bytes asked", n);
	while (got < n) {
		if ((k = getrandom(raw + got, n - got, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return rk_fail_errno(err, "getrandom");
		}
		got += (size_t)k;
	}
	rk_hex_encode(out, raw, n);
	return 0;
}

int
tp_temp_sibling(char **out, const char *path, struct rk_err *err)
{
	char rnd[17];
	int r;

	*out = NULL;
	if ((r = tp_random_hex(rnd, 8, err)) != 0)
		return r;
	if (asprintf(out, "%s.rekey-tmp-%s", path, rnd) < 0) {
		*out = NULL;
		return rk_fail_nomem(err);
	}
	return 0;
}

int
tp_backup_sibling(char **out, const char *path, struct rk_err *err)
{
	char rnd[9], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int r;

	*out = NULL;
	if ((r = tp_random_hex(rnd, 4, err)) != 0)
		return r;
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return rk_fail(err, RK_E_INTERNAL, "cannot format the time");
	if (asprintf(out, "%s.rekey-bak-%s-%s", path, stamp, rnd) < 0) {
		*out = NULL;
		return rk_fail_nomem(err);
	}
	return 0;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
tp_base64_unpadded(char *out, size_t size, const unsigned char *data, size_t len)
{
	size_t o = 0;
	unsigned long v;

	for (size_t i = 0; i < len; i += 3) {
		size_t take = len - i < 3 ? len - i : 3;

		v = (unsigned long)data[i] << 16;
		if (take > 1)
			v |= (unsigned long)data[i + 1] << 8;
		if (take > 2)
			v |= data[i + 2];
		for (size_t k = 0; k < take + 1; k++) {
			if (o + 1 >= size)
				return -1;
			out[o++] = b64_alphabet[(v >> (18 - 6 * k)) & 0x3f];
		}
	}
	if (o >= size)
		return -1;
	out[o] = '\0';
	return 0;
}

long
tp_base64_decode(unsigned char *out, size_t size, const char *in, size_t len)
{
	unsigned long acc = 0;
	size_t o = 0;
	int bits = 0;
	const char *p;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '=' || in[i] == '\n' || in[i] == '\r' || in[i] == ' ' || in[i] == '\t')
			continue;
		if (in[i] == '\0' || (p = strchr(b64_alphabet, in[i])) == NULL)
			return -1;
		acc = (acc << 6) | (unsigned long)(p - b64_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return -1;
			out[o++] = (unsigned char)((acc >> bits) & 0xff);
		}
	}
	return (long)o;
}

void
tp_first_line(char *dst, size_t size, const struct rk_buf *b)
{
	size_t i = 0, o = 0;

	if (size == 0)
		return;
	dst[0] = '\0';
	if (b->ptr == NULL)
		return;
	while (i < b->len && (b->ptr[i] == '\n' || b->ptr[i] == '\r'))
		i++;
	for (; i < b->len && b->ptr[i] != '\n' && o + 1 < size; i++) {
		unsigned char c = b->ptr[i];

		dst[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	while (o > 0 && (dst[o - 1] == ' ' || dst[o - 1] == '?'))
		o--;			/* a trailing \r or blank */
	dst[o] = '\0';
}

void
tp_err_make_one_line(struct rk_err *err)
{
	if (err == NULL)
		return;
	for (char *p = err->msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

int
tp_backup_record(struct rk_backup *backup, const struct rk_file_stat *old, const char *target,
    const char *backup_path, struct rk_err *err)
{
	rk_backup_clear(backup);
	backup->existed = old->exists;
	if ((backup->target = strdup(target)) == NULL)
		return rk_fail_nomem(err);
	if (backup_path != NULL && (backup->path = strdup(backup_path)) == NULL) {
		rk_backup_clear(backup);
		return rk_fail_nomem(err);
	}
	if (!old->exists)
		return 0;
	backup->mode = old->mode;
	if (!rk_strlcpy(backup->owner, old->owner, sizeof(backup->owner)) ||
	    !rk_strlcpy(backup->group, old->group, sizeof(backup->group)) ||
	    !rk_strlcpy(backup->sha256, old->sha256, sizeof(backup->sha256))) {
		rk_backup_clear(backup);
		return rk_fail(err, RK_E_INTERNAL, "backup record does not fit");
	}
	return 0;
}

int
tp_check_result(const struct rk_file_stat *now, const char *path, mode_t mode,
    const char *owner, const char *group, const char *sha256, struct rk_err *err)
{
	if (!now->exists)
		return rk_fail(err, RK_E_REMOTE, "check %s: the file is not there", path);
	if (!now->is_regular)
		return rk_fail(err, RK_E_REMOTE, "check %s: not a regular file", path);
	if (now->mode != (mode & 07777))
		return rk_fail(err, RK_E_REMOTE, "check %s: mode is %04o, not %04o", path,
		    (unsigned)now->mode, (unsigned)(mode & 07777));
	if (owner != NULL && strcmp(now->owner, owner) != 0)
		return rk_fail(err, RK_E_REMOTE, "check %s: owner is %s, not %s", path,
		    now->owner, owner);
	if (group != NULL && strcmp(now->group, group) != 0)
		return rk_fail(err, RK_E_REMOTE, "check %s: group is %s, not %s", path,
		    now->group, group);
	if (sha256 != NULL && strcmp(now->sha256, sha256) != 0)
		return rk_fail(err, RK_E_REMOTE, "check %s: content differs (SHA-256 %s, not %s)",
		    path, now->sha256, sha256);
	return 0;
}

int
tp_check_target_kind(const struct rk_file_stat *st, const struct rk_file_spec *spec,
    struct rk_err *err)
{
	if (!st->exists || st->is_regular)
		return 0;
	if (st->is_symlink && !spec->allow_symlink)
		return rk_fail(err, RK_E_USAGE,
		    "is a symbolic link (refused unless allow_symlink)");
	if (!st->is_symlink)
		return rk_fail(err, RK_E_USAGE, "is not a regular file");
	return 0;
}

int
tp_check_target_path(const char *path, struct rk_err *err)
{
	const char *part = NULL;
	size_t len;

	if (path == NULL || path[0] != '/')
		return rk_fail(err, RK_E_USAGE, "the path must be absolute");
	if (strcmp(path, "/") == 0 ||
	    ((part = rk_path_odd_component(path, strlen(path), &len)) != NULL && len == 0))
		return rk_fail(err, RK_E_USAGE, "the path has an empty component ('//' or a "
		    "final '/'): name the file itself");
	if (part != NULL)
		return rk_fail(err, RK_E_USAGE, "the path has a '%.*s' component: name the "
		    "file itself, as the plan shows it", (int)len, part);
	return 0;
}

int
tp_fail_hard_links(unsigned long long others, struct rk_err *err)
{
	return rk_fail(err, RK_E_USAGE, "has %llu other hard link%s: the rename would leave %s "
	    "holding the old bytes (refused; make it a file of its own, or the others symbolic "
	    "links to it)", others, others == 1 ? "" : "s", others == 1 ? "it" : "them");
}

int
tp_fail_open_folder(const char *folder, unsigned mode, struct rk_err *err)
{
	return rk_fail(err, RK_E_USAGE, "the folder %s is writable by %s (mode %04o) without the "
	    "sticky bit: anyone there could swap the file (refused; chmod go-w %s)", folder,
	    (mode & 002) != 0 ? "others" : "its group", mode & 07777, folder);
}

int
tp_fail_foreign_file(const char *owner, const char *folder, unsigned mode, struct rk_err *err)
{
	return rk_fail(err, RK_E_USAGE, "is %s's, in %s, which others may write (mode %04o): "
	    "anyone could have put it there (refused; give it to root or the login, or use a "
	    "folder of its own)", owner, folder, mode & 07777);
}

int
tp_fail_from_target_check(int status, const char *line, const char *dir, struct rk_err *err)
{
	unsigned long long n;
	unsigned mode;
	char *end;

	switch (status) {
	case TP_EXIT_HARD_LINKS:
		n = strtoull(line, &end, 10);
		return tp_fail_hard_links(end != line ? n : 1, err);
	case TP_EXIT_OPEN_FOLDER:
	case TP_EXIT_FOREIGN_FILE:
		/* "MODE REST": the mode in octal, then the folder or the owner. */
		mode = (unsigned)strtoul(line, &end, 8);
		if (end == line || *end != ' ')
			return rk_fail(err, RK_E_REMOTE, "unexpected answer from the host's checks");
		if (status == TP_EXIT_OPEN_FOLDER)
			return tp_fail_open_folder(end + 1, mode, err);
		return tp_fail_foreign_file(end + 1, dir, mode, err);
	default:
		return 0;
	}
}

#include "target_checks_script.h"

int
tp_script_with_checks(struct rk_buf *out, const char *script, struct rk_err *err)
{
	int r;

	rk_buf_init(out, sizeof(target_checks_script) + strlen(script) + 1);
	if ((r = rk_buf_append(out, target_checks_script, sizeof(target_checks_script) - 1,
	    err)) != 0 || (r = rk_buf_append_str(out, script, err)) != 0)
		rk_buf_clear(out);
	return r;
}

int
tp_fault_point(const struct rk_transport *t, const char *op, struct rk_err *err)
{
	(void)t;
	(void)op;
	(void)err;
	return 0;
}

int
tp_finish(int r, const struct rk_transport *t, const char *verb, const char *path,
    struct rk_err *err)
{
	if (r != 0) {
		if (path != NULL)
			rk_err_prefix(err, "%s: %s %s", t->host->name, verb, path);
		else
			rk_err_prefix(err, "%s: %s", t->host->name, verb);
		tp_err_make_one_line(err);
	}
	return r;
}

int
tp_fail_over_cap(unsigned long long size, size_t cap, struct rk_err *err)
{
	return rk_fail(err, RK_E_LIMIT, "file is %llu bytes, over the limit of %zu", size, cap);
}

int
tp_command_build(struct tp_command *c, const char *const *argv, bool sudo, enum tp_bound bound,
    int timeout, struct rk_err *err)
{
	size_t n = 0, i;

	memset(c, 0, sizeof(*c));
	c->timeout = timeout;
	c->bounded = bound == TP_BOUND_BY_TIMEOUT;
	if (argv == NULL || argv[0] == NULL)
		return rk_fail(err, RK_E_INTERNAL, "empty command");
	if (sudo) {
		c->words[n++] = "sudo";
		c->words[n++] = "-n";
		c->words[n++] = "--";
	}
	if (c->bounded) {
		/* Inside sudo: as root, timeout(1) may signal the root processes it started. */
		(void)snprintf(c->kill_after, sizeof(c->kill_after), "%d", TP_KILL_AFTER);
		(void)snprintf(c->seconds, sizeof(c->seconds), "%d", timeout);
		c->words[n++] = "timeout";
		c->words[n++] = "-k";
		c->words[n++] = c->kill_after;
		c->words[n++] = c->seconds;
	}
	for (i = 0; argv[i] != NULL; i++) {
		if (n + 1 >= TP_ARGV_MAX)
			return rk_fail(err, RK_E_INTERNAL, "command has too many words");
		c->words[n++] = argv[i];
	}
	c->words[n] = NULL;
	return 0;
}

long long
tp_command_wait_ms(const struct tp_command *c)
{
	return ((long long)c->timeout + (c->bounded ? TP_KILL_AFTER + 1 : 0)) * 1000;
}

int
tp_command_check_stopped(const struct tp_command *c, int exit_status, long long elapsed_ms,
    struct rk_err *err)
{
	if (!c->bounded || elapsed_ms < (long long)c->timeout * 1000 ||
	    (exit_status != TIMEOUT_EXIT_TERM && exit_status != TIMEOUT_EXIT_KILL))
		return 0;
	return rk_fail(err, RK_E_REMOTE, "timed out after %d s; timeout(1) stopped it on the host",
	    c->timeout);
}

enum tp_bound
tp_bound_learned(int probe_exit_status, const struct rk_host *host, int timeout)
{
	if (probe_exit_status == 0)
		return TP_BOUND_BY_TIMEOUT;
	/* A decision, not a silent fallback: it goes to the log. */
	rk_log_warn("%s: no timeout(1) on the host: a command that runs over %d s is abandoned "
	    "by rekey, and may run on there", host->name, timeout);
	return TP_BOUND_NONE;
}

void
tp_identity_learned(struct tp_cmd_host *h, const struct rk_buf *probe_out)
{
	const char *text = (const char *)probe_out->ptr, *u, *g, *ue, *ge;

	/* "uid=1001(rkuser) gid=1001(rkuser) groups=...": the names in parentheses. */
	if (h == NULL || h->login_user[0] != '\0' || text == NULL ||
	    (u = strstr(text, "uid=")) == NULL || (u = strchr(u, '(')) == NULL ||
	    (ue = strchr(u, ')')) == NULL || (g = strstr(ue, " gid=")) == NULL ||
	    (g = strchr(g, '(')) == NULL || (ge = strchr(g, ')')) == NULL ||
	    (size_t)(ue - u - 1) >= sizeof(h->login_user) ||
	    (size_t)(ge - g - 1) >= sizeof(h->login_group) || ue - u < 2 || ge - g < 2)
		return;		/* the command engine asks `id` itself */
	memcpy(h->login_user, u + 1, (size_t)(ue - u - 1));
	h->login_user[ue - u - 1] = '\0';
	memcpy(h->login_group, g + 1, (size_t)(ge - g - 1));
	h->login_group[ge - g - 1] = '\0';
}

int
tp_replace_each(struct rk_transport *t, struct rk_file_change *changes, size_t n,
    struct rk_err *err)
{
	size_t i;
	int r;

	rk_file_changes_clear(changes, n);
	for (i = 0; i < n; i++) {
		if ((r = t->ops->replace_file(&changes[i].backup, t, &changes[i].spec,
		    changes[i].content, &changes[i].err)) != 0) {
			changes[i].state = RK_CHANGE_FAILED;
			*err = changes[i].err;
			return r;
		}
		changes[i].state = RK_CHANGE_DONE;
	}
	return 0;
}
