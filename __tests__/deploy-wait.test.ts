/**
 * waitForStack: ready only when every group has its instances in service (their launch hook completed)
 * and every record lists exactly their IPs; a service whose agent abandoned an instance fails early,
 * rolled back, with its reason and the container's last lines.
 */
import { mockClient } from 'aws-sdk-client-mock'
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  DescribeScalingActivitiesCommand,
  RollbackInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  type LifecycleState
} from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient, FilterLogEventsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  ModifyLaunchTemplateCommand
} from '@aws-sdk/client-ec2'
import { ListHostedZonesByNameCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53'
import { createClients } from '../src/aws/clients.js'
import { SPOT_FALLBACK_TAG, TAGS } from '../src/names.js'
import { waitForStack } from '../src/wait.js'
import { desiredFor, svc } from './helpers/deploy-fixtures.js'

const ec2 = mockClient(EC2Client)
const asg = mockClient(AutoScalingClient)
const r53 = mockClient(Route53Client)
const logs = mockClient(CloudWatchLogsClient)
const clients = createClients({ region: 'us-east-1', maxAttempts: 1 })
const desired = desiredFor({ services: [svc('web', { replicas: 2, preemptible: 1 })], files: [] })
const [onDemand, spot] = desired.services[0]!.asgs

function world(recordValues: string[], firstState: LifecycleState = 'InService'): void {
  logs.on(FilterLogEventsCommand).resolves({ events: [] })
  r53.on(ListHostedZonesByNameCommand).resolves({
    HostedZones: [
      {
        Id: '/hostedzone/Z1',
        Name: 'prj-demo.us-east-1.internal.',
        CallerReference: 'x',
        Config: { PrivateZone: true }
      }
    ]
  })
  asg.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: onDemand!.name,
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
        DefaultCooldown: 0,
        AvailabilityZones: [],
        HealthCheckType: 'EC2',
        CreatedTime: new Date(),
        Instances: [
          {
            InstanceId: 'i-1',
            LifecycleState: firstState,
            AvailabilityZone: 'a',
            HealthStatus: 'Healthy',
            ProtectedFromScaleIn: false
          }
        ]
      },
      {
        AutoScalingGroupName: spot!.name,
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
        DefaultCooldown: 0,
        AvailabilityZones: [],
        HealthCheckType: 'EC2',
        CreatedTime: new Date(),
        Instances: [
          {
            InstanceId: 'i-2',
            LifecycleState: 'InService',
            AvailabilityZone: 'a',
            HealthStatus: 'Healthy',
            ProtectedFromScaleIn: false
          }
        ]
      }
    ]
  })
  const tags = [{ Key: TAGS.service, Value: 'web' }]
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [
          { InstanceId: 'i-1', State: { Name: 'running' }, PrivateIpAddress: '10.0.0.1', Tags: tags },
          { InstanceId: 'i-2', State: { Name: 'running' }, PrivateIpAddress: '10.0.0.2', Tags: tags }
        ]
      }
    ]
  })
  r53.on(ListResourceRecordSetsCommand).resolves({
    IsTruncated: false,
    ResourceRecordSets: recordValues.length
      ? [
          {
            Name: 'web.st-wordpress.prj-demo.us-east-1.internal.',
            Type: 'A',
            TTL: 60,
            ResourceRecords: recordValues.map((Value) => ({ Value }))
          }
        ]
      : []
  })
}

beforeEach(() => {
  for (const m of [ec2, asg, r53, logs]) m.reset()
})

