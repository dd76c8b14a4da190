import { OtlpConfigError, parseHttpUrl } from '@voicetrace/exporters';
import { LangfuseConfigError } from '@voicetrace/langfuse';
import { signalWanted } from './metrics.js';

/**
 * Telemetry configuration never takes calls down (the OTel SDK's rule, and langfuse-js's): a
 * destination whose settings cannot work (an endpoint without a scheme, LangFuse half set) is named
 * once, loudly, and turned off; the agent and the other destinations keep running. `strict: true`
 * (or `VOICETRACE_STRICT_CONFIG=true`, for CI) throws the typed error at setup instead.
 */

/** A setting that cannot work: an OTLP endpoint ({@link OtlpConfigError}) or LangFuse's ({@link LangfuseConfigError}). */
export type TelemetryConfigError = OtlpConfigError | LangfuseConfigError;

export function isTelemetryConfigError(error: unknown): error is TelemetryConfigError {
  return error instanceof OtlpConfigError || error instanceof LangfuseConfigError;
}

/** Turns off what cannot work, and says so once per setting at {@link ConfigGuard.flush} (or throws, strict). */
export interface ConfigGuard {
  readonly strict: boolean;
  /** `error` turns off `turnedOff` (e.g. `OTLP traces`): thrown at once when strict, else kept for {@link flush}. */
  reject(error: TelemetryConfigError, turnedOff: string): void;
  /** One line per setting at fault: the variable, its value (credentials masked), what was turned off. */
  flush(): void;
}

/** The strict switch: the option, else `VOICETRACE_STRICT_CONFIG` (true/1/yes/on), else off. */
export function strictConfig(option: boolean | undefined, env: NodeJS.ProcessEnv, warn: (key: string, message: string) => void): boolean {
  if (option !== undefined) return option;
  const value = env.VOICETRACE_STRICT_CONFIG?.trim().toLowerCase();
  if (!value) return false;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (!['0', 'false', 'no', 'off'].includes(value)) warn('config:strict', `voicetrace: VOICETRACE_STRICT_CONFIG=${env.VOICETRACE_STRICT_CONFIG} is not true or false; configuration errors turn their destination off (not strict).`);
  return false;
}

export function createConfigGuard(strict: boolean, warn: (key: string, message: string) => void): ConfigGuard {
  // one line per message: traces, metrics and logs all fail on a bad OTEL_EXPORTER_OTLP_ENDPOINT
  const pending = new Map<string, { setting: string; turnedOff: string[] }>();
  return {
    strict,
    reject(error, turnedOff) {
      if (strict) throw error;
      const entry = pending.get(error.message) ?? { setting: settingOf(error), turnedOff: [] };
      if (!entry.turnedOff.includes(turnedOff)) entry.turnedOff.push(turnedOff);
      pending.set(error.message, entry);
    },
    flush() {
      for (const [message, { setting, turnedOff }] of pending) {
        warn(
          `config:${setting}`,
          `${message.replace(/\.?\s*$/, '.')} Turned off: ${turnedOff.join(', ')}. The agent and its other destinations keep running ` +
            '(strict: true or VOICETRACE_STRICT_CONFIG=true makes this a startup error).',
        );
      }
      pending.clear();
    },
  };
}

function settingOf(error: TelemetryConfigError): string {
  return error instanceof OtlpConfigError ? error.setting : [...error.missing, ...error.invalid].join(',') || 'langfuse';
}

/** The `metrics`/`logs` option as far as the endpoint goes. */
interface SignalOption {
  endpoint?: string | undefined;
  exporter?: unknown;
  readers?: readonly unknown[] | undefined;
}

/**
 * The error of the setting a signal's OTLP URL comes from, when that signal is exported over OTLP
 * and the setting is not an http(s) URL; `undefined` otherwise. The order is `createMetrics`' and
 * `createLogs`' (`resolveSignalEndpoint`): the option, `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, the `otlp` option's endpoint.
 */
export function signalEndpointError(
  signal: 'metrics' | 'logs',
  option: boolean | SignalOption | undefined,
  otlp: boolean | { endpoint?: string | undefined } | undefined,
  env: NodeJS.ProcessEnv,
): OtlpConfigError | undefined {
  if (!signalWanted(signal, option, otlp, env)) return undefined;
  const options = typeof option === 'object' ? option : {};
  if (options.exporter) return undefined;
  if (signal === 'metrics' && options.readers?.length && options.endpoint === undefined) return undefined;
  const read = (name: string): string | undefined => env[name]?.trim() || undefined;
  const upper = signal.toUpperCase();
  const [setting, value] = options.endpoint?.trim()
    ? [`the ${signal}.endpoint option`, options.endpoint.trim()]
    : read(`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`)
      ? [`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`, read(`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`)!]
      : read('OTEL_EXPORTER_OTLP_ENDPOINT')
        ? ['OTEL_EXPORTER_OTLP_ENDPOINT', read('OTEL_EXPORTER_OTLP_ENDPOINT')!]
        : typeof otlp === 'object' && otlp.endpoint?.trim()
          ? ['the endpoint option', otlp.endpoint.trim()]
          : [undefined, undefined];
  if (setting === undefined) return undefined;
  try {
    parseHttpUrl(value, setting);
    return undefined;
  } catch (error) {
    return error instanceof OtlpConfigError ? error : undefined;
  }
}
