/*
 * The playbook validator: walks the YAML tree once, fills an rk_model, and reports every
 * problem it meets as a diag instead of stopping at the first, so a responder fixes the
 * whole playbook in one pass. Nothing after this file looks at YAML.
 */
#include "rekey/playbook.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rekey/fsutil.h"
#include "rekey/names.h"
#include "rekey/secret.h"
#include "rekey/secretname.h"
#include "rekey/strutil.h"
#include "rekey/yamltree.h"

struct pb {
	struct rk_diags		*d;
	struct rk_model		*m;
	const char		*base_dir;
	bool			 oom;
};

typedef const struct rk_ynode ynode;

/* Keys each mapping accepts. The README's playbook reference lists the same keys. */
static const char *const top_keys[] = {
	"version", "incident", "ca", "revoke", "certificates", "hosts", "services", "clients",
	"policy", "record", "sweep", NULL,
};
static const char *const sweep_keys[] = {
	"paths", "max_depth", "max_files", "max_file_size", "one_file_system",
	"passphrase_env", "passphrase_file", NULL,
};
static const char *const record_keys[] = {
	"signing_key", "signing_key_passphrase_env", "signing_key_passphrase_file", NULL,
};
static const char *const incident_keys[] = { "id", "reason", "summary", "records", NULL };
static const char *const ca_keys[] = {
	"cert", "key", "key_passphrase_env", "key_passphrase_file", "crl", "crl_days", "chain",
	"trust", "rotate", "new", "parent", NULL,
};
static const char *const ca_parent_keys[] = {
	"cert", "key", "key_passphrase_env", "key_passphrase_file", "crl", NULL,
};
static const char *const new_ca_keys[] = { "subject", "key", "days", NULL };
static const char *const revoke_keys[] = { "cert", "serial", "folder", "cn", "reason", NULL };
static const char *const certificate_keys[] = {
	"profile", "subject", "san", "key", "days", "key_passphrase_env", "key_passphrase_file",
	NULL,
};
static const char *const host_keys[] = {
	"transport", "address", "port", "user", "identity", "identity_passphrase_env",
	"identity_passphrase_file", "known_hosts", "sudo", "jump", "timeout", "sweep_paths",
	NULL,
};
static const char *const local_host_keys[] = {
	"transport", "sudo", "timeout", "sweep_paths", NULL,
};
static const char *const service_keys[] = {
	"name", "host", "kind", "certificate", "files", "reload", "connect", "verify", "log",
	NULL,
};
static const char *const service_files_keys[] = { "cert", "key", "ca", "crl", NULL };
static const char *const file_keys[] = {
	"path", "owner", "group", "mode", "allow_symlink", NULL,
};
static const char *const client_file_keys[] = {
	"path", "owner", "group", "mode", "allow_symlink", "certificate", NULL,
};
static const char *const reload_keys[] = { "command", NULL };
static const char *const connect_keys[] = {
	"address", "port", "dbname", "user", "password_env", "password_file", "certificate",
	"sslcert", "sslkey", NULL,
};
static const char *const verify_keys[] = { "sslmode", "min_tls", "require_tls", NULL };
static const char *const client_keys[] = {
	"name", "host", "file", "set", "files", "reload", "verify", NULL,
};
static const char *const client_config_keys[] = {
	"path", "format", "section", "variable", NULL,
};
static const char *const command_keys[] = { "command", NULL };
static const char *const client_verify_keys[] = { "command", "safe_in_rehearsal", NULL };
static const char *const policy_keys[] = {
	"max_parallel", "canary", "on_failure", "trust_overlap", NULL,
};


/* ---- small helpers ---------------------------------------------------------------- */

static char *
pb_strdup(struct pb *pb, const char *s)
{
	char *copy = strdup(s);

	if (copy == NULL)
		pb->oom = true;
	return copy;
}

static void *
pb_calloc(struct pb *pb, size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size);

	if (p == NULL)
		pb->oom = true;
	return p;
}

static bool
in_list(const char *word, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(word, *list) == 0)
			return true;
	return false;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/*
 * A key that names a secret but is not one of the *_env / *_file indirections: the one list
 * the masks use too (secretname.h).
 */
static bool
looks_like_inline_secret(const char *key)
{
	return rk_secretname_is_secret(key);
}

