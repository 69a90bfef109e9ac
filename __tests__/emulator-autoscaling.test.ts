import {
  AlreadyExistsFault,
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  CompleteLifecycleActionCommand,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingInstancesCommand,
  paginateDescribeAutoScalingInstances,
  CreateOrUpdateTagsCommand,
  DeleteAutoScalingGroupCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  DescribeScalingActivitiesCommand,
  RollbackInstanceRefreshCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand
} from '@aws-sdk/client-auto-scaling'
import type {
  AutoScalingGroup,
  AutoScalingInstanceDetails,
  InstanceRefresh,
  StartInstanceRefreshType
} from '@aws-sdk/client-auto-scaling'
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  TerminateInstancesCommand
} from '@aws-sdk/client-ec2'
import type { Instance } from '@aws-sdk/client-ec2'
import { jest } from '@jest/globals'
import { startEmulator } from '../emulator/server.js'
import type { InstanceStateChange } from '../emulator/types.js'
import type { Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let ec2: EC2Client
let asg: AutoScalingClient

beforeAll(async () => {
  emu = await startEmulator({
    simulation: { launchDelayMs: 5, terminateDelayMs: 5, launchRetryMs: 30, spotReclaimDelayMs: 0 }
  })
  ec2 = new EC2Client(sdkConfig(emu))
  asg = new AutoScalingClient(sdkConfig(emu))
})

afterAll(async () => {
  ec2.destroy()
  asg.destroy()
  await emu.stop()
})

/** The wire error code (the SDK names modeled errors after their shape, e.g. AlreadyExistsFault). */
async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    return (err as { Code?: string }).Code ?? (err as Error).name
  }
  throw new Error('expected the call to fail')
}

async function template(name: string, data: Record<string, unknown> = {}): Promise<string> {
  const out = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: { ImageId: 'ami-0a1b2c3d4e5f60001', InstanceType: 't3.micro', ...data }
    })
  )
  return out.LaunchTemplate?.LaunchTemplateId ?? ''
}

async function group(name: string): Promise<AutoScalingGroup> {
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))
  const found = out.AutoScalingGroups?.[0]
  if (!found) throw new Error(`no group ${name}`)
  return found
}

async function groupInstances(name: string, states = ['pending', 'running']): Promise<Instance[]> {
  const out = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:aws:autoscaling:groupName', Values: [name] },
        { Name: 'instance-state-name', Values: states }
      ]
    })
  )
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])
}

async function createGroup(name: string, desired: number, extra: Record<string, unknown> = {}): Promise<void> {
  await template(`${name}-lt`)
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: desired,
      LaunchTemplate: { LaunchTemplateName: `${name}-lt`, Version: '$Latest' },
      ...extra
    })
  )
  await emu.waitIdle()
}

describe('DescribeAutoScalingInstances', () => {
  test('lists the named members of any group, HealthStatus uppercase, unknown ids left out', async () => {
    await createGroup('by-id', 3)
    const ids = (await group('by-id')).Instances?.map((i) => i.InstanceId ?? '') ?? []
    const out = await asg.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [ids[0] ?? '', 'i-0123456789abcdef0'] })
    )
    expect(out.AutoScalingInstances).toEqual([
      expect.objectContaining({
        InstanceId: ids[0],
        AutoScalingGroupName: 'by-id',
        LifecycleState: 'InService',
        HealthStatus: 'HEALTHY',
        ProtectedFromScaleIn: false,
        LaunchTemplate: expect.objectContaining({ LaunchTemplateName: 'by-id-lt', Version: '1' })
      })
    ])
    expect(out.AutoScalingInstances?.[0]?.AvailabilityZone).toMatch(/^[a-z]{2}-[a-z]+-\d[a-z]$/)
    expect(out.AutoScalingInstances?.[0]?.InstanceType).toBe('t3.micro')
    const first = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ids, MaxRecords: 2 }))
    expect(first.AutoScalingInstances).toHaveLength(2)
    const rest = await asg.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: ids, MaxRecords: 2, NextToken: first.NextToken })
    )
    expect(rest.NextToken).toBeUndefined()
    expect(
      [...(first.AutoScalingInstances ?? []), ...(rest.AutoScalingInstances ?? [])].map((i) => i.InstanceId).sort()
    ).toEqual([...ids].sort())
    const many = Array.from({ length: 51 }, (_, n) => `i-${String(n).padStart(17, '0')}`)
    expect(await errorName(asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: many })))).toBe(
      'ValidationError'
    )
  })
})

