# syntax=docker/dockerfile:1
# FastProxy in a container: the native AOT binary built in the SDK image, run in the smallest image that has what it
# links against (glibc, OpenSSL for TLS, CA certificates). docs/operations.md, "Docker". Checked by
# tests/FastProxy.Tests/Deploy/DockerfileTests.cs (structure only: the tests do not run Docker).
#
#   docker build -t fastproxy .
#   docker run --rm -p 8080:8080 -p 9901:9901 -v "$PWD/proxy.toml:/etc/fastproxy/proxy.toml:ro" fastproxy
#   docker stop -t 45 CONTAINER        # more than [global] shutdown_timeout (30s), or the drain is cut by SIGKILL

# --- build: the SDK, and the C toolchain and zlib headers native AOT links with ---
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# What the binary is built from (.dockerignore keeps tests, benchmarks, docs and build outputs out).
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY src/ src/
# The same publish as ./test.sh and ./run.sh: Release, native AOT (PublishAot in the project), into artifacts/.
RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet publish src/FastProxy/FastProxy.csproj -c Release -o artifacts -nologo -v quiet \
    && test -x artifacts/fastproxy

# --- run: no .NET runtime needed, only what a native binary links against ---
# runtime-deps:10.0 is the same distribution as sdk:10.0, so the binary finds the glibc it was linked with (a
# binary built on a newer glibc does not start on an older one, e.g. debian:12-slim). It has a non-root user "app".
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS run
COPY --from=build /src/artifacts/fastproxy /usr/local/bin/fastproxy
# A starting configuration: the demo answer on 8080 and the admin listener (health checks) on 9901. Mount your own
# proxy.toml over it (read at start and on SIGHUP: `docker kill -s HUP CONTAINER`).
COPY deploy/docker/proxy.toml /etc/fastproxy/proxy.toml
ENV FASTPROXY_LOG_LEVEL=info
# The non-root user of the base image (UID 1654). Ports below 1024 need no capability in a container started by
# Docker 20.10 or later (it sets net.ipv4.ip_unprivileged_port_start=0); elsewhere use ports >= 1024.
USER $APP_UID
EXPOSE 8080 9901
# SIGTERM drains: listeners close, requests in flight finish, what is left is cut at shutdown_timeout, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/fastproxy", "-c", "/etc/fastproxy/proxy.toml"]
