#!/usr/bin/env python3
"""Rewrites a playbook of playbooks/ onto the lab's estate, so that it can be tried there.

usage: lab-adapt.py --pki DIR --issued DIR --app DIR --records DIR [--org NAME]
                    [--pg-service-section NAME] [--id ID] PLAYBOOK OUT

`scripts/lab adapt PLAYBOOK [OUT]` calls it with the lab's folders; the end-to-end tests call it
with theirs (tests/integration/e2e_lib.sh, e2e_adapt), whose estate has the lab's layout on the
harness's servers. Where the servers are comes from the harness's variables, which
`scripts/lab env` prints and with-servers.sh exports: RK_H_SSH_PORTS (db1, db2, app1, in that
order), RK_H_SSH_KEY, RK_H_KNOWN_HOSTS, RK_H_SSH_ADMIN, RK_H_SSH_USER, RK_H_PG_DIR,
RK_H_PG_PORT, RK_H_PG_USER, RK_H_PG_PASSWORD_FILE, RK_H_PG_LOG, RK_H_PG_CERT_USER and the
RK_H_MY_ ones of MariaDB.

What changes is where things are, nothing else:
  - a service of kind postgresql goes to the lab's PostgreSQL on db1, mariadb or mysql to
    db2's MariaDB (the lab has one of each: a second service of a kind is left out, with its
    certificate); every client goes to app1. A host keeps its name and gets the address,
    port, login, identity and known_hosts of the lab's host it stands for (db hosts log in
    as the admin with sudo; a client host as the app's login, or as the admin when the
    playbook gives it sudo); a host nothing uses any more (a bastion) is removed, and so is
    every `jump`;
  - services' files are the server's own files (server.crt, server.key, ca.crt, ca.crl in
    its folder), their connect the lab's address, port, login and password file, their log
    the server's log; a reload command becomes `sql` (the lab has no systemd units);
  - clients' files go to app1: .env (env, and conninfo in a variable), my.cnf (ini),
    pg_service.conf (pg_service); their CA, certificate and key to app1's certs/ (db-ca.crt,
    app.crt, app.key; a CRL to db-ca.crl); a value of `set` that names one of those paths
    names the new one (a path no file entry names is placed by its key: ssl-ca, sslrootcert
    and *_CA_* are the CA, *crl* the CRL, *key* the key, *cert* the certificate); an owner
    or group becomes the app's login; a reload command is dropped and a verify command is
    replaced by a login from app1 as the lab's own clients make it (psql or mariadb reading
    the edited file), keeping safe_in_rehearsal;
  - certificates keep profile, key and days: a server certificate names localhost and
    127.0.0.1 (what clients connect to), a client certificate is CN=rkclient, the login the
    servers map client certificates to; a certificate key's passphrase is dropped;
  - the CA is the estate's: ca.crt, ca.key, ca.crl in --pki, chain.crt and root.* for a
    chain or a parent (a two-level PKI, as `rekey pki init --intermediate` makes); the CA's
    and the parent's passphrase settings are dropped (the lab's keys have none);
  - revocations point at the certificates in service in --issued: `cert:` of a certificate
    the playbook re-issues, or named like one of the estate's (db1-server, db2-server,
    app-client), becomes the estate's certificate in that role; a `folder:` becomes --issued;
    `serial:` and `cn:` stay;
  - incident.records is --records; incident.id is --id when given, else the playbook's (a
    playbook without one gets a new id at every run); record.signing_key is dropped (the
    record is then signed with the CA key).
Reasons, policy, TLS settings, modes and everything else stay as shipped. Every change that is
more than a new address or path is printed on standard error and written at the top of OUT.
Exit 0 when OUT is written, 1 when the playbook cannot be adapted (it says why), 2 on usage.
"""
import argparse
import copy
import datetime
import ipaddress
import os
import re
import sys

import yaml


class Refused(Exception):
    """The playbook asks for something the lab's estate cannot stand for."""


