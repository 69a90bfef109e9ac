/**
 * A service's instance role: what its agent may do, and nothing more. It reads
 * its own configuration and the parameters and secrets the compose file names
 * for it, pulls from the ECR repositories its image names, writes its own
 * log streams, and completes the launch hook of (and reports its instance
 * unhealthy to) its service's two Auto Scaling groups. The policy is rendered at apply (it needs the account id); its
 * inputs' hash sits in the role's description, so a no-op run reads every
 * role of the stack with one ListRoles (by path) and no policy.
 */
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
  paginateListRoles,
  type Role
} from '@aws-sdk/client-iam'
import { errorCode, wrap } from '../aws/errors.js'
import { tolerate } from '../aws/send.js'
import { canonicalJson } from '../json.js'
import { instancePath, instanceRoleName, TAGS } from '../names.js'
import { servicesLeaving, templateOf } from './launch-template.js'
import { identity } from './iam-role.js'
import { tagList, type KindOps, type Removal, type Upsert } from './kind.js'

export const INSTANCE_POLICY_NAME = 'hyperform-instance'

export const INSTANCE_TRUST_POLICY = canonicalJson({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})

/** An ECR repository an image is pulled from. */
export interface Repository {
  partition: string
  region: string
  account: string
  name: string
}

/** What the policy grants; the account and partition are filled in at apply. */
export interface InstanceGrants {
  region: string
  /** The service's own configuration parameter. */
  configParameter: string
  /** SSM parameters the compose file references (`ssm:/name`). */
  parameters: string[]
  /** Secrets Manager secret ARNs the compose file references. */
  secrets: string[]
  /** A customer KMS key (id or ARN) the configuration is encrypted with. */
  kmsKeyId?: string
  repositories: Repository[]
  /** The streams `<streamPrefix>/*` of the stack's container log group: the container's lines and the agent's. */
  logs?: { group: string; streamPrefix: string }
  /**
   * The service's Auto Scaling groups (names): the agent completes their launch lifecycle hook and
   * reports its instance unhealthy to them. Absent for a configuration without the launch gate.
   */
  groups?: string[]
  /**
   * The tags (TAGS.project, TAGS.stack, TAGS.service) of the service's EBS volumes and of its instances: the
   * agent attaches a volume so tagged to its own instance. Absent when the service mounts no named volume.
   */
  volumes?: { project: string; stack: string; service: string }
}

export interface DesiredInstanceRole {
  name: string
  path: string
  grants: InstanceGrants
  /** Hash of grants and trust: in the description. */
  hash: string
  tags: Record<string, string>
}

export interface CurrentInstanceRole {
  name: string
  arn: string
  service: string
  hash?: string
  trustOk: boolean
}

export type InstanceRoleChange =
  Upsert<'instance-role', DesiredInstanceRole, CurrentInstanceRole> | Removal<'instance-role', CurrentInstanceRole>

const DESCRIPTION = /^hyperform-action: instances of (\S+) \(policy ([0-9a-f]+)\)$/

function description(service: string, hash: string): string {
  return `hyperform-action: instances of ${service} (policy ${hash})`
}

/** A secret named by a partial ARN (no -XXXXXX suffix) is matched with `-??????`, as AWS advises; both forms are granted. */
function secretResources(arn: string): string[] {
  return [arn, `${arn}-??????`]
}

function parameterArn(partition: string, region: string, account: string, name: string): string {
  return `arn:${partition}:ssm:${region}:${account}:parameter/${name.replace(/^\//, '')}`
}

function keyArn(partition: string, region: string, account: string, keyId: string): string {
  return keyId.startsWith('arn:') ? keyId : `arn:${partition}:kms:${region}:${account}:key/${keyId}`
}

