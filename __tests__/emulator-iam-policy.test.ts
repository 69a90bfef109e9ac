/**
 * IAM in the emulator: role sessions (STS AssumeRole, AssumeRoleWithWebIdentity) act as their
 * role, and every call they sign is evaluated against the role's identity-based policies, as the
 * IAM User Guide's policy evaluation logic describes; a denied call fails with the service's own
 * error through the real SDK clients. Credentials the emulator did not issue are allowed all.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetInstanceHealthCommand,
  UpdateAutoScalingGroupCommand
} from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs'
import {
  CreateLaunchTemplateCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client
} from '@aws-sdk/client-ec2'
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge'
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateOpenIDConnectProviderCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
  UpdateAssumeRolePolicyCommand
} from '@aws-sdk/client-iam'
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2
} from '@aws-sdk/client-lambda'
import { ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  DecodeAuthorizationMessageCommand,
  GetCallerIdentityCommand,
  STSClient
} from '@aws-sdk/client-sts'
import { strToU8, zipSync } from 'fflate'
import { readFileSync } from 'node:fs'
import { authorizationTable } from '../emulator/iam-policy/table.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, roleSession, sdkConfig, type SdkTestConfig } from '../emulator/testing.js'

const ACCOUNT = '123456789012'
const LAMBDA_TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
}

let emu: Emulator
let admin: SdkTestConfig
let roles = 0

beforeAll(async () => {
  emu = await startEmulator({ accountId: ACCOUNT })
  admin = sdkConfig(emu)
})

afterAll(async () => {
  await emu.stop()
})

/** A new role with exactly this policy, assumed. */
function session(policy: object, extra: { managedPolicyArns?: string[] } = {}): Promise<SdkTestConfig> {
  roles += 1
  return roleSession(emu, { roleName: `role-${roles}`, policy, sessionName: 'tester', ...extra })
}

const allow = (Action: string | string[], Resource: string | string[] = '*', Condition?: object): object => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition ? { Condition } : {})
})
const deny = (Action: string | string[], Resource: string | string[] = '*'): object => ({
  Effect: 'Deny',
  Action,
  Resource
})
const policy = (...Statement: object[]): object => ({ Version: '2012-10-17', Statement })

async function failure(
  promise: Promise<unknown>
): Promise<Error & { $metadata?: { httpStatusCode?: number }; Code?: string }> {
  try {
    await promise
  } catch (err) {
    return err as Error & { $metadata?: { httpStatusCode?: number } }
  }
  throw new Error('expected the call to fail')
}

