/*
 * The record's archive (archive.h): a round trip, the refusal of secrets, and each complaint
 * of the verifier on archives tampered with libarchive itself, hostile ones included.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "rekey/archive.h"
#include "rekey/digest.h"
#include "rekey/fsutil.h"

#define B(s)	((struct rk_bytes){ (const unsigned char *)(s), strlen(s) })

struct fixture {
	char		 dir[32];
	char		 path[64];
	struct rk_key	*key;
	struct rk_key	*other;
	struct rk_buf	 tgz;		/* a valid record */
};

static const char playbook[] = "name: demo\nservices: []\n";

/* Five timeline lines chained from playbook's SHA-256. */
static void
make_timeline(struct rk_buf *out)
{
	char prev[RK_SHA256_HEX], line[256];
	struct rk_err err = { 0 };
	int i;

	rk_buf_init(out, 65536);
	assert_int_equal(rk_sha256_hex(prev, B(playbook), &err), 0);
	for (i = 1; i <= 5; i++) {
		snprintf(line, sizeof(line), "{\"seq\":%d,\"prev\":\"%s\"}", i, prev);
		assert_int_equal(rk_buf_printf(out, &err, "%s\n", line), 0);
		assert_int_equal(rk_sha256_hex(prev, B(line), &err), 0);
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rk_archive *a = NULL;
	struct rk_err err = { 0 };
	struct rk_buf tl;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rk-archive-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/INC-1.tar.gz", f->dir);
	assert_int_equal(rk_key_generate(&f->key, RK_KEY_EC_P384, &err), 0);
	assert_int_equal(rk_key_generate(&f->other, RK_KEY_EC_P256, &err), 0);
	make_timeline(&tl);
	assert_int_equal(rk_archive_new(&a, "INC-1", &err), 0);
	assert_int_equal(rk_archive_add(a, "incident.json", B("{\"id\":\"INC-1\"}\n"), &err), 0);
	assert_int_equal(rk_archive_add(a, "timeline.jsonl", rk_buf_bytes(&tl), &err), 0);
	assert_int_equal(rk_archive_add(a, "playbook.yml", B(playbook), &err), 0);
	assert_int_equal(rk_archive_add(a, "certs/db1.crt", B("cert\n"), &err), 0);
	assert_int_equal(rk_archive_add(a, "report.md", B("# INC-1\n"), &err), 0);
	assert_int_equal(rk_archive_write(a, f->path, f->key, &err), 0);
	rk_archive_free(a);
	rk_buf_clear(&tl);
	rk_buf_init(&f->tgz, RK_ARCHIVE_TOTAL_MAX);
	assert_int_equal(rk_file_read(&f->tgz, f->path, RK_ARCHIVE_TOTAL_MAX, &err), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "rm", "-rf", f->dir, NULL };
	char out[256];

	(void)rk_test_run(out, sizeof(out), argv);
	rk_key_free(f->key);
	rk_key_free(f->other);
	rk_buf_clear(&f->tgz);
	free(f);
	return 0;
}

/* ---- building tampered archives with libarchive ---------------------------------------- */

static la_ssize_t
to_buf(struct archive *ar, void *payload, const void *data, size_t len)
{
	(void)ar;
	return rk_buf_append(payload, data, len, NULL) == 0 ? (la_ssize_t)len : -1;
}

struct entry {
	const char	*path;
	const void	*data;
	size_t		 len;
	mode_t		 type;		/* 0: AE_IFREG */
	const char	*link;		/* symlink target */
};

/* A tar (gzip'ed when gz) of entries, as any tar would write it. */
static void
build(struct rk_buf *out, const struct entry *e, size_t n, bool gz)
{
	struct archive *ar = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	size_t i;

	rk_buf_init(out, RK_ARCHIVE_TOTAL_MAX);
	if (gz)
		assert_int_equal(archive_write_add_filter_gzip(ar), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_pax_restricted(ar), ARCHIVE_OK);
	assert_int_equal(archive_write_open2(ar, out, NULL, to_buf, NULL, NULL), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_filetype(ae, e[i].type != 0 ? e[i].type : AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		if (e[i].link != NULL)
			archive_entry_set_symlink(ae, e[i].link);
		archive_entry_set_size(ae, (la_int64_t)e[i].len);
		assert_int_equal(archive_write_header(ar, ae), ARCHIVE_OK);
		if (e[i].len > 0)
			assert_int_equal(archive_write_data(ar, e[i].data, e[i].len),
			    (la_ssize_t)e[i].len);
	}
	assert_int_equal(archive_write_close(ar), ARCHIVE_OK);
	archive_entry_free(ae);
	archive_write_free(ar);
}

enum edit { REPLACE, DROP, ADD_AFTER };

/*
 * The valid record re-packed with one change to member name (relative to INC-1/): its data
 * replaced, the member dropped, or a new member data named extra added after it.
 */
static void
repack(struct rk_buf *out, struct rk_bytes in, const char *name, enum edit edit,
    const char *extra, struct rk_bytes data)
{
	struct archive *ar = archive_read_new();
	struct archive_entry *ae;
	struct entry e[32];
	struct rk_buf bufs[32];
	char paths[32][128];
	size_t n = 0, i;

	archive_read_support_filter_gzip(ar);
	archive_read_support_format_tar(ar);
	assert_int_equal(archive_read_open_memory(ar, in.ptr, in.len), ARCHIVE_OK);
	while (archive_read_next_header(ar, &ae) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(ae);
		bool match = strcmp(p + strlen("INC-1/"), name) == 0;
		unsigned char chunk[4096];
		la_ssize_t got;

		assert_true(n < 30);
		rk_buf_init(&bufs[n], 1 << 20);
		while ((got = archive_read_data(ar, chunk, sizeof(chunk))) > 0)
			assert_int_equal(rk_buf_append(&bufs[n], chunk, (size_t)got, NULL), 0);
		if (match && edit == DROP) {
			rk_buf_clear(&bufs[n]);
			continue;
		}
		if (match && edit == REPLACE) {
			rk_buf_clear(&bufs[n]);
			assert_int_equal(rk_buf_append(&bufs[n], data.ptr, data.len, NULL), 0);
		}
		snprintf(paths[n], sizeof(paths[n]), "%s", p);
		e[n] = (struct entry){ paths[n], bufs[n].ptr, bufs[n].len, 0, NULL };
		n++;
		if (match && edit == ADD_AFTER) {
			rk_buf_init(&bufs[n], 1 << 20);
			assert_int_equal(rk_buf_append(&bufs[n], data.ptr, data.len, NULL), 0);
			snprintf(paths[n], sizeof(paths[n]), "INC-1/%s", extra);
			e[n] = (struct entry){ paths[n], bufs[n].ptr, bufs[n].len, 0, NULL };
			n++;
		}
	}
	archive_read_free(ar);
	build(out, e, n, true);
	for (i = 0; i < n; i++)
		rk_buf_clear(&bufs[i]);
}

/* The verdict on bytes: must be not valid, and the problem must contain want. */
static void
assert_invalid(struct rk_bytes tgz, const struct rk_bytes *pub, const char *want)
{
	struct rk_archive_check c;
	struct rk_err err = { 0 };

	assert_int_equal(rk_archive_verify(&c, tgz, pub, &err), 0);
	if (c.ok || strstr(c.problem, want) == NULL)
		fail_msg("want a problem with \"%s\", got ok=%d \"%s\"", want, c.ok, c.problem);
}

static void
member(struct rk_buf *out, struct rk_bytes tgz, const char *name)
{
	struct rk_err err = { 0 };

	assert_int_equal(rk_archive_read_member(out, tgz, name, &err), 0);
}

/* ---- the writer ------------------------------------------------------------------------ */

static void
test_archive_round_trip_verifies_and_gives_members_back(void **state)
{
	struct fixture *f = *state;
	struct rk_archive_check c;
	struct rk_err err = { 0 };
	struct rk_buf m, pub;
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(rk_archive_verify(&c, rk_buf_bytes(&f->tgz), NULL, &err), 0);
	assert_true(c.ok);
	assert_true(c.manifest_ok && c.signature_ok && c.chain_ok && !c.key_given);
	assert_int_equal(c.members, 8);
	assert_string_equal(c.problem, "");
	assert_int_equal(strlen(c.signer), 95);
	member(&m, rk_buf_bytes(&f->tgz), "certs/db1.crt");
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.ptr, "cert\n", 5);
	rk_buf_clear(&m);
	assert_int_not_equal(rk_archive_read_member(&m, rk_buf_bytes(&f->tgz), "nope", &err), 0);
	assert_non_null(strstr(err.msg, "nope is not in the archive"));
	rk_buf_clear(&m);

	/* The key given, when it is the signer's: checked against it. */
	assert_int_equal(rk_key_public_pem(&pub, f->key, &err), 0);
	assert_int_equal(rk_archive_verify(&c, rk_buf_bytes(&f->tgz), &(struct rk_bytes){
	    pub.ptr, pub.len }, &err), 0);
	assert_true(c.ok && c.key_given);
	rk_buf_clear(&pub);
}

static void
test_archive_refuses_private_key_and_forbidden_value_and_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct rk_archive *a = NULL;
	struct rk_err err = { 0 };
	struct rk_secret pem = { NULL, 0 };
	char path[80];
	struct stat st;

	snprintf(path, sizeof(path), "%s/LEAK.tar.gz", f->dir);
	assert_int_equal(rk_key_to_pem(&pem, f->key, NULL, &err), 0);
	assert_int_equal(rk_archive_new(&a, "LEAK", &err), 0);
	assert_int_equal(rk_archive_add(a, "changes/db1.txt", (struct rk_bytes){ pem.ptr,
	    pem.len }, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "changes/db1.txt: holds a private key"));
	rk_err_clear(&err);
	/* A traditional RSA armour line alone; the marker is split so no tracked file holds it. */
	assert_int_equal(rk_archive_add(a, "old.pem", B("x\n-----BEGIN RSA PRIVATE" " KEY-----\n"),
	    &err), RK_E_USAGE);
	rk_err_clear(&err);
	assert_int_equal(rk_archive_forbid(a, B("abc"), &err), RK_E_USAGE);	/* too short */
	rk_err_clear(&err);

	/* Forbidden after the member went in: the write still refuses, and writes nothing. */
	assert_int_equal(rk_archive_add(a, "report.md", B("password is hunter2!\n"), &err), 0);
	assert_int_equal(rk_archive_forbid(a, B("hunter2"), &err), 0);
	assert_int_equal(rk_archive_write(a, path, f->key, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "report.md: holds the value of a secret"));
	assert_null(strstr(err.msg, "hunter2"));
	assert_int_equal(stat(path, &st), -1);
	rk_err_clear(&err);
	assert_int_equal(rk_archive_add(a, "x.md", B("and hunter2 again"), &err), RK_E_USAGE);
	rk_err_clear(&err);
	assert_int_equal(rk_archive_add(a, "../x", B("a"), &err), RK_E_USAGE);
	rk_err_clear(&err);
	assert_int_equal(rk_archive_add(a, "MANIFEST.sig", B("a"), &err), RK_E_USAGE);
	rk_archive_free(a);
	rk_secret_clear(&pem);
}

