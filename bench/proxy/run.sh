#!/usr/bin/env bash
# The proxy benchmark: reflex beside shadowsocks-libev, v2ray and trojan
# (and no proxy at all, the ceiling) on this machine, in one run, with the same
# driver and target (bench/proxy/proxy_load.cc) for all. Not a test.
# "reflex-store" is reflex with its replay filter shared in a redis-server
# the script starts (--replay-store, SPEC 12.4); after the rounds, the
# store's memory per remembered hello (MEMORY USAGE) and the SET NX PX
# rate one redis-server takes here (redis-benchmark) are measured.
#   tools/bootstrap.sh --bench     # the peers, once
#   bench/proxy/run.sh [--rounds N] [--out FILE] [--peers "direct reflex ss-libev v2ray trojan"]
#                      [--baseline-reflex BIN] [--workloads "tcp udp idle"]
# --baseline-reflex runs another build of reflex (e.g. the commit before a
# change) as one more peer, "reflex-baseline", so that a change is judged
# against its own baseline in the same run.
# Each round starts every peer afresh and runs, per peer:
#   1 connection fetching 1 GiB; 64 connections x 64 MiB at once (and the
#   CPU time client and server spent per GiB, from /proc utime + stime);
#   new tunnels (connect, fetch 1 KiB, close) for 5 s at concurrency 1 and
#   64 (and the CPU time per tunnel);
#   (udp) 1,200-byte datagrams to a UDP echo for 5 s, at most 64
#   unanswered, through a SOCKS5 UDP ASSOCIATE (direct, reflex, and
#   shadowsocks-libev's UDP relay, ss-local -u / ss-server -u; v2ray and
#   trojan are configured without UDP here): datagrams per second, MB/s
#   each way, loss, CPU per 1,000 datagrams;
#   (idle) 2,000 and 9,500 idle tunnels, answered (1 byte fetched) and unanswered
#   (1 byte sent, never answered), each with fresh processes: resident
#   memory of client and server per tunnel, then their resident memory 5 s
#   after every tunnel closed beside the one before (10,000 tunnels do not
#   fit the open-file limit of 20,000 per process).
# trojan: TLS 1.3 with TLS_CHACHA20_POLY1305_SHA256 only and X25519, a
# self-signed ECDSA P-256 certificate the client does not verify, trojan's
# default session reuse.
# The table gives each figure's median over the rounds and reflex's ratio to
# the best peer; raw libsodium seal + open, for scale, is measured in
# the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=3
out=bench/proxy/results.md
peers="direct reflex reflex-store ss-libev v2ray trojan"
baseline=""
workloads="tcp udp idle"
while [ $# -gt 0 ]; do
  case "$1" in
    --workloads) workloads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --peers) peers="$2"; shift 2 ;;
    --baseline-reflex) baseline="$(realpath "$2")"; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--out FILE] [--peers LIST] [--baseline-reflex BIN] [--workloads LIST]" >&2; exit 2 ;;
  esac
done
[ -n "$baseline" ] && peers="$peers reflex-baseline"
case " $peers " in *" ss-libev "*) need="ss-server ss-local" ;; *) need="" ;; esac
case " $peers " in *" v2ray "*) need="$need v2ray" ;; esac
case " $peers " in *" trojan "*) need="$need trojan openssl" ;; esac
case " $peers " in *" reflex-store "*) need="$need redis-server redis-benchmark redis-cli" ;; esac
for tool in $need; do
  command -v "$tool" >/dev/null || { echo "$tool missing: run tools/bootstrap.sh --bench" >&2; exit 1; }
done
bazel build --config=bench //proxy:reflex //bench:proxy_load >/dev/null 2>&1
work=$(mktemp -d)
# Copies: bazel-bin follows whatever is built next, and the run is long.
cp bazel-bin/proxy/reflex bazel-bin/bench/proxy_load "$work/"
reflex=$work/reflex
load=$work/proxy_load
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap 'cleanup; rm -rf "$work"' EXIT
ulimit -n "$(ulimit -Hn)"
user=6f1c2a9e-2b1d-4c1e-9a55-0f3b8d7c6e51

wait_port() {  # wait_port PORT: until something listens there (10 s)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2; return 1
}

