/**
 * Role sessions: the temporary credentials STS (AssumeRole, AssumeRoleWithWebIdentity) and Lambda
 * (a function's execution role) hand out. A request signed with a session's access key id acts as
 * the assumed role and must carry the session token. Kept per cloud, like core/hooks.ts.
 */
import { randomBytes } from 'node:crypto'
import type { Cloud, RoleRecord } from '../types.js'

export interface RoleSession {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
  roleName: string
  roleArn: string
  roleId: string
  sessionName: string
  /** arn:aws:sts::<account>:assumed-role/<role>/<session> */
  arn: string
  /** <role id>:<session name>, the UserId GetCallerIdentity answers and aws:userid. */
  userId: string
  expiresAt: number
  /** What the call log records as the caller instead of the access key id (Lambda: `lambda-<function>`). */
  label?: string
  /** Condition keys every request of the session carries (e.g. lambda:SourceFunctionArn), lower-cased. */
  context?: Record<string, string[]>
}

export interface SessionOptions {
  sessionName: string
  durationSeconds: number
  label?: string
  context?: Record<string, string[]>
}

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

function randomKey(prefix: string, length: number): string {
  const bytes = randomBytes(length)
  let out = prefix
  for (let i = 0; i < length; i++) out += ALPHANUM[(bytes[i] ?? 0) % ALPHANUM.length]
  return out
}

const stores = new WeakMap<Cloud, Map<string, RoleSession>>()

function store(cloud: Cloud): Map<string, RoleSession> {
  let s = stores.get(cloud)
  if (!s) {
    s = new Map()
    stores.set(cloud, s)
  }
  return s
}

/** The partition of an ARN (aws, aws-cn, aws-us-gov, ...). */
export function partitionOf(arn: string): string {
  return arn.split(':')[1] ?? 'aws'
}

/** Issues temporary credentials (ASIA... access key id) acting as the role. */
export function issueSession(cloud: Cloud, role: RoleRecord, options: SessionOptions): RoleSession {
  const { sessionName, durationSeconds, label, context } = options
  const session: RoleSession = {
    accessKeyId: randomKey('ASIA', 16),
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(96).toString('base64')}`,
    roleName: role.roleName,
    roleArn: role.arn,
    roleId: role.roleId,
    sessionName,
    arn: `arn:${partitionOf(role.arn)}:sts::${cloud.accountId}:assumed-role/${role.roleName}/${sessionName}`,
    userId: `${role.roleId}:${sessionName}`,
    expiresAt: Date.now() + durationSeconds * 1000,
    ...(label ? { label } : {}),
    ...(context ? { context } : {})
  }
  store(cloud).set(session.accessKeyId, session)
  return session
}

export function findSession(cloud: Cloud, accessKeyId: string): RoleSession | undefined {
  return store(cloud).get(accessKeyId)
}

/** The role a session acts as, if it still exists (by ARN: a role deleted and created again has a new id). */
export function sessionRole(cloud: Cloud, session: RoleSession): RoleRecord | undefined {
  const role = cloud.shared.roles.get(session.roleName)
  return role && role.roleId === session.roleId ? role : undefined
}
