/**
 * CloudWatch Logs' error codes (API reference, each action's Errors). The SDK throws them under the
 * same name (ResourceNotFoundException, ...); ThrottlingException is not modelled.
 */
import { errorRaiser } from '../../types.js'
import { JSON_PROTOCOL_ERRORS } from '../../protocols/json-rpc.js'

export const LOGS_ERRORS = {
  ...JSON_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  UnrecognizedClientException: 400,
  InvalidParameterException: 400,
  ResourceAlreadyExistsException: 400,
  ResourceNotFoundException: 400,
  ThrottlingException: 400,
  ServiceUnavailableException: 500
} as const

export const logsError = errorRaiser(LOGS_ERRORS)
