#!/usr/bin/env python3
"""Opens N keep-alive client connections to a proxy, completes one request on each, and holds them idle.

Used by bench/compare.sh to measure what an idle keep-alive connection costs a proxy: it reads the proxy's
RSS before and after. Standard library only. Every phase is bounded in time:

  1. open N connections (at most --parallel connecting at once) and complete one GET on each,
     within --open-timeout seconds in all; one after another (at most --parallel requests in flight), or with
     --burst: every connection is opened first, then every request is written before any response is read, so the
     proxy has all N requests in flight at once (the peak a burst of clients puts on its buffers and upstream pool);
  2. write a JSON line {"open": ok, "failed": n, "seconds": s} to --ready-file (atomically);
  3. hold every connection open and idle until SIGTERM/SIGINT, or at most --hold seconds;
  4. close them all and exit: 0 when every connection completed its request, 1 otherwise.
"""
import argparse
import asyncio
import json
import os
import signal
import sys
import time


async def one_request(host, port, path, timeout):
    """Connects, sends one GET, reads the whole response (Content-Length framed) and keeps the connection."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        await send_request(writer, path)
        await read_response(reader, timeout)
        return reader, writer
    except BaseException:
        writer.close()
        raise


async def open_idle(host, port, timeout):
    """Connects and sends nothing yet (--burst: the request goes out once every connection is open)."""
    return await asyncio.wait_for(asyncio.open_connection(host, port), timeout)


def request(path):
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: idle-clients\r\n\r\n".encode("ascii")


async def send_request(writer, path):
    writer.write(request(path))
    await writer.drain()


async def read_response(reader, timeout):
    """Reads one Content-Length framed response; raises unless it is a 200 that keeps the connection open."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        if name.strip().lower() == "connection" and "close" in value.lower():
            raise ConnectionError("the proxy asked to close the connection")
    if length is None:
        raise ConnectionError("response without Content-Length")
    await asyncio.wait_for(reader.readexactly(length), timeout)
    if status != 200:
        raise ConnectionError(f"status {status}")


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/small")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--parallel", type=int, default=100, help="connections being opened at once (keeps the accept backlog short)")
    parser.add_argument("--open-timeout", type=float, default=60.0, help="seconds to open and use every connection")
    parser.add_argument("--hold", type=float, default=60.0, help="longest time to hold the connections, seconds")
    parser.add_argument("--burst", action="store_true",
                        help="open every connection, then write every request before reading any response")
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()

    started = time.monotonic()
    deadline = started + args.open_timeout
    gate = asyncio.Semaphore(args.parallel)
    kept = []
    errors = {}

    async def open_one():
        async with gate:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("open phase over")
            kept.append(await one_request(args.host, args.port, args.path, remaining))

    if args.burst:
        results = await burst(args, deadline, gate, kept)
    else:
        results = await asyncio.gather(*(open_one() for _ in range(args.connections)), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            key = f"{type(r).__name__}: {r}"
            errors[key] = errors.get(key, 0) + 1

    report = {"mode": "burst" if args.burst else "sequential", "open": len(kept), "failed": args.connections - len(kept), "seconds": round(time.monotonic() - started, 2)}
    if errors:
        report["errors"] = errors
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(report) + "\n")
    os.replace(tmp, args.ready_file)
    print(json.dumps(report), flush=True)

    # Hold, idle, until told to stop or the hold time runs out.
    release = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, release.set)
    try:
        await asyncio.wait_for(release.wait(), args.hold)
    except asyncio.TimeoutError:
        print(f"idle_clients: hold time ({args.hold:g} s) over, closing", file=sys.stderr)

    for _, writer in kept:
        writer.close()
    return 0 if not errors else 1


async def burst(args, deadline, gate, kept):
    """Every connection opened (idle), then every request written, then every response read: all N in flight at once."""
    async def connect():
        async with gate:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("open phase over")
            return await open_idle(args.host, args.port, remaining)

    opened = await asyncio.gather(*(connect() for _ in range(args.connections)), return_exceptions=True)
    results = [r for r in opened if isinstance(r, BaseException)]
    conns = [r for r in opened if not isinstance(r, BaseException)]
    # Written back to back: each write is one small send that fits the socket buffer, so none waits for an answer.
    for _, writer in conns:
        writer.write(request(args.path))
    await asyncio.gather(*(writer.drain() for _, writer in conns), return_exceptions=True)

    async def answer(conn):
        reader, writer = conn
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError("open phase over")
            await read_response(reader, remaining)
            kept.append(conn)
        except BaseException:
            writer.close()
            raise

    results += await asyncio.gather(*(answer(c) for c in conns), return_exceptions=True)
    return results


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