describe('group lifecycle', () => {
  test('a group of desired 3 launches 3 running instances spread over three availability zones', async () => {
    await createGroup('three', 3)
    const g = await group('three')
    expect(g.Instances).toHaveLength(3)
    expect(g.Instances?.every((i) => i.LifecycleState === 'InService' && i.HealthStatus === 'Healthy')).toBe(true)
    expect(new Set(g.Instances?.map((i) => i.AvailabilityZone)).size).toBe(3)
    expect(g.Instances?.[0]?.LaunchTemplate?.Version).toBe('1')
    expect(await groupInstances('three', ['running'])).toHaveLength(3)
  })

  test('a group of desired 3 keeps 3 running after one is terminated', async () => {
    await createGroup('keep3', 3)
    const [victim] = await groupInstances('keep3')
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [victim?.InstanceId ?? ''] }))
    await emu.waitIdle()
    const running = await groupInstances('keep3', ['running'])
    expect(running).toHaveLength(3)
    expect(running.map((i) => i.InstanceId)).not.toContain(victim?.InstanceId)
    expect((await group('keep3')).Instances).toHaveLength(3)
  })

  test('an instance terminated through the emulator handle is replaced too', async () => {
    await createGroup('handle-term', 2)
    const [victim] = await groupInstances('handle-term')
    emu.terminateInstance(victim?.InstanceId ?? '')
    await emu.waitIdle()
    const running = await groupInstances('handle-term', ['running'])
    expect(running).toHaveLength(2)
    expect(running.map((i) => i.InstanceId)).not.toContain(victim?.InstanceId)
  })

  test('tags with PropagateAtLaunch reach the instances and others do not', async () => {
    await createGroup('tagged', 2, {
      Tags: [
        { Key: 'project', Value: 'prj-demo', PropagateAtLaunch: true },
        { Key: 'internal', Value: 'x', PropagateAtLaunch: false }
      ]
    })
    const instances = await groupInstances('tagged')
    for (const i of instances) {
      const tags = Object.fromEntries((i.Tags ?? []).map((t) => [t.Key, t.Value]))
      expect(tags.project).toBe('prj-demo')
      expect(tags['aws:autoscaling:groupName']).toBe('tagged')
      expect(tags.internal).toBeUndefined()
    }
  })

  test('private IPs are unique and inside the subnets of the group', async () => {
    await createGroup('ips', 6)
    const instances = await groupInstances('ips')
    const subnets = await ec2.send(new DescribeSubnetsCommand({}))
    const cidrOf = new Map((subnets.Subnets ?? []).map((s) => [s.SubnetId, s.CidrBlock ?? '']))
    const ips = instances.map((i) => i.PrivateIpAddress ?? '')
    expect(new Set(ips).size).toBe(6)
    for (const i of instances) {
      const cidr = cidrOf.get(i.SubnetId) ?? ''
      const third = Number(i.PrivateIpAddress?.split('.')[2])
      const base = Number(cidr.split('.')[2])
      expect(i.PrivateIpAddress?.startsWith('172.28.')).toBe(true)
      expect(third >= base && third < base + 16).toBe(true)
    }
  })

  test('scaling in terminates instances down to the new desired capacity', async () => {
    await createGroup('shrink', 4)
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'shrink', DesiredCapacity: 1 }))
    await emu.waitIdle()
    expect(await groupInstances('shrink', ['running'])).toHaveLength(1)
    expect((await group('shrink')).Instances).toHaveLength(1)
  })

  test('an update can switch a group to a spot distribution and raise MinSize, which raises desired', async () => {
    await createGroup('switch', 1)
    await asg.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: 'switch',
        MinSize: 3,
        MixedInstancesPolicy: {
          LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateName: 'switch-lt', Version: '$Latest' } },
          InstancesDistribution: { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0 }
        }
      })
    )
    await emu.waitIdle()
    const g = await group('switch')
    expect([g.MinSize, g.DesiredCapacity]).toEqual([3, 3])
    expect(g.LaunchTemplate).toBeUndefined()
    expect(g.MixedInstancesPolicy?.InstancesDistribution?.OnDemandPercentageAboveBaseCapacity).toBe(0)
    const instances = await groupInstances('switch')
    expect(instances).toHaveLength(3)
    expect(instances.filter((i) => i.InstanceLifecycle === 'spot')).toHaveLength(2)
  })

  test('an update with a desired capacity above MaxSize is a ValidationError and changes nothing', async () => {
    await createGroup('too-big', 1)
    expect(
      await errorName(
        asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'too-big', DesiredCapacity: 11 }))
      )
    ).toBe('ValidationError')
    expect((await group('too-big')).DesiredCapacity).toBe(1)
  })

  test('the VPCZoneIdentifier limits launches to the listed subnets', async () => {
    const subnets = await ec2.send(new DescribeSubnetsCommand({}))
    const only = subnets.Subnets?.[1]
    await createGroup('one-subnet', 2, { VPCZoneIdentifier: only?.SubnetId })
    const instances = await groupInstances('one-subnet')
    expect(instances.map((i) => i.SubnetId)).toEqual([only?.SubnetId, only?.SubnetId])
    expect((await group('one-subnet')).AvailabilityZones).toEqual([only?.AvailabilityZone])
  })
})

