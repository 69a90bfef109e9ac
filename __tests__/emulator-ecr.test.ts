/**
 * The emulator's ECR through the real SDK client: registry tokens, repositories, and whether a
 * `docker pull` with a token is allowed for the role session that asked for it (authorizeImagePull).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  RepositoryAlreadyExistsException,
  RepositoryNotFoundException
} from '@aws-sdk/client-ecr'
import { authorizeImagePull } from '../emulator/services/ecr/index.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { roleSession, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let ecr: ECRClient

beforeAll(async () => {
  emu = await startEmulator()
  ecr = new ECRClient(sdkConfig(emu))
})

afterAll(async () => {
  ecr.destroy()
  await emu.stop()
})

const host = (): string => `${emu.accountId}.dkr.ecr.us-east-1.amazonaws.com`

async function token(client: ECRClient): Promise<string> {
  const out = await client.send(new GetAuthorizationTokenCommand({}))
  return out.authorizationData?.[0]?.authorizationToken ?? ''
}

describe('GetAuthorizationToken', () => {
  test('answers base64 AWS:<token>, the registry endpoint and an expiry 12 hours out', async () => {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}))
    const data = out.authorizationData?.[0]
    const [user, password] = Buffer.from(data?.authorizationToken ?? '', 'base64')
      .toString('utf8')
      .split(':')
    expect(user).toBe('AWS')
    expect(password?.length).toBeGreaterThan(20)
    expect(data?.proxyEndpoint).toBe(`https://${host()}`)
    const hours = ((data?.expiresAt?.getTime() ?? 0) - Date.now()) / 3600_000
    expect(hours).toBeGreaterThan(11.9)
    expect(hours).toBeLessThanOrEqual(12)
  })
})

describe('repositories', () => {
  test('are created, described and deleted with ECR errors', async () => {
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/web' }))
    expect(created.repository).toMatchObject({
      repositoryName: 'team/web',
      repositoryArn: `arn:aws:ecr:us-east-1:${emu.accountId}:repository/team/web`,
      repositoryUri: `${host()}/team/web`,
      registryId: emu.accountId,
      imageTagMutability: 'MUTABLE'
    })
    await expect(ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/web' }))).rejects.toBeInstanceOf(
      RepositoryAlreadyExistsException
    )
    await expect(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Upper' }))).rejects.toMatchObject({
      name: 'InvalidParameterException'
    })
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/db' }))
    const all = await ecr.send(new DescribeRepositoriesCommand({}))
    expect(all.repositories?.map((r) => r.repositoryName)).toEqual(['team/db', 'team/web'])
    const one = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/web'] }))
    expect(one.repositories?.map((r) => r.repositoryName)).toEqual(['team/web'])
    await expect(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/none'] }))).rejects.toBeInstanceOf(
      RepositoryNotFoundException
    )
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'team/db' }))
    await expect(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'team/db' }))).rejects.toBeInstanceOf(
      RepositoryNotFoundException
    )
  })
})

describe('an image pull with a token', () => {
  test('is allowed on the repositories the role may pull from and denied elsewhere', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'pull/allowed' }))
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'pull/other' }))
    const agent = new ECRClient(
      await roleSession(emu, {
        roleName: 'puller',
        policy: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
            {
              Effect: 'Allow',
              Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
              Resource: `arn:aws:ecr:us-east-1:${emu.accountId}:repository/pull/allowed`
            }
          ]
        }
      })
    )
    try {
      const t = await token(agent)
      expect(authorizeImagePull(emu.cloud, t, `${host()}/pull/allowed:1.0`)).toMatchObject({ allowed: true })
      const denied = authorizeImagePull(emu.cloud, t, `${host()}/pull/other:latest`)
      expect(denied).toMatchObject({ allowed: false, reason: 'denied' })
      expect(denied.allowed ? '' : denied.message).toContain('ecr:BatchGetImage on resource: arn:aws:ecr:')
      expect(authorizeImagePull(emu.cloud, t, `${host()}/pull/missing:1`)).toMatchObject({
        allowed: false,
        reason: 'not-found'
      })
      // the password half alone works too; a made-up token does not
      const password = Buffer.from(t, 'base64').toString('utf8').slice(4)
      expect(authorizeImagePull(emu.cloud, password, `${host()}/pull/allowed@sha256:abc`).allowed).toBe(true)
      expect(authorizeImagePull(emu.cloud, 'bogus', `${host()}/pull/allowed:1`)).toMatchObject({
        allowed: false,
        reason: 'no-token'
      })
      expect(
        authorizeImagePull(emu.cloud, t, `${emu.accountId}.dkr.ecr.eu-west-1.amazonaws.com/pull/allowed:1`).allowed
      ).toBe(false)
    } finally {
      agent.destroy()
    }
    // a token of credentials the emulator did not issue pulls anything that exists
    expect(authorizeImagePull(emu.cloud, await token(ecr), `${host()}/pull/other:1`).allowed).toBe(true)
  })

  test('needs ecr:GetAuthorizationToken to get a token at all', async () => {
    const none = new ECRClient(
      await roleSession(emu, {
        roleName: 'no-ecr',
        policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: '*' }] }
      })
    )
    try {
      await expect(none.send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringContaining('ecr:GetAuthorizationToken') as unknown as string
      })
    } finally {
      none.destroy()
    }
  })
})
