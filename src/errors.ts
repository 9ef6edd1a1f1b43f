/**
 * The one error class for problems the user can fix: a bad file, a bad flag, an impossible setting.
 * The message names the thing (file and field) and what was expected; the CLI prints it as one line
 * and exits non-zero. Any other exception is a bug and may show a stack trace.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/**
 * A user error about one setting (`backend`, `preset`, `clipPercentile` ...), worded in the model's terms:
 * `setting value: problem`. The CLI names the flag instead (`--clip-percentile: ...`); the library never
 * names flags.
 */
export class SettingError extends UserError {
  constructor(
    readonly setting: string,
    readonly value: string | undefined,
    readonly problem: string,
  ) {
    super(`${setting}${value === undefined ? '' : ` ${value}`}: ${problem}`);
  }
}

/** Prefix a user error's message with where it came from (a file name), keeping the class. */
export function inFile(file: string, message: string): UserError {
  return new UserError(`${file}: ${message}`);
}
