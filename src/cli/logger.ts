/** One structured log line: JSON, one per line. Callers pass no token and no secret. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A JSON-lines logger. */
export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/**
 * Writes JSON lines to a stream (stdout by default).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6819#section-5.1.4
 */
export function createLogger(
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const log = (level: string, msg: string, fields?: LogFields) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  return {
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
  };
}
