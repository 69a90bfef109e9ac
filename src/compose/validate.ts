/**
 * Stage 4: check the merged, interpolated tree against what the action can
 * deploy. Collects every problem (never stops at the first) with the
 * location of the offending value; key problems point at the key; a missing
 * required key points at the key of the mapping that lacks it.
 */
import * as path from 'node:path'
import { containerPorts } from '../container-ports.js'
import { labelProblem } from '../names.js'
import { type EnvFile, envFileItemPath } from './envfile.js'
import { type EnvEntry, envNameProblem, environmentEntries } from './environment.js'
import type { Lookup } from './interpolate.js'
import type { Diagnostic, SourceLocation } from './model.js'
import { parseExpose, parsePort, type PortProblem } from './ports.js'
import { shellSplit } from './shlex.js'
import { isExtension, SUPPORTED, supportOf } from './support.js'
import { describe, Diagnostics, type Entry, entryOf, joinPath, type MapNode, type Node, quote, valueOf } from './tree.js'
import { booleanOf, DEFAULT_REPLICAS, INSTANCE_TYPE, integerOf, MAX_REPLICAS } from './values.js'

export interface ValidateContext {
  /** Variables for `environment` entries without a value. */
  lookup: Lookup
  /** Env files by absolute path, read beforehand. */
  envFiles: ReadonlyMap<string, EnvFile>
  /** The directory `env_file` paths are relative to: the first compose file's. */
  baseDir: string
}

interface Scope {
  diags: Diagnostics
  ctx: ValidateContext
}

/** Compose project names: lowercase letters, digits, dashes and underscores. */
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/

export function validate(root: MapNode, ctx: ValidateContext): Diagnostic[] {
  const scope: Scope = { diags: new Diagnostics(), ctx }
  checkKeys(root, { scope, pattern: '', path: '', supported: SUPPORTED.top })
  checkName(root, scope)
  checkServices(root, scope)
  return scope.diags.list
}

interface KeyCheck {
  scope: Scope
  /** Support table prefix: `''`, `'services.*'` or `'services.*.deploy'`. */
  pattern: string
  path: string
  supported: readonly string[]
}

function checkKeys(map: MapNode, check: KeyCheck): void {
  for (const entry of map.entries) {
    if (check.supported.includes(entry.key) || isExtension(entry.key)) continue
    if (check.pattern === 'services.*' && entry.key === 'build') continue
    reportKey(entry, check)
  }
}

function reportKey(entry: Entry, check: KeyCheck): void {
  const keyPath = joinPath(check.path, entry.key)
  const support = supportOf(check.pattern, entry.key)
  const diags = check.scope.diags
  if (support?.level === 'error') diags.error(entry.keyLoc, keyPath, `not supported: ${support.reason}`)
  else if (support) diags.warn(entry.keyLoc, keyPath, `ignored: ${support.reason}`)
  else diags.error(entry.keyLoc, keyPath, `not a Compose key${suggestion(entry.key, check)}`)
}

function suggestion(key: string, check: KeyCheck): string {
  const close = check.supported.find((k) => distance(k, key) <= 2)
  return close ? `; did you mean "${close}"?` : ''
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost))
    }
    previous = current
  }
  return previous[b.length]!
}

function checkName(root: MapNode, scope: Scope): void {
  const node = valueOf(root, 'name')
  if (node === undefined) return
  if (node.kind !== 'scalar' || typeof node.value !== 'string') {
    scope.diags.error(node.loc, 'name', `must be a string, got ${describe(node)}`)
  } else if (!PROJECT_NAME.test(node.value)) {
    scope.diags.error(node.loc, 'name', `${quote(node.value)} must contain only lowercase letters, digits, dashes and underscores, starting with a letter or digit`)
  }
}

function checkServices(root: MapNode, scope: Scope): void {
  const node = valueOf(root, 'services')
  if (node === undefined) {
    scope.diags.error(root.loc, 'services', 'is required: a mapping of service names to services')
    return
  }
  if (node.kind !== 'map') {
    scope.diags.error(node.loc, 'services', `must be a mapping of service names to services, got ${describe(node)}`)
    return
  }
  if (node.entries.length === 0) scope.diags.error(node.loc, 'services', 'must define at least one service')
  for (const entry of node.entries) checkService(entry, scope)
}

interface ServiceScope extends Scope {
  service: MapNode
  path: string
  keyLoc: SourceLocation
}

