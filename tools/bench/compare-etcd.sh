#!/usr/bin/env bash
# Side-by-side HTTP write benchmark: Cairn (3 cairnd) against etcd 3.4 (3 members), on this machine
# and disk, both driven by wrk with the Lua scripts in tools/bench/wrk/. See --help and
# tools/bench/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tools/bench/compare-etcd.sh [OPTIONS]

Durable-write benchmark, Cairn against etcd 3.4, over HTTP on 127.0.0.1, same disk, same load tool.
For each repetition, workload and system it starts a fresh 3-node cluster (etcd: 3 members with
default durability, fsync on; Cairn: 3 cairnd), waits for a leader, aims wrk at the leader's
client URL, runs a short warm-up and then the measured run, stops the cluster and deletes its data.
Then it prints machine information and a side-by-side table.

Workloads (each request writes a distinct key; keys are letters/digits only, so they are the same
length for both systems; values are random letters/digits):
  serial      wrk -t1 -c1: one client, one durable write at a time.  16 B keys, 64 B values
  concurrent  wrk -t2 -c200: 200 connections.                        256 B keys, 1 KiB values
Requests:
  etcd   POST /v3/kv/put  {"key": base64(key), "value": base64(value)}   (etcd's JSON gateway)
  Cairn  PUT  /v1/kv/KEY  with the raw value as the body

Options (each has an environment variable of the same meaning; a flag wins):
  -d, --duration SECONDS   measured seconds per run                 DURATION   (20)
  -r, --repeat N           repetitions; odd ones run etcd first,
                           even ones Cairn first                     REPEAT     (1)
      --dir PATH           work directory for data and logs; must be
                           missing or empty (it is created)          BENCH_DIR  (new /var/tmp/cairn-bench-XXXXXX)
  -k, --keep               keep the work directory (data and logs)   KEEP=1
      --systems LIST       etcd,cairn or one of them                SYSTEMS    (etcd,cairn)
      --workloads LIST     serial,concurrent or one of them         WORKLOADS  (serial,concurrent)
      --connections N      connections of the concurrent workload   CONNECTIONS (200)
      --threads N          wrk threads of the concurrent workload   THREADS    (2)
      --warmup SECONDS     unmeasured warm-up before each run, 0=off WARMUP     (2)
  -o, --output FILE        also write the report to FILE            OUTPUT
      --cairnd PATH        the cairnd binary                         CAIRND     (build/bin/cairnd)
  -h, --help               this text
Environment only:
  SERIAL_KEY_SIZE (16) SERIAL_VALUE_SIZE (64) CONCURRENT_KEY_SIZE (256) CONCURRENT_VALUE_SIZE (1024)
  ETCD_CLIENT_PORT (23791: members use 23791-23793)  ETCD_PEER_PORT (23801: 23801-23803)
  CAIRN_PEER_PORT (24791: 24791-24793)               CAIRN_HTTP_PORT (24801: 24801-24803)
  CAIRN_TICK_MS (100) CAIRN_ELECTION_TICKS (10)      the same timing as etcd's defaults
                                                     (heartbeat 100 ms, election 1000 ms)
  WRK_TIMEOUT (10s)  a request slower than this counts as a timeout error

Output: a table with one row per run (system, workload, repetition, req/s, p50/p90/p99/max latency
in ms, errors = non-2xx responses + socket errors + timeouts, fsync figures) and, when REPEAT > 1,
the median of each system and workload; then the ratios Cairn/etcd of the serial p50 (below 1:
Cairn is faster) and of the concurrent req/s (above 1: Cairn is faster). Fsync figures, from the
leader's /metrics scraped before and after the measured run ("-" when a metric is missing):
  w/fsync    committed log entries per WAL fsync: etcd Δetcd_server_proposals_committed_total /
             Δetcd_disk_wal_fsync_duration_seconds_count; Cairn Δcairn_raft_commit_index /
             Δcairn_wal_syncs_total
  rec/fsync  Cairn only: WAL records per fsync, Δcairn_wal_records_per_sync_sum /
             Δcairn_wal_syncs_total (a write may take more than one record)

Needs: wrk, curl, etcd (apt-get install -y etcd-server etcd-client wrk curl) and a cairnd with
--listen-http (make build). Every process it starts is stopped on exit, Ctrl-C or failure.
Example: tools/bench/compare-etcd.sh --duration 20 --repeat 3 --output bench.txt
EOF
}

