/**
 * The instance role's credentials as the agent finds them through IMDS (iam-policy/instance-role.ts
 * issues them): none without a profile, a role in it, or a trust policy letting ec2.amazonaws.com
 * assume it, nor while a new profile is still propagating (simulation.instanceProfileDelayMs).
 */
import type { Cloud } from '../types.js'
import { instanceRoleCredentials } from '../iam-policy/instance-role.js'
import type { InstanceRecord } from '../services/ec2/model.js'

export interface SessionCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
}

/** The SDK's credentials, or undefined when IMDS has none for the instance now. */
export function instanceCredentials(cloud: Cloud, instance: InstanceRecord): SessionCredentials | undefined {
  const profile = instance.iamInstanceProfile
  const c = instanceRoleCredentials(cloud, {
    instanceId: instance.instanceId,
    region: instance.region,
    ...(profile ? { profile: { Arn: profile.arn } } : {})
  })
  return c && { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token }
}
