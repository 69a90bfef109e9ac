/**
 * STS's error codes (API reference: each action's Errors and the Common Errors). The SDK models
 * some of them (wire `InvalidIdentityToken` arrives as InvalidIdentityTokenException); AccessDenied,
 * InvalidClientTokenId and ValidationError are not modelled and keep the code as `name`.
 */
import { errorRaiser } from '../../types.js'
import { QUERY_PROTOCOL_ERRORS } from '../../protocols/query.js'

export const STS_ERRORS = {
  ...QUERY_PROTOCOL_ERRORS,
  AccessDenied: 403,
  InvalidClientTokenId: 403,
  ExpiredTokenException: 400,
  InvalidIdentityToken: 400,
  InvalidAuthorizationMessageException: 400,
  ValidationError: 400,
  Throttling: 400,
  InternalFailure: 500
} as const

export const stsError = errorRaiser(STS_ERRORS)
