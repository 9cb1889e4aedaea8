#!/usr/bin/env bash
# Records judged from outside (issue 15): tar, sha256sum and openssl read what rekey's writer
# made, with no rekey involved; then `rekey record` must find every tampering and name it.
# usage: record_cli.sh REKEY MKRECORD
set -euo pipefail

rekey=${1:?usage: record_cli.sh REKEY MKRECORD}
mkrecord=${2:?usage: record_cli.sh REKEY MKRECORD}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# The members of a small record, its timeline chained from the playbook's SHA-256 as the
# verifier expects, computed here with sha256sum alone.
make_members() {
	local dir=$1 prev line i
	mkdir -p "$dir/certs"
	printf 'name: demo\nservices: []\n' >"$dir/playbook.yml"
	prev=$(sha256sum <"$dir/playbook.yml" | cut -c1-64)
	: >"$dir/timeline.jsonl"
	for i in 1 2 3 4 5; do
		line=$(printf '{"seq":%d,"event":"step %d","prev":"%s"}' "$i" "$i" "$prev")
		printf '%s\n' "$line" >>"$dir/timeline.jsonl"
		prev=$(printf '%s' "$line" | sha256sum | cut -c1-64)
	done
	printf '{"id":"%s","mode":"%s","outcome":"success","started":"2026-01-02T03:04:05Z",' \
	    "$2" "$3" >"$dir/incident.json"
	printf '"ended":"2026-01-02T03:09:00Z"}\n' >>"$dir/incident.json"
	printf 'not really a certificate\n' >"$dir/certs/db1.crt"
	printf '# Incident %s\n\nAll connections verified.\n' "$2" >"$dir/report.md"
	printf '{"services":[],"clients":[]}\n' >"$dir/verification.json"
}

members() {
	local dir=$1
	echo "incident.json=$dir/incident.json" "timeline.jsonl=$dir/timeline.jsonl" \
	    "playbook.yml=$dir/playbook.yml" "certs/db1.crt=$dir/certs/db1.crt" \
	    "report.md=$dir/report.md" "verification.json=$dir/verification.json"
}

# Checks a fresh record exactly as an auditor without rekey would.
check_outside() {
	local tgz=$1 folder=$2 ed=$3 out
	out=$(mktemp -d)
	tar -tzf "$tgz" >"$out/list" || fail "$tgz: tar -tzf"
	grep -qx "$folder/MANIFEST.sig" "$out/list" || fail "$tgz: no $folder/MANIFEST.sig"
	tar -xzf "$tgz" -C "$out" || fail "$tgz: tar -xzf"
	(cd "$out/$folder" && sha256sum --quiet -c MANIFEST.sha256) || fail "$tgz: sha256sum -c"
	if [ "$ed" = ed25519 ]; then
		openssl pkeyutl -verify -rawin -pubin -inkey "$out/$folder/signer.pub" \
		    -sigfile "$out/$folder/MANIFEST.sig" -in "$out/$folder/MANIFEST.sha256" \
		    >/dev/null || fail "$tgz: openssl pkeyutl -verify"
	else
		openssl dgst -sha256 -verify "$out/$folder/signer.pub" \
		    -signature "$out/$folder/MANIFEST.sig" "$out/$folder/MANIFEST.sha256" \
		    >/dev/null || fail "$tgz: openssl dgst -verify"
	fi
	[ "$(stat -c %a "$tgz")" = 600 ] || fail "$tgz: mode $(stat -c %a "$tgz"), not 600"
	[ "$(stat -c %a "$out/$folder/report.md")" = 644 ] || fail "$tgz: member mode not 644"
	rm -rf "$out"
}

# expect_invalid NAME PATTERN ARCHIVE [ARGS]: exit 1 and the problem on stderr matches.
expect_invalid() {
	local what=$1 pattern=$2 rc=0
	shift 2
	"$rekey" record verify "$@" >/dev/null 2>"$work/err" || rc=$?
	[ "$rc" -eq 1 ] || fail "$what: exit $rc, not 1"
	grep -q -- "$pattern" "$work/err" ||
	    fail "$what: stderr lacks '$pattern': $(cat "$work/err")"
}

