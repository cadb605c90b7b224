// Structured one-line JSON logs on stderr, so any log shipper can read them and stdout
// stays free for what a command prints for people.

type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(service: string, minLevel = process.env.LOG_LEVEL ?? 'info'): Logger {
  const threshold = ORDER[minLevel as Level] ?? ORDER.info;
  const write = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < threshold) return;
    const line = { t: new Date().toISOString(), level, service, msg, ...fields };
    process.stderr.write(JSON.stringify(line, errorReplacer) + '\n');
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
