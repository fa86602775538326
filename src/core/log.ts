// The pino logger, created once in the CLI and passed in. JSON lines on
// stdout, one line per event, with target/type/error fields. The JSON lines
// go out asynchronously and in batches (stdoutJsonLines): a synchronous
// write per line was a syscall on the main thread for every event, at a
// thousand targets a measurable share of it. flushLogs before exiting.

import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { writeSync } from 'node:fs';
import { prettyFactory } from 'pino-pretty';
import type { LogLevel } from '../config/types.js';
import { redactUrlSecrets } from './redact.js';

export type Logger = PinoLogger;

/**
 * What the buffer may hold while stdout does not drain (a log reader that
 * stalls): past it lines are dropped rather than the process growing
 * without bound; a synchronous stdout would block the main thread instead.
 */
export const LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Stdout as an asynchronous pino destination (sonic-boom, minLength 0): a
 * line is handed to the libuv pool at once when no write is in flight, and
 * lines that come while one is gather into the next write. So a quiet
 * collector's line shows at once (to a person, a log shipper, a test
 * waiting for it), and a busy one makes one write for many lines without
 * a syscall on the main thread per line. (Holding lines for a few KB or
 * 100 ms delayed lines that tests and operators read right after the
 * event.) pino flushes it synchronously on process 'exit' (process.exit,
 * an uncaught exception); flushLogs drains it before that.
 */
function stdoutJsonLines(): DestinationStream {
  return pino.destination({ fd: 1, sync: false, minLength: 0, maxLength: LOG_BUFFER_MAX_BYTES });
}

/**
 * Writes out every line the logger holds (the asynchronous stdout
 * destination); resolves when they are written, or at once for a
 * synchronous destination. Bounded: a stdout that no longer drains (a
 * reader gone) does not hold the exit up for more than `timeoutMs`.
 */
export function flushLogs(logger: Logger, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    try {
      logger.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer); // a destination without flush, or one destroyed (EPIPE)
      resolve();
    }
  });
}

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

/**
 * Strings of a log object with URL secrets hidden (redactUrlSecrets): a
 * message built from an error (undici's, a backend's, a redirect's Location)
 * may hold a URL with a token in its query. Errors become plain objects here.
 */
function withoutUrlSecrets(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return redactUrlSecrets(v);
  if (v === null || typeof v !== 'object' || depth > 4) return v;
  if (v instanceof Error) return withoutUrlSecrets(pino.stdSerializers.err(v), depth + 1);
  if (Array.isArray(v)) return v.map((x) => withoutUrlSecrets(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = withoutUrlSecrets(x, depth + 1);
  return out;
}

export function createLogger(opts: LoggerOptions): Logger {
  const logger = pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // Every line, whatever built it: no URL secret in fields, bindings or the message.
        bindings: (b) => withoutUrlSecrets(b) as Record<string, unknown>,
        log: (o) => withoutUrlSecrets(o) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redactUrlSecrets(a) : a)) as Parameters<typeof method>);
        },
      },
      // Defence in depth: nothing should log these, but if it does they are hidden.
      redact: { paths: ['password', '*.password', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
      // Our `err` fields are plain {code, message} objects; only real Errors
      // get pino's serializer (which would add an empty stack to the others).
      serializers: { err: (e: unknown) => (e instanceof Error ? pino.stdSerializers.err(e) : e) },
    },
    opts.format === 'pretty' ? pretty(opts.destination ?? 1) : (opts.destination ?? stdoutJsonLines()),
  );
  // pino applies formatters.bindings to the root's bindings only; a child's
  // ({target: url}) go through here. Children inherit this from the root.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, withoutUrlSecrets(bindings) as typeof bindings, options);
  } as typeof logger.child;
  return logger;
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
