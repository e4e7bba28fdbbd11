// Structured logs: JSON lines on stderr (or readable lines on a TTY), each with
// the run, step and attempt it belongs to.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(base: Record<string, unknown> = {}, out: NodeJS.WriteStream = process.stderr): Logger {
  const min = ORDER[(process.env.BPOFLOW_LOG_LEVEL as Level) ?? 'info'] ?? ORDER.info;
  const pretty = out.isTTY && process.env.BPOFLOW_LOG_FORMAT !== 'json';
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const record = { ts: new Date().toISOString(), level, msg, ...base, ...fields };
    if (pretty) {
      const ctx = Object.entries({ ...base, ...fields })
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      out.write(`${record.ts.slice(11, 19)} ${level.toUpperCase().padEnd(5)} ${msg}${ctx ? '  ' + ctx : ''}\n`);
    } else {
      out.write(JSON.stringify(record) + '\n');
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, out),
  };
}