die() { echo "compare-etcd: $*" >&2; exit 1; }
note() { echo "compare-etcd: $*" >&2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
scripts=$root/tools/bench/wrk

duration=${DURATION:-20}
repeat=${REPEAT:-1}
bench_dir=${BENCH_DIR:-}
keep=${KEEP:-0}
systems=${SYSTEMS:-etcd,cairn}
workloads=${WORKLOADS:-serial,concurrent}
connections=${CONNECTIONS:-200}
threads=${THREADS:-2}
warmup=${WARMUP:-2}
output=${OUTPUT:-}
cairnd=${CAIRND:-}
serial_key_size=${SERIAL_KEY_SIZE:-16}
serial_value_size=${SERIAL_VALUE_SIZE:-64}
concurrent_key_size=${CONCURRENT_KEY_SIZE:-256}
concurrent_value_size=${CONCURRENT_VALUE_SIZE:-1024}
etcd_client_port=${ETCD_CLIENT_PORT:-23791}
etcd_peer_port=${ETCD_PEER_PORT:-23801}
cairn_peer_port=${CAIRN_PEER_PORT:-24791}
cairn_http_port=${CAIRN_HTTP_PORT:-24801}
cairn_tick_ms=${CAIRN_TICK_MS:-100}
cairn_election_ticks=${CAIRN_ELECTION_TICKS:-10}
wrk_timeout=${WRK_TIMEOUT:-10s}

while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    -d | --duration) duration=${2:?$1 needs a value}; shift ;;
    -r | --repeat) repeat=${2:?$1 needs a value}; shift ;;
    --dir) bench_dir=${2:?$1 needs a value}; shift ;;
    -k | --keep) keep=1 ;;
    --systems) systems=${2:?$1 needs a value}; shift ;;
    --workloads) workloads=${2:?$1 needs a value}; shift ;;
    --connections) connections=${2:?$1 needs a value}; shift ;;
    --threads) threads=${2:?$1 needs a value}; shift ;;
    --warmup) warmup=${2:?$1 needs a value}; shift ;;
    -o | --output) output=${2:?$1 needs a value}; shift ;;
    --cairnd) cairnd=${2:?$1 needs a value}; shift ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
  shift
done

# ---- checks ------------------------------------------------------------------------------------
is_count() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2)); }
is_count "$duration" 1 || die "--duration must be a whole number of seconds >= 1 (got '$duration')"
is_count "$repeat" 1 || die "--repeat must be >= 1 (got '$repeat')"
is_count "$warmup" 0 || die "--warmup must be a whole number of seconds (got '$warmup')"
is_count "$connections" 1 || die "--connections must be >= 1 (got '$connections')"
is_count "$threads" 1 || die "--threads must be >= 1 (got '$threads')"
((connections >= threads)) || die "--connections ($connections) must be at least --threads ($threads)"
for size in "$serial_key_size" "$concurrent_key_size"; do
  is_count "$size" 12 || die "key sizes must be >= 12 bytes (got '$size')"
done
for size in "$serial_value_size" "$concurrent_value_size"; do
  is_count "$size" 0 || die "value sizes must be whole numbers (got '$size')"
done

run_etcd=0 run_cairn=0
IFS=, read -r -a system_list <<<"$systems"
for s in "${system_list[@]}"; do
  case $s in etcd) run_etcd=1 ;; cairn) run_cairn=1 ;; *) die "--systems: unknown system '$s' (etcd, cairn)" ;; esac
done
IFS=, read -r -a workload_list <<<"$workloads"
for w in "${workload_list[@]}"; do
  case $w in serial | concurrent) ;; *) die "--workloads: unknown workload '$w' (serial, concurrent)" ;; esac
