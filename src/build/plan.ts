/**
 * The images a run builds: one per distinct compose `build` (services with the same build share one
 * image), for the platform of the service's instance type, pushed to the project's repository
 * `<project>/<service>` (or to the ECR image compose names beside `build`), tagged with the hash of
 * what it depends on and with the commit. Pure: the parts' hashes are handed in.
 */
import { ecrRepository } from '../agent/build.js'
import type { ComposeModel, ServiceBuild, ServiceModel } from '../compose/model.js'
import { isArm } from '../desired.js'
import type { StackScope } from '../names.js'
import { buildTag, type BuildParts } from './inputs.js'

export type Platform = 'linux/amd64' | 'linux/arm64'

export interface ImageBuild {
  /** The services that run it, sorted (several when they share one build). */
  services: string[]
  /** The repository's name: `<project>/<service>` of the first service, or the one compose's image names. */
  repository: string
  /** The project's repository (made and kept by the action), not one compose's image names. */
  managed: boolean
  /** The registry host, when compose's image names it; the project's is the account's (learnt from ECR). */
  host?: string
  /** Content-addressed: the same inputs give the same tag. */
  tag: string
  /** Also pushed: `git-<commit>` for people, and compose's own tag of the image it names. */
  extraTags: string[]
  platform: Platform
  build: ServiceBuild
  parts: BuildParts
}

/** The repository of a service's image in the project: `<project>/<service>`. */
export function projectRepository(scope: Pick<StackScope, 'project'>, service: string): string {
  return `${scope.project}/${service}`
}

/** The tag that marks the image a stack runs: the lifecycle policy keeps every image so tagged. */
export function stackTag(stack: string): string {
  return `stack-${stack}`
}

export function platformOf(instanceType: string): Platform {
  return isArm(instanceType) ? 'linux/arm64' : 'linux/amd64'
}

/** A service whose build cannot run on its instances: `platforms` leaves out the instance type's. */
export function platformProblems(model: ComposeModel, instanceType: string): string[] {
  return model.services.flatMap((s) => {
    if (!s.build || s.build.platforms.length === 0) return []
    const type = s.size ?? instanceType
    const platform = platformOf(type)
    if (s.build.platforms.includes(platform)) return []
    const { file, line } = s.build.location
    return [
      `${file}:${line}: services.${s.name}.build.platforms: ${s.build.platforms.join(', ')} leaves out ${platform}, ` +
        `the platform of its instance type ${type}`
    ]
  })
}

/** Compose's own tag of the ECR image it names beside build (`:latest` when it names none). */
function ownTag(image: string): string | undefined {
  if (image.includes('@')) return undefined
  const last = image.split('/').pop() ?? ''
  return last.includes(':') ? last.split(':').pop() : 'latest'
}

export function planBuilds(args: {
  scope: Pick<StackScope, 'project'>
  model: ComposeModel
  instanceType: string
  /** The commit being deployed (GITHUB_SHA), when known. */
  commit?: string
  parts: (service: ServiceModel, platform: Platform) => BuildParts
}): ImageBuild[] {
  const builds = new Map<string, ImageBuild>()
  for (const service of args.model.services) {
    if (!service.build) continue
    const platform = platformOf(service.size ?? args.instanceType)
    const parts = args.parts(service, platform)
    const tag = buildTag(parts)
    const named = service.image ? ecrRepository(service.image) : undefined
    const repository = named?.name ?? projectRepository(args.scope, service.name)
    // the same inputs pushed to the same place are one build
    const key = named ? `${named.host}/${named.name}:${tag}` : tag
    const same = builds.get(key)
    if (same) {
      same.services.push(service.name)
      continue
    }
    const own = named ? ownTag(service.image) : undefined
    builds.set(key, {
      services: [service.name],
      repository,
      managed: !named,
      ...(named ? { host: named.host } : {}),
      tag,
      extraTags: [...(args.commit ? [`git-${args.commit.slice(0, 12)}`] : []), ...(own ? [own] : [])],
      platform,
      build: service.build,
      parts
    })
  }
  return [...builds.values()]
}

/** Why an image is built: new, or which of its inputs changed since the image the service runs. */
export function buildReason(build: ImageBuild, previous: BuildParts | undefined): string {
  if (!previous) return 'new'
  const changed = (
    [
      ['context', 'context changed'],
      ['dockerfile', 'Dockerfile changed'],
      ['args', 'args changed'],
      ['settings', 'target, labels, platform or secrets changed']
    ] as const
  )
    .filter(([part]) => previous[part] !== build.parts[part])
    .map(([, what]) => what)
  return changed.length > 0 ? changed.join(', ') : 'not in the registry'
}
