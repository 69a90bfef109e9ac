/**
 * ECR's image operations (API reference: PutImage, BatchGetImage, DescribeImages, ListImages,
 * BatchDeleteImage). An image is its manifest: the digest is `sha256:` + the hex SHA-256 of the
 * manifest's bytes, a tag names one image at a time. No layers are stored, so PutImage does not
 * check that the layers a manifest names were uploaded (LayersNotFoundException never happens).
 */
import { createHash } from 'node:crypto'
import type {
  BatchDeleteImageRequest,
  BatchDeleteImageResponse,
  BatchGetImageRequest,
  BatchGetImageResponse,
  DescribeImagesRequest,
  DescribeImagesResponse,
  Image,
  ImageDetail,
  ImageFailure,
  ImageIdentifier,
  ListImagesRequest,
  ListImagesResponse,
  PutImageRequest,
  PutImageResponse
} from '@aws-sdk/client-ecr'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import type { Cloud } from '../../types.js'
import { ecrError } from './errors.js'
import { page, repositoryOf } from './lookup.js'
import { imageByTag, tagIsImmutable, type Repository, type StoredImage } from './model.js'

const DIGEST = /^[0-9a-zA-Z_+.-]+:[0-9a-fA-F]+$/
const MAX_TAG = 300
const MAX_MANIFEST = 4 * 1024 * 1024

/** `sha256:<hex>` of the manifest's bytes (UTF-8, as they travel). */
export function manifestDigest(manifest: string): string {
  return `sha256:${createHash('sha256').update(manifest, 'utf8').digest('hex')}`
}

interface ManifestJson {
  mediaType?: unknown
  config?: { mediaType?: unknown }
  layers?: { size?: unknown }[]
}

function parseManifest(manifest: string): ManifestJson | undefined {
  try {
    const parsed: unknown = JSON.parse(manifest)
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ManifestJson) : undefined
  } catch {
    return undefined
  }
}

/** The layers' sizes of an image manifest (Docker schema 2, OCI), else the manifest's own length. */
function imageSize(manifest: string, parsed: ManifestJson | undefined): number {
  const layers = parsed?.layers
  if (Array.isArray(layers) && layers.every((l) => typeof l?.size === 'number'))
    return layers.reduce((sum, l) => sum + (l.size as number), 0)
  return Buffer.byteLength(manifest, 'utf8')
}

function describeId(id: ImageIdentifier): string {
  return `{imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'}`
}

function failure(imageId: ImageIdentifier, failureCode: ImageFailure['failureCode'], reason: string): ImageFailure {
  return { imageId, failureCode, failureReason: reason }
}

function isFailure(x: StoredImage | ImageFailure): x is ImageFailure {
  return !('digest' in x)
}

/** The image an id names, or the failure BatchGetImage and BatchDeleteImage answer for it. */
function resolveId(repo: Repository, id: ImageIdentifier): StoredImage | ImageFailure {
  const { imageDigest: digest, imageTag: tag } = id
  if (!digest && !tag)
    return failure(id, 'MissingDigestAndTag', 'Invalid request parameters: both tag and digest cannot be null')
  if (digest && !DIGEST.test(digest))
    return failure(
      id,
      'InvalidImageDigest',
      "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"
    )
  if (tag !== undefined && (tag.length < 1 || tag.length > MAX_TAG))
    return failure(id, 'InvalidImageTag', 'Invalid request parameters: image tag should be 1 to 300 characters')
  const byDigest = digest ? repo.images.get(digest) : undefined
  const byTag = tag ? imageByTag(repo, tag) : undefined
  if (digest && tag) {
    if (!byDigest) return failure(id, 'ImageNotFound', 'Requested image not found')
    if (byTag !== byDigest) return failure(id, 'ImageTagDoesNotMatchDigest', 'Invalid image tag for image digest')
    return byDigest
  }
  return byDigest ?? byTag ?? failure(id, 'ImageNotFound', 'Requested image not found')
}

function imageIds(input: ImageIdentifier[] | undefined): ImageIdentifier[] {
  const ids = input ?? []
  if (ids.length < 1 || ids.length > 100)
    throw ecrError(
      'InvalidParameterException',
      "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length between 1 and 100'"
    )
  return ids
}

