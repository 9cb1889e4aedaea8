/*
 * rekey sweep: copies of compromised material left on the estate. Two passes over the hosts,
 * each host on one session: first the files whose material is compromised are read (what the
 * playbook deploys, or the backups a run kept of it), so the set looked for is known whole;
 * then every host runs one bounded find and sends its candidate files back as a tar stream,
 * and every file is read into items (material.h) and matched here.
 */
#include "rekey/sweep.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rekey/archive.h"
#include "rekey/bytes.h"
#include "rekey/clock.h"
#include "rekey/digest.h"
#include "rekey/fsutil.h"
#include "rekey/strutil.h"
#include "rekey/workers.h"

/*
 * The host's side, run as `sh -c SCRIPT rekey-sweep ARGS...` with every value an argument,
 * never part of the script: $1 the size cap, $2 find's -maxdepth, $3 max_files, $4 "-xdev"
 * or "", $5 the cap on the tar stream, $6 the logins and owners whose homes are searched
 * (account names, checked here), then the folders. It prints NUL-terminated records, then
 * "E", then the tar stream of the candidates:
 *   H<folder>   a home folder added        M<folder>  a folder that is not there
 *   N<count>    regular files in reach, counted up to max_files + 1
 *   D<folder>   a folder that cannot be searched
 *   U<mode> <owner> <group> <size> <path>   a file that cannot be read
 *   B<mode> <owner> <group> <size> <path>   a key-like file over the size cap
 * Candidates are regular, readable files within the caps whose bytes grep finds a PEM
 * armour line in, or whose start looks like DER (as rk_material_sniff: a SEQUENCE with a
 * long, indefinite or plausible short length, then an INTEGER or SEQUENCE). find -P never
 * follows a symbolic link, so a link loop or a link out of the tree is never walked; sort -u
 * drops a file reached from two folders.
 */
static const char remote_script[] =
    "set -f\n"
    "LC_ALL=C\n"
    "export LC_ALL\n"
    "cap=$1 depth=$2 max=$3 xdev=$4 limit=$5 users=$6\n"
    "shift 6\n"
    "for u in $users; do\n"
    "\th=$(getent passwd \"$u\" | cut -d: -f6)\n"
    "\tif [ -n \"$h\" ] && [ \"$h\" != / ] && [ -d \"$h\" ]; then\n"
    "\t\tset -- \"$@\" \"$h\"\n"
    "\t\tprintf 'H%s\\000' \"$h\"\n"
    "\tfi\n"
    "done\n"
    "for r in \"$@\"; do [ -d \"$r\" ] || printf 'M%s\\000' \"$r\"; done\n"
    "n=$(find -P \"$@\" $xdev -maxdepth \"$depth\" -type f -printf . 2>/dev/null |\n"
    "\thead -c \"$((max + 1))\" | wc -c)\n"
    "printf 'N%s\\000' \"$n\"\n"
    "find -P \"$@\" $xdev -maxdepth \"$depth\" \\( -type d ! \\( -readable -executable \\)"
    " -printf 'D%p\\000' \\) -o \\( -type f \\( ! -readable"
    " -printf 'U%m %u %g %s %p\\000' -o -size +\"$cap\"c \\( -name '*.pem' -o -name '*.key'"
    " -o -name '*.crt' -o -name '*.cer' -o -name '*.der' -o -name '*.p12' -o -name '*.pfx'"
    " -o -name '*.p8' -o -name '*.pk8' -o -name '*.jks' -o -name '*.keystore'"
    " -o -name '*.env' -o -name '.env' \\) -printf 'B%m %u %g %s %p\\000' \\) \\)"
    " 2>/dev/null | head -z -n 2000\n"
    "printf 'E\\000'\n"
    "long=$(printf '^0[\\200-\\204]')\n"
    "short=$(printf '^0[(-\\177][\\0020]')\n"
    "find -P \"$@\" $xdev -maxdepth \"$depth\" -type f -readable -size -\"$((cap + 1))\"c"
    " -print0 2>/dev/null | sort -zu | head -z -n \"$max\" |\n"
    "\txargs -0r grep -lZa -e -----BEGIN -e \"$long\" -e \"$short\" -- 2>/dev/null |\n"
    "\ttar --null --no-recursion -P -T - -cf - 2>/dev/null | head -c \"$limit\"\n";

/* Bytes kept for the records before "E" (2000 paths at most), beside the tar stream. */
#define HEADER_MAX	(2u * 1024 * 1024)

const char *
rk_sweep_class_name(enum rk_sweep_class c)
{
	switch (c) {
	case RK_SWEEP_COMPROMISED:	return "compromised";
	case RK_SWEEP_EXPOSED:		return "exposed";
	case RK_SWEEP_UNREADABLE:	return "unreadable";
	case RK_SWEEP_TOO_LARGE:	return "too-large";
	}
	return "?";
}

const char *
rk_sweep_kind_name(enum rk_sweep_kind k)
{
	switch (k) {
	case RK_SWEEP_KEY:		return "key";
	case RK_SWEEP_CERTIFICATE:	return "certificate";
	case RK_SWEEP_CA:		return "ca";
	}
	return "?";
}

/* ---- the folders of a host ---------------------------------------------------------------- */

