/**
 * ECR as the builds see it: whether an image of a tag is there already (then nothing is built), the
 * registry credentials for `docker login`, and the tag that marks the image a stack runs.
 */
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  GetAuthorizationTokenCommand,
  PutImageCommand
} from '@aws-sdk/client-ecr'
import { errorCode, wrap } from './errors.js'
import type { Aws } from './send.js'

/** An image in a repository. */
export interface RegistryImage {
  digest: string
  tags: string[]
  sizeBytes?: number
}

/** The image a tag names in a repository, or undefined when the repository or the tag is not there. */
export async function findImage(aws: Aws, repository: string, tag: string): Promise<RegistryImage | undefined> {
  try {
    const out = await aws.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }))
    const image = out.imageDetails?.[0]
    return image?.imageDigest
      ? {
          digest: image.imageDigest,
          tags: image.imageTags ?? [],
          ...(image.imageSizeInBytes !== undefined ? { sizeBytes: image.imageSizeInBytes } : {})
        }
      : undefined
  } catch (err) {
    if (['ImageNotFoundException', 'RepositoryNotFoundException'].includes(errorCode(err))) return undefined
    throw wrap(`looking for ${repository}:${tag}`, err)
  }
}

/** `docker login` credentials for the account's registry: user AWS and a 12-hour password. */
export async function registryLogin(aws: Aws): Promise<{ user: string; password: string; endpoint: string }> {
  const out = await aws.send(new GetAuthorizationTokenCommand({}))
  const data = out.authorizationData?.[0]
  const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (!data?.proxyEndpoint || colon < 0) throw new Error('ECR returned no authorization token')
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1), endpoint: data.proxyEndpoint }
}

/**
 * Points `tag` at the image `digest` (a registry-side retag: its manifest put again under the tag).
 * False when it already did.
 */
export async function tagImage(aws: Aws, repository: string, digest: string, tag: string): Promise<boolean> {
  const got = await aws.send(
    new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] })
  )
  const image = got.images?.[0]
  if (!image?.imageManifest) throw new Error(`${repository}@${digest} is not in the registry`)
  try {
    await aws.send(
      new PutImageCommand({
        repositoryName: repository,
        imageManifest: image.imageManifest,
        ...(image.imageManifestMediaType ? { imageManifestMediaType: image.imageManifestMediaType } : {}),
        imageTag: tag
      })
    )
    return true
  } catch (err) {
    if (errorCode(err) === 'ImageAlreadyExistsException') return false
    throw wrap(`tagging ${repository}@${digest} ${tag}`, err)
  }
}

/** Removes `tag` from a repository (the image stays while another tag or the lifecycle policy keeps it). */
export async function untagImage(aws: Aws, repository: string, tag: string): Promise<boolean> {
  try {
    const out = await aws.send(
      new BatchDeleteImageCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] })
    )
    return (out.imageIds?.length ?? 0) > 0
  } catch (err) {
    if (errorCode(err) === 'RepositoryNotFoundException') return false
    throw wrap(`untagging ${repository}:${tag}`, err)
  }
}
