#!/usr/bin/python3
# The tree bench/sweep.sh hardlinks onto every host: FILES files under BASE, as a server's
# /etc, /srv, /var and /opt look, about one file in ten holding key material that is NOT the
# compromised key (certificates and keys of other services, CA bundles, public keys, DER,
# PKCS#12 under PASSPHRASE, a few SSH keys, two world-readable private keys), the rest other
# files of mixed sizes (configuration, source, logs, SQL and shell scripts that say BEGIN,
# binaries, a few over 1 MiB). Deterministic (seeded). Run by Debian's python3 with
# python3-cryptography. Prints one line: files, key-material files, bytes.
# Usage: sweep-tree.py BASE FILES PASSPHRASE
import datetime
import os
import random
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

base, total, passphrase = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
rng = random.Random(18)
FOLDERS = [
    "etc/ssl/certs", "etc/ssl/private", "etc/nginx/conf.d", "etc/nginx/tls", "etc/pki/tls",
    "etc/postgresql/15/main", "etc/mysql/conf.d", "etc/app", "etc/default", "etc/cron.d",
    "srv/app/conf", "srv/app/static/css", "srv/app/static/img", "srv/app/lib/vendor/a",
    "srv/app/lib/vendor/b/c", "srv/app/migrations", "srv/app/logs", "var/backups",
    "var/backups/2026-11", "var/lib/app/cache/0", "var/lib/app/cache/1", "var/log/nginx",
    "opt/vendor/agent/conf", "opt/vendor/agent/bin", "opt/vendor/agent/share/doc",
    "home/deploy", "home/deploy/.ssh", "home/deploy/old-certs", "root-scripts",
]
WORDS = ("server listen ssl_certificate upstream proxy_pass timeout worker host port user "
         "password_file include location root index log_level max_connections").split()
NOW = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


def folder():
    return os.path.join(base, rng.choice(FOLDERS))


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def text(size):
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9))) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out)[:size].encode()


def other_file(i):
    """A file with no key material; a few say BEGIN, as SQL, shell and PGP do."""
    roll = rng.random()
    if roll < 0.60:
        size = rng.randint(200, 4096)
    elif roll < 0.90:
        size = rng.randint(4096, 32768)
    elif roll < 0.98:
        size = rng.randint(32768, 256 * 1024)
    elif roll < 0.995:
        size = rng.randint(256 * 1024, 1024 * 1024)
    else:
        size = rng.randint(1024 * 1024 + 1, 3 * 1024 * 1024)
    kind = rng.random()
    if kind < 0.03:
        data = b"BEGIN;\nALTER TABLE accounts ADD COLUMN note text;\nCOMMIT;\n" + text(size)
        name = "%04d_migration.sql" % i
    elif kind < 0.05:
        data = b"#!/bin/sh\n# BEGIN ANSIBLE MANAGED BLOCK\nexport A=1\n# END ANSIBLE MANAGED BLOCK\n"
        name = "hook-%d.sh" % i
    elif kind < 0.06:
        data = (b"-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n=abcd\n"
                b"-----END PGP SIGNATURE-----\n")
        name = "release-%d.asc" % i
    elif kind < 0.55:
        data = text(size)
        name = "%s-%d.%s" % (rng.choice(WORDS), i, rng.choice(["conf", "cfg", "ini", "txt",
                                                                 "log", "yml", "json", "py"]))
    else:
        data = rng.randbytes(size)
        name = "%s-%d.%s" % (rng.choice(WORDS), i, rng.choice(["bin", "png", "gz", "so", "dat"]))
    return name, data


def name_of(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "other team"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_key(i):
    if i % 10 == 0:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if i % 7 == 0:
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def self_signed(key, cn):
    algo = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (x509.CertificateBuilder().subject_name(name_of(cn)).issuer_name(name_of(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=365))
            .sign(key, algo))


PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER
NOENC = serialization.NoEncryption()


def material_file(i, mozilla):
    """One file of key material unrelated to the incident; (name, bytes, mode)."""
    kind = i % 20
    if kind in (0, 1) and mozilla:
        return "ca-%d.crt" % i, open(rng.choice(mozilla), "rb").read(), 0o644
    if kind == 2 and mozilla:
        data = b"".join(open(p, "rb").read() for p in rng.sample(mozilla, 20))
        return "bundle-%d.pem" % i, data, 0o644
    key = make_key(i)
    cert = self_signed(key, "svc%d.internal" % i)
    if kind in (3, 4, 5, 6, 7, 8):
        return "svc%d.crt" % i, cert.public_bytes(PEM), 0o644
    if kind in (9, 10, 11):
        fmt = serialization.PrivateFormat.PKCS8
        if kind == 10 and not isinstance(key, ed25519.Ed25519PrivateKey):
            fmt = serialization.PrivateFormat.TraditionalOpenSSL
        return "svc%d.key" % i, key.private_bytes(PEM, fmt, NOENC), 0o600
    if kind == 12:
        return "svc%d.der" % i, cert.public_bytes(DER), 0o644
    if kind == 13:
        return "svc%d.pub" % i, key.public_key().public_bytes(
            PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o644
    if kind == 14:
        return "svc%d.p12" % i, pkcs12.serialize_key_and_certificates(
            b"svc", key, cert, None,
            serialization.BestAvailableEncryption(passphrase)), 0o600
    if kind == 15:
        return "svc%d-fullchain.pem" % i, cert.public_bytes(PEM) * 2, 0o644
    if kind == 16:
        return "id_svc%d" % i, key.private_bytes(
            PEM, serialization.PrivateFormat.OpenSSH, NOENC) if not isinstance(
            key, rsa.RSAPrivateKey) else key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8, NOENC), 0o600
    if kind == 17:
        return "svc%d.enc.key" % i, key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase)), 0o600
    if kind == 18:
        return "svc%d.yml" % i, b"tls:\n  cert: |\n" + b"".join(
            b"    " + line + b"\n" for line in cert.public_bytes(PEM).splitlines()), 0o644
    return "svc%d.crt.pem" % i, cert.public_bytes(PEM), 0o644


mozilla_dir = "/usr/share/ca-certificates/mozilla"
mozilla = ([os.path.join(mozilla_dir, n) for n in sorted(os.listdir(mozilla_dir))]
           if os.path.isdir(mozilla_dir) else [])
nmaterial = total // 10
nbytes = 0
for i in range(nmaterial):
    name, data, mode = material_file(i, mozilla)
    # Two private keys are world-readable, as a careless copy leaves them.
    if i in (9, 29):
        mode = 0o644
    write(os.path.join(folder(), name), data, mode)
    nbytes += len(data)
for i in range(total - nmaterial):
    name, data = other_file(i)
    write(os.path.join(folder(), name), data, 0o644)
    nbytes += len(data)
print("%d files, %d with key material, %d bytes" % (total, nmaterial, nbytes))