describe('state-change announcements', () => {
  test('every instance state change is announced on the bus, in order, with the region', async () => {
    const seen: InstanceStateChange[] = []
    const listener = (change: InstanceStateChange): void => {
      seen.push(change)
    }
    emu.cloud.bus.on('ec2-state-change', listener)
    await createGroup('announce', 1)
    const [instance] = await groupInstances('announce')
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'announce', ForceDelete: true }))
    await emu.waitIdle()
    emu.cloud.bus.off('ec2-state-change', listener)
    const mine = seen.filter((c) => c.instanceId === instance?.InstanceId)
    expect(mine.map((c) => c.state)).toEqual(['pending', 'running', 'shutting-down', 'terminated'])
    expect(mine.every((c) => c.region === 'us-east-1' && typeof c.time === 'number')).toBe(true)
  })

  test('a listener that throws does not stop the simulation', async () => {
    const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined)
    const faulty = (): void => {
      throw new Error('listener bug')
    }
    emu.cloud.bus.on('ec2-state-change', faulty)
    await createGroup('robust', 2)
    emu.cloud.bus.off('ec2-state-change', faulty)
    expect(quiet).toHaveBeenCalled()
    quiet.mockRestore()
    expect(await groupInstances('robust', ['running'])).toHaveLength(2)
  })
})

