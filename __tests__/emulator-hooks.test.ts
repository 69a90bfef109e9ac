/** The emulator's test hooks: onCall (observe or act on each call), pause/resume, and the log sink's createGroup. */
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { CreateSecurityGroupCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'
import type { CallRecord } from '../emulator/types.js'

let emu: Emulator
let ec2: EC2Client
let logs: CloudWatchLogsClient

beforeAll(async () => {
  emu = await startEmulator()
  ec2 = new EC2Client(sdkConfig(emu))
  logs = new CloudWatchLogsClient(sdkConfig(emu))
})

afterAll(async () => {
  ec2.destroy()
  logs.destroy()
  await emu.stop()
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('emulator hooks', () => {
  test('onCall sees every call once it took effect and before the caller has its answer, until unsubscribed', async () => {
    const vpcId = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId ?? ''
    const seen: Array<{ call: CallRecord; groups: number }> = []
    let answered = false
    const groups = (): number => (emu.state().ec2 as { securityGroups: unknown[] }).securityGroups.length
    const off = emu.onCall((call) => seen.push({ call, groups: groups() + (answered ? 1000 : 0) }))
    const before = groups()
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'hooked', Description: 'x', VpcId: vpcId }))
    answered = true
    off()
    await ec2.send(new DescribeVpcsCommand({}))
    expect(seen.map((s) => `${s.call.operation} ${s.call.kind}`)).toEqual(['CreateSecurityGroup write'])
    expect(seen[0]?.groups).toBe(before + 1)
  })

  test('pause holds every call, unhandled and unrecorded, until resume; waiting lists the held callers', async () => {
    emu.resetCalls()
    const gate = emu.pause()
    let done = false
    const pending = ec2.send(new DescribeVpcsCommand({})).then(() => (done = true))
    for (let i = 0; i < 100 && gate.waiting().length === 0; i++) await sleep(10)
    await sleep(50)
    expect(gate.waiting()).toEqual(['AKIAEMULATORTEST'])
    expect(done).toBe(false)
    expect(emu.calls()).toEqual([])
    gate.resume()
    await pending
    expect(emu.calls().map((c) => c.operation)).toEqual(['DescribeVpcs'])
  })

  test('pause with a filter holds only the calls it matches and lets the others through', async () => {
    const gate = emu.pause((call) => call.kind === 'write')
    try {
      const vpcs = await ec2.send(new DescribeVpcsCommand({}))
      expect(vpcs.Vpcs?.length).toBeGreaterThan(0)
      expect(gate.waiting()).toEqual([])
    } finally {
      gate.resume()
    }
  })

  test('the log sink drops events for a missing group when asked not to create it, and creates it otherwise', async () => {
    const sink = emu.cloud.shared.logs
    const event = [{ timestamp: Date.now(), message: 'late line' }]
    sink?.append({ region: 'us-east-1', group: '/aws/lambda/gone', stream: 's' }, event, { createGroup: false })
    sink?.append({ region: 'us-east-1', group: '/aws/lambda/kept', stream: 's' }, event)
    const names = (
      await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/' }))
    ).logGroups?.map((g) => g.logGroupName)
    expect(names).toEqual(['/aws/lambda/kept'])
  })
})
