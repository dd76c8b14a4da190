/** Where the CLI writes: process.stdout/stderr, or anything with write() (tests). */
export interface CliStream {
  write(chunk: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

/**
 * A one-line progress bar on a terminal (`[#######.....] 4,512/10,000 files  2 bad`), redrawn
 * at most every 100 ms. Silent when the stream is not a TTY (CI logs, pipes, tests).
 */
export class ProgressBar {
  private last = 0;
  private shown = false;
  readonly enabled: boolean;

  constructor(
    private readonly stream: CliStream,
    private readonly label: string,
  ) {
    this.enabled = stream.isTTY === true;
  }

  update(done: number, total: number, bad: number): void {
    if (!this.enabled || total < 2) return;
    const now = Date.now();
    if (done < total && now - this.last < 100) return;
    this.last = now;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 50));
    const filled = Math.round((done / total) * width);
    const text = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} files${bad ? `  ${bad} bad` : ''}`;
    this.stream.write(`\r\x1b[K${text}`);
    this.shown = true;
  }

  /** Clears the line (the summary follows on stdout). */
  end(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
