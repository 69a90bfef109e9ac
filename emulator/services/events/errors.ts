/**
 * EventBridge's error codes (API reference, each action's Errors and Common Errors). The SDK throws
 * modelled codes under the same name (ResourceNotFoundException); ValidationException and
 * ThrottlingException are not modelled and keep the code as `name`.
 */
import { errorRaiser } from '../../types.js'
import { JSON_PROTOCOL_ERRORS } from '../../protocols/json-rpc.js'

export const EVENTS_ERRORS = {
  ...JSON_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  UnrecognizedClientException: 400,
  InvalidEventPatternException: 400,
  ResourceNotFoundException: 400,
  ValidationException: 400,
  ThrottlingException: 400,
  InternalException: 500
} as const

export const eventsError = errorRaiser(EVENTS_ERRORS)
