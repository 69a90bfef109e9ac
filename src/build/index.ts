/**
 * The images of the services the compose file builds, before the stack is planned: their
 * repositories made, each image built and pushed unless its content-addressed tag is in the
 * registry already, and the image a service runs named by digest. A failed build stops the run
 * before anything of the running stack changes. `plan` builds nothing: it says what would be built.
 */
import { spawnSync } from 'node:child_process'
import type { ComposeModel } from '../compose/model.js'
import type { Clients } from '../aws/clients.js'
import { Engine } from '../aws/engine.js'
import { findImage, registryLogin, tagImage, untagImage } from '../aws/registry.js'
import type { Aws } from '../aws/send.js'
import { projectTags, type StackScope } from '../names.js'
import {
  DEFAULT_IMAGES_KEPT,
  MOVING_TAGS,
  ensureRepository,
  repositoryChanges,
  lifecyclePolicy,
  registryHost,
  type DesiredRepository
} from '../resources/ecr-repository.js'
import { isUpsert } from '../resources/kind.js'
import type { CurrentState } from '../state.js'
import { buildParts, type BuildParts } from './inputs.js'
import { buildReason, planBuilds, projectRepository, stackTag, type ImageBuild } from './plan.js'
import { runBuilds } from './run.js'

/** One image a service runs, as the report shows it. */
export interface ImageReport {
  services: string[]
  /** `<host>/<repository>` */
  repository: string
  tag: string
  digest?: string
  sizeBytes?: number
  /** Seconds the build took (absent: not built by this run). */
  seconds?: number
  /** built, found (in the registry: nothing to build), would build (plan). */
  state: 'built' | 'found' | 'would build'
  reason: string
}

export interface ResolvedImages {
  /** Service -> the image it runs (`<host>/<repository>@<digest>`, or `:<tag>` for a plan of an image not built yet). */
  images: Record<string, string>
  /** Service -> its build's parts (tag hyperform:build on its launch template). */
  builds: Record<string, string>
  repositories: DesiredRepository[]
  reports: ImageReport[]
  writes: number
}

/** The parts as the launch template's tag keeps them: 12 hex digits each. */
export function encodeParts(parts: BuildParts): string {
  return [parts.context, parts.dockerfile, parts.args, parts.settings].map((p) => p.slice(0, 12)).join('.')
}

function decodeParts(tag: string | undefined): BuildParts | undefined {
  const p = tag?.split('.')
  if (p?.length !== 4) return undefined
  return { context: p[0] ?? '', dockerfile: p[1] ?? '', args: p[2] ?? '', settings: p[3] ?? '' }
}

const short = (parts: BuildParts): BuildParts => decodeParts(encodeParts(parts)) as BuildParts

