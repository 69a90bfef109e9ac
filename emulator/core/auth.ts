/**
 * Authentication and authorization at the door. A request signed with credentials the emulator
 * issued (a role session from STS or a Lambda function's execution role) must carry the session's
 * token, and is evaluated against the role's identity-based policies (emulator/iam-policy); a
 * denied request answers with the service's own access-denied error. Credentials the emulator did
 * not issue are allowed everything, as before. Signatures are not verified.
 */
import { AwsError } from '../types.js'
import type { EmulatorRequest, ServiceModule } from '../types.js'
import type { Cloud } from '../types.js'
import { checksFor } from '../iam-policy/actions.js'
import { authorizeSession, type Denial } from '../iam-policy/authorize.js'
import { PolicyError } from '../iam-policy/evaluate.js'
import { encodeAuthorizationMessage } from '../iam-policy/messages.js'
import { requestView } from '../iam-policy/request.js'
import { findSession, sessionRole, type RoleSession } from '../iam-policy/sessions.js'

interface AuthCodes {
  /** A request the policies do not allow. */
  denied: string
  /** A session access key with a missing or wrong session token. */
  invalidToken: string
  /** A session past its expiry. */
  expired: string
}

/** Each service's codes, as its API reference's common errors give them. */
export const AUTH_CODES: Record<string, AuthCodes> = {
  ec2: { denied: 'UnauthorizedOperation', invalidToken: 'AuthFailure', expired: 'AuthFailure' },
  autoscaling: { denied: 'AccessDenied', invalidToken: 'InvalidClientTokenId', expired: 'ExpiredToken' },
  iam: { denied: 'AccessDenied', invalidToken: 'InvalidClientTokenId', expired: 'ExpiredToken' },
  sts: { denied: 'AccessDenied', invalidToken: 'InvalidClientTokenId', expired: 'ExpiredTokenException' },
  route53: { denied: 'AccessDenied', invalidToken: 'InvalidClientTokenId', expired: 'ExpiredToken' },
  elasticloadbalancing: { denied: 'AccessDenied', invalidToken: 'InvalidClientTokenId', expired: 'ExpiredToken' },
  lambda: {
    denied: 'AccessDeniedException',
    invalidToken: 'UnrecognizedClientException',
    expired: 'ExpiredTokenException'
  },
  events: {
    denied: 'AccessDeniedException',
    invalidToken: 'UnrecognizedClientException',
    expired: 'ExpiredTokenException'
  },
  logs: {
    denied: 'AccessDeniedException',
    invalidToken: 'UnrecognizedClientException',
    expired: 'ExpiredTokenException'
  },
  ssm: {
    denied: 'AccessDeniedException',
    invalidToken: 'UnrecognizedClientException',
    expired: 'ExpiredTokenException'
  }
}

const JSON_CODES: AuthCodes = {
  denied: 'AccessDeniedException',
  invalidToken: 'UnrecognizedClientException',
  expired: 'ExpiredTokenException'
}

export interface AuthOutcome {
  error?: AwsError
}

/** What the call log records as the caller: a Lambda session's `lambda-<function>`, else the access key id. */
export function callerLabel(cloud: Cloud, accessKeyId: string | undefined): string | undefined {
  return (accessKeyId ? findSession(cloud, accessKeyId)?.label : undefined) ?? accessKeyId
}

function moduleError(module: ServiceModule, code: string, message: string): AwsError {
  return new AwsError(code, message, module.errors[code] ?? 403)
}

function sessionToken(req: EmulatorRequest): string | undefined {
  return req.headers['x-amz-security-token'] ?? req.query.get('X-Amz-Security-Token') ?? undefined
}

/** AWS's message: `User: <arn> is not authorized to perform: <action> [on resource: <arn>] because ...`. */
export function denialMessage(session: RoleSession, denial: Denial): string {
  const { action, resource } = denial.check
  const on = resource === '*' ? '' : ` on resource: ${resource}`
  const why =
    denial.decision === 'explicit-deny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${action} action`
  return `User: ${session.arn} is not authorized to perform: ${action}${on} ${why}`
}

function denied(cloud: Cloud, module: ServiceModule, session: RoleSession, denial: Denial): AwsError {
  const codes = AUTH_CODES[module.signingName] ?? JSON_CODES
  const message = denial.check.message ?? denialMessage(session, denial)
  if (codes.denied === 'UnauthorizedOperation') {
    const encoded = encodeAuthorizationMessage(cloud, session, denial)
    return moduleError(
      module,
      codes.denied,
      `You are not authorized to perform this operation. ${message}. Encoded authorization failure message: ${encoded}`
    )
  }
  return moduleError(module, codes.denied, message)
}

/** Authenticates and authorizes one request; an outcome without error lets it through. */
export function authorize(
  where: { cloud: Cloud; modules: ReadonlyMap<string, ServiceModule> },
  module: ServiceModule,
  req: EmulatorRequest,
  call: { operation: string; accessKeyId: string | undefined }
): AuthOutcome {
  const { cloud, modules } = where
  const { operation, accessKeyId } = call
  const session = accessKeyId ? findSession(cloud, accessKeyId) : undefined
  if (!session) return {}
  const codes = AUTH_CODES[req.service] ?? JSON_CODES
  if (sessionToken(req) !== session.sessionToken) {
    const message =
      req.service === 'ec2'
        ? 'AWS was not able to validate the provided access credentials'
        : 'The security token included in the request is invalid.'
    return { error: moduleError(module, codes.invalidToken, message) }
  }
  if (Date.now() > session.expiresAt) {
    return { error: moduleError(module, codes.expired, 'The security token included in the request is expired') }
  }
  const view = requestView(req, operation, cloud.accountId, modules)
  try {
    const denial = authorizeSession(
      cloud,
      { session, role: sessionRole(cloud, session), region: req.region },
      checksFor(view)
    )
    return denial ? { error: denied(cloud, module, session, denial) } : {}
  } catch (err) {
    // a policy the evaluator cannot decide (an operator it does not know) fails the call loudly
    if (!(err instanceof PolicyError)) throw err
    console.error(`emulator: cannot evaluate ${session.roleArn}'s policies: ${err.message}`)
    return { error: moduleError(module, module.serverErrorCode, `emulator: ${err.message}`) }
  }
}
