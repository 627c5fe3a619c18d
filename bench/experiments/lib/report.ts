// Output of the experiment scripts: progress lines, markdown tables, machine load and the JSON
// result file.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';

/** Prints one progress line prefixed with the seconds since the process started. */
export function progress(message: string): void {
  const seconds = (performance.now() / 1000).toFixed(1).padStart(6);
  console.log(`[${seconds}s] ${message}`);
}

/** Returns a markdown table with a header row. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Machine description and the one-minute load average, sampled every 15 s while running. */
export class LoadMonitor {
  private readonly samples: number[] = [loadavg()[0]!];
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.samples.push(loadavg()[0]!), 15_000);
    this.timer.unref();
  }

  /** Stops sampling and returns the machine and the load seen. */
  finish(): MachineReport {
    clearInterval(this.timer);
    this.samples.push(loadavg()[0]!);
    return {
      cpu: cpus()[0]?.model ?? 'unknown CPU',
      cores: availableParallelism(),
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverage: {
        min: Math.min(...this.samples),
        max: Math.max(...this.samples),
        mean: this.samples.reduce((sum, value) => sum + value, 0) / this.samples.length,
        samples: this.samples.length,
      },
    };
  }
}

export interface MachineReport {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  /** One-minute load average, sampled at start, every 15 s and at the end. */
  loadAverage: { min: number; max: number; mean: number; samples: number };
}

/** Writes `result` as indented JSON, creating the folder. */
export async function writeResult(file: string, result: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  progress(`wrote ${file}`);
}
