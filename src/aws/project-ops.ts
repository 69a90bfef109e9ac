/** Apply steps of the project-level DNS stack. Each returns what its dependants need. */
import { readFile } from 'node:fs/promises'
import { CreateLogGroupCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs'
import { DescribeVpcAttributeCommand } from '@aws-sdk/client-ec2'
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge'
import { CreateRoleCommand, GetRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  GetFunctionCommand,
  RemovePermissionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand
} from '@aws-sdk/client-lambda'
import { CreateHostedZoneCommand } from '@aws-sdk/client-route-53'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { accountOf, findZone } from '../current.js'
import { functionEnvironment, logGroupArn, rolePolicyDocument } from '../desired.js'
import type { ChangeOf, DesiredFunction, DesiredZone } from '../state.js'
import type { Engine } from './engine.js'
import { errorMessage, errorName } from './retry.js'


export interface ProjectRefs {
  partition: string
  region: string
  accountId?: string
}

const tagList = (tags: Record<string, string>): Array<{ Key: string; Value: string }> =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))

/** The account id: from an ARN already seen, else STS (one read, only on a fresh account/region). */
export async function accountId(e: Engine, refs: ProjectRefs, hint?: string): Promise<string> {
  refs.accountId ??= accountOf(hint)
  if (!refs.accountId) {
    const out = await e.call('sts', 'GetCallerIdentity', () => e.clients.sts.send(new GetCallerIdentityCommand({})))
    refs.accountId = out.Account ?? ''
  }
  return refs.accountId
}

// ------------------------------------------------------------------ zone

async function vpcDnsProblem(e: Engine, vpcId: string): Promise<string | undefined> {
  const read = (Attribute: 'enableDnsSupport' | 'enableDnsHostnames') =>
    e.call('ec2', 'DescribeVpcAttribute', () => e.clients.ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute })))
  const [support, hostnames] = await Promise.all([read('enableDnsSupport'), read('enableDnsHostnames')])
  const missing = [
    support.EnableDnsSupport?.Value ? '' : 'enable-dns-support',
    hostnames.EnableDnsHostnames?.Value ? '' : 'enable-dns-hostnames'
  ].filter(Boolean)
  if (missing.length === 0) return undefined
  const fix = missing.map((m) => `aws ec2 modify-vpc-attribute --vpc-id ${vpcId} --${m}`).join('; ')
  return `VPC ${vpcId} has ${missing.join(' and ')} off; a private hosted zone needs DNS support and DNS hostnames (${fix})`
}

const MAX_GENERATIONS = 50

/**
 * Creates the private zone with CallerReference `<base>/<n>`. The same n for the
 * same zone, so a re-run after a crash (or a concurrent run) gets
 * HostedZoneAlreadyExists and adopts the zone instead of making a second one.
 * A reference is never reusable, even after its zone was deleted (destroy then
 * deploy): when the zone does not exist, the next n is tried.
 */
