/** The stack's instances: one tag-filtered DescribeInstances (1000 a page), and one poller for teardowns. */
import { paginateDescribeInstances } from '@aws-sdk/client-ec2'
import { TAGS, type StackScope } from '../names.js'
import { stackFilters, tagMap } from '../resources/kind.js'
import type { CurrentInstance } from '../state.js'
import { wrap } from './errors.js'
import { sleep } from './retry.js'
import type { Aws } from './send.js'

export const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped']

/** The stack's instances in `states` (default: not terminated). */
export async function readInstances(
  aws: Aws,
  scope: StackScope,
  states: string[] = LIVE_STATES
): Promise<CurrentInstance[]> {
  const instances: CurrentInstance[] = []
  const Filters = [...stackFilters(scope), { Name: 'instance-state-name', Values: states }]
  try {
    for await (const page of paginateDescribeInstances({ client: aws.through('ec2'), pageSize: 1000 }, { Filters })) {
      for (const reservation of page.Reservations ?? []) {
        for (const i of reservation.Instances ?? []) {
          const tags = tagMap(i.Tags)
          instances.push({
            id: i.InstanceId ?? '',
            service: tags[TAGS.service] ?? '',
            capacity: tags[TAGS.capacity],
            state: i.State?.Name ?? '',
            privateIp: i.PrivateIpAddress,
            ...(i.PublicIpAddress ? { publicIp: i.PublicIpAddress } : {}),
            ...(tags[TAGS.leaving] !== undefined ? { leaving: true } : {}),
            ...(i.InstanceType ? { instanceType: i.InstanceType } : {}),
            ...(i.Placement?.AvailabilityZone ? { zone: i.Placement.AvailabilityZone } : {})
          })
        }
      }
    }
  } catch (err) {
    throw wrap(`listing instances of stack ${scope.stack}`, err)
  }
  return instances
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
    private readonly aws: Aws,
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
    const { timing } = this.aws
    const deadline = Date.now() + timing.teardownMs
    // Instances usually go within a minute: poll soon, then back off to pollMs.
    let interval = Math.min(timing.pollMs, 1000)
    try {
      while (this.waiters.size > 0) {
        await sleep(interval)
        interval = Math.min(timing.pollMs, Math.round(interval * 1.5))
        const live = await readInstances(this.aws, this.scope)
        const busy = new Map<string, number>()
        for (const i of live) busy.set(i.service, (busy.get(i.service) ?? 0) + 1)
        for (const [service, list] of [...this.waiters]) {
          if (busy.has(service)) continue
          this.waiters.delete(service)
          for (const w of list) w.resolve()
        }
        if (this.waiters.size > 0 && Date.now() > deadline) {
          throw new Error(
            `instances of ${[...this.waiters.keys()].join(', ')} still running after ${Math.round(timing.teardownMs / 1000)} s`
          )
        }
        if (this.waiters.size > 0)
          this.aws.log(
            `  waiting for instances to terminate: ${[...busy.entries()].map(([s, n]) => `${s} ${n}`).join(', ')}`
          )
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
