/**
 * Compose `build`: the service's image is built from a directory of the
 * repository (`docker buildx build --push` on the runner) before it deploys.
 * This reads and checks the build as the Compose Specification writes it,
 * short form (the context) or long form, into ServiceBuild. The paths a build
 * names are examined when the action runs, before validation (loadBuildPaths):
 * the context and the Dockerfile must resolve, symlinks and `..` included,
 * inside the workspace; a build secret's file is only checked to exist, since
 * buildx reads it and secret files often live outside the repository.
 */
import { realpath, stat } from 'node:fs/promises'
import * as path from 'node:path'
import { displayPath } from './envfile.js'
import { environmentEntries } from './environment.js'
import type { Check, KeyAt, StageContext } from './keys.js'
import type { BuildSecret, ServiceBuild, SourceLocation } from './model.js'
import { readProblem } from './parse.js'
import { compare } from './reads.js'
import { describe, entryOf, isMap, isSeq, joinPath, type MapNode, type Node, quote, valueOf } from './tree.js'
import { booleanOf, envValueOf, stringOf } from './values.js'

/** The platforms of EC2 instance types the action launches. */
export const BUILD_PLATFORMS: readonly string[] = ['linux/amd64', 'linux/arm64']
/** A build secret's id goes into `--secret id=<id>,...`: no comma, `=` or space may break that list. */
const SECRET_ID = /^[a-zA-Z0-9._-]+$/
const SECRET_KEYS = ['source', 'target', 'uid', 'gid', 'mode']
const ONLY_REPOSITORY = 'only a directory of the repository can be built'

/** A path a build names, as found when the action runs. */
export interface BuildPath {
  /** Relative to the workspace, for messages. */
  display: string
  /** Every symlink resolved; absent when the path could not be examined. */
  real?: string
  kind?: 'file' | 'directory' | 'other'
  /** Whether `real` is inside the workspace. */
  inside?: boolean
  /** Why it could not be examined ("file not found", ...). */
  problem?: string
}

/** A URL or git context, as buildx recognises them: a scheme, `git@host:repo` or `github.com/...`. */
function isRemote(context: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@') || context.startsWith('github.com/')
}

/** The context as written: the short form, or `context` (Compose's default "."); undefined if not a string. */
function contextText(build: Node): string | undefined {
  if (!isMap(build)) return stringOf(build)
  const context = valueOf(build, 'context')
  return context === undefined ? '.' : stringOf(context)
}

/** The Dockerfile, absolute: `dockerfile` relative to the context, else `<context>/Dockerfile`; none when inline. */
function dockerfilePath(build: Node, contextPath: string): string | undefined {
  const map = isMap(build) ? build : undefined
  const file = map ? valueOf(map, 'dockerfile') : undefined
  if (file !== undefined) {
    const text = stringOf(file)
    return text ? path.resolve(contextPath, text) : undefined
  }
  if (map && entryOf(map, 'dockerfile_inline')) return undefined
  return path.join(contextPath, 'Dockerfile')
}

function buildsOf(root: MapNode): Node[] {
  const services = valueOf(root, 'services')
  return (isMap(services) ? services.entries : []).flatMap((e) => {
    const build = isMap(e.value) ? valueOf(e.value, 'build') : undefined
    return build ? [build] : []
  })
}

/** The top-level secret a build secret item names, if it names one. */
function itemSource(item: Node): string | undefined {
  return isMap(item) ? stringOf(valueOf(item, 'source')) : stringOf(item)
}

/** The names of the top-level secrets the (not yet validated) builds use. */
export function buildSecretNames(root: MapNode): Set<string> {
  const names = new Set<string>()
  for (const build of buildsOf(root)) {
    const secrets = isMap(build) ? valueOf(build, 'secrets') : undefined
    for (const item of isSeq(secrets) ? secrets.items : []) {
      const name = itemSource(item)
      if (name !== undefined) names.add(name)
    }
  }
  return names
}