# Re-packs the extracted folder with tar itself, as a tamperer would.
repack() {
	tar -C "$1" -czf "$2" "$3"
}

make_members src INC-7 live
for kind in ec rsa ed25519; do
	case $kind in
	ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out $kind.key ;;
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $kind.key ;;
	ed25519) openssl genpkey -algorithm ED25519 -out $kind.key 2>/dev/null ;;
	esac 2>/dev/null	# genpkey draws progress dots for RSA
	chmod 600 $kind.key
	openssl pkey -in $kind.key -pubout -out $kind.pub
	# shellcheck disable=SC2046 # members() gives one word per member
	"$mkrecord" "INC-$kind.tar.gz" "INC-$kind" $kind.key $(members src) ||
	    fail "$kind: mkrecord"
	check_outside "INC-$kind.tar.gz" "INC-$kind" $kind
	"$rekey" record verify "INC-$kind.tar.gz" >out 2>&1 || fail "$kind: verify: $(cat out)"
	"$rekey" record verify --pubkey $kind.pub "INC-$kind.tar.gz" >/dev/null ||
	    fail "$kind: verify --pubkey"
	# The fingerprint shown is the SHA-256 of the key's DER SubjectPublicKeyInfo.
	fp=$(openssl pkey -pubin -in $kind.pub -outform DER | sha256sum | cut -c1-64 |
	    tr a-f A-F | sed 's/../&:/g; s/:$//')
	grep -q "SHA256 $fp" out || fail "$kind: fingerprint $fp not shown: $(cat out)"
done
"$rekey" record verify --json INC-ec.tar.gz >out || fail "verify --json exit"
python3 -c 'import json, sys; d = json.load(open("out"))
sys.exit(0 if d["valid"] and d["problem"] is None else 1)' || fail "verify --json: $(cat out)"
expect_invalid "another key given" "MANIFEST.sig does not verify with the key given" \
    --pubkey rsa.pub INC-ec.tar.gz

# Tampering, each re-packed with tar so only what is named differs.
mkdir x
tar -xzf INC-ec.tar.gz -C x
cp -a x pristine

printf 'X' | dd of=x/INC-ec/certs/db1.crt bs=1 seek=3 conv=notrunc status=none
repack x flipped.tar.gz INC-ec
expect_invalid "one byte flipped" \
    "certs/db1.crt: its SHA-256 is not the one MANIFEST.sha256 lists" flipped.tar.gz

rm -rf x && cp -a pristine x
sed -i 3d x/INC-ec/timeline.jsonl
repack x deleted.tar.gz INC-ec
expect_invalid "timeline line deleted" \
    "timeline.jsonl line 3: its prev is not the SHA-256 of line 2" deleted.tar.gz

rm -rf x && cp -a pristine x
awk 'NR == 3 { held = $0; next } NR == 4 { print; print held; next } { print }' \
    pristine/INC-ec/timeline.jsonl >x/INC-ec/timeline.jsonl
repack x swapped.tar.gz INC-ec
expect_invalid "timeline lines swapped" \
    "timeline.jsonl line 3: its prev is not the SHA-256 of line 2" swapped.tar.gz

rm -rf x && cp -a pristine x
openssl dgst -sha256 -sign rsa.key -out x/INC-ec/MANIFEST.sig x/INC-ec/MANIFEST.sha256
repack x resigned.tar.gz INC-ec
expect_invalid "signature replaced" "MANIFEST.sig does not verify with signer.pub (SHA256 " \
    resigned.tar.gz

rm -rf x && cp -a pristine x
printf 'extra\n' >x/INC-ec/report.html
repack x extra.tar.gz INC-ec
expect_invalid "extra member" "report.html is not listed in MANIFEST.sha256" extra.tar.gz

rm -rf x && cp -a pristine x
rm x/INC-ec/report.md
repack x dropped.tar.gz INC-ec
expect_invalid "member dropped" "MANIFEST.sha256 lists report.md which is not in the archive" \
    dropped.tar.gz