static int
add_folder(char ***v, size_t *n, size_t *cap, const char *path, size_t len, struct rk_err *err)
{
	char *copy, **grown;
	size_t i;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0 || path[0] != '/')
		return 0;
	for (i = 0; i < *n; i++)
		if (strlen((*v)[i]) == len && memcmp((*v)[i], path, len) == 0)
			return 0;
	if (*n == *cap) {
		size_t want = *cap == 0 ? 8 : *cap * 2;

		if ((grown = reallocarray(*v, want, sizeof(*grown))) == NULL)
			return rk_fail_nomem(err);
		*v = grown;
		*cap = want;
	}
	if ((copy = strndup(path, len)) == NULL)
		return rk_fail_nomem(err);
	(*v)[(*n)++] = copy;
	return 0;
}

static int
add_parent(char ***v, size_t *n, size_t *cap, const char *file, struct rk_err *err)
{
	const char *slash;

	if (file == NULL || (slash = strrchr(file, '/')) == NULL)
		return 0;
	return add_folder(v, n, cap, file, slash == file ? 1 : (size_t)(slash - file), err);
}

/* Whether folder lies inside other (or is it). */
static bool
is_inside(const char *folder, const char *other)
{
	size_t n = strlen(other);

	if (strcmp(other, "/") == 0)
		return true;
	return strncmp(folder, other, n) == 0 && (folder[n] == '\0' || folder[n] == '/');
}

static int
by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
rk_sweep_folders(char ***out, size_t *nout, const struct rk_model *m, const struct rk_host *host,
    const char *const *paths, size_t npaths, struct rk_err *err)
{
	static const char *const defaults[] = { RK_SWEEP_DEFAULT_PATHS };
	const char *const *base = paths;
	char **v = NULL;
	size_t n = 0, cap = 0, nbase = npaths, i, j, role, kept;
	int r = 0;

	*out = NULL;
	*nout = 0;
	if (base == NULL || nbase == 0) {
		base = m->sweep.npaths > 0 ? (const char *const *)m->sweep.paths : defaults;
		nbase = m->sweep.npaths > 0 ? m->sweep.npaths : sizeof(defaults) / sizeof(*defaults);
	}
	for (i = 0; i < nbase && r == 0; i++)
		r = add_folder(&v, &n, &cap, base[i], strlen(base[i]), err);
	for (i = 0; i < m->nservices && r == 0; i++)
		for (role = 0; role < RK_FILE_ROLES && r == 0; role++)
			if (m->services[i].host == host)
				r = add_parent(&v, &n, &cap, m->services[i].files[role].path, err);
	for (i = 0; i < m->nclients && r == 0; i++) {
		if (m->clients[i].host != host)
			continue;
		r = add_parent(&v, &n, &cap, m->clients[i].path, err);
		for (role = 0; role < RK_FILE_ROLES && r == 0; role++)
			r = add_parent(&v, &n, &cap, m->clients[i].files[role].path, err);
	}
	for (i = 0; i < host->nsweep_paths && r == 0; i++)
		r = add_folder(&v, &n, &cap, host->sweep_paths[i], strlen(host->sweep_paths[i]),
		    err);
	if (r != 0)
		goto fail;
	/* A folder inside another is searched from the outer one already. */
	if (n > 1)
		qsort(v, n, sizeof(*v), by_string);
	for (i = 0, kept = 0; i < n; i++) {
		bool nested = false;

		for (j = 0; j < kept && !nested; j++)
			nested = is_inside(v[i], v[j]);
		if (nested)
			free(v[i]);
		else
			v[kept++] = v[i];
	}
	*out = v;
	*nout = kept;
	return 0;
 fail:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return r;
}

/* ---- the work ------------------------------------------------------------------------------ */

/*
 * What a file's bytes held, by their SHA-256: estates repeat files (the distribution's CA
 * store, one bundle copied to every host), and reading one again costs key decoding and,
 * for encrypted keys and PKCS#12, the passphrases' key derivation. Bytes only: the owner,
 * mode and path of each copy are its own.
 */
#define SEEN_BUCKETS	4096
#define SEEN_MAX	200000

struct seen {
	struct seen		*next;
	char			 sha256[RK_SHA256_HEX];
	struct rk_material	 mat;
};

/* A private key item no target matched, kept for the last pass (keys of serial matches). */
struct leftover {
	size_t			 host;
	char			*path;
	char			 owner[64];
	char			 group[64];
	mode_t			 mode;
	unsigned long long	 size;
	struct rk_material_item	 item;
};

struct job {
	const struct rk_sweep_request	*req;
	struct rk_sweep_report		*report;
	struct rk_transport		**transports;
	struct rk_material_opts		 opts;
	pthread_mutex_t			 lock;
	struct leftover			*left;
	size_t				 nleft, left_alloc;
	size_t				 findings_alloc;
	int				 error;		/* RK_E_NOMEM from a worker */
	struct seen			*seen[SEEN_BUCKETS];
	size_t				 nseen;
	bool				 serial_targets;	/* some target is a bare serial */
};

/* One host's pass over its tar stream. */
struct host_pass {
	struct job		*job;
	size_t			 host;
	int			 error;
};

static void
note_oom(struct job *job)
{
	pthread_mutex_lock(&job->lock);
	job->error = RK_E_NOMEM;
	pthread_mutex_unlock(&job->lock);
}

