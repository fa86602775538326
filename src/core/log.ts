// The pino logger, created once in the CLI and passed in. JSON lines on
// stdout, one line per event, with target/type/error fields.

import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { writeSync } from 'node:fs';
import { prettyFactory } from 'pino-pretty';
import type { LogLevel } from '../config/types.js';

export type Logger = PinoLogger;

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where lines go (stdout by default); tests pass a stream to read them. */
  readonly destination?: DestinationStream;
  /** json (one object per line) or pretty (for people at a terminal). */
  readonly format?: LogFormat;
}

/**
 * Human-readable lines, written synchronously like the JSON ones, to a file
 * descriptor (stdout) or to any {write} destination (--once writes to stderr).
 */
function pretty(destination: number | DestinationStream): DestinationStream {
  const prettify = prettyFactory({
    colorize: destination === 1 && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    // Our err fields are {code, message}: one line, not an error block.
    errorLikeObjectKeys: [],
  });
  const out = (s: string) => (typeof destination === 'number' ? writeSync(destination, s) : destination.write(s));
  return {
    write(line: string) {
      try {
        out(prettify(line));
      } catch {
        out(line); // never lose a line to formatting
      }
    },
  };
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
      // Our `err` fields are plain {code, message} objects; only real Errors
      // get pino's serializer (which would add an empty stack to the others).
      serializers: { err: (e: unknown) => (e instanceof Error ? pino.stdSerializers.err(e) : e) },
    },
    opts.format === 'pretty' ? pretty(opts.destination ?? 1) : (opts.destination ?? pino.destination({ fd: 1, sync: true })),
  );
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