export function desiredRepositories(scope: StackScope, builds: ImageBuild[], kept: number): DesiredRepository[] {
  return builds
    .filter((b) => b.managed)
    .map((b) => ({ name: b.repository, lifecyclePolicy: lifecyclePolicy(kept), tags: projectTags(scope) }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** `docker login` for a registry, the password on stdin (never in argv or the log). */
function login(docker: string, endpoint: string, user: string, password: string): void {
  const host = endpoint.replace(/^https?:\/\//, '')
  const out = spawnSync(docker, ['login', '--username', user, '--password-stdin', host], {
    input: password,
    encoding: 'utf8'
  })
  if (out.status !== 0) throw new Error(`docker login ${host} failed: ${(out.stderr || out.stdout || '').trim()}`)
}

export async function resolveImages(args: {
  clients: Clients
  scope: StackScope
  model: ComposeModel
  current: CurrentState
  instanceType: string
  /** plan: nothing is written or built. */
  dryRun: boolean
  imagesKept?: number
  commit?: string
  docker?: string
  log: (line: string) => void
  group: (title: string, lines: string[]) => void
  /** Hides a registry password in the job log. */
  secret: (value: string) => void
}): Promise<ResolvedImages> {
  const { scope, current } = args
  const builds = planBuilds({
    scope,
    model: args.model,
    instanceType: args.instanceType,
    ...(args.commit ? { commit: args.commit } : {}),
    parts: (service, platform) => buildParts(service.build!, platform)
  })
  const repositories = desiredRepositories(scope, builds, args.imagesKept ?? DEFAULT_IMAGES_KEPT)
  const e = new Engine({ clients: args.clients, log: args.log })
  const changes = repositoryChanges(repositories, current.repositories)
  const uris = new Map(current.repositories?.map((r) => [r.name, r.uri]))
  if (!args.dryRun)
    for (const change of changes.filter(isUpsert))
      if (change.action !== 'noop') uris.set(change.name, await ensureRepository(e, change))
  // the project's repositories are settled now: the stack's plan finds them as wanted
  current.repositories = repositories.map((r) => ({
    name: r.name,
    uri: uris.get(r.name) ?? '',
    mutability: 'IMMUTABLE_WITH_EXCLUSION',
    exclusions: [...MOVING_TAGS].sort(),
    scanOnPush: true,
    lifecyclePolicy: r.lifecyclePolicy
  }))
  // a plan before the first build: the account's registry (its id from any ARN read), the repository not made yet
  const accountRegistry = current.accountId
    ? `${current.accountId}.dkr.ecr.${scope.region}.amazonaws.com`
    : '<registry>'
  const hostOf = (b: ImageBuild): string => b.host ?? (registryHost(uris.get(b.repository) ?? '') || accountRegistry)
  const previous = (b: ImageBuild): BuildParts | undefined =>
    decodeParts(current.launchTemplates.find((t) => t.service === b.services[0])?.build)
  const found = await Promise.all(builds.map((b) => findImage(e, b.repository, b.tag)))
  const missing = builds.filter((_, i) => !found[i])
  const reports = new Map<ImageBuild, ImageReport>()
  for (const [i, b] of builds.entries()) {
    const image = found[i]
    reports.set(b, {
      services: b.services,
      repository: `${hostOf(b)}/${b.repository}`,
      tag: b.tag,
      state: image ? 'found' : 'would build',
      reason: image ? 'in the registry' : buildReason({ ...b, parts: short(b.parts) }, previous(b)),
      ...(image ? { digest: image.digest } : {}),
      ...(image?.sizeBytes !== undefined ? { sizeBytes: image.sizeBytes } : {})
    })
  }
  for (const b of missing) args.log(`build ${b.services.join(', ')}: ${reports.get(b)?.reason ?? ''} (${b.platform})`)
  if (!args.dryRun && missing.length > 0) {
    const docker = args.docker ?? 'docker'
    const credentials = await registryLogin(e)
    args.secret(credentials.password)
    const hosts = new Set(missing.map(hostOf))
    for (const host of hosts) login(docker, host, credentials.user, credentials.password)
    const outcomes = await runBuilds(missing, hostOf, { docker, group: args.group, log: args.log })
    for (const outcome of outcomes) {
      const image = await findImage(e, outcome.build.repository, outcome.build.tag)
      const report = reports.get(outcome.build)
      if (report)
        Object.assign(report, {
          state: 'built',
          digest: outcome.digest,
          seconds: Math.round(outcome.seconds * 10) / 10,
          ...(image?.sizeBytes !== undefined ? { sizeBytes: image.sizeBytes } : {})
        })
    }
  }
  // the stack's tag marks the image it runs, so the lifecycle policy keeps it
  if (!args.dryRun)
    for (const b of builds.filter((x) => x.managed)) {
      const digest = reports.get(b)?.digest
      const had = found[builds.indexOf(b)]?.tags.includes(stackTag(scope.stack))
      if (digest && !had) await tagImage(e, b.repository, digest, stackTag(scope.stack))
    }
  const images: Record<string, string> = {}
  const parts: Record<string, string> = {}
  for (const b of builds) {
    const report = reports.get(b)
    const ref = `${hostOf(b)}/${b.repository}`
    for (const service of b.services) {
      images[service] = report?.digest ? `${ref}@${report.digest}` : `${ref}:${b.tag}`
      parts[service] = encodeParts(b.parts)
    }
  }
  return { images, builds: parts, repositories, reports: [...reports.values()], writes: e.result().writes }
}

/**
 * Destroy: the images the stack ran lose its tag, so the lifecycle policy may expire them; the
 * repositories stay (the project's other stacks, and later ones, use them). Returns the writes made.
 */
export async function releaseStackImages(aws: Aws, current: CurrentState): Promise<number> {
  const services = current.launchTemplates.filter((t) => t.build).map((t) => t.service)
  const released = await Promise.all(
    services.map((service) => untagImage(aws, projectRepository(current.scope, service), stackTag(current.scope.stack)))
  )
  return released.filter(Boolean).length
}
