import { EsalesError, type EsalesErrorContext } from './esales.error.js';
import { validationErrorMessage } from './esales.messages.js';

/** One field that failed validation, with every rule it broke. Never carries the field's value. */
export interface EsalesValidationProblem {
  /** Name of the offending field (`productKey`, `token`, …). */
  readonly field: string;
  /** What is wrong with it, one sentence per broken rule. */
  readonly messages: readonly string[];
}

/**
 * Rejected before any network I/O when a notification does not match its DTO, so a malformed
 * notification never reaches Elevate.
 */
export class EsalesValidationError extends EsalesError {
  /** Every field that failed, with its messages. */
  readonly problems: readonly EsalesValidationProblem[];

  constructor(
    subject: string,
    problems: readonly EsalesValidationProblem[],
    context: EsalesErrorContext = {},
  ) {
    super(
      validationErrorMessage(
        subject,
        problems.map((p) => `${p.field}: ${p.messages.join(', ')}`),
      ),
      context,
    );
    this.problems = Object.freeze([...problems]);
  }

  /** Names of the fields that failed. */
  get fields(): string[] {
    return this.problems.map((p) => p.field);
  }
}
