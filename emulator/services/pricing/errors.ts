/**
 * The Price List Query API's error codes (API reference: the Errors of GetProducts, DescribeServices,
 * GetAttributeValues, and Common Errors), with the HTTP statuses its model gives them.
 */
import { errorRaiser } from '../../types.js'
import { JSON_PROTOCOL_ERRORS } from '../../protocols/json-rpc.js'

export const PRICING_ERRORS = {
  ...JSON_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDeniedException: 401,
  ExpiredTokenException: 400,
  UnrecognizedClientException: 400,
  /** A request signed for a region the Price List Query API is not offered in (see PRICING_REGIONS). */
  InvalidSignatureException: 400,
  InvalidParameterException: 400,
  NotFoundException: 400,
  ExpiredNextTokenException: 400,
  InvalidNextTokenException: 400,
  ThrottlingException: 429,
  InternalErrorException: 500
} as const

export const pricingError = errorRaiser(PRICING_ERRORS)
