#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 2 (issue 20, "Bad input"): hostile values in a
# playbook, against real sshd. Two hosts, each its own sshd: h1 logs in as rkadmin with sudo,
# h2 as rkuser without; two clients (one on each) get the CA, a client certificate and key in
# a folder whose name holds quotes, $(...), backticks, ; | && * and a leading -, edit a .env
# there, and run a reload and a verify command. Every command either sshd runs goes through a
# ForceCommand wrapper that runs it as the login shell would (bash -c) with shims first on
# PATH, which write down each argv as bash split it.
#
# Refused (`rekey run` exits 2 with FILE:LINE:COLUMN: error, and neither sshd logs a
# connection): names (incident id, host, client, certificate) with a quote, $(), ;, |, a blank,
# a glob or a leading -; paths that are relative, start with -, or hold '..', '.', '//' or a
# line break; owners, groups and logins with a blank, $(), backticks, ; or a leading -;
# commands with a line break; SANs that are not host names or addresses.
# Carried: the same characters inside absolute paths, inside a certificate's subject, in a
# client file's values and in the playbook's own commands. `plan`, `rehearse` and `run`
# succeed; afterwards no canary exists on the hosts or the controller, every file sits at its
# literal path with its mode and owner (stat) and the bytes of the incident's files (cmp), a
# file whose name the glob would have matched is untouched, bash reads the .env's values back
# literally, the subject is the one written (openssl x509), each playbook command ran once and
# printed what `sh -c` prints for it here, and every command the hosts ran is rekey's own
# script with the hostile values as whole arguments only (never in the script text, never
# split), or the playbook's command itself.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/hostile
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
E2E_REKEY=$(realpath -- "${1:?usage: e2e_hostile.sh REKEY}")
read -r -a ports <<<"${RK_H_SSH_PORTS:?run under with-servers.sh --ssh 2}"
read -r -a sshdirs <<<"${RK_H_SSH_DIRS:?}"
((${#ports[@]} >= 2)) || { echo "e2e_hostile: needs --ssh 2" >&2; exit 1; }

H=$RK_H_DIR/hostile
mkdir -p -- "$H/out" "$H/shims" "$H/argv" "$H/h1out" "$H/h2out"
chmod 0755 -- "$H" "$H/out" "$H/shims"
chown "$RK_H_SSH_USER:$RK_H_SSH_USER" -- "$H/h2out"
chmod 1777 -- "$H/argv"
cp -a -- "$RK_H_CA_DIR" "$H/pki"
canary=rkcanary-$$
# A canary's name as a relative path (made in the command's working folder) and one absolute.
mkdir -p -- "$H/canaries"
chmod 1777 -- "$H/canaries"

# ---------------------------------------------------------------------------------------------
# What the hosts run: a ForceCommand wrapper and argv-logging shims

for prog in sh sudo timeout id true cat rm ls tail; do
	real=$(command -v "$prog")
	cat >"$H/shims/$prog" <<EOF
#!/bin/bash
# Writes down the argv bash gave this command, then runs the real $prog.
log=\$(mktemp "$H/argv/cmd.XXXXXXXX") && printf '%s\\0' "$prog" "\$@" >"\$log"
PATH=\$RK_HOSTILE_PATH exec $real "\$@"
EOF
	chmod 0755 -- "$H/shims/$prog"
done
cat >"$H/wrapper" <<EOF
#!/bin/bash
# sshd's ForceCommand: the command as the login shell would run it, the shims first on PATH.
if [[ \${SSH_ORIGINAL_COMMAND:-} == internal-sftp ]]; then
	exec /usr/lib/openssh/sftp-server
fi
export RK_HOSTILE_PATH=\$PATH
PATH=$H/shims:\$PATH exec bash -c "\$SSH_ORIGINAL_COMMAND"
EOF
chmod 0755 -- "$H/wrapper"
for i in 0 1; do
	printf 'ForceCommand %s\n' "$H/wrapper" >>"${sshdirs[$i]}/sshd_config"
	pid=$(harness_read_pid_file "${sshdirs[$i]}/sshd.pid")
	kill -HUP "$pid"
done
# A HUP'ed sshd re-executes itself; wait until both take connections again.
for i in 0 1; do
	harness_wait_until 10 "sshd ${ports[$i]} back" harness_sshd_listens "${sshdirs[$i]}" \
		"${ports[$i]}"
	harness_wait_until 10 "sshd ${ports[$i]} answers" ssh -q -o BatchMode=yes \
		-o UserKnownHostsFile="$RK_H_KNOWN_HOSTS" -i "$RK_H_SSH_KEY" -p "${ports[$i]}" \
		"$RK_H_SSH_USER@127.0.0.1" true
done
rm -f -- "$H/argv"/cmd.*

# ---------------------------------------------------------------------------------------------
# The hostile values

# One folder name with everything a shell would act on; no '/' (it is one component).
evil="it's \"q\" \$(touch $canary-1) \`touch $canary-2\` ; touch $canary-3 | touch $canary-4 && touch $canary-5 * -rf ~x"
# A second folder below it, whose name holds an absolute canary path (so '/' splits it).
abs="\$(touch $H/canaries/$canary-6)"
F1=$H/h1/$evil/$abs
F2=$H/h2/$evil
mkdir -p -- "$F1" "$F2"
chown -R "$RK_H_SSH_USER:$RK_H_SSH_USER" -- "$H/h2"
# Files a glob in the folder would match, which must stay as they are.
printf 'bystander\n' >"$F1/bystander.crt"
printf 'bystander\n' >"$F2/bystander.key"
# A .env on each, with what it holds before rekey edits it.
printf 'APP_NAME=demo\nDB_SSL_MODE=disable\n' >"$F1/.env"
printf 'APP_NAME=demo\nDB_SSL_MODE=disable\n' >"$F2/.env"
chown "$RK_H_SSH_USER:$RK_H_SSH_USER" -- "$F2/.env" "$F2/bystander.key"
note="it's \"q\" \$(touch $canary-7) \`touch $canary-8\`; touch $canary-9 | x && y * -rf"
cn="\$(touch c10) \`touch c11\`; it's \"q\" | && * -rf"
# The playbook's own commands: shell by contract, run once by sh -c on the host.
reload_of() { # reload_of OUT: what the reload command writes to OUT
	printf '%s' "printf '[%s]' \"it's\" '\$(touch $canary-12)' \"\$(printf sub)\" \`printf bq\` '-rf' '*' > $1"
}
verify_of() { # verify_of FILE: passes only when FILE is there, at its literal path
	printf '%s' "test -f $(printf '%q' "$1") && printf '%s' '\$(touch $canary-13); | &&' >/dev/null"
}
# YAML double-quoted scalars: backslashes, double quotes and line breaks escaped.
y() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "${s//$'\n'/\\n}"
}

# hostile_playbook FILE [KEY=VALUE...]: the playbook, with any value replaced by a hostile one.
hostile_playbook() {
	local file=$1 kv
	local -A o=([id]=INC-HOSTILE-1 [cert]=app-client [h1]=h1 [h2]=h2 [client]=app1
		[ca1]="$F1/-n.crt" [cert1]="$F1/*.crt" [key1]="$F1/\$(touch $canary-14).key"
		[env1]="$F1/.env" [ca2]="$F2/-n.crt" [cert2]="$F2/it's.crt" [key2]="$F2/*.key"
		[env2]="$F2/.env" [owner]=rkuser [group]=rkuser [user2]=rkuser
		[reload]="$(reload_of "$H/h1out/reload.out")"
		[verify]="$(verify_of "$F1/*.crt")"
		[subject]="/O=rekey e2e/CN=$cn" [san]="")
	shift
	for kv in "$@"; do
		[[ -v o[${kv%%=*}] ]] || { echo "hostile_playbook: unknown key ${kv%%=*}" >&2; return 1; }
		o[${kv%%=*}]=${kv#*=}
	done
	local san=""
	[[ -z ${o[san]} ]] || san=", san: [$(y "${o[san]}")]"
	cat >"$file" <<EOF
# Hostile values (tests/integration/e2e_hostile.sh)
version: 1
incident: {id: $(y "${o[id]}"), reason: keyCompromise, records: "$H/incidents"}
ca: {cert: "$H/pki/ca.crt", key: "$H/pki/ca.key", crl: "$H/pki/ca.crl"}
certificates:
  $(y "${o[cert]}"): {profile: client, subject: $(y "${o[subject]}")$san, key: ec-p256, days: 30}
hosts:
  $(y "${o[h1]}"): {address: 127.0.0.1, port: ${ports[0]}, user: rkadmin, identity: "$RK_H_SSH_KEY", known_hosts: "$RK_H_KNOWN_HOSTS", sudo: true, timeout: 20}
  $(y "${o[h2]}"): {address: 127.0.0.1, port: ${ports[1]}, user: $(y "${o[user2]}"), identity: "$RK_H_SSH_KEY", known_hosts: "$RK_H_KNOWN_HOSTS", timeout: 20}
clients:
  - name: $(y "${o[client]}")
    host: $(y "${o[h1]}")
    file: {path: $(y "${o[env1]}"), format: env}
    set: {DB_SSL_MODE: verify-full, DB_SSL_CA_CERT: $(y "${o[ca1]}"), DB_NOTE: $(y "$note")}
    files:
      ca: {path: $(y "${o[ca1]}"), owner: $(y "${o[owner]}"), group: $(y "${o[group]}"), mode: "0644"}
      cert: {path: $(y "${o[cert1]}"), certificate: $(y "${o[cert]}"), owner: rkuser, group: rkuser, mode: "0644"}
      key: {path: $(y "${o[key1]}"), certificate: $(y "${o[cert]}"), owner: rkuser, group: rkuser, mode: "0600"}
    reload: {command: $(y "${o[reload]}")}
    verify: {command: $(y "${o[verify]}")}
  - name: app2
    host: $(y "${o[h2]}")
    file: {path: $(y "${o[env2]}"), format: env}
    set: {DB_SSL_MODE: verify-full, DB_NOTE: $(y "$note")}
    files:
      ca: {path: $(y "${o[ca2]}"), mode: "0644"}
      cert: {path: $(y "${o[cert2]}"), certificate: $(y "${o[cert]}"), mode: "0644"}
      key: {path: $(y "${o[key2]}"), certificate: $(y "${o[cert]}"), mode: "0600"}
    reload: {command: $(y "$(reload_of "$H/h2out/reload.out")")}
    verify: {command: $(y "$(verify_of "$F2/it's.crt")")}
policy: {max_parallel: 2, canary: 0, on_failure: rollback}
EOF
}

sessions() { # the logins both sshd accepted so far
	cat -- "${sshdirs[0]}/sshd.log" "${sshdirs[1]}/sshd.log" | grep -c 'Accepted publickey' || true
}

# Every canary anywhere a command could have made it: the logins' homes, /, the controller's
# working folder, the hosts' folders, /tmp.
canaries() {
	{
		find / /tmp -maxdepth 1 -name "$canary-*"
		find /root /home -maxdepth 2 -name "$canary-*"
		find "$H" -name "$canary-*"
	} 2>/dev/null | grep -E "/$canary-[0-9]+\$" | LC_ALL=C sort -u || true
}

# ---------------------------------------------------------------------------------------------
# Refused before any host is touched

refused() { # refused WHAT REGEX KEY=VALUE...
	local what=$1 pattern=$2 before
	shift 2
	hostile_playbook "$H/bad.yml" "$@"
	before=$(sessions)
	e2e_rekey "$H/out/bad.out" run bad.yml
	if ((e2e_status != 2)); then
		e2e_bad "$what: rekey run exits $e2e_status, want 2$(rk_t_show "$(<"$H/out/bad.out")")"
	elif ! grep -Eq "^bad\.yml:[0-9]+:[0-9]+: error: $pattern" "$H/out/bad.out"; then
		e2e_bad "$what: no FILE:LINE:COLUMN error /$pattern/$(rk_t_show "$(<"$H/out/bad.out")")"
	elif [[ $(sessions) != "$before" ]]; then
		e2e_bad "$what: a host was logged in to"
	else
		e2e_ok "$what: refused (exit 2, file:line:column), no host touched"
	fi
}

# The controller works in H: a relative canary would show there.
cd -- "$H"
started=${EPOCHREALTIME/./}
hostile_playbook "$H/good.yml"
refused "incident id with \$()" "incident id 'INC-\\\$\(touch" "id=INC-\$(touch $canary-r1)"
refused "incident id with ;" "incident id" "id=INC;touch $canary-r2"
refused "host name with a quote" "host name 'h'1'" "h1=h'1"
refused "host name with a glob" "host name '\*'" "h2=*"
refused "client name with |" "client name 'a\|b'" "client=a|b"
refused "client name with a blank" "client name 'a b'" "client=a b"
refused "certificate name with a leading -" "certificate name '-rf'" "cert=-rf"
refused "certificate name with backticks" "certificate name '\`id\`'" "cert=\`id\`"
refused "relative path" "path 'x/ca.crt' must be an absolute path" "ca1=x/ca.crt"
refused "path with a leading -" "path '-rf /' must be an absolute path" "ca2=-rf /"
refused "path with .." "path '.*/\.\./etc/passwd' has a '\.\.' component" "ca1=$F1/../etc/passwd"
refused "path with ." "path '.*/\./ca\.crt' has a '\.' component" "cert2=$F2/./ca.crt"
refused "path with //" "path '.*//ca\.crt' has a '//' component" "key2=$F2//ca.crt"
refused "path with a line break" "path holds a control character" "cert1=$F1/a"$'\n'"b.crt"
refused "client file path with .." "file path '.*' has a '\.\.' component" "env1=$F1/../.env"
refused "owner with \$()" "owner '\\\$\(id\)' is not a valid user name" "owner=\$(id)"
refused "owner with a leading -" "owner '-R' is not a valid user name" "owner=-R"
refused "group with ;" "group 'g;id' is not a valid group name" "group=g;id"
refused "group with backticks" "group '\`id\`' is not a valid group name" "group=\`id\`"
refused "login with a leading -" "user '-oProxyCommand=x' is not a valid login name" \
	"user2=-oProxyCommand=x"
refused "login with a blank" "user 'rk user' is not a valid login name" "user2=rk user"
refused "reload command with a line break" "reload holds a control character" \
	"reload=true"$'\n'"touch $canary-r3"
refused "verify command with a line break" "verify holds a control character" \
	"verify=true"$'\n'"touch $canary-r4"
refused "SAN with \$()" "bad SAN entry 'DNS:\\\$\(touch" "san=DNS:\$(touch $canary-r5)"
refused "SAN with a leading -" "bad SAN entry 'DNS:-rf'" "san=DNS:-rf"
refused "SAN with a blank" "bad SAN entry 'IP:127.0.0.1 -rf'" "san=IP:127.0.0.1 -rf"
refused "subject with a line break" "subject holds a control character" \
	"subject=/CN=a"$'\n'"b"
rk_t_note "refusals took $(e2e_elapsed "$started")"

# ---------------------------------------------------------------------------------------------
# Carried: plan, rehearse, run

before_h1=$(stat -c '%i %s %Y' -- "$F1/bystander.crt")
before_h2=$(stat -c '%i %s %Y' -- "$F2/bystander.key")
for cmd in plan rehearse run; do
	started=${EPOCHREALTIME/./}
	e2e_rekey "$H/out/$cmd.out" "$cmd" good.yml
	rk_t_note "rekey $cmd took $(e2e_elapsed "$started")"
	if ((e2e_status == 0)); then
		e2e_ok "rekey $cmd of the hostile playbook exits 0"
	else
		e2e_bad "rekey $cmd exits $e2e_status$(rk_t_show "$(tail -n 30 "$H/out/$cmd.out")")"
	fi
	e2e_equal "no canary after $cmd" "" "$(canaries)"
done

# The files, at their literal paths, with their modes, owners and the incident's bytes.
inc=$H/incidents/INC-HOSTILE-1
e2e_check "the incident's client certificate is there" test -s "$inc/certs/app-client.crt"
landed() { # landed PATH MODE OWNER:GROUP [SAME-AS]
	local got
	got=$(stat -c '%F %a %U:%G' -- "$1" 2>&1) || true
	e2e_equal "$(basename -- "$1") at its literal path" "regular file $2 $3" "$got"
	[[ -z ${4:-} ]] || e2e_check "$(basename -- "$1") holds the incident's bytes" cmp -- "$4" "$1"
}
landed "$F1/-n.crt" 644 rkuser:rkuser "$H/pki/ca.crt"
landed "$F1/*.crt" 644 rkuser:rkuser "$inc/certs/app-client.crt"
landed "$F1/\$(touch $canary-14).key" 600 rkuser:rkuser
landed "$F2/-n.crt" 644 rkuser:rkuser "$H/pki/ca.crt"
landed "$F2/it's.crt" 644 rkuser:rkuser "$inc/certs/app-client.crt"
landed "$F2/*.key" 600 rkuser:rkuser
pub_of_cert=$(openssl x509 -in "$inc/certs/app-client.crt" -noout -pubkey)
for key in "$F1/\$(touch $canary-14).key" "$F2/*.key"; do
	e2e_equal "$(basename -- "$key") is the key of the incident's certificate" "$pub_of_cert" \
		"$(openssl pkey -in "$key" -pubout 2>&1)"
done
e2e_equal "a file the glob *.crt matches is untouched" "$before_h1" \
	"$(stat -c '%i %s %Y' -- "$F1/bystander.crt")"
e2e_equal "a file the glob *.key matches is untouched" "$before_h2" \
	"$(stat -c '%i %s %Y' -- "$F2/bystander.key")"
names() { LC_ALL=C sort -u | tr '\n' '|'; }
e2e_equal "no file but the playbook's and their backups in h1's folder" \
	"$(printf '%s\n' .env .env.rekey-bak -n.crt "\$(touch $canary-14).key" '*.crt' \
		bystander.crt | names)" \
	"$(cd "$F1" && find . -mindepth 1 -maxdepth 1 -printf '%f\n' |
		sed 's/-[0-9T]*Z-[0-9a-f]*$//' | names)"

# The .env values, as bash reads them when it sources the file.
for f in "$F1/.env" "$F2/.env"; do
	got=$(env -i bash -c 'set -a; . "$1"; printf "%s" "$DB_NOTE"' bash "$f" 2>&1) || true
	e2e_equal "bash reads DB_NOTE of $(basename -- "$(dirname -- "$f")")'s .env literally" \
		"$note" "$got"
done
got=$(env -i bash -c 'set -a; . "$1"; printf "%s" "$DB_SSL_CA_CERT"' bash "$F1/.env" 2>&1) || true
e2e_equal "bash reads the CA path of h1's .env literally" "$F1/-n.crt" "$got"
e2e_equal "the certificate's subject is the one written" "$cn" \
	"$(openssl x509 -in "$F1/*.crt" -noout -subject -nameopt multiline |
		sed -n 's/^ *commonName *= //p')"

# Each playbook command ran once, and did what sh -c does with it here.
for h in h1 h2; do
	sh -c "$(reload_of "$H/out/expected-$h.out")"
	e2e_check "the reload command on $h printed what sh -c prints" \
		cmp -- "$H/out/expected-$h.out" "$H/${h}out/reload.out"
done

# What the hosts ran: every argv, as bash split the command line.
python3 - "$H/argv" "$evil" "$canary" "$(reload_of "$H/h1out/reload.out")" \
	"$(reload_of "$H/h2out/reload.out")" "$(verify_of "$F1/*.crt")" \
	"$(verify_of "$F2/it's.crt")" "$F1" "$F2" >"$H/out/argv-problems" <<'PY' || true
import os, sys
logdir, evil, canary = sys.argv[1:4]
commands = set(sys.argv[4:8])
folders = sys.argv[8:10]
problems, seen = [], 0
for name in sorted(os.listdir(logdir)):
    argv = open(os.path.join(logdir, name), "rb").read().decode().split("\0")[:-1]
    seen += 1
    words = argv[:]
    if words[:3] == ["sudo", "-n", "--"]:
        words = words[3:]
    if words[:2] == ["timeout", "-k"]:
        words = words[4:]
    if words[:2] == ["sh", "-c"] and len(words) >= 3:
        script, args = words[2], words[3:]
        if script in commands:
            continue                      # the playbook's own command, run once by sh -c
        if canary in script or evil in script:
            problems.append(f"a hostile value inside rekey's script: {argv[:3]}")
        for a in args:
            # A hostile value travels whole: a path under one of the folders, or a folder.
            if canary in a and not any(a == f or a.startswith(f + "/") for f in folders):
                problems.append(f"a split or cut value: {a!r}")
    elif any(canary in w for w in argv):
        problems.append(f"a hostile value reached {argv[0]} outside sh -c: {argv!r}")
print(f"commands {seen}")
for p in problems:
    print(p)
PY
e2e_matches "the hosts' commands were logged" '^commands [1-9]' "$(head -n 1 "$H/out/argv-problems")"
e2e_equal "every command is rekey's script with whole arguments, or the playbook's own" "" \
	"$(tail -n +2 "$H/out/argv-problems")"
e2e_equal "each reload command ran once" "1 1" \
	"$(for h in h1 h2; do grep -l -- "${h}out/reload.out" "$H/argv"/cmd.* | wc -l; done |
		tr '\n' ' ' | sed 's/ $//')"

# ---------------------------------------------------------------------------------------------
# Targets that must not be replaced: rehearse says NO-GO and run fails (exit 1) on the host with
# the cause, the target is untouched and no temporary file is left

state_of() { # state_of PATH: type, mode, owner, inode, links, bytes
	printf '%s %s\n' "$(stat -c '%F %a %U:%G %i %h' -- "$1")" \
		"$( [[ ! -f $1 ]] || sha256sum <"$1")"
}

n=1
refused_target() { # refused_target WHAT TARGET NEEDLE FIX: FIX is in the rehearsal's fix line
	local what=$1 target=$2 needle=$3 fix=$4 before cmd
	n=$((n + 1))
	hostile_playbook "$H/target.yml" "id=INC-HOSTILE-$n"
	before=$(state_of "$target")
	for cmd in rehearse run; do
		e2e_rekey "$H/out/target-$cmd.out" "$cmd" target.yml
		if ((e2e_status != 1)); then
			e2e_bad "$what: rekey $cmd exits $e2e_status, want 1$(rk_t_show \
				"$(tail -n 20 "$H/out/target-$cmd.out")")"
		elif ! grep -qF -- "$needle" "$H/out/target-$cmd.out"; then
			e2e_bad "$what: rekey $cmd does not say \"$needle\"$(rk_t_show \
				"$(tail -n 20 "$H/out/target-$cmd.out")")"
		else
			e2e_ok "$what: rekey $cmd exits 1 and says why"
		fi
		if [[ $cmd == rehearse ]]; then
			e2e_matches "$what: the rehearsal gives the fix" "fix: [^"$'\n'"]*$fix" \
				"$(<"$H/out/target-$cmd.out")"
		fi
		e2e_equal "$what: the target is untouched after $cmd" "$before" "$(state_of "$target")"
		e2e_equal "$what: no temporary file after $cmd" "" \
			"$(find "$(dirname -- "$target")" -maxdepth 1 -name '*.rekey-tmp-*')"
	done
}

ln -- "$F1/*.crt" "$H/h1/other-name.crt"
refused_target "a target with another hard link" "$F1/*.crt" \
	"has 1 other hard link: the rename would leave it holding the old bytes" \
	"a file of its own: its other names symbolic links to it, or copies"
rm -f -- "$H/h1/other-name.crt"

chmod 0777 -- "$F2"
refused_target "a target in a folder others may write" "$F2/it's.crt" \
	"the folder $F2 is writable by others (mode 0777) without the sticky bit" \
	"chmod go-w the folder named above on h2"
chmod 0755 -- "$F2"

chmod 0775 -- "$H/h1"
refused_target "a folder above it its group may write" "$F1/-n.crt" \
	"the folder $H/h1 is writable by its group (mode 0775) without the sticky bit" \
	"chmod go-w the folder named above on h1"
chmod 0755 -- "$H/h1"

mv -- "$F1/-n.crt" "$H/h1/ca-aside"
mkfifo -m 0644 -- "$F1/-n.crt"
refused_target "a FIFO at the target" "$F1/-n.crt" "is not a regular file" \
	"remove what stands at"
rm -f -- "$F1/-n.crt"
mv -- "$H/h1/ca-aside" "$F1/-n.crt"

mv -- "$F2/*.key" "$H/h2/key-aside"
ln -s -- "$H/h2/key-aside" "$F2/*.key"
refused_target "a symbolic link at the target" "$F2/*.key" \
	"is a symbolic link (refused unless allow_symlink)" \
	"name the link's target as the path, or set allow_symlink: true"
e2e_equal "the link's target is untouched" "600 rkuser" "$(stat -c '%a %U' -- "$H/h2/key-aside")"
rm -f -- "$F2/*.key"
mv -- "$H/h2/key-aside" "$F2/*.key"

e2e_equal "no canary at the end" "" "$(canaries)"
e2e_finish
