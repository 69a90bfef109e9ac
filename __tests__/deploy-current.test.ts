/** readCurrent: batch reads with tag filters, a fixed number of calls whatever the number of services. */
import { mockClient } from 'aws-sdk-client-mock'
import { ACMClient } from '@aws-sdk/client-acm'
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2'
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { DescribeLaunchTemplatesCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge'
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam'
import { GetFunctionCommand, GetPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda'
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs'
import { ListHostedZonesByNameCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53'
import { createClients } from '../src/aws/clients.js'
import { readCurrent } from '../src/current.js'
import { TAGS } from '../src/names.js'

const scope = { project: 'prj-demo', stack: 'st-wordpress', region: 'us-east-1' }
const mocks = {
  ec2: mockClient(EC2Client),
  asg: mockClient(AutoScalingClient),
  r53: mockClient(Route53Client),
  lambda: mockClient(LambdaClient),
  iam: mockClient(IAMClient),
  events: mockClient(EventBridgeClient),
  logs: mockClient(CloudWatchLogsClient),
  sqs: mockClient(SQSClient),
  elb: mockClient(ElasticLoadBalancingV2Client),
  acm: mockClient(ACMClient)
}
const notFound = (name: string): Error => Object.assign(new Error(name), { name })
const tags = (service: string, capacity?: string): Array<{ Key: string; Value: string }> => [
  { Key: TAGS.project, Value: scope.project },
  { Key: TAGS.stack, Value: scope.stack },
  { Key: TAGS.service, Value: service },
  ...(capacity ? [{ Key: TAGS.capacity, Value: capacity }] : [])
]

function asgs(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    AutoScalingGroupName: `g${i}`,
    MinSize: 1,
    MaxSize: 1,
    DesiredCapacity: 1,
    VPCZoneIdentifier: 'subnet-b,subnet-a',
    LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '3' },
    Instances: [{ InstanceId: `i-${i}`, LifecycleState: 'InService' }],
    Tags: tags(`s${Math.floor(i / 2)}`, i % 2 ? 'spot' : 'on-demand')
  }))
}

function deployed(services: number): void {
  const groups = asgs(services * 2)
  mocks.lambda.on(GetFunctionCommand).resolves({
    Configuration: {
      FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:update_r53_record-prj-demo',
      Environment: { Variables: { ZONE_ID: 'Z1', ZONE_NAME: 'prj-demo.us-east-1.internal' } }
    }
  })
  const queue = 'https://sqs.us-east-1.amazonaws.com/123456789012/update_r53_record-prj-demo'
  mocks.sqs.on(ListQueuesCommand).resolves({ QueueUrls: [queue, `${queue}-dead`] })
  mocks.sqs
    .on(GetQueueAttributesCommand)
    .resolves({ Attributes: { QueueArn: 'arn:aws:sqs:us-east-1:123456789012:update_r53_record-prj-demo' } })
  mocks.iam.on(GetRolePolicyCommand).resolves({
    PolicyDocument: encodeURIComponent('{"Version":"2012-10-17","Statement":[]}'),
    RoleName: 'r',
    PolicyName: 'p'
  })
  mocks.logs.on(DescribeLogGroupsCommand).resolves({
    logGroups: [
      {
        logGroupName: '/aws/lambda/update_r53_record-prj-demo',
        arn: 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/update_r53_record-prj-demo:*',
        retentionInDays: 14
      }
    ]
  })
  mocks.events
    .on(DescribeRuleCommand)
    .resolves({ Arn: 'arn:rule', EventPattern: '{"source":["aws.ec2"]}', State: 'ENABLED' })
  mocks.events.on(ListTargetsByRuleCommand).resolves({ Targets: [{ Id: 'update-r53-record', Arn: 'arn:fn' }] })
  mocks.ec2.on(DescribeSecurityGroupsCommand).resolves({
    SecurityGroups: [
      {
        GroupId: 'sg-1',
        GroupName: 'g',
        VpcId: 'vpc-1',
        Tags: [...tags('s0'), { Key: TAGS.configHash, Value: 'h' }],
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 80,
            ToPort: 80,
            IpRanges: [{ CidrIp: '172.28.0.0/16' }, { CidrIp: '10.0.0.0/8' }]
          },
          { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }
        ]
      }
    ]
  })
  mocks.ec2.on(DescribeLaunchTemplatesCommand).resolves({
    LaunchTemplates: [
      {
        LaunchTemplateId: 'lt-1',
        LaunchTemplateName: 't',
        DefaultVersionNumber: 3,
        LatestVersionNumber: 4,
        Tags: [...tags('s0'), { Key: TAGS.configHash, Value: 'abc' }]
      }
    ]
  })
  const pages = [groups.slice(0, 100), groups.slice(100, 200), groups.slice(200)]
  const asgMock = mocks.asg.on(DescribeAutoScalingGroupsCommand)
  asgMock.resolvesOnce({ AutoScalingGroups: pages[0] as never, NextToken: groups.length > 100 ? 't1' : undefined })
  asgMock.resolvesOnce({ AutoScalingGroups: pages[1] as never, NextToken: groups.length > 200 ? 't2' : undefined })
  asgMock.resolves({ AutoScalingGroups: pages[2] as never })
}

