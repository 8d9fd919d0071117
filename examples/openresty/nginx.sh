#!/bin/sh
# examples/openresty/nginx.sh start|stop|test: run examples/openresty/nginx.conf
# with this directory as nginx's prefix (-p). It creates logs/ (git-ignored)
# and writes there what comes from your environment, which nginx.conf includes:
#
#   logs/main.conf    `user` when started as root (see EXA_NGINX_USER)
#   logs/http.conf    `resolver` (EXA_RESOLVER, else /etc/resolv.conf's nameservers)
#   logs/listen.conf  `listen` (EXA_RELAY_LISTEN, default 127.0.0.1:8080)
#
# Environment: EXA_API_KEY (required), EXA_RELAY_TOKEN (required: the token
# clients of the relay must send), EXA_BASE_URL, EXA_RELAY_EFFORTS (default
# "low"), EXA_RELAY_CANCEL_ON_DISCONNECT (default 1), EXA_RELAY_RETRY_AFTER
# (seconds, default 30), EXA_RESOLVER, EXA_RESOLVER_TIMEOUT (seconds,
# default 5), EXA_RELAY_LISTEN, EXA_NGINX_USER, EXA_NGINX (the binary).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
nginx=${EXA_NGINX:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
logs=$here/logs

write_conf() {
  mkdir -p "$logs"
  resolver=${EXA_RESOLVER:-$(awk '$1 == "nameserver" { a = $2; if (a ~ /:/) a = "[" a "]"; printf "%s ", a }' \
    /etc/resolv.conf 2>/dev/null || true)}
  resolver=$(echo "$resolver" | sed 's/ *$//')
  if [ -z "$resolver" ]; then
    echo "nginx.sh: no DNS server: set EXA_RESOLVER (cosockets resolve names only through nginx's resolver)" >&2
    exit 2
  fi
  EXA_RESOLVER=$resolver
  export EXA_RESOLVER # the relay names it when a name does not resolve
  printf 'resolver %s ipv6=off valid=300s;\nresolver_timeout %ss;\n' "$resolver" "${EXA_RESOLVER_TIMEOUT:-5}" \
    > "$logs/http.conf"
  printf 'listen %s;\n' "${EXA_RELAY_LISTEN:-127.0.0.1:8080}" > "$logs/listen.conf"
  if [ "$(id -u)" = 0 ]; then
    # nginx's workers would run as nobody, which cannot read a checkout under
    # a 0700 directory such as /root: run them as the checkout's owner.
    user=${EXA_NGINX_USER:-$(stat -c %U "$here")}
    printf 'user %s %s;\n' "$user" "$(id -gn "$user")" > "$logs/main.conf"
  else
    : > "$logs/main.conf" # workers run as you
  fi
}

pid() { cat "$logs/nginx.pid" 2>/dev/null || true; }

case "${1:-start}" in
  start)
    : "${EXA_API_KEY:?nginx.sh: set EXA_API_KEY}"
    if [ -z "${EXA_RELAY_TOKEN:-}" ]; then
      echo "nginx.sh: set EXA_RELAY_TOKEN, the token clients of the relay must send" \
        "(Authorization: Bearer ...), e.g. EXA_RELAY_TOKEN=\$(openssl rand -hex 16)" >&2
      exit 2
    fi
    write_conf
    "$nginx" -p "$here/" -e logs/error.log -c nginx.conf
    echo "relay on http://${EXA_RELAY_LISTEN:-127.0.0.1:8080}/ (pid $(pid); resolver $EXA_RESOLVER; log $logs/error.log)"
    ;;
  test)
    write_conf
    "$nginx" -t -p "$here/" -e logs/error.log -c nginx.conf
    ;;
  stop)
    p=$(pid)
    if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then echo "nginx.sh: not running" >&2; exit 0; fi
    kill -TERM "$p"
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    echo "stopped $p"
    ;;
  *)
    echo "usage: nginx.sh start|stop|test" >&2
    exit 2
    ;;
esac
