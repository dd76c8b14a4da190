/**
 * voicetrace, set up once per process. Both the worker entry (src/worker.ts) and the agent file
 * (src/agent.ts) import this module: in each job process it runs before the SDK starts the job's
 * first span, and in the worker process it is what exports the spans a killed job left open.
 */
import { setupVoiceTrace } from '@voicetrace/livekit';

// OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, VOICETRACE_REPORT_DIR, VOICETRACE_UPLOAD_BUCKET ... configure it
export const vt = setupVoiceTrace({ serviceName: process.env.OTEL_SERVICE_NAME ?? 'support-agent' });
