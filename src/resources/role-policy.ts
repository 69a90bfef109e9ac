/** The DNS updater role's inline policy: its zone's records, instance and group member reads, its own log group. */
import { DeleteRolePolicyCommand, GetRolePolicyCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { readOptional, tolerate } from '../aws/send.js'
import { canonicalJson } from '../json.js'
import { ROLE_POLICY_NAME, TAGS, roleName } from '../names.js'
import type { CurrentState, DesiredState } from '../state.js'
import { queueArn } from './event-queue.js'
import { identity } from './iam-role.js'
import { logGroupArn } from './log-group.js'
import { othersExist } from './project-drift.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredRolePolicy {
  roleName: string
  policyName: string
  /** Inputs of the policy document; the zone id, account and partition are only known at apply time. */
  region: string
  /** The project: the instances it may tag and the groups it may move to standby carry its tag. */
  project: string
  logGroupName: string
  queueName: string
}

export interface CurrentRolePolicy {
  roleName: string
  policyName: string
  /** Parsed policy document. */
  document: unknown
}

export type RolePolicyChange =
  Upsert<'role-policy', DesiredRolePolicy, CurrentRolePolicy> | Removal<'role-policy', CurrentRolePolicy>

/** The statement earlier versions of the policy lacked: a policy that lacks only it is upgraded, not drift. */
export const READ_GROUP_MEMBERS = 'ReadGroupMembers'
/** The statements of the spot warnings, added after it (a policy lacking them is upgraded, not drift). */
export const MARK_LEAVING = 'MarkWarnedInstancesLeaving'
export const REPLACE_WARNED = 'ReplaceInstancesWarnedOfReclaim'
/** The statements each earlier version lacked, newest first. */
const ADDED_LATER = [
  { sids: [MARK_LEAVING, REPLACE_WARNED], what: 'ec2:CreateTags and autoscaling:EnterStandby (spot warnings)' },
  { sids: [MARK_LEAVING, REPLACE_WARNED, READ_GROUP_MEMBERS], what: 'the group reads and the spot warnings' }
]

/**
 * The DNS updater's only permissions: its zone, instance reads, which instances
 * are in service in their groups, its own queue and log group. Neither
 * ec2:DescribeInstances nor autoscaling:DescribeAutoScalingInstances has a
 * resource-level permission: both are on *.
 */
export function rolePolicyDocument(args: {
  partition: string
  project: string
  zoneId: string
  logGroupArn: string
  queueArn: string
}): Record<string, unknown> {
  const zone = args.zoneId.replace(/^\/hostedzone\//, '')
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ReadInstances', Effect: 'Allow', Action: ['ec2:DescribeInstances'], Resource: '*' },
      {
        Sid: READ_GROUP_MEMBERS,
        Effect: 'Allow',
        Action: ['autoscaling:DescribeAutoScalingInstances'],
        Resource: '*'
      },
      {
        // a warned instance is tagged hyperform:leaving (its tags only), so no later recompute lists it
        Sid: MARK_LEAVING,
        Effect: 'Allow',
        Action: ['ec2:CreateTags'],
        Resource: `arn:${args.partition}:ec2:*:*:instance/*`,
        Condition: {
          StringEquals: { [`aws:ResourceTag/${TAGS.project}`]: args.project },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAGS.leaving] }
        }
      },
      {
        // an instance warned of its reclaim goes to standby: out of service at once, its group launches a replacement
        Sid: REPLACE_WARNED,
        Effect: 'Allow',
        Action: ['autoscaling:EnterStandby'],
        Resource: `arn:${args.partition}:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/hyperform-${args.project}-*`,
        Condition: { StringEquals: { [`aws:ResourceTag/${TAGS.project}`]: args.project } }
      },
      {
        Sid: 'WriteRecords',
        Effect: 'Allow',
        Action: ['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets'],
        Resource: `arn:${args.partition}:route53:::hostedzone/${zone}`
      },
      {
        Sid: 'ReadChanges',
        Effect: 'Allow',
        Action: ['route53:GetChange'],
        Resource: `arn:${args.partition}:route53:::change/*`
      },
      {
        Sid: 'DrainQueue',
        Effect: 'Allow',
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
        Resource: args.queueArn
      },
      {
        Sid: 'WriteLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `${args.logGroupArn}:*`
      }
    ]
  }
}

