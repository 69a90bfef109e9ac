/** applyPlan with mocked AWS: dependency order, idempotent creates, eventual-consistency retries, wrapped errors. */
import { mockClient } from 'aws-sdk-client-mock'
import {
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  StartInstanceRefreshCommand
} from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs'
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateLaunchTemplateCommand,
  CreateSecurityGroupCommand,
  DeleteLaunchTemplateCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcAttributeCommand,
  EC2Client
} from '@aws-sdk/client-ec2'
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge'
import { CreateRoleCommand, GetRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { CreateEventSourceMappingCommand, CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda'
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs'
import { SSMClient } from '@aws-sdk/client-ssm'
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client
} from '@aws-sdk/client-route-53'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { applyPlan, ApplyError } from '../src/apply.js'
import { createClients } from '../src/aws/clients.js'
import { destroyPlan, diff } from '../src/plan.js'
import type { CurrentState } from '../src/state.js'
import { currentFrom, desiredFor, svc, wordpress } from './helpers/deploy-fixtures.js'

const mocks = {
  ec2: mockClient(EC2Client),
  asg: mockClient(AutoScalingClient),
  r53: mockClient(Route53Client),
  lambda: mockClient(LambdaClient),
  iam: mockClient(IAMClient),
  events: mockClient(EventBridgeClient),
  logs: mockClient(CloudWatchLogsClient),
  sqs: mockClient(SQSClient),
  ssm: mockClient(SSMClient),
  sts: mockClient(STSClient)
}
const clients = createClients({ region: 'us-east-1', maxAttempts: 1 })
const timing = {
  baseDelayMs: 1,
  maxDelayMs: 5,
  pollMs: 5,
  rolePropagationMs: 2000,
  consistencyMs: 2000,
  teardownMs: 2000
}
const lines: string[] = []
const ctxFor = (desired?: ReturnType<typeof desiredFor>) => ({
  clients,
  desired,
  log: (l: string) => lines.push(l),
  timing
})
const awsError = (name: string, message = name): Error => Object.assign(new Error(message), { name })
const order: string[] = []

function empty(scope = desiredFor().scope): CurrentState {
  return { scope, targets: [], securityGroups: [], launchTemplates: [], asgs: [], records: [] }
}

/** A zone's SOA as Route 53 lists it, at whatever apex is asked for. */
function zoneSoa(): void {
  mocks.r53.on(ListResourceRecordSetsCommand).callsFake((input: { StartRecordName?: string }) => ({
    ResourceRecordSets: [
      {
        Name: input.StartRecordName,
        Type: 'SOA',
        TTL: 900,
        ResourceRecords: [{ Value: 'ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400' }]
      }
    ],
    IsTruncated: false
  }))
}

function freshAccount(): void {
  const track =
    <T>(name: string, value: T) =>
    () => {
      order.push(name)
      return value
    }
  mocks.ec2
    .on(DescribeVpcAttributeCommand)
    .callsFake((input: { Attribute: string }) =>
      input.Attribute === 'enableDnsSupport'
        ? { EnableDnsSupport: { Value: true } }
        : { EnableDnsHostnames: { Value: true } }
    )
  mocks.r53
    .on(CreateHostedZoneCommand)
    .callsFake(track('CreateHostedZone', { HostedZone: { Id: '/hostedzone/ZNEW', Name: 'x', CallerReference: 'x' } }))
  zoneSoa()
  mocks.iam.on(CreateRoleCommand).callsFake(track('CreateRole', { Role: { Arn: 'arn:aws:iam::123456789012:role/r' } }))
  mocks.lambda
    .on(CreateFunctionCommand)
    .callsFake(track('CreateFunction', { FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f' }))
  mocks.events
    .on(PutRuleCommand)
    .callsFake(track('PutRule', { RuleArn: 'arn:aws:events:us-east-1:123456789012:rule/f' }))
  mocks.events.on(PutTargetsCommand).callsFake(track('PutTargets', { FailedEntryCount: 0 }))
  mocks.sqs
    .on(CreateQueueCommand)
    .callsFake(
      (input: { QueueName: string }) => (
        order.push('CreateQueue'),
        { QueueUrl: `https://sqs.us-east-1.amazonaws.com/123456789012/${input.QueueName}` }
      )
    )
  mocks.lambda.on(CreateEventSourceMappingCommand).callsFake(track('CreateEventSourceMapping', { UUID: 'esm-1' }))
  mocks.ec2.on(CreateSecurityGroupCommand).callsFake(track('CreateSecurityGroup', { GroupId: 'sg-new' }))
  mocks.ec2
    .on(CreateLaunchTemplateCommand)
    .callsFake(
      track('CreateLaunchTemplate', { LaunchTemplate: { LaunchTemplateId: 'lt-new', LatestVersionNumber: 1 } })
    )
  mocks.asg.on(CreateAutoScalingGroupCommand).callsFake(track('CreateAutoScalingGroup', {}))
}

/** The mocks' common surface (their union type has incompatible call signatures). */
interface Resettable {
  reset: () => void
  onAnyCommand: () => { resolves: (value: object) => unknown }
}

beforeEach(() => {
  order.length = 0
  lines.length = 0
  for (const m of Object.values(mocks) as unknown as Resettable[]) {
    m.reset()
    m.onAnyCommand().resolves({})
  }
})

describe('applyPlan on a fresh account', () => {
  test('creates everything once, and the ASGs only after the rule target and invoke permission exist', async () => {
    freshAccount()
    const desired = desiredFor()
    const result = await applyPlan(diff(desired, empty()), ctxFor(desired))
    expect(order.filter((o) => o === 'CreateAutoScalingGroup')).toHaveLength(4)
    const firstAsg = order.indexOf('CreateAutoScalingGroup')
    expect(order.lastIndexOf('PutTargets')).toBeLessThan(firstAsg)
    expect(order.lastIndexOf('CreateEventSourceMapping')).toBeGreaterThan(-1)
    expect(order.lastIndexOf('CreateEventSourceMapping')).toBeLessThan(firstAsg)
    expect(order.lastIndexOf('CreateLaunchTemplate')).toBeLessThan(order.lastIndexOf('CreateAutoScalingGroup'))
    expect(result.applied.find((a) => a.kind === 'hosted-zone')?.id).toBe('ZNEW')
    // zone and its SOA, role, policy, log group + retention, function, the two rules, the two queues, the two
    // rule targets, the event source mapping; per stack: the containers' log group and its retention; per service:
    // role, its policy, its description (the policy's hash, last), profile, role into profile, configuration, group,
    // ingress, template, 2 ASGs
    expect(result.writes).toBe(14 + 2 + 2 * 11)
    const soa = mocks.r53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes?.[0]
    expect(soa).toMatchObject({
      Action: 'UPSERT',
      ResourceRecordSet: {
        Type: 'SOA',
        ResourceRecords: [{ Value: 'ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 60' }]
      }
    })
  })

  test('the spot ASG gets a mixed instances policy with no on-demand and price-capacity-optimized, the on-demand one an exact version', async () => {
    freshAccount()
    const desired = desiredFor()
    await applyPlan(diff(desired, empty()), ctxFor(desired))
    const inputs = mocks.asg.commandCalls(CreateAutoScalingGroupCommand).map((c) => c.args[0].input)
    const spot = inputs.find((i) => i.AutoScalingGroupName?.endsWith('wordpress-spot'))
    expect(spot?.MixedInstancesPolicy?.InstancesDistribution).toEqual({
      OnDemandBaseCapacity: 0,
      OnDemandPercentageAboveBaseCapacity: 0,
      SpotAllocationStrategy: 'price-capacity-optimized'
    })
    expect(spot?.CapacityRebalance).toBe(true)
    // room above the desired size for a refresh that launches before it terminates; min and desired exact
    expect(spot).toMatchObject({ MinSize: 1, MaxSize: 2, DesiredCapacity: 1, VPCZoneIdentifier: 'subnet-a,subnet-b' })
    const onDemand = inputs.find((i) => i.AutoScalingGroupName?.endsWith('db-on-demand'))
    expect(onDemand?.LaunchTemplate).toEqual({ LaunchTemplateId: 'lt-new', Version: '1' })
    expect(onDemand?.Tags?.filter((t) => t.PropagateAtLaunch).map((t) => t.Key)).toEqual(
      expect.arrayContaining(['hyperform:project', 'hyperform:stack', 'hyperform:service', 'hyperform:capacity'])
    )
  })

  test('the partition of every ARN it writes comes from the caller identity, not from the region name', async () => {
    freshAccount()
    const desired = desiredFor(wordpress(), { region: 'us-iso-east-1' })
    mocks.iam
      .on(CreateRoleCommand)
      .resolves({ Role: { Arn: `arn:aws-iso:iam::123456789012:role/${desired.project.role.name}` } as never })
    mocks.sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '123456789012', Arn: 'arn:aws-iso:sts::123456789012:assumed-role/deployer/run' })
    await applyPlan(diff(desired, empty(desired.scope)), ctxFor(desired))
    // the DNS updater's policy and every instance role's
    const documents = mocks.iam
      .commandCalls(PutRolePolicyCommand)
      .map(
        (c) =>
          JSON.parse(c.args[0].input.PolicyDocument ?? '{}') as { Statement: Array<{ Resource: string | string[] }> }
      )
    expect(documents).toHaveLength(3)
    const resources = documents.flatMap((d) => d.Statement.flatMap((s) => s.Resource)).filter((r) => r !== '*')
    expect(resources.length).toBeGreaterThan(5)
    for (const resource of resources) expect(resource).toMatch(/^arn:aws-iso:/)
    expect(mocks.lambda.commandCalls(CreateFunctionCommand)[0]?.args[0].input.Role).toBe(
      'arn:aws-iso:iam::123456789012:role/' + desired.project.role.name
    )
  })

  test('CreateFunction is retried while the new role cannot be assumed by Lambda yet', async () => {
    freshAccount()
    mocks.lambda
      .on(CreateFunctionCommand)
      .rejectsOnce(
        awsError('InvalidParameterValueException', 'The role defined for the function cannot be assumed by Lambda.')
      )
      .rejectsOnce(
        awsError('InvalidParameterValueException', 'The role defined for the function cannot be assumed by Lambda.')
      )
      .resolves({ FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f' })
    const desired = desiredFor()
    await applyPlan(diff(desired, empty()), ctxFor(desired))
    expect(mocks.lambda.commandCalls(CreateFunctionCommand)).toHaveLength(3)
  })

  test('an existing role (a crashed earlier run) is adopted with GetRole instead of failing', async () => {
    freshAccount()
    mocks.iam.on(CreateRoleCommand).rejects(awsError('EntityAlreadyExists'))
    mocks.iam.on(GetRoleCommand).resolves({
      Role: { Arn: 'arn:aws:iam::123456789012:role/r', RoleName: 'r', Path: '/', RoleId: 'x', CreateDate: new Date() }
    })
    const desired = desiredFor()
    await applyPlan(diff(desired, empty()), ctxFor(desired))
    expect(mocks.lambda.commandCalls(CreateFunctionCommand)[0]?.args[0].input.Role).toBe(
      'arn:aws:iam::123456789012:role/r'
    )
  })

  test('PutTargets entries reported in FailedEntries are retried until accepted', async () => {
    freshAccount()
    mocks.events
      .on(PutTargetsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        FailedEntries: [{ TargetId: 'update-r53-record', ErrorCode: 'ConcurrentModificationException' }]
      })
      .resolves({ FailedEntryCount: 0 })
    const desired = desiredFor()
    await applyPlan(diff(desired, empty()), ctxFor(desired))
    // the two rules' targets, one of them retried
    expect(mocks.events.commandCalls(PutTargetsCommand)).toHaveLength(3)
  })

  test('a zone CallerReference burnt by a deleted zone moves to the next generation; one of a live zone adopts it', async () => {
    freshAccount()
    mocks.r53
      .on(CreateHostedZoneCommand)
      .rejectsOnce(awsError('HostedZoneAlreadyExists'))
      .resolves({ HostedZone: { Id: '/hostedzone/Z2', Name: 'x', CallerReference: 'x' } })
    mocks.r53.on(ListHostedZonesByNameCommand).resolves({ HostedZones: [] })
    const desired = desiredFor()
    await applyPlan(diff(desired, empty()), ctxFor(desired))
    const refs = mocks.r53.commandCalls(CreateHostedZoneCommand).map((c) => c.args[0].input.CallerReference)
    expect(refs).toEqual([
      'hyperform/prj-demo.us-east-1.internal/vpc-1/1',
      'hyperform/prj-demo.us-east-1.internal/vpc-1/2'
    ])

    mocks.r53.reset()
    mocks.r53.onAnyCommand().resolves({})
    zoneSoa()
    mocks.r53.on(CreateHostedZoneCommand).rejects(awsError('HostedZoneAlreadyExists'))
    mocks.r53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [
        {
          Id: '/hostedzone/ZLIVE',
          Name: 'prj-demo.us-east-1.internal.',
          CallerReference: 'x',
          Config: { PrivateZone: true }
        }
      ]
    })
    const result = await applyPlan(diff(desired, empty()), ctxFor(desired))
    expect(mocks.r53.commandCalls(CreateHostedZoneCommand)).toHaveLength(1)
    expect(result.applied.find((a) => a.kind === 'hosted-zone')?.id).toBe('ZLIVE')
  })

  test('a VPC without DNS hostnames stops the zone with a clear error and no zone is created', async () => {
    freshAccount()
    mocks.ec2
      .on(DescribeVpcAttributeCommand)
      .callsFake((input: { Attribute: string }) =>
        input.Attribute === 'enableDnsSupport'
          ? { EnableDnsSupport: { Value: true } }
          : { EnableDnsHostnames: { Value: false } }
      )
    const desired = desiredFor()
    const error = await applyPlan(diff(desired, empty()), ctxFor(desired)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApplyError)
    expect((error as Error).message).toMatch(/VPC vpc-1 has enable-dns-hostnames off/)
    expect(mocks.r53.commandCalls(CreateHostedZoneCommand)).toHaveLength(0)
    expect(mocks.asg.commandCalls(CreateAutoScalingGroupCommand)).toHaveLength(0)
  })

  test('a security group left by a crashed run is adopted and only its missing rules are added', async () => {
    freshAccount()
    mocks.ec2.on(CreateSecurityGroupCommand).rejects(awsError('InvalidGroup.Duplicate'))
    mocks.ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: 'sg-old',
          GroupName: 'g',
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, IpRanges: [{ CidrIp: '172.28.0.0/16' }] }]
        }
      ]
    })
    const desired = desiredFor({
      services: [
        svc('db', {
          ports: [{ target: 3306, published: 3306, protocol: 'tcp' }],
          expose: [{ port: 33060, protocol: 'tcp' }]
        })
      ],
      files: []
    })
    await applyPlan(diff(desired, empty(desired.scope)), ctxFor(desired))
    const authorized = mocks.ec2.commandCalls(AuthorizeSecurityGroupIngressCommand).map((c) => c.args[0].input)
    expect(authorized).toHaveLength(1)
    expect(authorized[0]?.GroupId).toBe('sg-old')
    expect(authorized[0]?.IpPermissions?.map((p) => p.FromPort)).toEqual([33060])
    expect(
      mocks.ec2.commandCalls(CreateLaunchTemplateCommand)[0]?.args[0].input.LaunchTemplateData?.SecurityGroupIds
    ).toEqual(['sg-old'])
  })

  test('a launch template not yet visible to Auto Scaling is retried', async () => {
    freshAccount()
    mocks.asg
      .on(CreateAutoScalingGroupCommand)
      .rejectsOnce(
        awsError('ValidationError', 'The specified launch template, with template ID lt-new, does not exist.')
      )
      .resolves({})
    const desired = desiredFor({ services: [svc('db')], files: [] })
    await applyPlan(diff(desired, empty(desired.scope)), ctxFor(desired))
    expect(mocks.asg.commandCalls(CreateAutoScalingGroupCommand)).toHaveLength(3)
  })

  test('one failing service does not stop the others; the error names the resource and keeps the cause', async () => {
    freshAccount()
    mocks.ec2.on(CreateSecurityGroupCommand).callsFake((input: { GroupName: string }) => {
      if (input.GroupName.endsWith('-a')) throw awsError('UnauthorizedOperation', 'not allowed')
      return { GroupId: 'sg-b' }
    })
    const desired = desiredFor({ services: [svc('a'), svc('b')], files: [] })
    const error = (await applyPlan(diff(desired, empty(desired.scope)), ctxFor(desired)).catch(
      (e: unknown) => e
    )) as ApplyError
    expect(error).toBeInstanceOf(ApplyError)
    expect(error.errors).toHaveLength(1)
    expect(error.message).toBe('creating security group hyperform-prj-demo-st-wordpress-a: not allowed')
    expect((error.errors[0]?.cause as Error).name).toBe('UnauthorizedOperation')
    const created = mocks.asg
      .commandCalls(CreateAutoScalingGroupCommand)
      .map((c) => c.args[0].input.AutoScalingGroupName)
    expect(created.sort()).toEqual([
      'hyperform-prj-demo-st-wordpress-b-on-demand',
      'hyperform-prj-demo-st-wordpress-b-spot'
    ])
  })
})

