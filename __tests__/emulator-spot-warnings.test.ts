/**
 * Spot signals in the emulator, through the real SDK clients and the control API: the interruption warning
 * (EventBridge event and IMDS item first, the reclaim after simulation.spotReclaimDelayMs), the rebalance
 * recommendation, Auto Scaling's Capacity Rebalancing, and EnterStandby / ExitStandby.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  EnterStandbyCommand,
  ExitStandbyCommand
} from '@aws-sdk/client-auto-scaling'
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling'
import {
  CreateLaunchTemplateCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand
} from '@aws-sdk/client-ec2'
import type { Instance } from '@aws-sdk/client-ec2'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'
import type { AwsServiceEvent, InstanceStateChange } from '../emulator/types.js'

const WARNING = 'EC2 Spot Instance Interruption Warning'
const REBALANCE = 'EC2 Instance Rebalance Recommendation'
const IMAGE = 'ami-0a2023a1b2c3d4e5f'

interface Harness {
  emu: Emulator
  ec2: EC2Client
  asg: AutoScalingClient
  control: EmulatorClient
  /** Every aws.ec2 event and EC2 state change, in the order the emulator emitted them. */
  log: { kind: 'event' | 'state'; type: string; instanceId: string }[]
  close(): Promise<void>
}

async function harness(spotReclaimDelayMs: number): Promise<Harness> {
  const emu = await startEmulator({
    simulation: { launchDelayMs: 5, terminateDelayMs: 5, launchRetryMs: 30, spotReclaimDelayMs }
  })
  const log: Harness['log'] = []
  emu.cloud.bus.on('aws-event', (e: AwsServiceEvent) => {
    if (e.source === 'aws.ec2')
      log.push({ kind: 'event', type: e['detail-type'], instanceId: String(e.detail['instance-id']) })
  })
  emu.cloud.bus.on('ec2-state-change', (c: InstanceStateChange) =>
    log.push({ kind: 'state', type: c.state, instanceId: c.instanceId })
  )
  const ec2 = new EC2Client(sdkConfig(emu))
  const asg = new AutoScalingClient(sdkConfig(emu))
  return {
    emu,
    ec2,
    asg,
    control: new EmulatorClient(emu.endpoint),
    log,
    close: async () => {
      ec2.destroy()
      asg.destroy()
      await emu.stop()
    }
  }
}

/** A group of spot instances (no on-demand share), with or without Capacity Rebalancing. */
async function spotGroup(h: Harness, name: string, desired: number, capacityRebalance: boolean): Promise<string[]> {
  await h.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: `${name}-lt`,
      LaunchTemplateData: { ImageId: IMAGE, InstanceType: 't3.micro' }
    })
  )
  await h.asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: desired,
      CapacityRebalance: capacityRebalance,
      MixedInstancesPolicy: {
        LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateName: `${name}-lt`, Version: '$Latest' } },
        InstancesDistribution: { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0 }
      }
    })
  )
  const g = await eventually(async () => {
    const found = await group(h, name)
    const inService = found.Instances?.filter((i) => i.LifecycleState === 'InService') ?? []
    return inService.length === desired ? inService : undefined
  })
  return g.map((i) => i.InstanceId ?? '')
}

async function group(h: Harness, name: string): Promise<AutoScalingGroup> {
  const out = await h.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))
  const found = out.AutoScalingGroups?.[0]
  if (!found) throw new Error(`no group ${name}`)
  return found
}

async function instance(h: Harness, id: string): Promise<Instance> {
  const out = await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))
  const found = out.Reservations?.[0]?.Instances?.[0]
  if (!found) throw new Error(`no instance ${id}`)
  return found
}

/** Live (pending or running) instances of a group, as EC2 lists them. */
async function liveInstances(h: Harness, name: string): Promise<Instance[]> {
  const out = await h.ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:aws:autoscaling:groupName', Values: [name] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] }
      ]
    })
  )
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])
}

