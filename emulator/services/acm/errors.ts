/**
 * ACM's error codes (API reference, each action's Errors, and Common Errors). AWS JSON 1.1: the wire code is
 * the shape name, which the SDK throws as the modelled class.
 */
import { errorRaiser } from '../../types.js'
import { JSON_PROTOCOL_ERRORS } from '../../protocols/json-rpc.js'

export const ACM_ERRORS = {
  ...JSON_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDeniedException: 403,
  ExpiredTokenException: 400,
  UnrecognizedClientException: 400,
  InvalidArnException: 400,
  InvalidDomainValidationOptionsException: 400,
  InvalidParameterException: 400,
  InvalidTagException: 400,
  LimitExceededException: 400,
  ResourceInUseException: 400,
  ResourceNotFoundException: 400,
  TooManyTagsException: 400,
  ValidationException: 400,
  ThrottlingException: 400,
  InternalServerException: 500
} as const

export const acmError = errorRaiser(ACM_ERRORS)
