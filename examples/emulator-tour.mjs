// An ordinary AWS SDK v3 program: nothing in it knows about the emulator. Point it at one with
//   npm run emulator -- --port 4566
//   AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 \
//   AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test node examples/emulator-tour.mjs
// It launches an Auto Scaling group of 2, writes a 2-value A record in a private zone, deploys a
// function wired to EC2 state changes, terminates an instance and finds the function's log line.
// It prints one JSON object with what it saw and the operations it called.
import { AutoScalingClient, CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import {
  CreateLaunchTemplateCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  TerminateInstancesCommand
} from '@aws-sdk/client-ec2'
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  LambdaClient,
  waitUntilFunctionActiveV2
} from '@aws-sdk/client-lambda'
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client
} from '@aws-sdk/client-route-53'
import { strToU8, zipSync } from 'fflate'

const ec2 = new EC2Client({})
const autoScaling = new AutoScalingClient({})
const route53 = new Route53Client({})
const iam = new IAMClient({})
const lambda = new LambdaClient({})
const events = new EventBridgeClient({})
const logs = new CloudWatchLogsClient({})
const called = []

async function send(client, command) {
  called.push(command.constructor.name.replace(/Command$/, ''))
  return client.send(command)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(check, what) {
  for (let i = 0; i < 200; i++) {
    const value = await check()
    if (value !== undefined) return value
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function launchGroup() {
  const vpc = (await send(ec2, new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] })))
    .Vpcs[0]
  const subnets = (await send(ec2, new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId] }] })))
    .Subnets
  const image = (await send(ec2, new DescribeImagesCommand({ Owners: ['amazon'] }))).Images[0]
  const template = await send(
    ec2,
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: 'tour',
      LaunchTemplateData: {
        ImageId: image.ImageId,
        InstanceType: 't3.micro',
        MetadataOptions: { HttpTokens: 'required' }
      }
    })
  )
  await send(
    autoScaling,
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: 'tour',
      LaunchTemplate: { LaunchTemplateId: template.LaunchTemplate.LaunchTemplateId, Version: '$Latest' },
      MinSize: 2,
      MaxSize: 2,
      DesiredCapacity: 2,
      VPCZoneIdentifier: subnets.map((s) => s.SubnetId).join(','),
      Tags: [{ Key: 'tour', Value: 'yes', PropagateAtLaunch: true }]
    })
  )
  const running = await until(async () => {
    const out = await send(
      ec2,
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:tour', Values: ['yes'] },
          { Name: 'instance-state-name', Values: ['running'] }
        ]
      })
    )
    const instances = out.Reservations.flatMap((r) => r.Instances)
    return instances.length === 2 ? instances : undefined
  }, 'two running instances')
  return { vpc, instances: running.map((i) => ({ id: i.InstanceId, ip: i.PrivateIpAddress, tags: i.Tags })) }
}

async function writeRecord(vpcId, ips) {
  const zone = await send(
    route53,
    new CreateHostedZoneCommand({
      Name: 'tour.internal',
      CallerReference: 'tour-1',
      VPC: { VPCId: vpcId, VPCRegion: 'us-east-1' },
      HostedZoneConfig: { PrivateZone: true }
    })
  )
  const zoneId = zone.HostedZone.Id
  await send(
    route53,
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: 'web.tour.internal',
              Type: 'A',
              TTL: 10,
              ResourceRecords: ips.map((Value) => ({ Value }))
            }
          }
        ]
      }
    })
  )
  const sets = (await send(route53, new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))).ResourceRecordSets
  return sets.find((s) => s.Type === 'A')
}

const HANDLER =
  'export const handler = async (event) => { console.log("state change", event.detail["instance-id"], event.detail.state); return "ok" }\n'

async function deployFunction() {
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
  }
  const role = await send(
    iam,
    new CreateRoleCommand({ RoleName: 'tour', AssumeRolePolicyDocument: JSON.stringify(trust) })
  )
  const fn = await send(
    lambda,
    new CreateFunctionCommand({
      FunctionName: 'tour',
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: role.Role.Arn,
      Code: { ZipFile: zipSync({ 'index.mjs': strToU8(HANDLER) }) }
    })
  )
  called.push('GetFunction (waiter)')
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 30 }, { FunctionName: 'tour' })
  const pattern = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] }
  const rule = await send(events, new PutRuleCommand({ Name: 'tour', EventPattern: JSON.stringify(pattern) }))
  const targets = await send(
    events,
    new PutTargetsCommand({ Rule: 'tour', Targets: [{ Id: 'fn', Arn: fn.FunctionArn }] })
  )
  await send(
    lambda,
    new AddPermissionCommand({
      FunctionName: 'tour',
      StatementId: 'events',
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: rule.RuleArn
    })
  )
  return { functionArn: fn.FunctionArn, failedTargets: targets.FailedEntryCount }
}

async function logLineFor(instanceId) {
  return until(async () => {
    try {
      const out = await send(
        logs,
        new FilterLogEventsCommand({ logGroupName: '/aws/lambda/tour', filterPattern: instanceId })
      )
      return out.events.find((e) => e.message.includes('state change'))?.message
    } catch (error) {
      // The log group appears with the function's first log line.
      if (error.name === 'ResourceNotFoundException') return undefined
      throw error
    }
  }, `the function's log line for ${instanceId}`)
}

const group = await launchGroup()
const record = await writeRecord(
  group.vpc.VpcId,
  group.instances.map((i) => i.ip)
)
const fn = await deployFunction()
const victim = group.instances[0].id
await send(ec2, new TerminateInstancesCommand({ InstanceIds: [victim] }))
const logLine = await logLineFor(victim)
console.log(JSON.stringify({ instances: group.instances, record, function: fn, terminated: victim, logLine, called }))
