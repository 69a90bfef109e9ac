/**
 * Service-linked roles a service creates for itself the first time an account uses it (Auto
 * Scaling's AWSServiceRoleForAutoScaling on the first group). The caller then needs
 * iam:CreateServiceLinkedRole, which the authorization table checks while the role is missing.
 */
import { newIamId } from '../../core/ids.js'
import type { Cloud } from '../../types.js'

export interface ServiceLinkedRole {
  service: string
  roleName: string
  path: string
}

export const AUTOSCALING_SERVICE_LINKED_ROLE: ServiceLinkedRole = {
  service: 'autoscaling.amazonaws.com',
  roleName: 'AWSServiceRoleForAutoScaling',
  path: '/aws-service-role/autoscaling.amazonaws.com/'
}

/** The role's ARN in an account. */
export function serviceLinkedRoleArn(role: ServiceLinkedRole, account: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${account}:role${role.path}${role.roleName}`
}

/** Creates the role unless the account has it. */
export function ensureServiceLinkedRole(cloud: Cloud, role: ServiceLinkedRole): void {
  if (cloud.shared.roles.has(role.roleName)) return
  cloud.shared.roles.set(role.roleName, {
    roleName: role.roleName,
    arn: serviceLinkedRoleArn(role, cloud.accountId),
    roleId: newIamId(cloud, 'AROA'),
    createdAt: Date.now(),
    assumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: role.service }, Action: 'sts:AssumeRole' }]
    }),
    inlinePolicies: new Map(),
    tags: {}
  })
}
