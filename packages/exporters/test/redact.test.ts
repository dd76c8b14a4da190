// Credentials never reach text meant for people: a server that echoes the request's headers in its
// error body, a URL with userinfo, a header that is not valid URL encoding.
import { describe, expect, it } from 'vitest';
import { createOtlpTraceExporter } from '../src/create-otlp-trace-exporter.js';
import { resolveOtlpTracesEndpoint } from '../src/endpoint.js';
import { redactUrl, requestSecrets, scrubSecrets } from '../src/redact.js';
import { exportSpans, FAILED, makeSpans, startServer } from './helpers.js';

const TOKEN = 'vt-test-token-7f3a9c2e41d8';
const PASSWORD = 'pw-5b8e1d0c';

describe('credentials stay out of messages', () => {
  it('a 401 or 500 that echoes the request headers: the one error line, the failure and the counters hold no credential', async () => {
    for (const status of [401, 500]) {
      const server = await startServer((request) => ({ status, body: `denied; you sent ${JSON.stringify(request.headers)} to ${request.url}` }));
      const lines: string[] = [];
      const endpoint = server.url.replace('http://', `http://agent:${PASSWORD}@`);
      // with a header the token is the credential; without one Node sends the userinfo as Basic auth
      const headers: Record<string, string> = status === 401 ? { Authorization: `Bearer ${TOKEN}`, 'x-api-key': TOKEN } : { 'x-api-key': TOKEN };
      const exporter = createOtlpTraceExporter({ endpoint, headers, retry: false, logger: (line) => lines.push(line), env: {} });
      try {
        const result = await exportSpans(exporter, makeSpans(2));
        expect(result.code).toBe(FAILED);
        // the server did receive them (the echo is real)...
        expect(JSON.stringify(server.requests[0]!.headers)).toContain(TOKEN);
        // ...but nothing we keep or print repeats them
        const text = [...lines, result.error?.message, JSON.stringify(result.error), JSON.stringify(exporter.stats())].join('\n');
        expect(lines).toHaveLength(1);
        expect(text).toContain('[REDACTED]');
        expect(text).toContain(`HTTP ${status}`);
        for (const secret of [TOKEN, PASSWORD, Buffer.from(`agent:${PASSWORD}`).toString('base64')]) expect(text, `${status}`).not.toContain(secret);
      } finally {
        await server.close();
      }
    }
  });

  it('a URL is shown without its userinfo or query values; a bad header value is named, not printed', () => {
    expect(redactUrl(`https://agent:${PASSWORD}@collector.example:4318/v1/traces?api_key=${TOKEN}`)).toBe('https://[REDACTED]:[REDACTED]@collector.example:4318/v1/traces?api_key=[REDACTED]');
    expect(redactUrl('http://127.0.0.1:4318/v1/traces')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(redactUrl(`not a url //user:${PASSWORD}@host`)).not.toContain(PASSWORD);
    const resolved = resolveOtlpTracesEndpoint({ env: { OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${TOKEN}%zz,=${TOKEN}`, OTEL_EXPORTER_OTLP_ENDPOINT: `http://u:${PASSWORD}@h:4318/v1/traces` } });
    expect(resolved.warnings.join('\n')).not.toContain(TOKEN);
    expect(resolved.warnings.join('\n')).not.toContain(PASSWORD);
    expect(resolved.warnings.join('\n')).toContain('the value of OTLP header "authorization" is not valid URL encoding');
    expect(() => resolveOtlpTracesEndpoint({ endpoint: `grpc://u:${PASSWORD}@h:4317`, env: {} })).toThrow(/grpc:\/\/\[REDACTED\]/);
  });

  it('collects header values, tokens after a scheme and URL credentials; scrubs every occurrence', () => {
    const secrets = requestSecrets(`http://agent:${PASSWORD}@h/`, { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-protobuf', 'x-k': 'ab' });
    // a short user name such as `agent` is no credential (and replacing it would mangle `user-agent`)
    expect(new Set(secrets)).toEqual(new Set([`Bearer ${TOKEN}`, Buffer.from(`agent:${PASSWORD}`).toString("base64"), TOKEN, PASSWORD]));
    expect(requestSecrets(`http://${TOKEN}@h/`, {})).toContain(TOKEN);
    expect(secrets[0]).toBe(`Bearer ${TOKEN}`); // longest first
    expect(scrubSecrets(`a Bearer ${TOKEN} b ${TOKEN} c ${PASSWORD}`, secrets)).toBe('a [REDACTED] b [REDACTED] c [REDACTED]');
  });
});
