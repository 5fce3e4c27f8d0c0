import { EsalesConfigError } from '../../lib/errors/esales-config.error.js';

/** The `EsalesConfigError` that `fn` throws; fails the test when it throws nothing or another error. */
export const configError = (fn: () => unknown): EsalesConfigError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof EsalesConfigError) return error;
    throw error;
  }
  throw new Error('expected an EsalesConfigError');
};