/** What the (not yet validated) builds name: contexts, Dockerfiles and secret files, as absolute paths. */
export function buildPaths(root: MapNode, baseDir: string): string[] {
  const paths = new Set<string>()
  for (const build of buildsOf(root)) {
    const context = contextText(build)
    if (!context || isRemote(context)) continue
    const contextPath = path.resolve(baseDir, context)
    paths.add(contextPath)
    const dockerfile = dockerfilePath(build, contextPath)
    if (dockerfile) paths.add(dockerfile)
  }
  const declared = valueOf(root, 'secrets')
  for (const name of buildSecretNames(root)) {
    const declaration = isMap(declared) ? valueOf(declared, name) : undefined
    const file = isMap(declaration) ? stringOf(valueOf(declaration, 'file')) : undefined
    if (file) paths.add(path.resolve(baseDir, file))
  }
  return [...paths]
}

export async function loadBuildPaths(paths: readonly string[], workspace: string): Promise<Map<string, BuildPath>> {
  // The workspace itself may be reached through a symlink (a temporary directory on macOS).
  const root = await realpath(workspace).catch(() => path.resolve(workspace))
  const found = await Promise.all(paths.map((p) => examine(p, { workspace, root })))
  return new Map(paths.map((p, i) => [p, found[i]!]))
}

async function examine(absolutePath: string, at: { workspace: string; root: string }): Promise<BuildPath> {
  const display = displayPath(absolutePath, at.workspace)
  try {
    // realpath resolves `..` and every symlink on the way: what is built is what is checked.
    const real = await realpath(absolutePath)
    const info = await stat(real)
    const relative = path.relative(at.root, real)
    const inside = relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative)
    const kind = info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other'
    return { display, real, kind, inside }
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    return { display, problem: e.code === 'ENOTDIR' ? 'file not found' : readProblem(e) }
  }
}

// Validation

/** The context's absolute path (as written, resolved) when it is a directory of the repository, else why not. */
function contextOf(text: string, ctx: StageContext): { path: string } | { problem: string } {
  if (isRemote(text)) return { problem: `${ONLY_REPOSITORY}, not a URL or a git repository` }
  const absolute = path.resolve(ctx.baseDir, text)
  const found = ctx.buildPaths.get(absolute)
  if (!found) return { path: absolute }
  const what = `build context ${quote(found.display)}`
  if (found.problem === 'file not found')
    return { problem: `${what}: directory not found (paths are relative to the first compose file)` }
  if (found.problem) return { problem: `${what}: ${found.problem}` }
  if (found.kind !== 'directory') return { problem: `${what}: ${ONLY_REPOSITORY} (this is not a directory)` }
  if (!found.inside) return { problem: `${what}: ${ONLY_REPOSITORY} (it resolves outside the repository)` }
  return { path: absolute }
}

/** The context when valid; its problem is reported by whoever owns the context's key. */
function validContext(build: Node, ctx: StageContext): string | undefined {
  const text = contextText(build)
  if (!text) return undefined
  const context = contextOf(text, ctx)
  return 'path' in context ? context.path : undefined
}

function dockerfileProblem(absolute: string, isDefault: boolean, ctx: StageContext): string | undefined {
  const found = ctx.buildPaths.get(absolute)
  if (!found) return undefined
  const what = `Dockerfile ${quote(found.display)}`
  if (found.problem === 'file not found')
    return isDefault
      ? `${what}: file not found in the build context; add it, or set "dockerfile" or "dockerfile_inline"`
      : `${what}: file not found (paths are relative to the build context)`
  if (found.problem) return `${what}: ${found.problem}`
  if (found.kind === 'directory') return `${what}: is a directory, not a file`
  if (found.kind !== 'file') return `${what}: is not a regular file`
  if (!found.inside)
    return `${what}: only files of the repository can be built from (it resolves outside the repository)`
  return undefined
}

/** The short form (a context) or a mapping; the defaults of the long form (context ".", its Dockerfile). */
export function checkBuild({ node, keyLoc, path: at }: KeyAt, check: Check): void {
  const { diags, ctx } = check
  if (node.kind === 'map') {
    if (!entryOf(node, 'context')) {
      const context = contextOf('.', ctx)
      if ('problem' in context) diags.error(keyLoc, joinPath(at, 'context'), context.problem)
    }
    const context = validContext(node, ctx)
    if (context && !entryOf(node, 'dockerfile') && !entryOf(node, 'dockerfile_inline')) {
      const problem = dockerfileProblem(dockerfilePath(node, context)!, true, ctx)
      if (problem) diags.error(keyLoc, joinPath(at, 'dockerfile'), problem)
    }
    return
  }
  const text = stringOf(node)
  if (!text) {
    diags.error(
      node.loc,
      at,
      `must be the build context (a directory of the repository) or a mapping with "context", "dockerfile", "args", ..., got ${describe(node)}`
    )
    return
  }
  const context = contextOf(text, ctx)
  if ('problem' in context) {
    diags.error(node.loc, at, context.problem)
    return
  }
  const problem = dockerfileProblem(dockerfilePath(node, context.path)!, true, ctx)
  if (problem) diags.error(node.loc, at, problem)
}