/* ---- each complaint -------------------------------------------------------------------- */

static void
test_archive_verify_names_a_tampered_member(void **state)
{
	struct fixture *f = *state;
	struct rk_bytes in = rk_buf_bytes(&f->tgz);
	struct rk_buf t, man;
	char *nl;

	repack(&t, in, "certs/db1.crt", REPLACE, NULL, B("cerT\n"));
	assert_invalid(rk_buf_bytes(&t), NULL,
	    "certs/db1.crt: its SHA-256 is not the one MANIFEST.sha256 lists");
	rk_buf_clear(&t);

	/* A manifest line dropped: that member is then unlisted (and the signature fails). */
	member(&man, in, "MANIFEST.sha256");
	nl = strchr((char *)man.ptr, '\n');
	repack(&t, in, "MANIFEST.sha256", REPLACE, NULL, B(nl + 1));
	assert_invalid(rk_buf_bytes(&t), NULL, "incident.json is not listed in MANIFEST.sha256");
	rk_buf_clear(&t);
	rk_buf_clear(&man);

	repack(&t, in, "report.md", ADD_AFTER, "report.html", B("<html>"));
	assert_invalid(rk_buf_bytes(&t), NULL, "report.html is not listed in MANIFEST.sha256");
	rk_buf_clear(&t);

	repack(&t, in, "report.md", DROP, NULL, B(""));
	assert_invalid(rk_buf_bytes(&t), NULL,
	    "MANIFEST.sha256 lists report.md which is not in the archive");
	rk_buf_clear(&t);

	repack(&t, in, "MANIFEST.sig", DROP, NULL, B(""));
	assert_invalid(rk_buf_bytes(&t), NULL, "MANIFEST.sig is missing");
	rk_buf_clear(&t);
}