function checkService(entry: Entry, scope: Scope): void {
  const path = joinPath('services', entry.key)
  const problem = labelProblem(entry.key)
  if (problem) scope.diags.error(entry.keyLoc, path, `service name ${quote(entry.key)} ${problem}`)
  if (entry.value.kind !== 'map') {
    scope.diags.error(entry.value.loc, path, `must be a mapping with at least "image", got ${describe(entry.value)}`)
    return
  }
  const s: ServiceScope = { ...scope, service: entry.value, path, keyLoc: entry.keyLoc }
  checkKeys(entry.value, { scope, pattern: 'services.*', path, supported: SUPPORTED.service })
  checkImage(s)
  checkCommand(s, 'command')
  checkCommand(s, 'entrypoint')
  checkEnvironment(s)
  checkEnvFiles(s)
  checkPorts(s)
  checkExpose(s)
  checkContainerPorts(s)
  checkDeploy(s)
}

function field(s: ServiceScope, key: string): { node: Node | undefined; path: string } {
  return { node: valueOf(s.service, key), path: joinPath(s.path, key) }
}

function checkImage(s: ServiceScope): void {
  const { node, path } = field(s, 'image')
  const build = entryOf(s.service, 'build')
  if (node === undefined && build) {
    s.diags.error(s.keyLoc, path, 'is required: the action does not build images; build and push the image, then set "image:"')
  } else if (node === undefined) {
    s.diags.error(s.keyLoc, path, 'is required: the image to run, such as "nginx:1.27"')
  } else if (node.kind !== 'scalar' || typeof node.value !== 'string' || node.value.trim() === '') {
    s.diags.error(node.loc, path, `must be an image reference such as "nginx:1.27", got ${describe(node)}`)
  } else if (/\s/.test(node.value) || hasControlCharacter(node.value)) {
    s.diags.error(node.loc, path, `${quote(node.value)} is not an image reference: it contains whitespace or a control character`)
  } else if (build) {
    s.diags.warn(build.keyLoc, joinPath(s.path, 'build'), `ignored: ${supportOf('services.*', 'build')!.reason}`)
  }
}

function hasControlCharacter(text: string): boolean {
  return [...text].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)
}

function checkCommand(s: ServiceScope, key: 'command' | 'entrypoint'): void {
  const { node, path } = field(s, key)
  if (node === undefined || (node.kind === 'scalar' && node.value === null)) return
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    const split = shellSplit(node.value)
    if ('error' in split) s.diags.error(node.loc, path, split.error)
    return
  }
  if (node.kind !== 'seq') {
    s.diags.error(node.loc, path, `must be a string or a list of strings, got ${describe(node)}`)
    return
  }
  node.items.forEach((item, i) => {
    if (item.kind !== 'scalar' || (typeof item.value !== 'string' && typeof item.value !== 'number')) {
      s.diags.error(item.loc, joinPath(path, i), `must be a string, got ${describe(item)}`)
    }
  })
}

function checkEnvironment(s: ServiceScope): void {
  const { node, path } = field(s, 'environment')
  if (node === undefined) return
  if (node.kind === 'scalar') {
    s.diags.error(node.loc, path, `must be a mapping or a list of "KEY=value" strings, got ${describe(node)}`)
    return
  }
  const { entries, problems } = environmentEntries(node)
  for (const p of problems) s.diags.error(p.loc, joinPath(path, p.index), p.message)
  for (const entry of entries) checkEnvEntry(s, { entry, path })
}

function checkEnvEntry(s: ServiceScope, at: { entry: EnvEntry; path: string }): void {
  const { entry } = at
  const problem = envNameProblem(entry.key)
  if (problem) {
    s.diags.error(entry.keyLoc, joinPath(at.path, entry.index ?? entry.key), problem)
    return
  }
  const path = joinPath(at.path, entry.key)
  const value = entry.value
  if (value.kind !== 'scalar') {
    s.diags.error(value.loc, path, `must be a string, number, boolean or null, got ${describe(value)}`)
  } else if (typeof value.value === 'string' && value.value.includes('\0')) {
    s.diags.error(value.loc, path, 'contains a NUL character, which an environment variable cannot hold')
  } else if (value.value === null && s.ctx.lookup(entry.key) === undefined) {
    s.diags.warn(value.loc, path, `has no value and ${entry.key} is not set in the environment; it is left out`)
  }
}

interface EnvFileItem {
  node: Node
  path: string
}

