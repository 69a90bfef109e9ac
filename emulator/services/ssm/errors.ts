/**
 * SSM's error codes (API reference: the Errors of GetParameter(s), GetParametersByPath,
 * PutParameter, DescribeParameters, DeleteParameter(s), the tagging actions, and Common Errors).
 * The Parameter Store ones are modelled under the same names; ValidationException and
 * ThrottlingException are not.
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
  ParameterVersionNotFound: 400,
  ParameterAlreadyExists: 400,
  ParameterLimitExceeded: 400,
  ParameterMaxVersionLimitExceeded: 400,
  ParameterPatternMismatchException: 400,
  HierarchyLevelLimitExceededException: 400,
  HierarchyTypeMismatchException: 400,
  InvalidAllowedPatternException: 400,
  InvalidKeyId: 400,
  UnsupportedParameterType: 400,
  InvalidFilterKey: 400,
  InvalidFilterOption: 400,
  InvalidFilterValue: 400,
  InvalidNextToken: 400,
  InvalidResourceId: 400,
  InvalidResourceType: 400,
  TooManyTagsError: 400,
  TooManyUpdates: 400,
  ValidationException: 400,
  ThrottlingException: 400,
  InternalServerError: 500
} as const

export const ssmError = errorRaiser(SSM_ERRORS)