static void
test_archive_verify_names_the_timeline_line(void **state)
{
	struct fixture *f = *state;
	struct rk_bytes in = rk_buf_bytes(&f->tgz);
	struct rk_buf tl, t, edited;
	char *lines[6], *p;
	size_t i;
	struct rk_err err = { 0 };

	member(&tl, in, "timeline.jsonl");
	for (i = 0, p = (char *)tl.ptr; i < 5; i++) {
		lines[i] = p;
		p = strchr(p, '\n');
		*p++ = '\0';
	}
	/* Line 3 deleted: the old line 4, now line 3, does not follow line 2. */
	rk_buf_init(&edited, 65536);
	for (i = 0; i < 5; i++)
		if (i != 2)
			assert_int_equal(rk_buf_printf(&edited, &err, "%s\n", lines[i]), 0);
	repack(&t, in, "timeline.jsonl", REPLACE, NULL, rk_buf_bytes(&edited));
	assert_invalid(rk_buf_bytes(&t), NULL,
	    "timeline.jsonl line 3: its prev is not the SHA-256 of line 2");
	rk_buf_clear(&t);
	rk_buf_clear(&edited);

	/* Lines 4 and 5 swapped. */
	rk_buf_init(&edited, 65536);
	assert_int_equal(rk_buf_printf(&edited, &err, "%s\n%s\n%s\n%s\n%s\n", lines[0], lines[1],
	    lines[2], lines[4], lines[3]), 0);
	repack(&t, in, "timeline.jsonl", REPLACE, NULL, rk_buf_bytes(&edited));
	assert_invalid(rk_buf_bytes(&t), NULL,
	    "timeline.jsonl line 4: its prev is not the SHA-256 of line 3");
	rk_buf_clear(&t);
	rk_buf_clear(&edited);

	/* The playbook changed: the chain's start is named. */
	repack(&t, in, "playbook.yml", REPLACE, NULL, B("name: other\n"));
	assert_invalid(rk_buf_bytes(&t), NULL, "playbook.yml: its SHA-256 is not the one");
	rk_buf_clear(&t);
	rk_buf_clear(&tl);
}

