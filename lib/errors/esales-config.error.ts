import { EsalesError } from './esales.error.js';
import { configErrorMessage } from './esales.messages.js';

/**
 * Thrown when module options (or the `ESALES_*` environment they came from) are invalid; lists every
 * problem at once so one restart is enough to fix them all.
 */
export class EsalesConfigError extends EsalesError {
  /** Every problem found, one sentence each, naming the option and the env variable it came from. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(configErrorMessage(problems));
    this.problems = Object.freeze([...problems]);
  }
}
