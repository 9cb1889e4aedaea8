/*
 * The incident record's container (archive.h): a gzip'ed pax tar written in memory, then put
 * in place all at once; read back with gzip and tar alone, every size bounded.
 */
#include "rekey/archive.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "rekey/digest.h"
#include "rekey/fsutil.h"
#include "rekey/secret.h"

#define NAME_MAX_LEN	255
#define FOLDER_MAX_LEN	100
#define SIGNER_NAME	"signer.pub"
#define MANIFEST_NAME	"MANIFEST.sha256"
#define SIG_NAME	"MANIFEST.sig"
#define TIMELINE_NAME	"timeline.jsonl"
#define PLAYBOOK_NAME	"playbook.yml"

struct member {
	char		*name;		/* relative to the folder */
	struct rk_buf	 data;
};

struct members {
	struct member	*v;
	size_t		 n, cap;
	size_t		 total;		/* bytes of data, all members */
};

struct rk_archive {
	char			*folder;
	struct members		 members;
	struct rk_secret	*forbidden;
	size_t			 nforbidden;
};

/* ---- members ------------------------------------------------------------------------ */

static void
members_clear(struct members *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].name);
		rk_buf_clear(&m->v[i].data);	/* wiped: a refused member may be a secret */
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static const struct member *
members_find(const struct members *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].name, name) == 0)
			return &m->v[i];
	return NULL;
}

/* Takes a new slot at the end, its name a copy of name and its data empty (capped). */
static int
members_push(struct member **out, struct members *m, const char *name, size_t cap,
    struct rk_err *err)
{
	struct member *v;

	if (m->n == m->cap) {
		size_t ncap = m->cap == 0 ? 16 : m->cap * 2;

		if ((v = reallocarray(m->v, ncap, sizeof(*v))) == NULL)
			return rk_fail_nomem(err);
		m->v = v;
		m->cap = ncap;
	}
	v = &m->v[m->n];
	if ((v->name = strdup(name)) == NULL)
		return rk_fail_nomem(err);
	rk_buf_init(&v->data, cap);
	m->n++;
	*out = v;
	return 0;
}

static bool
is_reserved(const char *name)
{
	return strcmp(name, SIGNER_NAME) == 0 || strcmp(name, MANIFEST_NAME) == 0 ||
	    strcmp(name, SIG_NAME) == 0;
}

/*
 * Whether name can be a member's path below the folder, and a line of MANIFEST.sha256 that
 * sha256sum reads back as it is: no control character and no backslash (sha256sum escapes
 * those), no leading '/', no empty, "." or ".." part.
 */
static bool
is_safe_name(const char *name)
{
	const char *p, *part = name;
	size_t len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (p = name; ; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - part);

			if (n == 0 || (n == 1 && part[0] == '.') ||
			    (n == 2 && part[0] == '.' && part[1] == '.'))
				return false;
			if (*p == '\0')
				return true;
			part = p + 1;
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
			return false;
		}
	}
}

/* ---- the writer --------------------------------------------------------------------- */

int
rk_archive_new(struct rk_archive **out, const char *folder, struct rk_err *err)
{
	struct rk_archive *a;

	*out = NULL;
	if (strchr(folder, '/') != NULL || strlen(folder) > FOLDER_MAX_LEN ||
	    !is_safe_name(folder))
		return rk_fail(err, RK_E_USAGE, "an archive's folder must be one plain name of at "
		    "most %d bytes, not \"%s\"", FOLDER_MAX_LEN, folder);
	if ((a = calloc(1, sizeof(*a))) == NULL || (a->folder = strdup(folder)) == NULL) {
		free(a);
		return rk_fail_nomem(err);
	}
	*out = a;
	return 0;
}

void
rk_archive_free(struct rk_archive *a)
{
	size_t i;

	if (a == NULL)
		return;
	members_clear(&a->members);
	for (i = 0; i < a->nforbidden; i++)
		rk_secret_clear(&a->forbidden[i]);
	free(a->forbidden);
	free(a->folder);
	free(a);
}

/*
 * Whether data holds the start of private-key PEM: "-----BEGIN " followed on its line by
 * "PRIVATE KEY-----" (PKCS#8, encrypted PKCS#8, RSA, EC, DSA, OpenSSH: every form ends so).
 */
static bool
has_private_key_pem(struct rk_bytes data)
{
	static const char begin[] = "-----BEGIN ", tail[] = "PRIVATE KEY-----";
	const unsigned char *p = data.ptr, *end = data.ptr + data.len, *eol;

	if (data.len == 0)
		return false;
	while ((p = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1)) != NULL) {
		p += sizeof(begin) - 1;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (memmem(p, (size_t)(eol - p), tail, sizeof(tail) - 1) != NULL)
			return true;
	}
	return false;
}

/* The refusal of archive.h: name is the member's, for the message (never the secret). */
static int
check_no_secret(const struct rk_archive *a, const char *name, struct rk_bytes data,
    struct rk_err *err)
{
	size_t i;

