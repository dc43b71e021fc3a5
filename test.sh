#!/usr/bin/env bash
# Runs every test: installs the real clients and servers the tests drive (curl, htpasswd, nghttp, openssl, wrk, strace, redis-server, chromium, promtool) and systemd-analyze,
# builds the native AOT binary the process-level tests start, then runs the whole xunit suite.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/deps.sh
ensure_packages build test
dotnet publish src/FastProxy/FastProxy.csproj -c Release -o artifacts -nologo -v quiet
dotnet test FastProxy.sln -c Release --nologo "$@"