export function checkBuildContext({ node, path: at }: KeyAt, { diags, ctx }: Check): void {
  const text = stringOf(node)
  if (!text) {
    diags.error(node.loc, at, `must be the path of a directory of the repository, got ${describe(node)}`)
    return
  }
  const context = contextOf(text, ctx)
  if ('problem' in context) diags.error(node.loc, at, context.problem)
}

export function checkDockerfile({ node, path: at, parent }: KeyAt, { diags, ctx }: Check): void {
  const text = stringOf(node)
  if (!text) {
    diags.error(
      node.loc,
      at,
      `must be the path of a file of the repository, relative to the context, got ${describe(node)}`
    )
    return
  }
  const context = validContext(parent, ctx)
  const problem = context ? dockerfileProblem(path.resolve(context, text), false, ctx) : undefined
  if (problem) diags.error(node.loc, at, problem)
}

export function checkDockerfileInline({ node, keyLoc, path: at, parent }: KeyAt, { diags }: Check): void {
  if (!stringOf(node)) diags.error(node.loc, at, `must be the text of a Dockerfile, got ${describe(node)}`)
  if (entryOf(parent, 'dockerfile'))
    diags.error(keyLoc, at, 'conflicts with "dockerfile": a build has one Dockerfile, a file or inline text')
}

/** Build arguments and labels: names without `=` or blanks, as buildx takes `--build-arg NAME=value`. */
function nameProblem(name: string, what: string): string | undefined {
  if (
    name !== '' &&
    !/[\s=]/.test(name) &&
    ![...name].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)
  )
    return undefined
  return `${quote(name)} is not a ${what} name: it is empty or has "=", a blank or a control character`
}

/** `args` and `labels`: a mapping, or a list of `KEY=value` (and `KEY`) strings. */
function checkPairs(at: KeyAt, check: Check, what: 'build argument' | 'label'): void {
  const { node, path: keyPath } = at
  const { diags, ctx } = check
  if (node.kind === 'scalar') {
    diags.error(node.loc, keyPath, `must be a mapping or a list of "KEY=value" strings, got ${describe(node)}`)
    return
  }
  const { entries, problems } = environmentEntries(node)
  for (const p of problems) diags.error(p.loc, joinPath(keyPath, p.index), p.message)
  for (const entry of entries) {
    const problem = nameProblem(entry.key, what)
    if (problem) {
      diags.error(entry.keyLoc, joinPath(keyPath, entry.index ?? entry.key), problem)
      continue
    }
    const valuePath = joinPath(keyPath, entry.key)
    const value = entry.value
    if (value.kind !== 'scalar')
      diags.error(value.loc, valuePath, `must be a string, number, boolean or null, got ${describe(value)}`)
    else if (typeof value.value === 'string' && value.value.includes('\0'))
      diags.error(value.loc, valuePath, 'contains a NUL character')
    else if (what === 'build argument' && value.value === null && ctx.lookup(entry.key) === undefined)
      diags.warn(value.loc, valuePath, `has no value and ${entry.key} is not set in the environment; it is left out`)
  }
}

export function checkBuildArgs(at: KeyAt, check: Check): void {
  checkPairs(at, check, 'build argument')
}

export function checkBuildLabels(at: KeyAt, check: Check): void {
  checkPairs(at, check, 'label')
}

export function checkBuildTarget({ node, path: at }: KeyAt, { diags }: Check): void {
  const text = stringOf(node)
  if (!text || /\s/.test(text))
    diags.error(node.loc, at, `must be the name of a stage of the Dockerfile, got ${describe(node)}`)
}

