#!/usr/bin/env bash
# Bring what the test suite needs, then run it: `make test` calls this, so README's two commands are the whole
# set-up on a fresh machine.
#
#   Debian packages  nginx, chromium, redis-server, openssl, buildah, podman, runc and debootstrap are installed
#                    with apt-get when missing and allowed (root, or sudo without a password).
#                    INSTALL_SYSTEM_PACKAGES=no never installs; then, or when installing is not possible, CI=true
#                    stops at once with the one command to run, and a local run carries on (the tests needing the
#                    missing program skip, and say so).
#   Redis            when nothing answers at REDIS_URL's loopback address (default 127.0.0.1:6379), a private
#                    redis-server is started there (memory only) for the run and stopped when it ends.
#
# Usage: tests/run.sh PYTHON PYTEST [pytest arguments…]
set -euo pipefail
python=$1
shift

packages=()
# Where the tests look for nginx: on PATH, else Debian's /usr/sbin (not on an ordinary user's PATH), or NGINX_PATH.
nginx=${NGINX_PATH:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$nginx" ] || packages+=(nginx)
command -v "${CHROMIUM_PATH:-/usr/bin/chromium}" >/dev/null 2>&1 || packages+=(chromium)
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)  # a throwaway certificate for the TLS browser tests
# The image test (tests/deploy/test_image_build.py) builds the Dockerfile on a local base and boots it.
for tool in buildah podman runc debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || packages+=("$tool")
done

if [ ${#packages[@]} -gt 0 ]; then
  command_line="apt-get update && apt-get install -y --no-install-recommends ${packages[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  if [ "${INSTALL_SYSTEM_PACKAGES:-auto}" != no ] && command -v apt-get >/dev/null 2>&1 \
      && { [ -z "$sudo" ] || sudo -n true 2>/dev/null; }; then
    echo "tests/run.sh: installing ${packages[*]} (Debian packages the tests drive)" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  elif [ "${CI:-}" = true ]; then
    echo "tests/run.sh: missing ${packages[*]}; install them first:" >&2
    echo "    sudo sh -c '$command_line'" >&2
    exit 2
  else
    echo "tests/run.sh: missing ${packages[*]} (tests needing them will skip); to install:" >&2
    echo "    sudo sh -c '$command_line'" >&2
  fi
fi

read -r redis_host redis_port < <("$python" -c "
from urllib.parse import urlsplit; import os
url = urlsplit(os.environ.get('REDIS_URL') or 'redis://127.0.0.1:6379/15')
print(url.hostname or '127.0.0.1', url.port or 6379)")
redis_answers() {
  HOST=$redis_host PORT=$redis_port "$python" -c "
import os, redis; redis.Redis(host=os.environ['HOST'], port=int(os.environ['PORT']), socket_timeout=1).ping()" 2>/dev/null
}

redis_pid=""
stop_redis() {
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
}
trap stop_redis EXIT

if [ "$redis_host" = 127.0.0.1 ] && ! redis_answers && command -v redis-server >/dev/null 2>&1; then
  echo "tests/run.sh: starting redis-server on 127.0.0.1:$redis_port for this run" >&2
  redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "${TMPDIR:-/tmp}" \
    --logfile "" --loglevel warning >/dev/null &
  redis_pid=$!
  for _ in $(seq 100); do redis_answers && break; sleep 0.1; done
fi

"$@"
