/**
 * The instance metadata service the emulator serves per instance (IMDSv2 at
 * /_emulator/imds/<instance-id>): session tokens, metadata, and the instance role's credentials,
 * which the emulator then holds to the role's policies. The real AWS CLI, given only
 * AWS_EC2_METADATA_SERVICE_ENDPOINT, finds them as it does on an instance (when it is installed).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand
} from '@aws-sdk/client-iam'
import {
  CreateLaunchTemplateCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand
} from '@aws-sdk/client-ec2'
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { instanceRoleCredentials } from '../emulator/iam-policy/instance-role.js'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let iam: IAMClient
let ec2: EC2Client
let instanceId: string

const IMAGE = 'ami-0a2023a1b2c3d4e5f'

function ec2Trust(service = 'ec2.amazonaws.com'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }]
  })
}

async function profile(name: string, trust = ec2Trust()): Promise<void> {
  await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }))
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }))
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }))
}

async function launch(extra: Record<string, unknown> = {}): Promise<string> {
  const out = await ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, ImageId: IMAGE, ...extra }))
  return out.Instances?.[0]?.InstanceId ?? ''
}

const imds = (id: string): string => `${emu.endpoint}/_emulator/imds/${id}`

async function token(id: string, ttl = '60'): Promise<string> {
  const res = await fetch(`${imds(id)}/latest/api/token`, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': ttl }
  })
  expect(res.status).toBe(200)
  return res.text()
}

async function get(id: string, path: string, tok?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${imds(id)}/latest/${path}`, tok ? { headers: { 'X-aws-ec2-metadata-token': tok } } : {})
  return { status: res.status, body: await res.text() }
}

beforeAll(async () => {
  emu = await startEmulator({ simulation: { launchDelayMs: 1 } })
  iam = new IAMClient(sdkConfig(emu))
  ec2 = new EC2Client(sdkConfig(emu))
  await profile('agent')
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'agent',
      PolicyName: 'config',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'ssm:GetParameter',
            Resource: `arn:aws:ssm:us-east-1:${emu.accountId}:parameter/agent/*`
          }
        ]
      })
    })
  )
  const ssm = new SSMClient(sdkConfig(emu))
  await ssm.send(new PutParameterCommand({ Name: '/agent/web', Value: 'web-config', Type: 'SecureString' }))
  await ssm.send(new PutParameterCommand({ Name: '/other/db', Value: 'db-config', Type: 'SecureString' }))
  ssm.destroy()
  instanceId = await launch({ IamInstanceProfile: { Name: 'agent' } })
})

afterAll(async () => {
  iam.destroy()
  ec2.destroy()
  await emu.stop()
})

describe('IMDSv2', () => {
  test('hands out a token for a TTL of 1 to 21600 seconds, and answers GETs only with it', async () => {
    const res = await fetch(`${imds(instanceId)}/latest/api/token`, {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' }
    })
    expect(res.headers.get('x-aws-ec2-metadata-token-ttl-seconds')).toBe('300')
    const tok = await res.text()
    for (const ttl of ['0', '21601', 'x']) {
      const bad = await fetch(`${imds(instanceId)}/latest/api/token`, {
        method: 'PUT',
        headers: { 'X-aws-ec2-metadata-token-ttl-seconds': ttl }
      })
      expect(bad.status).toBe(400)
    }
    expect((await get(instanceId, 'meta-data/instance-id')).status).toBe(401)
    expect((await get(instanceId, 'meta-data/instance-id', 'forged')).status).toBe(401)
    expect(await get(instanceId, 'meta-data/instance-id', tok)).toEqual({ status: 200, body: instanceId })
    expect(await get(instanceId, 'meta-data/placement/region', tok)).toEqual({ status: 200, body: 'us-east-1' })
    // a token is good for its own instance only
    const other = await launch()
    expect((await get(other, 'meta-data/instance-id', tok)).status).toBe(401)
    expect((await get('i-0000000000000dead', 'meta-data/instance-id', tok)).status).toBe(404)
  })

  test('an expired token is refused', async () => {
    const tok = await token(instanceId, '1')
    expect((await get(instanceId, 'meta-data/instance-id', tok)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect((await get(instanceId, 'meta-data/instance-id', tok)).status).toBe(401)
  })

  test("serves the role's name, the profile and the role's session credentials", async () => {
    const tok = await token(instanceId)
    expect(await get(instanceId, 'meta-data/iam/security-credentials/', tok)).toEqual({ status: 200, body: 'agent' })
    const info = JSON.parse((await get(instanceId, 'meta-data/iam/info', tok)).body) as Record<string, string>
    expect(info).toMatchObject({
      Code: 'Success',
      InstanceProfileArn: `arn:aws:iam::${emu.accountId}:instance-profile/agent`
    })
    expect(info.InstanceProfileId).toMatch(/^AIPA/)
    const creds = JSON.parse((await get(instanceId, 'meta-data/iam/security-credentials/agent', tok)).body) as Record<
      string,
      string
    >
    expect(creds).toMatchObject({ Code: 'Success', Type: 'AWS-HMAC' })
    expect(creds.AccessKeyId).toMatch(/^ASIA/)
    expect(creds.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(new Date(creds.Expiration ?? '').getTime()).toBeGreaterThan(Date.now() + 5 * 3600_000)
    expect((await get(instanceId, 'meta-data/iam/security-credentials/someone-else', tok)).status).toBe(404)

    // the credentials act as the role, session named after the instance, held to its policy
    const config = sdkConfig(emu, {
      credentials: {
        accessKeyId: creds.AccessKeyId ?? '',
        secretAccessKey: creds.SecretAccessKey ?? '',
        sessionToken: creds.Token ?? ''
      }
    })
    const sts = new STSClient(config)
    const ssm = new SSMClient(config)
    try {
      const me = await sts.send(new GetCallerIdentityCommand({}))
      expect(me.Arn).toBe(`arn:aws:sts::${emu.accountId}:assumed-role/agent/${instanceId}`)
      const ok = await ssm.send(new GetParameterCommand({ Name: '/agent/web', WithDecryption: true }))
      expect(ok.Parameter?.Value).toBe('web-config')
      await expect(ssm.send(new GetParameterCommand({ Name: '/other/db' }))).rejects.toMatchObject({
        name: 'AccessDeniedException'
      })
    } finally {
      sts.destroy()
      ssm.destroy()
    }
    // the same session until it nears its expiry
    const again = instanceRoleCredentials(emu.cloud, {
      instanceId,
      region: 'us-east-1',
      profile: { Name: 'agent' }
    })
    expect(again?.AccessKeyId).toBe(creds.AccessKeyId)
  })

  test('has no credentials without a profile, or when the role does not trust EC2', async () => {
    const bare = await launch()
    const tok = await token(bare)
    expect((await get(bare, 'meta-data/iam/security-credentials/', tok)).status).toBe(404)
    await profile('lambda-only', ec2Trust('lambda.amazonaws.com'))
    const untrusted = await launch({ IamInstanceProfile: { Name: 'lambda-only' } })
    const tok2 = await token(untrusted)
    expect((await get(untrusted, 'meta-data/iam/security-credentials/', tok2)).status).toBe(404)
    expect(
      instanceRoleCredentials(emu.cloud, {
        instanceId: untrusted,
        region: 'us-east-1',
        profile: { Name: 'lambda-only' }
      })
    ).toBeUndefined()
  })

  test('allows IMDSv1 GETs only when the instance has HttpTokens optional', async () => {
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'imds-v1',
        LaunchTemplateData: { ImageId: IMAGE, MetadataOptions: { HttpTokens: 'optional' } }
      })
    )
    const v1 = await launch({ LaunchTemplate: { LaunchTemplateName: 'imds-v1' } })
    expect(await get(v1, 'meta-data/instance-id')).toEqual({ status: 200, body: v1 })
  })
})

describe('instance tags', () => {
  test('served under meta-data/tags/instance only when the launch template enables InstanceMetadataTags (else 404)', async () => {
    const tags = [{ ResourceType: 'instance' as const, Tags: [{ Key: 'hyperform:service', Value: 'web' }] }]
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'tags-on',
        LaunchTemplateData: {
          ImageId: IMAGE,
          MetadataOptions: { HttpTokens: 'required', InstanceMetadataTags: 'enabled' },
          TagSpecifications: tags
        }
      })
    )
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'tags-off',
        LaunchTemplateData: { ImageId: IMAGE, MetadataOptions: { HttpTokens: 'required' }, TagSpecifications: tags }
      })
    )
    const on = await launch({ LaunchTemplate: { LaunchTemplateName: 'tags-on' } })
    const off = await launch({ LaunchTemplate: { LaunchTemplateName: 'tags-off' } })
    const tokOn = await token(on)
    expect(await get(on, 'meta-data/tags/instance/hyperform:service', tokOn)).toEqual({ status: 200, body: 'web' })
    expect((await get(on, 'meta-data/tags/instance', tokOn)).body.split('\n')).toContain('hyperform:service')
    expect((await get(on, 'meta-data/tags/instance/aws:autoscaling:groupName', tokOn)).status).toBe(404)
    const tokOff = await token(off)
    expect((await get(off, 'meta-data/tags/instance/hyperform:service', tokOff)).status).toBe(404)
    expect((await get(off, 'meta-data/tags/instance', tokOff)).status).toBe(404)
  })
})

describe('spot signals', () => {
  test('RunInstances with market type spot launches a spot instance, whose signals IMDS shows once EC2 sends them', async () => {
    const control = new EmulatorClient(emu.endpoint)
    // an on-demand instance has none to receive
    await expect(control.spotInterrupt(instanceId)).rejects.toThrow(/not a spot instance/)
    const spot = await launch({ InstanceMarketOptions: { MarketType: 'spot' } })
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [spot] }))
    expect(described.Reservations?.[0]?.Instances?.[0]?.InstanceLifecycle).toBe('spot')
    const tok = await token(spot)
    expect((await get(spot, 'meta-data/spot/instance-action', tok)).status).toBe(404)
    expect((await get(spot, 'meta-data/events/recommendations/rebalance', tok)).status).toBe(404)
    await control.rebalance(spot)
    expect(JSON.parse((await get(spot, 'meta-data/events/recommendations/rebalance', tok)).body)).toEqual({
      noticeTime: expect.stringMatching(/Z$/)
    })
    await control.spotInterrupt(spot)
    const action = await get(spot, 'meta-data/spot/instance-action', tok)
    expect(action.status).toBe(200)
    expect(JSON.parse(action.body)).toEqual({ action: 'terminate', time: expect.stringMatching(/Z$/) })
  })
})

describe('the AWS CLI on the instance', () => {
  // CI installs the AWS CLI (.ci/run): it is what real instances run, so it is never skipped.
  test('finds the role credentials through AWS_EC2_METADATA_SERVICE_ENDPOINT alone', async () => {
    const home = mkdtempSync(join(tmpdir(), 'imds-cli-'))
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds(instanceId)
    }
    const run = (args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> =>
      new Promise((resolve) =>
        execFile('aws', [...args, '--endpoint-url', emu.endpoint, '--output', 'json'], { env }, (err, stdout, stderr) =>
          resolve({ ok: !err, stdout, stderr })
        )
      )
    const me = await run(['sts', 'get-caller-identity'])
    expect(me.ok).toBe(true)
    expect((JSON.parse(me.stdout) as { Arn: string }).Arn).toBe(
      `arn:aws:sts::${emu.accountId}:assumed-role/agent/${instanceId}`
    )
    const denied = await run(['ssm', 'get-parameter', '--name', '/other/db'])
    expect(denied.ok).toBe(false)
    expect(denied.stderr).toContain('AccessDeniedException')
  }, 60000)
})
