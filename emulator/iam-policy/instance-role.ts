/**
 * An EC2 instance's role credentials: EC2 assumes the role of the instance's profile as the service
 * principal `ec2.amazonaws.com` (the role's trust policy must allow it) and serves the session through
 * the instance metadata service (services/ec2/imds.ts). The session is named after the instance
 * (arn:aws:sts::<account>:assumed-role/<role>/<instance-id>), carries ec2:SourceInstanceARN, is logged
 * as the caller `instance-<instance-id>`, and is renewed five minutes before it expires (AWS renews
 * instance credentials well before their expiry) or when the profile's role changes.
 */
import type { Cloud } from '../types.js'
import { trustAllows } from './authorize.js'
import { findSession, issueSession, type RoleSession } from './sessions.js'
import { launchableInstanceProfile } from './store.js'

export interface InstanceCredentials {
  AccessKeyId: string
  SecretAccessKey: string
  Token: string
  Expiration: Date
  LastUpdated: Date
  RoleName: string
  RoleArn: string
  InstanceProfileArn: string
  InstanceProfileId: string
}

/** The instance, as much of it as its credentials need. */
export interface InstanceIdentity {
  instanceId: string
  region: string
  /** The profile the instance was launched with (DescribeInstances' IamInstanceProfile). */
  profile?: { Arn?: string; Name?: string }
}

/** Instance credentials last six hours, as EC2's do. */
const SESSION_SECONDS = 6 * 60 * 60
const RENEW_BEFORE_MS = 5 * 60 * 1000

export const INSTANCE_CALLER_PREFIX = 'instance-'

const issued = new WeakMap<Cloud, Map<string, { session: RoleSession; issuedAt: number }>>()

function cache(cloud: Cloud): Map<string, { session: RoleSession; issuedAt: number }> {
  let c = issued.get(cloud)
  if (!c) {
    c = new Map()
    issued.set(cloud, c)
  }
  return c
}

/**
 * The credentials the instance's metadata service serves now, or undefined when it has no profile,
 * the profile holds no role, or the role's trust policy does not let ec2.amazonaws.com assume it.
 */
export function instanceRoleCredentials(cloud: Cloud, instance: InstanceIdentity): InstanceCredentials | undefined {
  if (!instance.profile) return undefined
  const found = launchableInstanceProfile(cloud, instance.profile)
  if (!found) return undefined
  const { profile, role } = found
  const context = { 'aws:sourceaccount': [cloud.accountId] }
  if (!trustAllows(role, 'sts:AssumeRole', { type: 'Service', ids: ['ec2.amazonaws.com'] }, context)) return undefined
  const sessions = cache(cloud)
  let entry = sessions.get(instance.instanceId)
  const stale =
    !entry ||
    entry.session.roleId !== role.roleId ||
    entry.session.expiresAt - Date.now() < RENEW_BEFORE_MS ||
    !findSession(cloud, entry.session.accessKeyId)
  if (stale) {
    const instanceArn = `arn:aws:ec2:${instance.region}:${cloud.accountId}:instance/${instance.instanceId}`
    entry = {
      session: issueSession(cloud, role, {
        sessionName: instance.instanceId,
        durationSeconds: SESSION_SECONDS,
        label: `${INSTANCE_CALLER_PREFIX}${instance.instanceId}`,
        context: { 'ec2:sourceinstancearn': [instanceArn] }
      }),
      issuedAt: Date.now()
    }
    sessions.set(instance.instanceId, entry)
  }
  const { session, issuedAt } = entry as { session: RoleSession; issuedAt: number }
  return {
    AccessKeyId: session.accessKeyId,
    SecretAccessKey: session.secretAccessKey,
    Token: session.sessionToken,
    Expiration: new Date(session.expiresAt),
    LastUpdated: new Date(issuedAt),
    RoleName: role.roleName,
    RoleArn: role.arn,
    InstanceProfileArn: profile.arn,
    InstanceProfileId: profile.id
  }
}
