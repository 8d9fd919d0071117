# bench/lib/proxy.sh: the nginx in front of the simulator for bench/run.sh (source it).
#   start_proxy UPSTREAM_URL BIG_FILE  sets PROXY_URL (https://localhost:P, TLS +
#                                      HTTP/2 in front of UPSTREAM_URL), PROXY_CA
#                                      (its certificate), BIG_URL (plain http whose
#                                      POST /agent/runs answers BIG_FILE as an event
#                                      stream), PROXY_LOG
#   proxy_connections                  TLS connections accepted since the last call
#   stop_proxy
# Plain nginx (no modules), its own temp prefix, loopback ports, stopped by PID.
PROXY_DIR=

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_proxy() {
  local upstream=${1#http://} big=$2 p1 p2 p3
  PROXY_DIR=$(mktemp -d /tmp/exa-bench-proxy.XXXXXX)
  mkdir -p "$PROXY_DIR/logs" "$PROXY_DIR/html"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PROXY_DIR/key.pem" -out "$PROXY_DIR/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost >/dev/null 2>&1
  ln -s "$big" "$PROXY_DIR/html/big.sse"
  p1=$(free_port); p2=$(free_port); p3=$(free_port)
  cat >"$PROXY_DIR/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $PROXY_DIR/nginx.pid;
error_log $PROXY_DIR/logs/error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $PROXY_DIR/tmp_body;
  proxy_temp_path $PROXY_DIR/tmp_proxy;
  fastcgi_temp_path $PROXY_DIR/tmp_fcgi;
  uwsgi_temp_path $PROXY_DIR/tmp_uwsgi;
  scgi_temp_path $PROXY_DIR/tmp_scgi;
  log_format conn '\$connection';
  upstream sim { server $upstream; keepalive 64; }
  server {
    listen 127.0.0.1:$p1 ssl http2;
    ssl_certificate $PROXY_DIR/cert.pem;
    ssl_certificate_key $PROXY_DIR/key.pem;
    http2_max_concurrent_streams 1000;
    keepalive_requests 100000;
    access_log $PROXY_DIR/logs/conn.log conn;
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 120s;
    }
  }
  server {
    listen 127.0.0.1:$p2;
    location / { rewrite ^ /big.sse break; proxy_method GET; proxy_pass http://127.0.0.1:$p3; proxy_buffering off; }
  }
  server {
    listen 127.0.0.1:$p3;
    location / { root $PROXY_DIR/html; default_type text/event-stream; types { } }
  }
}
CONF
  nginx -p "$PROXY_DIR" -c "$PROXY_DIR/nginx.conf" -e "$PROXY_DIR/logs/error.log" || return 1
  PROXY_URL=https://localhost:$p1 PROXY_CA=$PROXY_DIR/cert.pem BIG_URL=http://127.0.0.1:$p2
  PROXY_LOG=$PROXY_DIR/logs/conn.log
  local i
  for i in $(seq 50); do
    curl -s -o /dev/null --cacert "$PROXY_CA" "$PROXY_URL/" && break
    sleep 0.1
  done
  proxy_connections >/dev/null
}

# Distinct connections in the access log since the last call (the log is emptied).
proxy_connections() {
  sort -u "$PROXY_LOG" | wc -l
  : >"$PROXY_LOG"
  kill -USR1 "$(cat "$PROXY_DIR/nginx.pid")" 2>/dev/null || true # reopen the log
  sleep 0.2
}

stop_proxy() {
  [ -n "$PROXY_DIR" ] || return 0
  [ -f "$PROXY_DIR/nginx.pid" ] && kill "$(cat "$PROXY_DIR/nginx.pid")" 2>/dev/null
  sleep 0.2
  rm -rf "$PROXY_DIR"
  PROXY_DIR=
}