static const char *
managed_label(const struct rk_sweep_request *req, const struct rk_host *h, const char *path)
{
	size_t i;

	for (i = 0; i < req->nmanaged; i++)
		if (req->managed[i].host == h && strcmp(req->managed[i].path, path) == 0)
			return req->managed[i].label;
	return NULL;
}

/* Adds a finding (report->findings grows under the lock); path copied. */
static int
add_finding(struct job *job, const struct rk_sweep_finding *f)
{
	struct rk_sweep_report *r = job->report;
	struct rk_sweep_finding *grown;
	int rc = 0;

	pthread_mutex_lock(&job->lock);
	if (r->nfindings == job->findings_alloc) {
		size_t want = job->findings_alloc == 0 ? 16 : job->findings_alloc * 2;

		if ((grown = reallocarray(r->findings, want, sizeof(*grown))) == NULL) {
			rc = RK_E_NOMEM;
			goto out;
		}
		r->findings = grown;
		job->findings_alloc = want;
	}
	r->findings[r->nfindings] = *f;
	if ((r->findings[r->nfindings].path = strdup(f->path)) == NULL) {
		rc = RK_E_NOMEM;
		goto out;
	}
	r->nfindings++;
 out:
	pthread_mutex_unlock(&job->lock);
	return rc;
}

static bool
is_private(const struct rk_material_item *it)
{
	return it->kind == RK_MATERIAL_PRIVATE_KEY || it->kind == RK_MATERIAL_ENCRYPTED_KEY;
}

/*
 * Which target an item is, and how: the CA's own key or certificate, or a certificate it
 * issued; a certificate by its fingerprint; anything holding a compromised public key; a
 * certificate by issuer and serial. Exact fingerprints first, so a bundle's certificate is
 * named for itself, not for another of the same key.
 */
static int
match_item(const struct rk_sweep_report *r, const struct rk_material_item *it,
    const char **how)
{
	bool cert = it->kind == RK_MATERIAL_CERTIFICATE;
	size_t i;

	for (i = 0; i < r->ntargets && cert && it->fingerprint[0] != '\0'; i++)
		if (r->targets[i].fingerprint[0] != '\0' &&
		    strcmp(r->targets[i].fingerprint, it->fingerprint) == 0) {
			*how = "certificate";
			return (int)i;
		}
	for (i = 0; i < r->ntargets && it->spki_sha256[0] != '\0'; i++)
		if (r->targets[i].spki_sha256[0] != '\0' &&
		    strcmp(r->targets[i].spki_sha256, it->spki_sha256) == 0) {
			*how = cert ? "certificate" : "key";
			return (int)i;
		}
	for (i = 0; i < r->ntargets && cert; i++) {
		const struct rk_sweep_target *t = &r->targets[i];

		if (t->kind == RK_SWEEP_CA && it->issued_by >= 0 && it->issued_by == t->ca_index) {
			*how = "issued-by-ca";
			return (int)i;
		}
		if (t->serial[0] != '\0' && strcmp(t->serial, it->serial) == 0 &&
		    strcmp(t->issuer, it->issuer) == 0) {
			*how = "serial";
			return (int)i;
		}
	}
	return -1;
}

static int
keep_leftover(struct job *job, const struct rk_sweep_finding *f)
{
	struct leftover *grown, *l;
	int rc = 0;

	pthread_mutex_lock(&job->lock);
	if (job->nleft == job->left_alloc) {
		size_t want = job->left_alloc == 0 ? 16 : job->left_alloc * 2;

		if ((grown = reallocarray(job->left, want, sizeof(*grown))) == NULL) {
			rc = RK_E_NOMEM;
			goto out;
		}
		job->left = grown;
		job->left_alloc = want;
	}
	l = &job->left[job->nleft];
	memset(l, 0, sizeof(*l));
	if ((l->path = strdup(f->path)) == NULL) {
		rc = RK_E_NOMEM;
		goto out;
	}
	l->host = f->host;
	memcpy(l->owner, f->owner, sizeof(l->owner));
	memcpy(l->group, f->group, sizeof(l->group));
	l->mode = f->mode;
	l->size = f->size;
	l->item = f->item;
	job->nleft++;
 out:
	pthread_mutex_unlock(&job->lock);
	return rc;
}

static unsigned
seen_bucket(const char *hex)
{
	return (unsigned)strtoul((char[4]){ hex[0], hex[1], hex[2], '\0' }, NULL, 16) %
	    SEEN_BUCKETS;
}

static int
material_copy(struct rk_material *out, const struct rk_material *in)
{
	*out = *in;
	out->items = NULL;
	if (in->n == 0)
		return 0;
	if ((out->items = calloc(in->n, sizeof(*out->items))) == NULL)
		return RK_E_NOMEM;
	memcpy(out->items, in->items, in->n * sizeof(*out->items));
	return 0;
}