function jwt(claims: Record<string, unknown>): string {
  const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`
}

describe('a role with exactly a policy', () => {
  test('is allowed what the policy grants', async () => {
    const config = await session(policy(allow(['ec2:DescribeVpcs', 'route53:ListHostedZones'])))
    const vpcs = await new EC2Client(config).send(new DescribeVpcsCommand({}))
    expect(vpcs.Vpcs?.length).toBeGreaterThan(0)
    await expect(new Route53Client(config).send(new ListHostedZonesCommand({}))).resolves.toBeDefined()
  })

  test('is denied the rest, with each service its own error and the message in AWS format', async () => {
    const config = await session(policy(allow('ec2:DescribeVpcs')))
    const user = `arn:aws:sts::${ACCOUNT}:assumed-role/role-${roles}/tester`
    const cases: [string, Promise<unknown>, string, number][] = [
      ['route53:ListHostedZones', new Route53Client(config).send(new ListHostedZonesCommand({})), 'AccessDenied', 403],
      [
        'lambda:ListFunctions',
        new LambdaClient(config).send(new ListFunctionsCommand({})),
        'AccessDeniedException',
        403
      ],
      [
        'autoscaling:DescribeAutoScalingGroups',
        new AutoScalingClient(config).send(new DescribeAutoScalingGroupsCommand({})),
        'AccessDenied',
        403
      ],
      [
        'logs:DescribeLogGroups',
        new CloudWatchLogsClient(config).send(new DescribeLogGroupsCommand({})),
        'AccessDeniedException',
        400
      ],
      ['events:ListRules', new EventBridgeClient(config).send(new ListRulesCommand({})), 'AccessDeniedException', 400],
      ['iam:GetRole', new IAMClient(config).send(new GetRoleCommand({ RoleName: 'role-1' })), 'AccessDenied', 403]
    ]
    for (const [action, call, name, status] of cases) {
      const err = await failure(call)
      expect({ action, name: err.name, status: err.$metadata?.httpStatusCode }).toEqual({ action, name, status })
      expect(err.message).toContain(`User: ${user} is not authorized to perform: ${action}`)
      expect(err.message).toContain(`because no identity-based policy allows the ${action} action`)
    }
    const ssm = await failure(new SSMClient(config).send(new GetParameterCommand({ Name: '/app/secret' })))
    expect(ssm.name).toBe('AccessDeniedException')
    expect(ssm.message).toBe(
      `User: ${user} is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/app/secret because no identity-based policy allows the ssm:GetParameter action`
    )
  })

  test('is denied by EC2 with UnauthorizedOperation, whose encoded message STS decodes', async () => {
    const config = await session(policy(allow('ec2:DescribeVpcs')))
    const err = await failure(new EC2Client(config).send(new DescribeSubnetsCommand({})))
    expect(err.name).toBe('UnauthorizedOperation')
    expect(err.$metadata?.httpStatusCode).toBe(403)
    expect(err.message).toMatch(
      /^You are not authorized to perform this operation\. User: .* is not authorized to perform: ec2:DescribeSubnets because/
    )
    const encoded = /Encoded authorization failure message: (\S+)$/.exec(err.message)?.[1] ?? ''
    const decoded = await new STSClient(admin).send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded }))
    expect(JSON.parse(decoded.DecodedMessage ?? '{}')).toMatchObject({
      allowed: false,
      explicitDeny: false,
      context: {
        principal: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/role-${roles}/tester` },
        action: 'ec2:DescribeSubnets',
        resource: '*'
      }
    })
    await expect(
      new STSClient(admin).send(new DecodeAuthorizationMessageCommand({ EncodedMessage: 'garbage' }))
    ).rejects.toMatchObject({ name: 'InvalidAuthorizationMessageException' })
  })

  test('is denied by an explicit deny even where another statement allows', async () => {
    const config = await session(policy(allow('ec2:*'), deny('ec2:DescribeSubnets')))
    await expect(new EC2Client(config).send(new DescribeVpcsCommand({}))).resolves.toBeDefined()
    const err = await failure(new EC2Client(config).send(new DescribeSubnetsCommand({})))
    expect(err.name).toBe('UnauthorizedOperation')
    expect(err.message).toContain('with an explicit deny in an identity-based policy')
  })

  test('NotAction allows everything but the actions it names', async () => {
    const config = await session(policy({ Effect: 'Allow', NotAction: 'ec2:DescribeSubnets', Resource: '*' }))
    await expect(new EC2Client(config).send(new DescribeVpcsCommand({}))).resolves.toBeDefined()
    expect((await failure(new EC2Client(config).send(new DescribeSubnetsCommand({})))).name).toBe(
      'UnauthorizedOperation'
    )
  })

  test('a managed policy attached to the role grants, and its new default version replaces it', async () => {
    const iam = new IAMClient(admin)
    const created = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'readers',
        PolicyDocument: JSON.stringify(policy(allow('ec2:DescribeVpcs')))
      })
    )
    const arn = created.Policy?.Arn ?? ''
    const config = await session(policy(), { managedPolicyArns: [arn] })
    await expect(new EC2Client(config).send(new DescribeVpcsCommand({}))).resolves.toBeDefined()
    await iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: arn,
        PolicyDocument: JSON.stringify(policy(allow('ec2:DescribeSubnets'))),
        SetAsDefault: true
      })
    )
    expect((await failure(new EC2Client(config).send(new DescribeVpcsCommand({})))).name).toBe('UnauthorizedOperation')
    await expect(new EC2Client(config).send(new DescribeSubnetsCommand({}))).resolves.toBeDefined()
  })

  test('an SSM parameter path in the resource ARN allows the parameters under it', async () => {
    const config = await session(
      policy(allow('ssm:GetParameter', 'arn:aws:ssm:us-east-1::parameter/aws/service/ami-amazon-linux-latest/*'))
    )
    const ssm = new SSMClient(config)
    const out = await ssm.send(
      new GetParameterCommand({ Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' })
    )
    expect(out.Parameter?.Value).toMatch(/^ami-/)
    expect((await failure(ssm.send(new GetParameterCommand({ Name: '/aws/service/other/thing' })))).name).toBe(
      'AccessDeniedException'
    )
  })
})