describe('spot and mixed instances', () => {
  async function mixedGroup(
    name: string,
    desired: number,
    distribution: Record<string, unknown>,
    types: string[] = ['t3.small']
  ): Promise<void> {
    await template(`${name}-lt`)
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        MinSize: 0,
        MaxSize: 10,
        DesiredCapacity: desired,
        CapacityRebalance: true,
        MixedInstancesPolicy: {
          LaunchTemplate: {
            LaunchTemplateSpecification: { LaunchTemplateName: `${name}-lt`, Version: '$Latest' },
            Overrides: types.map((InstanceType) => ({ InstanceType }))
          },
          InstancesDistribution: distribution
        }
      })
    )
    await emu.waitIdle()
  }

  test('0% on-demand above a base of 0 gives only spot instances', async () => {
    await mixedGroup('spot', 3, {
      OnDemandBaseCapacity: 0,
      OnDemandPercentageAboveBaseCapacity: 0,
      SpotAllocationStrategy: 'price-capacity-optimized'
    })
    const instances = await groupInstances('spot')
    expect(instances).toHaveLength(3)
    expect(instances.every((i) => i.InstanceLifecycle === 'spot' && i.InstanceType === 't3.small')).toBe(true)
    const g = await group('spot')
    expect(g.MixedInstancesPolicy?.InstancesDistribution).toMatchObject({
      OnDemandPercentageAboveBaseCapacity: 0,
      SpotAllocationStrategy: 'price-capacity-optimized'
    })
    expect(g.CapacityRebalance).toBe(true)
  })

  test('the default distribution (100% on-demand) launches on-demand instances', async () => {
    await mixedGroup('default-dist', 2, {})
    const instances = await groupInstances('default-dist')
    expect(instances.every((i) => i.InstanceLifecycle === undefined)).toBe(true)
    expect(
      (await group('default-dist')).MixedInstancesPolicy?.InstancesDistribution?.OnDemandPercentageAboveBaseCapacity
    ).toBe(100)
  })

  test('an on-demand base of 1 and 50% above it splits 5 instances into 3 on-demand and 2 spot', async () => {
    await mixedGroup('split', 5, { OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 50 })
    const instances = await groupInstances('split')
    expect(instances.filter((i) => i.InstanceLifecycle === 'spot')).toHaveLength(2)
    expect(instances.filter((i) => i.InstanceLifecycle !== 'spot')).toHaveLength(3)
  })

  test('a spot interruption terminates the instance and the group launches a spot replacement', async () => {
    await mixedGroup('interrupt', 2, { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0 })
    const [victim] = await groupInstances('interrupt')
    emu.spotInterrupt(victim?.InstanceId ?? '')
    await emu.waitIdle()
    const gone = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [victim?.InstanceId ?? ''] }))
    expect(gone.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('terminated')
    expect(gone.Reservations?.[0]?.Instances?.[0]?.StateReason?.Code).toBe('Server.SpotInstanceTermination')
    const running = await groupInstances('interrupt', ['running'])
    expect(running).toHaveLength(2)
    expect(running.every((i) => i.InstanceLifecycle === 'spot')).toBe(true)
  })

  test('a spot group whose first type has no spot capacity launches its other type and records no failed launch', async () => {
    emu.spotCapacity({ instanceType: 't3.small', available: false })
    try {
      await mixedGroup('one-pool-gone', 2, { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0 }, [
        't3.small',
        't3a.small'
      ])
      const running = await eventually(async () => {
        await emu.waitIdle()
        const list = await groupInstances('one-pool-gone', ['running'])
        return list.length === 2 ? list : undefined
      })
      expect(running.map((i) => i.InstanceType)).toEqual(['t3a.small', 't3a.small'])
      expect(running.every((i) => i.InstanceLifecycle === 'spot')).toBe(true)
      const activities = await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'one-pool-gone' }))
      expect(activities.Activities?.some((a) => a.StatusCode === 'Failed')).toBe(false)
    } finally {
      emu.spotCapacity({ available: true })
    }
  })

  test('a spot group launches in the zones that have spot capacity when one zone has none', async () => {
    const subnets = await ec2.send(new DescribeSubnetsCommand({}))
    const gone = subnets.Subnets?.[0]?.AvailabilityZone ?? ''
    emu.spotCapacity({ availabilityZone: gone, available: false })
    try {
      await mixedGroup('zone-gone', 3, { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0 })
      const running = await eventually(async () => {
        await emu.waitIdle()
        const list = await groupInstances('zone-gone', ['running'])
        return list.length === 3 ? list : undefined
      })
      expect(running.map((i) => i.Placement?.AvailabilityZone)).not.toContain(gone)
    } finally {
      emu.spotCapacity({ available: true })
    }
  })

  test('with every pool of a spot group gone its activity says what AWS says, and capacity given back launches it', async () => {
    emu.spotCapacity({ instanceType: 't3.small', available: false })
    emu.spotCapacity({ instanceType: 't3a.small', available: false })
    await mixedGroup('all-pools-gone', 1, { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0 }, [
      't3.small',
      't3a.small'
    ])
    expect(await groupInstances('all-pools-gone')).toEqual([])
    const activities = await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'all-pools-gone' }))
    expect(activities.Activities?.[0]).toMatchObject({
      StatusCode: 'Failed',
      StatusMessage:
        'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.'
    })
    expect(emu.spotCapacity({ instanceType: 't3a.small', available: true })).toEqual([{ instanceType: 't3.small' }])
    const running = await eventually(async () => {
      await emu.waitIdle()
      const list = await groupInstances('all-pools-gone', ['running'])
      return list.length === 1 ? list : undefined
    })
    expect(running[0]?.InstanceType).toBe('t3a.small')
    emu.spotCapacity({ available: true })
  })

  test('without spot capacity a spot group launches nothing, never falls back to on-demand, and recovers when capacity returns', async () => {
    emu.setFaults({ spotCapacityUnavailable: true })
    await mixedGroup('no-capacity', 2, { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0 })
    expect(await groupInstances('no-capacity')).toEqual([])
    const activities = await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'no-capacity' }))
    expect(activities.Activities?.[0]).toMatchObject({ StatusCode: 'Failed' })
    expect(activities.Activities?.[0]?.StatusMessage).toContain('InsufficientInstanceCapacity')
    emu.setFaults({ spotCapacityUnavailable: false })
    const running = await eventually(async () => {
      await emu.waitIdle()
      const list = await groupInstances('no-capacity', ['running'])
      return list.length === 2 ? list : undefined
    })
    expect(running.every((i) => i.InstanceLifecycle === 'spot')).toBe(true)
  })

  test('interrupting an on-demand instance is refused', async () => {
    await createGroup('not-spot', 1)
    const [instance] = await groupInstances('not-spot')
    expect(() => emu.spotInterrupt(instance?.InstanceId ?? '')).toThrow(/not a spot instance/)
  })
})