/** The inline policy: each statement scoped to this service's own resources. Pure. */
export function instancePolicy(grants: InstanceGrants, account: { accountId: string; partition: string }): string {
  const { accountId, partition } = account
  const statements: object[] = [
    {
      Sid: 'ReadOwnConfiguration',
      Effect: 'Allow',
      Action: 'ssm:GetParameter',
      Resource: [grants.configParameter, ...grants.parameters].map((n) =>
        parameterArn(partition, grants.region, accountId, n)
      )
    }
  ]
  if (grants.kmsKeyId)
    statements.push({
      Sid: 'DecryptConfiguration',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: keyArn(partition, grants.region, accountId, grants.kmsKeyId),
      Condition: { StringEquals: { 'kms:ViaService': `ssm.${grants.region}.amazonaws.com` } }
    })
  if (grants.secrets.length > 0)
    statements.push({
      Sid: 'ReadOwnSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: grants.secrets.flatMap(secretResources)
    })
  if (grants.repositories.length > 0) {
    // GetAuthorizationToken has no resource-level permission; the pull itself is per repository.
    statements.push({ Sid: 'LogInToEcr', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' })
    statements.push({
      Sid: 'PullOwnImages',
      Effect: 'Allow',
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Resource: grants.repositories.map((r) => `arn:${r.partition}:ecr:${r.region}:${r.account}:repository/${r.name}`)
    })
  }
  if (grants.logs)
    statements.push({
      Sid: 'WriteOwnLogStreams',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: `arn:${partition}:logs:${grants.region}:${accountId}:log-group:${grants.logs.group}:log-stream:${grants.logs.streamPrefix}/*`
    })
  if (grants.groups && grants.groups.length > 0) {
    // No resource-level permission: the agent finds its group by its instance id.
    statements.push({
      Sid: 'FindOwnGroup',
      Effect: 'Allow',
      Action: 'autoscaling:DescribeAutoScalingInstances',
      Resource: '*'
    })
    statements.push({
      Sid: 'ReportToOwnGroups',
      Effect: 'Allow',
      Action: [
        'autoscaling:CompleteLifecycleAction',
        'autoscaling:RecordLifecycleActionHeartbeat',
        'autoscaling:SetInstanceHealth'
      ],
      Resource: grants.groups.map(
        (g) => `arn:${partition}:autoscaling:${grants.region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/${g}`
      )
    })
  }
  if (grants.volumes) {
    const { project, stack, service } = grants.volumes
    // No resource-level permission: the agent finds its volumes by their tags and zone.
    statements.push({ Sid: 'FindOwnVolumes', Effect: 'Allow', Action: 'ec2:DescribeVolumes', Resource: '*' })
    // AttachVolume is authorized on the volume and on the instance: both must be the service's own.
    statements.push({
      Sid: 'AttachOwnVolumes',
      Effect: 'Allow',
      Action: 'ec2:AttachVolume',
      Resource: ['instance', 'volume'].map((type) => `arn:${partition}:ec2:${grants.region}:${accountId}:${type}/*`),
      Condition: {
        StringEquals: {
          [`aws:ResourceTag/${TAGS.project}`]: project,
          [`aws:ResourceTag/${TAGS.stack}`]: stack,
          [`aws:ResourceTag/${TAGS.service}`]: service
        }
      }
    })
  }
  return canonicalJson({ Version: '2012-10-17', Statement: statements })
}

function trustOk(document: string | undefined): boolean {
  if (!document) return false
  try {
    return canonicalJson(JSON.parse(decodeURIComponent(document))) === INSTANCE_TRUST_POLICY
  } catch {
    return false
  }
}

function toRole(r: Role): CurrentInstanceRole {
  const match = DESCRIPTION.exec(r.Description ?? '')
  return {
    name: r.RoleName ?? '',
    arn: r.Arn ?? '',
    service: match?.[1] ?? '',
    hash: match?.[2],
    trustOk: trustOk(r.AssumeRolePolicyDocument)
  }
}

export const instanceRole: KindOps<'instance-role'> = {
  kind: 'instance-role',
  noun: 'instance role',
  level: 'service',
  dependsOn: [],
  removeAfter: ['instance-profile'],
  async read({ aws, scope, verify }) {
    if (!verify) return {}
    const roles: CurrentInstanceRole[] = []
    try {
      for await (const page of paginateListRoles(
        { client: aws.through('iam'), pageSize: 1000 },
        { PathPrefix: instancePath(scope) }
      ))
        roles.push(...(page.Roles ?? []).map(toRole))
    } catch (err) {
      throw wrap(`listing the instance roles of stack ${scope.stack}`, err)
    }
    return { instanceRoles: roles }
  },
  diff({ current }, service) {
    const want = service.instanceRole
    if (!current.instanceRoles) {
      // Not verified: the template says which policy the role had when the template was made.
      const told = templateOf(current, service)?.rolePolicy
      const base = { kind: 'instance-role' as const, name: want.name, service: service.name, desired: want }
      if (told === undefined) return [{ ...base, action: 'create', reason: 'not found' }]
      if (told === want.hash) return [{ ...base, action: 'noop', reason: 'up to date' }]
      return [{ ...base, action: 'update', reason: 'permissions changed', fields: ['policy'] }]
    }
    const have = current.instanceRoles.find((r) => r.name === want.name)
    const base = {
      kind: 'instance-role' as const,
      name: want.name,
      service: service.name,
      desired: want,
      current: have
    }
    if (!have)
      return [{ ...base, action: 'create', reason: 'not found', drift: templateOf(current, service) !== undefined }]
    const reasons: string[] = []
    const fields: string[] = []
    if (have.hash !== want.hash) {
      reasons.push(have.hash ? 'permissions changed' : 'policy not yet in place')
      fields.push('policy')
    }
    if (!have.trustOk) {
      reasons.push('trust policy changed outside the action')
      fields.push('trust')
    }
    if (reasons.length === 0) return [{ ...base, action: 'noop', reason: 'up to date' }]
    // A role without the hash is one a run cut short before its policy was in place: finished, not drift.
    return [{ ...base, action: 'update', reason: reasons.join(', '), fields, drift: !have.trustOk }]
  },
  removals({ current, keep, reason }) {
    const roles =
      current.instanceRoles ??
      servicesLeaving(current, keep).map((service) => ({
        name: instanceRoleName(current.scope, service),
        arn: '',
        service,
        trustOk: true
      }))
    return roles
      .filter((r) => !keep.names.has(r.name))
      .map((r) => ({
        kind: 'instance-role' as const,
        action: 'delete' as const,
        name: r.name,
        service: r.service,
        reason,
        current: r
      }))
  },
  async apply(change, { e, refs, service }) {
    if (change.action === 'noop') return change.name
    if (!service) throw new Error(`instance role ${change.name} has no service`)
    const want = change.desired
    if (change.action === 'create') {
      try {
        // No hash in the description until the policy is in place: a run cut short here is repaired by the next.
        const out = await e.send(
          new CreateRoleCommand({
            RoleName: want.name,
            Path: want.path,
            AssumeRolePolicyDocument: INSTANCE_TRUST_POLICY,
            Description: description(service.name, 'pending'),
            Tags: tagList(want.tags)
          })
        )
        refs.accountId ??= out.Role?.Arn?.split(':')[4]
      } catch (err) {
        if (errorCode(err) !== 'EntityAlreadyExists') throw err
        await e.send(new UpdateAssumeRolePolicyCommand({ RoleName: want.name, PolicyDocument: INSTANCE_TRUST_POLICY }))
      }
    } else if (change.fields?.includes('trust')) {
      await e.send(new UpdateAssumeRolePolicyCommand({ RoleName: want.name, PolicyDocument: INSTANCE_TRUST_POLICY }))
    }
    if (change.action === 'create' || change.fields?.includes('policy')) {
      const account = await identity(e, refs, change.current?.arn)
      await e.retryOn(['NoSuchEntity'], () =>
        e.send(
          new PutRolePolicyCommand({
            RoleName: want.name,
            PolicyName: INSTANCE_POLICY_NAME,
            PolicyDocument: instancePolicy(want.grants, account)
          })
        )
      )
      await e.send(new UpdateRoleCommand({ RoleName: want.name, Description: description(service.name, want.hash) }))
    }
    e.done({ kind: 'instance-role', action: change.action, name: change.name, service: change.service })
    return change.name
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      await tolerate(['NoSuchEntity'], () =>
        e.send(new DeleteRolePolicyCommand({ RoleName: change.name, PolicyName: INSTANCE_POLICY_NAME }))
      )
      await tolerate(['NoSuchEntity'], () =>
        e.retryOn(['DeleteConflict'], () => e.send(new DeleteRoleCommand({ RoleName: change.name })))
      )
      e.done({ kind: 'instance-role', action: 'delete', name: change.name, service: change.service })
    }
  }
}
