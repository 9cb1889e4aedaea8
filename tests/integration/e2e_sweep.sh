#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 18): `rekey sweep` on the
# estate of e2e_lib.sh (db1 and db2 log in as rkadmin with sudo, app1 as rkuser without), whose
# playbook (scenario server) rotates db1-server, db2-server and app-client: the compromised set.
# Copies of that material are planted on the hosts (the sshd hosts share this machine's file
# system, so each host gets a folder of its own through its sweep_paths, and sweep.paths is one
# folder every host sweeps), and every expectation is computed outside rekey: the SPKI hashes by
# `openssl pkey -pubout -outform DER | sha256sum`, fingerprints by `openssl x509 -fingerprint`,
# owners, modes and sizes by lstat, the record by tar and sha256sum.
#   planted: a backup .pem (certificate and key) in another folder, the certificate in a bundle
#     between unrelated certificates and the CA, DER copies of certificate and key, PKCS#12 with
#     no password and with one given through sweep.passphrase_env, the key escaped on one line
#     of a .env, the certificate indented in a YAML file, EC keys in traditional form, a key four
#     folders down, and in sweep.paths a certificate each host finds. Beside them, what must not
#     be called compromised: unrelated keys and certificates (the harness's own, issued by the
#     same CA with the same subjects), a world-readable unrelated key (exposed), a symlink loop,
#     symlinks to a copy, a file app1's login cannot read (unreadable), a folder it cannot open,
#     and a 3 MiB file holding a copy at its start (bigger than sweep.max_file_size 2M: too-large,
#     never read). `rekey sweep --json` exits 1 and its JSON names every copy (host, path, class,
#     match, the item, SPKI and fingerprint, encoding, form, line, owner, mode, size, world-
#     readable), the playbook's own deployed files as compromised with `managed` set, nothing
#     else as compromised, and a summary that agrees with its findings; the text output says the
#     same under the spec's line prefixes.
#   --match, --paths: a local PKCS#8 copy of an RSA key the playbook does not know finds its
#     traditional-form copy on db1; --paths replaces sweep.paths and keeps the hosts' own.
#   usage: a relative --paths, one with '..', a missing --match file and a bad
#     sweep.max_file_size exit 2.
#   cleaned: the planted copies removed, only the deployed files are left (compromised until the
#     run replaces them: exit 1).
#   after `rekey run`: the sweep finds rekey's own backups (managed "rekey's backup ..."), no
#     longer the newly deployed files; sweep.json joins the incident record, which still passes
#     `rekey record verify`; --no-record leaves the record as it was.
#   clean: the backups removed, the sweep exits 0 though it still reports the exposed key, the
#     unreadable file and the too-large one; the record's sweep.json is replaced by this one.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/sweep
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_sweep.sh REKEY}"
work=$E2E_WORK
id=E2E
pb=$E2E/sweep.yml
plant=$E2E/plant
old=$work/old
archive=$E2E_RECORDS/$id.tar.gz
# The password of the locked PKCS#12 copy, which the playbook names by sweep.passphrase_env.
E2E_SWEEP_P12_PASS=$(harness_random_password)
export E2E_SWEEP_P12_PASS
# The interpreter itself: a version manager's shim costs a fraction of a second per call, and
# the checks below call it often.
py=$(python3 -c 'import sys; print(sys.executable)')

# ---------------------------------------------------------------------------------------------
# Reading a sweep's JSON (python3): facts printed one per line, sorted, for e2e_same

