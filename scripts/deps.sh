# Installs the Debian packages a step needs, only when something is missing. Sourced by run.sh and test.sh.
#   build: what native AOT links with (a C toolchain and zlib headers)
#   test:  the real clients the tests drive (htpasswd from apache2-utils makes the basic_auth tests' password files), and systemd-analyze to verify deploy/systemd/fastproxy.service; redis-server (rate-limit store tests start their own), chromium (the dashboard test), promtool from prometheus (checks /metrics and the alert rules); brotli and zstd (decompress what the compress policy sends, byte for byte; zstd also makes the static tests' .zst siblings)
ensure_packages() {
  local wanted=() missing=()
  for group in "$@"; do
    case "$group" in
      build) wanted+=(gcc:gcc zlib1g-dev:/usr/include/zlib.h) ;;
      test) wanted+=(curl:curl apache2-utils:htpasswd nghttp2-client:nghttp nghttp2-server:/usr/sbin/nghttpd openssl:openssl wrk:wrk strace:strace systemd:systemd-analyze redis-server:redis-server chromium:chromium prometheus:promtool brotli:brotli zstd:zstd) ;;
    esac
  done
  for item in "${wanted[@]}"; do
    local pkg="${item%%:*}" probe="${item#*:}"
    if [[ "$probe" == /* ]]; then [ -e "$probe" ] || missing+=("$pkg"); else command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