/** One IMDSv2 read: the status and the body. */
async function imds(h: Harness, id: string, path: string): Promise<{ status: number; body: string }> {
  const base = `${h.emu.endpoint}/_emulator/imds/${id}/latest`
  const token = await (
    await fetch(`${base}/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })
  ).text()
  const res = await fetch(`${base}/${path}`, { headers: { 'X-aws-ec2-metadata-token': token } })
  return { status: res.status, body: await res.text() }
}

function entries(h: Harness, id: string): string[] {
  return h.log.filter((e) => e.instanceId === id).map((e) => `${e.kind}:${e.type}`)
}

describe('a spot interruption warning', () => {
  /** Long enough that the checks right after the warning see the instance still running, short enough to wait out. */
  const DELAY_MS = 3000
  let h: Harness

  beforeAll(async () => {
    h = await harness(DELAY_MS)
  })
  afterAll(async () => {
    await h.close()
  })

  test('comes with its event and IMDS item first, and the instance is reclaimed only after the delay', async () => {
    const [id = ''] = await spotGroup(h, 'warned', 1, false)
    expect((await instance(h, id)).InstanceLifecycle).toBe('spot')
    expect((await imds(h, id, 'meta-data/spot/instance-action')).status).toBe(404)

    const warnedAt = Date.now()
    await h.control.spotInterrupt(id)

    expect(entries(h, id)).toEqual(['state:pending', 'state:running', `event:${WARNING}`])
    const action = await imds(h, id, 'meta-data/spot/instance-action')
    expect(action.status).toBe(200)
    const parsed = JSON.parse(action.body) as { action: string; time: string }
    expect(parsed.action).toBe('terminate')
    expect(parsed.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    // the announced reclaim time is the warning plus the delay (EC2's times have whole seconds)
    expect(Date.parse(parsed.time)).toBeGreaterThanOrEqual(warnedAt + DELAY_MS - 1000)
    expect(Date.parse(parsed.time)).toBeLessThanOrEqual(Date.now() + DELAY_MS)
    expect((await instance(h, id)).State?.Name).toBe('running')

    const reclaimed = await eventually(async () => {
      const i = await instance(h, id)
      return i.State?.Name === 'shutting-down' || i.State?.Name === 'terminated' ? i : undefined
    }, DELAY_MS + 10_000)
    expect(reclaimed.StateReason?.Code).toBe('Server.SpotInstanceTermination')
    expect(reclaimed.StateTransitionReason).toBeDefined()
    expect(entries(h, id).slice(0, 4)).toEqual([
      'state:pending',
      'state:running',
      `event:${WARNING}`,
      'state:shutting-down'
    ])
  }, 30_000)

  test('a second interrupt neither warns again nor reclaims twice', async () => {
    const [id = ''] = await spotGroup(h, 'twice', 1, false)
    await h.control.spotInterrupt(id)
    const first = (await imds(h, id, 'meta-data/spot/instance-action')).body
    await h.control.spotInterrupt(id)
    expect((await imds(h, id, 'meta-data/spot/instance-action')).body).toBe(first)
    await h.emu.waitIdle()
    expect((await instance(h, id)).State?.Name).toBe('terminated')
    const mine = entries(h, id)
    expect(mine.filter((e) => e === `event:${WARNING}`)).toHaveLength(1)
    expect(mine.filter((e) => e === 'state:shutting-down')).toHaveLength(1)
    expect(mine.filter((e) => e === 'state:terminated')).toHaveLength(1)
    // the group (no Capacity Rebalancing) replaces the instance only once EC2 reclaimed it
    const live = await liveInstances(h, 'twice')
    expect(live.map((i) => i.InstanceId)).not.toContain(id)
    expect(live).toHaveLength(1)
    const replacement = live[0]?.InstanceId ?? ''
    const order = h.log.map((e) => `${e.instanceId}:${e.type}`)
    expect(order.indexOf(`${id}:shutting-down`)).toBeGreaterThanOrEqual(0)
    expect(order.indexOf(`${replacement}:pending`)).toBeGreaterThan(order.indexOf(`${id}:shutting-down`))
  }, 30_000)

  test('is refused for an on-demand instance, which keeps running', async () => {
    const out = await h.ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, ImageId: IMAGE }))
    const id = out.Instances?.[0]?.InstanceId ?? ''
    await h.emu.waitIdle()
    await expect(h.control.spotInterrupt(id)).rejects.toThrow(/400.*InvalidParameterValue/)
    await expect(h.control.rebalance(id)).rejects.toThrow(/400.*InvalidParameterValue/)
    expect(() => h.emu.spotInterrupt(id)).toThrow(/not a spot instance/)
    await h.emu.waitIdle()
    expect((await instance(h, id)).State?.Name).toBe('running')
    expect((await imds(h, id, 'meta-data/spot/instance-action')).status).toBe(404)
    expect(entries(h, id).filter((e) => e.startsWith('event:'))).toEqual([])
  })
})

describe('a rebalance recommendation', () => {
  let h: Harness

  beforeAll(async () => {
    h = await harness(0)
  })
  afterAll(async () => {
    await h.close()
  })

  test('comes with its event and IMDS item, and the instance keeps running in a group without Capacity Rebalancing', async () => {
    const [id = ''] = await spotGroup(h, 'plain', 1, false)
    expect((await imds(h, id, 'meta-data/events/recommendations/rebalance')).status).toBe(404)
    await h.control.rebalance(id)
    const item = await imds(h, id, 'meta-data/events/recommendations/rebalance')
    expect(item.status).toBe(200)
    expect((JSON.parse(item.body) as { noticeTime: string }).noticeTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    await h.emu.waitIdle()
    expect(entries(h, id)).toEqual(['state:pending', 'state:running', `event:${REBALANCE}`])
    expect((await instance(h, id)).State?.Name).toBe('running')
    // no interruption notice came with it
    expect((await imds(h, id, 'meta-data/spot/instance-action')).status).toBe(404)
    // without Capacity Rebalancing nothing is launched
    expect((await liveInstances(h, 'plain')).map((i) => i.InstanceId)).toEqual([id])
  })

  test('with Capacity Rebalancing: a replacement is launched first, then the at-risk instance is terminated', async () => {
    const [id = ''] = await spotGroup(h, 'rebalanced', 1, true)
    await h.control.rebalance(id)
    await h.emu.waitIdle()
    const live = await liveInstances(h, 'rebalanced')
    expect(live).toHaveLength(1)
    const replacement = live[0]?.InstanceId ?? ''
    expect(replacement).not.toBe(id)
    expect(live[0]?.InstanceLifecycle).toBe('spot')
    const old = await instance(h, id)
    expect(old.State?.Name).toBe('terminated')
    expect(old.StateReason?.Code).not.toBe('Server.SpotInstanceTermination')
    // the replacement ran before the old instance began shutting down
    const order = h.log.map((e) => `${e.instanceId}:${e.type}`)
    expect(order.indexOf(`${replacement}:running`)).toBeGreaterThanOrEqual(0)
    expect(order.indexOf(`${replacement}:running`)).toBeLessThan(order.indexOf(`${id}:shutting-down`))
    const g = await group(h, 'rebalanced')
    expect(g.DesiredCapacity).toBe(1)
    expect(g.Instances?.map((i) => i.InstanceId)).toEqual([replacement])
  })
})

describe('Capacity Rebalancing on an interruption warning', () => {
  /** Far beyond the test: the group must act before EC2's reclaim. */
  let h: Harness

  beforeAll(async () => {
    h = await harness(600_000)
  })
  afterAll(async () => {
    await h.close()
  })

  test('launches a replacement and terminates the warned instance before the reclaim', async () => {
    const [id = ''] = await spotGroup(h, 'cr-warned', 1, true)
    await h.control.spotInterrupt(id)
    const replacement = await eventually(async () => {
      const g = await group(h, 'cr-warned')
      const other = g.Instances?.find((i) => i.InstanceId !== id && i.LifecycleState === 'InService')
      const gone = !g.Instances?.some((i) => i.InstanceId === id)
      return other && gone ? other.InstanceId : undefined
    })
    const old = await eventually(async () => {
      const i = await instance(h, id)
      return i.State?.Name === 'terminated' ? i : undefined
    })
    // terminated by Auto Scaling, not reclaimed by EC2
    expect(old.StateReason?.Code).not.toBe('Server.SpotInstanceTermination')
    const order = h.log.map((e) => `${e.instanceId}:${e.type}`)
    expect(order.indexOf(`${id}:${WARNING}`)).toBeLessThan(order.indexOf(`${replacement}:running`))
    expect(order.indexOf(`${replacement}:running`)).toBeLessThan(order.indexOf(`${id}:shutting-down`))
  })
})

describe('EnterStandby and ExitStandby', () => {
  let h: Harness

  beforeAll(async () => {
    h = await harness(0)
  })
  afterAll(async () => {
    await h.close()
  })

  const states = async (name: string): Promise<Record<string, string>> =>
    Object.fromEntries(
      ((await group(h, name)).Instances ?? []).map((i) => [i.InstanceId ?? '', i.LifecycleState ?? ''])
    )

  test('without decrementing the desired capacity, the group launches a replacement; ExitStandby raises desired', async () => {
    const [a = '', b = ''] = await spotGroup(h, 'standby-keep', 2, false)
    const out = await h.asg.send(
      new EnterStandbyCommand({
        AutoScalingGroupName: 'standby-keep',
        InstanceIds: [a],
        ShouldDecrementDesiredCapacity: false
      })
    )
    expect(out.Activities?.[0]?.Description).toContain(a)
    await h.emu.waitIdle()
    const after = await states('standby-keep')
    expect(after[a]).toBe('Standby')
    expect(after[b]).toBe('InService')
    expect(Object.values(after).filter((s) => s === 'InService')).toHaveLength(2)
    expect((await group(h, 'standby-keep')).DesiredCapacity).toBe(2)
    // the instance in standby keeps running
    expect((await instance(h, a)).State?.Name).toBe('running')

    await h.asg.send(new ExitStandbyCommand({ AutoScalingGroupName: 'standby-keep', InstanceIds: [a] }))
    await h.emu.waitIdle()
    const back = await states('standby-keep')
    expect(back[a]).toBe('InService')
    expect(Object.values(back).filter((s) => s === 'InService')).toHaveLength(3)
    expect((await group(h, 'standby-keep')).DesiredCapacity).toBe(3)
  })

  test('decrementing the desired capacity launches no replacement', async () => {
    const [a = ''] = await spotGroup(h, 'standby-shrink', 2, false)
    await h.asg.send(
      new EnterStandbyCommand({
        AutoScalingGroupName: 'standby-shrink',
        InstanceIds: [a],
        ShouldDecrementDesiredCapacity: true
      })
    )
    await h.emu.waitIdle()
    const after = await states('standby-shrink')
    expect(Object.keys(after)).toHaveLength(2)
    expect(after[a]).toBe('Standby')
    expect((await group(h, 'standby-shrink')).DesiredCapacity).toBe(1)
    expect(await liveInstances(h, 'standby-shrink')).toHaveLength(2)
  })

  test('refuses instances that are not InService (EnterStandby) or not in Standby (ExitStandby)', async () => {
    const [a = '', b = ''] = await spotGroup(h, 'standby-errors', 2, false)
    await h.asg.send(
      new EnterStandbyCommand({
        AutoScalingGroupName: 'standby-errors',
        InstanceIds: [a],
        ShouldDecrementDesiredCapacity: true
      })
    )
    await h.emu.waitIdle()
    const code = async (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'no error',
        (e: unknown) => (e as { Code?: string }).Code ?? (e as Error).name
      )
    // already in Standby
    expect(
      await code(
        h.asg.send(
          new EnterStandbyCommand({
            AutoScalingGroupName: 'standby-errors',
            InstanceIds: [a],
            ShouldDecrementDesiredCapacity: false
          })
        )
      )
    ).toBe('ValidationError')
    // InService, not in Standby
    expect(
      await code(h.asg.send(new ExitStandbyCommand({ AutoScalingGroupName: 'standby-errors', InstanceIds: [b] })))
    ).toBe('ValidationError')
    // not a member
    expect(
      await code(
        h.asg.send(
          new EnterStandbyCommand({
            AutoScalingGroupName: 'standby-errors',
            InstanceIds: ['i-0123456789abcdef0'],
            ShouldDecrementDesiredCapacity: false
          })
        )
      )
    ).toBe('ValidationError')
    await h.emu.waitIdle()
    const after = await states('standby-errors')
    expect(after[a]).toBe('Standby')
    expect(after[b]).toBe('InService')
  })
})
