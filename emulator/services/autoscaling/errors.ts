/**
 * Auto Scaling's error codes (API reference, each action's Errors). The SDK throws the modelled ones
 * under their shape names (wire `AlreadyExists` as AlreadyExistsFault, `Code` keeping the wire code);
 * ValidationError and Throttling are not modelled and keep the code as `name`.
 */
import { errorRaiser } from '../../types.js'
import { QUERY_PROTOCOL_ERRORS } from '../../protocols/query.js'

export const AUTOSCALING_ERRORS = {
  ...QUERY_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDenied: 403,
  ExpiredToken: 400,
  InvalidClientTokenId: 403,
  ActiveInstanceRefreshNotFound: 400,
  AlreadyExists: 400,
  InstanceRefreshInProgress: 400,
  IrreversibleInstanceRefresh: 400,
  LimitExceeded: 400,
  ResourceInUse: 400,
  ScalingActivityInProgress: 400,
  ValidationError: 400,
  Throttling: 400,
  InternalFailure: 500
} as const

export const autoscalingError = errorRaiser(AUTOSCALING_ERRORS)
