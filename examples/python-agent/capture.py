"""Finished spans as one OTLP/JSON ExportTraceServiceRequest (hex ids, as OTLP/JSON requires and
the Collector's file exporter writes), for the fixtures under packages/python-collector/fixtures."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan


def _hex_ids(value: object) -> object:
    """protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants trace and span ids in hex."""
    if isinstance(value, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str) else _hex_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


def write_otlp_json(spans: Sequence[ReadableSpan], path: str) -> None:
    request = MessageToDict(encode_spans(spans), preserving_proto_field_name=False)
    with open(path, "w") as f:
        json.dump(_hex_ids(request), f, indent=1, sort_keys=False)
        f.write("\n")