describe('validation and errors', () => {
  test('a second group with the same name is AlreadyExists', async () => {
    await createGroup('dup', 0)
    const err = await errorName(
      asg.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'dup',
          MinSize: 0,
          MaxSize: 1,
          LaunchTemplate: { LaunchTemplateName: 'dup-lt' }
        })
      )
    )
    expect(err).toBe('AlreadyExists')
    const fault = await asg
      .send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'dup',
          MinSize: 0,
          MaxSize: 1,
          LaunchTemplate: { LaunchTemplateName: 'dup-lt' }
        })
      )
      .catch((e: Error) => e)
    expect(fault).toBeInstanceOf(AlreadyExistsFault)
  })

  test('a desired capacity outside min and max is a ValidationError', async () => {
    await template('bad-size-lt')
    const err = await errorName(
      asg.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'bad-size',
          MinSize: 0,
          MaxSize: 1,
          DesiredCapacity: 2,
          LaunchTemplate: { LaunchTemplateName: 'bad-size-lt' }
        })
      )
    )
    expect(err).toBe('ValidationError')
  })

  test('a missing launch template is a ValidationError', async () => {
    const err = await errorName(
      asg.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'no-lt',
          MinSize: 0,
          MaxSize: 1,
          LaunchTemplate: { LaunchTemplateName: 'does-not-exist' }
        })
      )
    )
    expect(err).toBe('ValidationError')
  })

  test('a launch that cannot succeed is a Failed scaling activity and launches nothing', async () => {
    await template('broken-lt', { SecurityGroupIds: ['sg-0000000000000dead'] })
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'broken',
        MinSize: 0,
        MaxSize: 2,
        DesiredCapacity: 1,
        LaunchTemplate: { LaunchTemplateName: 'broken-lt' }
      })
    )
    await emu.waitIdle()
    const out = await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'broken' }))
    expect(out.Activities?.[0]?.StatusCode).toBe('Failed')
    expect(out.Activities?.[0]?.StatusMessage).toContain('sg-0000000000000dead')
    expect((await group('broken')).Instances).toEqual([])
  })

  test('deleting a group with instances needs ForceDelete, which terminates them', async () => {
    await createGroup('delete-me', 2)
    expect(await errorName(asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'delete-me' })))).toBe(
      'ResourceInUse'
    )
    const ids = (await groupInstances('delete-me')).map((i) => i.InstanceId ?? '')
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'delete-me', ForceDelete: true }))
    await emu.waitIdle()
    const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['delete-me'] }))
    expect(out.AutoScalingGroups).toEqual([])
    const after = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))
    expect(after.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name)).toEqual([
      'terminated',
      'terminated'
    ])
  })

  test('an empty group is deleted without ForceDelete', async () => {
    await createGroup('empty', 0)
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'empty' }))
    const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['empty'] }))
    expect(out.AutoScalingGroups).toEqual([])
  })
})

describe('describe, tags and pagination', () => {
  test('groups are found by tag filters and paged with MaxRecords and NextToken', async () => {
    for (const n of ['page-a', 'page-b', 'page-c'])
      await createGroup(n, 0, { Tags: [{ Key: 'pager', Value: 'yes', PropagateAtLaunch: false }] })
    const first = await asg.send(
      new DescribeAutoScalingGroupsCommand({ Filters: [{ Name: 'tag:pager', Values: ['yes'] }], MaxRecords: 2 })
    )
    expect(first.AutoScalingGroups?.map((g) => g.AutoScalingGroupName)).toEqual(['page-a', 'page-b'])
    const second = await asg.send(
      new DescribeAutoScalingGroupsCommand({
        Filters: [{ Name: 'tag:pager', Values: ['yes'] }],
        MaxRecords: 2,
        NextToken: first.NextToken
      })
    )
    expect(second.AutoScalingGroups?.map((g) => g.AutoScalingGroupName)).toEqual(['page-c'])
    expect(second.NextToken).toBeUndefined()
    const byKey = await asg.send(
      new DescribeAutoScalingGroupsCommand({ Filters: [{ Name: 'tag-key', Values: ['pager'] }] })
    )
    expect(byKey.AutoScalingGroups).toHaveLength(3)
  })

  test('CreateOrUpdateTags and DeleteTags change the group tags', async () => {
    await createGroup('retag', 0, { Tags: [{ Key: 'a', Value: '1', PropagateAtLaunch: true }] })
    await asg.send(
      new CreateOrUpdateTagsCommand({
        Tags: [
          { ResourceId: 'retag', ResourceType: 'auto-scaling-group', Key: 'a', Value: '2', PropagateAtLaunch: true },
          { ResourceId: 'retag', ResourceType: 'auto-scaling-group', Key: 'b', Value: '3', PropagateAtLaunch: false }
        ]
      })
    )
    await asg.send(
      new DeleteTagsCommand({ Tags: [{ ResourceId: 'retag', ResourceType: 'auto-scaling-group', Key: 'b' }] })
    )
    const g = await group('retag')
    expect(g.Tags?.map((t) => [t.Key, t.Value, t.PropagateAtLaunch])).toEqual([['a', '2', true]])
  })

  test('scaling activities record the launches', async () => {
    await createGroup('activities', 2)
    const out = await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'activities' }))
    expect(out.Activities?.filter((a) => a.Description?.startsWith('Launching a new EC2 instance: i-'))).toHaveLength(2)
    expect(out.Activities?.every((a) => a.StatusCode === 'Successful')).toBe(true)
  })
})