static void
test_archive_verify_refuses_another_signature_and_another_key(void **state)
{
	struct fixture *f = *state;
	struct rk_bytes in = rk_buf_bytes(&f->tgz);
	struct rk_buf man, sig, t, pub;
	struct rk_archive_check c;
	struct rk_err err = { 0 };

	member(&man, in, "MANIFEST.sha256");
	assert_int_equal(rk_key_sign_sha256(&sig, f->other, rk_buf_bytes(&man), &err), 0);
	repack(&t, in, "MANIFEST.sig", REPLACE, NULL, rk_buf_bytes(&sig));
	assert_invalid(rk_buf_bytes(&t), NULL, "MANIFEST.sig does not verify with signer.pub "
	    "(SHA256 ");
	rk_buf_clear(&t);

	assert_int_equal(rk_key_public_pem(&pub, f->other, &err), 0);
	assert_invalid(in, &(struct rk_bytes){ pub.ptr, pub.len },
	    "MANIFEST.sig does not verify with the key given");
	assert_int_equal(rk_archive_verify(&c, in, &(struct rk_bytes){ pub.ptr, pub.len }, &err),
	    0);
	assert_true(c.key_given && !c.signature_ok && c.manifest_ok);
	assert_invalid(in, &(struct rk_bytes){ (const unsigned char *)"junk", 4 },
	    "the key given: not a PEM public key");
	rk_buf_clear(&pub);
	rk_buf_clear(&sig);
	rk_buf_clear(&man);
}

/* gzip of raw bytes (libarchive's raw format): a tar header written by hand. */
static void
gzip_raw(struct rk_buf *out, const void *data, size_t len)
{
	struct archive *ar = archive_write_new();
	struct archive_entry *ae = archive_entry_new();

	rk_buf_init(out, 1 << 20);
	archive_write_add_filter_gzip(ar);
	assert_int_equal(archive_write_set_format_raw(ar), ARCHIVE_OK);
	assert_int_equal(archive_write_open2(ar, out, NULL, to_buf, NULL, NULL), ARCHIVE_OK);
	archive_entry_set_pathname(ae, "x");
	archive_entry_set_filetype(ae, AE_IFREG);
	assert_int_equal(archive_write_header(ar, ae), ARCHIVE_OK);
	assert_int_equal(archive_write_data(ar, data, len), (la_ssize_t)len);
	assert_int_equal(archive_write_close(ar), ARCHIVE_OK);
	archive_entry_free(ae);
	archive_write_free(ar);
}