function checkEnvFiles(s: ServiceScope): void {
  const { node, path } = field(s, 'env_file')
  if (node === undefined) return
  const items: EnvFileItem[] = node.kind === 'seq' ? node.items.map((item, i) => ({ node: item, path: joinPath(path, i) })) : [{ node, path }]
  for (const item of items) checkEnvFile(s, item)
}

function checkEnvFile(s: ServiceScope, item: EnvFileItem): void {
  const file = envFileItemPath(item.node)
  if (file === undefined) {
    s.diags.error(item.node.loc, item.path, `must be a path or a mapping with "path" and "required", got ${describe(item.node)}`)
    return
  }
  const required = item.node.kind === 'map' ? checkEnvFileLong(s, item) : true
  const loaded = s.ctx.envFiles.get(path.resolve(s.ctx.baseDir, file))
  if (!loaded?.problem) return
  if (loaded.problem === 'file not found' && !required) return
  const hint = loaded.problem === 'file not found' ? ' (paths are relative to the first compose file; set "required: false" if it is optional)' : ''
  s.diags.error(item.node.loc, item.path, `env file ${quote(loaded.display)}: ${loaded.problem}${hint}`)
}

/** Checks `{path, required}`; returns whether the file is required. */
function checkEnvFileLong(s: ServiceScope, item: EnvFileItem): boolean {
  const map = item.node as MapNode
  for (const entry of map.entries) {
    if (entry.key !== 'path' && entry.key !== 'required') {
      s.diags.error(entry.keyLoc, joinPath(item.path, entry.key), 'is not an env_file key; expected "path" or "required"')
    }
  }
  const required = valueOf(map, 'required')
  if (required === undefined) return true
  const value = booleanOf(required)
  if (value === undefined) s.diags.error(required.loc, joinPath(item.path, 'required'), `must be true or false, got ${describe(required)}`)
  return value ?? true
}

interface UsedPort {
  path: string
  target: number
}

function checkPorts(s: ServiceScope): void {
  const { node, path } = field(s, 'ports')
  if (node === undefined) return
  if (node.kind !== 'seq') {
    s.diags.error(node.loc, path, `must be a list of ports, got ${describe(node)}`)
    return
  }
  const used = new Map<string, UsedPort>()
  node.items.forEach((item, i) => checkPort(s, { item, path: joinPath(path, i), used }))
}

function checkPort(s: ServiceScope, at: { item: Node; path: string; used: Map<string, UsedPort> }): void {
  const result = parsePort(at.item)
  if ('problem' in result) {
    const { key, message } = result.problem
    s.diags.error(portProblemLoc(at.item, result.problem), key !== undefined ? joinPath(at.path, key) : at.path, message)
    return
  }
  for (const m of result.mappings) {
    const hostPort = `${m.hostIp ? `${m.hostIp}:` : ''}${m.published}/${m.protocol}`
    const first = at.used.get(hostPort)
    if (first === undefined) at.used.set(hostPort, { path: at.path, target: m.target })
    else if (first.target !== m.target) {
      s.diags.error(at.item.loc, at.path, `published port ${hostPort} is already used by ${first.path}`)
      return
    }
  }
}

/** A long-form problem points at the value of its key (or at the key when it has none). */
function portProblemLoc(item: Node, problem: PortProblem): SourceLocation {
  const entry = problem.key !== undefined && item.kind === 'map' ? entryOf(item, problem.key) : undefined
  if (!entry) return item.loc
  return problem.onKey ? entry.keyLoc : entry.value.loc
}

function checkExpose(s: ServiceScope): void {
  const { node, path } = field(s, 'expose')
  if (node === undefined) return
  if (node.kind !== 'seq') {
    s.diags.error(node.loc, path, `must be a list of ports, got ${describe(node)}`)
    return
  }
  node.items.forEach((item, i) => {
    const result = parseExpose(item)
    if ('problem' in result) s.diags.error(item.loc, joinPath(path, i), result.problem)
  })
}

interface LocatedPorts<T> {
  values: T[]
  items: Array<{ loc: SourceLocation; path: string }>
}

