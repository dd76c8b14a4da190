/**
 * On SIGTERM/SIGINT in a process that is really going away (not a LiveKit job
 * process, whose SDK drains the job itself): end open spans and flush within
 * `boundMs`, say what was delivered and what was lost, then let the signal do
 * what it would have done (re-raised once our listener is gone), so a killed
 * agent still exports its session span and its owner learns about the rest.
 */
export function installSignalFlush(options: {
  shutdown: () => Promise<void>;
  /** One line per exporter: what reached it and what did not (printed before the process exits). */
  deliveryReport: () => string[];
  boundMs?: number;
  print?: (line: string) => void;
}): () => void {
  const bound = options.boundMs ?? 5_000;
  const print = options.print ?? ((line: string) => process.stderr.write(`${line}\n`));
  const listeners: Array<[NodeJS.Signals, () => void]> = [];
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    let handled = false;
    const reraise = (): void => {
      process.removeListener(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    const onSignal = (): void => {
      if (handled) return;
      handled = true;
      const finish = (timedOut: boolean): void => {
        clearTimeout(timer);
        try {
          if (timedOut) print(`voicetrace: ${signal}: shutdown did not finish within ${bound} ms; exiting anyway.`);
          for (const line of options.deliveryReport()) print(line);
        } catch {
          // reporting must not keep the process alive
        }
        reraise();
      };
      const timer = setTimeout(() => finish(true), bound);
      void options.shutdown().then(
        () => finish(false),
        () => finish(false),
      );
    };
    process.on(signal, onSignal);
    listeners.push([signal, onSignal]);
  }
  return () => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };
}