# The files of a server, in its folder, as the harness lays them out.
SERVER_FILES = {"cert": "server.crt", "key": "server.key", "ca": "ca.crt", "crl": "ca.crl"}
# A client's files, in app1's certs/ folder.
CLIENT_FILES = {"ca": "db-ca.crt", "crl": "db-ca.crl", "cert": "app.crt", "key": "app.key"}
# The estate's CA files in --pki: the CA that signs, and the parent of an intermediate.
CA_FILES = {"cert": "ca.crt", "key": "ca.key", "crl": "ca.crl", "chain": "chain.crt"}
PARENT_FILES = {"cert": "root.crt", "key": "root.key", "crl": "root.crl"}
# The estate's certificates in service, by role.
IN_SERVICE = {"db1": "db1-server", "db2": "db2-server", "app1": "app-client"}


def env(name):
    value = os.environ.get(name)
    if not value:
        raise Refused(f"{name} is not set: run under `scripts/lab` or tests/harness/with-servers.sh")
    return value


class Estate:
    """Where the lab's servers and files are."""

    def __init__(self, args):
        ports = env("RK_H_SSH_PORTS").split()
        if len(ports) < 3:
            raise Refused("RK_H_SSH_PORTS names fewer than three sshd (db1, db2, app1)")
        self.ssh_port = {"db1": int(ports[0]), "db2": int(ports[1]), "app1": int(ports[2])}
        self.ssh_key = env("RK_H_SSH_KEY")
        self.known_hosts = env("RK_H_KNOWN_HOSTS")
        self.admin = env("RK_H_SSH_ADMIN")
        self.app_user = env("RK_H_SSH_USER")
        self.server = {
            "db1": dict(dir=env("RK_H_PG_DIR"), port=int(env("RK_H_PG_PORT")),
                        user=env("RK_H_PG_USER"), password=env("RK_H_PG_PASSWORD_FILE"),
                        log=env("RK_H_PG_LOG")),
            "db2": dict(dir=env("RK_H_MY_DIR"), port=int(env("RK_H_MY_PORT")),
                        user=env("RK_H_MY_USER"), password=env("RK_H_MY_PASSWORD_FILE"),
                        log=env("RK_H_MY_LOG")),
        }
        self.cert_user = env("RK_H_PG_CERT_USER")
        self.pki = os.path.abspath(args.pki)
        self.issued = os.path.abspath(args.issued)
        self.app = os.path.abspath(args.app)
        self.records = os.path.abspath(args.records)
        self.org = args.org
        self.pg_service_section = args.pg_service_section

    def pki_file(self, name, what):
        path = os.path.join(self.pki, name)
        if not os.path.exists(path):
            raise Refused(f"{what} needs {path}, which the estate lacks (a chain or a parent "
                          "needs a two-level PKI, as `rekey pki init --intermediate` makes)")
        return path


def role_of_kind(kind):
    if kind == "postgresql":
        return "db1"
    if kind in ("mariadb", "mysql"):
        return "db2"
    raise Refused(f"service kind {kind!r}: the lab has PostgreSQL and MariaDB only")


def path_role_by_key(key):
    """Which of a client's files a `set` key names, for a path no file entry names."""
    k = key.lower().replace("-", "_")
    words = set(re.split(r"[_.]", k))
    if "crl" in k:
        return "crl"
    if "key" in words or k.endswith("key"):
        return "key"
    if "ca" in words or "root" in k:
        return "ca"
    if "cert" in k:
        return "cert"
    return None


