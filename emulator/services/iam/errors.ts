/**
 * IAM's error codes (API reference, each action's Errors). The SDK throws the modelled ones with an
 * Exception suffix (wire `NoSuchEntity` as NoSuchEntityException); ValidationError and Throttling
 * are not modelled and keep the code as `name`.
 */
import { errorRaiser } from '../../types.js'
import { QUERY_PROTOCOL_ERRORS } from '../../protocols/query.js'

export const IAM_ERRORS = {
  ...QUERY_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDenied: 403,
  ExpiredToken: 400,
  InvalidClientTokenId: 403,
  DeleteConflict: 409,
  EntityAlreadyExists: 409,
  InvalidInput: 400,
  LimitExceeded: 409,
  MalformedPolicyDocument: 400,
  NoSuchEntity: 404,
  ValidationError: 400,
  Throttling: 400,
  ServiceFailure: 500
} as const

export const iamError = errorRaiser(IAM_ERRORS)