describe('instance refresh', () => {
  test('an instance refresh replaces every instance with one on the latest template version', async () => {
    const ltId = await template('refresh-lt')
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'refresh',
        MinSize: 0,
        MaxSize: 5,
        DesiredCapacity: 3,
        LaunchTemplate: { LaunchTemplateId: ltId, Version: '$Latest' }
      })
    )
    await emu.waitIdle()
    const before = (await groupInstances('refresh')).map((i) => i.InstanceId)
    await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: ltId,
        SourceVersion: '1',
        LaunchTemplateData: { InstanceType: 't3.large' }
      })
    )
    const { InstanceRefreshId } = await asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'refresh' }))
    expect(await errorName(asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'refresh' })))).toBe(
      'InstanceRefreshInProgress'
    )
    await emu.waitIdle()
    const refreshes = await asg.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'refresh' }))
    expect(refreshes.InstanceRefreshes?.[0]).toMatchObject({
      InstanceRefreshId,
      Status: 'Successful',
      PercentageComplete: 100
    })
    const after = await groupInstances('refresh', ['running'])
    expect(after).toHaveLength(3)
    expect(after.some((i) => before.includes(i.InstanceId))).toBe(false)
    expect(after.every((i) => i.InstanceType === 't3.large')).toBe(true)
    expect((await group('refresh')).Instances?.map((i) => i.LaunchTemplate?.Version)).toEqual(['2', '2', '2'])
  })

  /** A group of 3 on version 1 of its template (which has a version 2) whose launch hook `ready` holds new members. */
  async function versionedGroup(name: string): Promise<string> {
    const ltId = await template(`${name}-lt`)
    await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: ltId,
        SourceVersion: '1',
        LaunchTemplateData: { InstanceType: 't3.large' }
      })
    )
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        MinSize: 0,
        MaxSize: 10,
        DesiredCapacity: 3,
        LaunchTemplate: { LaunchTemplateId: ltId, Version: '1' },
        LifecycleHookSpecificationList: [
          {
            LifecycleHookName: 'ready',
            LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
            HeartbeatTimeout: 7200
          }
        ]
      })
    )
    await settle(name, () => 'CONTINUE')
    return ltId
  }

  /** Completes the launch hook of every member in Pending:Wait with decide(its version) until the group has 3 InService. */
  async function settle(name: string, decide: (version: string) => 'CONTINUE' | 'ABANDON'): Promise<void> {
    await eventually(async () => {
      const n = await completeWaiting(name, decide)
      return n === 3 ? true : undefined
    })
  }

  /** Every group's members, page by page (DescribeAutoScalingInstances answers at most 50 at a time). */
  async function allInstances(): Promise<AutoScalingInstanceDetails[]> {
    const all: AutoScalingInstanceDetails[] = []
    for await (const page of paginateDescribeAutoScalingInstances({ client: asg }, {}))
      all.push(...(page.AutoScalingInstances ?? []))
    return all
  }

  /** Completes the waiting members' launch hooks; answers how many members are InService. */
  async function completeWaiting(name: string, decide: (version: string) => 'CONTINUE' | 'ABANDON'): Promise<number> {
    const mine = (await allInstances()).filter((i) => i.AutoScalingGroupName === name)
    for (const m of mine.filter((i) => i.LifecycleState === 'Pending:Wait')) {
      await asg
        .send(
          new CompleteLifecycleActionCommand({
            AutoScalingGroupName: name,
            LifecycleHookName: 'ready',
            InstanceId: m.InstanceId,
            LifecycleActionResult: decide(m.LaunchTemplate?.Version ?? '')
          })
        )
        .catch(() => undefined)
    }
    return mine.filter((i) => i.LifecycleState === 'InService').length
  }

  async function refreshOf(name: string, id: string | undefined): Promise<InstanceRefresh | undefined> {
    const out = await asg.send(
      new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: name, InstanceRefreshIds: id ? [id] : [] })
    )
    return out.InstanceRefreshes?.[0]
  }

  /** Drives the refresh (completing launch hooks with decide) until its status is final; samples InService counts. */
  async function drive(
    name: string,
    id: string | undefined,
    decide: (version: string) => 'CONTINUE' | 'ABANDON',
    onSample: (inService: number, group: AutoScalingGroup) => void = () => undefined
  ): Promise<InstanceRefresh> {
    return eventually(async () => {
      const inService = await completeWaiting(name, decide)
      onSample(inService, await group(name))
      const r = await refreshOf(name, id)
      return ['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress'].includes(r?.Status ?? '') ? undefined : r
    }, 20_000)
  }

  function refresh(
    name: string,
    ltId: string,
    preferences: StartInstanceRefreshType['Preferences']
  ): StartInstanceRefreshCommand {
    return new StartInstanceRefreshCommand({
      AutoScalingGroupName: name,
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: ltId, Version: '2' } },
      Preferences: preferences
    })
  }

  test('a refresh with MaxHealthyPercentage 200 launches first, never has fewer members InService, and the group takes the desired configuration only at success', async () => {
    const ltId = await versionedGroup('surge')
    const { InstanceRefreshId } = await asg.send(
      refresh('surge', ltId, { MinHealthyPercentage: 100, MaxHealthyPercentage: 200, SkipMatching: true })
    )
    let fewest = Infinity
    // Sampled before any hook is completed too: a fast machine may finish within the first drive round.
    const versionsWhileRunning = new Set<string>([(await group('surge')).LaunchTemplate?.Version ?? ''])
    const done = await drive(
      'surge',
      InstanceRefreshId,
      () => 'CONTINUE',
      (inService, g) => {
        fewest = Math.min(fewest, inService)
        versionsWhileRunning.add(g.LaunchTemplate?.Version ?? '')
      }
    )
    expect(done).toMatchObject({
      Status: 'Successful',
      PercentageComplete: 100,
      Preferences: expect.objectContaining({
        MinHealthyPercentage: 100,
        MaxHealthyPercentage: 200,
        SkipMatching: true
      }),
      DesiredConfiguration: { LaunchTemplate: expect.objectContaining({ LaunchTemplateId: ltId, Version: '2' }) }
    })
    expect(fewest).toBeGreaterThanOrEqual(3)
    expect(versionsWhileRunning.has('1')).toBe(true)
    const after = await group('surge')
    expect(after.LaunchTemplate?.Version).toBe('2')
    expect(after.Instances?.map((i) => i.LaunchTemplate?.Version)).toEqual(['2', '2', '2'])
  })

  test('AutoRollback after an abandoned replacement ends RollbackSuccessful with every member and the group on the previous version', async () => {
    const ltId = await versionedGroup('rollback')
    const { InstanceRefreshId } = await asg.send(
      refresh('rollback', ltId, { MinHealthyPercentage: 100, MaxHealthyPercentage: 200, AutoRollback: true })
    )
    const done = await drive('rollback', InstanceRefreshId, (version) => (version === '2' ? 'ABANDON' : 'CONTINUE'))
    expect(done.Status).toBe('RollbackSuccessful')
    expect(done.RollbackDetails?.RollbackReason).toMatch(/was abandoned/)
    expect(done.RollbackDetails?.RollbackStartTime).toBeInstanceOf(Date)
    expect(typeof done.RollbackDetails?.PercentageCompleteOnRollback).toBe('number')
    expect(typeof done.RollbackDetails?.InstancesToUpdateOnRollback).toBe('number')
    await settle('rollback', () => 'CONTINUE')
    const after = await group('rollback')
    expect(after.LaunchTemplate?.Version).toBe('1')
    const live = (after.Instances ?? []).filter((i) => !(i.LifecycleState ?? '').startsWith('Terminating'))
    expect(live.map((i) => i.LaunchTemplate?.Version)).toEqual(['1', '1', '1'])
  })

  test('without AutoRollback an abandoned replacement fails the refresh with a StatusReason', async () => {
    const ltId = await versionedGroup('fails')
    const { InstanceRefreshId } = await asg.send(
      refresh('fails', ltId, { MinHealthyPercentage: 100, MaxHealthyPercentage: 200 })
    )
    const done = await drive('fails', InstanceRefreshId, (version) => (version === '2' ? 'ABANDON' : 'CONTINUE'))
    expect(done.Status).toBe('Failed')
    expect(done.StatusReason).toMatch(/was abandoned/)
    expect((await group('fails')).LaunchTemplate?.Version).toBe('1')
  })

  test('AutoRollback without a DesiredConfiguration is refused with AWS message, and so is a MaxHealthyPercentage over 100 above the minimum', async () => {
    await createGroup('no-desired', 1)
    const err = await asg
      .send(
        new StartInstanceRefreshCommand({ AutoScalingGroupName: 'no-desired', Preferences: { AutoRollback: true } })
      )
      .catch((e: unknown) => e as { name: string; message: string })
    expect(err).toMatchObject({
      name: 'ValidationError',
      message:
        "The request isn't valid. The AutoRollback parameter cannot be set to true when the DesiredConfiguration parameter is empty. Set AutoRollback to false or specify a desired configuration and try again."
    })
    expect(
      await errorName(
        asg.send(
          new StartInstanceRefreshCommand({
            AutoScalingGroupName: 'no-desired',
            Preferences: { MinHealthyPercentage: 50, MaxHealthyPercentage: 200 }
          })
        )
      )
    ).toBe('ValidationError')
    // the group uses $Latest: nothing to roll back to
    const latest = (await group('no-desired')).LaunchTemplate
    expect(latest?.Version).toBe('$Latest')
    expect(
      await errorName(
        asg.send(
          new StartInstanceRefreshCommand({
            AutoScalingGroupName: 'no-desired',
            DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: latest?.LaunchTemplateId, Version: '1' } },
            Preferences: { AutoRollback: true }
          })
        )
      )
    ).toBe('ValidationError')
  })

  test('AutoRollback is refused for a group whose launch template names its image by SSM parameter', async () => {
    const ltId = await template('ssm-image-lt', {
      ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'
    })
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'ssm-image',
        MinSize: 0,
        MaxSize: 2,
        DesiredCapacity: 0,
        LaunchTemplate: { LaunchTemplateId: ltId, Version: '1' }
      })
    )
    const start = (autoRollback: boolean): Promise<unknown> =>
      asg.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: 'ssm-image',
          DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: ltId, Version: '1' } },
          Preferences: { AutoRollback: autoRollback }
        })
      )
    const err = await start(true).catch((e: unknown) => e as { name: string; message: string })
    expect(err).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('Systems Manager parameter')
    })
    await expect(start(false)).resolves.toMatchObject({ InstanceRefreshId: expect.any(String) })
  })

  test('RollbackInstanceRefresh rolls back a refresh in progress; it needs one, with a desired configuration', async () => {
    const ltId = await versionedGroup('manual')
    expect(await errorName(asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'manual' })))).toBe(
      'ActiveInstanceRefreshNotFound'
    )
    await asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: 'manual' }))
    expect(await errorName(asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'manual' })))).toBe(
      'IrreversibleInstanceRefresh'
    )
    await asg.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: 'manual' }))
    await settle('manual', () => 'CONTINUE')
    await eventually(async () =>
      ((await refreshOf('manual', undefined))?.Status ?? '') === 'Cancelled' ? true : undefined
    )
    const { InstanceRefreshId } = await asg.send(
      refresh('manual', ltId, { MinHealthyPercentage: 100, MaxHealthyPercentage: 200 })
    )
    // the version 2 replacements wait on the launch hook: roll back then
    await eventually(async () => {
      return (await allInstances()).some(
        (i) => i.AutoScalingGroupName === 'manual' && i.LaunchTemplate?.Version === '2'
      )
        ? true
        : undefined
    })
    const rolled = await asg.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: 'manual' }))
    expect(rolled.InstanceRefreshId).toBe(InstanceRefreshId)
    const done = await drive('manual', InstanceRefreshId, () => 'CONTINUE')
    expect(done.Status).toBe('RollbackSuccessful')
    await settle('manual', () => 'CONTINUE')
    const after = await group('manual')
    expect(after.LaunchTemplate?.Version).toBe('1')
    expect(
      (after.Instances ?? []).filter((i) => i.LifecycleState === 'InService').map((i) => i.LaunchTemplate?.Version)
    ).toEqual(['1', '1', '1'])
  })
})
