/**
 * Authorizing one request of a role session against the role's identity-based policies, and
 * checking a role's trust policy when someone (a caller, a service, a web identity) assumes it.
 */
import type { Cloud, RoleRecord } from '../types.js'
import { evaluate, statements, type Decision, type PrincipalRef, type Statement } from './evaluate.js'
import type { Check } from './actions.js'
import type { RoleSession } from './sessions.js'
import { identityPolicies } from './store.js'

export interface Denial {
  check: Check
  decision: Exclude<Decision, 'allow'>
  /** The request context the decision was made with (for the encoded authorization message). */
  context: Record<string, string[]>
}

/** The global condition keys of a session's request (aws:PrincipalArn, aws:userid, aws:RequestedRegion, ...). */
export function globalContext(
  cloud: Cloud,
  session: RoleSession,
  role: RoleRecord | undefined,
  region: string
): Record<string, string[]> {
  const out: Record<string, string[]> = {
    'aws:principalarn': [session.roleArn],
    'aws:principalaccount': [cloud.accountId],
    'aws:principaltype': ['AssumedRole'],
    'aws:userid': [session.userId],
    'aws:requestedregion': [region],
    'aws:currenttime': [new Date().toISOString()],
    ...session.context
  }
  for (const [k, v] of Object.entries(role?.tags ?? {})) out[`aws:principaltag/${k}`.toLowerCase()] = [v]
  return out
}

/** The first check the session's role is not allowed, or undefined when all are allowed. */
export function authorizeSession(
  cloud: Cloud,
  who: { session: RoleSession; role: RoleRecord | undefined; region: string },
  checks: Check[]
): Denial | undefined {
  const { session, role, region } = who
  const policies = role ? identityPolicies(cloud, role) : []
  const global = globalContext(cloud, session, role, region)
  for (const check of checks) {
    const context = { ...global, ...check.context }
    const { decision } = evaluate(policies, {
      action: check.action,
      resource: check.resource,
      context: (key) => context[key]
    })
    if (decision !== 'allow') return { check, decision, context }
  }
  return undefined
}

function trustStatements(role: RoleRecord): Statement[] {
  try {
    return statements(role.assumeRolePolicyDocument)
  } catch {
    return []
  }
}

/**
 * Whether the role's trust policy lets `principal` perform `action` (sts:AssumeRole,
 * sts:AssumeRoleWithWebIdentity) with the given request context.
 */
export function trustAllows(
  role: RoleRecord,
  action: string,
  principal: PrincipalRef,
  context: Record<string, string[]>
): boolean {
  const lookup = (key: string): string[] | undefined => context[key]
  return (
    evaluate([trustStatements(role)], { action, resource: role.arn, context: lookup }, principal).decision === 'allow'
  )
}
