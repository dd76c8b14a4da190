#!/usr/bin/env sh
# Prints the Collector's --config flags for voicetrace, one per line: a base config plus the
# overlays switched on by environment variables. The Collector merges the files in order.
#   otelcol $(collector-config/config-flags.sh)            # sidecar.yaml + overlays
#   otelcol $(collector-config/config-flags.sh gateway)    # gateway.yaml + overlays
#   otelcol $(collector-config/config-flags.sh sidecar-to-gateway)   # alone, no overlays
# The gateway tier needs VOICETRACE_GATEWAY_TOKEN and VOICETRACE_GATEWAY_TLS_CERT/_KEY (gateway.yaml),
# its senders VOICETRACE_GATEWAY_TOKEN and VOICETRACE_GATEWAY_ENDPOINTS (+ _CA_FILE): see README.md.
# Switches:
#   VOICETRACE_JAEGER_ENDPOINT   -> overlays/jaeger.yaml
#   VOICETRACE_TEMPO_ENDPOINT    -> overlays/tempo.yaml
#   LANGFUSE_BASE_URL            -> overlays/langfuse.yaml (needs LANGFUSE_AUTH)
#   VOICETRACE_FILE_EXPORT_PATH  -> overlays/file.yaml (traces and logs)
#   VOICETRACE_LOGS_OTLP_URL     -> overlays/otlp-logs.yaml (logs to an OTLP/HTTP logs backend)
#   VOICETRACE_DEBUG=true        -> overlays/debug.yaml
#   VOICETRACE_TAIL_SAMPLING=true -> overlays/tail-sampling.yaml
#   VOICETRACE_PYTHON_AGENTS=true -> overlays/python-agents.yaml (Python livekit-agents traces in voicetrace's shape)
# (Paths are absolute; word splitting breaks on a checkout path containing spaces.)
set -eu
dir="$(cd "$(dirname "$0")" && pwd)"
base="${1:-sidecar}"
[ -f "$dir/$base.yaml" ] || { echo "config-flags: no $dir/$base.yaml" >&2; exit 2; }
echo "--config=$dir/$base.yaml"
if [ "$base" = "sidecar-to-gateway" ]; then
  exit 0   # backends, sampling, span metrics and the Prometheus endpoint live on the gateways
fi
is_true() { case "${1:-}" in true|TRUE|True|1|yes|on) return 0;; *) return 1;; esac; }
[ -n "${VOICETRACE_JAEGER_ENDPOINT:-}" ] && echo "--config=$dir/overlays/jaeger.yaml"
[ -n "${VOICETRACE_TEMPO_ENDPOINT:-}" ] && echo "--config=$dir/overlays/tempo.yaml"
if [ -n "${LANGFUSE_BASE_URL:-}" ]; then
  [ -n "${LANGFUSE_AUTH:-}" ] || echo "config-flags: LANGFUSE_BASE_URL is set but LANGFUSE_AUTH is empty (LangFuse will answer 401)" >&2
  # LangFuse advises at most ~150 observations per trace; a call is one trace unless the agent splits it
  echo "config-flags: LangFuse through the Collector: run the agents with VOICETRACE_TRACE_MODE=turn (one trace per user turn, as the direct export makes); in the default session mode a call is one trace of ~17 observations per turn, past LangFuse's ~150 after 9 turns" >&2
  echo "--config=$dir/overlays/langfuse.yaml"
fi
[ -n "${VOICETRACE_FILE_EXPORT_PATH:-}" ] && echo "--config=$dir/overlays/file.yaml"
[ -n "${VOICETRACE_LOGS_OTLP_URL:-}" ] && echo "--config=$dir/overlays/otlp-logs.yaml"
is_true "${VOICETRACE_DEBUG:-}" && echo "--config=$dir/overlays/debug.yaml"
is_true "${VOICETRACE_TAIL_SAMPLING:-}" && echo "--config=$dir/overlays/tail-sampling.yaml"
is_true "${VOICETRACE_PYTHON_AGENTS:-}" && echo "--config=$dir/overlays/python-agents.yaml"
exit 0