static void
list_words(char *buf, size_t size, const char *const *words)
{
	size_t used = 0;
	int n;

	buf[0] = '\0';
	for (; *words != NULL && used < size; words++) {
		n = snprintf(buf + used, size - used, "%s%s", used == 0 ? "" : ", ", *words);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Reports unknown keys with a suggestion, and secrets written inline. */
static void
check_keys(struct pb *pb, ynode *map, const char *what, const char *const *allowed)
{
	const char *key, *near;
	char expected[512];
	size_t i;

	for (i = 0; i + 1 < map->n; i += 2) {
		key = map->items[i]->value;
		if (in_list(key, allowed))
			continue;
		if (looks_like_inline_secret(key)) {
			char base[64];

			snprintf(base, sizeof(base), "%s", key);
			rk_diags_error(pb->d, map->items[i]->pos,
			    "%s: '%s' is a secret written inline; secrets come only from "
			    "%s_env or %s_file", what, key, base, base);
			continue;
		}
		if ((near = rk_closest_word(key, allowed)) != NULL) {
			rk_diags_error(pb->d, map->items[i]->pos,
			    "unknown key '%s' in %s (did you mean '%s'?)", key, what, near);
		} else {
			list_words(expected, sizeof(expected), allowed);
			rk_diags_error(pb->d, map->items[i]->pos,
			    "unknown key '%s' in %s (expected one of: %s)", key, what, expected);
		}
	}
}

static bool
expect_kind(struct pb *pb, ynode *node, enum rk_ynode_kind kind, const char *what)
{
	static const char *const want[] = { "a single value", "a list", "a mapping (key: value)" };

	if (node->kind == kind && !(kind == RK_YNODE_SCALAR && rk_ynode_is_null(node)))
		return true;
	if (kind == RK_YNODE_SCALAR && rk_ynode_is_null(node))
		rk_diags_error(pb->d, node->pos, "%s has no value", what);
	else
		rk_diags_error(pb->d, node->pos, "%s must be %s, not a %s", what, want[kind],
		    rk_ynode_kind_name(node));
	return false;
}

/* A mapping section, or NULL (reported) when it is something else. */
static ynode *
expect_map(struct pb *pb, ynode *node, const char *what, const char *const *allowed)
{
	if (node == NULL || !expect_kind(pb, node, RK_YNODE_MAP, what))
		return NULL;
	if (allowed != NULL)
		check_keys(pb, node, what, allowed);
	return node;
}

static ynode *
require(struct pb *pb, ynode *map, const char *key, const char *what)
{
	const char *only[] = { key, NULL };
	ynode *v = rk_ynode_get(map, key);
	size_t i;

	if (v != NULL)
		return v;
	/* A misspelt key ("versoin") was reported with its suggestion already: once is enough. */
	for (i = 0; i + 1 < map->n; i += 2)
		if (rk_closest_word(map->items[i]->value, only) != NULL)
			return NULL;
	rk_diags_error(pb->d, map->pos, "%s: missing required key '%s'", what, key);
	return NULL;
}

/*
 * A C0 or C1 control, DEL, or U+2028/U+2029 (the line and paragraph separators): what some
 * reader would take for a line break or an escape. The text is valid UTF-8 by now.
 */
static bool
has_control_char(const char *s)
{
	const unsigned char *c;

	for (c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c < 0x20 || *c == 0x7f)
			return true;
		if (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f)
			return true;
		if (c[0] == 0xe2 && c[1] == 0x80 && (c[2] == 0xa8 || c[2] == 0xa9))
			return true;
	}
	return false;
}

static bool
get_string(struct pb *pb, ynode *node, const char *what, char **out)
{
	if (!expect_kind(pb, node, RK_YNODE_SCALAR, what))
		return false;
	if (strlen(node->value) != node->len) {
		rk_diags_error(pb->d, node->pos, "%s holds a NUL byte", what);
		return false;
	}
	/* A line break or escape in a path, name or command is a paste accident, and would
	 * reach logs and remote commands: refuse it. */
	if (has_control_char(node->value)) {
		rk_diags_error(pb->d, node->pos, "%s holds a control character (a line break, "
		    "tab or escape): write it on one line", what);
		return false;
	}
	free(*out);
	*out = pb_strdup(pb, node->value);
	return *out != NULL;
}

static bool
get_int(struct pb *pb, ynode *node, const char *what, long long min, long long max, int *out)
{
	char *end;
	long long v;

	if (!expect_kind(pb, node, RK_YNODE_SCALAR, what))
		return false;
	errno = 0;
	v = strtoll(node->value, &end, 10);
	if (node->len == 0 || *end != '\0' || isspace((unsigned char)node->value[0]) ||
	    (errno != 0 && errno != ERANGE)) {
		rk_diags_error(pb->d, node->pos, "%s must be a whole number, not '%s'", what,
		    node->value);
		return false;
	}
	/* "1" in quotes is a string in YAML; saying "not '1'" alone would puzzle the reader. */
	if (!node->plain) {
		rk_diags_error(pb->d, node->pos,
		    "%s must be a whole number, not the quoted string \"%s\" (drop the quotes)",
		    what, node->value);
		return false;
	}
	if (errno == ERANGE) {
		rk_diags_error(pb->d, node->pos, "%s must be between %lld and %lld, not %s", what,
		    min, max, node->value);
		return false;
	}
	if (v < min || v > max) {
		rk_diags_error(pb->d, node->pos, "%s must be between %lld and %lld, not %lld", what,
		    min, max, v);
		return false;
	}
	*out = (int)v;
	return true;
}

static bool
get_bool(struct pb *pb, ynode *node, const char *what, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", NULL };
	static const char *const no[] = { "false", "False", "FALSE", NULL };

	if (!expect_kind(pb, node, RK_YNODE_SCALAR, what))
		return false;
	if (node->plain && in_list(node->value, yes)) {
		*out = true;
		return true;
	}
	if (node->plain && in_list(node->value, no)) {
		*out = false;
		return true;
	}
	if (!node->plain && (in_list(node->value, yes) || in_list(node->value, no))) {
		rk_diags_error(pb->d, node->pos,
		    "%s must be true or false, not the quoted string \"%s\" (drop the quotes)",
		    what, node->value);
		return false;
	}
	rk_diags_error(pb->d, node->pos, "%s must be true or false, not '%s'", what, node->value);
	return false;
}

static bool
get_enum(struct pb *pb, ynode *node, const char *what, const struct rk_enum_name *table,
    int *out)
{
	const char *words[16], *near = NULL;
	char expected[256];
	size_t n = 0;

	if (!expect_kind(pb, node, RK_YNODE_SCALAR, what))
		return false;
	if (rk_enum_lookup(table, node->value, out))
		return true;
	for (; table[n].name != NULL && n + 1 < sizeof(words) / sizeof(words[0]); n++) {
		words[n] = table[n].name;
		if (strcasecmp(node->value, words[n]) == 0)
			near = words[n];	/* "RSA-3072": case counts as edits, so look first */
	}
	words[n] = NULL;
	list_words(expected, sizeof(expected), words);
	if (near == NULL && table == rk_reason_names)
		near = rk_reason_suggest(node->value);	/* "compromised": keyCompromise */
	if (near != NULL || (near = rk_closest_word(node->value, words)) != NULL)
		rk_diags_error(pb->d, node->pos, "%s: unsupported value '%s' (did you mean '%s'?)",
		    what, node->value, near);
	else
		rk_diags_error(pb->d, node->pos, "%s: unsupported value '%s' (one of: %s)", what,
		    node->value, expected);
	return false;
}

/* A name used as a reference and in file names: letters, digits, '.', '_', '-'. */
static bool
is_valid_name(const char *s)
{
	size_t n = 0;

	if (!isalnum((unsigned char)s[0]))
		return false;
	for (; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && strchr("._-", s[n]) == NULL)
			return false;
	return n <= 64;
}

static bool
get_name(struct pb *pb, ynode *node, const char *what, char **out)
{
	if (!get_string(pb, node, what, out))
		return false;
	if (!is_valid_name(*out)) {
		rk_diags_error(pb->d, node->pos, "%s '%s': a name is 1 to 64 letters, digits, "
		    "'.', '_' or '-', starting with a letter or digit", what, node->value);
		return false;
	}
	return true;
}

static bool
is_valid_env_name(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s != '\0'; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

static bool
get_local_path(struct pb *pb, ynode *node, const char *what, char **out)
{
	char *raw = NULL;
	struct rk_err err = { 0 };

	if (!get_string(pb, node, what, &raw))
		return false;
	free(*out);
	*out = NULL;
	if (rk_path_resolve(out, pb->base_dir, raw, &err) != 0) {
		if (err.code == RK_E_NOMEM)
			pb->oom = true;
		else
			rk_diags_error(pb->d, node->pos, "%s: %s", what, err.msg);
		free(raw);
		return false;
	}
	free(raw);
	return true;
}

/*
 * A path is acted on as written, on the host: a '..' (or '.', or '//') would make the file
 * the plan shows and the file replaced two names for one, or not one file at all through a
 * symbolic link, and defeats the check that two entries write one path. Takes an absolute
 * path without a trailing '/' ("/" itself is fine).
 */
static bool
has_dot_component(struct pb *pb, ynode *node, const char *what, const char *path)
{
	size_t len;

	if (rk_path_odd_component(path, strlen(path), &len) == NULL)
		return false;
	rk_diags_error(pb->d, node->pos, "%s '%s' has a '%s' component: write the path "
	    "without '.', '..' or '//'", what, path, len == 0 ? "//" : len == 1 ? "." : "..");
	return true;
}

static bool
get_remote_path(struct pb *pb, ynode *node, const char *what, char **out)
{
	if (!get_string(pb, node, what, out))
		return false;
	if ((*out)[0] != '/') {
		rk_diags_error(pb->d, node->pos, "%s '%s' must be an absolute path on the host",
		    what, *out);
		return false;
	}
	if (ends_with(*out, "/")) {
		rk_diags_error(pb->d, node->pos, "%s '%s' names a folder, not a file", what, *out);
		return false;
	}
	return !has_dot_component(pb, node, what, *out);
}

enum local_file_check {
	LOCAL_FILE_PEM = 1 << 0,	/* a certificate, key or CRL: capped at 1 MB */
	LOCAL_FILE_PRIVATE = 1 << 1,	/* refused when group or others can read it */
	LOCAL_FILE_MAY_BE_MISSING = 1 << 2,	/* created by rekey: no warning when absent */
	LOCAL_FILE_SECRET = 1 << 3,	/* a passphrase or password: capped at RK_SECRET_MAX */
};

/*
 * Checks a local file the playbook names, without reading it. A missing file is a warning,
 * not an error: `plan` must work before the files exist, and preflight refuses the run.
 */
static void
check_local_file(struct pb *pb, ynode *node, const char *path, const char *what, int checks)
{
	struct rk_err err = { 0 };
	struct stat st;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT && (checks & LOCAL_FILE_MAY_BE_MISSING))
			return;
		rk_diags_warn(pb->d, node->pos, "%s %s: %s (preflight will fail)", what, path,
		    strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		rk_diags_error(pb->d, node->pos, "%s %s is not a regular file", what, path);
		return;
	}
	if ((checks & LOCAL_FILE_PEM) && st.st_size > RK_PEM_FILE_MAX)
		rk_diags_error(pb->d, node->pos,
		    "%s %s is %lld bytes, over the %d-byte limit for a certificate or key", what,
		    path, (long long)st.st_size, RK_PEM_FILE_MAX);
	if ((checks & LOCAL_FILE_SECRET) && st.st_size > RK_SECRET_MAX)
		rk_diags_error(pb->d, node->pos, "%s %s is %lld bytes, over the %d-byte limit for "
		    "a secret", what, path, (long long)st.st_size, RK_SECRET_MAX);
	/* The check pki and every secret reader make on the opened file (fsutil.h). */
	if ((checks & LOCAL_FILE_PRIVATE) && rk_file_check_private(&st, path, &err) != 0)
		rk_diags_error(pb->d, node->pos, "%s %s", what, err.msg);
}

static bool
get_mode(struct pb *pb, ynode *node, const char *what, mode_t *out)
{
	const char *s;
	size_t n;
	unsigned long v;

	if (!expect_kind(pb, node, RK_YNODE_SCALAR, what))
		return false;
	s = node->value;
	n = strlen(s);
	/* Up to five digits, so "04755" gets the setuid message rather than "not a mode". */
	v = n >= 3 && n <= 5 && strspn(s, "01234567") == n ? strtoul(s, NULL, 8) : ULONG_MAX;
	if (v > 07777) {
		rk_diags_error(pb->d, node->pos,
		    "%s '%s' is not a file mode: write it in octal, as \"0600\" or \"0644\"",
		    what, s);
		return false;
	}
	if (v > 0777) {
		rk_diags_error(pb->d, node->pos, "%s '%s' is not a file mode rekey writes: "
		    "setuid, setgid and sticky bits are refused", what, s);
		return false;
	}
	*out = (mode_t)v;
	return true;
}

static bool
is_valid_account(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 32 && s[0] != '-' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/*
 * A host name (letters, digits, '-', '_' and '.', starting with a letter or digit) or an IP
 * address: what ssh, libpq and Connector/C resolve, and nothing an option parser or a
 * known_hosts line would read otherwise.
 */
static bool
is_valid_address(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	size_t n = strlen(s);

	if (strchr(s, ':') != NULL)
		return inet_pton(AF_INET6, s, buf) == 1;
	return n > 0 && n <= 253 && isalnum((unsigned char)s[0]) &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void
get_address(struct pb *pb, ynode *node, const char *what, char **out)
{
	if (get_string(pb, node, what, out) && !is_valid_address(*out))
		rk_diags_error(pb->d, node->pos, "%s '%s' is not a host name or an IP address",
		    what, *out);
}

/*
 * A secret's variable as the run will find it: warnings, not errors, since plan may run
 * where the secrets are not. The value is never shown.
 */
static void
warn_env_secret(struct pb *pb, ynode *node, const char *label, const char *name)
{
	const char *v = getenv(name);

	if (v == NULL)
		rk_diags_warn(pb->d, node->pos, "%s: environment variable %s is not set", label,
		    name);
	else if (v[0] == '\0')
		rk_diags_warn(pb->d, node->pos, "%s: environment variable %s is set but empty",
		    label, name);
	else if (strlen(v) > RK_SECRET_MAX)
		rk_diags_warn(pb->d, node->pos, "%s: environment variable %s holds %zu bytes, "
		    "over the %d-byte limit for a secret (the run refuses it)", label, name,
		    strlen(v), RK_SECRET_MAX);
}

/* Reads NAME_env / NAME_file; both at once is a mistake, since which one wins is a guess. */
static void
get_secret_ref(struct pb *pb, ynode *map, const char *name, const char *what,
    struct rk_secret_ref *out)
{
	char k_env[64], k_file[64], label[160];
	ynode *env, *file;

	snprintf(k_env, sizeof(k_env), "%s_env", name);
	snprintf(k_file, sizeof(k_file), "%s_file", name);
	env = rk_ynode_get(map, k_env);
	file = rk_ynode_get(map, k_file);
	if (env != NULL && file != NULL) {
		rk_diags_error(pb->d, file->pos, "%s: set %s or %s, not both", what, k_env, k_file);
		return;
	}
	if (env != NULL) {
		snprintf(label, sizeof(label), "%s %s", what, k_env);
		/* The value is not echoed: a secret pasted here by mistake must not reach a log. */
		if (get_string(pb, env, label, &out->env) && !is_valid_env_name(out->env))
			rk_diags_error(pb->d, env->pos, "%s is not an environment variable name "
			    "(letters, digits and '_'; the value is not shown)", label);
		else if (out->env != NULL)
			warn_env_secret(pb, env, label, out->env);
	}
	if (file != NULL) {
		snprintf(label, sizeof(label), "%s %s", what, k_file);
		if (get_local_path(pb, file, label, &out->file))
			check_local_file(pb, file, out->file, label,
			    LOCAL_FILE_PRIVATE | LOCAL_FILE_SECRET);
	}
}

static struct rk_pos
pos_of(ynode *node)
{
	return node->pos;
}

/* ---- distinguished names and SANs ---------------------------------------------- */

/* Parses a subject with names.c, its reason becoming a diag at node. */
static bool
parse_dn(struct pb *pb, ynode *node, const char *what, const char *s, struct rk_dn *out)
{
	char why[512];
	int r = rk_dn_parse(out, s, why, sizeof(why));

	if (r == RK_E_NOMEM)
		pb->oom = true;
	else if (r != 0)
		rk_diags_error(pb->d, node->pos, "%s: %s", what, why);
	return r == 0;
}

/* Parses a SAN entry with names.c; "dns:x" becomes "DNS:x". *out is malloc'ed. */
static bool
parse_san(struct pb *pb, ynode *node, const char *s, char **out)
{
	char why[512];
	int r = rk_san_parse(out, s, why, sizeof(why));

	if (r == RK_E_NOMEM)
		pb->oom = true;
	else if (r != 0)
		rk_diags_error(pb->d, node->pos, "%s", why);
	return r == 0;
}

/* Whether a client connecting to address with verify-full would accept cert's names. */
static bool
certificate_names_match(const struct rk_certificate *cert, const char *address)
{
	unsigned char want[16], have[16];
	int family = AF_UNSPEC;
	size_t i, alen;
	const char *cn;

	if (inet_pton(AF_INET, address, want) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, address, want) == 1)
		family = AF_INET6;
	alen = family == AF_INET ? 4 : 16;
	for (i = 0; i < cert->nsan; i++) {
		const char *san = cert->san[i];

		if (family != AF_UNSPEC && strncmp(san, "IP:", 3) == 0) {
			if (inet_pton(family, san + 3, have) == 1 && memcmp(want, have, alen) == 0)
				return true;
		} else if (family == AF_UNSPEC && strncmp(san, "DNS:", 4) == 0) {
			const char *name = san + 4, *dot;

			if (strcasecmp(name, address) == 0)
				return true;
			if (name[0] == '*' && (dot = strchr(address, '.')) != NULL &&
			    strcasecmp(name + 1, dot) == 0)
				return true;
		}
	}
	/* Clients fall back to the CN only when the certificate has no SAN at all. */
	if (cert->nsan == 0 && (cn = rk_dn_get(&cert->dn, "CN")) != NULL)
		return strcasecmp(cn, address) == 0;
	return false;
}

/* ---- key types ------------------------------------------------------------------ */

static bool
get_key_type(struct pb *pb, ynode *node, const char *what, enum rk_key_type *out)
{
	int v, bits;
	char tail;

	if (!expect_kind(pb, node, RK_YNODE_SCALAR, what))
		return false;
	if (sscanf(node->value, "rsa-%d%c", &bits, &tail) == 1 && bits > 0 && bits < 2048) {
		rk_diags_error(pb->d, node->pos,
		    "%s: RSA keys under 2048 bits are refused (%s); use rsa-3072 or ec-p256", what,
		    node->value);
		return false;
	}
	if (!get_enum(pb, node, what, rk_key_type_names, &v))
		return false;
	*out = (enum rk_key_type)v;
	return true;
}

/* ---- sections ------------------------------------------------------------------- */

static void
parse_incident(struct pb *pb, ynode *root)
{
	struct rk_incident *inc = &pb->m->incident;
	ynode *map = rk_ynode_get(root, "incident"), *v;
	int reason;

	inc->reason = RK_REASON_UNSPECIFIED;
	if (map != NULL && (map = expect_map(pb, map, "incident", incident_keys)) != NULL) {
		if ((v = rk_ynode_get(map, "id")) != NULL && get_string(pb, v, "incident id",
		    &inc->id) && !is_valid_name(inc->id)) {
			rk_diags_error(pb->d, v->pos, "incident id '%s': use 1 to 64 letters, digits, "
			    "'.', '_' or '-', starting with a letter or digit (it names the "
			    "incident's files)", inc->id);
		}
		if ((v = rk_ynode_get(map, "reason")) != NULL &&
		    get_enum(pb, v, "incident reason", rk_reason_names, &reason)) {
			inc->reason = (enum rk_reason)reason;
			inc->reason_given = true;
		}
		if ((v = rk_ynode_get(map, "summary")) != NULL)
			(void)get_string(pb, v, "incident summary", &inc->summary);
		if ((v = rk_ynode_get(map, "records")) != NULL)
			(void)get_local_path(pb, v, "incident records", &inc->records);
	}
	if (inc->id == NULL) {
		char id[32];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(id, sizeof(id), "INC-%Y%m%d-%H%M%SZ", &tm);
		inc->id = pb_strdup(pb, id);
		inc->id_generated = true;
	}
	if (inc->records == NULL) {
		struct rk_err err = { 0 };

		if (rk_path_resolve(&inc->records, pb->base_dir, "incidents", &err) != 0)
			pb->oom = true;
	}
}

static void
parse_new_ca(struct pb *pb, ynode *map, struct rk_ca *ca)
{
	struct rk_new_ca *n = &ca->new_ca;
	ynode *v;

	n->key = RK_KEY_EC_P384;
	n->days = 3650;
	n->pos = pos_of(map);
	if ((map = expect_map(pb, map, "ca new", new_ca_keys)) == NULL)
		return;
	ca->has_new = true;
	if ((v = require(pb, map, "subject", "ca new")) != NULL &&
	    get_string(pb, v, "ca new subject", &n->subject))
		(void)parse_dn(pb, v, "ca new subject", n->subject, &n->dn);
	if ((v = rk_ynode_get(map, "key")) != NULL)
		(void)get_key_type(pb, v, "ca new key", &n->key);
	if ((v = rk_ynode_get(map, "days")) != NULL)
		(void)get_int(pb, v, "ca new days", 1, RK_DAYS_MAX_CA, &n->days);
}

/* ca.rotate: true or false as before intermediates, or the word for what is replaced. */
static void
get_rotation(struct pb *pb, ynode *v, enum rk_ca_rotation *out)
{
	static const char *const words[] = { "root", "intermediate", "true", "false", NULL };
	const char *near;
	bool yes;
	int word;

	if (!expect_kind(pb, v, RK_YNODE_SCALAR, "ca rotate"))
		return;
	if (strcasecmp(v->value, "true") == 0 || strcasecmp(v->value, "false") == 0) {
		if (get_bool(pb, v, "ca rotate", &yes))
			*out = yes ? RK_ROTATE_ROOT : RK_ROTATE_NONE;
		return;
	}
	if (rk_enum_lookup(rk_ca_rotation_names, v->value, &word)) {
		*out = (enum rk_ca_rotation)word;
		return;
	}
	if ((near = rk_closest_word(v->value, words)) != NULL)
		rk_diags_error(pb->d, v->pos, "ca rotate: unsupported value '%s' (did you mean "
		    "'%s'?)", v->value, near);
	else
		rk_diags_error(pb->d, v->pos, "ca rotate: unsupported value '%s' (one of: root, "
		    "intermediate, true (root), false)", v->value);
}

static void
parse_ca_parent(struct pb *pb, ynode *map, struct rk_ca_parent *parent)
{
	ynode *v;

	parent->pos = pos_of(map);
	if ((map = expect_map(pb, map, "ca parent", ca_parent_keys)) == NULL)
		return;
	parent->present = true;
	if ((v = require(pb, map, "cert", "ca parent")) != NULL &&
	    get_local_path(pb, v, "ca parent cert", &parent->cert)) {
		parent->cert_pos = pos_of(v);
		check_local_file(pb, v, parent->cert, "parent CA certificate", LOCAL_FILE_PEM);
	}
	if ((v = rk_ynode_get(map, "key")) != NULL &&
	    get_local_path(pb, v, "ca parent key", &parent->key)) {
		parent->key_pos = pos_of(v);
		check_local_file(pb, v, parent->key, "parent CA key",
		    LOCAL_FILE_PEM | LOCAL_FILE_PRIVATE);
	}
	get_secret_ref(pb, map, "key_passphrase", "ca parent", &parent->key_passphrase);
	if ((v = rk_ynode_get(map, "crl")) != NULL &&
	    get_local_path(pb, v, "ca parent crl", &parent->crl)) {
		parent->crl_pos = pos_of(v);
		check_local_file(pb, v, parent->crl, "parent CA CRL",
		    LOCAL_FILE_PEM | LOCAL_FILE_MAY_BE_MISSING);
	}
}

/* What ca.rotate needs from the rest of ca, said where it is missing. */
static void
check_ca_rotation(struct pb *pb, struct rk_ca *ca, const char *written)
{
	struct rk_ca_parent *parent = &ca->parent;

	if (ca->rotate != RK_ROTATE_NONE && !ca->has_new)
		rk_diags_error(pb->d, ca->rotate_pos, "ca: rotate: %s needs 'new' (subject, key, "
		    "days of the new %s)", written, ca->rotate == RK_ROTATE_ROOT ? "root CA" :
		    "issuing CA");
	if (ca->rotate != RK_ROTATE_INTERMEDIATE)
		return;
	if (!parent->present) {
		rk_diags_error(pb->d, ca->rotate_pos, "ca: rotate: intermediate needs 'parent' "
		    "(cert, key and crl of the CA that signs the new intermediate, brought "
		    "online for the run)");
		return;
	}
	if (parent->cert != NULL && parent->key == NULL)
		rk_diags_error(pb->d, parent->pos, "ca parent: rotate: intermediate needs its "
		    "'key' (the parent signs the new intermediate and revokes the old one)");
	if (parent->cert != NULL && parent->crl == NULL)
		rk_diags_error(pb->d, parent->pos, "ca parent: rotate: intermediate needs its "
		    "'crl' (the old intermediate is revoked in it)");
}

static void
parse_ca(struct pb *pb, ynode *root)
{
	struct rk_ca *ca = &pb->m->ca;
	ynode *map, *v, *rotate;
	struct rk_err err = { 0 };
	char *dir = NULL;
	int trust;

	ca->crl_days = 7;
	if ((map = require(pb, root, "ca", "playbook")) == NULL ||
	    (map = expect_map(pb, map, "ca", ca_keys)) == NULL)
		return;
	ca->pos = pos_of(map);
	if ((v = require(pb, map, "cert", "ca")) != NULL &&
	    get_local_path(pb, v, "ca cert", &ca->cert)) {
		ca->cert_pos = pos_of(v);
		check_local_file(pb, v, ca->cert, "CA certificate", LOCAL_FILE_PEM);
	}
	if ((v = require(pb, map, "key", "ca")) != NULL &&
	    get_local_path(pb, v, "ca key", &ca->key)) {
		ca->key_pos = pos_of(v);
		check_local_file(pb, v, ca->key, "CA key", LOCAL_FILE_PEM | LOCAL_FILE_PRIVATE);
	}
	get_secret_ref(pb, map, "key_passphrase", "ca", &ca->key_passphrase);
	ca->crl_pos = ca->cert_pos;
	if ((v = rk_ynode_get(map, "crl")) != NULL) {
		ca->crl_pos = pos_of(v);
		if (get_local_path(pb, v, "ca crl", &ca->crl))
			check_local_file(pb, v, ca->crl, "CRL",
			    LOCAL_FILE_PEM | LOCAL_FILE_MAY_BE_MISSING);
	} else if (ca->cert != NULL) {
		/* The CRL lives beside the CA by default, where `openssl ca` keeps its own. */
		if (rk_path_dirname(&dir, ca->cert, &err) != 0 ||
		    asprintf(&ca->crl, "%s/ca.crl", dir) < 0) {
			ca->crl = NULL;
			pb->oom = true;
		}
		free(dir);
	}
	if ((v = rk_ynode_get(map, "crl_days")) != NULL)
		(void)get_int(pb, v, "ca crl_days", 1, RK_CRL_DAYS_MAX, &ca->crl_days);
	if ((v = rk_ynode_get(map, "parent")) != NULL)
		parse_ca_parent(pb, v, &ca->parent);
	if ((v = rk_ynode_get(map, "chain")) != NULL) {
		if (get_local_path(pb, v, "ca chain", &ca->chain)) {
			ca->chain_pos = pos_of(v);
			check_local_file(pb, v, ca->chain, "CA chain", LOCAL_FILE_PEM);
		}
	} else if (ca->parent.cert != NULL) {
		/* A parent that is the root is the whole chain. */
		ca->chain = pb_strdup(pb, ca->parent.cert);
		ca->chain_pos = ca->parent.cert_pos;
	}
	ca->trust = RK_TRUST_ROOT;
	if ((v = rk_ynode_get(map, "trust")) != NULL) {
		if (get_enum(pb, v, "ca trust", rk_trust_names, &trust))
			ca->trust = (enum rk_trust)trust;
		if (ca->chain == NULL && ca->parent.cert == NULL)
			rk_diags_warn(pb->d, v->pos, "ca trust: ca.cert is the root here (no "
			    "ca.chain), so the root is what clients trust either way");
	}
	ca->rotate_pos = map->pos;
	if ((rotate = rk_ynode_get(map, "rotate")) != NULL) {
		ca->rotate_pos = pos_of(rotate);
		get_rotation(pb, rotate, &ca->rotate);
	}
	if ((v = rk_ynode_get(map, "new")) != NULL)
		parse_new_ca(pb, v, ca);
	if (rotate != NULL && rotate->kind == RK_YNODE_SCALAR)
		check_ca_rotation(pb, ca, rotate->value);
}

/* Normalises a serial to upper-case colon-separated bytes; RFC 5280 caps it at 20 octets. */
static bool
parse_serial(struct pb *pb, ynode *node, const char *s, char **out)
{
	char hex[41], *o;
	size_t n = 0, i;

	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s) || n >= 40) {
			rk_diags_error(pb->d, node->pos, n >= 40 ?
			    "serial '%s' is longer than 20 bytes (RFC 5280 4.1.2.2)" :
			    "serial '%s' must be hexadecimal, as \"5D:3A:91:0C\"", node->value);
			return false;
		}
		hex[n++] = (char)toupper((unsigned char)*s);
	}
	if (n == 0) {
		rk_diags_error(pb->d, node->pos, "serial is empty");
		return false;
	}
	if (n % 2 == 1) {		/* "ABC" means 0x0ABC */
		memmove(hex + 1, hex, n);
		hex[0] = '0';
		n++;
	}
	if ((*out = o = malloc(n / 2 * 3)) == NULL) {
		pb->oom = true;
		return false;
	}
	for (i = 0; i < n; i += 2) {
		*o++ = hex[i];
		*o++ = hex[i + 1];
		*o++ = i + 2 < n ? ':' : '\0';
	}
	return true;
}

