/**
 * The emulator's Secrets Manager through the real SDK client: secrets by name, full and partial
 * ARN, staged versions, scheduled and forced deletion, and a role session held to its policy on
 * the secret's full ARN.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient
} from '@aws-sdk/client-secrets-manager'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { roleSession, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let sm: SecretsManagerClient

beforeAll(async () => {
  emu = await startEmulator()
  sm = new SecretsManagerClient(sdkConfig(emu))
})

afterAll(async () => {
  sm.destroy()
  await emu.stop()
})

describe('secrets', () => {
  test('are created with an ARN ending in six random characters and read by name, full or partial ARN', async () => {
    const created = await sm.send(
      new CreateSecretCommand({
        Name: 'app/db',
        SecretString: '{"password":"p1"}',
        Description: 'db',
        Tags: [{ Key: 'team', Value: 'a' }]
      })
    )
    expect(created.ARN).toMatch(
      new RegExp(`^arn:aws:secretsmanager:us-east-1:${emu.accountId}:secret:app/db-[A-Za-z0-9]{6}$`)
    )
    const arn = created.ARN ?? ''
    for (const id of ['app/db', arn, arn.slice(0, -7)]) {
      const out = await sm.send(new GetSecretValueCommand({ SecretId: id }))
      expect(out).toMatchObject({
        Name: 'app/db',
        ARN: arn,
        SecretString: '{"password":"p1"}',
        VersionStages: ['AWSCURRENT']
      })
      expect(out.VersionId).toBe(created.VersionId)
    }
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'app/none' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException
    )
    await expect(sm.send(new CreateSecretCommand({ Name: 'app/db', SecretString: 'x' }))).rejects.toBeInstanceOf(
      ResourceExistsException
    )
    await expect(
      sm.send(new CreateSecretCommand({ Name: 'both', SecretString: 'x', SecretBinary: new Uint8Array([1]) }))
    ).rejects.toBeInstanceOf(InvalidParameterException)
    await expect(
      sm.send(new CreateSecretCommand({ Name: 'too-big', SecretString: 'x'.repeat(65537) }))
    ).rejects.toMatchObject({ name: 'ValidationException' })
    await expect(
      sm.send(new CreateSecretCommand({ Name: 'just-fits', SecretString: 'x'.repeat(65536) }))
    ).resolves.toBeDefined()
    const described = await sm.send(new DescribeSecretCommand({ SecretId: arn }))
    expect(described).toMatchObject({ Name: 'app/db', Description: 'db', Tags: [{ Key: 'team', Value: 'a' }] })
  })

  test('PutSecretValue moves AWSCURRENT and leaves the old version AWSPREVIOUS', async () => {
    const first = await sm.send(new CreateSecretCommand({ Name: 'rotating', SecretString: 'one' }))
    const second = await sm.send(new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'two' }))
    expect(second.VersionStages).toEqual(['AWSCURRENT'])
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'rotating' }))).SecretString).toBe('two')
    const previous = await sm.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }))
    expect(previous).toMatchObject({ SecretString: 'one', VersionId: first.VersionId })
    const stages = (await sm.send(new DescribeSecretCommand({ SecretId: 'rotating' }))).VersionIdsToStages
    expect(stages).toEqual({ [first.VersionId ?? '']: ['AWSPREVIOUS'], [second.VersionId ?? '']: ['AWSCURRENT'] })
    const binary = await sm.send(new CreateSecretCommand({ Name: 'bin', SecretBinary: new Uint8Array([0, 1, 255]) }))
    const got = await sm.send(new GetSecretValueCommand({ SecretId: binary.ARN }))
    expect([...(got.SecretBinary ?? [])]).toEqual([0, 1, 255])
    expect(got.SecretString).toBeUndefined()
  })

  test('a scheduled deletion makes GetSecretValue fail until restored; a forced one removes the secret', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'x' }))
    const scheduled = await sm.send(new DeleteSecretCommand({ SecretId: 'doomed', RecoveryWindowInDays: 7 }))
    expect(scheduled.DeletionDate?.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000)
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'doomed' }))).rejects.toBeInstanceOf(
      InvalidRequestException
    )
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'doomed' }))).DeletedDate).toBeInstanceOf(Date)
    const listed = await sm.send(new ListSecretsCommand({}))
    expect(listed.SecretList?.map((s) => s.Name)).not.toContain('doomed')
    await expect(sm.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'y' }))).rejects.toBeInstanceOf(
      InvalidRequestException
    )
    await sm.send(new RestoreSecretCommand({ SecretId: 'doomed' }))
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'doomed' }))).SecretString).toBe('x')
    await expect(
      sm.send(
        new DeleteSecretCommand({ SecretId: 'doomed', ForceDeleteWithoutRecovery: true, RecoveryWindowInDays: 7 })
      )
    ).rejects.toBeInstanceOf(InvalidParameterException)
    await sm.send(new DeleteSecretCommand({ SecretId: 'doomed', ForceDeleteWithoutRecovery: true }))
    await expect(sm.send(new DescribeSecretCommand({ SecretId: 'doomed' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException
    )
    await expect(sm.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'z' }))).resolves.toBeDefined()
  })

  test('ListSecrets pages with NextToken', async () => {
    const names: string[] = []
    let NextToken: string | undefined
    do {
      const out = await sm.send(new ListSecretsCommand({ MaxResults: 2, NextToken }))
      expect((out.SecretList ?? []).length).toBeLessThanOrEqual(2)
      names.push(...(out.SecretList ?? []).map((s) => s.Name ?? ''))
      NextToken = out.NextToken
    } while (NextToken)
    expect(names.sort()).toEqual(['app/db', 'bin', 'doomed', 'just-fits', 'rotating'])
  })
})

describe('IAM for a role session', () => {
  test('allowed one secret ARN is denied another; a customer key needs kms:Decrypt', async () => {
    const allowed = await sm.send(new CreateSecretCommand({ Name: 'svc/web', SecretString: 'web' }))
    await sm.send(new CreateSecretCommand({ Name: 'svc/db', SecretString: 'db' }))
    const keyed = await sm.send(
      new CreateSecretCommand({
        Name: 'svc/keyed',
        SecretString: 'k',
        KmsKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab'
      })
    )
    const agent = new SecretsManagerClient(
      await roleSession(emu, {
        roleName: 'secret-reader',
        policy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [allowed.ARN, keyed.ARN] }]
        }
      })
    )
    try {
      expect((await agent.send(new GetSecretValueCommand({ SecretId: 'svc/web' }))).SecretString).toBe('web')
      const err = await agent.send(new GetSecretValueCommand({ SecretId: 'svc/db' })).catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'AccessDeniedException' })
      expect((err as Error).message).toMatch(
        /is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:\d{12}:secret:svc\/db-[A-Za-z0-9]{6} /
      )
      const kms = await agent.send(new GetSecretValueCommand({ SecretId: 'svc/keyed' })).catch((e: unknown) => e)
      expect((kms as Error).message).toContain('kms:Decrypt')
    } finally {
      agent.destroy()
    }
  })
})
