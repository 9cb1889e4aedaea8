#!/usr/bin/env bash
# `cpack -G DEB` in the build folder makes rekey_VERSION_ARCH.deb: dpkg-deb reads its control
# (Package rekey, the project's version, Section, Maintainer, a Depends that names the package
# of every shared library the program needs, as dpkg -S finds them) and its files (exactly
# the installation's, under /usr, root-owned, with its modes: no test or benchmark binary).
# Then, as root on a machine with no rekey package and nothing at its paths, it is really
# installed: dpkg -i, /usr/bin/rekey --version prints the build's version, man -w finds
# rekey(1) and rekey-playbook(5), the completion is in place, dpkg --verify passes; and
# dpkg -r takes every file away again (also when a check fails: a trap removes it).
# Not root, or rekey already there: the install part is skipped, exit 77.
# Usage: tests/install/deb.sh CPACK BUILD REPO
set -euo pipefail
# shellcheck source=../check.sh
. "$(dirname "${BASH_SOURCE[0]}")/../check.sh"
cpack=${1:?usage: deb.sh CPACK BUILD REPO}
build=${2:?usage: deb.sh CPACK BUILD REPO}
repo=${3:?usage: deb.sh CPACK BUILD REPO}
# shellcheck source=tree.sh
. "$(dirname "${BASH_SOURCE[0]}")/tree.sh"

for tool in dpkg-deb dpkg-shlibdeps dpkg readelf flock; do
	command -v "$tool" >/dev/null ||
		{ echo "deb.sh: no $tool (scripts/install-deps.sh installs dpkg-dev)" >&2; exit 1; }
done