/** IAM returns policy documents URL-encoded. */
export function parsePolicy(text: string | undefined): unknown {
  if (!text) return undefined
  for (const candidate of [text, safeDecode(text)]) {
    try {
      return JSON.parse(candidate)
    } catch {
      // try the next form
    }
  }
  return text
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The document as an earlier version of the action wrote it: without the statements added since. */
function without(document: Record<string, unknown>, sids: readonly string[]): Record<string, unknown> {
  const statements = document.Statement as { Sid?: string }[]
  return { ...document, Statement: statements.filter((s) => !sids.includes(s.Sid ?? '')) }
}

function expectedPolicy(desired: DesiredState, current: CurrentState): Record<string, unknown> | undefined {
  const { zone, accountId, partition } = current
  if (!zone || !accountId || !partition) return undefined
  const p = desired.project.rolePolicy
  const arn = logGroupArn({ partition, region: p.region, accountId, name: p.logGroupName })
  return rolePolicyDocument({
    partition,
    project: desired.scope.project,
    zoneId: zone.id,
    logGroupArn: arn,
    queueArn: queueArn({ partition, region: p.region, accountId, name: p.queueName })
  })
}

export const rolePolicy: KindOps<'role-policy'> = {
  kind: 'role-policy',
  noun: 'role policy',
  level: 'project',
  dependsOn: ['hosted-zone', 'iam-role'],
  removeAfter: ['log-group'],
  async read({ aws, scope }) {
    const role = roleName(scope)
    const out = await readOptional(`reading role policy ${role}/${ROLE_POLICY_NAME}`, ['NoSuchEntity'], () =>
      aws.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: ROLE_POLICY_NAME }))
    )
    return {
      rolePolicy: out
        ? { roleName: role, policyName: ROLE_POLICY_NAME, document: parsePolicy(out.PolicyDocument) }
        : undefined
    }
  },
  diff({ desired, current }) {
    const policy = desired.project.rolePolicy
    const base = {
      kind: 'role-policy' as const,
      name: `${policy.roleName}/${policy.policyName}`,
      desired: policy,
      current: current.rolePolicy
    }
    if (!current.rolePolicy)
      return [{ ...base, action: 'create', reason: 'not found', drift: othersExist(current, 'role') }]
    const expected = expectedPolicy(desired, current)
    if (!expected) return [{ ...base, action: 'update', reason: 'the zone or log group is new', fields: ['document'] }]
    if (canonicalJson(expected) === canonicalJson(current.rolePolicy.document))
      return [{ ...base, action: 'noop', reason: 'up to date' }]
    const earlier = ADDED_LATER.find(
      (v) => canonicalJson(without(expected, v.sids)) === canonicalJson(current.rolePolicy?.document)
    )
    if (earlier)
      return [{ ...base, action: 'update', reason: `policy document gains ${earlier.what}`, fields: ['document'] }]
    return [{ ...base, action: 'update', reason: 'policy document differs', fields: ['document'], drift: true }]
  },
  removals({ current, destroy }) {
    const p = current.rolePolicy
    return destroy && p
      ? [{ kind: 'role-policy', action: 'delete', name: `${p.roleName}/${p.policyName}`, reason: '', current: p }]
      : []
  },
  async apply(change, { e, refs, need }) {
    if (change.action === 'noop') return
    const [zoneId, roleArn] = await Promise.all([need('hosted-zone'), need('iam-role')])
    const policy = change.desired
    const { accountId, partition } = await identity(e, refs, roleArn)
    const arn = logGroupArn({ partition, region: policy.region, accountId, name: policy.logGroupName })
    const queue = queueArn({ partition, region: policy.region, accountId, name: policy.queueName })
    const document = rolePolicyDocument({
      partition,
      project: policy.project,
      zoneId: zoneId ?? '',
      logGroupArn: arn,
      queueArn: queue
    })
    await e.send(
      new PutRolePolicyCommand({
        RoleName: policy.roleName,
        PolicyName: policy.policyName,
        PolicyDocument: JSON.stringify(document)
      })
    )
    e.done({ kind: 'role-policy', action: change.action, name: change.name })
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const policy = change.current
      if (policy)
        await tolerate(['NoSuchEntity'], () =>
          e.send(new DeleteRolePolicyCommand({ RoleName: policy.roleName, PolicyName: policy.policyName }))
        )
      e.done({ kind: 'role-policy', action: 'delete', name: change.name })
    }
  }
}