export async function createZone(e: Engine, zone: DesiredZone): Promise<string> {
  const problem = await vpcDnsProblem(e, zone.vpcId)
  if (problem) throw new Error(problem)
  for (let n = 1; n <= MAX_GENERATIONS; n += 1) {
    try {
      const out = await e.call('route53', 'CreateHostedZone', () =>
        e.clients.route53.send(
          new CreateHostedZoneCommand({
            Name: zone.name,
            CallerReference: `${zone.callerReference}/${n}`,
            VPC: { VPCId: zone.vpcId, VPCRegion: zone.region as never },
            HostedZoneConfig: { PrivateZone: true, Comment: 'hyperform-action: service records' }
          })
        )
      )
      return (out.HostedZone?.Id ?? '').replace(/^\/hostedzone\//, '')
    } catch (err) {
      if (!['HostedZoneAlreadyExists', 'ConflictingDomainExists'].includes(errorName(err))) throw err
      e.reads += 1
      const existing = await findZone(e.clients, zone.name, zone.vpcId)
      if (existing) return existing.id
      if (errorName(err) === 'ConflictingDomainExists') throw err
    }
  }
  throw new Error(`no unused CallerReference for ${zone.name} after ${MAX_GENERATIONS} tries`)
}

// ------------------------------------------------------------------ role

export async function createRole(e: Engine, change: ChangeOf<'iam-role'>): Promise<string> {
  const role = change.desired
  if (!role) throw new Error('no desired role')
  try {
    const out = await e.call('iam', 'CreateRole', () =>
      e.clients.iam.send(
        new CreateRoleCommand({
          RoleName: role.name,
          AssumeRolePolicyDocument: role.assumeRolePolicy,
          Description: 'hyperform-action: the DNS updater Lambda',
          Tags: tagList(role.tags)
        })
      )
    )
    return out.Role?.Arn ?? ''
  } catch (err) {
    if (errorName(err) !== 'EntityAlreadyExists' && errorName(err) !== 'EntityAlreadyExistsException') throw err
    const out = await e.call('iam', 'GetRole', () => e.clients.iam.send(new GetRoleCommand({ RoleName: role.name })))
    return out.Role?.Arn ?? ''
  }
}

export async function putRolePolicy(e: Engine, change: ChangeOf<'role-policy'>, refs: ProjectRefs & { zoneId: string; accountId: string }): Promise<void> {
  const policy = change.desired
  if (!policy) throw new Error('no desired policy')
  const arn = logGroupArn({ partition: policy.partition, region: policy.region, accountId: refs.accountId, name: policy.logGroupName })
  const document = rolePolicyDocument({ partition: policy.partition, zoneId: refs.zoneId, logGroupArn: arn })
  await e.call('iam', 'PutRolePolicy', () =>
    e.clients.iam.send(new PutRolePolicyCommand({ RoleName: policy.roleName, PolicyName: policy.policyName, PolicyDocument: JSON.stringify(document) }))
  )
}

// ------------------------------------------------------------------ log group

export async function ensureLogGroup(e: Engine, change: ChangeOf<'log-group'>): Promise<void> {
  const group = change.desired
  if (!group) throw new Error('no desired log group')
  if (change.action === 'create') {
    try {
      await e.call('logs', 'CreateLogGroup', () => e.clients.logs.send(new CreateLogGroupCommand({ logGroupName: group.name, tags: group.tags })))
    } catch (err) {
      if (errorName(err) !== 'ResourceAlreadyExistsException') throw err
    }
  }
  await e.retryOn(['ResourceNotFoundException'], () =>
    e.call('logs', 'PutRetentionPolicy', () =>
      e.clients.logs.send(new PutRetentionPolicyCommand({ logGroupName: group.name, retentionInDays: group.retentionDays }))
    )
  )
}

// ------------------------------------------------------------------ function

const roleNotReady = (err: unknown): boolean =>
  errorName(err) === 'InvalidParameterValueException' && /assume|role/i.test(errorMessage(err))
const busy = (err: unknown): boolean =>
  errorName(err) === 'ResourceConflictException' && !/already exist/i.test(errorMessage(err))

interface FunctionArgs {
  fn: DesiredFunction
  roleArn: string
  zoneId: string
}

function configuration(args: FunctionArgs): {
  FunctionName: string
  Runtime: never
  Handler: string
  Role: string
  Timeout: number
  MemorySize: number
  Environment: { Variables: Record<string, string> }
} {
  return {
    FunctionName: args.fn.name,
    Runtime: args.fn.runtime as never,
    Handler: args.fn.handler,
    Role: args.roleArn,
    Timeout: args.fn.timeout,
    MemorySize: args.fn.memorySize,
    Environment: { Variables: functionEnvironment(args.fn.environment, args.zoneId) }
  }
}

async function readZip(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new Error(`reading the DNS updater bundle ${path}: ${errorMessage(err)}`, { cause: err })
  }
}

async function updateFunction(e: Engine, args: FunctionArgs & { config: boolean; code: boolean }): Promise<string> {
  let arn = ''
  if (args.config) {
    const out = await e.retryOn((err) => busy(err) || roleNotReady(err), () =>
      e.call('lambda', 'UpdateFunctionConfiguration', () => e.clients.lambda.send(new UpdateFunctionConfigurationCommand(configuration(args)))),
      e.timing.rolePropagationMs
    )
    arn = out.FunctionArn ?? ''
  }
  if (args.code) {
    const zip = await readZip(args.fn.zipPath)
    const out = await e.retryOn(busy, () =>
      e.call('lambda', 'UpdateFunctionCode', () => e.clients.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: args.fn.name, ZipFile: zip })))
    )
    arn = out.FunctionArn ?? arn
  }
  return arn
}

