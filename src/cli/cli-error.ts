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
  ) {
    super(message);
  }
}
