/**
 * The emulator's ECR through the real SDK client: registry tokens, repositories, their settings,
 * lifecycle policies and tags, images (PutImage, BatchGetImage, DescribeImages, ListImages,
 * BatchDeleteImage), and whether a `docker pull` with a token is allowed for the role session that
 * asked for it (authorizeImagePull) and finds the image (pullImage).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  ImageAlreadyExistsException,
  ImageDigestDoesNotMatchException,
  ImageNotFoundException,
  ImageTagAlreadyExistsException,
  InvalidParameterException,
  InvalidTagParameterException,
  LifecyclePolicyNotFoundException,
  ListImagesCommand,
  ListTagsForResourceCommand,
  PutImageCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  RepositoryAlreadyExistsException,
  RepositoryNotEmptyException,
  RepositoryNotFoundException,
  TagResourceCommand,
  TooManyTagsException,
  UntagResourceCommand
} from '@aws-sdk/client-ecr'
import { authorizeImagePull, pullImage } from '../emulator/services/ecr/index.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { imageManifest, pushImage, roleSession, sdkConfig } from '../emulator/testing.js'

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

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('the call succeeded')
}

describe('repositories, more', () => {
  test('are created with their settings, tags and encryption, and bad names or settings are InvalidParameterException', async () => {
    const out = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'settings/app',
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:111122223333:key/k1' },
        tags: [{ Key: 'team', Value: 'web' }]
      })
    )
    expect(out.repository).toMatchObject({
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:111122223333:key/k1' }
    })
    expect(out.repository?.createdAt).toBeInstanceOf(Date)
    const tags = await ecr.send(new ListTagsForResourceCommand({ resourceArn: out.repository?.repositoryArn }))
    expect(tags.tags).toEqual([{ Key: 'team', Value: 'web' }])
    for (const repositoryName of ['a', 'Upper', 'bad//name', '-lead', 'trail-', `x${'y'.repeat(256)}`])
      expect(await rejection(ecr.send(new CreateRepositoryCommand({ repositoryName })))).toBeInstanceOf(
        InvalidParameterException
      )
    expect(
      await rejection(
        ecr.send(
          new CreateRepositoryCommand({
            repositoryName: 'settings/aes',
            encryptionConfiguration: { encryptionType: 'AES256', kmsKey: 'k' }
          })
        )
      )
    ).toBeInstanceOf(InvalidParameterException)
    expect(
      await rejection(
        ecr.send(
          new CreateRepositoryCommand({ repositoryName: 'settings/tagged', tags: [{ Key: 'aws:x', Value: '1' }] })
        )
      )
    ).toBeInstanceOf(InvalidTagParameterException)
  })

  test('settings change with PutImageTagMutability and PutImageScanningConfiguration', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'settings/change' }))
    const mutability = await ecr.send(
      new PutImageTagMutabilityCommand({ repositoryName: 'settings/change', imageTagMutability: 'IMMUTABLE' })
    )
    expect(mutability).toMatchObject({
      registryId: emu.accountId,
      repositoryName: 'settings/change',
      imageTagMutability: 'IMMUTABLE'
    })
    const scanning = await ecr.send(
      new PutImageScanningConfigurationCommand({
        repositoryName: 'settings/change',
        imageScanningConfiguration: { scanOnPush: true }
      })
    )
    expect(scanning.imageScanningConfiguration).toEqual({ scanOnPush: true })
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['settings/change'] }))
    expect(described.repositories?.[0]).toMatchObject({
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true }
    })
    expect(
      await rejection(
        ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'settings/none', imageTagMutability: 'MUTABLE' }))
      )
    ).toBeInstanceOf(RepositoryNotFoundException)
    // exclusion filters only with a *_WITH_EXCLUSION setting
    expect(
      await rejection(
        ecr.send(
          new PutImageTagMutabilityCommand({
            repositoryName: 'settings/change',
            imageTagMutability: 'MUTABLE',
            imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'dev-*' }]
          })
        )
      )
    ).toBeInstanceOf(InvalidParameterException)
  })

  test('are paged by maxResults and nextToken, 100 to a page by default', async () => {
    const names = Array.from({ length: 5 }, (_, i) => `paged/r${i}`)
    const local = new ECRClient(sdkConfig(emu, { region: 'eu-central-1' }))
    try {
      for (const repositoryName of names) await local.send(new CreateRepositoryCommand({ repositoryName }))
      const seen: string[] = []
      let nextToken: string | undefined
      let pages = 0
      do {
        const out = await local.send(
          new DescribeRepositoriesCommand({ maxResults: 2, ...(nextToken ? { nextToken } : {}) })
        )
        seen.push(...(out.repositories ?? []).map((r) => r.repositoryName ?? ''))
        nextToken = out.nextToken
        pages += 1
      } while (nextToken)
      expect(seen).toEqual(names)
      expect(pages).toBe(3)
      expect(await rejection(local.send(new DescribeRepositoriesCommand({ maxResults: 1001 })))).toBeInstanceOf(
        InvalidParameterException
      )
    } finally {
      local.destroy()
    }
  })

  test('tags are added, listed and removed by the repository ARN; an unknown repository is RepositoryNotFoundException', async () => {
    const repo = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'tags/app' }))
    const resourceArn = repo.repository?.repositoryArn ?? ''
    await ecr.send(
      new TagResourceCommand({
        resourceArn,
        tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' }
        ]
      })
    )
    await ecr.send(new TagResourceCommand({ resourceArn, tags: [{ Key: 'a', Value: '3' }] }))
    await ecr.send(new UntagResourceCommand({ resourceArn, tagKeys: ['b'] }))
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn }))).tags).toEqual([{ Key: 'a', Value: '3' }])
    expect(
      await rejection(
        ecr.send(new ListTagsForResourceCommand({ resourceArn: resourceArn.replace('tags/app', 'tags/none') }))
      )
    ).toBeInstanceOf(RepositoryNotFoundException)
    expect(await rejection(ecr.send(new ListTagsForResourceCommand({ resourceArn: 'not-an-arn' })))).toBeInstanceOf(
      InvalidParameterException
    )
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }))
    expect(await rejection(ecr.send(new TagResourceCommand({ resourceArn, tags: many })))).toBeInstanceOf(
      TooManyTagsException
    )
    // another registry holds none of the emulator's repositories
    expect(
      await rejection(
        ecr.send(new DescribeRepositoriesCommand({ registryId: '111122223333', repositoryNames: ['tags/app'] }))
      )
    ).toBeInstanceOf(RepositoryNotFoundException)
  })
})

describe('lifecycle policies', () => {
  const policy = JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: 'keep ten tagged images',
        selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 10 },
        action: { type: 'expire' }
      },
      {
        rulePriority: 2,
        selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
        action: { type: 'expire' }
      }
    ]
  })

  test('are put, read and deleted; a missing one is LifecyclePolicyNotFoundException', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'life/app' }))
    expect(await rejection(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'life/app' })))).toBeInstanceOf(
      LifecyclePolicyNotFoundException
    )
    const put = await ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: 'life/app', lifecyclePolicyText: policy })
    )
    expect(put).toMatchObject({ registryId: emu.accountId, repositoryName: 'life/app', lifecyclePolicyText: policy })
    const got = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'life/app' }))
    expect(got.lifecyclePolicyText).toBe(policy)
    const deleted = await ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'life/app' }))
    expect(deleted.lifecyclePolicyText).toBe(policy)
    expect(await rejection(ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'life/app' })))).toBeInstanceOf(
      LifecyclePolicyNotFoundException
    )
    expect(await rejection(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'life/none' })))).toBeInstanceOf(
      RepositoryNotFoundException
    )
  })

  test('malformed policy text is InvalidParameterException', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'life/bad' }))
    const rule = (selection: object, extra: object = {}): string =>
      JSON.stringify({
        rules: [{ rulePriority: 1, selection, action: { type: 'expire' }, ...extra }],
        pad: 'x'.repeat(100)
      })
    const bad = [
      `{"rules": [${'{'.repeat(120)}`,
      JSON.stringify({ rules: [], description: 'x'.repeat(120) }),
      rule({ tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 }),
      rule({ tagStatus: 'untagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 }),
      rule({ tagStatus: 'any', countType: 'sinceImagePushed', countNumber: 1 }),
      rule({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 0 }),
      rule({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, { action: { type: 'keep' } }),
      rule({ tagStatus: 'sometimes', countType: 'imageCountMoreThan', countNumber: 1 })
    ]
    for (const lifecyclePolicyText of bad)
      expect(
        await rejection(ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'life/bad', lifecyclePolicyText })))
      ).toBeInstanceOf(InvalidParameterException)
    const good = rule({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'life/bad', lifecyclePolicyText: good }))
  })
})

describe('images', () => {
  test('PutImage answers the digest of the manifest bytes, the same for the same manifest in any repository', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'img/one' }))
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'img/two' }))
    const manifest = imageManifest('same')
    const one = await ecr.send(
      new PutImageCommand({ repositoryName: 'img/one', imageTag: '1', imageManifest: manifest })
    )
    expect(one.image).toMatchObject({
      registryId: emu.accountId,
      repositoryName: 'img/one',
      imageId: { imageDigest: sha256(manifest), imageTag: '1' },
      imageManifest: manifest,
      imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json'
    })
    expect(await pushImage(ecr, 'img/two', 'x', manifest)).toBe(sha256(manifest))
    // the digest given must be the manifest's
    expect(
      await ecr.send(
        new PutImageCommand({
          repositoryName: 'img/one',
          imageTag: '2',
          imageManifest: manifest,
          imageDigest: sha256(manifest)
        })
      )
    ).toMatchObject({ image: { imageId: { imageDigest: sha256(manifest), imageTag: '2' } } })
    expect(
      await rejection(
        ecr.send(
          new PutImageCommand({
            repositoryName: 'img/one',
            imageTag: '3',
            imageManifest: manifest,
            imageDigest: sha256('other')
          })
        )
      )
    ).toBeInstanceOf(ImageDigestDoesNotMatchException)
    // the same tag on the same manifest again, or the manifest again without a tag: already there
    expect(
      await rejection(
        ecr.send(new PutImageCommand({ repositoryName: 'img/one', imageTag: '1', imageManifest: manifest }))
      )
    ).toBeInstanceOf(ImageAlreadyExistsException)
    expect(
      await rejection(ecr.send(new PutImageCommand({ repositoryName: 'img/one', imageManifest: manifest })))
    ).toBeInstanceOf(ImageAlreadyExistsException)
    expect(
      await rejection(
        ecr.send(new PutImageCommand({ repositoryName: 'img/none', imageTag: '1', imageManifest: manifest }))
      )
    ).toBeInstanceOf(RepositoryNotFoundException)
    // a manifest without mediaType needs imageManifestMediaType
    expect(
      await rejection(
        ecr.send(new PutImageCommand({ repositoryName: 'img/one', imageTag: 'raw', imageManifest: 'plain' }))
      )
    ).toBeInstanceOf(InvalidParameterException)
    const raw = await ecr.send(
      new PutImageCommand({
        repositoryName: 'img/one',
        imageTag: 'raw',
        imageManifest: 'plain',
        imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json'
      })
    )
    expect(raw.image?.imageId?.imageDigest).toBe(sha256('plain'))
    const details = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'img/one', imageIds: [{ imageTag: 'raw' }] })
    )
    expect(details.imageDetails?.[0]?.imageSizeInBytes).toBe(5)
  })

  test('a tag moves to another image in a MUTABLE repository and is ImageTagAlreadyExistsException in an IMMUTABLE one', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'tags/mutable' }))
    const first = await pushImage(ecr, 'tags/mutable', 'latest', imageManifest('first'))
    const second = await pushImage(ecr, 'tags/mutable', 'latest', imageManifest('second'))
    const listed = await ecr.send(new ListImagesCommand({ repositoryName: 'tags/mutable' }))
    expect(listed.imageIds).toEqual([{ imageDigest: first }, { imageDigest: second, imageTag: 'latest' }])
    const untagged = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'tags/mutable', filter: { tagStatus: 'UNTAGGED' } })
    )
    expect(untagged.imageDetails?.map((d) => [d.imageDigest, d.imageTags])).toEqual([[first, undefined]])

    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'tags/immutable', imageTagMutability: 'IMMUTABLE' }))
    const kept = await pushImage(ecr, 'tags/immutable', '1.0', imageManifest('kept'))
    expect(await rejection(pushImage(ecr, 'tags/immutable', '1.0', imageManifest('other')))).toBeInstanceOf(
      ImageTagAlreadyExistsException
    )
    // another tag on the same image is fine in either
    await pushImage(ecr, 'tags/immutable', 'stable', imageManifest('kept'))
    const described = await ecr.send(new DescribeImagesCommand({ repositoryName: 'tags/immutable' }))
    expect(described.imageDetails?.map((d) => [d.imageDigest, d.imageTags])).toEqual([[kept, ['1.0', 'stable']]])
    // IMMUTABLE_WITH_EXCLUSION: the excluded tags move
    await ecr.send(
      new PutImageTagMutabilityCommand({
        repositoryName: 'tags/immutable',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'stab*' }]
      })
    )
    await pushImage(ecr, 'tags/immutable', 'stable', imageManifest('newer'))
    expect(await rejection(pushImage(ecr, 'tags/immutable', '1.0', imageManifest('newer')))).toBeInstanceOf(
      ImageTagAlreadyExistsException
    )
  })

  test('DescribeImages details each image, pages, and a requested image that is not there is ImageNotFoundException', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'describe/app' }))
    const manifest = imageManifest('sized', 3000)
    const digest = await pushImage(ecr, 'describe/app', 'v1', manifest)
    for (const tag of ['v2', 'v3', 'v4']) await pushImage(ecr, 'describe/app', tag)
    const one = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'describe/app', imageIds: [{ imageDigest: digest }] })
    )
    const d = one.imageDetails?.[0]
    expect(d).toMatchObject({
      registryId: emu.accountId,
      repositoryName: 'describe/app',
      imageDigest: digest,
      imageTags: ['v1'],
      imageSizeInBytes: 3000,
      imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      artifactMediaType: 'application/vnd.docker.container.image.v1+json'
    })
    expect(d?.imagePushedAt).toBeInstanceOf(Date)
    expect(d?.lastRecordedPullTime).toBeUndefined()
    const seen: string[] = []
    let nextToken: string | undefined
    do {
      const out = await ecr.send(
        new DescribeImagesCommand({
          repositoryName: 'describe/app',
          maxResults: 3,
          ...(nextToken ? { nextToken } : {})
        })
      )
      seen.push(...(out.imageDetails ?? []).flatMap((x) => x.imageTags ?? []))
      nextToken = out.nextToken
    } while (nextToken)
    expect(seen).toEqual(['v1', 'v2', 'v3', 'v4'])
    const missing = await rejection(
      ecr.send(new DescribeImagesCommand({ repositoryName: 'describe/app', imageIds: [{ imageTag: 'v9' }] }))
    )
    expect(missing).toBeInstanceOf(ImageNotFoundException)
    expect((missing as Error).message).toContain("imageTag:'v9'")
    // a read records the pull
    await ecr.send(new BatchGetImageCommand({ repositoryName: 'describe/app', imageIds: [{ imageTag: 'v1' }] }))
    const pulled = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'describe/app', imageIds: [{ imageTag: 'v1' }] })
    )
    expect(pulled.imageDetails?.[0]?.lastRecordedPullTime).toBeInstanceOf(Date)
  })

  test('BatchGetImage answers the images found by tag or digest and a failure for each other id', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'get/app' }))
    const manifest = imageManifest('get')
    const digest = await pushImage(ecr, 'get/app', 'v1', manifest)
    const other = await pushImage(ecr, 'get/app', 'v2')
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'get/app',
        imageIds: [
          { imageTag: 'v1' },
          { imageDigest: digest },
          { imageTag: 'nope' },
          { imageDigest: other, imageTag: 'v1' },
          { imageDigest: sha256('never') }
        ]
      })
    )
    expect(out.images).toEqual([
      {
        registryId: emu.accountId,
        repositoryName: 'get/app',
        imageId: { imageDigest: digest, imageTag: 'v1' },
        imageManifest: manifest,
        imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json'
      },
      expect.objectContaining({ imageId: { imageDigest: digest } })
    ])
    expect(out.failures?.map((f) => [f.imageId, f.failureCode])).toEqual([
      [{ imageTag: 'nope' }, 'ImageNotFound'],
      [{ imageDigest: other, imageTag: 'v1' }, 'ImageTagDoesNotMatchDigest'],
      [{ imageDigest: sha256('never') }, 'ImageNotFound']
    ])
    expect(
      await rejection(
        ecr.send(new BatchGetImageCommand({ repositoryName: 'get/none', imageIds: [{ imageTag: 'v1' }] }))
      )
    ).toBeInstanceOf(RepositoryNotFoundException)
  })

  test('BatchDeleteImage untags by tag (the image goes with its last tag) and deletes by digest with all its tags', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'delete/app' }))
    const a = await pushImage(ecr, 'delete/app', 'a1', imageManifest('a'))
    await pushImage(ecr, 'delete/app', 'a2', imageManifest('a'))
    const b = await pushImage(ecr, 'delete/app', 'b1', imageManifest('b'))
    await pushImage(ecr, 'delete/app', 'b2', imageManifest('b'))
    const byTag = await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: 'delete/app', imageIds: [{ imageTag: 'a1' }, { imageTag: 'zz' }] })
    )
    expect(byTag.imageIds).toEqual([{ imageDigest: a, imageTag: 'a1' }])
    expect(byTag.failures).toEqual([
      { imageId: { imageTag: 'zz' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }
    ])
    const list = async (): Promise<unknown> =>
      (await ecr.send(new ListImagesCommand({ repositoryName: 'delete/app' }))).imageIds
    expect(await list()).toEqual([
      { imageDigest: a, imageTag: 'a2' },
      { imageDigest: b, imageTag: 'b1' },
      { imageDigest: b, imageTag: 'b2' }
    ])
    // the last tag takes the image with it
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'delete/app', imageIds: [{ imageTag: 'a2' }] }))
    expect(await list()).toEqual([
      { imageDigest: b, imageTag: 'b1' },
      { imageDigest: b, imageTag: 'b2' }
    ])
    const byDigest = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'delete/app',
        imageIds: [{ imageDigest: b }, { imageDigest: 'bad' }]
      })
    )
    expect(byDigest.imageIds).toEqual([
      { imageDigest: b, imageTag: 'b1' },
      { imageDigest: b, imageTag: 'b2' }
    ])
    expect(byDigest.failures?.map((f) => f.failureCode)).toEqual(['InvalidImageDigest'])
    expect(await list()).toEqual([])
  })

  test('DeleteRepository of a repository with images is RepositoryNotEmptyException unless forced', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'force/app' }))
    await pushImage(ecr, 'force/app', '1')
    expect(await rejection(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'force/app' })))).toBeInstanceOf(
      RepositoryNotEmptyException
    )
    const out = await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'force/app', force: true }))
    expect(out.repository?.repositoryName).toBe('force/app')
    // a repository of the same name later is empty
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'force/app' }))
    expect((await ecr.send(new ListImagesCommand({ repositoryName: 'force/app' }))).imageIds).toEqual([])
  })

  test('a role allowed only ecr:DescribeImages on one repository describes its images and is denied PutImage', async () => {
    const repo = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'iam/app' }))
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'iam/other' }))
    await pushImage(ecr, 'iam/app', '1')
    const reader = new ECRClient(
      await roleSession(emu, {
        roleName: 'image-reader',
        policy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ecr:DescribeImages', Resource: repo.repository?.repositoryArn }]
        }
      })
    )
    try {
      const out = await reader.send(new DescribeImagesCommand({ repositoryName: 'iam/app' }))
      expect(out.imageDetails?.map((d) => d.imageTags)).toEqual([['1']])
      await expect(pushImage(reader, 'iam/app', '2')).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringContaining(
          `ecr:PutImage on resource: ${repo.repository?.repositoryArn ?? ''}`
        ) as unknown as string
      })
      await expect(reader.send(new DescribeImagesCommand({ repositoryName: 'iam/other' }))).rejects.toMatchObject({
        name: 'AccessDeniedException'
      })
    } finally {
      reader.destroy()
    }
  })

  test("a role allowed ecr:ListImages where aws:ResourceTag/team is web lists that repository's images only", async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'iam/web', tags: [{ Key: 'team', Value: 'web' }] }))
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'iam/db', tags: [{ Key: 'team', Value: 'db' }] }))
    const lister = new ECRClient(
      await roleSession(emu, {
        roleName: 'tag-lister',
        policy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'ecr:ListImages',
              Resource: '*',
              Condition: { StringEquals: { 'aws:ResourceTag/team': 'web' } }
            }
          ]
        }
      })
    )
    try {
      expect((await lister.send(new ListImagesCommand({ repositoryName: 'iam/web' }))).imageIds).toEqual([])
      await expect(lister.send(new ListImagesCommand({ repositoryName: 'iam/db' }))).rejects.toMatchObject({
        name: 'AccessDeniedException'
      })
    } finally {
      lister.destroy()
    }
  })

  test('a pull finds the image by tag or digest, else answers manifest unknown, and records lastRecordedPullTime', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'pull/images' }))
    const t = await token(ecr)
    expect(pullImage(emu.cloud, t, `${host()}/pull/images:1`)).toMatchObject({
      allowed: false,
      reason: 'manifest-unknown',
      message: `manifest for ${host()}/pull/images:1 not found: manifest unknown: Requested image not found`
    })
    const digest = await pushImage(ecr, 'pull/images', '1')
    expect(pullImage(emu.cloud, t, `${host()}/pull/images:1`)).toMatchObject({ allowed: true, imageDigest: digest })
    expect(pullImage(emu.cloud, t, `${host()}/pull/images@${digest}`)).toMatchObject({ allowed: true })
    // no tag is latest, which was not pushed
    expect(pullImage(emu.cloud, t, `${host()}/pull/images`)).toMatchObject({ reason: 'manifest-unknown' })
    const out = await ecr.send(new DescribeImagesCommand({ repositoryName: 'pull/images' }))
    expect(out.imageDetails?.[0]?.lastRecordedPullTime).toBeInstanceOf(Date)
  })
})
