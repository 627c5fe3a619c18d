// The process logger: JSON lines on stderr (pino), one per event.
import { destination, pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { pid: process.pid } }, destination(2));
}