describe('applyPlan on a deployed stack', () => {
  test('a no-op plan makes no calls at all', async () => {
    const desired = desiredFor()
    const result = await applyPlan(diff(desired, currentFrom(desired)), ctxFor(desired))
    expect(result).toEqual({ applied: [], writes: 0, reads: 0 })
    for (const m of Object.values(mocks)) expect(m.calls()).toHaveLength(0)
  })

  test('an instance refresh already running is cancelled and ours started', async () => {
    const before = desiredFor({ services: [svc('db')], files: [] })
    const after = desiredFor({ services: [svc('db', { image: 'db:2' })], files: [] })
    mocks.asg
      .on(StartInstanceRefreshCommand)
      .rejectsOnce(awsError('InstanceRefreshInProgress'))
      .rejectsOnce(awsError('InstanceRefreshInProgress'))
      .resolves({ InstanceRefreshId: 'r-1' })
    const result = await applyPlan(diff(after, currentFrom(before)), ctxFor(after))
    expect(mocks.asg.commandCalls(CancelInstanceRefreshCommand)).toHaveLength(1)
    expect(result.applied.find((a) => a.kind === 'instance-refresh')?.id).toBe('r-1')
    expect(mocks.asg.commandCalls(StartInstanceRefreshCommand)[2]?.args[0].input.Preferences).toMatchObject({
      MinHealthyPercentage: 100,
      MaxHealthyPercentage: 200,
      SkipMatching: true
    })
  })

  test('a removed service: ASGs force-deleted, then once its instances are gone the template and the group (retrying DependencyViolation)', async () => {
    const before = desiredFor({ services: [svc('a'), svc('b')], files: [] })
    const after = desiredFor({ services: [svc('b')], files: [] })
    mocks.ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              { InstanceId: 'i-1', State: { Name: 'shutting-down' }, Tags: [{ Key: 'hyperform:service', Value: 'a' }] }
            ]
          }
        ]
      })
      .resolves({ Reservations: [] })
    mocks.ec2.on(DeleteSecurityGroupCommand).rejectsOnce(awsError('DependencyViolation')).resolves({})
    const result = await applyPlan(diff(after, currentFrom(before)), ctxFor(after))
    expect(mocks.asg.commandCalls(DeleteAutoScalingGroupCommand).map((c) => c.args[0].input)).toEqual([
      { AutoScalingGroupName: 'hyperform-prj-demo-st-wordpress-a-on-demand', ForceDelete: true },
      { AutoScalingGroupName: 'hyperform-prj-demo-st-wordpress-a-spot', ForceDelete: true }
    ])
    expect(mocks.ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(2)
    expect(mocks.ec2.commandCalls(DeleteLaunchTemplateCommand)[0]?.args[0].input).toEqual({ LaunchTemplateId: 'lt-a' })
    expect(mocks.ec2.commandCalls(DeleteSecurityGroupCommand)).toHaveLength(2)
    expect(result.applied.map((a) => `${a.action} ${a.kind}`)).toEqual(
      expect.arrayContaining(['delete launch-template', 'delete security-group'])
    )
  })

  test('destroying the last stack removes the rule first, deletes the zone last, and tolerates what is already gone', async () => {
    const desired = desiredFor({ services: [svc('a')], files: [] })
    const plan = destroyPlan({ ...currentFrom(desired), otherStacks: [] }, desired.scope)
    const seen: string[] = []
    const { DeleteRuleCommand, RemoveTargetsCommand } = await import('@aws-sdk/client-eventbridge')
    const { DeleteFunctionCommand } = await import('@aws-sdk/client-lambda')
    const { DeleteRoleCommand, DeleteRolePolicyCommand } = await import('@aws-sdk/client-iam')
    const { DeleteHostedZoneCommand, ListResourceRecordSetsCommand } = await import('@aws-sdk/client-route-53')
    mocks.events.on(RemoveTargetsCommand).callsFake(() => (seen.push('RemoveTargets'), {}))
    mocks.events.on(DeleteRuleCommand).callsFake(() => (seen.push('DeleteRule'), {}))
    mocks.asg.on(DeleteAutoScalingGroupCommand).callsFake(() => (seen.push('DeleteAutoScalingGroup'), {}))
    mocks.lambda.on(DeleteFunctionCommand).callsFake(() => (seen.push('DeleteFunction'), {}))
    mocks.iam.on(DeleteRolePolicyCommand).rejects(awsError('NoSuchEntity'))
    mocks.iam
      .on(DeleteRoleCommand)
      .callsFake(
        (input: { RoleName: string }) => (
          seen.push(input.RoleName === desired.project.role.name ? 'DeleteRole' : 'DeleteInstanceRole'),
          {}
        )
      )
    mocks.r53.on(ListResourceRecordSetsCommand).resolves({ IsTruncated: false, ResourceRecordSets: [] })
    mocks.r53.on(DeleteHostedZoneCommand).callsFake(() => (seen.push('DeleteHostedZone'), {}))
    const result = await applyPlan(plan, ctxFor())
    expect(seen.indexOf('DeleteRule')).toBeLessThan(seen.indexOf('DeleteAutoScalingGroup'))
    expect(seen.indexOf('RemoveTargets')).toBeLessThan(seen.indexOf('DeleteRule'))
    expect(seen.at(-1)).toBe('DeleteHostedZone')
    expect(seen.indexOf('DeleteFunction')).toBeLessThan(seen.indexOf('DeleteRole'))
    expect(result.applied.filter((a) => a.action === 'delete').map((a) => a.kind)).toEqual(
      expect.arrayContaining(['iam-role', 'hosted-zone', 'lambda-function', 'event-rule'])
    )
  })

  test('destroy with another stack found at apply time keeps the project DNS stack', async () => {
    const desired = desiredFor({ services: [svc('a')], files: [] })
    const plan = destroyPlan(currentFrom(desired), desired.scope)
    mocks.asg.on(DescribeInstancesCommand).resolves({})
    const { DescribeAutoScalingGroupsCommand } = await import('@aws-sdk/client-auto-scaling')
    mocks.asg.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: 'x',
          MinSize: 0,
          MaxSize: 0,
          DesiredCapacity: 0,
          DefaultCooldown: 0,
          AvailabilityZones: [],
          HealthCheckType: 'EC2',
          CreatedTime: new Date(),
          Tags: [{ Key: 'hyperform:stack', Value: 'pr-9' }]
        }
      ]
    })
    const result = await applyPlan(plan, ctxFor())
    expect(result.applied.some((a) => a.kind === 'hosted-zone' || a.kind === 'lambda-function')).toBe(false)
    expect(lines).toContain('keeping the project DNS stack: stack(s) pr-9 still use it')
  })
})
