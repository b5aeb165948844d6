#!/usr/bin/env bash
# `make cluster` (tools/local-cluster.sh) as a user meets it: the three nodes start and the
# script says how to reach them; their data, logs and pid files go to one directory
# (CLUSTER_DIR), which the next run starts again rather than leaving a new temporary
# directory behind each time; Ctrl-C stops every node.
#   local_cluster_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
work=$(mktemp -d /tmp/local-cluster-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "local_cluster_test: $*" >&2; for f in "$work"/out*; do echo "--- $f" >&2; cat "$f" >&2; done; exit 1; }

port=$((20000 + RANDOM % 9000))
temporary_before=$(find /tmp -maxdepth 1 -name 'cairn-cluster-*' | wc -l)
# Whether a process runs: not gone and not a zombie (an exited node whose parent, the script,
# is gone already waits to be reaped by whoever adopted it).
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}
stopped_within_5_seconds() {
  for _ in $(seq 1 50); do running "$1" || return 0; sleep 0.1; done
  return 1
}
run() {
  CLUSTER_DIR=$work/cluster CLUSTER_PORT=$port CLUSTER_HTTP_PORT=$((port + 500)) BUILD_DIR=$build_dir \
    timeout -s INT 12 bash "$source_dir/tools/local-cluster.sh" > "$work/out$1" 2>&1 || true
}

run 1
grep -q "A 3-node Cairn cluster is running (data and logs in $work/cluster)" "$work/out1" || fail "no start message"
for id in 1 2 3; do
  [[ -d $work/cluster/$id && -f $work/cluster/$id.log && -f $work/cluster/$id.pid ]] || fail "node $id's files are missing"
  stopped_within_5_seconds "$(cat "$work/cluster/$id.pid")" || fail "node $id still runs after Ctrl-C"
done
grep -q "stopping the nodes (SIGTERM)" "$work/out1" || fail "no stop message"

run 2
grep -q "starting the cluster of $work/cluster again, with its data" "$work/out2" || fail "the second run did not reuse the directory"
grep -q "A 3-node Cairn cluster is running" "$work/out2" || fail "the second run did not start"
temporary_after=$(find /tmp -maxdepth 1 -name 'cairn-cluster-*' | wc -l)
[[ $temporary_after == "$temporary_before" ]] || fail "a temporary directory was left in /tmp"
echo "local_cluster_test: ok"
