/**
 * Lambda's error codes (API reference, each action's Errors). The SDK throws modelled codes under
 * the same name (ResourceConflictException, ...); ValidationException and UnknownOperationException
 * are not modelled and keep the code as `name`.
 */
import { errorRaiser } from '../../types.js'

export const LAMBDA_ERRORS = {
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDeniedException: 403,
  ExpiredTokenException: 403,
  UnrecognizedClientException: 403,
  InvalidParameterValueException: 400,
  InvalidRequestContentException: 400,
  PreconditionFailedException: 412,
  ResourceConflictException: 409,
  ResourceNotFoundException: 404,
  ResourceInUseException: 400,
  UnknownOperationException: 400,
  ValidationException: 400,
  TooManyRequestsException: 429,
  ServiceException: 500
} as const

export const lambdaError = errorRaiser(LAMBDA_ERRORS)
