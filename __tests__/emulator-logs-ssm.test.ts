import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
  PutRetentionPolicyCommand
} from '@aws-sdk/client-cloudwatch-logs'
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { AL2023_AMIS } from '../emulator/types.js'

const REGION = 'us-east-1'
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }
let emu: Emulator
let logs: CloudWatchLogsClient
let ssm: SSMClient

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message }
  }
  throw new Error('expected the call to fail')
}

beforeAll(async () => {
  emu = await startEmulator()
  const config = { endpoint: emu.endpoint, region: REGION, credentials, maxAttempts: 1 }
  logs = new CloudWatchLogsClient(config)
  ssm = new SSMClient(config)
})

afterAll(async () => {
  await emu.stop()
})

afterEach(() => {
  emu.setFaults({ throttleRate: 0 })
})

describe('CloudWatch Logs', () => {
  test('a log group is created once; creating it again fails with ResourceAlreadyExistsException', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/update_r53_record-prj-demo' }))
    const err = await failure(
      logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/update_r53_record-prj-demo' }))
    )
    expect(err).toEqual({ name: 'ResourceAlreadyExistsException', message: 'The specified log group already exists' })
  })

  test('DescribeLogGroups filters by prefix and shows the retention set by PutRetentionPolicy', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/hf/a' }))
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/hf/b' }))
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/other/c' }))
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: '/hf/b', retentionInDays: 14 }))
    const out = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/hf/' }))
    expect(out.logGroups?.map((g) => [g.logGroupName, g.retentionInDays])).toEqual([
      ['/hf/a', undefined],
      ['/hf/b', 14]
    ])
    expect(out.logGroups?.[0]?.arn).toBe(`arn:aws:logs:${REGION}:${emu.accountId}:log-group:/hf/a:*`)
  })

  test('an unsupported retention value is refused with InvalidParameterException', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/hf/retention' }))
    expect(
      (await failure(logs.send(new PutRetentionPolicyCommand({ logGroupName: '/hf/retention', retentionInDays: 2 }))))
        .name
    ).toBe('InvalidParameterException')
  })

  test('a deleted log group is gone and deleting it again fails with ResourceNotFoundException', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/hf/delete-me' }))
    await logs.send(new DeleteLogGroupCommand({ logGroupName: '/hf/delete-me' }))
    expect((await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/hf/delete-me' }))).logGroups).toEqual(
      []
    )
    expect((await failure(logs.send(new DeleteLogGroupCommand({ logGroupName: '/hf/delete-me' })))).name).toBe(
      'ResourceNotFoundException'
    )
  })

  test('events put into a stream are read back in order by GetLogEvents and FilterLogEvents', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/hf/events' }))
    await logs.send(new CreateLogStreamCommand({ logGroupName: '/hf/events', logStreamName: 's1' }))
    const dup = await failure(
      logs.send(new CreateLogStreamCommand({ logGroupName: '/hf/events', logStreamName: 's1' }))
    )
    expect(dup.name).toBe('ResourceAlreadyExistsException')
    const t = Date.now()
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: '/hf/events',
        logStreamName: 's1',
        logEvents: [
          { timestamp: t, message: 'first line' },
          { timestamp: t + 1, message: 'second ERROR line' },
          { timestamp: t + 2, message: 'third line' }
        ]
      })
    )
    const got = await logs.send(
      new GetLogEventsCommand({ logGroupName: '/hf/events', logStreamName: 's1', startFromHead: true })
    )
    expect(got.events?.map((e) => e.message)).toEqual(['first line', 'second ERROR line', 'third line'])
    const filtered = await logs.send(new FilterLogEventsCommand({ logGroupName: '/hf/events', filterPattern: 'ERROR' }))
    expect(filtered.events?.map((e) => [e.logStreamName, e.message])).toEqual([['s1', 'second ERROR line']])
    const excluded = await logs.send(
      new FilterLogEventsCommand({ logGroupName: '/hf/events', filterPattern: 'line -ERROR' })
    )
    expect(excluded.events?.map((e) => e.message)).toEqual(['first line', 'third line'])
    const either = await logs.send(
      new FilterLogEventsCommand({ logGroupName: '/hf/events', filterPattern: '?first ?third' })
    )
    expect(either.events?.map((e) => e.message)).toEqual(['first line', 'third line'])
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/hf/events' }))
    expect(streams.logStreams?.map((s) => [s.logStreamName, s.lastEventTimestamp])).toEqual([['s1', t + 2]])
  })

  test('events of one PutLogEvents call must be in chronological order', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/hf/order' }))
    await logs.send(new CreateLogStreamCommand({ logGroupName: '/hf/order', logStreamName: 's' }))
    const t = Date.now()
    const logEvents = [
      { timestamp: t, message: 'later' },
      { timestamp: t - 10, message: 'earlier' }
    ]
    expect(
      (await failure(logs.send(new PutLogEventsCommand({ logGroupName: '/hf/order', logStreamName: 's', logEvents }))))
        .name
    ).toBe('InvalidParameterException')
  })

  test('writing to a stream of a missing group fails with ResourceNotFoundException', async () => {
    const err = await failure(
      logs.send(
        new PutLogEventsCommand({
          logGroupName: '/hf/missing',
          logStreamName: 's',
          logEvents: [{ timestamp: Date.now(), message: 'x' }]
        })
      )
    )
    expect(err).toEqual({ name: 'ResourceNotFoundException', message: 'The specified log group does not exist.' })
  })

  test('injected throttling surfaces as ThrottlingException', async () => {
    emu.setFaults({ throttleRate: 1 })
    expect((await failure(logs.send(new DescribeLogGroupsCommand({})))).name).toBe('ThrottlingException')
  })
})

describe('SSM public parameters', () => {
  test('the Amazon Linux 2023 parameters resolve to AMIs that EC2 DescribeImages knows', async () => {
    const x86 = await ssm.send(
      new GetParameterCommand({ Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' })
    )
    const arm = await ssm.send(
      new GetParameterCommand({ Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64' })
    )
    expect([x86.Parameter?.Value, arm.Parameter?.Value]).toEqual([
      AL2023_AMIS.x86_64.imageId,
      AL2023_AMIS.arm64.imageId
    ])
    expect(x86.Parameter?.Type).toBe('String')
    const ec2 = new EC2Client({ endpoint: emu.endpoint, region: REGION, credentials })
    const images = await ec2.send(
      new DescribeImagesCommand({ ImageIds: [x86.Parameter?.Value ?? '', arm.Parameter?.Value ?? ''] })
    )
    expect(images.Images?.map((i) => i.Architecture).sort()).toEqual(['arm64', 'x86_64'])
  })

  test('any other parameter fails with ParameterNotFound', async () => {
    const err = await failure(
      ssm.send(new GetParameterCommand({ Name: '/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2' }))
    )
    expect(err.name).toBe('ParameterNotFound')
  })
})
