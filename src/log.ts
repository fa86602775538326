// The pino logger, created once in the CLI and passed in. JSON lines on
// stdout, one line per event, with target/type/error fields.

import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { PinoPretty } from 'pino-pretty';
import type { LogLevel } from './config/types.js';

export type Logger = PinoLogger;

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where lines go (stdout by default); tests pass a stream to read them. */
  readonly destination?: DestinationStream;
  /** json (one object per line) or pretty (for people at a terminal). */
  readonly format?: LogFormat;
}

/** Human-readable lines on stdout, written synchronously like the JSON ones. */
function prettyStdout(): DestinationStream {
  return PinoPretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    destination: 1,
  });
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Defence in depth: nothing should log these, but if it does they are hidden.
      redact: { paths: ['password', '*.password', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
    },
    opts.destination ?? (opts.format === 'pretty' ? prettyStdout() : pino.destination({ fd: 1, sync: true })),
  );
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
