/**
 * STS: GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity, DecodeAuthorizationMessage.
 * Sessions live in emulator/iam-policy/sessions.ts; STS itself keeps no state.
 */
import type {
  AssumeRoleRequest,
  AssumeRoleResponse,
  AssumeRoleWithWebIdentityRequest,
  AssumeRoleWithWebIdentityResponse,
  DecodeAuthorizationMessageRequest,
  DecodeAuthorizationMessageResponse,
  GetCallerIdentityResponse
} from '@aws-sdk/client-sts'
import type { Cloud, RoleRecord } from '../../types.js'
import type { QueryContext, QueryHandler } from '../../protocols/query.js'
import { trustAllows } from '../../iam-policy/authorize.js'
import { decodeAuthorizationMessage } from '../../iam-policy/messages.js'
import { policyStore } from '../../iam-policy/store.js'
import { findSession, issueSession, partitionOf, sessionRole, type RoleSession } from '../../iam-policy/sessions.js'
import { stsError } from './errors.js'

/** What GetCallerIdentity answers for credentials the emulator did not issue. */
export const DEFAULT_CALLER = (account: string): string => `arn:aws:iam::${account}:user/emulator`

function accessKeyOf(ctx: QueryContext): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(ctx.req.headers.authorization ?? '')?.[1]
}

function callerSession(cloud: Cloud, ctx: QueryContext): RoleSession | undefined {
  const key = accessKeyOf(ctx)
  return key ? findSession(cloud, key) : undefined
}

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/

function checkSessionName(name: string | undefined): string {
  if (!name || !SESSION_NAME.test(name)) {
    throw stsError(
      'ValidationError',
      `1 validation error detected: Value '${name ?? 'null'}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`
    )
  }
  return name
}

function checkDuration(seconds: number | undefined): number {
  const d = seconds ?? 3600
  if (d < 900 || d > 43200)
    throw stsError(
      'ValidationError',
      `1 validation error detected: Value '${d}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`
    )
  // a role's MaxSessionDuration is 3600 unless changed (the emulator does not change it)
  if (d > 3600)
    throw stsError('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.')
  return d
}

function roleByArn(cloud: Cloud, arn: string | undefined): RoleRecord | undefined {
  return [...cloud.shared.roles.values()].find((r) => r.arn === arn)
}

function credentials(session: RoleSession): AssumeRoleResponse['Credentials'] {
  return {
    AccessKeyId: session.accessKeyId,
    SecretAccessKey: session.secretAccessKey,
    SessionToken: session.sessionToken,
    Expiration: new Date(session.expiresAt)
  }
}

function assumedRoleUser(session: RoleSession): AssumeRoleResponse['AssumedRoleUser'] {
  return { AssumedRoleId: session.userId, Arn: session.arn }
}

/** The claims of a JWT, unverified: the emulator does not check the token's signature. */
function jwtClaims(token: string | undefined): Record<string, unknown> {
  const parts = (token ?? '').split('.')
  try {
    if (parts.length !== 3) throw new Error('not a JWT')
    const claims: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'))
    if (typeof claims !== 'object' || claims === null) throw new Error('not an object')
    return claims as Record<string, unknown>
  } catch {
    throw stsError(
      'InvalidIdentityToken',
      'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)'
    )
  }
}

function stringClaim(claims: Record<string, unknown>, name: string): string[] {
  const v = claims[name]
  if (typeof v === 'string') return [v]
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string')
  return []
}

function assumeRole(cloud: Cloud, input: AssumeRoleRequest, ctx: QueryContext): AssumeRoleResponse {
  const session = callerSession(cloud, ctx)
  const callerArn = session?.arn ?? DEFAULT_CALLER(cloud.accountId)
  const sessionName = checkSessionName(input.RoleSessionName)
  const duration = checkDuration(input.DurationSeconds)
  const role = roleByArn(cloud, input.RoleArn)
  const root = `arn:${partitionOf(role?.arn ?? 'arn:aws')}:iam::${cloud.accountId}:root`
  const ids = session ? [session.arn, session.roleArn, root] : [callerArn, root]
  const context: Record<string, string[]> = {
    'aws:principalarn': [session?.roleArn ?? callerArn],
    'aws:principalaccount': [cloud.accountId],
    'aws:userid': [session?.userId ?? 'AIDAEMULATOR'],
    'sts:rolesessionname': [sessionName],
    ...(input.ExternalId ? { 'sts:externalid': [input.ExternalId] } : {}),
    ...(input.SourceIdentity ? { 'sts:sourceidentity': [input.SourceIdentity] } : {})
  }
  if (session)
    for (const [k, v] of Object.entries(sessionRole(cloud, session)?.tags ?? {}))
      context[`aws:principaltag/${k}`.toLowerCase()] = [v]
  if (!role || !trustAllows(role, 'sts:AssumeRole', { type: 'AWS', ids }, context)) {
    throw stsError(
      'AccessDenied',
      `User: ${callerArn} is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn ?? ''}`
    )
  }
  const issued = issueSession(cloud, role, { sessionName, durationSeconds: duration })
  return {
    Credentials: credentials(issued),
    AssumedRoleUser: assumedRoleUser(issued),
    PackedPolicySize: 0,
    ...(input.SourceIdentity ? { SourceIdentity: input.SourceIdentity } : {})
  }
}

