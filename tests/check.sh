# shellcheck shell=bash
# ok and bad for the shell tests that name every check they make (tests/doc/, tests/install/):
# each prints one line; check_end NAME [NOTE [STATUS]] ends the script, exit 1 when any check
# failed, else STATUS (default 0; 77 for ctest's skipped). Source it.
check_fails=0
ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	check_fails=$((check_fails + 1))
}
check_end() {
	if ((check_fails > 0)); then
		echo "$1: $check_fails failed"
		exit 1
	fi
	echo "$1: every check passed${2:+ ($2)}"
	exit "${3:-0}"
}