# sweep_json MODE JSON [ARGS...]
#   compromised             "host|path|match|item|managed or planted" of every compromised finding
#   class PREFIX...         "host|path|class" of every finding whose path starts with a PREFIX
#   field HOST PATH MATCH FIELD   the FIELD of that finding (MATCH "-" for any), "absent"
#   duplicates              findings given twice for one (host, path, item)
#   material NAME=SPKI=FP...  problems: a compromised finding whose hashes are not its item's
#   looked_for NAME=SPKI=FP...  problems: an item of the set missing or with other hashes
#   stat                    problems: owner, group, mode, size, world_readable against lstat
#   summary                 problems: the summary against the findings and the hosts
#   hosts HOST=LOGIN_HOME=FOLDER,FOLDER...  problems: a host not swept, or a folder not swept
sweep_json() {
	"$py" - "$@" <<'PY'
import json, os, pwd, grp, stat, sys
from collections import Counter
mode, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
try:
    doc = json.load(open(path, encoding="utf-8"))
except (OSError, ValueError) as e:
    print(f"the sweep's output is not one JSON document: {e}")
    sys.exit(0)
findings = doc.get("findings") or []
def fp(s):
    return (s or "").replace(":", "").lower()
# The playbook revokes db1-server's certificate by its file too (scenario server): a finding
# still names the playbook's certificate, db1-server.
def item(f):
    return f.get("matches") or "-"
if mode == "compromised":
    rows = {f"{f.get('host')}|{f.get('path')}|{f.get('match')}|{item(f)}|"
            f"{'managed' if f.get('managed') else 'planted'}"
            for f in findings if f.get("class") == "compromised"}
    print("\n".join(sorted(rows)))
elif mode == "class":
    rows = {f"{f.get('host')}|{f.get('path')}|{f.get('class')}" for f in findings
            if any(str(f.get("path", "")).startswith(p) for p in args)}
    print("\n".join(sorted(rows)))
elif mode == "field":
    host, fpath, match, field = args
    hits = [f for f in findings if f.get("host") == host and f.get("path") == fpath
            and (match == "-" or f.get("match") == match)]
    if not hits:
        print("absent")
    else:
        v = hits[0].get(field, "(no such key)")
        print("null" if v is None else v if isinstance(v, str) else json.dumps(v))
elif mode == "duplicates":
    n = Counter((f.get("host"), f.get("path"), item(f), f.get("match"))
                for f in findings if f.get("class") == "compromised")
    for k, c in sorted(n.items(), key=str):
        if c > 1:
            print(f"{k[0]}:{k[1]} ({k[3]} of {k[2]}) given {c} times")
elif mode in ("material", "looked_for"):
    want = {}
    for a in args:
        name, spki, cfp = a.split("=")
        want[name] = (spki, cfp)
    if mode == "material":
        for f in findings:
            if f.get("class") != "compromised" or item(f) not in want:
                continue
            spki, cfp = want[item(f)]
            where = f"{f.get('host')}:{f.get('path')} ({f.get('match')})"
            if f.get("match") in ("key", "certificate") and f.get("spki_sha256") != spki:
                print(f"{where}: spki_sha256 {f.get('spki_sha256')}, openssl says {spki}")
            if f.get("match") == "certificate" and fp(f.get("fingerprint")) != cfp:
                print(f"{where}: fingerprint {f.get('fingerprint')}, openssl says {cfp}")
            if not f.get("advice"):
                print(f"{where}: no advice")
    else:
        items = doc.get("looked_for") or []
        for name, (spki, cfp) in want.items():
            keys = [i for i in items if i.get("kind") == "key" and i.get("spki_sha256") == spki]
            certs = [i for i in items if i.get("kind") == "certificate"
                     and fp(i.get("fingerprint")) == cfp]
            if not keys:
                print(f"{name}: no key item with spki_sha256 {spki}")
            elif keys[0].get("name") != name and not name.startswith("match:"):
                print(f"{name}: its key item is named {keys[0].get('name')}")
            if cfp and not certs:
                print(f"{name}: no certificate item with fingerprint {cfp}")
            elif cfp and certs[0].get("spki_sha256") != spki:
                print(f"{name}: certificate item spki_sha256 {certs[0].get('spki_sha256')}")
        for i in items:
            if i.get("kind") not in ("key", "certificate", "ca"):
                print(f"looked_for: kind {i.get('kind')!r}")
elif mode == "stat":
    for f in findings:
        p, where = f.get("path", ""), f"{f.get('host')}:{f.get('path')}"
        if f.get("folder") is True:
            continue    # a folder it could not open: not a file, beyond the spec's findings
        try:
            st = os.lstat(p)
        except OSError:
            continue    # gone since (a removed copy), or a folder's entry not on this machine
        want = {"owner": pwd.getpwuid(st.st_uid).pw_name, "group": grp.getgrgid(st.st_gid).gr_name,
                "mode": "%04o" % stat.S_IMODE(st.st_mode), "size": st.st_size}
        # world_readable says that others may read a private key (what makes one exposed);
        # the spec does not say what it says of a certificate, which is public anyway.
        if f.get("holds") == "private key":
            want["world_readable"] = bool(st.st_mode & stat.S_IROTH)
        for k, v in want.items():
            if f.get(k) != v:
                print(f"{where}: {k} {f.get(k)!r}, lstat says {v!r}")
elif mode == "summary":
    s, hosts = doc.get("summary") or {}, doc.get("hosts") or []
    count = Counter(f.get("class") for f in findings)
    for key, cls in (("compromised", "compromised"), ("exposed", "exposed"),
                     ("unreadable", "unreadable"), ("too_large", "too-large")):
        if s.get(key) != count.get(cls, 0):
            print(f"summary {key} {s.get(key)!r}, the findings hold {count.get(cls, 0)}")
    if s.get("hosts") != len(hosts):
        print(f"summary hosts {s.get('hosts')!r}, {len(hosts)} hosts listed")
    if s.get("swept") != sum(1 for h in hosts if h.get("swept") is True):
        print(f"summary swept {s.get('swept')!r}")
    for key in ("files_seen", "files_read"):
        if s.get(key) != sum(h.get(key) or 0 for h in hosts):
            print(f"summary {key} {s.get(key)!r}, the hosts add up to "
                  f"{sum(h.get(key) or 0 for h in hosts)}")
    for h in hosts:
        if not (isinstance(h.get("files_read"), int) and isinstance(h.get("files_seen"), int)
                and 0 <= h["files_read"] <= h["files_seen"]):
            print(f"{h.get('host')}: files_read {h.get('files_read')!r} of "
                  f"files_seen {h.get('files_seen')!r}")
    if doc.get("incident") != "E2E":
        print(f"incident {doc.get('incident')!r}")
elif mode == "hosts":
    hosts = {h.get("host"): h for h in doc.get("hosts") or []}
    for a in args:
        name, folders = a.split("=", 1)
        h = hosts.get(name)
        if h is None:
            print(f"{name}: not in hosts")
            continue
        if h.get("swept") is not True or h.get("error") is not None or h.get("truncated"):
            print(f"{name}: swept {h.get('swept')!r}, error {h.get('error')!r}, "
                  f"truncated {h.get('truncated')!r}")
        for want in folders.split(","):
            if want not in (h.get("folders") or []):
                print(f"{name}: {want} not among the folders swept {h.get('folders')}")
    if len(hosts) != 3:
        print(f"{len(hosts)} hosts, want db1 db2 app1")
PY
}

# ---------------------------------------------------------------------------------------------
# Material, and what openssl says of it

spki_of_key() {
	openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -d' ' -f1
}

spki_of_cert() {
	openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum |
		cut -d' ' -f1
}

# fp_of_cert CERT: the SHA-256 fingerprint, lower-case hex without colons.
fp_of_cert() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : |
		tr '[:upper:]' '[:lower:]'
}

