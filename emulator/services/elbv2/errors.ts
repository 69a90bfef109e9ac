/**
 * Elastic Load Balancing v2's error codes (API reference, each action's Errors; the wire codes are the
 * model's awsQueryError codes: `PriorityInUse` arrives as PriorityInUseException with `Code: 'PriorityInUse'`).
 * ValidationError and ThrottlingException (the API guide's throttling code) are not modelled and keep
 * the code as `name`.
 */
import { errorRaiser } from '../../types.js'
import { QUERY_PROTOCOL_ERRORS } from '../../protocols/query.js'

export const ELBV2_ERRORS = {
  ...QUERY_PROTOCOL_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDenied: 403,
  ExpiredToken: 400,
  InvalidClientTokenId: 403,
  CertificateNotFound: 400,
  DuplicateListener: 400,
  DuplicateLoadBalancerName: 400,
  DuplicateTagKeys: 400,
  DuplicateTargetGroupName: 400,
  IncompatibleProtocols: 400,
  InvalidConfigurationRequest: 400,
  InvalidLoadBalancerAction: 400,
  InvalidScheme: 400,
  InvalidSecurityGroup: 400,
  InvalidSubnet: 400,
  InvalidTarget: 400,
  ListenerNotFound: 400,
  LoadBalancerNotFound: 400,
  OperationNotPermitted: 400,
  PriorityInUse: 400,
  ResourceInUse: 400,
  RuleNotFound: 400,
  SSLPolicyNotFound: 400,
  SubnetNotFound: 400,
  TargetGroupAssociationLimit: 400,
  TargetGroupNotFound: 400,
  TooManyCertificates: 400,
  TooManyListeners: 400,
  TooManyRules: 400,
  TooManyTags: 400,
  TooManyTargets: 400,
  UnsupportedProtocol: 400,
  ValidationError: 400,
  ThrottlingException: 400,
  InternalFailure: 500
} as const

export const elbError = errorRaiser(ELBV2_ERRORS)