/** Creates the function (retrying while the new role is not assumable yet) or adopts an existing one. */
async function createFunction(e: Engine, args: FunctionArgs): Promise<string> {
  const zip = await readZip(args.fn.zipPath)
  try {
    const out = await e.retryOn(roleNotReady, () =>
      e.call('lambda', 'CreateFunction', () =>
        e.clients.lambda.send(new CreateFunctionCommand({ ...configuration(args), Code: { ZipFile: zip }, Tags: args.fn.tags }))
      ),
      e.timing.rolePropagationMs
    )
    return out.FunctionArn ?? ''
  } catch (err) {
    if (errorName(err) !== 'ResourceConflictException') throw err
    const existing = await e.call('lambda', 'GetFunction', () => e.clients.lambda.send(new GetFunctionCommand({ FunctionName: args.fn.name })))
    const code = existing.Configuration?.CodeSha256 !== args.fn.codeSha256
    return (await updateFunction(e, { ...args, config: true, code })) || (existing.Configuration?.FunctionArn ?? '')
  }
}

export async function ensureFunction(e: Engine, change: ChangeOf<'lambda-function'>, args: Omit<FunctionArgs, 'fn'>): Promise<string> {
  const fn = change.desired
  if (!fn) throw new Error('no desired function')
  if (change.action === 'create') return createFunction(e, { ...args, fn })
  const config = (change.fields ?? []).some((f) => f !== 'code')
  const arn = await updateFunction(e, { ...args, fn, config, code: change.codeChanged === true })
  return arn || change.current?.arn || ''
}

// ------------------------------------------------------------------ rule, target, permission

export async function putRule(e: Engine, change: ChangeOf<'event-rule'>): Promise<string> {
  const rule = change.desired
  if (!rule) throw new Error('no desired rule')
  const out = await e.call('events', 'PutRule', () =>
    e.clients.events.send(
      new PutRuleCommand({
        Name: rule.name,
        EventPattern: rule.eventPattern,
        State: 'ENABLED',
        Description: rule.description,
        ...(change.action === 'create' ? { Tags: tagList(rule.tags) } : {})
      })
    )
  )
  return out.RuleArn ?? ''
}

/** PutTargets reports failures in FailedEntries instead of throwing: retry those. */
export async function putTarget(e: Engine, change: ChangeOf<'event-target'>, functionArn: string): Promise<void> {
  const target = change.desired
  if (!target) throw new Error('no desired target')
  await e.retryOn(['FailedEntries'], async () => {
    const out = await e.call('events', 'PutTargets', () =>
      e.clients.events.send(new PutTargetsCommand({ Rule: target.ruleName, Targets: [{ Id: target.id, Arn: functionArn }] }))
    )
    if ((out.FailedEntryCount ?? 0) > 0) {
      const entry = out.FailedEntries?.[0]
      const error = new Error(`PutTargets failed for ${entry?.TargetId ?? target.id}: ${entry?.ErrorCode ?? ''} ${entry?.ErrorMessage ?? ''}`)
      error.name = 'FailedEntries'
      throw error
    }
  })
}

export async function ensurePermission(e: Engine, change: ChangeOf<'lambda-permission'>, ruleArn: string): Promise<void> {
  const p = change.desired
  if (!p) throw new Error('no desired permission')
  if (change.action === 'replace') {
    try {
      await e.call('lambda', 'RemovePermission', () =>
        e.clients.lambda.send(new RemovePermissionCommand({ FunctionName: p.functionName, StatementId: p.statementId }))
      )
    } catch (err) {
      if (errorName(err) !== 'ResourceNotFoundException') throw err
    }
  }
  try {
    await e.retryOn((err) => busy(err) || errorName(err) === 'ResourceNotFoundException', () =>
      e.call('lambda', 'AddPermission', () =>
        e.clients.lambda.send(
          new AddPermissionCommand({ FunctionName: p.functionName, StatementId: p.statementId, Action: p.action, Principal: p.principal, SourceArn: ruleArn })
        )
      )
    )
  } catch (err) {
    // A crashed run may have added it already: the statement id exists.
    if (errorName(err) !== 'ResourceConflictException') throw err
  }
}