static void
parse_revoke(struct pb *pb, ynode *root)
{
	static const char *const kinds[] = { "cert", "serial", "folder", "cn", NULL };
	ynode *seq = rk_ynode_get(root, "revoke"), *item, *v, *which;
	struct rk_revocation *r;
	size_t i, k, nkinds;
	int reason;

	if (seq == NULL || rk_ynode_is_null(seq))
		return;
	if (!expect_kind(pb, seq, RK_YNODE_SEQ, "revoke"))
		return;
	if ((pb->m->revocations = pb_calloc(pb, seq->n, sizeof(*r))) == NULL)
		return;
	for (i = 0; i < seq->n; i++) {
		item = seq->items[i];
		if (expect_map(pb, item, "revoke entry", revoke_keys) == NULL)
			continue;
		r = &pb->m->revocations[pb->m->nrevocations];
		r->pos = pos_of(item);
		r->reason = pb->m->incident.reason;
		which = NULL;
		nkinds = 0;
		for (k = 0; kinds[k] != NULL; k++) {
			if ((v = rk_ynode_get(item, kinds[k])) != NULL) {
				nkinds++;
				if (which == NULL) {
					which = v;
					r->kind = (enum rk_revoke_kind)k;
				}
			}
		}
		if (nkinds != 1) {
			rk_diags_error(pb->d, item->pos,
			    "revoke entry needs exactly one of cert, serial, folder or cn (has %zu)",
			    nkinds);
			continue;
		}
		if ((v = rk_ynode_get(item, "reason")) != NULL) {
			if (!get_enum(pb, v, "revoke reason", rk_reason_names, &reason))
				continue;
			r->reason = (enum rk_reason)reason;
		}
		switch (r->kind) {
		case RK_REVOKE_CERT:
			if (!get_local_path(pb, which, "revoke cert", &r->value))
				continue;
			check_local_file(pb, which, r->value, "certificate to revoke",
			    LOCAL_FILE_PEM);
			break;
		case RK_REVOKE_FOLDER:
			if (!get_local_path(pb, which, "revoke folder", &r->value))
				continue;
			break;
		case RK_REVOKE_SERIAL: {
			char *raw = NULL;
			bool ok = get_string(pb, which, "revoke serial", &raw) &&
			    parse_serial(pb, which, raw, &r->value);

			free(raw);
			if (!ok)
				continue;
			break;
		}
		case RK_REVOKE_CN:
			if (!get_string(pb, which, "revoke cn", &r->value))
				continue;
			break;
		}
		pb->m->nrevocations++;
	}
}

