/**
 * Secrets Manager's error codes (API reference: each action's Errors, and Common Errors). All but
 * AccessDeniedException and the authentication and throttling codes are modelled under the same names.
 */
import { errorRaiser } from '../../types.js'
import { JSON_PROTOCOL_ERRORS } from '../../protocols/json-rpc.js'

export const SECRETSMANAGER_ERRORS = {
  ...JSON_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  UnrecognizedClientException: 400,
  ResourceNotFoundException: 400,
  ResourceExistsException: 400,
  InvalidRequestException: 400,
  InvalidParameterException: 400,
  InvalidNextTokenException: 400,
  LimitExceededException: 400,
  DecryptionFailure: 400,
  EncryptionFailure: 400,
  ValidationException: 400,
  ThrottlingException: 400,
  InternalServiceError: 500
} as const

export const secretsManagerError = errorRaiser(SECRETSMANAGER_ERRORS)
