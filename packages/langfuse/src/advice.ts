import type { ExportFailureInfo } from '@voicetrace/exporters';

/** What to check when an export to LangFuse fails, by status or network error. */
export function adviseLangfuseFailure(failure: ExportFailureInfo, tracesUrl: string): string | undefined {
  const host = new URL(tracesUrl).host;
  switch (failure.status) {
    case 401:
      return (
        `LangFuse rejected the keys: check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY belong to a project on ${host} ` +
        '(keys are per region: cloud.langfuse.com is EU, us.cloud.langfuse.com is US; set LANGFUSE_BASE_URL)'
      );
    case 403:
      return 'LangFuse refused this project (for example ingestion suspended by a usage limit); not retried';
    case 404:
    case 405:
      return `check LANGFUSE_BASE_URL is LangFuse's base URL (e.g. https://cloud.langfuse.com) without a path; a self-hosted LangFuse needs v3.22 or later for its OTel endpoint`;
    case 400:
      return 'LangFuse rejected the whole batch; not retried';
    case 413:
      return 'the request is too large for LangFuse: lower VOICETRACE_EXPORT_MAX_BATCH_BYTES';
    case 429:
      return 'LangFuse rate-limited this project and the retries ran out; the spans of this export are dropped';
    default:
      break;
  }
  if (failure.status !== undefined && failure.status >= 500) return 'LangFuse is failing and the retries ran out; the spans of this export are dropped';
  if (failure.kind === 'timeout') return `no answer in time from ${host}: check LANGFUSE_BASE_URL is reachable`;
  if (failure.code === 'ECONNREFUSED' || failure.code === 'ENOTFOUND' || failure.code === 'EAI_AGAIN') {
    return `cannot reach ${host} (${failure.code}): check LANGFUSE_BASE_URL`;
  }
  return undefined;
}
