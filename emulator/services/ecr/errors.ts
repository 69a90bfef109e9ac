/**
 * ECR's error codes (API reference: each action's Errors, and Common Errors). The repository,
 * image and lifecycle policy ones are modelled under the same names; AccessDeniedException and ThrottlingException are not.
 */
import { errorRaiser } from '../../types.js'
import { JSON_PROTOCOL_ERRORS } from '../../protocols/json-rpc.js'

export const ECR_ERRORS = {
  ...JSON_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  UnrecognizedClientException: 400,
  RepositoryNotFoundException: 400,
  RepositoryAlreadyExistsException: 400,
  RepositoryNotEmptyException: 400,
  ImageAlreadyExistsException: 400,
  ImageTagAlreadyExistsException: 400,
  ImageDigestDoesNotMatchException: 400,
  ImageNotFoundException: 400,
  LifecyclePolicyNotFoundException: 400,
  InvalidParameterException: 400,
  InvalidTagParameterException: 400,
  TooManyTagsException: 400,
  LimitExceededException: 400,
  ValidationException: 400,
  ThrottlingException: 400,
  ServerException: 500
} as const

export const ecrError = errorRaiser(ECR_ERRORS)