static void
parse_certificate(struct pb *pb, ynode *key, ynode *map, struct rk_certificate *c)
{
	char what[128];
	ynode *v;
	size_t i;
	int profile;

	c->pos = pos_of(key);
	c->key = RK_KEY_EC_P256;
	c->days = 365;
	if (!get_name(pb, key, "certificate name", &c->name))
		return;
	snprintf(what, sizeof(what), "certificate '%s'", c->name);
	if ((map = expect_map(pb, map, what, certificate_keys)) == NULL)
		return;
	profile = -1;	/* none given: no warning that depends on it */
	if ((v = require(pb, map, "profile", what)) != NULL &&
	    get_enum(pb, v, "profile", rk_profile_names, &profile)) {
		c->profile = (enum rk_profile)profile;
		if (c->profile == RK_PROFILE_CA)
			rk_diags_error(pb->d, v->pos,
			    "%s: profile ca is for the CA itself: use ca.rotate and ca.new", what);
	}
	if ((v = require(pb, map, "subject", what)) != NULL &&
	    get_string(pb, v, "subject", &c->subject))
		(void)parse_dn(pb, v, "subject", c->subject, &c->dn);
	if ((v = rk_ynode_get(map, "san")) != NULL && expect_kind(pb, v, RK_YNODE_SEQ, "san")) {
		if ((c->san = pb_calloc(pb, v->n, sizeof(*c->san))) == NULL)
			return;
		for (i = 0; i < v->n; i++) {
			char *raw = NULL;

			if (get_string(pb, v->items[i], "SAN entry", &raw) &&
			    parse_san(pb, v->items[i], raw, &c->san[c->nsan]))
				c->nsan++;
			free(raw);
		}
	}
	if ((v = rk_ynode_get(map, "key")) != NULL)
		(void)get_key_type(pb, v, "key", &c->key);
	if ((v = rk_ynode_get(map, "days")) != NULL)
		(void)get_int(pb, v, "days", 1, RK_DAYS_MAX_LEAF, &c->days);
	get_secret_ref(pb, map, "key_passphrase", what, &c->key_passphrase);
	if (profile == RK_PROFILE_SERVER && c->nsan == 0 && rk_ynode_get(map, "san") == NULL)
		rk_diags_warn(pb->d, key->pos,
		    "%s has no san: clients will match the host name against the CN only", what);
}

static void
parse_certificates(struct pb *pb, ynode *root)
{
	ynode *map = rk_ynode_get(root, "certificates");
	size_t i;

	if (map == NULL || rk_ynode_is_null(map))
		return;
	if (expect_map(pb, map, "certificates", NULL) == NULL)
		return;
	if ((pb->m->certificates = pb_calloc(pb, map->n / 2, sizeof(struct rk_certificate))) ==
	    NULL)
		return;
	for (i = 0; i + 1 < map->n; i += 2)
		parse_certificate(pb, map->items[i], map->items[i + 1],
		    &pb->m->certificates[pb->m->ncertificates++]);
}

/*
 * A folder or a list of folders on a host (sweep): absolute, written without the trailing
 * '/' (so "/etc/ssl/" and "/etc/ssl" are one folder).
 */
static void
get_folders(struct pb *pb, ynode *node, const char *what, char ***out, size_t *n)
{
	const struct rk_ynode *one[1] = { node };
	const struct rk_ynode *const *items = one;
	size_t count = 1, i, len;
	char *path;

	if (node->kind == RK_YNODE_SEQ) {
		items = (const struct rk_ynode *const *)node->items;
		count = node->n;
	} else if (!expect_kind(pb, node, RK_YNODE_SCALAR, what)) {
		return;
	}
	if (count > RK_SWEEP_PATHS_MAX) {
		rk_diags_error(pb->d, node->pos, "%s names %zu folders, more than the %d rekey "
		    "sweeps", what, count, RK_SWEEP_PATHS_MAX);
		return;
	}
	if (count > 0 && (*out = pb_calloc(pb, count, sizeof(**out))) == NULL)
		return;
	for (i = 0; i < count; i++) {
		path = NULL;
		if (!get_string(pb, items[i], what, &path))
			continue;
		if (path[0] != '/') {
			rk_diags_error(pb->d, items[i]->pos, "%s '%s' must be an absolute path on "
			    "the host", what, path);
			free(path);
			continue;
		}
		for (len = strlen(path); len > 1 && path[len - 1] == '/'; len--)
			path[len - 1] = '\0';
		if (has_dot_component(pb, items[i], what, path)) {
			free(path);
			continue;
		}
		(*out)[(*n)++] = path;
	}
}

/* A size in bytes: 1048576, or with a binary suffix: 512K, 1M, 1G (KiB, MB, ... too). */
static bool
get_size(struct pb *pb, ynode *node, const char *what, long long max, long long *out)
{
	static const struct { const char *suffix; long long unit; } units[] = {
		{ "", 1 }, { "K", 1LL << 10 }, { "KB", 1LL << 10 }, { "KiB", 1LL << 10 },
		{ "M", 1LL << 20 }, { "MB", 1LL << 20 }, { "MiB", 1LL << 20 },
		{ "G", 1LL << 30 }, { "GB", 1LL << 30 }, { "GiB", 1LL << 30 },
	};
	char *end;
	long long v;
	size_t i;

	if (!expect_kind(pb, node, RK_YNODE_SCALAR, what))
		return false;
	errno = 0;
	v = strtoll(node->value, &end, 10);
	if (end == node->value || !isdigit((unsigned char)node->value[0]) || errno != 0)
		goto bad;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].suffix) != 0)
			continue;
		if (v < 1 || v > max / units[i].unit) {
			rk_diags_error(pb->d, node->pos, "%s must be between 1 byte and %lld MiB, "
			    "not %s", what, max >> 20, node->value);
			return false;
		}
		*out = v * units[i].unit;
		return true;
	}
 bad:
	rk_diags_error(pb->d, node->pos, "%s must be a size in bytes, as 1048576, 512K or 1M, "
	    "not '%s'", what, node->value);
	return false;
}