describe('conditions', () => {
  test('aws:ResourceTag and ec2:ResourceTag decide which security groups a role may delete', async () => {
    const ec2Admin = new EC2Client(admin)
    const vpcId = (await ec2Admin.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId
    const tagged = (project: string): Promise<string | undefined> =>
      ec2Admin
        .send(
          new CreateSecurityGroupCommand({
            GroupName: `grp-${project}-${roles}`,
            Description: 'd',
            VpcId: vpcId,
            TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'project', Value: project }] }]
          })
        )
        .then((o) => o.GroupId)
    const mine = await tagged('mine')
    const theirs = await tagged('theirs')
    const config = await session(
      policy(
        allow('ec2:DeleteSecurityGroup', `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/*`, {
          StringEquals: { 'aws:ResourceTag/project': 'mine', 'ec2:ResourceTag/project': 'mine' }
        })
      )
    )
    const ec2 = new EC2Client(config)
    const err = await failure(ec2.send(new DeleteSecurityGroupCommand({ GroupId: theirs })))
    expect(err.name).toBe('UnauthorizedOperation')
    expect(err.message).toContain(`on resource: arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${theirs ?? ''}`)
    await expect(ec2.send(new DeleteSecurityGroupCommand({ GroupId: mine }))).resolves.toBeDefined()
  })

  test('aws:RequestTag and ForAllValues aws:TagKeys decide which security groups a role may create', async () => {
    const condition = {
      StringEquals: { 'aws:RequestTag/project': 'mine' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['project', 'stack'] }
    }
    const config = await session(
      policy(
        allow('ec2:CreateSecurityGroup', `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/*`, condition),
        allow('ec2:CreateSecurityGroup', `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/*`),
        // tags on create are applied with ec2:CreateTags, allowed only as part of the create
        allow('ec2:CreateTags', `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/*`, {
          StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup' }
        }),
        allow('ec2:DescribeVpcs')
      )
    )
    const ec2 = new EC2Client(config)
    const vpcId = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId
    const create = (tags: Record<string, string>): Promise<unknown> =>
      ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: `grp-${Object.values(tags).join('-')}-${roles}`,
          Description: 'd',
          VpcId: vpcId,
          TagSpecifications: [
            { ResourceType: 'security-group', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }
          ]
        })
      )
    await expect(create({ project: 'mine', stack: 'a' })).resolves.toBeDefined()
    expect((await failure(create({ project: 'theirs' }))).name).toBe('UnauthorizedOperation')
    expect((await failure(create({ project: 'mine', owner: 'x' }))).name).toBe('UnauthorizedOperation')
  })

  test('a security group tagged on creation also needs ec2:CreateTags with ec2:CreateAction naming the create', async () => {
    const config = await session(
      policy(
        allow('ec2:CreateSecurityGroup', `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/*`),
        allow('ec2:CreateSecurityGroup', `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/*`),
        allow('ec2:DescribeVpcs')
      )
    )
    const ec2 = new EC2Client(config)
    const vpcId = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId
    const create = (tagged: boolean): Promise<unknown> =>
      ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: `grp-${tagged ? 'tagged' : 'plain'}-${roles}`,
          Description: 'd',
          VpcId: vpcId,
          ...(tagged
            ? { TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'k', Value: 'v' }] }] }
            : {})
        })
      )
    await expect(create(false)).resolves.toBeDefined()
    const err = await failure(create(true))
    expect(err.name).toBe('UnauthorizedOperation')
    expect(err.message).toContain('is not authorized to perform: ec2:CreateTags on resource: arn:aws:ec2:us-east-1:')
  })

  test('iam:PassRole is checked when CreateFunction names a role, with iam:PassedToService', async () => {
    const iam = new IAMClient(admin)
    const exec = await iam.send(
      new CreateRoleCommand({ RoleName: 'passed-exec', AssumeRolePolicyDocument: JSON.stringify(LAMBDA_TRUST) })
    )
    const execArn = exec.Role?.Arn ?? ''
    const create = (config: SdkTestConfig, name: string): Promise<unknown> =>
      new LambdaClient(config).send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: 'nodejs24.x',
          Role: execArn,
          Handler: 'index.handler',
          Code: { ZipFile: zipSync({ 'index.mjs': strToU8('export const handler = async () => 1') }) }
        })
      )
    const toEc2 = await session(
      policy(
        allow('lambda:CreateFunction'),
        allow('iam:PassRole', execArn, { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } })
      )
    )
    const err = await failure(create(toEc2, 'passed-no'))
    expect(err.name).toBe('AccessDeniedException')
    expect(err.message).toContain(`is not authorized to perform: iam:PassRole on resource: ${execArn}`)
    const toLambda = await session(
      policy(
        allow('lambda:CreateFunction'),
        allow('iam:PassRole', execArn, { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } })
      )
    )
    await expect(create(toLambda, 'passed-yes')).resolves.toBeDefined()

    // UpdateFunctionConfiguration passes the role only when it names one
    await waitUntilFunctionActiveV2(
      { client: new LambdaClient(admin), maxWaitTime: 20, minDelay: 1 },
      { FunctionName: 'passed-yes' }
    )
    const updater = new LambdaClient(
      await session(
        policy(allow('lambda:UpdateFunctionConfiguration', `arn:aws:lambda:us-east-1:${ACCOUNT}:function:passed-*`))
      )
    )
    const update = await failure(
      updater.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'passed-yes', Role: execArn }))
    )
    expect(update.message).toContain(`is not authorized to perform: iam:PassRole on resource: ${execArn}`)
    await expect(
      updater.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'passed-yes', Timeout: 10 }))
    ).resolves.toMatchObject({ Timeout: 10 })
  })

  test('an Auto Scaling group from a launch template with an instance profile needs ec2:RunInstances and iam:PassRole to ec2.amazonaws.com', async () => {
    const iam = new IAMClient(admin)
    const ec2Admin = new EC2Client(admin)
    const instanceRole = await iam.send(
      new CreateRoleCommand({
        RoleName: 'instance-role',
        AssumeRolePolicyDocument: JSON.stringify(
          policy({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' })
        )
      })
    )
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'instance-profile' }))
    await iam.send(
      new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'instance-profile', RoleName: 'instance-role' })
    )
    const lt = await ec2Admin.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'with-profile',
        LaunchTemplateData: {
          ImageId: 'ami-0a2023a1b2c3d4e5f',
          InstanceType: 't3.micro',
          IamInstanceProfile: { Name: 'instance-profile' }
        }
      })
    )
    const subnets = (await ec2Admin.send(new DescribeSubnetsCommand({}))).Subnets?.map((x) => x.SubnetId).join(',')
    const create = (config: SdkTestConfig, name: string): Promise<unknown> =>
      new AutoScalingClient(config).send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: name,
          MinSize: 0,
          MaxSize: 0,
          DesiredCapacity: 0,
          VPCZoneIdentifier: subnets,
          LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate?.LaunchTemplateId, Version: '$Latest' }
        })
      )
    const base = [allow('autoscaling:CreateAutoScalingGroup'), allow('ec2:RunInstances')]
    const noPass = await session(policy(...base))
    const err = await failure(create(noPass, 'asg-no-pass'))
    expect(err.name).toBe('AccessDenied')
    expect(err.message).toBe('You are not authorized to use launch template: with-profile')
    const passToLambda = await session(
      policy(
        ...base,
        allow('iam:PassRole', instanceRole.Role?.Arn ?? '', {
          StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' }
        })
      )
    )
    expect((await failure(create(passToLambda, 'asg-wrong-service'))).name).toBe('AccessDenied')
    const passToEc2 = await session(
      policy(
        ...base,
        allow('iam:PassRole', instanceRole.Role?.Arn ?? '', {
          StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' }
        })
      )
    )
    // the account's first group: Auto Scaling creates its service-linked role, with the caller's permission
    const slr = await failure(create(passToEc2, 'asg-first'))
    expect(slr.name).toBe('AccessDenied')
    expect(slr.message).toContain(
      `is not authorized to perform: iam:CreateServiceLinkedRole on resource: arn:aws:iam::${ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`
    )
    const withSlr = await session(
      policy(
        ...base,
        allow('iam:PassRole', instanceRole.Role?.Arn ?? ''),
        allow('iam:CreateServiceLinkedRole', '*', {
          StringEquals: { 'iam:AWSServiceName': 'autoscaling.amazonaws.com' }
        })
      )
    )
    await expect(create(withSlr, 'asg-first')).resolves.toBeDefined()
    // the role exists now: later groups need no more
    await expect(create(passToEc2, 'asg-ok')).resolves.toBeDefined()
  })

  test('autoscaling:ResourceTag decides which Auto Scaling groups a role may resize', async () => {
    const ec2Admin = new EC2Client(admin)
    const lt = await ec2Admin.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'plain',
        LaunchTemplateData: { ImageId: 'ami-0a2023a1b2c3d4e5f', InstanceType: 't3.micro' }
      })
    )
    const subnets = (await ec2Admin.send(new DescribeSubnetsCommand({}))).Subnets?.map((x) => x.SubnetId).join(',')
    const asgAdmin = new AutoScalingClient(admin)
    for (const project of ['mine', 'theirs']) {
      await asgAdmin.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: `asg-${project}`,
          MinSize: 0,
          MaxSize: 0,
          DesiredCapacity: 0,
          VPCZoneIdentifier: subnets,
          LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate?.LaunchTemplateId, Version: '$Default' },
          Tags: [{ Key: 'project', Value: project, PropagateAtLaunch: true }]
        })
      )
    }
    const condition = { StringEquals: { 'autoscaling:ResourceTag/project': 'mine' } }
    const asg = new AutoScalingClient(
      await session(policy(allow('autoscaling:UpdateAutoScalingGroup', '*', condition)))
    )
    const err = await failure(
      asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'asg-theirs', MaxSize: 1 }))
    )
    expect(err.name).toBe('AccessDenied')
    expect(err.message).toMatch(
      new RegExp(
        `on resource: arn:aws:autoscaling:us-east-1:${ACCOUNT}:autoScalingGroup:[0-9a-f-]+:autoScalingGroupName/asg-theirs because`
      )
    )
    await expect(
      asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'asg-mine', MaxSize: 1 }))
    ).resolves.toBeDefined()
  })

  test("a role scoped to its group's ARN may complete, heartbeat and set the health of its members, and no other group's", async () => {
    const ec2Admin = new EC2Client(admin)
    const lt = await ec2Admin.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'hooked',
        LaunchTemplateData: { ImageId: 'ami-0a2023a1b2c3d4e5f', InstanceType: 't3.micro' }
      })
    )
    const asgAdmin = new AutoScalingClient(admin)
    for (const name of ['hooked-mine', 'hooked-theirs']) {
      await asgAdmin.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: name,
          MinSize: 0,
          MaxSize: 1,
          DesiredCapacity: 1,
          LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplate?.LaunchTemplateId, Version: '1' },
          LifecycleHookSpecificationList: [
            { LifecycleHookName: 'ready', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' }
          ]
        })
      )
    }
    const scoped = (name: string): string =>
      `arn:aws:autoscaling:us-east-1:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/${name}`
    const asg = new AutoScalingClient(
      await session(
        policy(
          allow(
            [
              'autoscaling:CompleteLifecycleAction',
              'autoscaling:RecordLifecycleActionHeartbeat',
              'autoscaling:SetInstanceHealth'
            ],
            scoped('hooked-mine')
          ),
          allow('autoscaling:DescribeAutoScalingInstances')
        )
      )
    )
    const waiting = await eventually(async () => {
      const out = await asg.send(new DescribeAutoScalingInstancesCommand({}))
      const found = (out.AutoScalingInstances ?? []).filter((i) => i.LifecycleState === 'Pending:Wait')
      return found.length === 2 ? found : undefined
    })
    const idOf = (group: string): string => waiting.find((i) => i.AutoScalingGroupName === group)?.InstanceId ?? ''
    const theirs = await failure(
      asg.send(
        new RecordLifecycleActionHeartbeatCommand({
          AutoScalingGroupName: 'hooked-theirs',
          LifecycleHookName: 'ready',
          InstanceId: idOf('hooked-theirs')
        })
      )
    )
    expect(theirs.name).toBe('AccessDenied')
    expect(theirs.message).toContain('autoscaling:RecordLifecycleActionHeartbeat')
    expect(
      (
        await failure(
          asg.send(new SetInstanceHealthCommand({ InstanceId: idOf('hooked-theirs'), HealthStatus: 'Healthy' }))
        )
      ).name
    ).toBe('AccessDenied')
    await asg.send(
      new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: 'hooked-mine',
        LifecycleHookName: 'ready',
        InstanceId: idOf('hooked-mine')
      })
    )
    await asg.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: 'hooked-mine',
        LifecycleHookName: 'ready',
        InstanceId: idOf('hooked-mine'),
        LifecycleActionResult: 'CONTINUE'
      })
    )
    await asg.send(new SetInstanceHealthCommand({ InstanceId: idOf('hooked-mine'), HealthStatus: 'Healthy' }))
  })

  test("a role's tags are its aws:ResourceTag and iam:ResourceTag", async () => {
    const iam = new IAMClient(admin)
    for (const team of ['a', 'b'])
      await iam.send(
        new CreateRoleCommand({
          RoleName: `team-${team}`,
          AssumeRolePolicyDocument: JSON.stringify(LAMBDA_TRUST),
          Tags: [{ Key: 'team', Value: team }]
        })
      )
    const reader = new IAMClient(
      await session(
        policy(
          allow('iam:GetRole', '*', { StringEquals: { 'aws:ResourceTag/team': 'a', 'iam:ResourceTag/team': 'a' } })
        )
      )
    )
    await expect(reader.send(new GetRoleCommand({ RoleName: 'team-a' }))).resolves.toBeDefined()
    const err = await failure(reader.send(new GetRoleCommand({ RoleName: 'team-b' })))
    expect(err.name).toBe('AccessDenied')
    expect(err.message).toContain(`on resource: arn:aws:iam::${ACCOUNT}:role/team-b because`)
  })

  test('StringLike, ArnLike and Null conditions', async () => {
    const config = await session(
      policy(
        allow('ec2:DescribeVpcs', '*', { StringLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/role-*` } }),
        allow('ec2:DescribeSubnets', '*', { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/other-*` } }),
        allow('ec2:DescribeImages', '*', { Null: { 'aws:RequestTag/anything': 'true' } })
      )
    )
    const ec2 = new EC2Client(config)
    await expect(ec2.send(new DescribeVpcsCommand({}))).resolves.toBeDefined()
    expect((await failure(ec2.send(new DescribeSubnetsCommand({})))).name).toBe('UnauthorizedOperation')
  })
})

