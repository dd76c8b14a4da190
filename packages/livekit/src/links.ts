/**
 * Trace links for the session report, from the backends' usual local
 * addresses and the LangFuse settings. `{trace_id}` and `{session_id}` are
 * filled in per report.
 */
export function defaultLinkTemplates(env: NodeJS.ProcessEnv): Record<string, string> {
  const trim = (url: string) => url.replace(/\/+$/, '');
  const links: Record<string, string> = { jaeger: `${trim(env.VOICETRACE_JAEGER_UI_URL ?? 'http://localhost:16686')}/trace/{trace_id}` };
  // Grafana Explore with a TraceQL query for the trace id (Tempo's datasource is the default one)
  if (env.VOICETRACE_GRAFANA_URL) {
    const left = JSON.stringify({ queries: [{ queryType: 'traceql', query: '__TRACE__' }] });
    links.tempo = `${trim(env.VOICETRACE_GRAFANA_URL)}/explore?left=${encodeURIComponent(left).replace('__TRACE__', '{trace_id}')}`;
  }
  const langfuse = env.LANGFUSE_BASE_URL ?? env.LANGFUSE_HOST;
  if (langfuse && env.LANGFUSE_PROJECT_ID) {
    links.langfuse = `${trim(langfuse)}/project/${env.LANGFUSE_PROJECT_ID}/traces/{trace_id}`;
    links.langfuse_session = `${trim(langfuse)}/project/${env.LANGFUSE_PROJECT_ID}/sessions/{session_id}`;
  }
  return links;
}