static void
parse_host(struct pb *pb, ynode *key, ynode *map, struct rk_host *h)
{
	char what[128];
	ynode *v;
	int transport;

	h->pos = pos_of(key);
	h->transport = RK_TRANSPORT_SSH;
	h->port = 22;
	h->timeout = 30;
	if (!get_name(pb, key, "host name", &h->name))
		return;
	snprintf(what, sizeof(what), "host '%s'", h->name);
	if (expect_map(pb, map, what, NULL) == NULL)
		return;
	if ((v = rk_ynode_get(map, "transport")) != NULL &&
	    get_enum(pb, v, "transport", rk_transport_names, &transport))
		h->transport = (enum rk_transport_kind)transport;
	check_keys(pb, map, what, h->transport == RK_TRANSPORT_LOCAL ? local_host_keys : host_keys);
	if ((v = rk_ynode_get(map, "sudo")) != NULL)
		(void)get_bool(pb, v, "sudo", &h->sudo);
	if ((v = rk_ynode_get(map, "timeout")) != NULL)
		(void)get_int(pb, v, "timeout", 1, RK_TIMEOUT_MAX, &h->timeout);
	if ((v = rk_ynode_get(map, "sweep_paths")) != NULL)
		get_folders(pb, v, "sweep_paths", &h->sweep_paths, &h->nsweep_paths);
	if (h->transport == RK_TRANSPORT_LOCAL)
		return;
	if ((v = require(pb, map, "address", what)) != NULL)
		get_address(pb, v, "address", &h->address);
	if ((v = rk_ynode_get(map, "port")) != NULL)
		(void)get_int(pb, v, "port", 1, 65535, &h->port);
	if ((v = rk_ynode_get(map, "user")) != NULL && get_string(pb, v, "user", &h->user) &&
	    !is_valid_account(h->user))
		rk_diags_error(pb->d, v->pos, "user '%s' is not a valid login name", h->user);
	if ((v = rk_ynode_get(map, "identity")) != NULL &&
	    get_local_path(pb, v, "identity", &h->identity))
		check_local_file(pb, v, h->identity, "identity",
		    LOCAL_FILE_PEM | LOCAL_FILE_PRIVATE);
	get_secret_ref(pb, map, "identity_passphrase", what, &h->identity_passphrase);
	if ((v = rk_ynode_get(map, "known_hosts")) != NULL) {
		if (get_local_path(pb, v, "known_hosts", &h->known_hosts))
			check_local_file(pb, v, h->known_hosts, "known_hosts", LOCAL_FILE_PEM);
	} else {
		struct rk_err err = { 0 };

		if (rk_path_resolve(&h->known_hosts, pb->base_dir, "~/.ssh/known_hosts", &err) != 0)
			h->known_hosts = NULL;	/* no HOME: preflight says so */
	}
}

static void
parse_hosts(struct pb *pb, ynode *root)
{
	ynode *map = rk_ynode_get(root, "hosts"), *v;
	struct rk_host *h;
	size_t i, steps;

	if (map == NULL || rk_ynode_is_null(map))
		return;
	if (expect_map(pb, map, "hosts", NULL) == NULL)
		return;
	if ((pb->m->hosts = pb_calloc(pb, map->n / 2, sizeof(struct rk_host))) == NULL)
		return;
	for (i = 0; i + 1 < map->n; i += 2)
		parse_host(pb, map->items[i], map->items[i + 1], &pb->m->hosts[pb->m->nhosts++]);
	/* Jumps resolve once every host is known, so order in the file does not matter. */
	for (i = 0; i + 1 < map->n; i += 2) {
		char *name = NULL;

		h = &pb->m->hosts[i / 2];
		if (h->name == NULL || (v = rk_ynode_get(map->items[i + 1], "jump")) == NULL ||
		    h->transport == RK_TRANSPORT_LOCAL)
			continue;
		if (!get_string(pb, v, "jump", &name))
			continue;
		if ((h->jump = rk_model_find_host(pb->m, name)) == NULL)
			rk_diags_error(pb->d, v->pos, "host '%s': jump names unknown host '%s'",
			    h->name, name);
		else if (h->jump->transport != RK_TRANSPORT_SSH)
			rk_diags_error(pb->d, v->pos, "host '%s': jump host '%s' must use ssh",
			    h->name, name);
		free(name);
	}
	for (i = 0; i < pb->m->nhosts; i++) {
		const struct rk_host *hop = pb->m->hosts[i].jump;

		for (steps = 0; hop != NULL && steps <= pb->m->nhosts; steps++)
			hop = hop->jump;
		if (hop != NULL)
			rk_diags_error(pb->d, pb->m->hosts[i].pos,
			    "host '%s': its chain of jump hosts runs in a loop (one host in it must "
			    "have no jump)",
			    pb->m->hosts[i].name);
	}
}

static const struct rk_certificate *
get_certificate_ref(struct pb *pb, ynode *node, const char *what, enum rk_profile want)
{
	const struct rk_certificate *c;
	char *name = NULL;

	if (!get_string(pb, node, what, &name))
		return NULL;
	if ((c = rk_model_find_certificate(pb->m, name)) == NULL)
		rk_diags_error(pb->d, node->pos, "%s names unknown certificate '%s'", what, name);
	else if (c->profile != want)
		rk_diags_error(pb->d, node->pos, "%s '%s' has profile %s; it needs profile %s",
		    what, name, rk_profile_name(c->profile), rk_profile_name(want));
	free(name);
	return c != NULL && c->profile == want ? c : NULL;
}

static const struct rk_host *
get_host_ref(struct pb *pb, ynode *map, const char *what)
{
	const struct rk_host *h = NULL;
	char *name = NULL;
	ynode *v;

	if ((v = require(pb, map, "host", what)) == NULL || !get_string(pb, v, "host", &name))
		return NULL;
	if ((h = rk_model_find_host(pb->m, name)) == NULL) {
		const char *names[64], *near;
		size_t i, n = 0;

		for (i = 0; i < pb->m->nhosts && n + 1 < 64; i++)
			if (pb->m->hosts[i].name != NULL)
				names[n++] = pb->m->hosts[i].name;
		names[n] = NULL;
		near = rk_closest_word(name, names);
		rk_diags_error(pb->d, v->pos, "%s names unknown host '%s'%s%s%s", what, name,
		    near != NULL ? " (did you mean '" : "", near != NULL ? near : "",
		    near != NULL ? "'?)" : "");
	}
	free(name);
	return h;
}

static void
parse_file_target(struct pb *pb, ynode *node, enum rk_file_role role, const char *owner_what,
    bool for_client, struct rk_file_target *f)
{
	char what[160];
	ynode *v;

	snprintf(what, sizeof(what), "%s files.%s", owner_what, rk_file_role_name(role));
	f->role = role;
	f->pos = pos_of(node);
	f->mode = role == RK_FILE_KEY ? 0600 : 0644;
	if (expect_map(pb, node, what, for_client ? client_file_keys : file_keys) == NULL)
		return;
	f->present = true;
	if ((v = require(pb, node, "path", what)) != NULL)
		(void)get_remote_path(pb, v, "path", &f->path);
	if ((v = rk_ynode_get(node, "owner")) != NULL && get_string(pb, v, "owner", &f->owner) &&
	    !is_valid_account(f->owner))
		rk_diags_error(pb->d, v->pos, "owner '%s' is not a valid user name", f->owner);
	if ((v = rk_ynode_get(node, "group")) != NULL && get_string(pb, v, "group", &f->group) &&
	    !is_valid_account(f->group))
		rk_diags_error(pb->d, v->pos, "group '%s' is not a valid group name", f->group);
	if ((v = rk_ynode_get(node, "mode")) != NULL && get_mode(pb, v, "mode", &f->mode)) {
		/* 0640 stays allowed: PostgreSQL accepts it for a root-owned key. */
		if (role == RK_FILE_KEY && (f->mode & 0137) != 0)
			rk_diags_error(pb->d, v->pos,
			    "mode %04o would let others read or change a private key: use 0600 "
			    "(or 0640 for a root-owned key)", (unsigned)f->mode);
		else if (role == RK_FILE_KEY && (f->mode & 0040) != 0 && f->owner != NULL &&
		    strcmp(f->owner, "root") != 0)
			rk_diags_error(pb->d, v->pos,
			    "mode %04o lets the group read a private key owned by '%s': PostgreSQL "
			    "and libpq take a group-readable key only from root: use 0600, or "
			    "owner: root", (unsigned)f->mode, f->owner);
		else if ((f->mode & 0022) != 0)
			rk_diags_error(pb->d, v->pos,
			    "mode %04o lets others rewrite a file clients trust: use 0644",
			    (unsigned)f->mode);
		else if ((f->mode & 0400) == 0)
			rk_diags_error(pb->d, v->pos,
			    "mode %04o does not let the owner read the file", (unsigned)f->mode);
	}
	if ((v = rk_ynode_get(node, "allow_symlink")) != NULL)
		(void)get_bool(pb, v, "allow_symlink", &f->allow_symlink);
	if (for_client && (v = rk_ynode_get(node, "certificate")) != NULL) {
		if (role == RK_FILE_CA || role == RK_FILE_CRL)
			rk_diags_error(pb->d, v->pos, "%s: the CA bundle and CRL come from the ca "
			    "section; 'certificate' applies to cert and key", what);
		else
			f->certificate = get_certificate_ref(pb, v, what, RK_PROFILE_CLIENT);
	} else if (for_client && (role == RK_FILE_CERT || role == RK_FILE_KEY)) {
		rk_diags_error(pb->d, node->pos, "%s: missing required key 'certificate'", what);
	}
}

static void
parse_files(struct pb *pb, ynode *map, const char *what, bool for_client,
    struct rk_file_target *files)
{
	static const char *const client_files_keys[] = { "cert", "key", "ca", "crl", NULL };
	char label[160];
	size_t role;
	ynode *v;

	snprintf(label, sizeof(label), "%s files", what);
	if (expect_map(pb, map, label, for_client ? client_files_keys : service_files_keys) ==
	    NULL)
		return;
	for (role = 0; role < RK_FILE_ROLES; role++)
		if ((v = rk_ynode_get(map, rk_file_role_name((enum rk_file_role)role))) != NULL)
			parse_file_target(pb, v, (enum rk_file_role)role, what, for_client,
			    &files[role]);
}