class Adapter:
    def __init__(self, estate):
        self.e = estate
        self.notes = []
        self.dropped_certs = set()      # certificates of the services left out

    def note(self, text):
        self.notes.append(text)

    # ---- services and hosts ------------------------------------------------------------

    def adapt(self, pb, incident_id):
        if not isinstance(pb, dict) or pb.get("version") != 1:
            raise Refused("not a rekey playbook (version: 1)")
        pb = copy.deepcopy(pb)
        host_role = {}          # playbook host name -> db1 | db2 | app1
        kept = []
        taken = {}
        for svc in pb.get("services") or []:
            role = role_of_kind(svc.get("kind"))
            if role in taken:
                self.note(f"service {svc.get('name')} left out: the lab has one "
                          f"{svc.get('kind')} server, which {taken[role]} stands for")
                self.dropped_certs.add(svc.get("certificate"))
                continue
            taken[role] = svc.get("name")
            self.claim(host_role, svc.get("host"), role, f"service {svc.get('name')}")
            self.adapt_service(svc, role)
            kept.append(svc)
        if "services" in pb:
            pb["services"] = kept
        for client in pb.get("clients") or []:
            self.claim(host_role, client.get("host"), "app1", f"client {client.get('name')}")
        self.adapt_clients(pb.get("clients") or [])
        self.adapt_hosts(pb, host_role)
        self.adapt_certificates(pb)
        self.adapt_ca(pb)
        self.adapt_revoke(pb)
        self.adapt_incident(pb, incident_id)
        if "record" in pb:
            pb.pop("record")
            self.note("record.signing_key dropped: the record is signed with the CA's key")
        self.check_loopback(pb)
        return pb

    def claim(self, host_role, host, role, who):
        had = host_role.setdefault(host, role)
        if had != role:
            raise Refused(f"host {host} carries {who} ({role}) and something of {had}: the "
                          "lab keeps the database servers and the app on separate hosts")

    def adapt_hosts(self, pb, host_role):
        hosts = pb.get("hosts") or {}
        for name in list(hosts):
            if name not in host_role:
                del hosts[name]
                self.note(f"host {name} removed: nothing on the lab uses it")
        for name, role in host_role.items():
            if name not in hosts:
                continue        # rekey reports the unknown host itself
            old = hosts[name] or {}
            sudo = True if role != "app1" else bool(old.get("sudo", False))
            if role != "app1" and old.get("sudo") is not True:
                self.note(f"host {name}: sudo true (the lab's database files belong to "
                          "postgres and mysql)")
            new = {
                "transport": "ssh",
                "address": "127.0.0.1",
                "port": self.e.ssh_port[role],
                "user": self.e.admin if sudo else self.e.app_user,
                "identity": self.e.ssh_key,
                "known_hosts": self.e.known_hosts,
                "sudo": sudo,
            }
            if "timeout" in old:
                new["timeout"] = old["timeout"]
            if "jump" in old:
                self.note(f"host {name}: jump {old['jump']} dropped (the lab's hosts are "
                          "reached directly)")
            if old.get("transport") == "local":
                self.note(f"host {name}: the local transport became ssh to the lab's {role}")
            hosts[name] = new

    def adapt_service(self, svc, role):
        srv = self.e.server[role]
        for f_role, f in (svc.get("files") or {}).items():
            if f_role not in SERVER_FILES or not isinstance(f, dict):
                raise Refused(f"service {svc.get('name')}: files.{f_role} has no place on "
                              "the lab's servers")
            f["path"] = os.path.join(srv["dir"], SERVER_FILES[f_role])
        connect = svc.setdefault("connect", {}) or {}
        svc["connect"] = connect
        for key in ("certificate", "sslcert", "sslkey"):
            if key in connect:
                raise Refused(f"service {svc.get('name')}: connect.{key}: certificate "
                              "logins of rekey itself are not adapted yet; log in with a "
                              "password_file")
        connect.pop("password_env", None)
        connect.update(address="127.0.0.1", port=srv["port"], user=srv["user"],
                       password_file=srv["password"])
        svc["log"] = srv["log"]
        reload = svc.get("reload")
        if isinstance(reload, dict):
            svc["reload"] = "sql"
            self.note(f"service {svc.get('name')}: reload command {reload.get('command')!r} "
                      "became sql (the lab has no service manager)")

    # ---- clients -----------------------------------------------------------------------

    def client_file_path(self, client):
        f = client.get("file") or {}
        fmt = f.get("format")
        if fmt == "env":
            return os.path.join(self.e.app, ".env")
        if fmt == "ini":
            return os.path.join(self.e.app, "my.cnf")
        if fmt == "pg_service":
            f["section"] = self.e.pg_service_section
            return os.path.join(self.e.app, "pg_service.conf")
        if fmt == "conninfo" and f.get("variable"):
            return os.path.join(self.e.app, ".env")
        raise Refused(f"client {client.get('name')}: a {fmt} file has no counterpart on app1 "
                      "(it has .env, my.cnf, pg_service.conf, and connection strings in .env)")

    def verify_command(self, client):
        app, f = self.e.app, client["file"]
        fmt = f["format"]
        ssl = "-Atc 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'"
        if fmt == "env":
            return (f"set -a; . '{app}/.env'; psql -X \"host=$DB_HOST port=$DB_PORT "
                    f"dbname=postgres user={self.e.cert_user} sslmode=$DB_SSL_MODE "
                    "sslrootcert=$DB_SSL_CA_CERT sslcert=$DB_SSL_CLIENT_CERT "
                    f"sslkey=$DB_SSL_CLIENT_KEY\" {ssl}")
        if fmt == "conninfo":
            return f"set -a; . '{app}/.env'; psql -X \"${f['variable']}\" {ssl}"
        if fmt == "pg_service":
            return (f"PGSERVICEFILE='{app}/pg_service.conf' psql -X service={f['section']} "
                    "-Atc 'select current_user'")
        return f"mariadb --defaults-file='{app}/my.cnf' -N -e 'select current_user()'"

    def adapt_clients(self, clients):
        moved = {}              # a path on the playbook's client hosts -> app1's
        for client in clients:
            for f_role, f in (client.get("files") or {}).items():
                if f_role not in CLIENT_FILES or not isinstance(f, dict):
                    raise Refused(f"client {client.get('name')}: files.{f_role} has no "
                                  "place on app1")
                new = os.path.join(self.e.app, "certs", CLIENT_FILES[f_role])
                if "path" in f:
                    moved[f["path"]] = new
                f["path"] = new
                for who in ("owner", "group"):
                    if who in f:
                        f[who] = self.e.app_user
        for client in clients:
            name = client.get("name")
            f = client.get("file")
            if isinstance(f, dict):
                f["path"] = self.client_file_path(client)
            for key, value in (client.get("set") or {}).items():
                if not isinstance(value, str) or not value.startswith("/"):
                    continue
                if value in moved:
                    client["set"][key] = moved[value]
                    continue
                f_role = path_role_by_key(key)
                if f_role is None:
                    raise Refused(f"client {name}: set {key}: {value} names no file of the "
                                  "playbook and its key says no role")
                client["set"][key] = os.path.join(self.e.app, "certs", CLIENT_FILES[f_role])
            reload = client.pop("reload", None)
            if reload is not None:
                self.note(f"client {name}: reload {reload.get('command')!r} dropped (the lab's "
                          "app runs nothing to restart)")
            verify = client.get("verify")
            if isinstance(verify, dict) and "command" in verify:
                old = verify["command"]
                verify["command"] = self.verify_command(client)
                self.note(f"client {name}: verify {old!r} became a login from app1 reading "
                          f"{os.path.basename(client['file']['path'])}")

    # ---- certificates, CA, revocations, incident ---------------------------------------

    def adapt_certificates(self, pb):
        certs = pb.get("certificates") or {}
        used = {s.get("certificate") for s in pb.get("services") or []}
        for c in pb.get("clients") or []:
            used.update(f.get("certificate") for f in (c.get("files") or {}).values()
                        if isinstance(f, dict))
        for name in list(certs):
            cert = certs[name]
            if name in self.dropped_certs and name not in used:
                del certs[name]
                self.note(f"certificate {name} left out with its service")
                continue
            if cert.get("profile") == "server":
                cert["subject"] = f"/O={self.e.org}/CN=localhost"
                cert["san"] = ["DNS:localhost", "IP:127.0.0.1"]
            elif cert.get("profile") == "client":
                cert["subject"] = f"/O={self.e.org}/CN={self.e.cert_user}"
            self.drop_passphrase(cert, f"certificate {name}", "the lab reads keys unencrypted")

    def adapt_ca(self, pb):
        ca = pb.get("ca")
        if not isinstance(ca, dict):
            raise Refused("the playbook has no ca section")
        self.place_ca_files(ca, "ca", CA_FILES)
        if isinstance(ca.get("parent"), dict):
            self.place_ca_files(ca["parent"], "ca.parent", PARENT_FILES)

    def place_ca_files(self, section, where, files):
        for key, name in files.items():
            if key in section:
                section[key] = self.e.pki_file(name, f"{where}.{key}")
        self.drop_passphrase(section, where, "the estate's CA keys have none")

    def drop_passphrase(self, section, where, why):
        for key in ("key_passphrase_env", "key_passphrase_file"):
            if section.pop(key, None) is not None:
                self.note(f"{where}.{key} dropped ({why})")

    def adapt_revoke(self, pb):
        certs = pb.get("certificates") or {}
        role_of_cert = {}
        for svc in pb.get("services") or []:
            role_of_cert.setdefault(svc.get("certificate"), role_of_kind(svc.get("kind")))
        for name, cert in certs.items():
            if cert.get("profile") == "client":
                role_of_cert.setdefault(name, "app1")
        by_name = {v: k for k, v in IN_SERVICE.items()}
        for entry in pb.get("revoke") or []:
            if "folder" in entry:
                entry["folder"] = self.e.issued
            if "cert" in entry:
                stem = os.path.splitext(os.path.basename(entry["cert"]))[0]
                role = role_of_cert.get(stem) or by_name.get(stem)
                if role is None:
                    raise Refused(f"revoke cert {entry['cert']}: no certificate of the "
                                  "playbook or the estate is named so")
                entry["cert"] = os.path.join(self.e.issued, IN_SERVICE[role] + ".crt")

    def adapt_incident(self, pb, incident_id):
        inc = pb.setdefault("incident", {}) or {}
        pb["incident"] = inc
        inc["records"] = self.e.records
        if incident_id:
            inc["id"] = incident_id

    def check_loopback(self, pb):
        # The lab is on 127.0.0.1: an adapted playbook that reaches anywhere else is a bug.
        targets = [h.get("address") for h in (pb.get("hosts") or {}).values()]
        targets += [(s.get("connect") or {}).get("address") for s in pb.get("services") or []]
        for t in targets:
            try:
                loopback = ipaddress.ip_address(t).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise Refused(f"internal error: {t} is not a loopback address")
        if any("jump" in h for h in (pb.get("hosts") or {}).values()):
            raise Refused("internal error: a jump host is left")