	if (has_private_key_pem(data))
		return rk_fail(err, RK_E_USAGE, "%s: holds a private key (PEM); a record never "
		    "takes one", name);
	for (i = 0; i < a->nforbidden; i++) {
		const struct rk_secret *s = &a->forbidden[i];

		if ((data.len > 0 && memmem(data.ptr, data.len, s->ptr, s->len) != NULL) ||
		    memmem(name, strlen(name), s->ptr, s->len) != NULL)
			return rk_fail(err, RK_E_USAGE, "%s: holds the value of a secret this run "
			    "read; a record never takes one", name);
	}
	return 0;
}

int
rk_archive_add(struct rk_archive *a, const char *name, struct rk_bytes data,
    struct rk_err *err)
{
	struct member *m;
	int r;

	if (!is_safe_name(name))
		return rk_fail(err, RK_E_USAGE, "\"%s\" cannot be a member's name (relative, no "
		    "\"..\", no empty part, no control character or backslash, at most %d bytes)",
		    name, NAME_MAX_LEN);
	if (is_reserved(name))
		return rk_fail(err, RK_E_USAGE, "%s: a name the archive writes itself", name);
	if (members_find(&a->members, name) != NULL)
		return rk_fail(err, RK_E_USAGE, "%s: added twice", name);
	if (data.len > RK_ARCHIVE_MEMBER_MAX || a->members.n + 1 + 3 > RK_ARCHIVE_MEMBERS_MAX ||
	    data.len > RK_ARCHIVE_TOTAL_MAX - a->members.total)
		return rk_fail(err, RK_E_LIMIT, "%s: over the bounds a reader accepts", name);
	if ((r = check_no_secret(a, name, data, err)) != 0)
		return r;
	if ((r = members_push(&m, &a->members, name, RK_ARCHIVE_MEMBER_MAX, err)) != 0 ||
	    (r = rk_buf_append(&m->data, data.ptr, data.len, err)) != 0)
		return r;
	a->members.total += data.len;
	return 0;
}

int
rk_archive_forbid(struct rk_archive *a, struct rk_bytes secret, struct rk_err *err)
{
	struct rk_secret *v;

	if (secret.len < 4)
		return rk_fail(err, RK_E_USAGE, "a secret of %zu bytes is too short to look for "
		    "in a record (it would match by chance)", secret.len);
	if ((v = reallocarray(a->forbidden, a->nforbidden + 1, sizeof(*v))) == NULL)
		return rk_fail_nomem(err);
	a->forbidden = v;
	v[a->nforbidden] = (struct rk_secret){ NULL, 0 };
	if (rk_secret_set(&v[a->nforbidden], secret.ptr, secret.len, err) != 0)
		return RK_E_NOMEM;
	a->nforbidden++;
	return 0;
}

/* The `sha256sum` lines over every member so far, in order. */
static int
build_manifest(struct rk_buf *out, const struct members *m, struct rk_err *err)
{
	char hex[RK_SHA256_HEX];
	size_t i;
	int r = 0;

	rk_buf_init(out, (size_t)RK_ARCHIVE_MEMBERS_MAX * (NAME_MAX_LEN + 68));
	for (i = 0; i < m->n && r == 0; i++)
		if ((r = rk_sha256_hex(hex, rk_buf_bytes(&m->v[i].data), err)) == 0)
			r = rk_buf_printf(out, err, "%s  %s\n", hex, m->v[i].name);
	return r;
}

/* libarchive's output, into an rk_buf capped at the reader's total bound. */
static la_ssize_t
write_to_buf(struct archive *ar, void *payload, const void *data, size_t len)
{
	struct rk_buf *buf = payload;

	if (rk_buf_append(buf, data, len, NULL) != 0) {
		archive_set_error(ar, ENOMEM, "the archive is over %u bytes", RK_ARCHIVE_TOTAL_MAX);
		return -1;
	}
	return (la_ssize_t)len;
}

static int
fail_archive(struct rk_err *err, struct archive *ar, const char *what)
{
	const char *msg = archive_error_string(ar);

	return rk_fail(err, RK_E_SYS, "%s: %s", what, msg != NULL ? msg : "libarchive failed");
}