static void
parse_reload(struct pb *pb, ynode *node, const char *what, struct rk_reload *r)
{
	ynode *v;

	r->pos = pos_of(node);
	if (node->kind == RK_YNODE_SCALAR && !rk_ynode_is_null(node)) {
		if (strcmp(node->value, "sql") == 0)
			r->kind = RK_RELOAD_SQL;
		else if (strcmp(node->value, "none") == 0)
			r->kind = RK_RELOAD_NONE;
		else
			rk_diags_error(pb->d, node->pos, "%s reload: '%s' is not sql, none or "
			    "{command: \"...\"}", what, node->value);
		return;
	}
	if (expect_map(pb, node, "reload", reload_keys) == NULL)
		return;
	if ((v = require(pb, node, "command", "reload")) != NULL &&
	    get_string(pb, v, "reload command", &r->command))
		r->kind = RK_RELOAD_COMMAND;
}

static void
parse_connect(struct pb *pb, ynode *map, struct rk_service *s, const char *what)
{
	struct rk_connect *c = &s->connect;
	char label[160], ref[192];
	ynode *v;

	snprintf(label, sizeof(label), "%s connect", what);
	if (expect_map(pb, map, label, connect_keys) == NULL)
		return;
	if ((v = rk_ynode_get(map, "address")) != NULL)
		get_address(pb, v, "connect address", &c->address);
	if ((v = rk_ynode_get(map, "port")) != NULL)
		(void)get_int(pb, v, "connect port", 1, 65535, &c->port);
	if ((v = rk_ynode_get(map, "dbname")) != NULL)
		(void)get_string(pb, v, "dbname", &c->dbname);
	if ((v = rk_ynode_get(map, "user")) != NULL)
		(void)get_string(pb, v, "connect user", &c->user);
	get_secret_ref(pb, map, "password", label, &c->password);
	snprintf(ref, sizeof(ref), "%s certificate", label);
	if ((v = rk_ynode_get(map, "certificate")) != NULL)
		c->certificate = get_certificate_ref(pb, v, ref, RK_PROFILE_CLIENT);
	if ((v = rk_ynode_get(map, "sslcert")) != NULL &&
	    get_local_path(pb, v, "sslcert", &c->sslcert))
		check_local_file(pb, v, c->sslcert, "sslcert", LOCAL_FILE_PEM);
	if ((v = rk_ynode_get(map, "sslkey")) != NULL &&
	    get_local_path(pb, v, "sslkey", &c->sslkey))
		check_local_file(pb, v, c->sslkey, "sslkey", LOCAL_FILE_PEM | LOCAL_FILE_PRIVATE);
	if ((c->sslcert == NULL) != (c->sslkey == NULL))
		rk_diags_error(pb->d, map->pos, "%s: sslcert and sslkey go together", label);
	if (c->certificate != NULL && c->sslcert != NULL)
		rk_diags_error(pb->d, map->pos,
		    "%s: use certificate (issued by rekey) or sslcert/sslkey, not both", label);
}

static void
parse_verify(struct pb *pb, ynode *map, struct rk_verify_spec *vs, const char *what)
{
	char label[160];
	ynode *v;
	int e;

	snprintf(label, sizeof(label), "%s verify", what);
	if (expect_map(pb, map, label, verify_keys) == NULL)
		return;
	if ((v = rk_ynode_get(map, "sslmode")) != NULL &&
	    get_enum(pb, v, "sslmode", rk_sslmode_names, &e))
		vs->sslmode = (enum rk_sslmode)e;
	if ((v = rk_ynode_get(map, "min_tls")) != NULL && expect_kind(pb, v, RK_YNODE_SCALAR,
	    "min_tls")) {
		if (strcmp(v->value, "TLSv1") == 0 || strcmp(v->value, "TLSv1.0") == 0 ||
		    strcmp(v->value, "TLSv1.1") == 0)
			rk_diags_error(pb->d, v->pos, "min_tls %s is refused: TLS below 1.2 is "
			    "deprecated (RFC 8996); use TLSv1.2 or TLSv1.3", v->value);
		else if (get_enum(pb, v, "min_tls", rk_tls_version_names, &e))
			vs->min_tls = (enum rk_tls_version)e;
	}
	if ((v = rk_ynode_get(map, "require_tls")) != NULL)
		(void)get_bool(pb, v, "require_tls", &vs->require_tls);
}

static void
parse_service(struct pb *pb, ynode *map, size_t index, struct rk_service *s)
{
	char what[128], label[160];
	ynode *v;
	int kind;

	s->pos = pos_of(map);
	s->reload.kind = RK_RELOAD_SQL;
	s->verify.sslmode = RK_SSLMODE_VERIFY_FULL;
	s->verify.min_tls = RK_TLS_1_2;
	s->verify.require_tls = true;
	snprintf(what, sizeof(what), "service #%zu", index + 1);
	if (expect_map(pb, map, what, NULL) == NULL)
		return;
	if ((v = require(pb, map, "name", what)) != NULL && get_name(pb, v, "service name",
	    &s->name))
		snprintf(what, sizeof(what), "service '%s'", s->name);
	check_keys(pb, map, what, service_keys);	/* after the name, to say which service */
	s->host = get_host_ref(pb, map, what);
	if ((v = require(pb, map, "kind", what)) != NULL &&
	    get_enum(pb, v, "kind", rk_service_kind_names, &kind)) {
		s->kind = (enum rk_service_kind)kind;
		s->kind_name = rk_enum_spelling(rk_service_kind_names, v->value);
	}
	s->connect.port = s->kind == RK_SERVICE_POSTGRESQL ? 5432 : 3306;
	snprintf(label, sizeof(label), "%s certificate", what);
	if ((v = rk_ynode_get(map, "certificate")) != NULL)
		s->certificate = get_certificate_ref(pb, v, label, RK_PROFILE_SERVER);
	if ((v = rk_ynode_get(map, "files")) != NULL)
		parse_files(pb, v, what, false, s->files);
	if ((v = rk_ynode_get(map, "reload")) != NULL)
		parse_reload(pb, v, what, &s->reload);
	if ((v = rk_ynode_get(map, "connect")) != NULL)
		parse_connect(pb, v, s, what);
	if ((v = rk_ynode_get(map, "verify")) != NULL)
		parse_verify(pb, v, &s->verify, what);
	snprintf(label, sizeof(label), "%s log", what);
	if ((v = rk_ynode_get(map, "log")) != NULL)
		(void)get_remote_path(pb, v, label, &s->log);

	/* Cross-checks: each names the key to fix. */
	if (rk_ynode_get(map, "certificate") != NULL) {
		if (!s->files[RK_FILE_CERT].present)
			rk_diags_error(pb->d, map->pos, "%s: a certificate needs files.cert", what);
		if (!s->files[RK_FILE_KEY].present)
			rk_diags_error(pb->d, map->pos, "%s: a certificate needs files.key", what);
	} else {
		if (s->files[RK_FILE_CERT].present)
			rk_diags_error(pb->d, s->files[RK_FILE_CERT].pos,
			    "%s: files.cert needs 'certificate' (which one to install)", what);
		if (s->files[RK_FILE_KEY].present)
			rk_diags_error(pb->d, s->files[RK_FILE_KEY].pos,
			    "%s: files.key needs 'certificate' (which one to install)", what);
	}
	if (s->connect.address == NULL && s->host != NULL) {
		const char *addr = s->host->address != NULL ? s->host->address : "127.0.0.1";

		s->connect.address = pb_strdup(pb, addr);
	}
	if (s->kind == RK_SERVICE_POSTGRESQL && s->connect.dbname == NULL)
		s->connect.dbname = pb_strdup(pb, "postgres");
	if (s->reload.kind == RK_RELOAD_NONE && (s->certificate != NULL ||
	    s->files[RK_FILE_CA].present || s->files[RK_FILE_CRL].present))
		rk_diags_warn(pb->d, s->reload.pos, "%s: reload: none: the server keeps serving "
		    "its old files until it is restarted, so the new certificate is not checked",
		    what);
	if (s->reload.kind == RK_RELOAD_SQL && s->connect.user == NULL)
		rk_diags_error(pb->d, map->pos,
		    "%s: reload: sql needs connect.user (a login allowed to reload)", what);
	if (s->certificate != NULL && s->connect.address != NULL &&
	    s->verify.sslmode == RK_SSLMODE_VERIFY_FULL &&
	    !certificate_names_match(s->certificate, s->connect.address))
		rk_diags_error(pb->d, (v = rk_ynode_get(map, "connect")) != NULL ? v->pos : map->pos,
		    "%s: connect address '%s' is not among the names of certificate '%s': "
		    "verify-full would fail (add it to san)", what, s->connect.address,
		    s->certificate->name);
}

static void
parse_services(struct pb *pb, ynode *root)
{
	ynode *seq = rk_ynode_get(root, "services");
	size_t i, j;

	if (seq == NULL || rk_ynode_is_null(seq))
		return;
	if (!expect_kind(pb, seq, RK_YNODE_SEQ, "services"))
		return;
	if ((pb->m->services = pb_calloc(pb, seq->n, sizeof(struct rk_service))) == NULL)
		return;
	for (i = 0; i < seq->n; i++) {
		struct rk_service *s = &pb->m->services[pb->m->nservices++];

		parse_service(pb, seq->items[i], i, s);
		for (j = 0; s->name != NULL && j + 1 < pb->m->nservices; j++)
			if (pb->m->services[j].name != NULL &&
			    strcmp(pb->m->services[j].name, s->name) == 0)
				rk_diags_error(pb->d, s->pos,
				    "duplicate service name '%s' (first at line %u)", s->name,
				    pb->m->services[j].pos.line);
	}
}

static void
parse_set(struct pb *pb, ynode *map, struct rk_client *c, const char *what)
{
	char label[160];
	size_t i;

	snprintf(label, sizeof(label), "%s set", what);
	if (expect_map(pb, map, label, NULL) == NULL)
		return;
	if ((c->set = pb_calloc(pb, map->n / 2, sizeof(*c->set))) == NULL)
		return;
	for (i = 0; i + 1 < map->n; i += 2) {
		ynode *k = map->items[i], *v = map->items[i + 1];
		struct rk_setting *st = &c->set[c->nset];

		if (k->len == 0 || strlen(k->value) != k->len || strpbrk(k->value, "=\n\r ") != NULL) {
			rk_diags_error(pb->d, k->pos, "%s: '%s' is not a usable setting name", label,
			    k->value);
			continue;
		}
		/* The value tells a key file's path (sslkey: /etc/app.key) from a key. */
		if (rk_secretname_holds_secret(k->value, v->kind == RK_YNODE_SCALAR ?
		    v->value : NULL)) {
			rk_diags_error(pb->d, k->pos, "%s: '%s' would write a secret from the "
			    "playbook; rekey changes TLS settings only, never secrets", label,
			    k->value);
			continue;
		}
		if (v->kind != RK_YNODE_SCALAR) {
			rk_diags_error(pb->d, v->pos, "%s: '%s' must be a single value, not a %s",
			    label, k->value, rk_ynode_kind_name(v));
			continue;
		}
		if (strlen(v->value) != v->len || has_control_char(v->value)) {
			rk_diags_error(pb->d, v->pos, "%s: '%s' holds a line break, another control "
			    "character or a NUL byte", label, k->value);
			continue;
		}
		st->pos = pos_of(k);
		st->key = pb_strdup(pb, k->value);
		st->value = pb_strdup(pb, v->value);
		c->nset++;
	}
}