/* A ustar header claiming size bytes of data (octal), followed by only a little. */
static void
lying_header(struct rk_buf *out, const char *size_octal)
{
	unsigned char blk[2048] = { 0 };
	unsigned sum = 0;
	size_t i;

	snprintf((char *)blk, 100, "INC-1/huge.bin");
	memcpy(blk + 100, "0000644", 8);
	memcpy(blk + 108, "0000000", 8);
	memcpy(blk + 116, "0000000", 8);
	memcpy(blk + 124, size_octal, strlen(size_octal));
	memcpy(blk + 136, "00000000000", 12);
	memset(blk + 148, ' ', 8);
	blk[156] = '0';
	memcpy(blk + 257, "ustar", 6);
	memcpy(blk + 263, "00", 2);
	for (i = 0; i < 512; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
	memset(blk + 512, 'A', 512);
	gzip_raw(out, blk, sizeof(blk));
}

static void
test_archive_verify_fails_cleanly_on_hostile_archives(void **state)
{
	struct fixture *f = *state;
	static const struct {
		struct entry	 e[2];
		size_t		 n;
		const char	*want;
	} cases[] = {
		{ { { "INC-1/../x", "a", 1, 0, NULL } }, 1, "a name with \"..\"" },
		{ { { "/INC-1/x", "a", 1, 0, NULL } }, 1, "an absolute name" },
		{ { { "INC-1/a", "a", 1, 0, NULL }, { "OTHER/b", "b", 1, 0, NULL } }, 2,
		    "OTHER/b: outside the archive's one folder INC-1" },
		{ { { "INC-1/a", "a", 1, 0, NULL }, { "INC-1/a", "b", 1, 0, NULL } }, 2,
		    "INC-1/a: twice in the archive" },
		{ { { "INC-1/l", NULL, 0, AE_IFLNK, "/etc/shadow" } }, 1, "not a regular file" },
		{ { { "INC-1/d", NULL, 0, AE_IFCHR, NULL } }, 1, "not a regular file" },
		{ { { "INC-1/p", NULL, 0, AE_IFIFO, NULL } }, 1, "not a regular file" },
		{ { { "INC-1", "a", 1, 0, NULL } }, 1, "a file where the archive's folder" },
		{ { { "INC-1/a\nb", "a", 1, 0, NULL } }, 1, "control character" },
	};
	struct rk_buf t;
	unsigned char noise[4096];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build(&t, cases[i].e, cases[i].n, true);
		assert_invalid(rk_buf_bytes(&t), NULL, cases[i].want);
		rk_buf_clear(&t);
	}
	/* Uncompressed: a record is gzip'ed. */
	build(&t, cases[2].e, 1, false);
	assert_invalid(rk_buf_bytes(&t), NULL, "not gzip-compressed");
	rk_buf_clear(&t);

	/* Sizes over the bounds are refused before a byte is read; a short read is seen. */
	lying_header(&t, "77777777777");
	assert_invalid(rk_buf_bytes(&t), NULL, "over the bounds");
	rk_buf_clear(&t);
	lying_header(&t, "00000100000");
	assert_invalid(rk_buf_bytes(&t), NULL, "huge.bin");
	rk_buf_clear(&t);

	assert_invalid((struct rk_bytes){ f->tgz.ptr, f->tgz.len / 2 }, NULL, "");
	assert_invalid((struct rk_bytes){ f->tgz.ptr, 0 }, NULL, "");
	for (i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char)(i * 2654435761u >> 13);
	assert_invalid((struct rk_bytes){ noise, sizeof(noise) }, NULL, "not a tar.gz");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_archive_round_trip_verifies_and_gives_members_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_archive_refuses_private_key_and_forbidden_value_and_writes_nothing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_archive_verify_names_a_tampered_member,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_archive_verify_names_the_timeline_line,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_archive_verify_refuses_another_signature_and_another_key, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_archive_verify_fails_cleanly_on_hostile_archives, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
