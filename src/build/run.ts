/**
 * Runs the builds on the runner: `docker buildx build --push` for each image not yet in the registry,
 * a few at once, each one's output kept and printed in its own collapsible log group when it ends.
 * Build secrets go to buildx by name (`--secret id=...,env=VAR` or `src=FILE`): their values never
 * pass through the action. The GitHub Actions cache is used when the runner provides it.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ImageBuild } from './plan.js'

export interface BuildOutcome {
  build: ImageBuild
  /** `sha256:...` of what was pushed. */
  digest: string
  seconds: number
}

export interface RunOptions {
  /** `docker` by default: the runner's. */
  docker?: string
  /** Builds at once. */
  concurrency?: number
  env?: NodeJS.ProcessEnv
  /** Prints one build's output, in a group. */
  group: (title: string, lines: string[]) => void
  log: (line: string) => void
}

/** A failed build: the service, and the last lines of its output. */
export class BuildError extends Error {
  constructor(
    readonly build: ImageBuild,
    readonly lines: string[]
  ) {
    super(
      `build of ${build.services.join(', ')} failed; its last ${lines.length} line(s):\n${lines.map((l) => `  ${l}`).join('\n')}`
    )
    this.name = 'BuildError'
  }
}

const LAST_LINES = 20

/** The GitHub Actions cache for buildx (type=gha), when the runner exposes its service. */
function cacheArgs(env: NodeJS.ProcessEnv, scope: string): string[] {
  if (!env.ACTIONS_RUNTIME_TOKEN || !(env.ACTIONS_CACHE_URL || env.ACTIONS_RESULTS_URL)) return []
  return ['--cache-from', `type=gha,scope=${scope}`, '--cache-to', `type=gha,mode=max,scope=${scope}`]
}

/** The argument vector of one build (pure). */
export function buildxArgs(build: ImageBuild, host: string, metadataFile: string, env: NodeJS.ProcessEnv): string[] {
  const b = build.build
  const ref = `${host}/${build.repository}`
  const args = ['buildx', 'build', '--push', '--provenance=false', '--platform', build.platform]
  for (const tag of [build.tag, ...build.extraTags]) args.push('--tag', `${ref}:${tag}`)
  if (b.dockerfileInline !== undefined) args.push('--file', '-')
  else if (b.dockerfile) args.push('--file', b.dockerfile)
  for (const [key, value] of Object.entries(b.args).sort()) args.push('--build-arg', `${key}=${value}`)
  if (b.target) args.push('--target', b.target)
  for (const [key, value] of Object.entries(b.labels).sort()) args.push('--label', `${key}=${value}`)
  for (const s of b.secrets) args.push('--secret', s.env ? `id=${s.id},env=${s.env}` : `id=${s.id},src=${s.file ?? ''}`)
  if (b.ssh) args.push('--ssh', 'default')
  if (b.noCache) args.push('--no-cache')
  if (b.pull) args.push('--pull')
  args.push(...cacheArgs(env, build.repository), '--metadata-file', metadataFile, b.context)
  return args
}

function runOne(build: ImageBuild, host: string, options: RunOptions): Promise<BuildOutcome> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperform-build-'))
  const metadata = path.join(dir, 'metadata.json')
  const env = options.env ?? process.env
  const started = Date.now()
  return new Promise<BuildOutcome>((resolve, reject) => {
    const child = spawn(options.docker ?? 'docker', buildxArgs(build, host, metadata, env), {
      env,
      stdio: ['pipe', 'pipe', 'pipe']
    })
    const lines: string[] = []
    let partial = ''
    const collect = (chunk: Buffer): void => {
      const text = partial + chunk.toString('utf8')
      const parts = text.split(/\r?\n/)
      partial = parts.pop() ?? ''
      lines.push(...parts)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.stdin.end(build.build.dockerfileInline ?? '')
    child.on('error', (err) => {
      rmSync(dir, { recursive: true, force: true })
      reject(new BuildError(build, [`could not run docker: ${err.message}`]))
    })
    child.on('close', (code) => {
      if (partial) lines.push(partial)
      options.group(`build ${build.services.join(', ')}: ${build.repository}:${build.tag}`, lines)
      let digest: string | undefined
      try {
        digest = (JSON.parse(readFileSync(metadata, 'utf8')) as Record<string, unknown>)['containerimage.digest'] as
          string | undefined
      } catch {
        digest = undefined
      }
      rmSync(dir, { recursive: true, force: true })
      if (code !== 0) return reject(new BuildError(build, lines.slice(-LAST_LINES)))
      if (!digest?.startsWith('sha256:'))
        return reject(new BuildError(build, [...lines.slice(-LAST_LINES + 1), 'buildx wrote no image digest']))
      resolve({ build, digest, seconds: (Date.now() - started) / 1000 })
    })
  })
}

/** Runs the builds, `concurrency` at once; the first failure is thrown once the running ones have ended. */
export async function runBuilds(
  builds: ImageBuild[],
  host: (b: ImageBuild) => string,
  options: RunOptions
): Promise<BuildOutcome[]> {
  const queue = [...builds]
  const done: BuildOutcome[] = []
  const failures: BuildError[] = []
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next && failures.length === 0; next = queue.shift()) {
      try {
        done.push(await runOne(next, host(next), options))
      } catch (err) {
        failures.push(err instanceof BuildError ? err : new BuildError(next, [String(err)]))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker))
  if (failures[0]) throw failures[0]
  return done
}
