/**
 * SSM's error codes (API reference, GetParameter's Errors and Common Errors). ParameterNotFound is
 * modelled under the same name; ValidationException and ThrottlingException are not.
 */
import { errorRaiser } from '../../types.js'
import { JSON_PROTOCOL_ERRORS } from '../../protocols/json-rpc.js'

export const SSM_ERRORS = {
  ...JSON_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  UnrecognizedClientException: 400,
  ParameterNotFound: 400,
  ValidationException: 400,
  ThrottlingException: 400,
  InternalServerError: 500
} as const

export const ssmError = errorRaiser(SSM_ERRORS)
