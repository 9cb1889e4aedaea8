/*
 * Test-only: writes an incident record from files, so the shell test can make one without a
 * run. Not a user command: records come from `rekey run` and `rekey rehearse`.
 *
 * usage: mkrecord OUT.tar.gz FOLDER SIGNING_KEY [NAME=FILE | --forbid VALUE]...
 * Exits 0 when written, 1 with the error on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "rekey/archive.h"
#include "rekey/fsutil.h"

int
main(int argc, char **argv)
{
	struct rk_archive *a = NULL;
	struct rk_key *key = NULL;
	struct rk_err err = { 0 };
	struct rk_buf buf;
	int i, r;

	if (argc < 4) {
		fprintf(stderr, "usage: mkrecord OUT.tar.gz FOLDER SIGNING_KEY "
		    "[NAME=FILE | --forbid VALUE]...\n");
		return 2;
	}
	rk_buf_init(&buf, RK_ARCHIVE_MEMBER_MAX);
	if ((r = rk_key_load_file(&key, argv[3], NULL, &err)) != 0 ||
	    (r = rk_archive_new(&a, argv[2], &err)) != 0)
		goto out;
	for (i = 4; i < argc && r == 0; i++) {
		char *eq = strchr(argv[i], '=');

		if (strcmp(argv[i], "--forbid") == 0 && i + 1 < argc) {
			i++;
			r = rk_archive_forbid(a, (struct rk_bytes){ (const unsigned char *)argv[i],
			    strlen(argv[i]) }, &err);
			continue;
		}
		if (eq == NULL) {
			fprintf(stderr, "mkrecord: %s: not NAME=FILE\n", argv[i]);
			r = 2;
			goto out;
		}
		*eq = '\0';
		rk_buf_clear(&buf);
		if ((r = rk_file_read(&buf, eq + 1, RK_ARCHIVE_MEMBER_MAX, &err)) == 0)
			r = rk_archive_add(a, argv[i], rk_buf_bytes(&buf), &err);
	}
	if (r == 0)
		r = rk_archive_write(a, argv[1], key, &err);
 out:
	if (r != 0 && err.msg[0] != '\0')
		fprintf(stderr, "mkrecord: %s\n", err.msg);
	rk_buf_clear(&buf);
	rk_archive_free(a);
	rk_key_free(key);
	return r == 0 ? 0 : 1;
}
