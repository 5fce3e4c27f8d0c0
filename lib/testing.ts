/** `nestjs-esales/testing`: a local stand-in for an Elevate cluster, for tests and demos. */
export { ElevateStandIn } from './testing/elevate-stand-in.js';
export type {
  StandInKind,
  ElevateStandInOptions,
  StandInAnswer,
  StandInRequest,
  StandInResponder,
} from './testing/elevate-stand-in.js';