static char *
get_command(struct pb *pb, ynode *node, const char *what)
{
	char *cmd = NULL;
	ynode *v;

	if (expect_map(pb, node, what, command_keys) == NULL)
		return NULL;
	if ((v = require(pb, node, "command", what)) != NULL)
		(void)get_string(pb, v, what, &cmd);
	return cmd;
}

static void
parse_client(struct pb *pb, ynode *map, size_t index, struct rk_client *c)
{
	char what[128], label[160];
	ynode *v, *file;
	int format;
	bool has_format = false;

	c->pos = pos_of(map);
	snprintf(what, sizeof(what), "client #%zu", index + 1);
	if (expect_map(pb, map, what, NULL) == NULL)
		return;
	if ((v = require(pb, map, "name", what)) != NULL && get_name(pb, v, "client name",
	    &c->name))
		snprintf(what, sizeof(what), "client '%s'", c->name);
	check_keys(pb, map, what, client_keys);		/* after the name, to say which client */
	c->host = get_host_ref(pb, map, what);
	snprintf(label, sizeof(label), "%s file", what);
	if ((file = rk_ynode_get(map, "file")) != NULL &&
	    expect_map(pb, file, label, client_config_keys) != NULL) {
		if ((v = require(pb, file, "path", label)) != NULL)
			(void)get_remote_path(pb, v, "file path", &c->path);
		if ((v = require(pb, file, "format", label)) != NULL &&
		    get_enum(pb, v, "format", rk_format_names, &format)) {
			c->format = (enum rk_client_format)format;
			has_format = true;
		}
		if ((v = rk_ynode_get(file, "section")) != NULL)
			(void)get_string(pb, v, "section", &c->section);
		if ((v = rk_ynode_get(file, "variable")) != NULL &&
		    get_string(pb, v, "variable", &c->variable) && !is_valid_env_name(c->variable))
			rk_diags_error(pb->d, v->pos, "variable '%s' is not a variable name",
			    c->variable);
		/* Without a known format, whether section or variable applies is a guess. */
		if (has_format && (c->format == RK_FORMAT_INI ||
		    c->format == RK_FORMAT_PG_SERVICE) && c->section == NULL)
			rk_diags_error(pb->d, file->pos, "%s: format %s needs section (as [client] "
			    "or a service name)", label, rk_format_name(c->format));
		if (has_format && c->format != RK_FORMAT_INI &&
		    c->format != RK_FORMAT_PG_SERVICE && c->section != NULL)
			rk_diags_error(pb->d, rk_ynode_get(file, "section")->pos,
			    "%s: section applies to ini and pg_service only", label);
		if (has_format && c->format != RK_FORMAT_CONNINFO && c->variable != NULL)
			rk_diags_error(pb->d, rk_ynode_get(file, "variable")->pos,
			    "%s: variable applies to conninfo only", label);
	}
	if ((v = rk_ynode_get(map, "set")) != NULL)
		parse_set(pb, v, c, what);
	if (v != NULL && file == NULL)
		rk_diags_error(pb->d, v->pos, "%s: set needs file (which file to edit)", what);
	if ((v = rk_ynode_get(map, "files")) != NULL)
		parse_files(pb, v, what, true, c->files);
	if ((v = rk_ynode_get(map, "reload")) != NULL)
		c->reload_command = get_command(pb, v, "reload");
	if ((v = rk_ynode_get(map, "verify")) != NULL &&
	    expect_map(pb, v, "verify", client_verify_keys) != NULL) {
		ynode *cmd = require(pb, v, "command", "verify"), *safe;

		if (cmd != NULL)
			(void)get_string(pb, cmd, "verify", &c->verify_command);
		if ((safe = rk_ynode_get(v, "safe_in_rehearsal")) != NULL)
			(void)get_bool(pb, safe, "safe_in_rehearsal", &c->verify_safe_in_rehearsal);
	}
	if (rk_ynode_get(map, "file") == NULL && rk_ynode_get(map, "files") == NULL)
		rk_diags_error(pb->d, map->pos, "%s: nothing to do (give file and set, or files)",
		    what);
}

static void
parse_clients(struct pb *pb, ynode *root)
{
	ynode *seq = rk_ynode_get(root, "clients");
	size_t i, j;

	if (seq == NULL || rk_ynode_is_null(seq))
		return;
	if (!expect_kind(pb, seq, RK_YNODE_SEQ, "clients"))
		return;
	if ((pb->m->clients = pb_calloc(pb, seq->n, sizeof(struct rk_client))) == NULL)
		return;
	for (i = 0; i < seq->n; i++) {
		struct rk_client *c = &pb->m->clients[pb->m->nclients++];

		parse_client(pb, seq->items[i], i, c);
		for (j = 0; c->name != NULL && j + 1 < pb->m->nclients; j++)
			if (pb->m->clients[j].name != NULL &&
			    strcmp(pb->m->clients[j].name, c->name) == 0)
				rk_diags_error(pb->d, c->pos,
				    "duplicate client name '%s' (first at line %u)", c->name,
				    pb->m->clients[j].pos.line);
	}
}

static void
parse_policy(struct pb *pb, ynode *root)
{
	struct rk_policy *p = &pb->m->policy;
	ynode *map = rk_ynode_get(root, "policy"), *v;
	int e;

	p->max_parallel = 16;
	p->canary = 1;
	p->on_failure = RK_ON_FAILURE_ROLLBACK;
	p->trust_overlap = true;
	if (map == NULL || rk_ynode_is_null(map) || expect_map(pb, map, "policy", policy_keys) ==
	    NULL)
		goto out;
	if ((v = rk_ynode_get(map, "max_parallel")) != NULL)
		(void)get_int(pb, v, "max_parallel", 1, RK_PARALLEL_MAX, &p->max_parallel);
	if ((v = rk_ynode_get(map, "canary")) != NULL &&
	    get_int(pb, v, "canary", 0, INT_MAX, &p->canary) && pb->m->nservices > 0 &&
	    (size_t)p->canary > pb->m->nservices)
		rk_diags_error(pb->d, v->pos, "canary %d is more than the %zu service%s", p->canary,
		    pb->m->nservices, pb->m->nservices == 1 ? "" : "s");
	if ((v = rk_ynode_get(map, "on_failure")) != NULL &&
	    get_enum(pb, v, "on_failure", rk_on_failure_names, &e))
		p->on_failure = (enum rk_on_failure)e;
	if ((v = rk_ynode_get(map, "trust_overlap")) != NULL)
		(void)get_bool(pb, v, "trust_overlap", &p->trust_overlap);
 out:
	if ((size_t)p->canary > pb->m->nservices)
		p->canary = (int)pb->m->nservices;
}

/* Two files of different content at one path on one host would overwrite each other. */
static void
check_file_collisions(struct pb *pb)
{
	struct slot {
		const struct rk_host		*host;
		const struct rk_file_target	*f;
		const struct rk_certificate	*cert;
	} *slots;
	size_t n = 0, i, j, role, cap = (pb->m->nservices + pb->m->nclients) * RK_FILE_ROLES;

	if (cap == 0 || (slots = pb_calloc(pb, cap, sizeof(*slots))) == NULL)
		return;
	for (i = 0; i < pb->m->nservices; i++)
		for (role = 0; role < RK_FILE_ROLES; role++)
			if (pb->m->services[i].files[role].path != NULL)
				slots[n++] = (struct slot){ pb->m->services[i].host,
				    &pb->m->services[i].files[role],
				    pb->m->services[i].certificate };
	for (i = 0; i < pb->m->nclients; i++)
		for (role = 0; role < RK_FILE_ROLES; role++)
			if (pb->m->clients[i].files[role].path != NULL)
				slots[n++] = (struct slot){ pb->m->clients[i].host,
				    &pb->m->clients[i].files[role],
				    pb->m->clients[i].files[role].certificate };
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			bool same_content;

			if (slots[i].host != slots[j].host || slots[i].host == NULL ||
			    strcmp(slots[i].f->path, slots[j].f->path) != 0)
				continue;
			same_content = slots[i].f->role == slots[j].f->role &&
			    (slots[i].f->role == RK_FILE_CA || slots[i].f->role == RK_FILE_CRL ||
			    slots[i].cert == slots[j].cert);
			if (!same_content)
				rk_diags_error(pb->d, slots[i].f->pos,
				    "%s on host '%s' is also written at line %u with other content",
				    slots[i].f->path, slots[i].host->name, slots[j].f->pos.line);
			break;
		}
	}
	free(slots);
}

static void
warn_unused_certificates(struct pb *pb)
{
	size_t i, j, role;

	for (i = 0; i < pb->m->ncertificates; i++) {
		const struct rk_certificate *c = &pb->m->certificates[i];
		bool used = false;

		for (j = 0; j < pb->m->nservices && !used; j++)
			used = pb->m->services[j].certificate == c ||
			    pb->m->services[j].connect.certificate == c;
		for (j = 0; j < pb->m->nclients && !used; j++)
			for (role = 0; role < RK_FILE_ROLES && !used; role++)
				used = pb->m->clients[j].files[role].certificate == c;
		if (!used && c->name != NULL)
			rk_diags_warn(pb->d, c->pos,
			    "certificate '%s' is issued but no service or client installs it",
			    c->name);
	}
}

/*
 * A host no service or client is on (nor another host's jump) is in no step of the plan: the
 * run never logs in to it, which a reader of "every host answers" would not guess.
 */
static void
warn_idle_hosts(struct pb *pb)
{
	size_t i, j;

	for (i = 0; i < pb->m->nhosts; i++) {
		const struct rk_host *h = &pb->m->hosts[i];
		bool used = false;

		for (j = 0; j < pb->m->nservices && !used; j++)
			used = pb->m->services[j].host == h;
		for (j = 0; j < pb->m->nclients && !used; j++)
			used = pb->m->clients[j].host == h;
		for (j = 0; j < pb->m->nhosts && !used; j++)
			used = pb->m->hosts[j].jump == h;
		if (!used && h->name != NULL)
			rk_diags_warn(pb->d, h->pos, "host '%s' has no service or client: the run "
			    "does not contact it (only `rekey sweep` does)", h->name);
	}
}