/** Every value of a list of ports, each with the item it came from; undefined if an item is invalid. */
function locatedPorts<T>(s: ServiceScope, key: string, parse: (item: Node) => T[] | undefined): LocatedPorts<T> | undefined {
  const { node, path } = field(s, key)
  const located: LocatedPorts<T> = { values: [], items: [] }
  if (node === undefined) return located
  if (node.kind !== 'seq') return undefined
  for (const [i, item] of node.items.entries()) {
    const values = parse(item)
    if (values === undefined) return undefined
    for (const value of values) {
      located.values.push(value)
      located.items.push({ loc: item.loc, path: joinPath(path, i) })
    }
  }
  return located
}

/** A container port other services cannot reach because a `ports` mapping holds its host port. */
function checkContainerPorts(s: ServiceScope): void {
  const ports = locatedPorts(s, 'ports', (item) => {
    const parsed = parsePort(item)
    return 'mappings' in parsed ? parsed.mappings : undefined
  })
  const expose = locatedPorts(s, 'expose', (item) => {
    const parsed = parseExpose(item)
    return 'ports' in parsed ? parsed.ports : undefined
  })
  if (!ports || !expose) return
  for (const c of containerPorts({ ports: ports.values, expose: expose.values }).conflicts) {
    const at = (c.source === 'target' ? ports : expose).items[c.index]!
    const holder = ports.values[c.heldBy]!
    const port = `${c.port}/${c.protocol}`
    const why = holder.target === c.port ? `binds host port ${port} to ${holder.hostIp ?? ''} only` : `already uses host port ${port}`
    const what = c.source === 'target' ? 'its target port' : 'exposed port'
    s.diags.warn(at.loc, at.path, `${what} ${port} is not published on the instance for other services: ${ports.items[c.heldBy]!.path} ${why}`)
  }
}

function checkDeploy(s: ServiceScope): void {
  const { node, path } = field(s, 'deploy')
  if (node === undefined) return
  if (node.kind !== 'map') {
    s.diags.error(node.loc, path, `must be a mapping, got ${describe(node)}`)
    return
  }
  checkKeys(node, { scope: s, pattern: 'services.*.deploy', path, supported: SUPPORTED.deploy })
  const replicas = checkReplicas(s, node, path)
  checkPreemptible(s, { deploy: node, path, replicas })
  checkSize(s, node, path)
  checkPublic(s, node, path)
}

function checkCount(s: ServiceScope, node: Node, path: string): number | undefined {
  const value = integerOf(node)
  if (value === undefined) s.diags.error(node.loc, path, `must be an integer, got ${describe(node)}`)
  else if (value < 0) s.diags.error(node.loc, path, `${value} is less than 0`)
  else return value
  return undefined
}

function checkReplicas(s: ServiceScope, deploy: MapNode, path: string): number | undefined {
  const node = valueOf(deploy, 'replicas')
  if (node === undefined) return DEFAULT_REPLICAS
  const replicasPath = joinPath(path, 'replicas')
  const value = checkCount(s, node, replicasPath)
  if (value === undefined || value <= MAX_REPLICAS) return value
  s.diags.error(node.loc, replicasPath, `${value} is more than ${MAX_REPLICAS}, the limit per service: each replica is its own EC2 instance, so more is most likely a mistake`)
  return undefined
}

function checkPreemptible(s: ServiceScope, at: { deploy: MapNode; path: string; replicas: number | undefined }): void {
  const node = valueOf(at.deploy, 'preemptible')
  if (node === undefined) return
  const path = joinPath(at.path, 'preemptible')
  const value = checkCount(s, node, path)
  if (value !== undefined && at.replicas !== undefined && value > at.replicas) {
    s.diags.error(node.loc, path, `${value} is more than replicas (${at.replicas})`)
  }
}

function checkSize(s: ServiceScope, deploy: MapNode, path: string): void {
  const node = valueOf(deploy, 'size')
  if (node === undefined) return
  const sizePath = joinPath(path, 'size')
  if (node.kind !== 'scalar' || typeof node.value !== 'string') {
    s.diags.error(node.loc, sizePath, `must be an EC2 instance type such as "t3.micro", got ${describe(node)}`)
  } else if (!INSTANCE_TYPE.test(node.value)) {
    s.diags.error(node.loc, sizePath, `${quote(node.value)} is not an EC2 instance type such as "t3.micro" (family.size)`)
  }
}

function checkPublic(s: ServiceScope, deploy: MapNode, path: string): void {
  const node = valueOf(deploy, 'public')
  if (node !== undefined && booleanOf(node) === undefined) {
    s.diags.error(node.loc, joinPath(path, 'public'), `must be true or false, got ${describe(node)}`)
  }
}
