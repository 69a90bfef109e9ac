/** Delete steps: ASGs, waiting for their instances, templates, groups, records, and the project-level stack. */
import { DeleteAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling'
import { DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs'
import { DeleteLaunchTemplateCommand, DeleteSecurityGroupCommand } from '@aws-sdk/client-ec2'
import { DeleteRuleCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge'
import { DeleteRoleCommand, DeleteRolePolicyCommand } from '@aws-sdk/client-iam'
import { DeleteFunctionCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda'
import { ChangeResourceRecordSetsCommand, DeleteHostedZoneCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import type { Change as R53Change, ResourceRecordSet } from '@aws-sdk/client-route-53'
import { listRecordsUnder, readInstances } from '../current.js'
import type { StackScope } from '../names.js'
import type { CurrentRecord } from '../state.js'
import type { Engine } from './engine.js'
import { errorMessage, errorName, sleep } from './retry.js'

/** Runs a delete; the listed error names mean "already gone" and count as done. */
export async function tolerate(gone: string[], run: () => Promise<unknown>, isGone?: (err: unknown) => boolean): Promise<boolean> {
  try {
    await run()
    return true
  } catch (err) {
    if (gone.includes(errorName(err)) || isGone?.(err)) return false
    throw err
  }
}

export async function deleteAsg(e: Engine, name: string): Promise<boolean> {
  return tolerate([], () =>
    e.retryOn(['ScalingActivityInProgress', 'ResourceInUse', 'ResourceContention'], () =>
      e.call('autoScaling', 'DeleteAutoScalingGroup', () =>
        e.clients.autoScaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }))
      )
    ),
    (err) => errorName(err) === 'ValidationError' && /not found|does not exist/i.test(errorMessage(err))
  )
}

/**
 * One poller for the whole stack: DescribeInstances on the stack's tags every
 * pollMs while anyone waits; each service's waiters resolve once none of its
 * instances is left (terminated instances are not matched). Reads do not grow
 * with the number of services.
 */
export class InstanceWatcher {
  private readonly waiters = new Map<string, Array<{ resolve: () => void; reject: (err: Error) => void }>>()
  private running = false

  constructor(
    private readonly e: Engine,
    private readonly scope: StackScope
  ) {}

  waitGone(service: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(service) ?? []
      list.push({ resolve, reject })
      this.waiters.set(service, list)
      if (!this.running) void this.loop()
    })
  }

  private async loop(): Promise<void> {
    this.running = true
    const deadline = Date.now() + this.e.timing.teardownMs
    // Instances usually go within a minute: poll soon, then back off to pollMs.
    let interval = Math.min(this.e.timing.pollMs, 1000)
    try {
      while (this.waiters.size > 0) {
        await sleep(interval)
        interval = Math.min(this.e.timing.pollMs, Math.round(interval * 1.5))
        this.e.reads += 1
        const live = await readInstances(this.e.clients, this.scope)
        const busy = new Map<string, number>()
        for (const i of live) busy.set(i.service, (busy.get(i.service) ?? 0) + 1)
        for (const [service, list] of [...this.waiters]) {
          if (busy.has(service)) continue
          this.waiters.delete(service)
          for (const w of list) w.resolve()
        }
        if (this.waiters.size > 0 && Date.now() > deadline) {
          throw new Error(`instances of ${[...this.waiters.keys()].join(', ')} still running after ${Math.round(this.e.timing.teardownMs / 1000)} s`)
        }
        if (this.waiters.size > 0) this.e.log(`  waiting for instances to terminate: ${[...busy.entries()].map(([s, n]) => `${s} ${n}`).join(', ')}`)
      }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      for (const list of this.waiters.values()) for (const w of list) w.reject(error)
      this.waiters.clear()
    } finally {
      this.running = false
    }
  }
}

export async function deleteLaunchTemplate(e: Engine, id: string): Promise<boolean> {
  return tolerate(['InvalidLaunchTemplateId.NotFound', 'InvalidLaunchTemplateName.NotFoundException'], () =>
    e.call('ec2', 'DeleteLaunchTemplate', () => e.clients.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id })))
  )
}

/** Deletes a security group once no network interface uses it (DependencyViolation is retried, bounded). */
export async function deleteSecurityGroup(e: Engine, id: string): Promise<boolean> {
  return tolerate(['InvalidGroup.NotFound', 'InvalidGroupId.NotFound'], () =>
    e.retryOn(['DependencyViolation'], () =>
      e.call('ec2', 'DeleteSecurityGroup', () => e.clients.ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })))
    , e.timing.teardownMs)
  )
}

function deletion(record: CurrentRecord): R53Change {
  return {
    Action: 'DELETE',
    ResourceRecordSet: { Name: record.name, Type: record.type as never, TTL: record.ttl, ResourceRecords: record.values.map((Value) => ({ Value })) }
  }
}

/** Record types a service name holds: its A record and its version record (TXT). */
const SERVICE_TYPES = new Set(['A', 'TXT'])