/** A platform the action builds for, as buildx names it; `linux/arm64/v8` is `linux/arm64`. */
function platformOf(text: string): string | undefined {
  const platform = text.trim().toLowerCase()
  if (platform === 'linux/arm64/v8') return 'linux/arm64'
  return BUILD_PLATFORMS.includes(platform) ? platform : undefined
}

export function checkBuildPlatforms({ node, path: at }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'seq') {
    diags.error(node.loc, at, `must be a list of platforms such as "linux/amd64", got ${describe(node)}`)
    return
  }
  node.items.forEach((item, i) => {
    const text = stringOf(item)
    const itemPath = joinPath(at, i)
    if (text === undefined || !/^[^/\s]+\/[^/\s]+(\/[^/\s]+)?$/.test(text))
      diags.error(
        item.loc,
        itemPath,
        `must be a platform os/arch[/variant] such as "linux/amd64", got ${describe(item)}`
      )
    else if (platformOf(text) === undefined)
      diags.error(
        item.loc,
        itemPath,
        `${quote(text)} is not supported: EC2 instances run linux/amd64 or linux/arm64, the platforms images are built for`
      )
  })
}

/** `ssh: default` or `[default]`: the runner's SSH agent; keys or other agents are not forwarded. */
export function checkBuildSsh({ node, path: at }: KeyAt, { diags }: Check): void {
  const items =
    node.kind === 'seq' ? node.items.map((item, i) => ({ item, path: joinPath(at, i) })) : [{ item: node, path: at }]
  for (const { item, path: itemPath } of items) {
    if (stringOf(item) !== 'default')
      diags.error(
        item.loc,
        itemPath,
        `must be "default" (the runner's SSH agent), got ${describe(item)}: other agents and key files are not forwarded to the build`
      )
  }
}

export function checkBuildSecrets({ node, path: at }: KeyAt, check: Check): void {
  if (node.kind !== 'seq') {
    check.diags.error(
      node.loc,
      at,
      `must be a list of secret names or {source, target} mappings, got ${describe(node)}`
    )
    return
  }
  const ids = new Map<string, string>()
  node.items.forEach((item, i) => {
    const itemPath = joinPath(at, i)
    const id = checkBuildSecret(item, itemPath, check)
    if (id === undefined) return
    const first = ids.get(id)
    if (first) check.diags.error(item.loc, itemPath, `secret id ${quote(id)} is already used by ${first}`)
    else ids.set(id, itemPath)
  })
}

/** Returns the secret's id in the Dockerfile when the item is valid. */
function checkBuildSecret(item: Node, itemPath: string, check: Check): string | undefined {
  const { diags } = check
  if (item.kind !== 'map') {
    const source = stringOf(item)
    if (source === undefined) {
      diags.error(item.loc, itemPath, `must be a secret name or a {source, target} mapping, got ${describe(item)}`)
      return undefined
    }
    return checkSource({ node: item, path: itemPath, source }, check) ? source : undefined
  }
  let ok = true
  for (const entry of item.entries) {
    const keyPath = joinPath(itemPath, entry.key)
    if (['uid', 'gid', 'mode'].includes(entry.key))
      diags.warn(entry.keyLoc, keyPath, 'ignored: the Dockerfile\'s "RUN --mount=type=secret" sets the owner and mode')
    else if (!SECRET_KEYS.includes(entry.key) && !entry.key.startsWith('x-')) {
      diags.error(entry.keyLoc, keyPath, 'is not a key of a build secret; expected "source" and "target"')
      ok = false
    }
  }
  const source = valueOf(item, 'source')
  const sourcePath = joinPath(itemPath, 'source')
  const name = stringOf(source)
  if (source === undefined) {
    diags.error(item.loc, sourcePath, 'is required: the name of a top-level secret')
    ok = false
  } else if (name === undefined) {
    diags.error(source.loc, sourcePath, `must be a secret name, got ${describe(source)}`)
    ok = false
  } else if (!checkSource({ node: source, path: sourcePath, source: name }, check)) ok = false
  const target = valueOf(item, 'target')
  const id = target === undefined ? name : stringOf(target)
  if (target !== undefined && (id === undefined || !SECRET_ID.test(id))) {
    diags.error(
      target.loc,
      joinPath(itemPath, 'target'),
      `must be the secret's id in the Dockerfile (letters, digits, ".", "_" and "-"), got ${describe(target)}`
    )
    ok = false
  }
  return ok ? id : undefined
}

