/**
 * The instance role's credentials as the agent gets them from IMDS: EC2 assumes the instance
 * profile's role as `ec2.amazonaws.com` (its trust policy must allow that), session named after the
 * instance. Without a profile, a role in it, or that trust, there are no credentials.
 */
import type { Cloud } from '../types.js'
import { trustAllows } from '../iam-policy/authorize.js'
import { issueSession } from '../iam-policy/sessions.js'
import { instanceProfileRole } from '../iam-policy/store.js'
import type { InstanceRecord } from '../services/ec2/model.js'

export interface InstanceCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
}

/** IMDS hands out sessions of up to 6 hours and refreshes them before expiry; the stand-in lives shorter. */
const SESSION_SECONDS = 6 * 60 * 60

/** The credentials, or an explanation of why IMDS would have none. */
export function instanceRoleCredentials(
  cloud: Cloud,
  instance: InstanceRecord
): { credentials: InstanceCredentials } | { error: string } {
  const profile = instance.data.IamInstanceProfile
  if (!profile?.Arn && !profile?.Name) return { error: 'the instance has no instance profile (no IMDS credentials)' }
  const roleArn = instanceProfileRole(cloud, profile)
  const role = [...cloud.shared.roles.values()].find((r) => r.arn === roleArn)
  if (!role) return { error: `instance profile ${profile.Arn ?? profile.Name ?? ''} holds no role` }
  if (!trustAllows(role, 'sts:AssumeRole', { type: 'Service', ids: ['ec2.amazonaws.com'] }, {}))
    return { error: `role ${role.arn} cannot be assumed by ec2.amazonaws.com (trust policy)` }
  const session = issueSession(cloud, role, {
    sessionName: instance.instanceId,
    durationSeconds: SESSION_SECONDS,
    label: `instance-${instance.instanceId}`
  })
  return {
    credentials: {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken
    }
  }
}
