#!/usr/bin/env bash
# Checks every #include in src/ against what its layer may use (STYLE.md, module map).
# Link rules cannot catch a stray <libssh2.h> in core/: the header sits in /usr/include.
set -euo pipefail

root=${1:?usage: layering.sh REPO_ROOT}
cd "$root/src"

# Per folder: the system headers (by prefix) and rekey modules it may include.
# rekey headers are "rekey/<module>.h"; a folder may include its own and lower layers'.
declare -A allowed_libs=(
	[util]="openssl/crypto.h openssl/evp.h"
	[core]="jansson.h"
	[parse]="yaml.h"
	[pki]="openssl/"
	[transport]="libssh2"
	[service]="libpq-fe.h mysql.h mariadb errmsg.h openssl/"
	[verify]="openssl/"
	[record]="archive.h archive_entry.h jansson.h"
	[action]=""
	[cli]="jansson.h"
)
declare -A module_layer=(
	[err]=util [log]=util [bytes]=util [secret]=util [fsutil]=util [diag]=util [strutil]=util
	[digest]=util [udiff]=util [secretname]=util [clock]=util
	[model]=core [plan]=core [workers]=core [transport]=core [service]=core [executor]=core [journal]=core [policy]=core [event]=core
	[playbook]=parse [yamltree]=parse [names]=parse [envfile]=parse [inifile]=parse [conninfo]=parse [clientconf]=parse
	[key]=pki [cert]=pki [crl]=pki [ca]=pki [cacheck]=pki [chain]=pki [chainlinks]=pki [material]=pki [ledger]=record [revocation]=record [archive]=record [record]=record
	[ssh]=transport [local]=transport [shellquote]=transport
	[postgresql]=service [mariadb]=service
	[probe]=verify [verdict]=verify
	[clientfile]=action [hostfile]=action [hostcheck]=action [trustset]=action [actions]=action [expiry]=action [sweep]=action
)
declare -A may_use=(
	[util]="util"
	[core]="util core"
	[parse]="util core parse"
	[pki]="util core pki"
	[transport]="util core transport"
	[service]="util core service"
	[verify]="util core pki verify"
	[record]="util core pki record"
	[action]="util core parse pki verify record action"
	[cli]="util core parse pki transport service verify record action cli"
)
# Third-party headers that no layer below cli may name.
third_party='^(yaml\.h|jansson\.h|libssh2|libpq-fe\.h|mysql\.h|mariadb|archive|openssl/|curl/)'

fail=0
for dir in */; do
	layer=${dir%/}
	[ -n "${may_use[$layer]+x}" ] || { echo "layering: unknown folder src/$layer"; fail=1; continue; }
	while IFS= read -r hit; do
		file=${hit%%:*}
		header=$(sed -E 's/^[^:]*:[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/' <<<"$hit")
		case "$header" in
		rekey/*)
			mod=${header#rekey/}
			mod=${mod%.h}
			owner=${module_layer[$mod]:-}
			if [ -z "$owner" ]; then
				echo "layering: $file includes $header, which no layer owns (add it to layering.sh)"
				fail=1
			elif [[ " ${may_use[$layer]} " != *" $owner "* ]]; then
				echo "layering: $file ($layer) includes $header from layer $owner"
				fail=1
			fi
			;;
		*)
			if [[ "$header" =~ $third_party ]]; then
				ok=0
				for lib in ${allowed_libs[$layer]}; do
					[[ "$header" == "$lib"* ]] && ok=1
				done
				if [ "$ok" -eq 0 ]; then
					echo "layering: $file ($layer) includes <$header>, which belongs to another layer"
					fail=1
				fi
			fi
			;;
		esac
	done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include' "$dir" || true)
done
[ "$fail" -eq 0 ] && echo "layering: every include is allowed"
exit "$fail"
