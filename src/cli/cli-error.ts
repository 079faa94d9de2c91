/**
 * A failure the CLI reports as one line and an exit status, never a stack trace.
 *
 * @see https://nodejs.org/api/process.html#exit-codes
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
    /** Help printed after the message, as it is: it holds nothing to redact. */
    readonly usage?: string,
  ) {
    super(message);
  }
}
