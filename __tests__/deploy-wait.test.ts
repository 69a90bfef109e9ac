/** waitForStack: ready only when every ASG runs its instances and every record lists exactly their IPs. */
import { mockClient } from 'aws-sdk-client-mock'
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling'
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2'
import { ListHostedZonesByNameCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53'
import { createClients } from '../src/aws/clients.js'
import { TAGS } from '../src/names.js'
import { waitForStack } from '../src/wait.js'
import { desiredFor, svc } from './helpers/deploy-fixtures.js'

const ec2 = mockClient(EC2Client)
const asg = mockClient(AutoScalingClient)
const r53 = mockClient(Route53Client)
const clients = createClients({ region: 'us-east-1', maxAttempts: 1 })
const desired = desiredFor({ services: [svc('web', { replicas: 2, preemptible: 1 })], files: [] })
const [onDemand, spot] = desired.services[0]!.asgs

function world(recordValues: string[]): void {
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
            LifecycleState: 'InService',
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
  for (const m of [ec2, asg, r53]) m.reset()
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
    expect(lines.at(-1)).toContain('web 2/2 running, record 1/2')
  })

  test('each poll costs three reads whatever the number of services', async () => {
    world(['10.0.0.2', '10.0.0.1'])
    await waitForStack({ clients, desired, timeoutSeconds: 5, log: () => undefined, pollMs: 10 })
    expect(asg.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(1)
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(1)
    expect(r53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(1)
  })
})