# materials: NAME=SPKI=FP of each certificate of the compromised set (openssl), each key
# checked to be its certificate's.
compute_materials() {
	local name
	materials=()
	for name in db1-server db2-server app-client; do
		e2e_equal "openssl: $name's key is its certificate's" "$(spki_of_key "$old/$name.key")" \
			"$(spki_of_cert "$old/$name.crt")"
		materials+=("$name=$(spki_of_key "$old/$name.key")=$(fp_of_cert "$old/$name.crt")")
	done
}

# unrelated NAME: a self-signed certificate and key nothing in the playbook knows, in $work.
unrelated() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/O=elsewhere/CN=$1" -keyout "$work/$1.key" -out "$work/$1.crt" 2>/dev/null
}

# put MODE OWNER FILE: standard input into FILE (folders made 0755), with that mode and owner.
put() {
	mkdir -p -- "$(dirname -- "$3")"
	install -m "$1" -o "${2%:*}" -g "${2#*:}" -- /dev/stdin "$3"
}

# The line of FILE where the Nth "-----BEGIN" is.
begin_line() {
	grep -n -e '-----BEGIN' -- "$1" | sed -n "${2}p" | cut -d: -f1
}

# ---------------------------------------------------------------------------------------------
# The playbook: e2e_lib's, each host with a folder of its own to sweep, and a sweep section

write_playbook() {
	e2e_write_playbook "$pb" id=$id scenario=server
	sed -i -E "s#^  (db1|db2|app1): \\{(.*)\\}\$#  \\1: {\\2, sweep_paths: [\"$plant/\\1\"]}#" "$pb"
	cat >>"$pb" <<EOF

sweep:
  paths: ["$plant/common"]
  max_file_size: 2M
  passphrase_env: [E2E_SWEEP_P12_PASS]
  passphrase_file: "$work/key.pass"
EOF
	e2e_equal "playbook: each host has its sweep_paths" 3 "$(grep -c 'sweep_paths: \[' "$pb")"
	e2e_check "playbook: rekey plan reads its sweep section and sweep_paths" \
		"$E2E_REKEY" plan "$pb"
}

# ---------------------------------------------------------------------------------------------
# Planting