done
((${#workload_list[@]} > 0)) || die "--workloads is empty"

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed; $2"; }
need wrk "install it: apt-get install -y wrk"
need curl "install it: apt-get install -y curl"
need awk "install it: apt-get install -y gawk"
((run_etcd == 0)) || need etcd "install etcd 3.4: apt-get install -y etcd-server etcd-client"
for f in common.lua etcd_put.lua cairn_put.lua; do
  [[ -f $scripts/$f ]] || die "$scripts/$f is missing"
done
if ((run_cairn)); then
  if [[ -z $cairnd ]]; then
    for candidate in "$root/build/bin/cairnd" "$root/build/net/cairnd/cairnd" "$root/build/net/cairnd"; do
      [[ -f $candidate && -x $candidate ]] && { cairnd=$candidate; break; }
    done
  fi
  if [[ -z $cairnd ]]; then
    die "no cairnd binary in $root/build/bin; run 'make build' in $root (or pass --cairnd PATH)"
  fi
  [[ -f $cairnd && -x $cairnd ]] || die "no executable cairnd at $cairnd; run 'make build' in $root (or pass --cairnd PATH)"
  "$cairnd" --help 2>&1 | grep -q -- '--listen-http' ||
    die "$cairnd has no --listen-http flag (HTTP API); rebuild it: make build"
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=()
((run_etcd == 0)) || ports+=("$etcd_client_port" $((etcd_client_port + 1)) $((etcd_client_port + 2))
  "$etcd_peer_port" $((etcd_peer_port + 1)) $((etcd_peer_port + 2)))
((run_cairn == 0)) || ports+=("$cairn_peer_port" $((cairn_peer_port + 1)) $((cairn_peer_port + 2))
  "$cairn_http_port" $((cairn_http_port + 1)) $((cairn_http_port + 2)))
for port in "${ports[@]}"; do
  ! port_in_use "$port" || die "port $port on 127.0.0.1 is in use (another benchmark or cluster?); choose other ports, see --help"
done

# ---- work directory and clean-up ---------------------------------------------------------------
created_dir=0
if [[ -z $bench_dir ]]; then
  bench_dir=$(mktemp -d /var/tmp/cairn-bench-XXXXXX)
  created_dir=1
elif [[ -e $bench_dir ]]; then
  [[ -d $bench_dir ]] || die "--dir $bench_dir exists and is not a directory"
  [[ -z $(ls -A "$bench_dir") ]] || die "--dir $bench_dir is not empty (it would be deleted afterwards); give a new or empty one"
else
  mkdir -p "$bench_dir"
  created_dir=1
fi
bench_dir=$(cd "$bench_dir" && pwd)

cluster_pids=()
wrk_pid=""

# SIGTERM, up to 3 s to exit, then SIGKILL. (An etcd leader whose followers stop at the same time
# spends seconds trying to hand over its leadership; the data is thrown away anyway.)
stop_processes() {
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  local alive
  for _ in $(seq 1 30); do
    alive=0
    for pid in "$@"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    ((alive)) || break
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
  wait "$@" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $wrk_pid ]]; then stop_processes "$wrk_pid"; fi
  stop_processes "${cluster_pids[@]}"
  if [[ $keep == 1 ]]; then
    note "kept the work directory $bench_dir"
  elif ((created_dir)); then
    rm -rf "$bench_dir"
  else
    find "$bench_dir" -mindepth 1 -delete 2>/dev/null || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "terminated"; exit 143' TERM

results=$bench_dir/results.tsv
: >"$results"

# ---- machine information -----------------------------------------------------------------------
machine_info() {
  local cpu
  cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
  echo "date:        $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "host:        $(nproc) CPUs, ${cpu:-unknown CPU}, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
  echo "kernel:      $(uname -srm)"
  echo "load:        $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, at start)"
  local source fstype options
  read -r source fstype options < <(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$bench_dir" 2>/dev/null || echo "? ? ?")
  echo "disk:        $bench_dir on $source ($fstype, $options)"
  echo "             $(df -h --output=size,used,avail "$bench_dir" | tail -1 | awk '{ print $1 " total, " $2 " used, " $3 " free" }')"
  if ((run_etcd)); then echo "etcd:        $(etcd --version 2>/dev/null | awk '/^etcd Version/ { v = $3 } /^Go Version/ { g = $3 } END { print v " (" g ")" }')"; fi
  if ((run_cairn)); then echo "cairnd:      $cairnd ($("$cairnd" --version 2>/dev/null || echo '?'))"; fi
  echo "wrk:         $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }')"
  local rev dirty=""
  rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ -n $(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]]; then dirty=" (with uncommitted changes)"; fi
  echo "cairn rev:   $rev$dirty ($root)"
  echo "settings:    duration ${duration}s, warm-up ${warmup}s, repeat $repeat;" \
    "serial ${serial_key_size} B keys/${serial_value_size} B values on 1 connection;" \
    "concurrent ${concurrent_key_size} B keys/${concurrent_value_size} B values on $connections connections, $threads wrk threads"
}

# ---- helpers -----------------------------------------------------------------------------------
# A metric's total over all its series in a Prometheus text file ("" when absent).
metric_total() {
  awk -v name="$2" '
    $1 == name || index($1, name "{") == 1 {
      line = $0
      sub(/^[^ \t{]+(\{[^}]*\})?[ \t]+/, "", line)
      split(line, fields, " ")
      total += fields[1]; found = 1
    }
    END { if (found) printf "%.6f\n", total }' "$1" 2>/dev/null
}

# Δnumerator / Δdenominator between two scrapes, or "-".
writes_per_fsync() {
  local before=$1 after=$2 numerator=$3 denominator=$4 n0 n1 d0 d1
  n0=$(metric_total "$before" "$numerator"); n1=$(metric_total "$after" "$numerator")
  d0=$(metric_total "$before" "$denominator"); d1=$(metric_total "$after" "$denominator")
  if [[ -z $n0 || -z $n1 || -z $d0 || -z $d1 ]]; then echo "-"; return; fi
  awk -v n="$(awk -v a="$n1" -v b="$n0" 'BEGIN { print a - b }')" \
      -v d="$(awk -v a="$d1" -v b="$d0" 'BEGIN { print a - b }')" \
      'BEGIN { if (d > 0) printf "%.2f\n", n / d; else print "-" }'
}

# Cairn's fsync figures on the leader (BEFORE AFTER WORKLOAD): prints "WRITES RECORDS": committed
# Raft entries per WAL fsync (Δcairn_raft_commit_index / Δsyncs, etcd's formula) and WAL records per
# fsync (Δcairn_wal_records_per_sync_sum / Δsyncs), where Δsyncs is Δcairn_wal_syncs_total or, when
# that counter did not move, the histogram's own _count (also one per fsync). "-" when missing.
cairn_fsync_figures() {
  local before=$1 after=$2 workload=$3 syncs=cairn_wal_syncs_total writes records
  if [[ $(writes_per_fsync "$before" "$after" "$syncs" "$syncs") == - ]]; then # Δ = 0 or missing
    syncs=cairn_wal_records_per_sync_count
    [[ $(writes_per_fsync "$before" "$after" "$syncs" "$syncs") == - ]] ||
      note "cairn $workload: cairn_wal_syncs_total did not move; counting fsyncs with cairn_wal_records_per_sync_count"
  fi
  writes=$(writes_per_fsync "$before" "$after" cairn_raft_commit_index "$syncs")
  records=$(writes_per_fsync "$before" "$after" cairn_wal_records_per_sync_sum "$syncs")
  echo "$writes $records"
}

wait_for_exit_or() { # PID LOG: fail with the log if the process died
  if ! kill -0 "$1" 2>/dev/null; then
    note "a server exited during start-up; the end of its log ($2):"
    tail -n 30 "$2" >&2 || true
    exit 1
  fi
}

# ---- etcd --------------------------------------------------------------------------------------
etcd_leader_url=""
etcd_leader_id=""

start_etcd() { # RUN_DIR
  local dir=$1 cluster="" token
  token=bench-$(basename "$dir")
  for i in 1 2 3; do
    cluster+="${cluster:+,}e$i=http://127.0.0.1:$((etcd_peer_port + i - 1))"
  done
  cluster_pids=()
  for i in 1 2 3; do
    local client=http://127.0.0.1:$((etcd_client_port + i - 1)) peer=http://127.0.0.1:$((etcd_peer_port + i - 1))
    etcd --name "e$i" --data-dir "$dir/etcd$i" \
      --listen-client-urls "$client" --advertise-client-urls "$client" \
      --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "$token" \
      --heartbeat-interval 100 --election-timeout 1000 \
      --logger zap --log-outputs stderr >"$dir/etcd$i.log" 2>&1 &
    cluster_pids+=($!)
  done
  local deadline=$((SECONDS + 60))
  while :; do
    for i in 1 2 3; do wait_for_exit_or "${cluster_pids[$((i - 1))]}" "$dir/etcd$i.log"; done
    if find_etcd_leader; then return 0; fi
    ((SECONDS < deadline)) || die "etcd has no leader after 60 s; logs in $dir (use --keep to keep them)"
    sleep 0.2
  done
}

# Sets etcd_leader_url/etcd_leader_id from /v3/maintenance/status (member_id == leader).
find_etcd_leader() {
  local i url status member leader
  for i in 1 2 3; do
    url=http://127.0.0.1:$((etcd_client_port + i - 1))
    status=$(curl -sf -m 2 -X POST -d '{}' "$url/v3/maintenance/status" 2>/dev/null) || continue
    member=$(sed -n 's/.*"member_id":"\{0,1\}\([0-9]*\).*/\1/p' <<<"$status")
    leader=$(sed -n 's/.*"leader":"\{0,1\}\([0-9]*\).*/\1/p' <<<"$status")
    if [[ -n $member && $member == "$leader" ]]; then
      # /health is true only when the member sees a leader and can serve.
      curl -sf -m 2 "$url/health" 2>/dev/null | grep -q '"health":"true"' || return 1
      etcd_leader_url=$url
      etcd_leader_id=$member
      return 0
    fi
  done
  return 1
}

# ---- Cairn -------------------------------------------------------------------------------------
cairn_leader_url=""
cairn_leader_id=""
cairn_http_urls=()

start_cairn() { # RUN_DIR
  local dir=$1
  cluster_pids=()
  cairn_http_urls=()
  for i in 1 2 3; do
    local peers=()
    for j in 1 2 3; do
      [[ $j == "$i" ]] || peers+=(--peer "$j=127.0.0.1:$((cairn_peer_port + j - 1))")
    done
    "$cairnd" --node-id "$i" --data-dir "$dir/cairn$i" \
      --listen-peer "127.0.0.1:$((cairn_peer_port + i - 1))" "${peers[@]}" \
      --listen-http "127.0.0.1:$((cairn_http_port + i - 1))" \
      --tick-ms "$cairn_tick_ms" --election-ticks "$cairn_election_ticks" \
      --port-file "$dir/cairn$i.port" >"$dir/cairn$i.log" 2>&1 &
    cluster_pids+=($!)
    cairn_http_urls+=("http://127.0.0.1:$((cairn_http_port + i - 1))")
  done
  local deadline=$((SECONDS + 60))
  while :; do
    for i in 1 2 3; do wait_for_exit_or "${cluster_pids[$((i - 1))]}" "$dir/cairn$i.log"; done
    if find_cairn_leader; then return 0; fi
    ((SECONDS < deadline)) || die "Cairn has no leader after 60 s; logs in $dir (use --keep to keep them)"
    sleep 0.2
  done
}

# Sets cairn_leader_url/cairn_leader_id. Asks GET /v1/cluster on each node for the leader's id and
# maps it to that node's HTTP URL (node i listens on CAIRN_HTTP_PORT+i-1). Only when no node has a
# /v1/cluster (an older cairnd) does it fall back to the node that takes a PUT fastest.
find_cairn_leader() {
  local i body leader="" answered=0
  for i in 1 2 3; do
    body=$(curl -sf -m 2 "${cairn_http_urls[$((i - 1))]}/v1/cluster" 2>/dev/null) || continue
    [[ $body == *'"leader"'* ]] || continue
    answered=1
    leader=$(cairn_leader_from_cluster_json "$body")
    [[ -n $leader ]] && break
  done
  if ((answered)); then
    [[ $leader =~ ^[123]$ ]] || return 1 # no leader yet (or an unknown node id)
    # The leader must also take a write.
    curl -sf -m 5 -o /dev/null -X PUT --data-binary probe "${cairn_http_urls[$((leader - 1))]}/v1/kv/benchprobe" 2>/dev/null || return 1
    cairn_leader_url=${cairn_http_urls[$((leader - 1))]}
    cairn_leader_id=$leader
    return 0
  fi
  local best="" best_time="" t code
  for i in 1 2 3; do
    read -r code t < <(curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}\n' -X PUT --data-binary probe \
      "${cairn_http_urls[$((i - 1))]}/v1/kv/benchprobe" 2>/dev/null || echo "000 0")
    [[ $code == 2* ]] || continue
    if [[ -z $best ]] || awk -v a="$t" -v b="$best_time" 'BEGIN { exit !(a < b) }'; then
      best=$i best_time=$t
    fi
  done
  [[ -n $best ]] || return 1
  cairn_leader_url=${cairn_http_urls[$((best - 1))]}
  cairn_leader_id="$best?"
  return 0
}

# The leader's node id from GET /v1/cluster's JSON ({"cluster":"cairn","leader":"2","members":[...]}:
# the first "leader" key is the top-level one), or "" (also when it is "0": no leader known).
cairn_leader_from_cluster_json() {
  local id
  id=$(grep -o '"leader"[[:space:]]*:[[:space:]]*"\{0,1\}[0-9][0-9]*' <<<"$1" | head -1 | grep -o '[0-9][0-9]*$' || true)
  [[ $id == 0 ]] && id=""
  echo "$id"
}

# The value of NAME in a BENCH_RESULT line (LINE NAME).
field_of() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# ---- one run -----------------------------------------------------------------------------------
run_wrk() { # LOG WRK-ARGS...
  local log=$1
  shift
  wrk "$@" >"$log" 2>&1 &
  wrk_pid=$!
  local status=0
  wait "$wrk_pid" || status=$?
  wrk_pid=""
  return "$status"
}

run_one() { # REP SYSTEM WORKLOAD
  local rep=$1 system=$2 workload=$3
  local dir=$bench_dir/run$rep-$system-$workload
  mkdir -p "$dir"
  local key_size value_size
  local -a wrk_shape
  if [[ $workload == serial ]]; then
    key_size=$serial_key_size value_size=$serial_value_size wrk_shape=(-t1 -c1)
  else
    key_size=$concurrent_key_size value_size=$concurrent_value_size wrk_shape=(-t"$threads" -c"$connections")
  fi
  local url leader script
  if [[ $system == etcd ]]; then
    start_etcd "$dir"
    url=$etcd_leader_url leader=e$etcd_leader_id script=$scripts/etcd_put.lua
  else
    start_cairn "$dir"
    url=$cairn_leader_url leader=node$cairn_leader_id script=$scripts/cairn_put.lua
  fi
  note "run $rep: $system $workload -> leader $leader at $url"
  local run_id
  run_id=r$rep${system:0:1}${workload:0:1}$RANDOM
  if ((warmup > 0)); then
    run_wrk "$dir/warmup.log" "${wrk_shape[@]}" -d"${warmup}s" --timeout "$wrk_timeout" -s "$script" "$url" \
      -- "$key_size" "$value_size" "${run_id}w" ||
      { note "warm-up failed:"; cat "$dir/warmup.log" >&2; exit 1; }
  fi
  curl -s -m 5 "$url/metrics" >"$dir/metrics.before" 2>/dev/null || true
  run_wrk "$dir/wrk.log" "${wrk_shape[@]}" -d"${duration}s" --timeout "$wrk_timeout" --latency -s "$script" "$url" \
    -- "$key_size" "$value_size" "$run_id" ||
    { note "wrk failed:"; cat "$dir/wrk.log" >&2; exit 1; }
  curl -s -m 5 "$url/metrics" >"$dir/metrics.after" 2>/dev/null || true

  local line
  line=$(grep '^BENCH_RESULT ' "$dir/wrk.log" | tail -1) ||
    { note "wrk printed no BENCH_RESULT line:"; cat "$dir/wrk.log" >&2; exit 1; }
  local wpf rpf=-
  if [[ $system == etcd ]]; then
    wpf=$(writes_per_fsync "$dir/metrics.before" "$dir/metrics.after" \
      etcd_server_proposals_committed_total etcd_disk_wal_fsync_duration_seconds_count)
  else
    read -r wpf rpf < <(cairn_fsync_figures "$dir/metrics.before" "$dir/metrics.after" "$workload")
  fi
  # Did the leader stay the leader?
  local remark=""
  if [[ $system == etcd ]]; then
    local before=$etcd_leader_id
    if find_etcd_leader && [[ $etcd_leader_id != "$before" ]]; then remark="leader changed"; fi
  else
    local before=$cairn_leader_id
    if [[ $before != *'?' ]] && find_cairn_leader && [[ $cairn_leader_id != "$before" ]]; then remark="leader changed"; fi
  fi
  local first_error
  first_error=$(sed -n 's/^BENCH_FIRST_ERROR //p' "$dir/wrk.log" | head -1)
  if [[ -n $first_error ]]; then
    note "$system $workload: first error response: $first_error"
    remark+="${remark:+; }first error: ${first_error:0:60}"
  fi

  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$system" "$workload" "$rep" \
    "$(field_of "$line" rps)" "$(field_of "$line" p50_ms)" "$(field_of "$line" p90_ms)" "$(field_of "$line" p99_ms)" "$(field_of "$line" max_ms)" \
    "$(field_of "$line" errors)" "$(field_of "$line" requests)" "$wpf" "$remark" "$rpf" >>"$results"
  note "run $rep: $system $workload: $(field_of "$line" rps) req/s, p50 $(field_of "$line" p50_ms) ms, p99 $(field_of "$line" p99_ms) ms, errors $(field_of "$line" errors)"

  stop_processes "${cluster_pids[@]}"
  cluster_pids=()
  if [[ $keep != 1 ]]; then
    rm -rf "$dir"/etcd[123] "$dir"/cairn[123]
  fi
  sync # so that the next run does not pay for this one's write-back
}

# ---- main --------------------------------------------------------------------------------------
info=$(machine_info)
echo "$info" >&2
echo >&2

for ((rep = 1; rep <= repeat; rep++)); do
  order=()
  if ((rep % 2 == 1)); then
    ((run_etcd == 0)) || order+=(etcd)
    ((run_cairn == 0)) || order+=(cairn)
  else
    ((run_cairn == 0)) || order+=(cairn)
    ((run_etcd == 0)) || order+=(etcd)
  fi
  for workload in "${workload_list[@]}"; do
    for system in "${order[@]}"; do
      run_one "$rep" "$system" "$workload"
    done
  done
done

report() {
  echo "Cairn vs etcd: durable writes over HTTP (tools/bench/compare-etcd.sh)"
  echo "$info"
  echo
  awk -F'\t' -v repeat="$repeat" '
    function median(list,   n, a, i, j, t) {
      n = split(list, a, " ")
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    BEGIN {
      format = "%-6s %-11s %4s %10s %9s %9s %9s %9s %7s %8s %9s  %s\n"
      printf format, "system", "workload", "rep", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "w/fsync", "rec/fsync", "remarks"
    }
    {
      printf format, $1, $2, $3, sprintf("%.1f", $4), sprintf("%.2f", $5), sprintf("%.2f", $6), sprintf("%.2f", $7), sprintf("%.2f", $8), $9, $11, $13, $12
      key = $1 SUBSEP $2
      if (!(key in seen)) { seen[key] = 1; keys[++nkeys] = key }
      rps[key] = rps[key] " " $4; p50[key] = p50[key] " " $5; p90[key] = p90[key] " " $6
      p99[key] = p99[key] " " $7; mx[key] = mx[key] " " $8; errs[key] += $9
    }
    END {
      for (k = 1; k <= nkeys; k++) {
        key = keys[k]
        mrps[key] = median(rps[key]); mp50[key] = median(p50[key])
      }
      if (repeat > 1) {
        print ""
        print "Medians over " repeat " repetitions (errors: total):"
        printf format, "system", "workload", "", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "", "", ""
        for (k = 1; k <= nkeys; k++) {
          key = keys[k]; split(key, parts, SUBSEP)
          printf format, parts[1], parts[2], "med", sprintf("%.1f", mrps[key]), sprintf("%.2f", mp50[key]),
            sprintf("%.2f", median(p90[key])), sprintf("%.2f", median(p99[key])), sprintf("%.2f", median(mx[key])), errs[key], "", "", ""
        }
      }
      print ""
      s_c = "cairn" SUBSEP "serial"; s_e = "etcd" SUBSEP "serial"
      c_c = "cairn" SUBSEP "concurrent"; c_e = "etcd" SUBSEP "concurrent"
      if ((s_c in seen) && (s_e in seen) && mp50[s_e] > 0)
        printf "serial p50 latency, Cairn/etcd:     %.2f  (below 1: Cairn answers a lone durable write faster)\n", mp50[s_c] / mp50[s_e]
      if ((c_c in seen) && (c_e in seen) && mrps[c_e] > 0)
        printf "concurrent throughput, Cairn/etcd:  %.2f  (above 1: Cairn does more writes per second)\n", mrps[c_c] / mrps[c_e]
    }' "$results"
}

echo
report_text=$(report | sed "s/ *$//")
echo "$report_text"
if [[ -n $output ]]; then
  echo "$report_text" >"$output"
  note "report written to $output"
fi
