#!/usr/bin/python3
"""A local syslog receiver for bench/compare.sh's "observed" scenario: HAProxy sends its HTTP log lines here (UDP).

  syslog_sink.py --port 18199 --count-file FILE

Counts the datagrams and writes the count to FILE about once a second (and at exit), so the script can check that
lines arrive; the lines themselves are dropped (HAProxy's cost is sending them, as with a real syslog daemon).
"""
import argparse
import signal
import socket
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count-file", required=True)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind(("127.0.0.1", args.port))
    sock.settimeout(1.0)
    count = 0

    def write():
        with open(args.count_file, "w") as f:
            f.write(f"{count}\n")

    def stop(*_):
        write()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write()
    last = time.monotonic()
    while True:
        try:
            sock.recv(8192)
            count += 1
        except socket.timeout:
            pass
        now = time.monotonic()
        if now - last >= 1.0:
            write()
            last = now


if __name__ == "__main__":
    main()