/** Declared at the top level, from a file or a variable: an AWS reference is read on the instance, never on the runner. */
function checkSource(at: { node: Node; path: string; source: string }, { diags, ctx }: Check): boolean {
  const declared = valueOf(ctx.root, 'secrets')
  const declaration = isMap(declared) ? valueOf(declared, at.source) : undefined
  if (declaration === undefined) {
    diags.error(at.node.loc, at.path, `secret ${quote(at.source)} is not declared in the top-level "secrets"`)
    return false
  }
  // A declaration without a valid source is reported where it is declared.
  if (!isMap(declaration)) return false
  if (entryOf(declaration, 'file') || entryOf(declaration, 'environment')) return true
  if (entryOf(declaration, 'x-hyperform'))
    diags.error(
      at.node.loc,
      at.path,
      `secret ${quote(at.source)} is an AWS reference (x-hyperform.from): a build secret must come from a file or the environment`
    )
  return false
}

/** A build secret's file: it must exist and not be a directory; it may be outside the repository. */
export function buildSecretFileProblem(found: BuildPath): string | undefined {
  if (found.problem === 'file not found') return 'file not found (paths are relative to the first compose file)'
  if (found.problem) return found.problem
  if (found.kind === 'directory') return 'is a directory, not a file'
  return undefined
}

// Normalisation

/** Pairs read into a record, sorted by name; a build argument without a value takes the environment's, or is left out. */
function pairsOf(node: Node | undefined, lookup: (name: string) => string | undefined): Record<string, string> {
  const values = new Map<string, string>()
  for (const e of node ? environmentEntries(node).entries : []) {
    const value = envValueOf(e.value) ?? lookup(e.key)
    if (value === undefined) values.delete(e.key)
    else values.set(e.key, value)
  }
  return Object.fromEntries([...values.entries()].sort(([a], [b]) => compare(a, b)))
}

function secretsOf(node: Node | undefined, ctx: StageContext): BuildSecret[] {
  const declared = valueOf(ctx.root, 'secrets') as MapNode
  return (isSeq(node) ? node.items : []).map((item) => {
    const name = itemSource(item)!
    const target = isMap(item) ? stringOf(valueOf(item, 'target')) : undefined
    const declaration = valueOf(declared, name) as MapNode
    const file = stringOf(valueOf(declaration, 'file'))
    // Not the real path: the file may be outside the repository, and buildx reads it as written.
    if (file !== undefined) return { id: target ?? name, file: path.resolve(ctx.baseDir, file) }
    return { id: target ?? name, env: stringOf(valueOf(declaration, 'environment'))! }
  })
}

/** The validated build, its context and Dockerfile as the real paths that were checked. */
export function buildOf(node: Node, location: SourceLocation, ctx: StageContext): ServiceBuild {
  const map = isMap(node) ? node : undefined
  const get = (key: string): Node | undefined => (map ? valueOf(map, key) : undefined)
  const contextPath = path.resolve(ctx.baseDir, contextText(node)!)
  const inline = stringOf(get('dockerfile_inline'))
  const dockerfile = inline === undefined ? dockerfilePath(node, contextPath) : undefined
  const target = stringOf(get('target'))
  const platforms = get('platforms')
  const ssh = get('ssh')
  return {
    context: ctx.buildPaths.get(contextPath)?.real ?? contextPath,
    ...(dockerfile !== undefined ? { dockerfile: ctx.buildPaths.get(dockerfile)?.real ?? dockerfile } : {}),
    ...(inline !== undefined ? { dockerfileInline: inline } : {}),
    // Compose takes a value-less argument from its environment; labels have no such rule: empty.
    args: pairsOf(get('args'), ctx.lookup),
    ...(target !== undefined ? { target } : {}),
    labels: pairsOf(get('labels'), () => ''),
    platforms: [...new Set((isSeq(platforms) ? platforms.items : []).map((item) => platformOf(stringOf(item)!)!))],
    secrets: secretsOf(get('secrets'), ctx),
    ssh: ssh !== undefined && (!isSeq(ssh) || ssh.items.length > 0),
    noCache: booleanOf(get('no_cache')) ?? false,
    pull: booleanOf(get('pull')) ?? false,
    location
  }
}