/**
 * The OIDC path (GitHub Actions): the token's issuer must be registered in IAM
 * (CreateOpenIDConnectProvider) with the token's audience among its client ids; the issuer names
 * the federated principal (`arn:aws:iam::<account>:oidc-provider/<issuer host and path>`), and the
 * claims become the condition keys `<issuer>:sub`, `<issuer>:aud` the trust policy checks. The
 * token's signature is not verified (nor the provider's thumbprints).
 */
function assumeRoleWithWebIdentity(
  cloud: Cloud,
  input: AssumeRoleWithWebIdentityRequest
): AssumeRoleWithWebIdentityResponse {
  const sessionName = checkSessionName(input.RoleSessionName)
  const duration = checkDuration(input.DurationSeconds)
  const claims = jwtClaims(input.WebIdentityToken)
  const iss = stringClaim(claims, 'iss')[0]
  if (!iss) throw stsError('InvalidIdentityToken', 'The ID Token provided is missing the iss claim.')
  const exp = typeof claims.exp === 'number' ? claims.exp : undefined
  if (exp !== undefined && exp * 1000 < Date.now()) {
    throw stsError(
      'ExpiredTokenException',
      `Token expired: current date/time ${Math.floor(Date.now() / 1000)} must be before the expiration date/time${exp}`
    )
  }
  const provider = iss.replace(/^https:\/\//, '').replace(/\/$/, '')
  const role = roleByArn(cloud, input.RoleArn)
  const providerArn = `arn:${partitionOf(role?.arn ?? 'arn:aws')}:iam::${cloud.accountId}:oidc-provider/${provider}`
  const registered = policyStore(cloud).oidcProviders.get(providerArn)
  if (!registered) throw stsError('InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${iss}`)
  if (!stringClaim(claims, 'aud').some((aud) => registered.clientIds.includes(aud)))
    throw stsError('InvalidIdentityToken', 'Incorrect token audience')
  const key = (claim: string): string => `${provider}:${claim}`.toLowerCase()
  const context: Record<string, string[]> = {
    [key('sub')]: stringClaim(claims, 'sub'),
    [key('aud')]: stringClaim(claims, 'aud'),
    [key('iss')]: [iss],
    'aws:federatedprovider': [providerArn],
    'sts:rolesessionname': [sessionName]
  }
  for (const claim of [
    'job_workflow_ref',
    'repository',
    'repository_owner',
    'ref',
    'environment',
    'actor',
    'workflow'
  ]) {
    const values = stringClaim(claims, claim)
    if (values.length > 0) context[key(claim)] = values
  }
  if (
    !role ||
    !trustAllows(role, 'sts:AssumeRoleWithWebIdentity', { type: 'Federated', ids: [providerArn] }, context)
  ) {
    throw stsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity')
  }
  const issued = issueSession(cloud, role, { sessionName, durationSeconds: duration })
  return {
    Credentials: credentials(issued),
    AssumedRoleUser: assumedRoleUser(issued),
    SubjectFromWebIdentityToken: stringClaim(claims, 'sub')[0] ?? '',
    Provider: iss,
    Audience: stringClaim(claims, 'aud')[0] ?? '',
    PackedPolicySize: 0
  }
}

/** STS's operations, one row each. */
export function handlers(cloud: Cloud): Record<string, QueryHandler> {
  return {
    GetCallerIdentity: (_input: unknown, ctx: QueryContext): GetCallerIdentityResponse => {
      const session = callerSession(cloud, ctx)
      if (session) return { UserId: session.userId, Account: cloud.accountId, Arn: session.arn }
      return {
        UserId: accessKeyOf(ctx) ?? 'AIDAEMULATOR',
        Account: cloud.accountId,
        Arn: DEFAULT_CALLER(cloud.accountId)
      }
    },
    AssumeRole: (input: AssumeRoleRequest, ctx: QueryContext) => assumeRole(cloud, input, ctx),
    AssumeRoleWithWebIdentity: (input: AssumeRoleWithWebIdentityRequest) => assumeRoleWithWebIdentity(cloud, input),
    DecodeAuthorizationMessage: (input: DecodeAuthorizationMessageRequest): DecodeAuthorizationMessageResponse => {
      const decoded = decodeAuthorizationMessage(cloud, input.EncodedMessage ?? '')
      if (decoded === undefined)
        throw stsError('InvalidAuthorizationMessageException', 'The message is not a valid authorization message.')
      return { DecodedMessage: decoded }
    }
  }
}
