export { startLangfuseContractServer } from './server.js';
export { decodeExportTraceServiceRequest, encodeExportTraceServiceRequest } from './otlp-proto.js';
export type { ContractRequest, LangfuseContractServer, LangfuseContractServerOptions, ReceivedSpan, ReceivedValue } from './types.js';