describe('waitForStack', () => {
  test('is ready when both ASGs run their instances and the record lists exactly their IPs', async () => {
    world(['10.0.0.2', '10.0.0.1'])
    const lines: string[] = []
    const result = await waitForStack({ clients, desired, timeoutSeconds: 5, log: (l) => lines.push(l), pollMs: 10 })
    expect(result).toMatchObject({ ready: true, timedOut: false })
    expect(result.services[0]).toMatchObject({
      service: 'web',
      desired: 2,
      running: 2,
      instanceIps: ['10.0.0.1', '10.0.0.2'],
      recordValues: ['10.0.0.1', '10.0.0.2']
    })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/1\/1 services ready/)
  })

  test('times out, not ready, while the record misses an instance, printing a progress line per poll', async () => {
    world(['10.0.0.1'])
    const lines: string[] = []
    const result = await waitForStack({ clients, desired, timeoutSeconds: 0.2, log: (l) => lines.push(l), pollMs: 20 })
    expect(result).toMatchObject({ ready: false, timedOut: true })
    expect(result.services[0]?.ready).toBe(false)
    expect(lines.length).toBeGreaterThan(1)
    expect(lines.at(-1)).toContain('web 2/2 in service, record 1/2')
  })

  /** The world above, with the spot group's instance never launched for lack of spot capacity. */
  function noSpotCapacity(): void {
    world(['10.0.0.1'])
    asg.on(DescribeAutoScalingGroupsCommand).callsFake(() => ({
      AutoScalingGroups: [onDemand!, spot!].map((a, i) => ({
        AutoScalingGroupName: a.name,
        MinSize: 1,
        MaxSize: 2,
        DesiredCapacity: 1,
        DefaultCooldown: 0,
        AvailabilityZones: [],
        HealthCheckType: 'EC2',
        CreatedTime: new Date(),
        Tags: [{ Key: TAGS.service, Value: 'web' }],
        Instances:
          i === 0
            ? [
                {
                  InstanceId: 'i-1',
                  LifecycleState: 'InService',
                  AvailabilityZone: 'a',
                  HealthStatus: 'Healthy',
                  ProtectedFromScaleIn: false
                }
              ]
            : []
      }))
    }))
    asg.on(DescribeScalingActivitiesCommand).resolves({
      Activities: [
        {
          ActivityId: 'a-1',
          AutoScalingGroupName: spot!.name,
          Cause: 'an instance launch failed.',
          Description: `Launching a new EC2 instance.  Status Reason: ${NO_SPOT}`,
          StartTime: new Date(),
          StatusCode: 'Failed',
          StatusMessage: NO_SPOT
        }
      ]
    })
  }
  const NO_SPOT =
    'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.'

  test('a spot group short past the grace time has its activities read once, and the timeout names the missing spot capacity', async () => {
    noSpotCapacity()
    const lines: string[] = []
    const result = await waitForStack({
      clients,
      desired,
      timeoutSeconds: 0.3,
      log: (l) => lines.push(l),
      pollMs: 20,
      spotGraceMs: 0
    })
    expect(result).toMatchObject({ ready: false, timedOut: true })
    expect(result.spot).toEqual([
      expect.objectContaining({ service: 'web', group: spot!.name, missing: 1, message: NO_SPOT, onDemand: false })
    ])
    expect(asg.commandCalls(DescribeScalingActivitiesCommand).map((c) => c.args[0].input)).toEqual([
      { AutoScalingGroupName: spot!.name, MaxRecords: 10 }
    ])
    expect(lines.filter((l) => l.includes('spot capacity missing'))).toHaveLength(1)
    expect(asg.commandCalls(UpdateAutoScalingGroupCommand)).toHaveLength(0)
  })

  test('no activity is read while the spot group is short for less than the grace time', async () => {
    noSpotCapacity()
    const result = await waitForStack({
      clients,
      desired,
      timeoutSeconds: 0.2,
      log: () => undefined,
      pollMs: 20,
      spotGraceMs: 60_000
    })
    expect(result.spot).toBeUndefined()
    expect(asg.commandCalls(DescribeScalingActivitiesCommand)).toHaveLength(0)
  })

  test('with spot-fallback on-demand the missing count moves to the on-demand group once, the total unchanged', async () => {
    noSpotCapacity()
    const result = await waitForStack({
      clients,
      desired,
      timeoutSeconds: 0.3,
      log: () => undefined,
      pollMs: 20,
      spotGraceMs: 0,
      spotFallback: 'on-demand'
    })
    expect(asg.commandCalls(UpdateAutoScalingGroupCommand).map((c) => c.args[0].input)).toEqual([
      { AutoScalingGroupName: onDemand!.name, MinSize: 2, DesiredCapacity: 2, MaxSize: 4 },
      { AutoScalingGroupName: spot!.name, MinSize: 0, DesiredCapacity: 0 }
    ])
    const tags = asg.commandCalls(CreateOrUpdateTagsCommand).flatMap((c) => c.args[0].input.Tags ?? [])
    expect(tags.filter((t) => t.Key === SPOT_FALLBACK_TAG).map((t) => [t.ResourceId, t.Value])).toEqual([
      [spot!.name, '1'],
      [onDemand!.name, '1']
    ])
    expect(result.spot).toEqual([
      expect.objectContaining({ missing: 1, onDemand: true, onDemandGroup: onDemand!.name })
    ])
    expect(result.services[0]?.desired).toBe(2)
  })

  test('an on-demand group holding an instance for spot hands it back once the spot group runs in service, and only then is ready', async () => {
    const holding = desiredFor(
      { services: [svc('web', { replicas: 2, preemptible: 1 })], files: [] },
      { spotFallback: 'on-demand', wait: true }
    )
    const [od, sp] = holding.services[0]!.asgs
    world(['10.0.0.1', '10.0.0.2', '10.0.0.3'])
    const member = (InstanceId: string) => ({
      InstanceId,
      LifecycleState: 'InService' as const,
      AvailabilityZone: 'a',
      HealthStatus: 'Healthy',
      ProtectedFromScaleIn: false
    })
    let handedBack = false
    asg.on(UpdateAutoScalingGroupCommand).callsFake(() => {
      handedBack = true
      return {}
    })
    asg.on(DescribeAutoScalingGroupsCommand).callsFake(() => ({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: od!.name,
          MinSize: handedBack ? 1 : 2,
          MaxSize: 4,
          DesiredCapacity: handedBack ? 1 : 2,
          DefaultCooldown: 0,
          AvailabilityZones: [],
          HealthCheckType: 'EC2',
          CreatedTime: new Date(),
          Tags: handedBack ? [] : [{ Key: SPOT_FALLBACK_TAG, Value: '1' }],
          Instances: handedBack ? [member('i-1')] : [member('i-1'), member('i-3')]
        },
        {
          AutoScalingGroupName: sp!.name,
          MinSize: 1,
          MaxSize: 2,
          DesiredCapacity: 1,
          DefaultCooldown: 0,
          AvailabilityZones: [],
          HealthCheckType: 'EC2',
          CreatedTime: new Date(),
          Instances: [member('i-2')]
        }
      ]
    }))
    const tags = [{ Key: TAGS.service, Value: 'web' }]
    ec2.on(DescribeInstancesCommand).callsFake(() => ({
      Reservations: [
        {
          Instances: [
            { InstanceId: 'i-1', State: { Name: 'running' }, PrivateIpAddress: '10.0.0.1', Tags: tags },
            { InstanceId: 'i-2', State: { Name: 'running' }, PrivateIpAddress: '10.0.0.2', Tags: tags },
            ...(handedBack
              ? []
              : [{ InstanceId: 'i-3', State: { Name: 'running' }, PrivateIpAddress: '10.0.0.3', Tags: tags }])
          ]
        }
      ]
    }))
    r53.on(ListResourceRecordSetsCommand).callsFake(() => ({
      IsTruncated: false,
      ResourceRecordSets: [
        {
          Name: 'web.st-wordpress.prj-demo.us-east-1.internal.',
          Type: 'A',
          TTL: 60,
          ResourceRecords: (handedBack ? ['10.0.0.1', '10.0.0.2'] : ['10.0.0.1', '10.0.0.2', '10.0.0.3']).map(
            (Value) => ({ Value })
          )
        }
      ]
    }))
    const lines: string[] = []
    const result = await waitForStack({
      clients,
      desired: holding,
      timeoutSeconds: 2,
      log: (l) => lines.push(l),
      pollMs: 20,
      spotFallback: 'on-demand'
    })
    expect(result).toMatchObject({ ready: true })
    expect(asg.commandCalls(UpdateAutoScalingGroupCommand).map((c) => c.args[0].input)).toEqual([
      { AutoScalingGroupName: od!.name, MinSize: 1, DesiredCapacity: 1, MaxSize: 2 }
    ])
    expect(asg.commandCalls(DeleteTagsCommand).map((c) => c.args[0].input.Tags?.[0]?.Key)).toEqual([SPOT_FALLBACK_TAG])
    expect(lines).toContain(`web: spot capacity back: 1 on-demand instance handed back (${od!.name} 2 -> 1)`)
    expect(asg.commandCalls(DescribeScalingActivitiesCommand)).toHaveLength(0)
  })

  test('an instance still waiting on its launch hook is not in service, and the record must not list it', async () => {
    world(['10.0.0.2'], 'Pending:Wait')
    const result = await waitForStack({ clients, desired, timeoutSeconds: 0.2, log: () => undefined, pollMs: 20 })
    expect(result).toMatchObject({ ready: false, timedOut: true, failures: [] })
    expect(result.services[0]).toMatchObject({ running: 1, instanceIps: ['10.0.0.2'], recordValues: ['10.0.0.2'] })
  })

  test('an abandoned instance fails its service early: rolled back, template restored, reason and masked lines quoted', async () => {
    world(['10.0.0.2', '10.0.0.1'], 'Pending:Wait')
    logs.on(FilterLogEventsCommand).resolves({
      events: [
        {
          logStreamName: 'web/i-9',
          timestamp: 1000,
          message: 'hyperform-agent: abandon: container exited with code 1 (restarted 2 times)'
        }
      ]
    })
    logs.on(GetLogEventsCommand).resolves({
      events: [
        { message: 'connecting with password hunter22' },
        { message: 'Error establishing a database connection' }
      ]
    })
    asg.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [{ Status: 'InProgress' }] })
    asg.on(RollbackInstanceRefreshCommand).callsFake(() => {
      asg.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [{ Status: 'RollbackSuccessful' }] })
      return {}
    })
    const previous = {
      id: 'lt-1',
      name: 'tpl',
      service: 'web',
      defaultVersion: 3,
      latestVersion: 4,
      actionVersion: 3,
      configHash: 'abc',
      image: 'web:1'
    }
    const result = await waitForStack({
      clients,
      desired,
      timeoutSeconds: 60,
      log: () => undefined,
      pollMs: 10,
      rollouts: [
        {
          service: 'web',
          asg: onDemand!.name,
          capacity: 'on-demand',
          instanceTypes: [],
          from: { id: 'lt-1', version: 3 },
          autoRollback: true
        }
      ],
      since: 0,
      previous: [previous],
      mask: (l) => l.replace('hunter22', '***')
    })
    expect(result).toMatchObject({ ready: false, timedOut: false })
    expect(result.failures).toEqual([
      {
        service: 'web',
        version: desired.services[0]!.image,
        instance: 'i-9',
        abandonedAt: 1000,
        reason: 'container exited with code 1 (restarted 2 times) (instance i-9)',
        lines: ['connecting with password ***', 'Error establishing a database connection'],
        outcome: expect.stringContaining('previous version web:1 is still serving')
      }
    ])
    expect(asg.commandCalls(RollbackInstanceRefreshCommand)).toHaveLength(1)
    expect(ec2.commandCalls(ModifyLaunchTemplateCommand)[0]?.args[0].input).toEqual({
      LaunchTemplateId: 'lt-1',
      DefaultVersion: '3'
    })
    const tags = ec2.commandCalls(CreateTagsCommand)[0]?.args[0].input.Tags ?? []
    expect(tags).toEqual(
      expect.arrayContaining([
        { Key: TAGS.image, Value: 'web:1' },
        { Key: TAGS.version, Value: '3' }
      ])
    )
  })

  test('a ready poll costs three reads whatever the number of services (the abandon search only runs while not ready)', async () => {
    world(['10.0.0.2', '10.0.0.1'])
    await waitForStack({ clients, desired, timeoutSeconds: 5, log: () => undefined, pollMs: 10 })
    expect(asg.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(1)
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(1)
    expect(r53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(1)
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(0)
  })
})
