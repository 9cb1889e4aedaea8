#!/usr/bin/env bash
# The README's main command: installs what is missing, builds rekey, brings up the embedded
# lab (a CA, PostgreSQL 15 and MariaDB with TLS, three sshd hosts, an app host), shows the
# plan for its rotation (db1's server key leaked), rehearses it (`rekey rehearse`: every step
# tried, nothing changed), carries it out with `rekey run`, then
# checks every service as its clients see it (rekey verify), checks the signed incident record
# (rekey record verify) and says where the journal and the record are. Between the two, rekey
# sweep lists every copy of the old keys left on the hosts.
# Each time it runs, the lab is built anew, so the rotation is carried out for real again.
# `scripts/lab down` tears the lab down.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
./scripts/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target rekey -j"$(nproc)" >/dev/null
echo "rekey built: $(./build/bin/rekey --version)"

# A lab rotated by an earlier demo holds a finished incident: start from a fresh estate.
./scripts/lab down >/dev/null
./scripts/lab up
eval "$(./scripts/lab env | grep "^export REKEY_LAB_DIR=")"
lab=$REKEY_LAB_DIR
echo
./build/bin/rekey plan "$lab/lab.yml"
echo
# Every step tried against the lab without changing it (each client file's edit shown, secrets
# masked): go, or the demo stops here with the fix for each no-go.
./build/bin/rekey rehearse "$lab/lab.yml"
echo
# The leak, as it usually is: someone kept a copy of db1's key beside it, where no playbook
# names it. The run replaces the files the playbook names; the sweep below finds the rest.
install -m 0600 "$lab/hosts/db1/pg/server.key" "$lab/hosts/db1/pg/server.key.before-upgrade"
# The plan carried out: journaled, the canary first, every service and client verified.
./build/bin/rekey run "$lab/lab.yml"
echo
# The estate as its clients see it now, checked again from scratch.
./build/bin/rekey verify "$lab/lab.yml"
echo
# Every copy of the old keys still on the hosts: the one kept above and rekey's own backups
# (kept for rollback). Exit status 1 says copies remain; sweep.json goes into the record.
./build/bin/rekey sweep "$lab/lab.yml" || [ $? -eq 1 ]
echo
# The signed incident record, checked as an auditor would: manifest, signature, timeline.
./build/bin/rekey record verify "$lab/incidents/LAB-ROTATION.tar.gz"
echo
echo "The incident folder: $lab/incidents/LAB-ROTATION (journal.jsonl, certs/, keys/,"
echo "crl.pem, MANIFEST.sha256); its record: $lab/incidents/LAB-ROTATION.tar.gz"
echo "(rekey record show prints its report). 'rekey rollback $lab/lab.yml' undoes the"
echo "rotation; 'scripts/lab down' tears the lab down."