"$load" serve --listen 127.0.0.1:0 2>"$work/target.log" &
pids+=($!)
sleep 0.3
target_port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/target.log")
target=127.0.0.1:$target_port
redis_sock=$work/redis.sock
if [[ " $peers " == *" reflex-store "* ]]; then
  redis-server --port 0 --unixsocket "$redis_sock" --save '' --appendonly no --dir "$work" \
    --maxmemory-policy noeviction >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do redis-cli -s "$redis_sock" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# start_peer NAME: starts its client and server; sets socks, client_pid,
# server_pid.
start_peer() {
  local s; s=$("$load" freeport); socks=$("$load" freeport)
  case "$1" in
    direct) client_pid=""; server_pid=""; socks=""; return ;;
    reflex|reflex-baseline|reflex-store)
      local bin=$reflex; [ "$1" = reflex-baseline ] && bin=$baseline
      local store=(); [ "$1" = reflex-store ] && store=(--replay-store "unix://$redis_sock")
      "$bin" server --listen 127.0.0.1:$s --user $user --fallback 127.0.0.1:9 --allow-target 127.0.0.0/8 --log-level error "${store[@]}" 2>/dev/null &
      server_pid=$!
      "$bin" client --server 127.0.0.1:$s --user $user --socks 127.0.0.1:$socks --log-level error 2>/dev/null &
      client_pid=$! ;;
    ss-libev)
      ss-server -u -s 127.0.0.1 -p $s -k bench-password -m chacha20-ietf-poly1305 >/dev/null 2>&1 &
      server_pid=$!
      ss-local -u -s 127.0.0.1 -p $s -b 127.0.0.1 -l $socks -k bench-password -m chacha20-ietf-poly1305 \
        >/dev/null 2>&1 &
      client_pid=$! ;;
    trojan)
      [ -f "$work/trojan.crt" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$work/trojan.key" -out "$work/trojan.crt" -days 30 -subj /CN=bench >/dev/null 2>&1
      cat >"$work/trojan-s.json" <<JSON
{"run_type":"server","local_addr":"127.0.0.1","local_port":$s,"remote_addr":"127.0.0.1","remote_port":9,
 "password":["bench-password"],"log_level":5,
 "ssl":{"cert":"$work/trojan.crt","key":"$work/trojan.key","cipher_tls13":"TLS_CHACHA20_POLY1305_SHA256",
        "curves":"X25519","alpn":["http/1.1"]},
 "tcp":{"no_delay":true,"keep_alive":true}}
JSON
      cat >"$work/trojan-c.json" <<JSON
{"run_type":"client","local_addr":"127.0.0.1","local_port":$socks,"remote_addr":"127.0.0.1","remote_port":$s,
 "password":["bench-password"],"log_level":5,
 "ssl":{"verify":false,"verify_hostname":false,"cipher_tls13":"TLS_CHACHA20_POLY1305_SHA256",
        "curves":"X25519","alpn":["http/1.1"]},
 "tcp":{"no_delay":true,"keep_alive":true}}
JSON
      trojan -c "$work/trojan-s.json" >/dev/null 2>&1 &
      server_pid=$!
      trojan -c "$work/trojan-c.json" >/dev/null 2>&1 &
      client_pid=$! ;;
    v2ray)
      cat >"$work/v2s.json" <<JSON
{"log":{"loglevel":"none"},"inbounds":[{"listen":"127.0.0.1","port":$s,"protocol":"vmess",
 "settings":{"clients":[{"id":"$user","alterId":0}]}}],"outbounds":[{"protocol":"freedom"}]}
JSON
      cat >"$work/v2c.json" <<JSON
{"log":{"loglevel":"none"},"inbounds":[{"listen":"127.0.0.1","port":$socks,"protocol":"socks",
 "settings":{"auth":"noauth","udp":false}}],"outbounds":[{"protocol":"vmess","settings":{"vnext":[
 {"address":"127.0.0.1","port":$s,"users":[{"id":"$user","alterId":0,"security":"chacha20-poly1305"}]}]}}]}
JSON
      v2ray -config "$work/v2s.json" >/dev/null 2>&1 &
      server_pid=$!
      v2ray -config "$work/v2c.json" >/dev/null 2>&1 &
      client_pid=$! ;;
  esac
  pids+=("$server_pid" "$client_pid")
  wait_port "$s"; wait_port "$socks"
}
stop_peer() {
  [ -n "$client_pid" ] && kill "$client_pid" "$server_pid" 2>/dev/null || true
  [ -n "$client_pid" ] && wait "$client_pid" "$server_pid" 2>/dev/null || true
  sleep 1  # let the sockets go
}

