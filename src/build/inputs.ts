/**
 * What a build depends on, hashed: the context's files as git sees them (tracked, and untracked but
 * not ignored; every file of the directory when it is not in a git work tree), the Dockerfile, the
 * build arguments, target, labels and platform. The image tag is made from it, so an unchanged
 * build finds its image in the registry and nothing is built. No AWS here.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import path from 'node:path'
import type { ServiceBuild } from '../compose/model.js'

/** Each part's hash: a plan says which one changed. */
export interface BuildParts {
  context: string
  dockerfile: string
  args: string
  /** Target, labels, platform, secrets' ids, ssh. */
  settings: string
}

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex')

/** The context's files, relative and sorted: git's view (tracked, untracked not ignored), else the directory's. */
export function contextFiles(context: string): string[] {
  try {
    const out = execFileSync(
      'git',
      ['-C', context, 'ls-files', '-z', '--cached', '--others', '--exclude-standard', '.'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore']
      }
    )
    // a file deleted but still in the index is not in the context
    return [...new Set(out.split('\0').filter(Boolean))].filter((f) => exists(path.join(context, f))).sort()
  } catch {
    return walk(context, '').sort()
  }
}

function exists(file: string): boolean {
  try {
    return lstatSync(file).isFile() || lstatSync(file).isSymbolicLink()
  } catch {
    return false
  }
}

function walk(root: string, rel: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    if (entry.name === '.git') continue
    const child = rel ? `${rel}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...walk(root, child))
    else if (entry.isFile() || entry.isSymbolicLink()) out.push(child)
  }
  return out
}

/** Path, executable bit and content of every file (a symlink by its target's name, as git keeps it). */
function contextHash(context: string): string {
  const h = createHash('sha256')
  for (const file of contextFiles(context)) {
    const full = path.join(context, file)
    const stat = lstatSync(full)
    const body = stat.isSymbolicLink() ? `link:${readlinkSync(full)}` : sha(readFileSync(full))
    h.update(`${file}\0${stat.mode & 0o111 ? 'x' : '-'}\0${body}\n`)
  }
  return h.digest('hex')
}

const sorted = (record: Record<string, string>): Array<[string, string]> =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** The parts' hashes of one build for one platform. */
export function buildParts(build: ServiceBuild, platform: string): BuildParts {
  const dockerfile =
    build.dockerfileInline !== undefined
      ? `inline:${build.dockerfileInline}`
      : readFileSync(build.dockerfile ?? path.join(build.context, 'Dockerfile'), 'utf8')
  return {
    context: contextHash(build.context),
    dockerfile: sha(dockerfile),
    args: sha(JSON.stringify(sorted(build.args))),
    settings: sha(
      JSON.stringify({
        target: build.target ?? '',
        labels: sorted(build.labels),
        platform,
        secrets: build.secrets.map((s) => s.id).sort(),
        ssh: build.ssh
      })
    )
  }
}

/** The content-addressed tag: `build-` and 20 hex digits of the parts' hash. */
export function buildTag(parts: BuildParts): string {
  return `build-${sha(JSON.stringify(parts)).slice(0, 20)}`
}
