#!/usr/bin/env bash
# Builds the native AOT binary to artifacts/fastproxy and runs it on ./proxy.toml (or the file given with -c).
# Extra arguments go to fastproxy:  ./run.sh -c other.toml   |   ./run.sh check -c proxy.toml
set -euo pipefail
cd "$(dirname "$0")"
source scripts/deps.sh
ensure_packages build
dotnet publish src/FastProxy/FastProxy.csproj -c Release -o artifacts -nologo -v quiet
if [ $# -eq 0 ]; then set -- -c proxy.toml; fi
exec artifacts/fastproxy "$@"