/* The tar.gz of every member under folder/, 0644, mtime now, in order. */
static int
pack(struct rk_buf *out, const char *folder, const struct members *m, struct rk_err *err)
{
	struct archive_entry *e = NULL;
	struct archive *ar = NULL;
	char path[FOLDER_MAX_LEN + 1 + NAME_MAX_LEN + 1];
	time_t now = time(NULL);
	size_t i;
	int r = 0;

	rk_buf_init(out, RK_ARCHIVE_TOTAL_MAX);
	if ((ar = archive_write_new()) == NULL || (e = archive_entry_new()) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	/* pax restricted: ustar headers, a pax header only where ustar cannot say it. */
	if (archive_write_add_filter_gzip(ar) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(ar, 1) != ARCHIVE_OK ||
	    archive_write_open2(ar, out, NULL, write_to_buf, NULL, NULL) != ARCHIVE_OK) {
		r = fail_archive(err, ar, "cannot start the archive");
		goto out;
	}
	for (i = 0; i < m->n; i++) {
		const struct member *mem = &m->v[i];

		(void)snprintf(path, sizeof(path), "%s/%s", folder, mem->name);
		archive_entry_clear(e);
		archive_entry_set_pathname(e, path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)mem->data.len);
		archive_entry_set_mtime(e, now, 0);
		if (archive_write_header(ar, e) != ARCHIVE_OK ||
		    (mem->data.len > 0 && archive_write_data(ar, mem->data.ptr, mem->data.len) !=
		    (la_ssize_t)mem->data.len)) {
			r = fail_archive(err, ar, mem->name);
			goto out;
		}
	}
	if (archive_write_close(ar) != ARCHIVE_OK)
		r = fail_archive(err, ar, "cannot finish the archive");
 out:
	archive_entry_free(e);
	archive_write_free(ar);
	return r;
}

int
rk_archive_write(struct rk_archive *a, const char *path, const struct rk_key *signer,
    struct rk_err *err)
{
	struct rk_buf pub = { 0 }, manifest = { 0 }, sig = { 0 }, tgz = { 0 };
	struct member *m;
	size_t i, n = a->members.n;
	int r;

	/* Again: a secret forbidden after its member was added must still keep it out. */
	for (i = 0; i < n; i++)
		if ((r = check_no_secret(a, a->members.v[i].name,
		    rk_buf_bytes(&a->members.v[i].data), err)) != 0)
			goto out;
	if ((r = rk_key_public_pem(&pub, signer, err)) != 0 ||
	    (r = members_push(&m, &a->members, SIGNER_NAME, RK_PEM_MAX, err)) != 0 ||
	    (r = rk_buf_append(&m->data, pub.ptr, pub.len, err)) != 0 ||
	    (r = build_manifest(&manifest, &a->members, err)) != 0 ||
	    (r = rk_key_sign_sha256(&sig, signer, rk_buf_bytes(&manifest), err)) != 0 ||
	    (r = members_push(&m, &a->members, MANIFEST_NAME, manifest.cap, err)) != 0 ||
	    (r = rk_buf_append(&m->data, manifest.ptr, manifest.len, err)) != 0 ||
	    (r = members_push(&m, &a->members, SIG_NAME, sig.cap, err)) != 0 ||
	    (r = rk_buf_append(&m->data, sig.ptr, sig.len, err)) != 0 ||
	    (r = pack(&tgz, a->folder, &a->members, err)) != 0 ||
	    (r = rk_file_replace_private(path, rk_buf_bytes(&tgz), err)) != 0)
		goto out;
 out:
	/* The sealing members go again: the archive may take more members and be written anew. */
	while (a->members.n > n) {
		a->members.n--;
		free(a->members.v[a->members.n].name);
		rk_buf_clear(&a->members.v[a->members.n].data);
	}
	rk_buf_clear(&pub);
	rk_buf_clear(&manifest);
	rk_buf_clear(&sig);
	rk_buf_clear(&tgz);
	return r;
}

/* ---- the reader --------------------------------------------------------------------- */

