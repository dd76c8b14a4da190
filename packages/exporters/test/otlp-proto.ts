import { exportTraceServiceRequestType } from '../../langfuse-contract/src/otlp-proto.js';

// The OTLP descriptor is @voicetrace/langfuse's testing module (written from opentelemetry-proto), read
// by path: this package cannot depend on that one, which depends on this one.

/** Decodes a binary `ExportTraceServiceRequest`: 64-bit integers as decimal strings, every default present. */
export function decodeTraceRequest(bytes: Uint8Array): Record<string, unknown> {
  const type = exportTraceServiceRequestType();
  return type.toObject(type.decode(bytes), { longs: String, arrays: true, defaults: true });
}