/* What data holds: read once per distinct content, then copied from the cache. */
static int
read_material(struct job *job, struct rk_material *out, struct rk_bytes data)
{
	struct rk_err err = { 0 };
	char hex[RK_SHA256_HEX];
	struct seen *e, *add;
	unsigned b;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (rk_sha256_hex(hex, data, &err) != 0)
		return RK_E_NOMEM;
	b = seen_bucket(hex);
	pthread_mutex_lock(&job->lock);
	for (e = job->seen[b]; e != NULL && strcmp(e->sha256, hex) != 0; e = e->next)
		;
	if (e != NULL)
		rc = material_copy(out, &e->mat);
	pthread_mutex_unlock(&job->lock);
	if (e != NULL || rc != 0)
		return rc;
	if (rk_material_read(out, data, &job->opts, &err) != 0) {
		rk_material_clear(out);
		/* Over a limit: not material. */
		return err.code == RK_E_NOMEM ? RK_E_NOMEM : 0;
	}
	if ((add = calloc(1, sizeof(*add))) == NULL)
		return RK_E_NOMEM;
	memcpy(add->sha256, hex, sizeof(hex));
	if (material_copy(&add->mat, out) != 0) {
		free(add);
		return RK_E_NOMEM;
	}
	pthread_mutex_lock(&job->lock);
	if (job->nseen < SEEN_MAX) {
		add->next = job->seen[b];
		job->seen[b] = add;
		job->nseen++;
		add = NULL;
	}
	pthread_mutex_unlock(&job->lock);
	if (add != NULL) {
		rk_material_clear(&add->mat);
		free(add);
	}
	return 0;
}

static int
each_file(void *arg, const struct rk_tar_file *file)
{
	struct host_pass *hp = arg;
	struct job *job = hp->job;
	const struct rk_host *h = &job->req->model->hosts[hp->host];
	struct rk_material mat;
	size_t i;
	int rc = 0;

	job->report->hosts[hp->host].files_read++;
	if ((rc = read_material(job, &mat, file->data)) != 0)
		return rc;
	for (i = 0; i < mat.n && rc == 0; i++) {
		struct rk_sweep_finding f = { 0 };

		f.host = hp->host;
		f.path = (char *)file->path;
		rk_strlcpy(f.owner, file->owner, sizeof(f.owner));
		rk_strlcpy(f.group, file->group, sizeof(f.group));
		f.mode = (mode_t)file->mode;
		f.size = file->size;
		f.has_item = true;
		f.item = mat.items[i];
		f.world_readable = is_private(&f.item) && (f.mode & 004) != 0;
		f.managed = managed_label(job->req, h, file->path);
		f.target = match_item(job->report, &f.item, &f.match);
		if (f.target >= 0)
			f.cls = RK_SWEEP_COMPROMISED;
		else if (f.world_readable)
			f.cls = RK_SWEEP_EXPOSED;
		if (f.target >= 0 || f.world_readable)
			rc = add_finding(job, &f);
		/* Kept only for what the last pass can still match: a key whose certificate may
		 * turn up by serial, or a locked key that a compromised file's name may pair. */
		if (rc == 0 && f.target < 0 && is_private(&f.item) &&
		    (f.item.spki_sha256[0] != '\0' ? job->serial_targets :
		    f.item.kind == RK_MATERIAL_ENCRYPTED_KEY))
			rc = keep_leftover(job, &f);
	}
	rk_material_clear(&mat);
	return rc;
}

/* ---- a host's records ----------------------------------------------------------------------- */

static int
add_string(char ***v, size_t *n, const char *s, size_t len)
{
	char **grown, *copy;

	if ((grown = reallocarray(*v, *n + 1, sizeof(*grown))) == NULL)
		return RK_E_NOMEM;
	*v = grown;
	if ((copy = strndup(s, len)) == NULL)
		return RK_E_NOMEM;
	(*v)[(*n)++] = copy;
	return 0;
}

/*
 * Whether a file's name says it may hold key material or a secret-bearing configuration:
 * an unreadable one of these is listed; others (a database's own files) are only counted.
 */
static bool
looks_like_key_file(const char *path)
{
	static const char *const suffixes[] = {
		".pem", ".key", ".crt", ".cer", ".der", ".p12", ".pfx", ".p8", ".pk8", ".jks",
		".keystore", ".env", ".conf", ".cnf", ".ini", ".yml", ".yaml", ".json", ".pub",
	};
	const char *base = strrchr(path, '/'), *dot;
	size_t i;

	base = base != NULL ? base + 1 : path;
	if (strncmp(base, "id_", 3) == 0 || strcmp(base, ".env") == 0 ||
	    strstr(base, "key") != NULL)
		return true;
	if ((dot = strrchr(base, '.')) == NULL)
		return false;
	for (i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++)
		if (strcasecmp(dot, suffixes[i]) == 0)
			return true;
	return false;
}

/* "MODE OWNER GROUP SIZE PATH": a file find could not read, or one too large. */
static int
file_record(struct job *job, size_t host, enum rk_sweep_class cls, const char *rec)
{
	struct rk_sweep_finding f = { 0 };
	char owner[64], group[64];
	unsigned mode;
	unsigned long long size;
	int used = 0;

	if (sscanf(rec, "%o %63s %63s %llu %n", &mode, owner, group, &size, &used) != 4 ||
	    used == 0 || rec[used] != '/')
		return 0;
	if (cls == RK_SWEEP_UNREADABLE && !looks_like_key_file(rec + used)) {
		job->report->hosts[host].unreadable_other++;
		return 0;
	}
	f.host = host;
	f.path = (char *)rec + used;
	rk_strlcpy(f.owner, owner, sizeof(f.owner));
	rk_strlcpy(f.group, group, sizeof(f.group));
	f.mode = (mode_t)(mode & 07777);
	f.size = size;
	f.cls = cls;
	f.target = -1;
	f.managed = managed_label(job->req, &job->req->model->hosts[host], f.path);
	return add_finding(job, &f);
}