/* Copies s into out for a message, every byte that is not printable ASCII as '?'. */
static const char *
printable(char *out, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		out[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ? '?' : s[i];
	out[i] = '\0';
	return out;
}

/*
 * Checks an entry's path and gives the member name below the top folder (*rel points into
 * path), or NULL for the folder itself; the first entry names the folder (*top). problem
 * gets what is wrong.
 */
static bool
entry_name(const char **rel, char *top, size_t topsize, const char *path, bool is_dir,
    char *problem, size_t psize)
{
	char shown[300], name[FOLDER_MAX_LEN + 1 + NAME_MAX_LEN + 2];
	const char *slash;
	size_t len = strlen(path), flen;

	printable(shown, sizeof(shown), path);
	if (len >= sizeof(name)) {
		snprintf(problem, psize, "a member's name is over %d bytes", NAME_MAX_LEN);
		return false;
	}
	memcpy(name, path, len + 1);
	/* A folder's entry may end in '/', as tar writes it. */
	if (is_dir && len > 1 && name[len - 1] == '/')
		name[--len] = '\0';
	if (name[0] == '/') {
		snprintf(problem, psize, "%s: an absolute name", shown);
		return false;
	}
	if (!is_safe_name(name)) {
		snprintf(problem, psize, "%s: a name with \"..\", an empty or \".\" part or a "
		    "control character", shown);
		return false;
	}
	slash = strchr(path, '/');
	flen = slash != NULL ? (size_t)(slash - path) : len;
	if (top[0] == '\0') {
		if (flen > FOLDER_MAX_LEN || flen >= topsize) {
			snprintf(problem, psize, "%s: the top folder's name is too long", shown);
			return false;
		}
		memcpy(top, path, flen);
		top[flen] = '\0';
	}
	if (flen != strlen(top) || strncmp(path, top, flen) != 0) {
		snprintf(problem, psize, "%s: outside the archive's one folder %s", shown, top);
		return false;
	}
	if (flen == len) {
		if (!is_dir) {
			snprintf(problem, psize, "%s: a file where the archive's folder should be",
			    shown);
			return false;
		}
		*rel = NULL;
		return true;
	}
	*rel = path + flen + 1;
	return true;
}

/* Reads the entry's data into m, counting what is really read against the bounds. */
static int
read_data(struct member *m, struct archive *ar, struct members *all, char *problem,
    size_t psize, struct rk_err *err)
{
	unsigned char chunk[65536];
	char shown[300];
	la_ssize_t n;
	int rc;

	for (;;) {
		if ((n = archive_read_data(ar, chunk, sizeof(chunk))) == 0)
			break;
		if (n < 0) {
			const char *msg = archive_error_string(ar);

			snprintf(problem, psize, "%s: cannot be read: %s",
			    printable(shown, sizeof(shown), m->name),
			    msg != NULL ? msg : "damaged archive");
			break;
		}
		if ((size_t)n > RK_ARCHIVE_TOTAL_MAX - all->total) {
			snprintf(problem, psize, "%s: over the bounds (all members at most %u "
			    "bytes)", printable(shown, sizeof(shown), m->name),
			    RK_ARCHIVE_TOTAL_MAX);
			break;
		}
		/* The cap is the size its header gave: the bytes that come must agree. */
		if ((rc = rk_buf_append(&m->data, chunk, (size_t)n, NULL)) == RK_E_LIMIT) {
			snprintf(problem, psize, "%s: more bytes than its header says",
			    printable(shown, sizeof(shown), m->name));
			break;
		}
		if (rc != 0) {
			explicit_bzero(chunk, sizeof(chunk));
			return rk_fail_nomem(err);
		}
		all->total += (size_t)n;
	}
	explicit_bzero(chunk, sizeof(chunk));
	return 0;
}

/*
 * Reads every regular member of archive into out, within the bounds. Returns 0 with problem
 * empty when all was read, 0 with problem set when the bytes are not an archive this module
 * accepts, an error only when out of memory.
 */
static int
read_members(struct members *out, struct rk_bytes archive, char *problem, size_t psize,
    struct rk_err *err)
{
	struct archive_entry *e;
	struct archive *ar = NULL;
	char top[FOLDER_MAX_LEN + 1] = "", shown[300];
	size_t entries = 0;
	int r = 0, rc;

	memset(out, 0, sizeof(*out));
	problem[0] = '\0';
	if ((ar = archive_read_new()) == NULL)
		return rk_fail_nomem(err);
	/* gzip and tar only: no other filter or format widens what hostile bytes can reach. */
	if (archive_read_support_filter_gzip(ar) != ARCHIVE_OK ||
	    archive_read_support_format_tar(ar) != ARCHIVE_OK ||
	    archive_read_open_memory(ar, archive.ptr != NULL ? archive.ptr : (const void *)"",
	    archive.len) != ARCHIVE_OK) {
		snprintf(problem, psize, "not a tar.gz archive: %s",
		    archive_error_string(ar) != NULL ? archive_error_string(ar) : "unreadable");
		goto out;
	}
	for (;;) {
		const char *path, *rel;
		struct member *m;
		mode_t type;
		la_int64_t size;

		if ((rc = archive_read_next_header(ar, &e)) == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK) {
			snprintf(problem, psize, "not a tar.gz archive%s: %s",
			    entries > 0 ? " past its first members" : "",
			    archive_error_string(ar) != NULL ? archive_error_string(ar) :
			    "damaged");
			goto out;
		}
		/* Not a plain tar (an uncompressed one): refused, a record is gzip'ed. */
		if (archive_filter_count(ar) < 2 || archive_filter_code(ar, 0) !=
		    ARCHIVE_FILTER_GZIP) {
			snprintf(problem, psize, "not a tar.gz archive: not gzip-compressed");
			goto out;
		}
		if (++entries > RK_ARCHIVE_MEMBERS_MAX) {
			snprintf(problem, psize, "more than %d entries", RK_ARCHIVE_MEMBERS_MAX);
			goto out;
		}
		if ((path = archive_entry_pathname(e)) == NULL) {
			snprintf(problem, psize, "a member's name cannot be read");
			goto out;
		}
		type = archive_entry_filetype(e);
		if (!entry_name(&rel, top, sizeof(top), path, type == AE_IFDIR, problem, psize))
			goto out;
		printable(shown, sizeof(shown), path);
		if (archive_entry_hardlink(e) != NULL || archive_entry_symlink(e) != NULL ||
		    (type != AE_IFREG && type != AE_IFDIR)) {
			snprintf(problem, psize, "%s: not a regular file (a link, a device or a "
			    "FIFO)", shown);
			goto out;
		}
		if (type == AE_IFDIR) {
			if (rel != NULL && members_find(out, rel) != NULL) {
				snprintf(problem, psize, "%s: both a file and a folder", shown);
				goto out;
			}
			continue;	/* tar writes folders' entries; they hold nothing */
		}
		if (archive_entry_sparse_count(e) > 0) {
			snprintf(problem, psize, "%s: a sparse file", shown);
			goto out;
		}
		if (members_find(out, rel) != NULL) {
			snprintf(problem, psize, "%s: twice in the archive", shown);
			goto out;
		}
		/* Sizes are checked before a byte is read; what is read is counted too. */
		size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
		if (size < 0 || (uint64_t)size > RK_ARCHIVE_MEMBER_MAX ||
		    (uint64_t)size > RK_ARCHIVE_TOTAL_MAX - out->total) {
			snprintf(problem, psize, "%s: %lld bytes, over the bounds (a member at "
			    "most %u bytes, all at most %u)", shown, (long long)size,
			    RK_ARCHIVE_MEMBER_MAX, RK_ARCHIVE_TOTAL_MAX);
			goto out;
		}
		if ((r = members_push(&m, out, rel, (size_t)size, err)) != 0 ||
		    (r = read_data(m, ar, out, problem, psize, err)) != 0 || problem[0] != '\0')
			goto out;
		if (m->data.len != (size_t)size) {
			snprintf(problem, psize, "%s: %zu bytes where its header says %lld",
			    shown, m->data.len, (long long)size);
			goto out;
		}
	}
	if (entries == 0)
		snprintf(problem, psize, "an empty archive");
 out:
	archive_read_free(ar);
	if (r != 0 || problem[0] != '\0')
		members_clear(out);
	return r;
}

int
rk_archive_read_member(struct rk_buf *out, struct rk_bytes archive, const char *name,
    struct rk_err *err)
{
	struct members all = { 0 };
	const struct member *m;
	char problem[600], shown[300];
	int r;

	rk_buf_init(out, RK_ARCHIVE_MEMBER_MAX);
	if ((r = read_members(&all, archive, problem, sizeof(problem), err)) != 0)
		return r;
	if (problem[0] != '\0')
		r = rk_fail(err, RK_E_USAGE, "%s", problem);
	else if ((m = members_find(&all, name)) == NULL)
		r = rk_fail(err, RK_E_USAGE, "%s is not in the archive",
		    printable(shown, sizeof(shown), name));
	else
		r = rk_buf_append(out, m->data.ptr, m->data.len, err);
	members_clear(&all);
	return r;
}

int
rk_archive_first_missing(const char **missing, struct rk_bytes archive,
    const char *const *names, size_t n, struct rk_err *err)
{
	struct members all = { 0 };
	char problem[600];
	size_t i;
	int r;

	*missing = NULL;
	if ((r = read_members(&all, archive, problem, sizeof(problem), err)) != 0)
		return r;
	if (problem[0] != '\0')
		r = rk_fail(err, RK_E_USAGE, "%s", problem);
	for (i = 0; r == 0 && *missing == NULL && i < n; i++)
		if (members_find(&all, names[i]) == NULL)
			*missing = names[i];
	members_clear(&all);
	return r;
}

/* ---- the checks --------------------------------------------------------------------- */

struct listed {
	char	*name;
	char	 hex[RK_SHA256_HEX];
	bool	 seen;
};

static bool
is_lower_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/*
 * Parses MANIFEST.sha256 as `sha256sum -c` reads what sha256sum writes ("HEX  NAME" or
 * "HEX *NAME", one a line). problem names the line that is not so.
 */
static int
parse_manifest(struct listed **out, size_t *nout, struct rk_bytes text, char *problem,
    size_t psize, struct rk_err *err)
{
	const unsigned char *p = text.ptr, *end = text.ptr + text.len, *eol;
	struct listed *v = NULL, *nv;
	size_t n = 0, line = 0, i;
	char shown[300];
	int r = 0;

	*out = NULL;
	*nout = 0;
	while (p < end) {
		size_t len;
		char *name;

		line++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		len = (size_t)(eol - p);
		if (len < 67 || len > 66 + NAME_MAX_LEN || !is_lower_hex((const char *)p, 64) ||
		    p[64] != ' ' || (p[65] != ' ' && p[65] != '*') ||
		    memchr(p, '\0', len) != NULL) {
			snprintf(problem, psize, "MANIFEST.sha256 line %zu: not \"SHA-256  NAME\"",
			    line);
			goto out;
		}
		if ((name = strndup((const char *)p + 66, len - 66)) == NULL) {
			r = rk_fail_nomem(err);
			goto out;
		}
		printable(shown, sizeof(shown), name);
		for (i = 0; i < n; i++)
			if (strcmp(v[i].name, name) == 0)
				break;
		if (i < n || !is_safe_name(name) || strcmp(name, MANIFEST_NAME) == 0 ||
		    strcmp(name, SIG_NAME) == 0) {
			snprintf(problem, psize, "MANIFEST.sha256 line %zu: %s %s", line, shown,
			    i < n ? "is listed twice" : !is_safe_name(name) ?
			    "cannot be a member's name" :
			    "cannot be listed (it is what is sealed)");
			free(name);
			goto out;
		}
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL) {
			free(name);
			r = rk_fail_nomem(err);
			goto out;
		}
		v = nv;
		v[n].name = name;
		memcpy(v[n].hex, p, 64);
		v[n].hex[64] = '\0';
		v[n].seen = false;
		n++;
		p = eol < end ? eol + 1 : end;
	}
 out:
	*out = v;
	*nout = n;
	return r;
}