describe('STS', () => {
  test('GetCallerIdentity with assumed credentials returns the assumed-role ARN', async () => {
    const config = await session(policy())
    const who = await new STSClient(config).send(new GetCallerIdentityCommand({}))
    expect(who.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/role-${roles}/tester`)
    expect(who.UserId).toMatch(/^AROA[0-9A-Z]+:tester$/)
    expect(config.credentials.accessKeyId).toMatch(/^ASIA[0-9A-Z]{16}$/)
  })

  test('AssumeRole with a trust policy that does not name the caller is refused', async () => {
    const iam = new IAMClient(admin)
    const role = await iam.send(
      new CreateRoleCommand({ RoleName: 'lambda-only', AssumeRolePolicyDocument: JSON.stringify(LAMBDA_TRUST) })
    )
    const err = await failure(
      new STSClient(admin).send(new AssumeRoleCommand({ RoleArn: role.Role?.Arn, RoleSessionName: 'denied' }))
    )
    expect(err.name).toBe('AccessDenied')
    expect(err.$metadata?.httpStatusCode).toBe(403)
    expect(err.message).toBe(
      `User: arn:aws:iam::${ACCOUNT}:user/emulator is not authorized to perform: sts:AssumeRole on resource: ${role.Role?.Arn ?? ''}`
    )
  })

  test('a role session may assume another role only when its own policy allows sts:AssumeRole', async () => {
    const target = await new IAMClient(admin).send(
      new CreateRoleCommand({
        RoleName: 'target',
        AssumeRolePolicyDocument: JSON.stringify(
          policy({ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole' })
        )
      })
    )
    const without = await session(policy())
    expect(
      (
        await failure(
          new STSClient(without).send(new AssumeRoleCommand({ RoleArn: target.Role?.Arn, RoleSessionName: 'denied' }))
        )
      ).name
    ).toBe('AccessDenied')
    const withIt = await session(policy(allow('sts:AssumeRole', target.Role?.Arn ?? '')))
    const out = await new STSClient(withIt).send(
      new AssumeRoleCommand({ RoleArn: target.Role?.Arn, RoleSessionName: 'hop' })
    )
    expect(out.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/target/hop`)
  })

  test('requests signed with session keys must carry the session token', async () => {
    const config = await session(policy(allow('*')))
    const noToken = {
      ...config,
      credentials: { accessKeyId: config.credentials.accessKeyId, secretAccessKey: config.credentials.secretAccessKey }
    }
    const wrong = { ...config, credentials: { ...config.credentials, sessionToken: 'wrong' } }
    expect((await failure(new STSClient(noToken).send(new GetCallerIdentityCommand({})))).name).toBe(
      'InvalidClientTokenId'
    )
    expect((await failure(new CloudWatchLogsClient(wrong).send(new DescribeLogGroupsCommand({})))).name).toBe(
      'UnrecognizedClientException'
    )
    expect((await failure(new LambdaClient(noToken).send(new ListFunctionsCommand({})))).name).toBe(
      'UnrecognizedClientException'
    )
    expect((await failure(new EC2Client(noToken).send(new DescribeVpcsCommand({})))).name).toBe('AuthFailure')
    await expect(new EC2Client(config).send(new DescribeVpcsCommand({}))).resolves.toBeDefined()
  })

  describe('AssumeRoleWithWebIdentity (GitHub OIDC)', () => {
    const issuer = 'https://token.actions.githubusercontent.com'
    const trust = policy({
      Effect: 'Allow',
      Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
        StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:org/app:*' }
      }
    })
    let roleArn = ''
    const assume = (sub: string, aud = 'sts.amazonaws.com'): Promise<unknown> =>
      new STSClient({ endpoint: emu.endpoint, region: 'us-east-1', maxAttempts: 1 }).send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: roleArn,
          RoleSessionName: 'gha',
          WebIdentityToken: jwt({ iss: issuer, aud, sub, exp: Math.floor(Date.now() / 1000) + 300 })
        })
      )

    beforeAll(async () => {
      const role = await new IAMClient(admin).send(
        new CreateRoleCommand({ RoleName: 'deployer-oidc', AssumeRolePolicyDocument: JSON.stringify(trust) })
      )
      roleArn = role.Role?.Arn ?? ''
    })

    test('a token from an issuer not registered in IAM, or for an audience it does not list, is refused as invalid', async () => {
      const unregistered = await failure(assume('repo:org/app:ref:refs/heads/main'))
      expect(unregistered.name).toBe('InvalidIdentityTokenException')
      expect(unregistered.message).toBe(`No OpenIDConnect provider found in your account for ${issuer}`)
      const iam = new IAMClient(admin)
      await iam.send(new CreateOpenIDConnectProviderCommand({ Url: issuer, ClientIDList: ['sts.amazonaws.com'] }))
      const listed = await iam.send(new ListOpenIDConnectProvidersCommand({}))
      expect(listed.OpenIDConnectProviderList).toEqual([
        { Arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` }
      ])
      const audience = await failure(assume('repo:org/app:ref:refs/heads/main', 'someone-else'))
      expect(audience.message).toBe('Incorrect token audience')
    })

    test('a token whose sub and aud the trust policy accepts gets credentials acting as the role', async () => {
      const out = (await assume('repo:org/app:ref:refs/heads/main')) as {
        Credentials?: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string }
        SubjectFromWebIdentityToken?: string
      }
      expect(out.SubjectFromWebIdentityToken).toBe('repo:org/app:ref:refs/heads/main')
      const credentials = {
        accessKeyId: out.Credentials?.AccessKeyId ?? '',
        secretAccessKey: out.Credentials?.SecretAccessKey ?? '',
        sessionToken: out.Credentials?.SessionToken ?? ''
      }
      const who = await new STSClient({ ...admin, credentials }).send(new GetCallerIdentityCommand({}))
      expect(who.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/deployer-oidc/gha`)
      // the role has no policy: everything but GetCallerIdentity is denied
      expect((await failure(new EC2Client({ ...admin, credentials }).send(new DescribeVpcsCommand({})))).name).toBe(
        'UnauthorizedOperation'
      )
    })

    test('a token with a sub the trust policy does not accept is refused', async () => {
      const err = await failure(assume('repo:org/other:ref:refs/heads/main'))
      expect(err.name).toBe('AccessDenied')
      expect(err.message).toBe('Not authorized to perform sts:AssumeRoleWithWebIdentity')
    })

    test('a token that is not a JWT is refused as invalid', async () => {
      const err = await failure(
        new STSClient({ endpoint: emu.endpoint, region: 'us-east-1', maxAttempts: 1 }).send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: roleArn,
            RoleSessionName: 'gha',
            WebIdentityToken: 'not-a-jwt'
          })
        )
      )
      expect(err.name).toBe('InvalidIdentityTokenException')
    })
  })
})

