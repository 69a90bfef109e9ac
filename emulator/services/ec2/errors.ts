/**
 * EC2's error codes (API reference, "Error codes for the Amazon EC2 API"). EC2 models none of
 * them, so the SDK throws them as EC2ServiceException with the code as `name`. Client errors are
 * 400, throttling 503, server errors 500.
 */
import { errorRaiser } from '../../types.js'
import { EC2_DRY_RUN_ERRORS, QUERY_PROTOCOL_ERRORS } from '../../protocols/query.js'

export const EC2_ERRORS = {
  ...QUERY_PROTOCOL_ERRORS,
  ...EC2_DRY_RUN_ERRORS,
  // authentication and authorization (core/auth.ts): a role session's token, its identity policies
  AuthFailure: 401,
  UnauthorizedOperation: 403,
  CannotDelete: 400,
  DependencyViolation: 400,
  InsufficientFreeAddressesInSubnet: 400,
  InsufficientInstanceCapacity: 500,
  'InvalidAMIID.NotFound': 400,
  'InvalidGroup.Duplicate': 400,
  'InvalidGroup.NotFound': 400,
  IdempotentParameterMismatch: 400,
  IncorrectInstanceState: 400,
  IncorrectState: 400,
  'InvalidAttachment.NotFound': 400,
  InvalidID: 400,
  'InvalidInstanceID.Malformed': 400,
  'InvalidInstanceID.NotFound': 400,
  InvalidInstanceType: 400,
  'InvalidLaunchTemplateId.NotFound': 400,
  'InvalidLaunchTemplateId.VersionNotFound': 400,
  'InvalidLaunchTemplateName.AlreadyExistsException': 400,
  'InvalidLaunchTemplateName.MalformedException': 400,
  'InvalidLaunchTemplateName.NotFoundException': 400,
  InvalidParameterCombination: 400,
  InvalidParameterDependency: 400,
  InvalidParameterValue: 400,
  'InvalidPermission.Duplicate': 400,
  'InvalidPermission.NotFound': 400,
  'InvalidSnapshot.NotFound': 400,
  'InvalidSnapshotID.Malformed': 400,
  'InvalidSubnetID.NotFound': 400,
  'InvalidRouteTableID.NotFound': 400,
  'InvalidInternetGatewayID.NotFound': 400,
  'Resource.AlreadyAssociated': 400,
  RouteAlreadyExists: 400,
  'InvalidSubnet.Conflict': 400,
  'InvalidSubnet.Range': 400,
  'InvalidUserData.Malformed': 400,
  'InvalidVolume.NotFound': 400,
  'InvalidVolume.ZoneMismatch': 400,
  'InvalidVolumeID.Malformed': 400,
  'InvalidVpcID.NotFound': 400,
  MissingParameter: 400,
  VolumeInUse: 400,
  VPCIdNotSpecified: 400,
  RequestLimitExceeded: 503,
  InternalError: 500
} as const

export const ec2Error = errorRaiser(EC2_ERRORS)