# What each host's folder holds (rk=app1's login, whose files are its own).
plant_copies() {
	local rk=$RK_H_SSH_USER:$RK_H_SSH_USER
	umask 022
	rm -rf -- "$plant"
	mkdir -p -- "$plant/common" "$plant/db1" "$plant/db2" "$plant/app1" "$old"
	chmod 0755 -- "$plant" "$plant"/*
	cp -- "$E2E/snap/pki/issued"/{db1-server,db2-server,app-client}.{crt,key} "$old/"
	unrelated unrelated-1
	unrelated unrelated-2
	unrelated unrelated-3
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/exposed.key"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/leaked-rsa.key" \
		2>/dev/null
	chmod 0600 -- "$work/exposed.key" "$work/leaked-rsa.key"
	harness_write_secret_file "$work/key.pass" "$(harness_random_password)"

	# In sweep.paths: every host sweeps it.
	put 0644 root:root "$plant/common/old/app-client.crt.pem" <"$old/app-client.crt"

	# db1: read as root (sudo).
	cat -- "$old/db1-server.crt" "$old/db1-server.key" |
		put 0600 root:root "$plant/db1/backup/2026-11/db1-server.pem"
	cat -- "$work/unrelated-1.crt" "$old/db1-server.crt" "$E2E_PKI/ca.crt" \
		"$work/unrelated-2.crt" | put 0644 root:root "$plant/db1/bundle/ca-bundle.crt"
	openssl x509 -in "$old/db1-server.crt" -outform DER |
		put 0644 root:root "$plant/db1/der/db1-server.cer"
	# World-readable: still compromised (not exposed), and world_readable says so.
	openssl pkcs8 -topk8 -nocrypt -in "$old/db1-server.key" -outform DER |
		put 0644 root:root "$plant/db1/der/db1-server.key.der"
	put 0640 root:root "$plant/db1/deep/a/b/c/db1-server.key" <"$old/db1-server.key"
	openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$old/db1-server.key" -passout "file:$work/key.pass" |
		put 0600 root:root "$plant/db1/enc/db1-server.key"
	openssl pkey -in "$work/leaked-rsa.key" -traditional |
		put 0600 root:root "$plant/db1/legacy/leaked-rsa.key"
	put 0644 root:root "$plant/db1/exposed/other.key" <"$work/exposed.key"
	put 0600 root:root "$plant/db1/unrelated/harness-server.key" <"$RK_H_SERVER_KEY"
	put 0644 root:root "$plant/db1/unrelated/harness-server.crt" <"$RK_H_SERVER_CERT"
	put 0644 root:root "$plant/db1/unrelated/self.crt" <"$work/unrelated-3.crt"
	put 0600 root:root "$plant/db1/unrelated/self.key" <"$work/unrelated-3.key"
	mkdir -p -- "$plant/db1/loop"
	ln -s b "$plant/db1/loop/a"
	ln -s a "$plant/db1/loop/b"
	ln -s .. "$plant/db1/loop/up"
	ln -s backup/2026-11/db1-server.pem "$plant/db1/link.pem"

	# db2: read as root (sudo).
	openssl pkcs12 -export -in "$old/db2-server.crt" -inkey "$old/db2-server.key" \
		-name db2-server -passout pass: | put 0600 root:root "$plant/db2/p12/db2-server.p12"
	openssl pkcs12 -export -in "$old/db2-server.crt" -inkey "$old/db2-server.key" \
		-name db2-server -passout env:E2E_SWEEP_P12_PASS |
		put 0600 root:root "$plant/db2/p12/db2-server-locked.p12"
	openssl pkey -in "$old/db2-server.key" -traditional |
		put 0600 root:root "$plant/db2/keys/db2-server.ec.key"
	openssl pkcs12 -export -in "$work/unrelated-1.crt" -inkey "$work/unrelated-1.key" \
		-passout pass: | put 0600 root:root "$plant/db2/unrelated/other.p12"
	{
		cat -- "$old/db2-server.crt"
		head -c 2400000 /dev/urandom | base64 -w 64
	} | put 0644 root:root "$plant/db2/huge/dump.pem"

	# app1: read as rkuser, no sudo.
	{
		printf '# app secrets\nAPP_ENV=prod\n'
		printf 'APP_TLS_KEY="%s"\n' "$(awk '{ printf "%s\\n", $0 }' "$old/app-client.key")"
		printf 'LOG_LEVEL=info\n'
	} | put 0600 "$rk" "$plant/app1/app/.env"
	{
		printf 'tls:\n  enabled: true\n  cert: |\n'
		sed 's/^/    /' "$old/app-client.crt"
	} | put 0644 "$rk" "$plant/app1/app/config.yml"
	put 0600 "$rk" "$plant/app1/unrelated/rkclient.key" <"$RK_H_CLIENT_KEY"
	put 0644 "$rk" "$plant/app1/unrelated/rkclient.crt" <"$RK_H_CLIENT_CERT"
	put 0000 root:root "$plant/app1/locked/app-client.key" <"$old/app-client.key"
	put 0600 root:root "$plant/app1/closed/app-client.key" <"$old/app-client.key"
	chmod 0700 -- "$plant/app1/closed"
	mkdir -p -- "$plant/app1/loop"
	ln -s . "$plant/app1/loop/self"
	chown -R -h "$rk" -- "$plant/app1/loop"

	# --paths: a folder no host sweeps unless told.
	openssl x509 -in "$old/db2-server.crt" -outform DER |
		put 0644 root:root "$plant/alt/db2-server.der"
	chmod 0755 -- "$plant/alt"
}

# The compromised copies planted, as sweep_json compromised prints them.
planted_copies() {
	local h
	for h in db1 db2 app1; do
		echo "$h|$plant/common/old/app-client.crt.pem|certificate|app-client|planted"
	done
	printf '%s\n' \
		"db1|$plant/db1/backup/2026-11/db1-server.pem|certificate|db1-server|planted" \
		"db1|$plant/db1/backup/2026-11/db1-server.pem|key|db1-server|planted" \
		"db1|$plant/db1/bundle/ca-bundle.crt|certificate|db1-server|planted" \
		"db1|$plant/db1/der/db1-server.cer|certificate|db1-server|planted" \
		"db1|$plant/db1/der/db1-server.key.der|key|db1-server|planted" \
		"db1|$plant/db1/deep/a/b/c/db1-server.key|key|db1-server|planted" \
		"db1|$plant/db1/enc/db1-server.key|key|db1-server|planted" \
		"db2|$plant/db2/p12/db2-server.p12|certificate|db2-server|planted" \
		"db2|$plant/db2/p12/db2-server.p12|key|db2-server|planted" \
		"db2|$plant/db2/p12/db2-server-locked.p12|certificate|db2-server|planted" \
		"db2|$plant/db2/p12/db2-server-locked.p12|key|db2-server|planted" \
		"db2|$plant/db2/keys/db2-server.ec.key|key|db2-server|planted" \
		"app1|$plant/app1/app/.env|key|app-client|planted" \
		"app1|$plant/app1/app/config.yml|certificate|app-client|planted"
}

# The playbook's deployed files, compromised until the run replaces them.
deployed_copies() {
	printf '%s\n' \
		"db1|$E2E_PG/server.crt|certificate|db1-server|managed" \
		"db1|$E2E_PG/server.key|key|db1-server|managed" \
		"db2|$E2E_MY/server.crt|certificate|db2-server|managed" \
		"db2|$E2E_MY/server.key|key|db2-server|managed" \
		"app1|$E2E_APP/certs/app.crt|certificate|app-client|managed" \
		"app1|$E2E_APP/certs/app.key|key|app-client|managed"
}

remove_planted_copies() {
	rm -rf -- "$plant/common/old" "$plant/db1/backup" "$plant/db1/bundle" "$plant/db1/der" \
		"$plant/db1/deep" "$plant/db1/enc" "$plant/db2/p12" "$plant/db2/keys" "$plant/app1/app"
}

# What a sweep of the playbook must always say of the folders and the summary.
check_shape() {
	local what=$1 out=$2 home_admin home_user
	home_admin=$(getent passwd "$RK_H_SSH_ADMIN" | cut -d: -f6)
	home_user=$(getent passwd "$RK_H_SSH_USER" | cut -d: -f6)
	e2e_equal "$what: every host swept, with its own folders, sweep.paths, the login's home" "" \
		"$(sweep_json hosts "$out" \
			"db1=$plant/common,$plant/db1,$E2E_PG,$home_admin,$(getent passwd postgres | cut -d: -f6)" \
			"db2=$plant/common,$plant/db2,$E2E_MY,$home_admin" \
			"app1=$plant/common,$plant/app1,$E2E_APP,$home_user")"
	e2e_equal "$what: the summary agrees with the hosts and the findings" "" \
		"$(sweep_json summary "$out")"
	e2e_equal "$what: owner, group, mode, size and world_readable of every finding (lstat)" "" \
		"$(sweep_json stat "$out")"
	e2e_equal "$what: one finding per host, path and item" "" "$(sweep_json duplicates "$out")"
	e2e_equal "$what: every compromised finding has its item's SPKI and fingerprint (openssl)" \
		"" "$(sweep_json material "$out" "${materials[@]}")"
	e2e_equal "$what: nothing on stdout but the JSON document" "" \
		"$("$py" -c 'import json, sys; json.load(open(sys.argv[1]))' "$out" 2>&1 | tail -n 1)"
}

# What the records folder holds: path, size, time.
records_digest() {
	find "$E2E_RECORDS" -printf '%p %s %T@\n' | sort
}

# field OUT HOST PATH MATCH FIELD
field() {
	sweep_json field "$1" "$2" "$3" "$4" "$5"
}

# ---------------------------------------------------------------------------------------------
# The scenarios

planted() {
	local out=$work/sweep-planted.json
	e2e_rekey "$out" sweep "$pb" --json
	e2e_equal "planted: rekey sweep --json exits 1$(rk_t_show "$(<"$out.err")")" 1 \
		"$e2e_status"
	e2e_equal "planted: looked for the 3 keys and 3 certificates the playbook rotates (openssl)" \
		"" "$(sweep_json looked_for "$out" "${materials[@]}")"
	e2e_same "planted: exactly the planted copies and the deployed files are compromised" \
		"$( (planted_copies; deployed_copies) | sort)" "$(sweep_json compromised "$out")"
	check_shape planted "$out"
	e2e_matches "planted: the deployed key is managed as the service's files.key" \
		'files\.key.*pg-e2e|pg-e2e.*files\.key' \
		"$(field "$out" db1 "$E2E_PG/server.key" key managed)"
	e2e_matches "planted: app1's deployed certificate is managed as the client's files.cert" \
		'files\.cert.*app1-env|app1-env.*files\.cert' \
		"$(field "$out" app1 "$E2E_APP/certs/app.crt" certificate managed)"
	e2e_equal "planted: a planted copy is not managed" null \
		"$(field "$out" db1 "$plant/db1/der/db1-server.cer" certificate managed)"

	# How each copy was written, as the spec names it.
	e2e_same "planted: holds, encoding and form of each copy" \
		"$(printf '%s\n' \
			"backup pem (key): private key|PEM|PKCS#8|$(begin_line "$plant/db1/backup/2026-11/db1-server.pem" 2)" \
			"backup pem (certificate): certificate|PEM|1" \
			"bundle: certificate|PEM|$(begin_line "$plant/db1/bundle/ca-bundle.crt" 2)" \
			"DER certificate: certificate|DER|0" \
			"DER key: private key|DER|PKCS#8|0" \
			"traditional EC key: private key|PEM|traditional|1" \
			"PKCS#12: PKCS#12|0" \
			"locked PKCS#12: PKCS#12|0" \
			".env: private key|PEM escaped|$(grep -n APP_TLS_KEY "$plant/app1/app/.env" | cut -d: -f1)" \
			"YAML: certificate|PEM in text|4")" \
		"$(printf '%s\n' \
			"backup pem (key): $(field "$out" db1 "$plant/db1/backup/2026-11/db1-server.pem" key holds)|$(field "$out" db1 "$plant/db1/backup/2026-11/db1-server.pem" key encoding)|$(field "$out" db1 "$plant/db1/backup/2026-11/db1-server.pem" key form)|$(field "$out" db1 "$plant/db1/backup/2026-11/db1-server.pem" key line)" \
			"backup pem (certificate): $(field "$out" db1 "$plant/db1/backup/2026-11/db1-server.pem" certificate holds)|$(field "$out" db1 "$plant/db1/backup/2026-11/db1-server.pem" certificate encoding)|$(field "$out" db1 "$plant/db1/backup/2026-11/db1-server.pem" certificate line)" \
			"bundle: $(field "$out" db1 "$plant/db1/bundle/ca-bundle.crt" certificate holds)|$(field "$out" db1 "$plant/db1/bundle/ca-bundle.crt" certificate encoding)|$(field "$out" db1 "$plant/db1/bundle/ca-bundle.crt" certificate line)" \
			"DER certificate: $(field "$out" db1 "$plant/db1/der/db1-server.cer" certificate holds)|$(field "$out" db1 "$plant/db1/der/db1-server.cer" certificate encoding)|$(field "$out" db1 "$plant/db1/der/db1-server.cer" certificate line)" \
			"DER key: $(field "$out" db1 "$plant/db1/der/db1-server.key.der" key holds)|$(field "$out" db1 "$plant/db1/der/db1-server.key.der" key encoding)|$(field "$out" db1 "$plant/db1/der/db1-server.key.der" key form)|$(field "$out" db1 "$plant/db1/der/db1-server.key.der" key line)" \
			"traditional EC key: $(field "$out" db2 "$plant/db2/keys/db2-server.ec.key" key holds)|$(field "$out" db2 "$plant/db2/keys/db2-server.ec.key" key encoding)|$(field "$out" db2 "$plant/db2/keys/db2-server.ec.key" key form)|$(field "$out" db2 "$plant/db2/keys/db2-server.ec.key" key line)" \
			"PKCS#12: $(field "$out" db2 "$plant/db2/p12/db2-server.p12" key encoding)|$(field "$out" db2 "$plant/db2/p12/db2-server.p12" key line)" \
			"locked PKCS#12: $(field "$out" db2 "$plant/db2/p12/db2-server-locked.p12" key encoding)|$(field "$out" db2 "$plant/db2/p12/db2-server-locked.p12" key line)" \
			".env: $(field "$out" app1 "$plant/app1/app/.env" key holds)|$(field "$out" app1 "$plant/app1/app/.env" key encoding)|$(field "$out" app1 "$plant/app1/app/.env" key line)" \
			"YAML: $(field "$out" app1 "$plant/app1/app/config.yml" certificate holds)|$(field "$out" app1 "$plant/app1/app/config.yml" certificate encoding)|$(field "$out" app1 "$plant/app1/app/config.yml" certificate line)")"
	e2e_equal "planted: the world-readable DER key says so; the 0600 backup does not" \
		"true false" "$(field "$out" db1 "$plant/db1/der/db1-server.key.der" key \
		world_readable) $(field "$out" db1 "$plant/db1/backup/2026-11/db1-server.pem" key \
		world_readable)"

	# What is not a compromised copy.
	e2e_same "planted: unrelated material, the symlinks, the loop: no finding, or not compromised" \
		"$(printf '%s\n' "app1|$plant/app1/locked/app-client.key|unreadable" \
			"db1|$plant/db1/exposed/other.key|exposed" \
			"db2|$plant/db2/huge/dump.pem|too-large")" \
		"$(sweep_json class "$out" "$plant/db1/exposed" "$plant/db1/unrelated" \
			"$plant/db1/legacy" "$plant/db1/loop" "$plant/db1/link.pem" "$plant/db2/unrelated" \
			"$plant/db2/huge" "$plant/app1/unrelated" "$plant/app1/locked" "$plant/app1/loop")"
	e2e_equal "planted: the bundle gives db1-server's certificate alone, not the CA or the others" \
		"db1|$plant/db1/bundle/ca-bundle.crt|compromised" \
		"$(sweep_json class "$out" "$plant/db1/bundle")"
	e2e_equal "planted: the exposed key is a private key matching nothing, world-readable" \
		"private key|null|true" "$(field "$out" db1 "$plant/db1/exposed/other.key" - holds)|$(
		field "$out" db1 "$plant/db1/exposed/other.key" - matches)|$(
		field "$out" db1 "$plant/db1/exposed/other.key" - world_readable)"
	e2e_equal "planted: the exposed key's spki_sha256 is its own (openssl)" \
		"$(spki_of_key "$work/exposed.key")" \
		"$(field "$out" db1 "$plant/db1/exposed/other.key" - spki_sha256)"
	e2e_equal "planted: the 3 MiB file is too-large with its size (lstat), not read" \
		"too-large $(stat -c %s "$plant/db2/huge/dump.pem") null" \
		"$(field "$out" db2 "$plant/db2/huge/dump.pem" - class) $(
		field "$out" db2 "$plant/db2/huge/dump.pem" - size) $(
		field "$out" db2 "$plant/db2/huge/dump.pem" - spki_sha256)"
	if runuser -u "$RK_H_SSH_USER" -- cat -- "$plant/app1/locked/app-client.key" >/dev/null 2>&1
	then
		rk_t_note "planted: app1's login can read a mode 0000 file here: unreadable not tested"
	else
		e2e_equal "planted: the mode 0000 file app1's login (rkuser, no sudo) cannot read" \
			"unreadable 0000 root" "$(field "$out" app1 "$plant/app1/locked/app-client.key" - \
			class) $(field "$out" app1 "$plant/app1/locked/app-client.key" - mode) $(
			field "$out" app1 "$plant/app1/locked/app-client.key" - owner)"
	fi
	e2e_equal "planted: the folder app1's login cannot open hides nothing it calls compromised" \
		"" "$(sweep_json class "$out" "$plant/app1/closed" | grep compromised || true)"
	rk_t_note "planted: the folder app1 cannot open is reported as:" \
		"$(sweep_json class "$out" "$plant/app1/closed" | tr '\n' ' ')"
	e2e_equal "planted: no record before the incident was run" "null" \
		"$("$py" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])).get("record")))' "$out" 2>&1)"
	e2e_check "planted: no archive was made for it" test ! -e "$archive"
	e2e_equal "planted: stderr holds no PEM" "" "$(grep -e '-----BEGIN' "$out.err" || true)"
}

planted_text() {
	local out=$work/sweep-planted.txt json=$work/sweep-planted.json text host
	e2e_rekey "$out" sweep "$pb" --no-record
	text=$(<"$out")
	e2e_equal "text: exits 1" 1 "$e2e_status"
	e2e_matches "text: opens with 'sweep E2E: looking for'" \
		'^sweep E2E: looking for ' "$text"
	for host in db1 db2 app1; do
		e2e_matches "text: a line for $host: files looked at and read" \
			$'(^|\n)'"$host"': [0-9]+ files looked at, [0-9]+ read' "$text"
	done
	e2e_matches "text: a finding line for the DER copy" \
		$'(^|\n)  compromised +'"$plant/db1/der/db1-server.cer"'( |\n|$)' "$text"
	e2e_matches "text: the exposed key" $'(^|\n)  exposed +'"$plant/db1/exposed/other.key" "$text"
	e2e_matches "text: the too-large file" $'(^|\n)  too-large +'"$plant/db2/huge/dump.pem" "$text"
	e2e_matches "text: the unreadable file" \
		$'(^|\n)  unreadable +'"$plant/app1/locked/app-client.key" "$text"
	e2e_matches "text: has a summary line" $'(^|\n)summary: ' "$text"
	e2e_equal "text: as many compromised lines as the JSON has compromised findings" \
		"$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"]["compromised"])' "$json" 2>&1)" \
		"$(grep -c '^  compromised ' <<<"$text")"
	e2e_equal "text: every finding line (two spaces, a word, a path) says one of the spec's words" \
		"" "$(grep -E '^  [a-z-]+ +/' <<<"$text" |
			grep -Ev '^  (compromised|exposed|unreadable|too-large|skipped) ' || true)"
	e2e_equal "text: holds no PEM" "" "$(grep -e '-----BEGIN' <<<"$text" || true)"
}

match_and_paths() {
	local out=$work/sweep-match.json got rsa
	openssl pkey -in "$work/leaked-rsa.key" -out "$work/leaked-rsa.pk8.pem"
	rsa=$(spki_of_key "$work/leaked-rsa.key")
	e2e_rekey "$out" sweep "$pb" --match "$work/leaked-rsa.pk8.pem" --paths "$plant/alt" --json \
		--no-record
	e2e_equal "match: exits 1" 1 "$e2e_status"
	got=$(sweep_json compromised "$out")
	e2e_matches "match: the traditional RSA copy on db1 is found through the PKCS#8 --match file" \
		"(^|"$'\n'")db1\\|$plant/db1/legacy/leaked-rsa.key\\|key\\|" "$got"
	e2e_equal "match: with the --match key's spki_sha256 (openssl)" "$rsa" \
		"$(field "$out" db1 "$plant/db1/legacy/leaked-rsa.key" key spki_sha256)"
	e2e_matches "match: and its form is traditional" '^traditional' \
		"$(field "$out" db1 "$plant/db1/legacy/leaked-rsa.key" key form)"
	e2e_equal "match: looked_for has the --match key" "" \
		"$(sweep_json looked_for "$out" "match:leaked-rsa=$rsa=")"
	e2e_same "match: --paths replaces sweep.paths on every host, the hosts' own stay" \
		"$(printf '%s\n' "app1|$plant/alt/db2-server.der|certificate|db2-server|planted" \
			"db1|$plant/alt/db2-server.der|certificate|db2-server|planted" \
			"db2|$plant/alt/db2-server.der|certificate|db2-server|planted" \
			"db2|$plant/db2/keys/db2-server.ec.key|key|db2-server|planted")" \
		"$(grep -E "\\|$plant/(alt|common)/|db2-server.ec.key" <<<"$got")"
	e2e_equal "match: the summary agrees" "" "$(sweep_json summary "$out")"
}

usage_errors() {
	local bad=$work/sweep-bad.yml before
	before=$(records_digest)
	e2e_rekey "$work/usage-1.out" sweep "$pb" --paths relative/dir
	e2e_equal "usage: a relative --paths exits 2" 2 "$e2e_status"
	e2e_rekey "$work/usage-4.out" sweep "$pb" --paths /etc/ssl/../ssl
	e2e_equal "usage: a --paths with '..' exits 2" 2 "$e2e_status"
	e2e_matches "usage: and says why" "without '\.', '\.\.' or '//'" "$(<"$work/usage-4.out")"
	e2e_rekey "$work/usage-2.out" sweep "$pb" --match "$work/no-such-file.pem"
	e2e_equal "usage: a --match file that is not there exits 2" 2 "$e2e_status"
	sed 's/^  max_file_size: 2M$/  max_file_size: 2X/' "$pb" >"$bad"
	e2e_rekey "$work/usage-3.out" sweep "$bad"
	e2e_equal "usage: sweep.max_file_size 2X exits 2" 2 "$e2e_status"
	e2e_matches "usage: and names the place, file:line:column" \
		"sweep-bad.yml:$(grep -n 'max_file_size' "$bad" | cut -d: -f1):[0-9]+:" \
		"$(<"$work/usage-3.out")"
	e2e_same "usage: none of them changed the records folder" "$before" "$(records_digest)"
}

cleaned() {
	local out=$work/sweep-cleaned.json
	remove_planted_copies
	e2e_rekey "$out" sweep "$pb" --json
	e2e_equal "cleaned: exits 1: the deployed files are the compromised ones until the run" 1 \
		"$e2e_status"
	e2e_same "cleaned: the deployed files alone are compromised" "$(deployed_copies | sort)" \
		"$(sweep_json compromised "$out")"
	check_shape cleaned "$out"
}

# The backups the run left of the compromised files, as sweep_json compromised prints them.
backups() {
	local host dir name match file
	for host in db1 db2 app1; do
		case $host in
		db1) dir=$E2E_PG name=db1-server ;;
		db2) dir=$E2E_MY name=db2-server ;;
		app1) dir=$E2E_APP/certs name=app-client ;;
		esac
		for file in "$dir"/*.rekey-bak-*; do
			[[ -f $file ]] || continue
			if e2e_same_bytes "$file" "$old/$name.key"; then
				match=key
			elif cmp -s -- "$file" "$old/$name.crt"; then
				match=certificate
			else
				continue
			fi
			printf '%s|%s|%s|%s|managed\n' "$host" "$file" "$match" "$name"
		done
	done | sort
}

after_run() {
	local out=$work/sweep-after.json want line members host file match
	e2e_run_ok "run" "$work/run.out" run "$pb"
	want=$(backups)
	e2e_equal "after run: the run left a backup of each deployed key and certificate" 6 \
		"$(grep -c . <<<"$want")"
	e2e_rekey "$out" sweep "$pb" --json
	e2e_equal "after run: exits 1 (rekey's backups hold the old keys)" 1 "$e2e_status"
	e2e_same "after run: rekey's backups are compromised, the newly deployed files are not" \
		"$want" "$(sweep_json compromised "$out")"
	while IFS= read -r line; do
		IFS='|' read -r host file match _ <<<"$line"
		e2e_matches "after run: ${file##*/} is managed as rekey's backup" "^rekey's backup" \
			"$(field "$out" "$host" "$file" "$match" managed)"
	done <<<"$want"
	check_shape "after run" "$out"
	e2e_equal "after run: the JSON names the record" "$archive" \
		"$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("record"))' "$out")"
	members=$(tar -tzf "$archive" 2>&1)
	e2e_equal "after run: the record holds one sweep.json (tar -tzf)" "$id/sweep.json" \
		"$(grep 'sweep\.json$' <<<"$members" || true)"
	check_record "after run" "$out"
	sha256sum <"$archive" >"$work/archive.sha256"

	remove_backups "$want"
	out=$work/sweep-clean.json
	e2e_rekey "$out" sweep "$pb" --json --no-record
	e2e_equal "clean: exits 0 with the backups gone$(rk_t_show "$(<"$out.err")")" 0 "$e2e_status"
	e2e_equal "clean: nothing compromised" "" "$(sweep_json compromised "$out")"
	e2e_same "clean: still reports the exposed key, the unreadable and the too-large file" \
		"$(printf '%s\n' "app1|$plant/app1/locked/app-client.key|unreadable" \
			"db1|$plant/db1/exposed/other.key|exposed" \
			"db2|$plant/db2/huge/dump.pem|too-large")" \
		"$(sweep_json class "$out" "$plant/db1" "$plant/db2" "$plant/app1/locked" \
			"$plant/app1/unrelated")"
	check_shape clean "$out"
	e2e_equal "clean: --no-record left the record as it was (sha256sum)" \
		"$(<"$work/archive.sha256")" "$(sha256sum <"$archive")"

	out=$work/sweep-clean.txt
	e2e_rekey "$out" sweep "$pb"
	e2e_equal "clean (text): exits 0" 0 "$e2e_status"
	e2e_equal "clean (text): no compromised line" "" "$(grep '^  compromised' "$out" || true)"
	e2e_matches "clean (text): has a summary line" $'(^|\n)summary: ' "$(<"$out")"
	e2e_equal "clean (text): the record still holds one sweep.json" "$id/sweep.json" \
		"$(tar -tzf "$archive" | grep 'sweep\.json$' || true)"
	check_record "clean (text)" ""
}