rm -rf x && cp -a pristine x
ln -s /etc/passwd x/INC-ec/link
repack x symlink.tar.gz INC-ec
expect_invalid "symlink" "link: not a regular file" symlink.tar.gz

# show: the report, and under NOT VALID when the record does not verify.
"$rekey" record show INC-ec.tar.gz >out || fail "show exit"
grep -qx '# Incident INC-7' out || fail "show: no report: $(cat out)"
rc=0
"$rekey" record show flipped.tar.gz >out 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "show of a tampered record: exit $rc"
head -1 out | grep -q '^NOT VALID: certs/db1.crt' || fail "show: no NOT VALID line: $(cat out)"

# list: two records (one a rehearsal) and a junk .tar.gz.
mkdir listing
make_members reh INC-8 rehearsal
# shellcheck disable=SC2046
"$mkrecord" listing/INC-8.rehearsal.tar.gz INC-8 ec.key $(members reh) || fail "mkrecord reh"
cp INC-rsa.tar.gz listing/
head -c 3000 /dev/urandom >listing/junk.tar.gz
rc=0
"$rekey" record list listing >out || rc=$?
[ "$rc" -eq 1 ] || fail "list with junk: exit $rc, not 1"
grep -Eq '^INC-8\.rehearsal\.tar\.gz +INC-8 +REHEARSAL +success +2026-01-02T03:04:05Z +yes$' out ||
    fail "list: rehearsal row: $(cat out)"
grep -Eq '^INC-rsa\.tar\.gz +INC-7 +live +success .* yes$' out || fail "list: live row: $(cat out)"
grep -Eq '^junk\.tar\.gz +not a record: ' out || fail "list: junk row: $(cat out)"
rm listing/junk.tar.gz
(cd listing && "$rekey" record list >/dev/null) || fail "list of two valid records: not 0"

# Sealed whole but without a member every record holds: not a record. Without its timeline,
# no chain could be said to hold; without incident.json, nothing says what was done.
for gone in timeline.jsonl incident.json playbook.yml; do
	# shellcheck disable=SC2046
	"$mkrecord" "no-$gone.tar.gz" INC-7 ec.key $(members src | tr ' ' '\n' |
	    grep -v "^$gone=") || fail "mkrecord without $gone"
	rc=0
	"$rekey" record verify "no-$gone.tar.gz" >out 2>&1 || rc=$?
	# (without the playbook, the chain check names it first)
	[ "$rc" -eq 1 ] && grep -Eq "NOT VALID: ($gone is not in the archive|.*but $gone)" out ||
	    fail "a record without $gone: exit $rc: $(cat out)"
done
mkdir partial && cp no-timeline.jsonl.tar.gz partial/
rc=0
"$rekey" record list partial >out || rc=$?
[ "$rc" -eq 1 ] && grep -Eq '^no-timeline\.jsonl\.tar\.gz +INC-7 .* NO: timeline\.jsonl is not in' out ||
    fail "list of a record without its timeline: exit $rc: $(cat out)"

# Usage: exit 2.
rc=0
"$rekey" record verify >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "verify with no archive: exit $rc, not 2"
rc=0
"$rekey" record verify no-such.tar.gz >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "verify of a missing file: exit $rc, not 2"

# The writer refuses a private key and a forbidden value, and writes nothing then.
rc=0
"$mkrecord" leak.tar.gz LEAK ec.key key.pem=ec.key 2>err || rc=$?
[ "$rc" -eq 1 ] && grep -q 'key.pem: holds a private key' err && [ ! -e leak.tar.gz ] ||
    fail "private key taken: $(cat err)"
rc=0
"$mkrecord" leak.tar.gz LEAK ec.key --forbid 'step 3' timeline.jsonl=src/timeline.jsonl 2>err ||
    rc=$?
[ "$rc" -eq 1 ] && grep -q 'timeline.jsonl: holds the value of a secret' err &&
    [ ! -e leak.tar.gz ] || fail "forbidden value taken: $(cat err)"

[ "$fails" -eq 0 ] || { echo "record/cli: $fails failure(s)" >&2; exit 1; }
echo "record/cli: every check passed"