tmp=$(mktemp -d)
installed=false
cleanup() {
	if $installed; then
		echo "deb.sh: removing the package after a failure"
		dpkg -r rekey >/dev/null 2>&1 || echo "deb.sh: dpkg -r rekey failed: remove it by hand" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the package ---------------------------------------------------------------------------

# -B keeps cpack's output and staging folder out of the build folder.
(cd "$build" && "$cpack" -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1 ||
	{ cat "$tmp/cpack.log"; echo "FAIL: cpack -G DEB"; exit 1; }
mapfile -t debs < <(find "$tmp/out" -maxdepth 1 -name '*.deb')
((${#debs[@]} == 1)) || { echo "FAIL: cpack made ${#debs[@]} .deb files: ${debs[*]}"; exit 1; }
deb=${debs[0]}
version=$("$build/bin/rekey" --version | awk '{ print $2 }')
arch=$(dpkg --print-architecture)
[ "${deb##*/}" = "rekey_${version}_$arch.deb" ] && ok "cpack made ${deb##*/}" ||
	bad "cpack made ${deb##*/}, expected rekey_${version}_$arch.deb"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = rekey ] && ok "Package: rekey" || bad "Package: $(field Package)"
[ "$(field Version)" = "$version" ] && ok "Version: $version, as rekey --version" ||
	bad "Version: $(field Version), rekey --version says $version"
[ "$(field Architecture)" = "$arch" ] || bad "Architecture: $(field Architecture), not $arch"
for f in Maintainer Section Description; do
	[ -n "$(field "$f")" ] && ok "$f: $(field "$f" | head -1)" || bad "no $f in the control file"
done

# Depends comes from dpkg-shlibdeps: it must name the package of every library the program is
# linked with (what dpkg -S says owns each NEEDED soname), each with a version.
depends=$(field Depends)
[ -n "$depends" ] && ok "Depends: $depends" || bad "the package has no Depends (dpkg-shlibdeps did not run?)"
mapfile -t needed < <(readelf -d "$build/bin/rekey" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
((${#needed[@]} >= 5)) || bad "readelf finds only ${#needed[@]} NEEDED libraries in rekey"
for so in "${needed[@]}"; do
	owners=$(dpkg -S "*/$so" 2>/dev/null | cut -d: -f1 | sort -u | tr '\n' ' ')
	[ -n "$owners" ] || { bad "no package owns $so (dpkg -S)"; continue; }
	hit=""
	for p in $owners; do
		grep -Eq "(^|, )$p( \\(>= [^)]+\\))?(,|$)" <<<"$depends" && hit=$p
	done
	[ -n "$hit" ] && ok "$so: Depends names $hit" || bad "$so (of $owners) is not in Depends: $depends"
done

# The files: the installation's tree under /usr, owned by root, and nothing else.
dpkg-deb -c "$deb" >"$tmp/contents"
awk '$6 !~ /\/$/ { m = $1; mode = 0
	for (i = 2; i <= 10; i++) if (substr(m, i, 1) != "-") mode += 2 ^ (10 - i)
	sub(/^\.\/usr\//, "", $6); printf "%04o %s\n", mode, $6 }' "$tmp/contents" | sort -k2 >"$tmp/have"
tree_expected "$repo" >"$tmp/want"
if diff -u "$tmp/want" "$tmp/have" >"$tmp/diff"; then
	ok "the package holds exactly the installation's files under /usr, with its modes"
else
	bad "the package's files (+) are not the installation's (-):"; cat "$tmp/diff"
fi
notroot=$(awk '$2 != "root/root"' "$tmp/contents")
[ -z "$notroot" ] && ok "every file of the package is root/root" || bad "not root/root: $notroot"
outside=$(awk '$6 !~ /^\.\/usr\//' "$tmp/contents")
[ -z "$outside" ] || bad "the package puts files outside /usr: $outside"
tests=$(awk '{ print $6 }' "$tmp/contents" | grep -E '/(test_|bench_|fuzz_|replay_|mkrecord)' || true)
[ -z "$tests" ] && ok "no test, fuzz or benchmark binary in the package" || bad "test binaries packaged: $tests"

# ---- installed for real ------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	echo "deb.sh: not root: the package is not installed"
	check_end deb.sh "install skipped" 77
fi
# Other builds on this machine (another worktree, the sanitizer build) run this test too, in
# their own ctest: one at a time, machine-wide, or two would install and remove one package.
lockdir=/run/lock
[ -d "$lockdir" ] || lockdir=/tmp
exec 9>"$lockdir/rekey-deb-test.lock"
if ! flock -w 100 9; then
	echo "deb.sh: another install/deb test held $lockdir/rekey-deb-test.lock for 100 s"
	check_end deb.sh "install skipped" 77
fi
status=$(dpkg-query -W -f='${Status}' rekey 2>/dev/null || true)
case $status in
"" | *not-installed) ;;
*)
	echo "deb.sh: a rekey package is on this machine already ($status): not touched"
	check_end deb.sh "install skipped" 77
	;;
esac
while read -r _ path; do
	if [ -e "/usr/$path" ]; then
		echo "deb.sh: /usr/$path exists (another installation): not touched"
		check_end deb.sh "install skipped" 77
	fi
done <"$tmp/want"

# Another dpkg or apt may hold the lock for a moment (scripts/install-deps.sh): wait for it,
# up to 30 s, and for nothing else.
deadline=$((SECONDS + 30))
while :; do
	if dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1; then
		installed=true
		break
	fi
	if grep -q 'lock' "$tmp/dpkg.log" && ((SECONDS < deadline)); then
		sleep 1
		continue
	fi
	# A failed dpkg -i may leave the package half-configured: remove whatever it left.
	installed=true
	cat "$tmp/dpkg.log"
	bad "dpkg -i ${deb##*/}"
	check_end deb.sh
done
ok "dpkg -i ${deb##*/}"

[ "$(dpkg-query -W -f='${Status} ${Version}' rekey)" = "install ok installed $version" ] &&
	ok "dpkg-query: rekey $version installed" || bad "dpkg-query says: $(dpkg-query -W -f='${Status} ${Version}' rekey)"
got=$(/usr/bin/rekey --version 2>&1) || true
[ "$got" = "rekey $version" ] && ok "/usr/bin/rekey --version prints '$got'" ||
	bad "/usr/bin/rekey --version prints '$got', expected 'rekey $version'"
export LC_ALL=C.UTF-8 MANPAGER=cat PAGER=cat
unset MANPATH
got=$(man -w rekey 2>&1) || true
[ "$got" = /usr/share/man/man1/rekey.1.gz ] && ok "man -w rekey: $got" || bad "man -w rekey says: $got"
got=$(man -w 5 rekey-playbook 2>&1) || true
[ "$got" = /usr/share/man/man5/rekey-playbook.5.gz ] && ok "man -w 5 rekey-playbook: $got" ||
	bad "man -w 5 rekey-playbook says: $got"
cmp -s /usr/share/bash-completion/completions/rekey "$repo/doc/rekey.bash-completion" &&
	ok "the completion is /usr/share/bash-completion/completions/rekey" ||
	bad "/usr/share/bash-completion/completions/rekey is missing or not doc/rekey.bash-completion"
out=$(dpkg --verify rekey 2>&1) && [ -z "$out" ] && ok "dpkg --verify rekey: every file as packaged" ||
	bad "dpkg --verify rekey: $out"

if dpkg -r rekey >"$tmp/dpkg.log" 2>&1; then
	installed=false
	ok "dpkg -r rekey"
else
	cat "$tmp/dpkg.log"
	bad "dpkg -r rekey"
fi
status=$(dpkg-query -W -f='${Status}' rekey 2>/dev/null || true)
case $status in
"" | *not-installed) ok "dpkg-query: rekey is not installed any more" ;;
*) bad "after dpkg -r, dpkg-query says: $status" ;;
esac
left=""
while read -r _ path; do
	[ -e "/usr/$path" ] && left+=" /usr/$path"
done <"$tmp/want"
[ -z "$left" ] && ok "dpkg -r took every file away" || bad "left after dpkg -r:$left"
[ -d /usr/share/doc/rekey ] && bad "/usr/share/doc/rekey is left after dpkg -r"
check_end deb.sh
