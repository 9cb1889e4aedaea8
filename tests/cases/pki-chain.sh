# shellcheck shell=bash
# Certificates for the chain cases, made with the openssl CLI in the case's folder (sourced by
# their .setup as ". "$CASES/../pki-chain.sh""). Each CA is NAME.crt and NAME.key (0600);
# validity is given as openssl ca dates, so an expired link is made as easily as a good one.
#
#   chain_ca NAME SUBJECT ISSUER|- [pathlen N|-] [START END]
#
# ISSUER "-" makes a self-signed root. START and END are YYYYMMDDHHMMSSZ (default: from an
# hour ago for 30 days).

chain_ca() {
	local name=$1 subject=$2 issuer=$3 pathlen=${4:--} start=${5:-} end=${6:-} bc
	bc="critical,CA:TRUE"
	[[ $pathlen == - ]] || bc="$bc,pathlen:$pathlen"
	[[ -n $start ]] || start=$(date -u -d '1 hour ago' +%Y%m%d%H%M%SZ)
	[[ -n $end ]] || end=$(date -u -d '30 days' +%Y%m%d%H%M%SZ)
	mkdir -p .ca
	: >.ca/index.txt
	cat >.ca/openssl.cnf <<CNF
[ca]
default_ca = c
[c]
database = .ca/index.txt
new_certs_dir = .ca
serial = .ca/serial
default_md = sha256
policy = p
copy_extensions = none
unique_subject = no
[p]
commonName = supplied
organizationName = optional
[ext]
basicConstraints = $bc
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
	openssl rand -hex 16 >.ca/serial
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
		-keyout "$name.key" -out ".ca/$name.csr" 2>/dev/null
	chmod 0600 "$name.key"
	if [[ $issuer == - ]]; then
		openssl ca -batch -config .ca/openssl.cnf -selfsign -keyfile "$name.key" \
			-in ".ca/$name.csr" -out "$name.crt" -startdate "$start" -enddate "$end" \
			-extensions ext -notext 2>/dev/null
	else
		openssl ca -batch -config .ca/openssl.cnf -cert "$issuer.crt" -keyfile "$issuer.key" \
			-in ".ca/$name.csr" -out "$name.crt" -startdate "$start" -enddate "$end" \
			-extensions ext -notext 2>/dev/null
	fi
}
