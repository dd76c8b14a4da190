import { diag } from '@opentelemetry/api';

/** Where voicetrace's one-time messages go: `false` silences them, a function receives them. */
export type WarningSink = boolean | ((message: string) => void);

/**
 * Says each thing once. A setup mistake (an endpoint that will never answer,
 * a half-set LangFuse config, the PII switch) is useless if it only reaches
 * OTel's `diag`, which prints nothing unless a diag logger is registered: by
 * default these go to stderr too. `VOICETRACE_WARNINGS=off` or
 * `warnings: false` silences them (they still reach `diag`).
 */
export function createNotices(sink: WarningSink | undefined, env: NodeJS.ProcessEnv = process.env): (key: string, message: string) => void {
  const said = new Set<string>();
  const off = sink === false || (sink === undefined && ['off', 'false', '0', 'none'].includes((env.VOICETRACE_WARNINGS ?? '').toLowerCase()));
  const write = typeof sink === 'function' ? sink : (message: string) => console.warn(message);
  return (key, message) => {
    // once per key, and once per sentence (two exporters may find the same mistake in one variable)
    if (said.has(key) || said.has(message)) return;
    said.add(key);
    said.add(message);
    diag.warn(message);
    if (off) return;
    try {
      write(message);
    } catch {
      // a logger that throws must not break the agent
    }
  };
}
