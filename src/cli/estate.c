/*
 * What the commands that reach the estate share: a transport for a host, and the files that
 * say what clients trust (ca.cert, or the root bundle under an intermediate) and which CRLs
 * they check, so `verify` and `expiry` judge a server as its clients do.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "rekey/actions.h"
#include "rekey/fsutil.h"
#include "rekey/key.h"
#include "rekey/local.h"
#include "rekey/ssh.h"
#include "rekey/trustset.h"

int
cli_transport_new(struct rk_transport **out, const struct rk_host *host, struct rk_err *err)
{
	if (host->transport == RK_TRANSPORT_LOCAL)
		return rk_local_transport_new(out, host, err);
	return rk_ssh_transport_new(out, host, err);
}

int
cli_transport_open(struct rk_transport **out, const struct rk_host *host, void *payload,
    struct rk_err *err)
{
	int r;

	(void)payload;
	if ((r = cli_transport_new(out, host, err)) != 0)
		return r;
	if ((r = (*out)->ops->connect(*out, err)) != 0) {
		rk_transport_free(*out);
		*out = NULL;
	}
	return r;
}

/*
 * An incident id the playbook leaves out is made from the time, so it differs on every
 * load: the commands that come after a run take the newest incident folder that holds a
 * journal instead.
 */
int
cli_newest_incident(char **out, const char *records, struct rk_err *err)
{
	char *best = NULL, path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	time_t newest = 0;
	DIR *d;

	*out = NULL;
	if ((d = opendir(records)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return rk_fail_errno(err, "read %s", records);
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "INC-", 4) != 0 ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s/journal.jsonl", records,
		    de->d_name) >= sizeof(path) ||
		    lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime < newest)
			continue;
		newest = st.st_mtime;
		free(best);
		if ((best = strdup(de->d_name)) == NULL)
			break;
	}
	closedir(d);
	if (best == NULL && newest != 0)
		return rk_fail_nomem(err);
	*out = best;
	return 0;
}

int
cli_open_record_signer(struct rk_key **out, const char **by, const struct rk_model *m,
    const char *dir, bool rehearsal, struct rk_err *err)
{
	const struct rk_ca *ca = &m->ca;
	const struct rk_record_spec *rec = &m->record;
	const char *key = rec->signing_key != NULL ? rec->signing_key : ca->key;
	const struct rk_secret_ref *ref = rec->signing_key != NULL ?
	    &rec->signing_key_passphrase : &ca->key_passphrase;
	struct rk_secret pass = { NULL, 0 };
	char *new_key = NULL;
	int r;

	*out = NULL;
	*by = rec->signing_key != NULL ? "record.signing_key" : "the CA key";
	if (rec->signing_key == NULL && ca->rotate && !rehearsal &&
	    rk_incident_file(&new_key, dir, "ca/ca.key", err) == 0 &&
	    access(new_key, F_OK) == 0) {
		*by = "the new CA key";
		r = rk_key_load_file(out, new_key, NULL, err);
		free(new_key);
		return r;
	}
	free(new_key);
	if ((r = rk_secret_from_source(&pass, ref->env, ref->file, err)) == 0)
		r = rk_key_load_file(out, key, pass.ptr != NULL ? &pass : NULL, err);
	rk_secret_clear(&pass);
	if (r != 0)
		rk_err_prefix(err, "the record's signing key");
	return r;
}

/* Appends the file at path, when it exists, to out. */
static int
append_file(struct rk_buf *out, const char *path, struct rk_err *err)
{
	struct rk_buf part;
	int r;

	if (path == NULL || access(path, F_OK) != 0)
		return 0;
	rk_buf_init(&part, RK_PEM_MAX * 4);
	if ((r = rk_file_read(&part, path, RK_PEM_MAX * 4, err)) == 0)
		r = rk_buf_append(out, part.ptr, part.len, err);
	rk_buf_clear(&part);
	return r;
}

/* Under an intermediate, clients trust the root (or the chain, as ca.trust says) and check
 * every link's CRL: both are made as files, in a private folder. */
static int
make_chain_files(struct cli_trust_files *f, const struct rk_model *m, struct rk_err *err)
{
	const char *tmp = getenv("TMPDIR");
	struct rk_buf pem;
	int r;

	snprintf(f->dir, sizeof(f->dir), "%s/rekey-trust-XXXXXX",
	    tmp != NULL && tmp[0] == '/' && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		f->dir[0] = '\0';
		return rk_fail_errno(err, "create a folder for the trust files");
	}
	rk_buf_init(&pem, RK_PEM_MAX * 8);
	if ((r = rk_trust_bundle(&pem, m, NULL, RK_TRUST_BEFORE, err)) != 0)
		goto out;
	if (asprintf(&f->made_trust, "%s/trust.pem", f->dir) < 0) {
		f->made_trust = NULL;
		r = rk_fail_nomem(err);
		goto out;
	}
	if ((r = rk_file_replace(f->made_trust, rk_buf_bytes(&pem), 0644, err)) != 0)
		goto out;
	f->trust = f->made_trust;
	rk_buf_clear(&pem);
	rk_buf_init(&pem, RK_PEM_MAX * 8);
	if ((r = append_file(&pem, m->ca.crl, err)) != 0 ||
	    (r = append_file(&pem, m->ca.parent.crl, err)) != 0 || pem.len == 0)
		goto out;
	if (asprintf(&f->made_crl, "%s/crl.pem", f->dir) < 0) {
		f->made_crl = NULL;
		r = rk_fail_nomem(err);
		goto out;
	}
	if ((r = rk_file_replace(f->made_crl, rk_buf_bytes(&pem), 0644, err)) == 0)
		f->crl = f->made_crl;
 out:
	rk_buf_clear(&pem);
	return r;
}

int
cli_trust_files_make(struct cli_trust_files *f, const struct rk_model *m, struct rk_err *err)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	if (m->ca.chain != NULL)
		return make_chain_files(f, m, err);
	f->trust = m->ca.cert;
	f->crl = m->ca.crl != NULL && stat(m->ca.crl, &st) == 0 ? m->ca.crl : NULL;
	return 0;
}

void
cli_trust_files_remove(struct cli_trust_files *f)
{
	if (f->made_trust != NULL)
		(void)unlink(f->made_trust);
	if (f->made_crl != NULL)
		(void)unlink(f->made_crl);
	if (f->dir[0] != '\0')
		(void)rmdir(f->dir);
	free(f->made_trust);
	free(f->made_crl);
	memset(f, 0, sizeof(*f));
}