class NoAliases(yaml.SafeDumper):
    # rekey refuses anchors and aliases; every value is written where it is used.
    def ignore_aliases(self, data):
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pki", required=True, help="the estate's CA folder")
    ap.add_argument("--issued", required=True, help="the certificates in service")
    ap.add_argument("--app", required=True, help="app1's application folder")
    ap.add_argument("--records", required=True, help="incident.records")
    ap.add_argument("--org", default="rekey lab", help="O= of the certificates")
    ap.add_argument("--pg-service-section", default="lab-pg-cert",
                    help="the pg_service.conf section of app1's certificate login")
    ap.add_argument("--id", help="incident.id (default: the playbook's)")
    ap.add_argument("playbook")
    ap.add_argument("out")
    args = ap.parse_args()
    try:
        with open(args.playbook, encoding="utf-8") as f:
            original = yaml.safe_load(f)
        adapter = Adapter(Estate(args))
        pb = adapter.adapt(original, args.id)
    except (OSError, yaml.YAMLError, Refused) as e:
        print(f"lab-adapt: {args.playbook}: {e}", file=sys.stderr)
        return 1
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = [f"# {os.path.basename(args.playbook)}, adapted by scripts/lab-adapt.py on {now} to",
            f"# the estate whose CA is {adapter.e.pki}/ca.crt.",
            "# Only where things are changed (addresses, ports, logins, paths, names); the",
            "# shipped playbook's comments say why each setting is what it is."]
    if adapter.notes:
        head.append("# Beyond that:")
        head += [f"#   - {n}" for n in adapter.notes]
    body = yaml.dump(pb, Dumper=NoAliases, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(head) + "\n" + body)
    os.replace(tmp, args.out)
    for n in adapter.notes:
        print(f"lab-adapt: {n}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