static void
listed_free(struct listed *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Every member listed with its digest, every listed name a member. bad_member: the first
 * whose digest is wrong, for the caller to refine. */
static int
check_manifest(bool *ok, const struct member **bad_member, const struct members *all,
    struct rk_bytes manifest, char *problem, size_t psize, struct rk_err *err)
{
	struct listed *v = NULL;
	char hex[RK_SHA256_HEX], shown[300];
	size_t n = 0, i, j;
	int r;

	*ok = false;
	*bad_member = NULL;
	if ((r = parse_manifest(&v, &n, manifest, problem, psize, err)) != 0 ||
	    problem[0] != '\0')
		goto out;
	for (i = 0; i < all->n; i++) {
		const struct member *m = &all->v[i];

		if (strcmp(m->name, MANIFEST_NAME) == 0 || strcmp(m->name, SIG_NAME) == 0)
			continue;
		printable(shown, sizeof(shown), m->name);
		for (j = 0; j < n && strcmp(v[j].name, m->name) != 0; j++)
			;
		if (j == n) {
			snprintf(problem, psize, "%s is not listed in MANIFEST.sha256", shown);
			goto out;
		}
		v[j].seen = true;
		if ((r = rk_sha256_hex(hex, rk_buf_bytes(&m->data), err)) != 0)
			goto out;
		if (strcmp(hex, v[j].hex) != 0) {
			snprintf(problem, psize, "%s: its SHA-256 is not the one MANIFEST.sha256 "
			    "lists", shown);
			*bad_member = m;
			goto out;
		}
	}
	for (j = 0; j < n; j++)
		if (!v[j].seen) {
			snprintf(problem, psize, "MANIFEST.sha256 lists %s which is not in the "
			    "archive", printable(shown, sizeof(shown), v[j].name));
			goto out;
		}
	*ok = true;
 out:
	listed_free(v, n);
	return r;
}

/* MANIFEST.sig with pubkey (given) or signer.pub; out->signer gets the key's fingerprint. */
static int
check_signature(struct rk_archive_check *out, const struct members *all,
    const struct rk_bytes *pubkey, char *problem, size_t psize, struct rk_err *err)
{
	const struct member *man = members_find(all, MANIFEST_NAME);
	const struct member *sig = members_find(all, SIG_NAME);
	const struct member *spub = members_find(all, SIGNER_NAME);
	char fp[RK_KEY_FINGERPRINT_LEN], spub_fp[RK_KEY_FINGERPRINT_LEN];
	struct rk_err kerr = { 0 };
	struct rk_bytes key;
	const char *whose = pubkey != NULL ? "the key given" : SIGNER_NAME;
	bool ok = false;
	int r;

	out->signature_ok = false;
	if (man == NULL || sig == NULL || spub == NULL) {
		snprintf(problem, psize, "%s is missing", man == NULL ? MANIFEST_NAME :
		    sig == NULL ? SIG_NAME : SIGNER_NAME);
		return 0;
	}
	key = pubkey != NULL ? *pubkey : rk_buf_bytes(&spub->data);
	if (rk_public_key_fingerprint(fp, key, &kerr) != 0) {
		if (kerr.code == RK_E_NOMEM)
			return rk_fail_nomem(err);
		snprintf(problem, psize, "%s: %s", whose, kerr.msg);
		return 0;
	}
	snprintf(out->signer, sizeof(out->signer), "%s", fp);
	if ((r = rk_public_key_verify_sha256(&ok, key, rk_buf_bytes(&man->data),
	    rk_buf_bytes(&sig->data), &kerr)) != 0) {
		if (kerr.code == RK_E_NOMEM)
			return rk_fail_nomem(err);
		snprintf(problem, psize, "%s: %s", whose, kerr.msg);
		return 0;
	}
	if (!ok) {
		snprintf(problem, psize, "MANIFEST.sig does not verify with %s (SHA256 %s)",
		    whose, fp);
		return 0;
	}
	/* Signed by the key given, yet naming another as its signer: the record misleads. */
	if (pubkey != NULL && (rk_public_key_fingerprint(spub_fp, rk_buf_bytes(&spub->data),
	    &kerr) != 0 || strcmp(spub_fp, fp) != 0)) {
		snprintf(problem, psize, "signer.pub is not the key given (SHA256 %s), though "
		    "MANIFEST.sig verifies with it", fp);
		return 0;
	}
	out->signature_ok = true;
	return 0;
}

#define TL_LINE	"timeline.jsonl line %zu: "

/* timeline.jsonl's hash chain, from playbook.yml's digest. */
static int
check_chain(bool *ok, const struct members *all, char *problem, size_t psize,
    struct rk_err *err)
{
	const struct member *tl = members_find(all, TIMELINE_NAME);
	const struct member *pb = members_find(all, PLAYBOOK_NAME);
	const unsigned char *p, *end, *eol;
	char prev[RK_SHA256_HEX];
	size_t line = 0;
	int r;

	*ok = false;
	if (tl == NULL) {
		*ok = true;
		return 0;
	}
	if (pb == NULL) {
		snprintf(problem, psize, "timeline.jsonl is there but playbook.yml, where its "
		    "chain starts, is not");
		return 0;
	}
	if ((r = rk_sha256_hex(prev, rk_buf_bytes(&pb->data), err)) != 0)
		return r;
	p = tl->data.ptr;
	end = p + tl->data.len;
	while (p < end) {
		json_error_t jerr;
		json_t *obj;
		const char *got;
		bool same;
		size_t len;

		line++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		len = (size_t)(eol - p);
		obj = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
		got = json_string_value(json_object_get(obj, "prev"));
		same = json_is_object(obj) && got != NULL && strcmp(got, prev) == 0;
		if (!json_is_object(obj))
			snprintf(problem, psize, TL_LINE "not a JSON object", line);
		else if (got == NULL)
			snprintf(problem, psize, TL_LINE "no string \"prev\"", line);
		else if (!same && line == 1)
			snprintf(problem, psize, TL_LINE "its prev is not the SHA-256 of "
			    "playbook.yml", line);
		else if (!same)
			snprintf(problem, psize, TL_LINE "its prev is not the SHA-256 of line %zu",
			    line, line - 1);
		json_decref(obj);
		if (!same)
			return 0;
		if ((r = rk_sha256_hex(prev, (struct rk_bytes){ p, len }, err)) != 0)
			return r;
		p = eol < end ? eol + 1 : end;
	}
	*ok = true;
	return 0;
}

int
rk_archive_verify(struct rk_archive_check *out, struct rk_bytes archive,
    const struct rk_bytes *pubkey_pem, struct rk_err *err)
{
	struct members all = { 0 };
	const struct member *man, *bad = NULL;
	char mprob[600] = "", sprob[600] = "", cprob[600] = "";
	int r;

	memset(out, 0, sizeof(*out));
	out->key_given = pubkey_pem != NULL;
	if ((r = read_members(&all, archive, out->problem, sizeof(out->problem), err)) != 0 ||
	    out->problem[0] != '\0')
		goto out;
	out->members = all.n;
	if ((man = members_find(&all, MANIFEST_NAME)) == NULL)
		snprintf(mprob, sizeof(mprob), "MANIFEST.sha256 is missing");
	else if ((r = check_manifest(&out->manifest_ok, &bad, &all, rk_buf_bytes(&man->data),
	    mprob, sizeof(mprob), err)) != 0)
		goto out;
	if ((r = check_signature(out, &all, pubkey_pem, sprob, sizeof(sprob), err)) != 0 ||
	    (r = check_chain(&out->chain_ok, &all, cprob, sizeof(cprob), err)) != 0)
		goto out;
	/*
	 * The first problem, in the order manifest, signature, chain; but when the member whose
	 * digest is wrong is the timeline and its chain breaks, the line is the better name.
	 */
	if (!out->manifest_ok && !(bad != NULL && strcmp(bad->name, TIMELINE_NAME) == 0 &&
	    !out->chain_ok))
		snprintf(out->problem, sizeof(out->problem), "%s", mprob);
	else if (!out->manifest_ok)
		snprintf(out->problem, sizeof(out->problem), "%s", cprob);
	else if (!out->signature_ok)
		snprintf(out->problem, sizeof(out->problem), "%s", sprob);
	else if (!out->chain_ok)
		snprintf(out->problem, sizeof(out->problem), "%s", cprob);
	out->ok = out->manifest_ok && out->signature_ok && out->chain_ok;
 out:
	members_clear(&all);		/* wiped */
	if (r != 0) {
		out->ok = false;
		if (out->problem[0] == '\0')
			snprintf(out->problem, sizeof(out->problem), "%s",
			    err != NULL ? err->msg : "out of memory");
	}
	return r;
}

/* ---- plain tar streams (a host's candidate files, for sweep) ------------------------- */

int
rk_tar_each(struct rk_bytes tar, size_t max_file,
    int (*each)(void *arg, const struct rk_tar_file *file), void *arg, bool *complete,
    size_t *skipped, struct rk_err *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	struct rk_buf data;
	int r = 0, rc;

	*complete = false;
	*skipped = 0;
	rk_buf_init(&data, max_file);
	if (tar.len == 0) {
		*complete = true;
		return 0;
	}
	if ((a = archive_read_new()) == NULL)
		return rk_fail_nomem(err);
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, tar.ptr, tar.len) != ARCHIVE_OK)
		goto out;	/* not a tar stream at all: nothing in it */
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
		la_int64_t size = archive_entry_size(e);
		struct rk_tar_file f;
		la_ssize_t n;
		char chunk[16384];

		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != NULL ||
		    archive_entry_pathname(e) == NULL)
			continue;
		if (size < 0 || (unsigned long long)size > max_file) {
			(*skipped)++;
			continue;
		}
		if (data.ptr != NULL)
			explicit_bzero(data.ptr, data.len);	/* the last file may have been a key */
		data.len = 0;
		while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			if ((r = rk_buf_append(&data, chunk, (size_t)n, err)) != 0)
				break;
		explicit_bzero(chunk, sizeof(chunk));
		if (r == RK_E_LIMIT) {
			/* The header lied about the size: the stream is not what tar writes. */
			r = 0;
			goto out;
		}
		if (r != 0)
			goto out;
		if (n < 0 || data.len != (size_t)size)
			goto out;	/* cut short inside this file */
		f.path = archive_entry_pathname(e);
		f.owner = archive_entry_uname(e) != NULL ? archive_entry_uname(e) : "";
		f.group = archive_entry_gname(e) != NULL ? archive_entry_gname(e) : "";
		f.mode = (unsigned)(archive_entry_perm(e) & 07777);
		f.size = (unsigned long long)size;
		f.data = rk_buf_bytes(&data);
		if ((r = each(arg, &f)) != 0)
			goto out;
	}
	*complete = rc == ARCHIVE_EOF;
 out:
	rk_buf_clear(&data);
	archive_read_free(a);
	return r;
}

