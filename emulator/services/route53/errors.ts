/**
 * Route 53's error codes (API reference, each action's Errors). The SDK throws modelled codes under
 * the same name (InvalidChangeBatch, NoSuchHostedZone, PriorRequestNotComplete, ...); wire
 * `Throttling` is not modelled (the model's shape is ThrottlingException) and keeps its code as `name`.
 */
import { errorRaiser } from '../../types.js'

export const ROUTE53_ERRORS = {
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AccessDenied: 403,
  ExpiredToken: 403,
  InvalidClientTokenId: 403,
  ConflictingDomainExists: 400,
  HostedZoneAlreadyExists: 409,
  HostedZoneNotEmpty: 400,
  InvalidChangeBatch: 400,
  InvalidDomainName: 400,
  InvalidInput: 400,
  InvalidVPCId: 400,
  LastVPCAssociation: 400,
  LimitsExceeded: 400,
  NoSuchChange: 404,
  NoSuchHostedZone: 404,
  PriorRequestNotComplete: 400,
  PublicZoneVPCAssociation: 400,
  VPCAssociationNotFound: 404,
  UnknownOperationException: 400,
  Throttling: 400,
  InternalError: 500
} as const

export const route53Error = errorRaiser(ROUTE53_ERRORS)
