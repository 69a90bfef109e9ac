/**
 * The emulator's SSM Parameter Store through the real SDK client: puts with versions, tiers and
 * KMS keys, reads by name, version and path, descriptions without values, deletes and tags; and a
 * role session held to its policy on the parameter's ARN (and, for a customer key, on the key).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ListTagsForResourceCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  SSMClient,
  InvalidKeyId,
  HierarchyTypeMismatchException
} from '@aws-sdk/client-ssm'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { roleSession, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let ssm: SSMClient
const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab'

beforeAll(async () => {
  emu = await startEmulator()
  ssm = new SSMClient(sdkConfig(emu))
})

afterAll(async () => {
  ssm.destroy()
  await emu.stop()
})

const put = (Name: string, Value: string, extra: Record<string, unknown> = {}) =>
  ssm.send(new PutParameterCommand({ Name, Value, Type: 'String', ...extra }))

describe('PutParameter and GetParameter', () => {
  test('the AL2023 public AMI parameter still resolves', async () => {
    const out = await ssm.send(
      new GetParameterCommand({ Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' })
    )
    expect(out.Parameter?.Value).toMatch(/^ami-/)
  })

  test('keeps versions: overwrite needs Overwrite, and name:version reads an older one', async () => {
    expect(await put('/app/web/port', '80')).toEqual(expect.objectContaining({ Version: 1, Tier: 'Standard' }))
    await expect(put('/app/web/port', '81')).rejects.toBeInstanceOf(ParameterAlreadyExists)
    expect((await put('/app/web/port', '8080', { Overwrite: true })).Version).toBe(2)
    const latest = await ssm.send(new GetParameterCommand({ Name: '/app/web/port' }))
    expect(latest.Parameter).toMatchObject({ Value: '8080', Version: 2, Type: 'String' })
    expect(latest.Parameter?.ARN).toBe(`arn:aws:ssm:us-east-1:${emu.accountId}:parameter/app/web/port`)
    const first = await ssm.send(new GetParameterCommand({ Name: '/app/web/port:1' }))
    expect(first.Parameter).toMatchObject({ Name: '/app/web/port', Value: '80', Version: 1, Selector: ':1' })
    await expect(ssm.send(new GetParameterCommand({ Name: '/app/web/port:9' }))).rejects.toBeInstanceOf(
      ParameterVersionNotFound
    )
    await expect(ssm.send(new GetParameterCommand({ Name: '/app/none' }))).rejects.toBeInstanceOf(ParameterNotFound)
    await expect(put('/app/web/port', 'x', { Overwrite: true, Type: 'SecureString' })).rejects.toBeInstanceOf(
      HierarchyTypeMismatchException
    )
  })

  test('a SecureString is opaque without decryption and plain with it', async () => {
    await put('/app/web/config', 'secret-config-value', { Type: 'SecureString' })
    const hidden = await ssm.send(new GetParameterCommand({ Name: '/app/web/config' }))
    expect(hidden.Parameter?.Value).not.toContain('secret-config-value')
    expect(hidden.Parameter?.Value).toMatch(/^AQICAH[A-Za-z0-9+/=]+$/)
    const plain = await ssm.send(new GetParameterCommand({ Name: '/app/web/config', WithDecryption: true }))
    expect(plain.Parameter?.Value).toBe('secret-config-value')
    const meta = await ssm.send(
      new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: ['/app/web/config'] }] })
    )
    expect(meta.Parameters?.[0]).toMatchObject({ Type: 'SecureString', KeyId: 'alias/aws/ssm', Version: 1 })
    expect(JSON.stringify(meta)).not.toContain('secret-config-value')
  })

  test('validates tiers, names and keys as AWS does', async () => {
    const big = 'x'.repeat(5000)
    await expect(put('/tier/std', big)).rejects.toMatchObject({ name: 'ValidationException' })
    expect((await put('/tier/adv', big, { Tier: 'Advanced' })).Tier).toBe('Advanced')
    expect((await put('/tier/auto', big, { Tier: 'Intelligent-Tiering' })).Tier).toBe('Advanced')
    expect((await put('/tier/auto-small', 'x', { Tier: 'Intelligent-Tiering' })).Tier).toBe('Standard')
    await expect(put('/tier/huge', 'x'.repeat(8193), { Tier: 'Advanced' })).rejects.toMatchObject({
      name: 'ValidationException'
    })
    await expect(put('/tier/adv', 'x', { Overwrite: true, Tier: 'Standard' })).rejects.toMatchObject({
      name: 'ValidationException'
    })
    await expect(put('/aws/mine', 'x')).rejects.toMatchObject({ name: 'ValidationException' })
    await expect(put('bad name', 'x')).rejects.toMatchObject({ name: 'ValidationException' })
    await expect(put('/k/unknown', 'x', { Type: 'SecureString', KeyId: 'alias/mine' })).rejects.toBeInstanceOf(
      InvalidKeyId
    )
    await expect(put('/k/tags', 'x', { Overwrite: true, Tags: [{ Key: 'a', Value: 'b' }] })).resolves.toBeDefined()
    await expect(put('/k/tags', 'y', { Overwrite: true, Tags: [{ Key: 'a', Value: 'b' }] })).rejects.toMatchObject({
      name: 'ValidationException'
    })
  })

  test('keeps at most 100 versions: the 101st put drops the oldest', async () => {
    await put('/many', 'v1')
    for (let i = 2; i <= 101; i++) await put('/many', `v${i}`, { Overwrite: true })
    const latest = await ssm.send(new GetParameterCommand({ Name: '/many' }))
    expect(latest.Parameter).toMatchObject({ Version: 101, Value: 'v101' })
    await expect(ssm.send(new GetParameterCommand({ Name: '/many:1' }))).rejects.toBeInstanceOf(
      ParameterVersionNotFound
    )
    expect((await ssm.send(new GetParameterCommand({ Name: '/many:2' }))).Parameter?.Value).toBe('v2')
  })
})

describe('reading many', () => {
  beforeAll(async () => {
    for (const name of ['/svc/a', '/svc/b', '/svc/deep/c', '/svc/deep/d', '/svc/deep/er/e', '/other/x'])
      await put(name, name)
  })

  test('GetParameters lists missing names in InvalidParameters and takes at most 10', async () => {
    const out = await ssm.send(new GetParametersCommand({ Names: ['/svc/a', '/svc/missing', '/svc/b:1'] }))
    expect(out.Parameters?.map((p) => p.Name).sort()).toEqual(['/svc/a', '/svc/b'])
    expect(out.InvalidParameters).toEqual(['/svc/missing'])
    const eleven = Array.from({ length: 11 }, (_, i) => `/svc/n${i}`)
    await expect(ssm.send(new GetParametersCommand({ Names: eleven }))).rejects.toMatchObject({
      name: 'ValidationException'
    })
  })

  test('GetParametersByPath: one level or recursive, paged by NextToken', async () => {
    const one = await ssm.send(new GetParametersByPathCommand({ Path: '/svc' }))
    expect(one.Parameters?.map((p) => p.Name)).toEqual(['/svc/a', '/svc/b'])
    const names: string[] = []
    let NextToken: string | undefined
    let pages = 0
    do {
      const out = await ssm.send(
        new GetParametersByPathCommand({ Path: '/svc/', Recursive: true, MaxResults: 2, NextToken })
      )
      names.push(...(out.Parameters ?? []).map((p) => p.Name ?? ''))
      NextToken = out.NextToken
      pages += 1
    } while (NextToken)
    expect(names).toEqual(['/svc/a', '/svc/b', '/svc/deep/c', '/svc/deep/d', '/svc/deep/er/e'])
    expect(pages).toBe(3)
    await expect(ssm.send(new GetParametersByPathCommand({ Path: '/svc', MaxResults: 11 }))).rejects.toMatchObject({
      name: 'ValidationException'
    })
  })

  test('DescribeParameters filters by path, name and type, and never returns values', async () => {
    const oneLevel = await ssm.send(
      new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: ['/svc/deep'] }] })
    )
    expect(oneLevel.Parameters?.map((p) => p.Name)).toEqual(['/svc/deep/c', '/svc/deep/d'])
    const recursive = await ssm.send(
      new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: ['/svc/deep'] }] })
    )
    expect(recursive.Parameters?.map((p) => p.Name)).toEqual(['/svc/deep/c', '/svc/deep/d', '/svc/deep/er/e'])
    const begins = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [
          { Key: 'Name', Option: 'BeginsWith', Values: ['/svc/deep/'] },
          { Key: 'Type', Values: ['String'] }
        ]
      })
    )
    expect(begins.Parameters?.length).toBe(3)
    expect(begins.Parameters?.[0]).toMatchObject({ Name: '/svc/deep/c', Type: 'String', Version: 1, Tier: 'Standard' })
    expect(begins.Parameters?.[0]?.LastModifiedDate).toBeInstanceOf(Date)
    expect(begins.Parameters?.[0]).not.toHaveProperty('Value')
    await expect(
      ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Bogus', Values: ['x'] }] }))
    ).rejects.toMatchObject({ name: 'InvalidFilterKey' })
    await expect(ssm.send(new DescribeParametersCommand({ MaxResults: 51 }))).rejects.toMatchObject({
      name: 'ValidationException'
    })
  })

  test('deletes one or many; tags are listed and added', async () => {
    await ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: 'Parameter',
        ResourceId: '/other/x',
        Tags: [{ Key: 'k', Value: 'v' }]
      })
    )
    const tags = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/other/x' }))
    expect(tags.TagList).toEqual([{ Key: 'k', Value: 'v' }])
    await ssm.send(new DeleteParameterCommand({ Name: '/other/x' }))
    await expect(ssm.send(new DeleteParameterCommand({ Name: '/other/x' }))).rejects.toBeInstanceOf(ParameterNotFound)
    const out = await ssm.send(new DeleteParametersCommand({ Names: ['/svc/a', '/svc/gone'] }))
    expect(out).toMatchObject({ DeletedParameters: ['/svc/a'], InvalidParameters: ['/svc/gone'] })
    await expect(ssm.send(new GetParameterCommand({ Name: '/svc/a' }))).rejects.toBeInstanceOf(ParameterNotFound)
  })
})

describe('IAM for a role session', () => {
  test('allowed one parameter path, denied another; a customer key needs kms:Decrypt', async () => {
    await put('/agent/web/config', 'cfg', { Type: 'SecureString' })
    await put('/agent/db/config', 'db', { Type: 'SecureString' })
    await put('/agent/web/keyed', 'keyed', { Type: 'SecureString', KeyId: KEY })
    const agent = new SSMClient(
      await roleSession(emu, {
        roleName: 'ssm-reader',
        policy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['ssm:GetParameter', 'ssm:GetParametersByPath'],
              Resource: `arn:aws:ssm:us-east-1:${emu.accountId}:parameter/agent/web/*`
            }
          ]
        }
      })
    )
    try {
      const ok = await agent.send(new GetParameterCommand({ Name: '/agent/web/config', WithDecryption: true }))
      expect(ok.Parameter?.Value).toBe('cfg')
      const denied = await agent.send(new GetParameterCommand({ Name: '/agent/db/config' })).catch((e: unknown) => e)
      expect(denied).toMatchObject({ name: 'AccessDeniedException' })
      expect((denied as Error).message).toContain(
        `ssm:GetParameter on resource: arn:aws:ssm:us-east-1:${emu.accountId}:parameter/agent/db/config`
      )
      // without decryption a customer key is not used; with it kms:Decrypt on the key is needed
      await expect(agent.send(new GetParameterCommand({ Name: '/agent/web/keyed' }))).resolves.toBeDefined()
      const kms = await agent
        .send(new GetParameterCommand({ Name: '/agent/web/keyed', WithDecryption: true }))
        .catch((e: unknown) => e)
      expect((kms as Error).message).toContain(
        `kms:Decrypt on resource: arn:aws:kms:us-east-1:${emu.accountId}:key/${KEY}`
      )
      await expect(agent.send(new DescribeParametersCommand({}))).rejects.toMatchObject({
        name: 'AccessDeniedException'
      })
    } finally {
      agent.destroy()
    }
  })

  test('PutParameter under a customer key needs kms:Encrypt; the default key needs none', async () => {
    const writer = new SSMClient(
      await roleSession(emu, {
        roleName: 'ssm-writer',
        policy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ssm:PutParameter', Resource: '*' }]
        }
      })
    )
    try {
      await expect(
        writer.send(new PutParameterCommand({ Name: '/w/default', Value: 'x', Type: 'SecureString' }))
      ).resolves.toMatchObject({ Version: 1 })
      const err = await writer
        .send(new PutParameterCommand({ Name: '/w/keyed', Value: 'x', Type: 'SecureString', KeyId: KEY }))
        .catch((e: unknown) => e)
      expect((err as Error).message).toContain('kms:Encrypt')
      await expect(ssm.send(new GetParameterCommand({ Name: '/w/keyed' }))).rejects.toBeInstanceOf(ParameterNotFound)
    } finally {
      writer.destroy()
    }
  })
})