/**
 * Deletes the named records, A and version record (TXT) alike, with their exact
 * current values, in one batch; returns the names whose A record it deleted.
 * The DNS updater may change or delete them meanwhile: InvalidChangeBatch ->
 * read again and retry what is left (bounded).
 */
export async function deleteRecords(e: Engine, args: { zoneId: string; domain: string; names: Set<string> }): Promise<string[]> {
  for (let attempt = 0; attempt < 6; attempt += 1) {
    e.reads += 1
    const listed = await listRecordsUnder(e.clients, args.zoneId, args.domain).catch((err: unknown) => {
      if (errorName(err) === 'NoSuchHostedZone') return []
      throw err
    })
    const records = listed.filter((r) => SERVICE_TYPES.has(r.type) && args.names.has(r.name))
    if (records.length === 0) return []
    try {
      await e.call('route53', 'ChangeResourceRecordSets', () =>
        e.clients.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: args.zoneId, ChangeBatch: { Changes: records.map(deletion) } }))
      )
      return records.filter((r) => r.type === 'A').map((r) => r.name)
    } catch (err) {
      if (errorName(err) !== 'InvalidChangeBatch') throw err
      await sleep(Math.min(e.timing.baseDelayMs * 2 ** attempt, e.timing.maxDelayMs))
    }
  }
  throw new Error(`records ${[...args.names].join(', ')} kept changing while being deleted`)
}

// ------------------------------------------------------------------ project level

export async function removeTargetsAndRule(e: Engine, rule: string, targetIds: string[]): Promise<void> {
  if (targetIds.length > 0) {
    await tolerate(['ResourceNotFoundException'], () =>
      e.call('events', 'RemoveTargets', () => e.clients.events.send(new RemoveTargetsCommand({ Rule: rule, Ids: targetIds })))
    )
  }
  await tolerate(['ResourceNotFoundException'], () => e.call('events', 'DeleteRule', () => e.clients.events.send(new DeleteRuleCommand({ Name: rule }))))
}

export async function removePermission(e: Engine, fn: string, statementId: string): Promise<void> {
  await tolerate(['ResourceNotFoundException'], () =>
    e.call('lambda', 'RemovePermission', () => e.clients.lambda.send(new RemovePermissionCommand({ FunctionName: fn, StatementId: statementId })))
  )
}

export async function deleteFunction(e: Engine, fn: string): Promise<void> {
  await tolerate(['ResourceNotFoundException'], () =>
    e.retryOn(['ResourceConflictException'], () => e.call('lambda', 'DeleteFunction', () => e.clients.lambda.send(new DeleteFunctionCommand({ FunctionName: fn }))))
  )
}

export async function deleteLogGroup(e: Engine, name: string): Promise<void> {
  await tolerate(['ResourceNotFoundException'], () =>
    e.call('logs', 'DeleteLogGroup', () => e.clients.logs.send(new DeleteLogGroupCommand({ logGroupName: name })))
  )
}

export async function deleteRole(e: Engine, role: string, policy: string | undefined): Promise<void> {
  const gone = ['NoSuchEntity', 'NoSuchEntityException']
  if (policy) {
    await tolerate(gone, () => e.call('iam', 'DeleteRolePolicy', () => e.clients.iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: policy }))))
  }
  await tolerate(gone, () =>
    e.retryOn(['DeleteConflict', 'DeleteConflictException'], () => e.call('iam', 'DeleteRole', () => e.clients.iam.send(new DeleteRoleCommand({ RoleName: role }))))
  )
}

async function zoneRecords(e: Engine, zoneId: string): Promise<ResourceRecordSet[]> {
  const sets: ResourceRecordSet[] = []
  let start: { name?: string; type?: string } = {}
  for (;;) {
    const out = await e.call('route53', 'ListResourceRecordSets', () =>
      e.clients.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: start.name, StartRecordType: start.type as never, MaxItems: 300 }))
    )
    sets.push(...(out.ResourceRecordSets ?? []))
    if (!out.IsTruncated) return sets
    start = { name: out.NextRecordName, type: out.NextRecordType }
  }
}

/** Empties the zone (all but its apex SOA and NS) and deletes it; retried while the DNS updater races. */
export async function deleteZone(e: Engine, zoneId: string, zoneName: string): Promise<void> {
  const apex = `${zoneName}.`
  await tolerate(['NoSuchHostedZone'], () =>
    e.retryOn(['HostedZoneNotEmpty', 'InvalidChangeBatch'], async () => {
      const extra = (await zoneRecords(e, zoneId)).filter((s) => !(s.Name === apex && (s.Type === 'SOA' || s.Type === 'NS')))
      if (extra.length > 0) {
        await e.call('route53', 'ChangeResourceRecordSets', () =>
          e.clients.route53.send(
            new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: extra.map((s) => ({ Action: 'DELETE', ResourceRecordSet: s })) } })
          )
        )
      }
      await e.call('route53', 'DeleteHostedZone', () => e.clients.route53.send(new DeleteHostedZoneCommand({ Id: zoneId })))
    })
  )
}