/* ---- amending a sealed archive ------------------------------------------------------- */

int
rk_archive_amend(const char *path, const char *name, struct rk_bytes data,
    const struct rk_key *signer, struct rk_err *err)
{
	struct rk_archive_check check;
	struct rk_archive *a = NULL;
	struct members all = { 0 };
	struct rk_buf bytes, pub;
	const char *base = strrchr(path, '/');
	char folder[FOLDER_MAX_LEN + 1], problem[600];
	size_t len, i;
	int r;

	rk_buf_init(&bytes, RK_ARCHIVE_TOTAL_MAX);
	rk_buf_init(&pub, 64 * 1024);
	base = base != NULL ? base + 1 : path;
	len = strlen(base);
	if (len <= 7 || strcmp(base + len - 7, ".tar.gz") != 0 || len - 7 > FOLDER_MAX_LEN) {
		r = rk_fail(err, RK_E_USAGE, "%s is not named FOLDER.tar.gz", path);
		goto out;
	}
	snprintf(folder, sizeof(folder), "%.*s", (int)(len - 7), base);
	if ((r = rk_file_read(&bytes, path, RK_ARCHIVE_TOTAL_MAX, err)) != 0 ||
	    (r = rk_key_public_pem(&pub, signer, err)) != 0)
		goto out;
	{
		struct rk_bytes p = rk_buf_bytes(&pub);

		if ((r = rk_archive_verify(&check, rk_buf_bytes(&bytes), &p, err)) != 0)
			goto out;
	}
	if (!check.ok) {
		r = rk_fail(err, RK_E_USAGE, "%s does not verify with the signing key, so it is "
		    "left as it is: %s", path, check.problem);
		goto out;
	}
	if ((r = read_members(&all, rk_buf_bytes(&bytes), problem, sizeof(problem), err)) != 0)
		goto out;
	if (problem[0] != '\0') {
		r = rk_fail(err, RK_E_USAGE, "%s: %s", path, problem);
		goto out;
	}
	if ((r = rk_archive_new(&a, folder, err)) != 0)
		goto out;
	for (i = 0; i < all.n && r == 0; i++)
		if (!is_reserved(all.v[i].name) && strcmp(all.v[i].name, name) != 0)
			r = rk_archive_add(a, all.v[i].name, rk_buf_bytes(&all.v[i].data), err);
	if (r == 0 && (r = rk_archive_add(a, name, data, err)) == 0)
		r = rk_archive_write(a, path, signer, err);
 out:
	rk_archive_free(a);
	members_clear(&all);
	rk_buf_clear(&bytes);
	rk_buf_clear(&pub);
	return r;
}
