#!/usr/bin/env bash
# Validates every Collector config in collector-config/ with the real Collector binary
# (`otelcol validate`), for each base file alone and with its overlays, then smoke-starts
# the full sidecar and gateway combinations on free loopback ports (some errors, e.g. in the
# tail sampling OTTL condition, only show when components are built). CI runs this script.
# Usage: scripts/validate-collector-config.sh [--no-smoke]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cfg="$here/collector-config"
otelcol="${VOICETRACE_OTELCOL:-$("$here/scripts/build-collector.sh")}"
smoke=1; [[ "${1:-}" == "--no-smoke" ]] && smoke=0
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# gateway.yaml serves TLS on its OTLP receivers: a throwaway self-signed certificate for
# 127.0.0.1/localhost (the smoke start loads it; sidecar-to-gateway.yaml trusts it as its CA).
command -v openssl >/dev/null 2>&1 || {
  echo "validate-collector-config: openssl is required (it makes a throwaway TLS certificate for gateway.yaml); install it (e.g. apt-get install openssl)" >&2
  exit 2
}
if ! out="$(openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$tmp/gateway.key" -out "$tmp/gateway.crt" -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>&1)"; then
  echo "validate-collector-config: openssl could not make the test certificate:" >&2; echo "$out" >&2
  exit 2
fi

# Dummy values for the variables the overlays and the gateway tier require (nothing is contacted
# by `validate`; the token is a placeholder, not a credential).
export VOICETRACE_JAEGER_ENDPOINT=127.0.0.1:1 VOICETRACE_TEMPO_ENDPOINT=127.0.0.1:1 \
  LANGFUSE_BASE_URL=http://127.0.0.1:1 LANGFUSE_AUTH=dm9pY2V0cmFjZTp0ZXN0 \
  VOICETRACE_FILE_EXPORT_PATH="$tmp/traces.jsonl" VOICETRACE_QUEUE_DIR="$tmp/queue" \
  VOICETRACE_GATEWAY_ENDPOINTS=127.0.0.1:1,127.0.0.1:2 \
  VOICETRACE_GATEWAY_TOKEN=validate-collector-config-dummy-token \
  VOICETRACE_GATEWAY_TLS_CERT="$tmp/gateway.crt" VOICETRACE_GATEWAY_TLS_KEY="$tmp/gateway.key" \
  VOICETRACE_GATEWAY_CA_FILE="$tmp/gateway.crt" \
  LANGFUSE_PUBLIC_KEY=pk-test LANGFUSE_SECRET_KEY=sk-test

failures=0
check() { # description, config files...
  local what="$1"; shift
  local args=(); for f in "$@"; do args+=(--config "$cfg/$f"); done
  if out="$("$otelcol" validate "${args[@]}" 2>&1)"; then
    echo "ok    $what"
  else
    echo "FAIL  $what"; echo "$out" | sed 's/^/      /'; failures=$((failures + 1))
  fi
}
overlays=(); for f in "$cfg"/overlays/*.yaml; do overlays+=("overlays/$(basename "$f")"); done
for base in sidecar.yaml gateway.yaml; do
  check "$base" "$base"
  for o in "${overlays[@]}"; do check "$base + $o" "$base" "$o"; done
  check "$base + all overlays" "$base" "${overlays[@]}"
done
check "sidecar-to-gateway.yaml" sidecar-to-gateway.yaml
check "testing/langfuse-receiver.yaml" testing/langfuse-receiver.yaml

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
smoke_start() { # description, config files...
  local what="$1"; shift
  local args=(); for f in "$@"; do args+=(--config "$cfg/$f"); done
  local health; health="$(free_port)"
  local log="$tmp/smoke.log"
  VOICETRACE_HEALTH_ENDPOINT="127.0.0.1:$health" VOICETRACE_OTLP_GRPC_ENDPOINT="127.0.0.1:$(free_port)" \
  VOICETRACE_OTLP_HTTP_ENDPOINT="127.0.0.1:$(free_port)" VOICETRACE_PROMETHEUS_ENDPOINT="127.0.0.1:$(free_port)" \
  VOICETRACE_INTERNAL_METRICS_PORT="$(free_port)" VOICETRACE_QUEUE_DIR="$tmp/queue-$health" \
    "$otelcol" "${args[@]}" >"$log" 2>&1 &
  local pid=$! ok=0
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$health/" >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  # Fail on error-level log lines and on any deprecation warning (e.g. an old component name).
  if [[ $ok == 1 ]] && ! grep -qP '\terror\t|^Error' "$log" && ! grep -qi 'deprecat' "$log"; then
    echo "ok    smoke start: $what"
  else
    echo "FAIL  smoke start: $what"; tail -20 "$log" | sed 's/^/      /'; failures=$((failures + 1))
  fi
}
if [[ $smoke == 1 ]]; then
  smoke_start "sidecar.yaml + all overlays" sidecar.yaml "${overlays[@]}"
  smoke_start "gateway.yaml + all overlays" gateway.yaml "${overlays[@]}"
  smoke_start "sidecar-to-gateway.yaml" sidecar-to-gateway.yaml
fi
if [[ $failures -gt 0 ]]; then echo "$failures collector config check(s) failed" >&2; exit 1; fi
echo "all collector configs valid ($otelcol)"