/* record: the key that signs the incident record's manifest (default: the CA's). */
static void
parse_record(struct pb *pb, ynode *root)
{
	struct rk_record_spec *rec = &pb->m->record;
	ynode *map, *v;

	if ((map = rk_ynode_get(root, "record")) == NULL ||
	    (map = expect_map(pb, map, "record", record_keys)) == NULL)
		return;
	if ((v = rk_ynode_get(map, "signing_key")) != NULL &&
	    get_local_path(pb, v, "record signing_key", &rec->signing_key))
		check_local_file(pb, v, rec->signing_key, "record signing key",
		    LOCAL_FILE_PEM | LOCAL_FILE_PRIVATE);
	get_secret_ref(pb, map, "signing_key_passphrase", "record", &rec->signing_key_passphrase);
	if (rec->signing_key == NULL && (rec->signing_key_passphrase.env != NULL ||
	    rec->signing_key_passphrase.file != NULL))
		rk_diags_error(pb->d, map->pos, "record: a signing_key passphrase without "
		    "signing_key (the CA key's passphrase is ca.key_passphrase_*)");
}

/* passphrase_env / passphrase_file of sweep: one name or path, or a list of them. */
static void
get_sweep_passphrases(struct pb *pb, ynode *map, struct rk_sweep_spec *sw)
{
	ynode *env = rk_ynode_get(map, "passphrase_env"), *file = rk_ynode_get(map,
	    "passphrase_file");
	ynode *lists[2] = { env, file };
	size_t total = 0, k, i;

	for (k = 0; k < 2; k++)
		if (lists[k] != NULL)
			total += lists[k]->kind == RK_YNODE_SEQ ? lists[k]->n : 1;
	if (total == 0 || (sw->passphrases = pb_calloc(pb, total,
	    sizeof(*sw->passphrases))) == NULL)
		return;
	for (k = 0; k < 2; k++) {
		const struct rk_ynode *const *items;
		const struct rk_ynode *one[1] = { lists[k] };
		size_t count;

		if (lists[k] == NULL)
			continue;
		items = lists[k]->kind == RK_YNODE_SEQ ?
		    (const struct rk_ynode *const *)lists[k]->items : one;
		count = lists[k]->kind == RK_YNODE_SEQ ? lists[k]->n : 1;
		for (i = 0; i < count; i++) {
			struct rk_secret_ref *ref = &sw->passphrases[sw->npassphrases];

			if (k == 0) {
				if (!get_string(pb, items[i], "sweep passphrase_env", &ref->env))
					continue;
				if (!is_valid_env_name(ref->env)) {
					rk_diags_error(pb->d, items[i]->pos, "sweep passphrase_env is "
					    "not an environment variable name (letters, digits and '_'; "
					    "the value is not shown)");
					free(ref->env);
					ref->env = NULL;
					continue;
				}
				warn_env_secret(pb, items[i], "sweep passphrase_env", ref->env);
			} else {
				if (!get_local_path(pb, items[i], "sweep passphrase_file",
				    &ref->file))
					continue;
				check_local_file(pb, items[i], ref->file, "sweep passphrase_file",
				    LOCAL_FILE_PRIVATE | LOCAL_FILE_SECRET);
			}
			sw->npassphrases++;
		}
	}
}

/* sweep: where `rekey sweep` looks on every host, and how far. */
static void
parse_sweep(struct pb *pb, ynode *root)
{
	struct rk_sweep_spec *sw = &pb->m->sweep;
	ynode *map, *v;

	sw->max_depth = RK_SWEEP_DEPTH_DEFAULT;
	sw->max_files = RK_SWEEP_FILES_DEFAULT;
	sw->max_file_size = RK_SWEEP_SIZE_DEFAULT;
	sw->one_file_system = true;
	if ((map = rk_ynode_get(root, "sweep")) == NULL || rk_ynode_is_null(map) ||
	    (map = expect_map(pb, map, "sweep", sweep_keys)) == NULL)
		return;
	sw->pos = map->pos;
	if ((v = rk_ynode_get(map, "paths")) != NULL) {
		get_folders(pb, v, "sweep paths", &sw->paths, &sw->npaths);
		/* An empty list, not one whose folders were each refused already. */
		if (v->kind == RK_YNODE_SEQ && v->n == 0)
			rk_diags_error(pb->d, v->pos, "sweep paths is empty: leave it out for the "
			    "default folders");
	}
	if ((v = rk_ynode_get(map, "max_depth")) != NULL)
		(void)get_int(pb, v, "sweep max_depth", 1, RK_SWEEP_DEPTH_MAX, &sw->max_depth);
	if ((v = rk_ynode_get(map, "max_files")) != NULL)
		(void)get_int(pb, v, "sweep max_files", 1, RK_SWEEP_FILES_MAX, &sw->max_files);
	if ((v = rk_ynode_get(map, "max_file_size")) != NULL)
		(void)get_size(pb, v, "sweep max_file_size", RK_SWEEP_SIZE_MAX,
		    &sw->max_file_size);
	if ((v = rk_ynode_get(map, "one_file_system")) != NULL)
		(void)get_bool(pb, v, "sweep one_file_system", &sw->one_file_system);
	get_sweep_passphrases(pb, map, sw);
}

static void
parse_root(struct pb *pb, ynode *root)
{
	ynode *v;

	check_keys(pb, root, "the playbook", top_keys);
	if ((v = require(pb, root, "version", "playbook")) != NULL &&
	    get_int(pb, v, "version", INT_MIN, INT_MAX, &pb->m->version) && pb->m->version != 1)
		rk_diags_error(pb->d, v->pos,
		    "unsupported playbook version %d: this rekey reads version 1", pb->m->version);
	parse_incident(pb, root);
	parse_ca(pb, root);
	parse_revoke(pb, root);
	parse_certificates(pb, root);
	parse_hosts(pb, root);
	parse_services(pb, root);
	parse_clients(pb, root);
	parse_policy(pb, root);
	parse_record(pb, root);
	parse_sweep(pb, root);
	check_file_collisions(pb);
	warn_unused_certificates(pb);
	warn_idle_hosts(pb);
}

/* ---- entry points --------------------------------------------------------------- */

static bool
check_text(struct rk_diags *d, struct rk_bytes text)
{
	static const struct rk_pos whole_file = { 0, 0 };
	const unsigned char *nul;
	size_t bad;

	if (text.len == 0) {
		rk_diags_error(d, whole_file, "playbook is empty");
		return false;
	}
	if (text.len > RK_PLAYBOOK_MAX) {
		rk_diags_error(d, whole_file, "playbook is %zu bytes, over the limit of %d",
		    text.len, RK_PLAYBOOK_MAX);
		return false;
	}
	if ((nul = memchr(text.ptr, '\0', text.len)) != NULL) {
		rk_diags_error(d, rk_pos_at_offset(text.ptr, (size_t)(nul - text.ptr)),
		    "NUL byte: this is binary data, not a YAML playbook");
		return false;
	}
	if (!rk_utf8_is_valid(text.ptr, text.len, &bad)) {
		rk_diags_error(d, rk_pos_at_offset(text.ptr, bad),
		    "invalid UTF-8 (byte 0x%02x): a playbook is UTF-8 text", text.ptr[bad]);
		return false;
	}
	return true;
}

int
rk_playbook_parse(struct rk_model **out, const char *name, const char *base_dir,
    struct rk_bytes text, struct rk_diags *diags, struct rk_err *err)
{
	static const struct rk_ytree_limits limits = {
		RK_PLAYBOOK_DEPTH_MAX, RK_PLAYBOOK_NODES_MAX, RK_PLAYBOOK_STRING_MAX,
	};
	static const struct rk_pos whole_file = { 0, 0 };
	struct pb pb = { diags, NULL, base_dir, false };
	struct rk_ynode *root = NULL;
	int r = RK_E_USAGE;

	*out = NULL;
	/* Some editors start UTF-8 with a byte order mark; YAML allows it (YAML 1.2, 5.2). */
	if (text.len >= 3 && memcmp(text.ptr, "\xef\xbb\xbf", 3) == 0) {
		text.ptr += 3;
		text.len -= 3;
	}
	if (!check_text(diags, text))
		goto out;
	if (!rk_ytree_parse(&root, text, &limits, diags)) {
		pb.oom = true;
		goto out;
	}
	if (rk_diags_has_errors(diags))
		goto out;
	if (root == NULL || rk_ynode_is_null(root)) {
		rk_diags_error(diags, whole_file, "playbook is empty (no YAML document in it)");
		goto out;
	}
	if (root->kind != RK_YNODE_MAP) {
		rk_diags_error(diags, root->pos, "a playbook is a mapping of sections (version, ca, "
		    "hosts, ...), not a %s", rk_ynode_kind_name(root));
		goto out;
	}
	if ((pb.m = calloc(1, sizeof(*pb.m))) == NULL ||
	    (pb.m->playbook = strdup(name)) == NULL ||
	    (pb.m->base_dir = strdup(base_dir)) == NULL) {
		pb.oom = true;
		goto out;
	}
	parse_root(&pb, root);
	if (pb.oom || rk_diags_has_errors(diags))
		goto out;
	*out = pb.m;
	pb.m = NULL;
	r = 0;
 out:
	rk_diags_sort(diags);
	rk_ynode_free(root);
	rk_model_free(pb.m);
	if (pb.oom) {
		rk_diags_forget(diags);
		r = rk_fail_nomem(err);
	}
	return r;
}

int
rk_playbook_load(struct rk_model **out, const char *path, struct rk_diags *diags,
    struct rk_err *err)
{
	static const struct rk_pos nowhere = { 0, 0 };
	struct rk_err read_err = { 0 };
	const char *cause;
	struct stat st;
	struct rk_buf text;
	char *dir = NULL, *abs_dir = NULL;
	int r;

	*out = NULL;
	rk_buf_init(&text, RK_PLAYBOOK_MAX);
	if (rk_file_read(&text, path, RK_PLAYBOOK_MAX, &read_err) != 0) {
		if (read_err.code == RK_E_NOMEM) {
			r = rk_fail_nomem(err);
			goto out;
		}
		/* The reader's message starts with the path; the diag prints it already. */
		cause = read_err.msg;
		if (strncmp(cause, path, strlen(path)) == 0 && cause[strlen(path)] == ':')
			cause += strlen(path) + 2;
		if (read_err.code == RK_E_LIMIT && stat(path, &st) == 0)
			rk_diags_error(diags, nowhere, "playbook is %lld bytes, over the limit of %d",
			    (long long)st.st_size, RK_PLAYBOOK_MAX);
		else
			rk_diags_error(diags, nowhere, "%s", cause);
		r = RK_E_USAGE;
		goto out;
	}
	if ((r = rk_path_dirname(&dir, path, err)) != 0)
		goto out;
	/* Resolve the folder once, so paths in the plan do not depend on the cwd. */
	if ((abs_dir = realpath(dir, NULL)) == NULL) {
		r = rk_fail_errno(err, "%s", dir);
		goto out;
	}
	r = rk_playbook_parse(out, path, abs_dir, rk_buf_bytes(&text), diags, err);
 out:
	free(dir);
	free(abs_dir);
	rk_buf_clear(&text);
	return r;
}
