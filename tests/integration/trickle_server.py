#!/usr/bin/env python3
"""A database server that answers too slowly to matter, on 127.0.0.1, for the deadline tests.

usage: trickle_server.py MODE PORT_FILE [CERT KEY]

Listens on a free loopback port, writes the port number to PORT_FILE (renamed into place, so
a reader never sees half of it), serves every connection in its own thread, and exits by
itself after LIFETIME seconds so that a test that dies cannot leave it behind. Modes:

  pg-tls          answers S to PostgreSQL's SSLRequest, then sends a TLS record header
                  announcing 16384 bytes of handshake and one byte a second after it
  mysql-greeting  sends a MySQL greeting (protocol 10, CLIENT_SSL offered) one byte a second
  silent          accepts and reads, never answers
  pg-stall-query  PostgreSQL over TLS (CERT, KEY) that lets any login in, then never answers
                  a query, nor a cancel request on another connection: the client's own
                  deadline must end the exchange
"""
import os
import socket
import ssl
import struct
import sys
import threading
import time

LIFETIME = 300
PG_SSL_REQUEST = 80877103


def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def trickle(conn, data):
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])
        time.sleep(1)


def drain_forever(conn):
    while conn.recv(4096):
        pass


def pg_tls(conn, _tls):
    read_exactly(conn, 8)                       # the SSLRequest
    conn.sendall(b"S")
    conn.recv(4096)                             # the ClientHello
    # A handshake record of 16384 bytes, of which the client is given one a second.
    trickle(conn, b"\x16\x03\x03\x40\x00" + b"\x02" * 16384)


def mysql_greeting(conn, _tls):
    version = b"10.11.0-trickle-" + b"x" * 900
    caps = 0x0800 | 0x0200 | 0x8000 | 0x0001   # SSL, PROTOCOL_41, SECURE_CONNECTION, ...
    payload = (b"\x0a" + version + b"\x00" + struct.pack("<I", 7) + b"12345678\x00" +
               struct.pack("<H", caps) + b"\x21" + struct.pack("<H", 2) +
               struct.pack("<H", 0) + b"\x15" + b"\x00" * 10 + b"123456789012\x00" +
               b"mysql_native_password\x00")
    trickle(conn, struct.pack("<I", len(payload))[:3] + b"\x00" + payload)


def silent(conn, _tls):
    drain_forever(conn)


def pg_message(kind, body):
    return kind + struct.pack("!I", len(body) + 4) + body


def pg_stall_query(conn, tls):
    length, code = struct.unpack("!II", read_exactly(conn, 8))
    if code != PG_SSL_REQUEST or length != 8:
        drain_forever(conn)                     # a cancel request: as stalled as the rest
        return
    conn.sendall(b"S")
    conn = tls.wrap_socket(conn, server_side=True)
    (length,) = struct.unpack("!I", read_exactly(conn, 4))
    read_exactly(conn, length - 4)              # the startup packet
    conn.sendall(pg_message(b"R", struct.pack("!I", 0)) +       # AuthenticationOk
                 pg_message(b"S", b"server_version\x0015.0\x00") +
                 pg_message(b"K", struct.pack("!II", 1, 2)) +    # BackendKeyData
                 pg_message(b"Z", b"I"))                         # ReadyForQuery
    drain_forever(conn)                         # the query is read and never answered


MODES = {
    "pg-tls": pg_tls,
    "mysql-greeting": mysql_greeting,
    "silent": silent,
    "pg-stall-query": pg_stall_query,
}


def serve(handler, conn, tls):
    try:
        handler(conn, tls)
    except (OSError, ConnectionError, ssl.SSLError):
        pass                                    # the client gave up: that is the point
    finally:
        conn.close()


def main():
    if len(sys.argv) not in (3, 5) or sys.argv[1] not in MODES:
        sys.exit(__doc__)
    handler, port_file = MODES[sys.argv[1]], sys.argv[2]
    tls = None
    if len(sys.argv) == 5:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[3], sys.argv[4])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(port_file + ".tmp", "w", encoding="ascii") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    listener.settimeout(1)
    ends = time.monotonic() + LIFETIME
    while time.monotonic() < ends:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        threading.Thread(target=serve, args=(handler, conn, tls), daemon=True).start()


if __name__ == "__main__":
    main()