# A host that cannot be swept (db2's sshd port closed) makes the sweep exit 1 by itself.
unreachable() {
	local out=$work/sweep-unreachable.json bad=$E2E/sweep-unreachable.yml port
	port=$(harness_pick_free_port)
	sed -E "s#^(  db2: \\{.*port: )[0-9]+,#\\1$port,#" "$pb" >"$bad"
	e2e_equal "unreachable: the playbook's db2 is on a closed port" 1 \
		"$(grep -c "^  db2: {.*port: $port," "$bad")"
	e2e_rekey "$out" sweep "$bad" --json --no-record
	e2e_equal "unreachable: exits 1 with nothing compromised" "1 0" \
		"$e2e_status $("$py" -c 'import json, sys
print(json.load(open(sys.argv[1]))["summary"]["compromised"])' "$out" 2>&1)"
	e2e_equal "unreachable: db2 not swept, with an error; db1 and app1 swept" \
		"db1 True False|db2 False True|app1 True False" \
		"$("$py" -c 'import json, sys
print("|".join("%s %s %s" % (h["host"], h["swept"], h["error"] is not None)
               for h in json.load(open(sys.argv[1]))["hosts"]))' "$out" 2>&1)"
	e2e_equal "unreachable: the summary says 2 of 3 hosts swept" "" "$(sweep_json summary "$out")"
}

remove_backups() {
	local line file
	while IFS= read -r line; do
		file=${line#*|}
		rm -f -- "${file%%|*}"
	done <<<"$1"
}

# check_record WHAT [JSON]: the record verifies, its MANIFEST lists sweep.json and sha256sum -c
# passes, and its sweep.json is the one of <records>/<id>/ and (given) the sweep's own output.
check_record() {
	local what=$1 json=$2 dir=$work/record-$RANDOM out
	e2e_check "$what: rekey record verify passes" "$E2E_REKEY" record verify "$archive"
	mkdir -p -- "$dir"
	tar -xzf "$archive" -C "$dir"
	e2e_matches "$what: MANIFEST.sha256 lists sweep.json" $'(^|\n)[0-9a-f]{64}  sweep\\.json(\n|$)' \
		"$(cat "$dir/$id/MANIFEST.sha256" 2>&1)"
	if out=$(cd "$dir/$id" && sha256sum --strict -c MANIFEST.sha256 2>&1); then
		e2e_ok "$what: sha256sum -c MANIFEST.sha256 passes"
	else
		e2e_bad "$what: sha256sum -c MANIFEST.sha256:$(rk_t_show "$out")"
	fi
	e2e_equal "$what: openssl verifies MANIFEST.sig with signer.pub" "Verified OK" \
		"$(openssl dgst -sha256 -verify "$dir/$id/signer.pub" -signature "$dir/$id/MANIFEST.sig" \
		"$dir/$id/MANIFEST.sha256" 2>&1)"
	e2e_check "$what: <records>/$id/sweep.json is the record's" \
		cmp -- "$dir/$id/sweep.json" "$(e2e_incident_dir "$id")/sweep.json"
	if [[ -n $json ]]; then
		# Its own "record" aside: inside the record the document cannot name the archive yet.
		e2e_equal "$what: the record's sweep.json is the sweep's output (as JSON)" same \
			"$("$py" -c 'import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
a.pop("record", None); b.pop("record", None)
print("same" if a == b else "differs: " + " ".join(k for k in a if a[k] != b.get(k)))' \
			"$dir/$id/sweep.json" "$json" 2>&1)"
	else
		e2e_equal "$what: the record's sweep.json is the clean sweep's" 0 \
			"$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"]["compromised"])' \
			"$dir/$id/sweep.json" 2>&1)"
	fi
}

write_playbook
plant_copies
compute_materials
started=${EPOCHREALTIME/./}
planted
rk_t_note "planted: the sweep took $(e2e_elapsed "$started")"
planted_text
match_and_paths
usage_errors
cleaned
after_run
unreachable
e2e_finish
