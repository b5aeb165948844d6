#!/usr/bin/env bash
# `make cluster`: a 3-node Cairn cluster on 127.0.0.1, in the foreground until Ctrl-C (then
# every node gets SIGTERM). Like `cockroach demo`: one command and a new user has something to
# talk to. The layout is the walkthrough's of docs/operations.md: node N's data in
# $CLUSTER_DIR/N, its log in N.log, its pid in N.pid. The directory is reused, so a second run
# starts the same cluster with its data (and nothing piles up in /tmp).
#   CLUSTER_DIR=/tmp/cairn  where the nodes keep their data, logs and pid files
#   CLUSTER_FRESH=1     wipe CLUSTER_DIR first: a new cluster
#   CLUSTER_PORT=7001   first peer port (nodes use CLUSTER_PORT, +1, +2)
#   CLUSTER_HTTP_PORT=8001  first HTTP API port (CLUSTER_HTTP_PORT, +1, +2)
#   CLUSTER_TICK_MS=50  Raft tick (elections after 10-20 ticks)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
first_port=${CLUSTER_PORT:-7001}
first_http_port=${CLUSTER_HTTP_PORT:-$((first_port + 1000))}
tick_ms=${CLUSTER_TICK_MS:-50}

for tool in cairnd cairn; do
  [[ -x $build/bin/$tool ]] || { echo "local-cluster: $build/bin/$tool is missing (run make build)" >&2; exit 1; }
done
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in $first_port $((first_port + 1)) $((first_port + 2)) $first_http_port $((first_http_port + 1)) $((first_http_port + 2)); do
  if port_in_use "$port"; then
    echo "local-cluster: port $port is in use; try: make cluster CLUSTER_PORT=17001" >&2
    exit 1
  fi
done

root=${CLUSTER_DIR:-/tmp/cairn}
if [[ ${CLUSTER_FRESH:-0} == 1 ]]; then rm -rf "$root"; fi
mkdir -p "$root"
if [[ -d $root/1 ]]; then echo "local-cluster: starting the cluster of $root again, with its data (CLUSTER_FRESH=1 wipes it)"; fi
endpoints=""
for id in 1 2 3; do
  endpoints+="${endpoints:+,}$id=127.0.0.1:$((first_port + id - 1))"
done

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "local-cluster: stopping the nodes (SIGTERM); their data and logs stay in $root (make cluster starts them again)"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

for id in 1 2 3; do
  peers=()
  for other in 1 2 3; do
    [[ $other == "$id" ]] || peers+=(--peer "$other=127.0.0.1:$((first_port + other - 1))")
  done
  rm -f "$root/$id.port"
  "$build/bin/cairnd" --node-id "$id" --data-dir "$root/$id" --listen-peer "127.0.0.1:$((first_port + id - 1))" \
    --listen-http "127.0.0.1:$((first_http_port + id - 1))" "${peers[@]}" --tick-ms "$tick_ms" --port-file "$root/$id.port" >>"$root/$id.log" 2>&1 &
  pids+=($!)
  echo $! > "$root/$id.pid"
done
for id in 1 2 3; do
  for _ in $(seq 1 200); do
    [[ -f $root/$id.port ]] && break
    if ! kill -0 "${pids[$((id - 1))]}" 2>/dev/null; then
      echo "local-cluster: node $id exited during start-up; its log:" >&2
      tail -n 20 "$root/$id.log" >&2
      exit 1
    fi
    sleep 0.05
  done
  [[ -f $root/$id.port ]] || { echo "local-cluster: node $id did not start; see $root/$id.log" >&2; exit 1; }
done

cat <<INFO
A 3-node Cairn cluster is running (data and logs in $root).

In another terminal:
  export CAIRN_ENDPOINTS=$endpoints
  $build/bin/cairn put greeting hello
  $build/bin/cairn get greeting
  $build/bin/cairn scan
  $build/bin/cairn cluster status

Or over HTTP (node 1; nodes 2 and 3 listen on $((first_http_port + 1)) and $((first_http_port + 2))):
  curl -X PUT --data-binary hello http://127.0.0.1:$first_http_port/v1/kv/greeting
  curl http://127.0.0.1:$first_http_port/v1/kv/greeting
  curl http://127.0.0.1:$first_http_port/v1/cluster
  curl http://127.0.0.1:$first_http_port/metrics

Press Ctrl-C to stop the cluster.
INFO
wait "${pids[@]}"
