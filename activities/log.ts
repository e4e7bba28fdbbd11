// Structured logs: JSON lines on stderr (or readable lines on a TTY), each with
// the run, step and attempt it belongs to. A logger can also hand every record
// to a sink (see LogCapture: a step attempt's lines are saved in the store).
// Every record is redacted (activities/redact.ts) before it is written or sunk.
import { redact, redactValue } from './redact.js';
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  ts: string;
  level: Level;
  msg: string;
  [field: string]: unknown;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Receives every record at or above the level, after it is written; child loggers share it. */
  sink?: (record: LogRecord) => void;
}

export function createLogger(
  base: Record<string, unknown> = {},
  out: NodeJS.WriteStream = process.stderr,
  opts: LoggerOptions = {},
): Logger {
  const min = ORDER[(process.env.BPOFLOW_LOG_LEVEL as Level) ?? 'info'] ?? ORDER.info;
  const pretty = out.isTTY && process.env.BPOFLOW_LOG_FORMAT !== 'json';
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const context = redactValue({ ...base, ...fields });
    const record: LogRecord = { ts: new Date().toISOString(), level, msg: redact(msg), ...context };
    if (pretty) {
      const ctx = Object.entries(context)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      out.write(`${record.ts.slice(11, 19)} ${level.toUpperCase().padEnd(5)} ${record.msg}${ctx ? '  ' + ctx : ''}\n`);
    } else {
      out.write(JSON.stringify(record) + '\n');
    }
    opts.sink?.(record);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, out, opts),
  };
}

/** Where a step attempt's log lines go, under `runs/<run>/<step>/`: `logs/attempt-<n>[.shard-<i>|.merge].jsonl`. */
export function attemptLogName(attempt: number, shard?: number, merge = false): string {
  return `logs/attempt-${attempt}${shard === undefined ? '' : `.shard-${shard}`}${merge ? '.merge' : ''}.jsonl`;
}

/**
 * Collects a step attempt's log records in memory and writes them, as one JSONL
 * object, with `save` (S3 has no append: each save rewrites the whole file).
 * `start` saves every `everyMs` while the attempt runs, so a hung attempt's logs
 * can be read; `close` saves the rest. A failed save never fails the step.
 */
export class LogCapture {
  private lines: string[] = [];
  private saved = 0;
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly save: (jsonl: string) => Promise<unknown>,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  readonly sink = (record: LogRecord): void => {
    this.lines.push(JSON.stringify(record));
  };

  start(everyMs = 10_000): void {
    this.timer = setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
  }

  flush(): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.lines.length === this.saved) return;
      const count = this.lines.length;
      try {
        await this.save(this.lines.slice(0, count).join('\n') + '\n');
        this.saved = count;
      } catch (err) {
        this.onError(err);
      }
    });
    return this.chain;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