const calls = (): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const m of Object.values(mocks)) {
    for (const call of m.calls()) {
      const name = (call.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, '')
      out[name] = (out[name] ?? 0) + 1
    }
  }
  return out
}

/** The mocks' common surface (their union type has incompatible call signatures). */
interface Resettable {
  reset: () => void
  onAnyCommand: () => { resolves: (value: object) => unknown }
}

beforeEach(() => {
  for (const m of Object.values(mocks) as unknown as Resettable[]) {
    m.reset()
    m.onAnyCommand().resolves({})
  }
})

const clients = createClients({ region: 'us-east-1', maxAttempts: 1 })

describe('readCurrent', () => {
  test('100 deployed services are read with 15 calls: one per kind (two for the two rules), two ASG pages and the load balancer by name, none per service', async () => {
    deployed(100)
    const current = await readCurrent(clients, scope)
    expect(current.asgs).toHaveLength(200)
    expect(calls()).toEqual({
      GetFunction: 1,
      ListEventSourceMappings: 1,
      GetRolePolicy: 1,
      DescribeLogGroups: 1,
      DescribeRule: 2,
      ListTargetsByRule: 2,
      ListQueues: 1,
      GetQueueAttributes: 1,
      DescribeSecurityGroups: 1,
      DescribeLaunchTemplates: 1,
      DescribeAutoScalingGroups: 2,
      DescribeLoadBalancers: 1
    })
  })

  test('the zone id comes from the function environment; ListHostedZonesByName is not called', async () => {
    deployed(1)
    const current = await readCurrent(clients, scope)
    expect(current.zone).toEqual({ id: 'Z1', name: 'prj-demo.us-east-1.internal' })
    expect(mocks.r53.commandCalls(ListHostedZonesByNameCommand)).toHaveLength(0)
  })

  test('without a function the zone is found by name, ignoring a public zone and other names', async () => {
    mocks.lambda.on(GetFunctionCommand).rejects(notFound('ResourceNotFoundException'))
    mocks.lambda.on(GetPolicyCommand).rejects(notFound('ResourceNotFoundException'))
    mocks.iam.on(GetRolePolicyCommand).rejects(notFound('NoSuchEntity'))
    mocks.events.on(DescribeRuleCommand).rejects(notFound('ResourceNotFoundException'))
    mocks.events.on(ListTargetsByRuleCommand).rejects(notFound('ResourceNotFoundException'))
    mocks.r53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [
        {
          Id: '/hostedzone/ZPUB',
          Name: 'prj-demo.us-east-1.internal.',
          CallerReference: 'x',
          Config: { PrivateZone: false }
        },
        {
          Id: '/hostedzone/ZPRIV',
          Name: 'prj-demo.us-east-1.internal.',
          CallerReference: 'y',
          Config: { PrivateZone: true }
        },
        {
          Id: '/hostedzone/ZOTHER',
          Name: 'prj-demo2.us-east-1.internal.',
          CallerReference: 'z',
          Config: { PrivateZone: true }
        }
      ]
    })
    const current = await readCurrent(clients, scope)
    expect(current.zone?.id).toBe('ZPRIV')
    expect(current.function).toBeUndefined()
    expect(current.rolePolicy).toBeUndefined()
    expect(current.targets).toEqual([])
    expect(current.asgs).toEqual([])
  })

  test('records are read on request from the stack domain and stop at the first name outside it', async () => {
    deployed(1)
    mocks.r53.on(ListResourceRecordSetsCommand).resolves({
      IsTruncated: false,
      ResourceRecordSets: [
        {
          Name: 'db.st-wordpress.prj-demo.us-east-1.internal.',
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '172.28.3.90' }]
        },
        {
          Name: 'web.st-wordpress.prj-demo.us-east-1.internal.',
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '172.28.3.91' }]
        },
        {
          Name: 'db.st-wordpress2.prj-demo.us-east-1.internal.',
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '172.28.9.9' }]
        }
      ]
    })
    const current = await readCurrent(clients, scope, { records: true })
    expect(current.records.map((r) => r.name)).toEqual([
      'db.st-wordpress.prj-demo.us-east-1.internal',
      'web.st-wordpress.prj-demo.us-east-1.internal'
    ])
    expect(mocks.r53.commandCalls(ListResourceRecordSetsCommand)[0]?.args[0].input).toMatchObject({
      HostedZoneId: 'Z1',
      StartRecordName: 'st-wordpress.prj-demo.us-east-1.internal'
    })
  })

  test('groups, templates and ASGs are read with the project and stack tag filters', async () => {
    deployed(1)
    await readCurrent(clients, scope)
    const filters = [
      { Name: `tag:${TAGS.project}`, Values: ['prj-demo'] },
      { Name: `tag:${TAGS.stack}`, Values: ['st-wordpress'] }
    ]
    expect(mocks.ec2.commandCalls(DescribeSecurityGroupsCommand)[0]?.args[0].input.Filters).toEqual(filters)
    expect(mocks.ec2.commandCalls(DescribeLaunchTemplatesCommand)[0]?.args[0].input.Filters).toEqual(filters)
    expect(mocks.asg.commandCalls(DescribeAutoScalingGroupsCommand)[0]?.args[0].input.Filters).toEqual(filters)
  })

  test('what is read is parsed: ingress flattened per CIDR, template hash, ASG version and subnets, policy URL-decoded', async () => {
    deployed(1)
    const current = await readCurrent(clients, scope)
    expect(current.securityGroups[0]?.ingress).toEqual([
      { protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '172.28.0.0/16' },
      { protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '10.0.0.0/8' }
    ])
    expect(current.launchTemplates[0]).toMatchObject({
      id: 'lt-1',
      service: 's0',
      defaultVersion: 3,
      configHash: 'abc'
    })
    expect(current.asgs[0]).toMatchObject({
      launchTemplateVersion: '3',
      subnetIds: ['subnet-a', 'subnet-b'],
      capacity: 'on-demand',
      service: 's0'
    })
    expect(current.rolePolicy?.document).toEqual({ Version: '2012-10-17', Statement: [] })
    // events reach the DNS updater through its queue: no invoke permission to read
    expect(mocks.lambda.commandCalls(GetPolicyCommand)).toEqual([])
    expect(current.accountId).toBe('123456789012')
  })

  test('an unexpected error is wrapped with what was being read and keeps its name as code', async () => {
    deployed(1)
    mocks.ec2
      .on(DescribeSecurityGroupsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' }))
    await expect(readCurrent(clients, scope)).rejects.toMatchObject({
      message: 'listing security groups of stack st-wordpress: denied',
      code: 'UnauthorizedOperation'
    })
  })
})
