/**
 * Customer managed policies (CreatePolicy, CreatePolicyVersion) and which roles they are attached
 * to, kept per cloud so the authorizer reads the same documents IAM serves. Roles and their inline
 * policies live in cloud.shared.roles.
 */
import type { Cloud, RoleRecord } from '../types.js'
import { statements, type Statement } from './evaluate.js'

export interface PolicyVersion {
  versionId: string
  document: string
  createdAt: number
}

export interface ManagedPolicy {
  policyName: string
  policyId: string
  arn: string
  path: string
  description: string
  createdAt: number
  updatedAt: number
  defaultVersionId: string
  versions: PolicyVersion[]
  tags: Record<string, string>
}

export interface InstanceProfile {
  name: string
  arn: string
  id: string
  path: string
  createdAt: number
  /** Role names (an instance profile holds at most one role). */
  roles: string[]
  /** When its role last changed (AddRoleToInstanceProfile): EC2 sees the change after the propagation delay. */
  changedAt?: number
}

export interface OidcProvider {
  arn: string
  /** The issuer URL as registered (https://...). */
  url: string
  clientIds: string[]
  thumbprints: string[]
  createdAt: number
  tags: Record<string, string>
}

export interface PolicyStore {
  /** OpenID Connect providers by ARN. */
  oidcProviders: Map<string, OidcProvider>
  policies: Map<string, ManagedPolicy>
  /** Instance profiles by name. */
  instanceProfiles: Map<string, InstanceProfile>
  /** Managed policy ARNs attached to each role, by role name. */
  attachments: Map<string, Set<string>>
}

/**
 * AWS managed policies the emulator knows the documents of (attaching any other aws-owned ARN is
 * accepted, and grants nothing).
 */
export const AWS_MANAGED_POLICIES: Record<string, string> = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }
    ]
  }),
  'arn:aws:iam::aws:policy/AdministratorAccess': JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }]
  })
}

const stores = new WeakMap<Cloud, PolicyStore>()

export function policyStore(cloud: Cloud): PolicyStore {
  let s = stores.get(cloud)
  if (!s) {
    s = { oidcProviders: new Map(), policies: new Map(), instanceProfiles: new Map(), attachments: new Map() }
    stores.set(cloud, s)
  }
  return s
}

export function defaultDocument(p: ManagedPolicy): string {
  return p.versions.find((v) => v.versionId === p.defaultVersionId)?.document ?? '{}'
}

function parsed(document: string): Statement[] {
  try {
    return statements(document)
  } catch {
    return []
  }
}

/** Every identity-based policy of a role: its inline policies and its attached managed policies' default versions. */
export function identityPolicies(cloud: Cloud, role: RoleRecord): Statement[][] {
  const out = [...role.inlinePolicies.values()].map(parsed)
  const store = policyStore(cloud)
  for (const arn of store.attachments.get(role.roleName) ?? []) {
    const managed = store.policies.get(arn)
    const doc = managed ? defaultDocument(managed) : AWS_MANAGED_POLICIES[arn.replace(/^arn:aws[a-z-]*:/, 'arn:aws:')]
    if (doc) out.push(parsed(doc))
  }
  return out
}

/** The role an instance profile (by ARN or name) holds, as its ARN. */
export function instanceProfileRole(cloud: Cloud, profile: { Arn?: string; Name?: string }): string | undefined {
  const name = profile.Name ?? profile.Arn?.split('/').pop() ?? ''
  const p = policyStore(cloud).instanceProfiles.get(name)
  const role = p?.roles[0]
  return role ? cloud.shared.roles.get(role)?.arn : undefined
}

/**
 * The instance profile EC2 sees for a launch (by ARN or name), with its role: undefined when it does
 * not exist, holds no role, or was created or given its role less than
 * `simulation.instanceProfileDelayMs` ago (IAM's eventual consistency).
 */
export function launchableInstanceProfile(
  cloud: Cloud,
  ref: { Arn?: string; Name?: string }
): { profile: InstanceProfile; role: RoleRecord } | undefined {
  const name = ref.Name ?? ref.Arn?.split('/').pop() ?? ''
  const profile = policyStore(cloud).instanceProfiles.get(name)
  if (!profile || (ref.Arn !== undefined && ref.Arn !== profile.arn)) return undefined
  const delay = cloud.simulation.instanceProfileDelayMs ?? 0
  if (Date.now() < Math.max(profile.createdAt, profile.changedAt ?? 0) + delay) return undefined
  const role = profile.roles[0] ? cloud.shared.roles.get(profile.roles[0]) : undefined
  return role ? { profile, role } : undefined
}

/** EC2's message for a profile it cannot use (RunInstances' InvalidParameterValue). */
export function invalidInstanceProfileMessage(ref: { Arn?: string; Name?: string }): string {
  return ref.Name !== undefined || ref.Arn === undefined
    ? `Value (${ref.Name ?? ''}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`
    : `Value (${ref.Arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN`
}