/* Reads the records before "E"; *rest is where the tar stream begins. */
static int
read_records(struct job *job, size_t host, struct rk_bytes out, struct rk_bytes *rest)
{
	struct rk_sweep_host *sh = &job->report->hosts[host];
	const char *p = (const char *)out.ptr, *end = p + out.len, *nul;
	int rc = 0;

	*rest = (struct rk_bytes){ NULL, 0 };
	while (p < end && rc == 0) {
		if ((nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
			break;
		switch (p[0]) {
		case 'E':
			*rest = (struct rk_bytes){ (const unsigned char *)nul + 1,
			    (size_t)(end - nul - 1) };
			return 0;
		case 'H':
			rc = add_string(&sh->folders, &sh->nfolders, p + 1, (size_t)(nul - p - 1));
			break;
		case 'M':
			rc = add_string(&sh->missing, &sh->nmissing, p + 1, (size_t)(nul - p - 1));
			break;
		case 'N':
			sh->files_seen = strtoul(p + 1, NULL, 10);
			break;
		case 'D': {
			struct rk_sweep_finding f = { 0 };

			f.host = host;
			f.path = (char *)p + 1;
			f.cls = RK_SWEEP_UNREADABLE;
			f.is_folder = true;
			f.target = -1;
			rc = add_finding(job, &f);
			break;
		}
		case 'U':
			rc = file_record(job, host, RK_SWEEP_UNREADABLE, p + 1);
			break;
		case 'B':
			rc = file_record(job, host, RK_SWEEP_TOO_LARGE, p + 1);
			break;
		default:
			break;
		}
		p = nul + 1;
	}
	/* No "E": the output stopped before the list; nothing after it can be trusted. */
	return rc;
}

static bool
is_account(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= 32 && s[0] != '-' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int
add_user(struct rk_buf *users, const char *name, struct rk_err *err)
{
	char word[40];

	if (!is_account(name))
		return 0;
	snprintf(word, sizeof(word), " %s ", name);
	if (users->len > 0 && strstr((const char *)users->ptr, word) != NULL)
		return 0;
	return rk_buf_printf(users, err, "%s%s ", users->len == 0 ? " " : "", name);
}

/* The login and every owner the playbook names on host: their homes are searched too. */
static int
users_of(struct rk_buf *users, const struct rk_model *m, const struct rk_host *host,
    struct rk_err *err)
{
	size_t i, role;
	int r = 0;

	if (host->user != NULL)
		r = add_user(users, host->user, err);
	else if (getenv("USER") != NULL)
		r = add_user(users, getenv("USER"), err);
	for (i = 0; i < m->nservices && r == 0; i++)
		for (role = 0; role < RK_FILE_ROLES && r == 0; role++)
			if (m->services[i].host == host)
				r = add_user(users, m->services[i].files[role].owner, err);
	for (i = 0; i < m->nclients && r == 0; i++)
		for (role = 0; role < RK_FILE_ROLES && r == 0; role++)
			if (m->clients[i].host == host)
				r = add_user(users, m->clients[i].files[role].owner, err);
	return r;
}

/* What host i's command printed: its records, then its candidates, each matched. */
static void
take_output(struct job *job, size_t i, struct rk_bytes out, int exit_status)
{
	const struct rk_model *m = job->req->model;
	struct rk_sweep_host *sh = &job->report->hosts[i];
	struct host_pass hp = { job, i, 0 };
	struct rk_err err = { 0 };
	struct rk_bytes tar;
	size_t skipped = 0;
	bool complete = false;

	if (read_records(job, i, out, &tar) != 0) {
		note_oom(job);
		return;
	}
	if (tar.ptr == NULL) {
		snprintf(sh->error, sizeof(sh->error), "the host's search ended before its list "
		    "(exit status %d)", exit_status);
		return;
	}
	if (rk_tar_each(tar, (size_t)m->sweep.max_file_size, each_file, &hp, &complete,
	    &skipped, &err) != 0) {
		note_oom(job);
		return;
	}
	sh->swept = true;
	sh->truncated = sh->files_seen > (size_t)m->sweep.max_files || !complete ||
	    tar.len >= RK_SWEEP_OUTPUT_MAX;
}

static void
sweep_host(struct job *job, size_t i)
{
	const struct rk_sweep_request *req = job->req;
	const struct rk_model *m = req->model;
	const struct rk_host *h = &m->hosts[i];
	struct rk_sweep_host *sh = &job->report->hosts[i];
	struct rk_transport *t = job->transports[i];
	struct rk_run_result res;
	struct rk_buf users;
	struct rk_err err = { 0 };
	char cap[32], depth[16], max[16], limit[32];
	const char **argv = NULL;
	char **folders = NULL;
	size_t nfolders = 0, k, n = 0;
	long long started = rk_clock_ms();
	int r;

	rk_run_result_init(&res);
	rk_buf_init(&users, 64 * 1024);
	if (req->outputs != NULL) {
		take_output(job, i, req->outputs[i], 0);
		goto out;
	}
	if (t == NULL)
		goto out;	/* phase one said why */
	if ((r = rk_sweep_folders(&folders, &nfolders, m, h, req->paths, req->npaths, &err)) != 0 ||
	    (r = users_of(&users, m, h, &err)) != 0 ||
	    (argv = calloc(nfolders + 12, sizeof(*argv))) == NULL) {
		note_oom(job);
		goto out;
	}
	snprintf(cap, sizeof(cap), "%lld", m->sweep.max_file_size);
	snprintf(depth, sizeof(depth), "%d", m->sweep.max_depth);
	snprintf(max, sizeof(max), "%d", m->sweep.max_files);
	snprintf(limit, sizeof(limit), "%u", RK_SWEEP_OUTPUT_MAX);
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = remote_script;
	argv[n++] = "rekey-sweep";
	argv[n++] = cap;
	argv[n++] = depth;
	argv[n++] = max;
	argv[n++] = m->sweep.one_file_system ? "-xdev" : "";
	argv[n++] = limit;
	argv[n++] = users.len > 0 ? (const char *)users.ptr : "";
	for (k = 0; k < nfolders; k++) {
		argv[n++] = folders[k];
		if (add_string(&sh->folders, &sh->nfolders, folders[k], strlen(folders[k])) != 0) {
			note_oom(job);
			goto out;
		}
	}
	argv[n] = NULL;
	if ((r = t->ops->run_capped(&res, t, argv, h->sudo, RK_SWEEP_OUTPUT_MAX + HEADER_MAX,
	    &err)) != 0) {
		snprintf(sh->error, sizeof(sh->error), "%s", err.msg);
		goto out;
	}
	take_output(job, i, rk_buf_bytes(&res.out), res.exit_status);
 out:
	sh->seconds = (double)(rk_clock_ms() - started) / 1000.0;
	free(argv);
	for (k = 0; k < nfolders; k++)
		free(folders[k]);
	free(folders);
	rk_buf_clear(&users);
	rk_run_result_clear(&res);
}

/* ---- phase one: what is compromised, read where it lies ----------------------------------- */

static bool
same_target(const struct rk_sweep_target *a, const struct rk_sweep_target *b)
{
	return strcmp(a->spki_sha256, b->spki_sha256) == 0 &&
	    strcmp(a->fingerprint, b->fingerprint) == 0 && strcmp(a->serial, b->serial) == 0 &&
	    a->kind == b->kind;
}

static int
add_target(struct rk_sweep_report *r, const struct rk_sweep_target *t)
{
	struct rk_sweep_target *grown;
	size_t i;

	for (i = 0; i < r->ntargets; i++)
		if (same_target(&r->targets[i], t))
			return 0;
	if ((grown = reallocarray(r->targets, r->ntargets + 1, sizeof(*grown))) == NULL)
		return RK_E_NOMEM;
	r->targets = grown;
	r->targets[r->ntargets++] = *t;
	return 0;
}

static int
add_note(struct rk_sweep_report *r, const char *text)
{
	return add_string(&r->notes, &r->nnotes, text, strlen(text));
}

static void
read_sources(struct job *job, size_t i)
{
	const struct rk_sweep_request *req = job->req;
	const struct rk_host *h = &req->model->hosts[i];
	struct rk_sweep_host *sh = &job->report->hosts[i];
	struct rk_err err = { 0 };
	struct rk_transport *t = NULL;
	size_t k, j;
	char note[900];

	if (req->outputs != NULL)
		return;
	if (req->open(&t, h, req->payload, &err) != 0) {
		snprintf(sh->error, sizeof(sh->error), "%s", err.msg);
		return;
	}
	job->transports[i] = t;
	for (k = 0; k < req->nsources; k++) {
		const struct rk_sweep_source *src = &req->sources[k];
		struct rk_buf data;
		struct rk_material mat;

		if (src->host != h)
			continue;
		rk_buf_init(&data, RK_REMOTE_FILE_MAX);
		memset(&mat, 0, sizeof(mat));
		if (t->ops->read_file(&data, t, src->path, RK_REMOTE_FILE_MAX, &err) != 0 ||
		    rk_material_read(&mat, rk_buf_bytes(&data), &job->opts, &err) != 0) {
			snprintf(note, sizeof(note), "%s (%s on %s) could not be read, so what it "
			    "held is not looked for: %s", src->path, src->what, h->name, err.msg);
			pthread_mutex_lock(&job->lock);
			if (add_note(job->report, note) != 0)
				job->error = RK_E_NOMEM;
			pthread_mutex_unlock(&job->lock);
		}
		rk_buf_clear(&data);
		for (j = 0; j < mat.n; j++) {
			struct rk_sweep_target tg;
			const struct rk_material_item *it = &mat.items[j];

			if (it->spki_sha256[0] == '\0' && it->fingerprint[0] == '\0')
				continue;
			memset(&tg, 0, sizeof(tg));
			tg.kind = it->kind == RK_MATERIAL_CERTIFICATE ? RK_SWEEP_CERTIFICATE :
			    RK_SWEEP_KEY;
			tg.ca_index = -1;
			rk_strlcpy(tg.name, src->name, sizeof(tg.name));
			snprintf(tg.source, sizeof(tg.source), "%s %s on %s", src->what, src->path,
			    h->name);
			memcpy(tg.spki_sha256, it->spki_sha256, sizeof(tg.spki_sha256));
			memcpy(tg.fingerprint, it->fingerprint, sizeof(tg.fingerprint));
			pthread_mutex_lock(&job->lock);
			if (add_target(job->report, &tg) != 0)
				job->error = RK_E_NOMEM;
			pthread_mutex_unlock(&job->lock);
		}
		rk_material_clear(&mat);
	}
}

static void
worker_sources(void *arg, size_t i)
{
	read_sources(arg, i);
}

static void
worker_sweep(void *arg, size_t i)
{
	sweep_host(arg, i);
}

/* ---- the last pass ------------------------------------------------------------------------- */

/*
 * A certificate found by its serial (revoke: serial) or a key learnt late names a public key
 * that was not known when the hosts were read: the private keys left over are matched again.
 */
/* Whether a and b differ only after their last '.' in the same folder ("db.key", "db.crt"). */
static bool
same_stem(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	const char *da, *db;
	size_t la, lb;

	sa = sa != NULL ? sa : a;
	sb = sb != NULL ? sb : b;
	da = strrchr(sa, '.');
	db = strrchr(sb, '.');
	la = da != NULL && da > sa + 1 ? (size_t)(da - a) : strlen(a);
	lb = db != NULL && db > sb + 1 ? (size_t)(db - b) : strlen(b);
	return la == lb && memcmp(a, b, la) == 0;
}

/* Whether leftover l is the key of compromised finding f: by its public key, or, locked
 * and so without one, by a name it shares with f in the same folder. */
static const char *
leftover_match(const struct leftover *l, const struct rk_sweep_finding *f)
{
	if (f->cls != RK_SWEEP_COMPROMISED || !f->has_item || f->host != l->host)
		return NULL;
	if (l->item.spki_sha256[0] != '\0')
		return strcmp(f->match, "serial") == 0 &&
		    strcmp(f->item.spki_sha256, l->item.spki_sha256) == 0 ? "key" : NULL;
	if (l->item.kind == RK_MATERIAL_ENCRYPTED_KEY && strcmp(f->path, l->path) != 0 &&
	    same_stem(f->path, l->path))
		return "beside";
	return NULL;
}

static int
match_leftovers(struct job *job)
{
	struct rk_sweep_report *r = job->report;
	size_t i, j, nfound = r->nfindings;
	int rc = 0;

	for (i = 0; i < job->nleft && rc == 0; i++) {
		struct leftover *l = &job->left[i];

		for (j = 0; j < nfound; j++) {
			const struct rk_sweep_finding *f = &r->findings[j];
			struct rk_sweep_finding add = { 0 };

			const char *how = leftover_match(l, f);

			if (how == NULL)
				continue;
			add.host = l->host;
			add.path = l->path;
			memcpy(add.owner, l->owner, sizeof(add.owner));
			memcpy(add.group, l->group, sizeof(add.group));
			add.mode = l->mode;
			add.size = l->size;
			add.has_item = true;
			add.item = l->item;
			add.cls = RK_SWEEP_COMPROMISED;
			add.target = f->target;
			add.match = how;
			add.world_readable = (l->mode & 004) != 0;
			add.managed = managed_label(job->req, &job->req->model->hosts[l->host],
			    l->path);
			/* The key was counted exposed when it is world-readable: now it is worse. */
			for (size_t k = 0; k < r->nfindings; k++) {
				struct rk_sweep_finding *e = &r->findings[k];

				if (e->cls != RK_SWEEP_EXPOSED || e->host != l->host ||
				    strcmp(e->path, l->path) != 0 ||
				    strcmp(e->item.spki_sha256, l->item.spki_sha256) != 0)
					continue;
				e->cls = RK_SWEEP_COMPROMISED;
				e->target = f->target;
				e->match = how;
			}
			if (add.world_readable)
				break;	/* changed in place above */
			rc = add_finding(job, &add);
			break;
		}
	}
	return rc;
}

/* Targets in a fixed order whatever the hosts' timing: by name, then key before certificate. */
static int
by_name(const void *a, const void *b)
{
	const struct rk_sweep_target *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (int)x->kind - (int)y->kind;
}

static int
by_place(const void *a, const void *b)
{
	const struct rk_sweep_finding *x = a, *y = b;
	int c;

	if (x->host != y->host)
		return x->host < y->host ? -1 : 1;
	if ((c = strcmp(x->path, y->path)) != 0)
		return c;
	if (x->item.line != y->item.line)
		return x->item.line < y->item.line ? -1 : 1;
	return (int)x->cls - (int)y->cls;
}

int
rk_sweep_run(struct rk_sweep_report *out, const struct rk_sweep_request *req,
    struct rk_err *err)
{
	const struct rk_model *m = req->model;
	struct job job;
	size_t i;
	int r = 0;

	memset(out, 0, sizeof(*out));
	memset(&job, 0, sizeof(job));
	if (req->open == NULL && req->outputs == NULL)
		return rk_fail(err, RK_E_USAGE, "sweep: no way to reach the hosts");
	job.req = req;
	job.report = out;
	job.opts.passphrases = req->passphrases;
	job.opts.npassphrases = req->npassphrases;
	job.opts.issuers = req->cas;
	job.opts.nissuers = req->ncas;
	pthread_mutex_init(&job.lock, NULL);
	out->nhosts = m->nhosts;
	if ((out->hosts = calloc(m->nhosts + 1, sizeof(*out->hosts))) == NULL ||
	    (job.transports = calloc(m->nhosts + 1, sizeof(*job.transports))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	(void)rk_workers_run(m->nhosts, req->max_parallel, worker_sources, &job);
	/* After the sources, so an item both name keeps the playbook's name for it. */
	for (i = 0; i < req->ntargets && job.error == 0; i++)
		if (add_target(out, &req->targets[i]) != 0)
			job.error = RK_E_NOMEM;
	if (out->ntargets > 1)
		qsort(out->targets, out->ntargets, sizeof(*out->targets), by_name);
	for (i = 0; i < out->ntargets; i++)
		job.serial_targets |= out->targets[i].serial[0] != '\0';
	if (job.error == 0)
		(void)rk_workers_run(m->nhosts, req->max_parallel, worker_sweep, &job);
	if (job.error == 0 && match_leftovers(&job) != 0)
		job.error = RK_E_NOMEM;
	if (job.error != 0) {
		r = rk_fail_nomem(err);
		goto out;
	}
	if (out->nfindings > 1)
		qsort(out->findings, out->nfindings, sizeof(*out->findings), by_place);
	for (i = 0; i < out->nfindings; i++)
		out->counts[out->findings[i].cls]++;
	for (i = 0; i < m->nhosts; i++) {
		bool hit = false;

		out->hosts_swept += out->hosts[i].swept;
		for (size_t k = 0; k < out->nfindings && !hit; k++)
			hit = out->findings[k].host == i &&
			    out->findings[k].cls == RK_SWEEP_COMPROMISED;
		out->hosts_with_compromised += hit;
	}
 out:
	for (i = 0; i < job.nleft; i++)
		free(job.left[i].path);
	free(job.left);
	for (i = 0; i < SEEN_BUCKETS; i++) {
		struct seen *e = job.seen[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			rk_material_clear(&e->mat);
			free(e);
		}
	}
	for (i = 0; job.transports != NULL && i < m->nhosts; i++)
		rk_transport_free(job.transports[i]);
	free(job.transports);
	pthread_mutex_destroy(&job.lock);
	if (r != 0)
		rk_sweep_report_clear(out);
	return r;
}

void
rk_sweep_report_clear(struct rk_sweep_report *r)
{
	size_t i, k;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfindings; i++)
		free(r->findings[i].path);
	free(r->findings);
	for (i = 0; r->hosts != NULL && i < r->nhosts; i++) {
		for (k = 0; k < r->hosts[i].nfolders; k++)
			free(r->hosts[i].folders[k]);
		free(r->hosts[i].folders);
		for (k = 0; k < r->hosts[i].nmissing; k++)
			free(r->hosts[i].missing[k]);
		free(r->hosts[i].missing);
	}
	free(r->hosts);
	free(r->targets);
	for (i = 0; i < r->nnotes; i++)
		free(r->notes[i]);
	free(r->notes);
	memset(r, 0, sizeof(*r));
}

/* ---- advice -------------------------------------------------------------------------------- */

void
rk_sweep_advice(char *buf, size_t size, const struct rk_sweep_report *r,
    const struct rk_sweep_finding *f)
{
	const struct rk_sweep_target *t = f->target >= 0 ? &r->targets[f->target] : NULL;
	bool key = f->has_item && is_private(&f->item);

	switch (f->cls) {
	case RK_SWEEP_COMPROMISED:
		if (f->managed != NULL && strstr(f->managed, "backup") != NULL)
			snprintf(buf, size, "a backup rekey kept for rollback: remove it once the "
			    "incident is closed and no rollback is wanted");
		else if (f->managed != NULL)
			snprintf(buf, size, "a file the playbook manages: `rekey run` replaces it");
		else if (t != NULL && t->kind == RK_SWEEP_CA && strcmp(f->match, "issued-by-ca") == 0)
			snprintf(buf, size, "issued by the compromised CA: replace it with one of the "
			    "new CA (add its path to the playbook and run), or remove it");
		else if (t != NULL && t->kind == RK_SWEEP_CA)
			snprintf(buf, size, key ? "the compromised CA's private key: remove it at "
			    "once (shred) and find how it got here" : "the compromised CA's "
			    "certificate: remove it from this trust file, or trust stays with the "
			    "old CA");
		else if (key)
			snprintf(buf, size, "a copy of a compromised private key: remove it (shred), "
			    "or, if something loads it, add the path to the playbook and `rekey run` "
			    "to replace it");
		else
			snprintf(buf, size, "a compromised certificate: remove it, or add the path to "
			    "the playbook and `rekey run` to replace it");
		break;
	case RK_SWEEP_EXPOSED:
		snprintf(buf, size, "any user of the host can read this private key: chmod 0600 "
		    "(and chown to the service that loads it); treat it as leaked if others log in "
		    "there");
		break;
	case RK_SWEEP_UNREADABLE:
		snprintf(buf, size, f->is_folder ? "this folder could not be searched: give the "
		    "login sudo (sudo: true) or sweep it as its owner" : "this file could not be "
		    "read: give the login sudo (sudo: true), or check it by hand");
		break;
	case RK_SWEEP_TOO_LARGE:
		snprintf(buf, size, "over sweep.max_file_size, not read: check it by hand or raise "
		    "the cap");
		break;
	}
}