describe('Lambda execution roles', () => {
  test('a function runs with its role session, and fails to run once Lambda may no longer assume the role', async () => {
    const iam = new IAMClient(admin)
    const role = await iam.send(
      new CreateRoleCommand({ RoleName: 'fn-exec', AssumeRolePolicyDocument: JSON.stringify(LAMBDA_TRUST) })
    )
    const lambda = new LambdaClient(admin)
    const code = `import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts'
export const handler = async () => (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn`
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'whoami',
        Runtime: 'nodejs24.x',
        Role: role.Role?.Arn,
        Handler: 'index.handler',
        Timeout: 30,
        Code: { ZipFile: zipSync({ 'index.mjs': strToU8(code) }) }
      })
    )
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: 'whoami' })
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'whoami' }))
    expect(JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8'))).toBe(
      `arn:aws:sts::${ACCOUNT}:assumed-role/fn-exec/whoami`
    )
    expect(emu.calls().some((c) => c.caller === 'lambda-whoami' && c.operation === 'GetCallerIdentity')).toBe(true)

    await iam.send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: 'fn-exec',
        PolicyDocument: JSON.stringify(
          policy({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' })
        )
      })
    )
    // new code needs a new execution environment, for which Lambda assumes the role again
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'whoami', ZipFile: zipSync({ 'index.mjs': strToU8(`${code}\n`) }) })
    )
    await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: 'whoami' })
    const err = await failure(lambda.send(new InvokeCommand({ FunctionName: 'whoami' })))
    expect(err.name).toBe('InvalidParameterValueException')
    expect(err.message).toBe('The role defined for the function cannot be assumed by Lambda.')
  })
})

describe('the authorization table', () => {
  test("in the emulator's README is the one the authorizer uses", () => {
    const readme = readFileSync(new URL('../emulator/README.md', import.meta.url), 'utf8')
    const table =
      /<!-- authorization table: generated by iam-policy\/table.ts -->\n([\s\S]*?)\n<!-- end of authorization table -->/.exec(
        readme
      )?.[1]
    expect(table).toBe(authorizationTable())
  })
})