results="${out%.md}.jsonl"  # kept beside the table: the raw figures
: >"$results"
record() {  # record PEER WORKLOAD JSON
  printf '%s\n' "$3" | sed "s/^{/{\"peer\":\"$1\",\"workload\":\"$2\",/" >>"$results"
  echo "  $1 $2: $3"
}

for round in $(seq "$rounds"); do
  echo "round $round of $rounds"
  for peer in $peers; do
    start_peer "$peer"
    via=(); [ -n "$socks" ] && via=(--socks 127.0.0.1:$socks --pids $client_pid,$server_pid)
    if [[ " $workloads " == *" tcp "* ]]; then
      record $peer "1 connection, 1 GiB" "$("$load" bulk --target $target "${via[@]}" --connections 1 --bytes 1073741824 || true)"
      record $peer "64 connections x 64 MiB" "$("$load" bulk --target $target "${via[@]}" --connections 64 --bytes 67108864 || true)"
      record $peer "new tunnels, 1 at a time" "$("$load" rate --target $target "${via[@]}" --concurrency 1 --seconds 5 --bytes 1024 || true)"
      record $peer "new tunnels, 64 at a time" "$("$load" rate --target $target "${via[@]}" --concurrency 64 --seconds 5 --bytes 1024 || true)"
    fi
    if [[ " $workloads " == *" udp "* ]]; then
      case "$peer" in direct|reflex|reflex-baseline|ss-libev)
        record $peer "UDP, 1,200-byte datagrams" "$("$load" udp --target $target "${via[@]}" --bytes 1200 --seconds 5 || true)" ;;
      esac
    fi
    stop_peer
    [ "$peer" = direct ] && continue
    [[ " $workloads " == *" idle "* ]] || continue
    for count in 2000 9500; do  # fresh processes: their memory grows only by the tunnels
      for answered in 1 0; do
        start_peer "$peer"
        name="$(echo $count | sed 's/\(.*\)\(...\)$/\1,\2/') idle tunnels, $([ $answered = 1 ] && echo answered || echo unanswered)"
        record $peer "$name" "$("$load" idle --target $target --socks 127.0.0.1:$socks --connections $count \
          --pids $client_pid,$server_pid --unanswered $((1 - answered)) || true)"
        stop_peer
      done
    done
  done
done
record aead "raw libsodium AEAD" "$("$load" aead --bytes 1073741824)"
store_line=""
if [[ " $peers " == *" reflex-store "* ]]; then
  # A remembered hello as reflex writes it: prefix + 32 bytes (here
  # printable ones of the same length), value 1, a TTL.
  key="reflex:replay:$(printf '%032d' 0)"
  redis-cli -s "$redis_sock" set "$key" 1 NX PX 241000 >/dev/null
  per_key=$(redis-cli -s "$redis_sock" memory usage "$key")
  rate=$(redis-benchmark -s "$redis_sock" -n 400000 -c 64 -P 16 -r 1000000000 -q \
           set reflex:replay:__rand_int____rand_int____rand_int__ 1 NX PX 241000 | tr '\r' '\n' |
         sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
  store_line="Shared replay store (redis-server $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')): $per_key bytes per remembered hello (MEMORY USAGE); one redis-server takes $rate SET NX PX per second here (redis-benchmark, 64 clients, pipelines of 16)."
fi

{
  echo "# bench/proxy results"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)."
  line="Run: $(date -u +%Y-%m-%dT%H:%MZ), $rounds rounds, medians. Peers: $peers; reflex v2 (OpenSSL AEAD)"
  case " $peers " in *" ss-libev "*) line="$line; shadowsocks-libev $(ss-server -h 2>&1 | sed -n 's/^shadowsocks-libev \([0-9.]*\).*/\1/p' | head -1) (chacha20-ietf-poly1305)" ;; esac
  case " $peers " in *" v2ray "*) line="$line; v2ray $(v2ray -version 2>/dev/null | awk 'NR==1{print $2}') (VMess, chacha20-poly1305)" ;; esac
  case " $peers " in *" trojan "*) line="$line; trojan $(trojan -v 2>&1 | sed -n 's/.*trojan \([0-9.]*\).*/\1/p' | head -1) (TLS 1.3, TLS_CHACHA20_POLY1305_SHA256, X25519)" ;; esac
  [ -n "$baseline" ] && line="$line; reflex-baseline: $baseline"
  echo "$line."
  [ -n "$store_line" ] && { echo; echo "$store_line"; }
  echo
  "$load" report "$results"
} >"$out"
cat "$out"
