/** Helpers for tests and benchmarks that point real SDK clients at an emulator. */
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand, AttachRolePolicyCommand } from '@aws-sdk/client-iam'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { PutImageCommand, type ECRClient } from '@aws-sdk/client-ecr'
import { createHash } from 'node:crypto'
import type { Emulator } from './server.js'

export interface SdkTestConfig {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  maxAttempts: number
}

/** Client config for an SDK v3 client talking to the emulator with dummy credentials. */
export function sdkConfig(emulator: Pick<Emulator, 'endpoint'>, overrides: Partial<SdkTestConfig> = {}): SdkTestConfig {
  return {
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAEMULATORTEST', secretAccessKey: 'emulator' },
    maxAttempts: 1,
    ...overrides
  }
}

/** Polls until check() returns a value that is not undefined, or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export interface RoleSessionOptions {
  roleName: string
  /** The role's one inline policy (a document or its JSON). */
  policy?: object | string
  /** Managed policies to attach (created beforehand with CreatePolicy, or AWS managed ARNs). */
  managedPolicyArns?: string[]
  /** The trust policy; default: the account (arn:aws:iam::<account>:root) may assume the role. */
  trust?: object
  sessionName?: string
  region?: string
}

/**
 * Creates a role with exactly the given policies, assumes it (STS AssumeRole, as an administrator
 * with credentials the emulator did not issue) and returns a client config whose every call is
 * evaluated against those policies.
 */
export async function roleSession(
  emulator: Pick<Emulator, 'endpoint' | 'accountId'>,
  options: RoleSessionOptions
): Promise<SdkTestConfig> {
  const admin = sdkConfig(emulator, options.region ? { region: options.region } : {})
  const iam = new IAMClient(admin)
  const sts = new STSClient(admin)
  try {
    const trust = options.trust ?? {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${emulator.accountId}:root` }, Action: 'sts:AssumeRole' }
      ]
    }
    const role = await iam.send(
      new CreateRoleCommand({ RoleName: options.roleName, AssumeRolePolicyDocument: JSON.stringify(trust) })
    )
    if (options.policy !== undefined) {
      const document = typeof options.policy === 'string' ? options.policy : JSON.stringify(options.policy)
      await iam.send(
        new PutRolePolicyCommand({ RoleName: options.roleName, PolicyName: 'policy', PolicyDocument: document })
      )
    }
    for (const arn of options.managedPolicyArns ?? [])
      await iam.send(new AttachRolePolicyCommand({ RoleName: options.roleName, PolicyArn: arn }))
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: role.Role?.Arn, RoleSessionName: options.sessionName ?? 'test' })
    )
    const c = out.Credentials
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error('AssumeRole returned no credentials')
    return {
      ...admin,
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken }
    }
  } finally {
    iam.destroy()
    sts.destroy()
  }
}

/**
 * A small Docker image manifest (schema 2) whose config and layer digests derive from `seed`, so
 * that each seed is another image (another digest) and the same seed the same one.
 */
export function imageManifest(seed: string, layerSize = 1024): string {
  const digest = (what: string): string => `sha256:${createHash('sha256').update(`${seed}/${what}`).digest('hex')}`
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 512, digest: digest('config') },
    layers: [
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layerSize, digest: digest('layer') }
    ]
  })
}

/**
 * Pushes an image to an ECR repository through the SDK's PutImage (the manifest: `imageManifest` of
 * `<repository>:<tag>` unless given) and returns its digest. As PutImage, a tag already on that
 * manifest is ImageAlreadyExistsException.
 */
export async function pushImage(
  ecr: ECRClient,
  repository: string,
  tag: string,
  manifest = imageManifest(`${repository}:${tag}`)
): Promise<string> {
  const out = await ecr.send(
    new PutImageCommand({ repositoryName: repository, imageTag: tag, imageManifest: manifest })
  )
  const digest = out.image?.imageId?.imageDigest
  if (!digest) throw new Error('PutImage returned no digest')
  return digest
}
