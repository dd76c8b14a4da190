/**
 * PromQL helpers for testing the shipped dashboard and rules against a Prometheus that loads no
 * rule files: recording rules are inlined, and Grafana's variables are given values.
 */

/**
 * Inlines recording rules in `expr` (`recorded`: rule name -> its expression), up to 5 levels deep:
 * `name` -> `(expr)`, `name[r] offset o` -> `(expr)[r:1m] offset o` (a subquery), `name offset o` ->
 * `last_over_time((expr)[5m:1m] offset o)`.
 */
export function inlineRecordingRules(expr: string, recorded: ReadonlyMap<string, string>): string {
  let out = expr;
  for (let depth = 0; depth < 5; depth++) {
    let changed = false;
    for (const [name, body] of recorded) {
      const re = new RegExp(`(?<![\\w:])${name.replace(/[:]/g, '\\:')}(?![\\w:])(\\[[^\\]]+\\])?(\\s+offset\\s+\\w+)?`, 'g');
      out = out.replace(re, (_m, range: string | undefined, offset: string | undefined) => {
        changed = true;
        if (range) return `(${body})[${range.slice(1, -1)}:1m]${offset ?? ''}`;
        if (offset) return `last_over_time((${body})[5m:1m]${offset})`;
        return `(${body})`;
      });
    }
    if (!changed) break;
  }
  return out;
}

/**
 * A dashboard panel's query as Prometheus would get it from Grafana: `$service` and `$environment`
 * set, `$__rate_interval` 5m, `$__range` 1h, recording rules inlined.
 */
export function grafanaToPromQL(expr: string, vars: { service: string; environment: string }, recorded: ReadonlyMap<string, string>): string {
  const set = expr.replaceAll('$service', vars.service).replaceAll('$environment', vars.environment).replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h');
  return inlineRecordingRules(set, recorded);
}
