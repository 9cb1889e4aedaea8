/*
 * What the commands that reach the estate share: a transport for a host, and the files that
 * say what clients trust (ca.cert, or the root bundle under an intermediate) and which CRLs
 * they check, so `verify` and `expiry` judge a server as its clients do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
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