function detail(cloud: Cloud, repo: Repository, image: StoredImage): ImageDetail {
  return {
    registryId: cloud.accountId,
    repositoryName: repo.name,
    imageDigest: image.digest,
    ...(image.tags.length > 0 ? { imageTags: [...image.tags] } : {}),
    imageSizeInBytes: image.sizeInBytes,
    imagePushedAt: new Date(image.pushedAt),
    imageManifestMediaType: image.mediaType,
    ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
    ...(image.lastPulledAt !== undefined ? { lastRecordedPullTime: new Date(image.lastPulledAt) } : {}),
    imageStatus: 'ACTIVE'
  }
}

/** Whether an image passes a tagStatus filter (absent or ANY: all). */
function tagStatusMatches(status: string | undefined, tagged: boolean): boolean {
  return status === 'TAGGED' ? tagged : status === 'UNTAGGED' ? !tagged : true
}

export function imageHandlers(cloud: Cloud): Record<string, JsonHandler> {
  return {
    PutImage: (input: PutImageRequest, ctx: JsonContext): PutImageResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      const manifest = input.imageManifest ?? ''
      if (manifest.length < 1 || manifest.length > MAX_MANIFEST)
        throw ecrError(
          'InvalidParameterException',
          "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must have length between 1 and 4194304'"
        )
      const parsed = parseManifest(manifest)
      const own = typeof parsed?.mediaType === 'string' ? parsed.mediaType : undefined
      const mediaType = input.imageManifestMediaType ?? own
      if (!mediaType)
        throw ecrError(
          'InvalidParameterException',
          "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'the media type must be given when the manifest has no mediaType'"
        )
      if (own && input.imageManifestMediaType && own !== input.imageManifestMediaType)
        throw ecrError(
          'InvalidParameterException',
          `Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'the manifest's mediaType is ${own}'`
        )
      const tag = input.imageTag
      if (tag !== undefined && (tag.length < 1 || tag.length > MAX_TAG))
        throw ecrError(
          'InvalidParameterException',
          "Invalid parameter at 'imageTag' failed to satisfy constraint: 'Member must have length between 1 and 300'"
        )
      const digest = manifestDigest(manifest)
      if (input.imageDigest !== undefined && input.imageDigest !== digest)
        throw ecrError(
          'ImageDigestDoesNotMatchException',
          `Invalid parameter at 'imageDigest' failed to satisfy constraint: 'The image digest ${input.imageDigest} does not match the digest of the manifest (${digest})'`
        )
      const existing = repo.images.get(digest)
      if (existing && (tag === undefined || existing.tags.includes(tag)))
        throw ecrError(
          'ImageAlreadyExistsException',
          `Image with digest '${digest}'${tag !== undefined ? ` and tag '${tag}'` : ''} already exists in the repository with name '${repo.name}' in registry with id '${cloud.accountId}'`
        )
      const holder = tag !== undefined ? imageByTag(repo, tag) : undefined
      if (holder && tag !== undefined) {
        if (tagIsImmutable(repo, tag))
          throw ecrError(
            'ImageTagAlreadyExistsException',
            `The image tag '${tag}' already exists in the '${repo.name}' repository and cannot be overwritten because the tag is immutable.`
          )
        // a mutable tag moves; the image it leaves stays, untagged when that was its last tag
        holder.tags = holder.tags.filter((t) => t !== tag)
      }
      const image: StoredImage = existing ?? {
        digest,
        manifest,
        mediaType,
        ...(typeof parsed?.config?.mediaType === 'string' ? { artifactMediaType: parsed.config.mediaType } : {}),
        tags: [],
        sizeInBytes: imageSize(manifest, parsed),
        pushedAt: Date.now()
      }
      if (tag !== undefined) image.tags.push(tag)
      repo.images.set(digest, image)
      const out: Image = {
        registryId: cloud.accountId,
        repositoryName: repo.name,
        imageId: { imageDigest: digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
        imageManifest: manifest,
        imageManifestMediaType: image.mediaType
      }
      return { image: out }
    },
    // a manifest read is a pull: it records lastRecordedPullTime (ECR refreshes it at most daily; here on each)
    BatchGetImage: (input: BatchGetImageRequest, ctx: JsonContext): BatchGetImageResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      const images: Image[] = []
      const failures: ImageFailure[] = []
      const seen = new Set<string>()
      for (const id of imageIds(input.imageIds)) {
        const found = resolveId(repo, id)
        if (isFailure(found)) {
          failures.push(found)
          continue
        }
        found.lastPulledAt = Date.now()
        const key = `${found.digest} ${id.imageTag ?? ''}`
        if (seen.has(key)) continue
        seen.add(key)
        images.push({
          registryId: cloud.accountId,
          repositoryName: repo.name,
          imageId: { imageDigest: found.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) },
          imageManifest: found.manifest,
          imageManifestMediaType: found.mediaType
        })
      }
      return { images, failures }
    },
    DescribeImages: (input: DescribeImagesRequest, ctx: JsonContext): DescribeImagesResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      if (input.imageIds) {
        if (input.maxResults !== undefined || input.nextToken !== undefined)
          throw ecrError(
            'InvalidParameterException',
            'Invalid parameter: maxResults and nextToken cannot be used when you specify images with imageIds'
          )
        const found: StoredImage[] = []
        for (const id of imageIds(input.imageIds)) {
          const image = resolveId(repo, id)
          if (isFailure(image)) {
            if (image.failureCode !== 'ImageNotFound')
              throw ecrError('InvalidParameterException', image.failureReason ?? 'Invalid image identifier')
            throw ecrError(
              'ImageNotFoundException',
              `The image with imageId ${describeId(id)} does not exist within the repository with name '${repo.name}' in the registry with id '${cloud.accountId}'`
            )
          }
          if (!found.includes(image)) found.push(image)
        }
        return { imageDetails: found.map((image) => detail(cloud, repo, image)) }
      }
      const status = input.filter?.imageStatus
      const all = [...repo.images.values()].filter(
        (image) =>
          tagStatusMatches(input.filter?.tagStatus, image.tags.length > 0) &&
          (status === undefined || status === 'ANY' || status === 'ACTIVE')
      )
      const one = page(all, input)
      return {
        imageDetails: one.items.map((image) => detail(cloud, repo, image)),
        ...(one.nextToken ? { nextToken: one.nextToken } : {})
      }
    },
    ListImages: (input: ListImagesRequest, ctx: JsonContext): ListImagesResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      const status = input.filter?.imageStatus
      const ids: ImageIdentifier[] = []
      if (status === undefined || status === 'ANY' || status === 'ACTIVE')
        for (const image of repo.images.values()) {
          if (image.tags.length === 0) {
            if (tagStatusMatches(input.filter?.tagStatus, false)) ids.push({ imageDigest: image.digest })
          } else if (tagStatusMatches(input.filter?.tagStatus, true))
            for (const tag of image.tags) ids.push({ imageDigest: image.digest, imageTag: tag })
        }
      const one = page(ids, input)
      return { imageIds: one.items, ...(one.nextToken ? { nextToken: one.nextToken } : {}) }
    },
    // by tag: the tag goes (the image with it when it was the last); by digest (with or without its tag): the image goes
    BatchDeleteImage: (input: BatchDeleteImageRequest, ctx: JsonContext): BatchDeleteImageResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      const deleted: ImageIdentifier[] = []
      const failures: ImageFailure[] = []
      for (const id of imageIds(input.imageIds)) {
        const image = resolveId(repo, id)
        if (isFailure(image)) {
          failures.push(image)
          continue
        }
        if (id.imageDigest === undefined && id.imageTag !== undefined) {
          image.tags = image.tags.filter((t) => t !== id.imageTag)
          deleted.push({ imageDigest: image.digest, imageTag: id.imageTag })
          if (image.tags.length === 0) repo.images.delete(image.digest)
          continue
        }
        repo.images.delete(image.digest)
        if (image.tags.length === 0) deleted.push({ imageDigest: image.digest })
        for (const tag of image.tags) deleted.push({ imageDigest: image.digest, imageTag: tag })
      }
      return { imageIds: deleted, failures }
    }
  }
}
