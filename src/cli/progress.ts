// Progress display of long CLI commands: a redrawn bar on a terminal, plain lines otherwise (a
// line when the message changes, at most one every `minIntervalMs`, and always the last one).

export interface ProgressSink {
  update(fraction: number, message: string): void;
  /** Ends the display with a final line. */
  done(message: string): void;
}

const BAR_WIDTH = 30;

export function createProgress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  minIntervalMs = 2000,
): ProgressSink {
  return stream.isTTY
    ? new TerminalBar(label, stream)
    : new PlainLines(label, stream, minIntervalMs);
}

class TerminalBar implements ProgressSink {
  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream,
  ) {}

  update(fraction: number, message: string): void {
    const clamped = Math.min(1, Math.max(0, fraction));
    const filled = Math.round(clamped * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
    const percent = `${(clamped * 100).toFixed(0).padStart(3)}%`;
    const line = `${this.label} [${bar}] ${percent} ${message}`;
    const width = this.stream.columns ?? 100;
    this.stream.write(`\r${line.slice(0, width - 1).padEnd(width - 1)}`);
  }

  done(message: string): void {
    this.stream.write(`\r${' '.repeat((this.stream.columns ?? 100) - 1)}\r`);
    this.stream.write(`${this.label}: ${message}\n`);
  }
}

class PlainLines implements ProgressSink {
  private lastMessage = '';
  private lastAt = 0;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream,
    private readonly minIntervalMs: number,
  ) {}

  update(fraction: number, message: string): void {
    const now = Date.now();
    if (message === this.lastMessage || now - this.lastAt < this.minIntervalMs) return;
    this.lastMessage = message;
    this.lastAt = now;
    const percent = (Math.min(1, Math.max(0, fraction)) * 100).toFixed(0);
    this.stream.write(`${this.label} ${percent}% ${message}\n`);
  }

  done(message: string): void {
    this.stream.write(`${this.label}: ${message}\n`);
  }
}
