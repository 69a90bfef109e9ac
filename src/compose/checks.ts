/**
 * The checks of the values the action deploys, one per key of the table in
 * keys.ts, which names them. Each reports with the location of the offending
 * value and never stops at the first problem.
 */
import * as path from 'node:path'
import { containerPorts, type HostPortConflict } from '../container-ports.js'
import { labelProblem } from '../names.js'
import { type EnvFile, envFileItemPath } from './envfile.js'
import { type EnvEntry, envNameProblem, environmentEntries } from './environment.js'
import type { Check, KeyAt } from './keys.js'
import type { PortMapping, SourceLocation } from './model.js'
import { parseExpose, parsePort, type PortProblem } from './ports.js'
import { referenceOf } from './references.js'
import { shellSplit } from './shlex.js'
import { describe, entryOf, joinPath, type MapNode, type Node, quote, valueOf } from './tree.js'
import { booleanOf, DEFAULT_REPLICAS, INSTANCE_TYPE, integerOf, MAX_REPLICAS } from './values.js'

/** Compose project names: lowercase letters, digits, dashes and underscores. */
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/

export function checkName({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'scalar' || typeof node.value !== 'string') {
    diags.error(node.loc, path, `must be a string, got ${describe(node)}`)
  } else if (!PROJECT_NAME.test(node.value)) {
    diags.error(
      node.loc,
      path,
      `${quote(node.value)} must contain only lowercase letters, digits, dashes and underscores, starting with a letter or digit`
    )
  }
}

export function checkServices({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'map')
    diags.error(node.loc, path, `must be a mapping of service names to services, got ${describe(node)}`)
  else if (node.entries.length === 0) diags.error(node.loc, path, 'must define at least one service')
}

export function checkService({ key, keyLoc, node, path }: KeyAt, { diags }: Check): void {
  const problem = labelProblem(key)
  if (problem) diags.error(keyLoc, path, `service name ${quote(key)} ${problem}`)
  if (node.kind !== 'map')
    diags.error(node.loc, path, `must be a mapping with at least "image" or "build", got ${describe(node)}`)
}

/** What is wrong with an `image` value, if anything. */
export function imageProblem(node: Node): string | undefined {
  if (node.kind !== 'scalar' || typeof node.value !== 'string' || node.value.trim() === '') {
    return `must be an image reference such as "nginx:1.27", got ${describe(node)}`
  }
  if (/\s/.test(node.value) || hasControlCharacter(node.value)) {
    return `${quote(node.value)} is not an image reference: it contains whitespace or a control character`
  }
  return undefined
}

export function checkImage({ node, path }: KeyAt, { diags }: Check): void {
  const problem = imageProblem(node)
  if (problem) diags.error(node.loc, path, problem)
}

/** Not with a build: the action then names the image after the project's repository. */
export function imageRequired(service: MapNode): string | undefined {
  return entryOf(service, 'build')
    ? undefined
    : 'is required: the image to run, such as "nginx:1.27", or a "build" of a directory of the repository'
}

function hasControlCharacter(text: string): boolean {
  return [...text].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)
}

/** `command` and `entrypoint`: a string split shell-style, or a list of strings; null keeps the image's. */
export function checkCommand({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind === 'scalar' && node.value === null) return
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    const split = shellSplit(node.value)
    if ('error' in split) diags.error(node.loc, path, split.error)
    return
  }
  if (node.kind !== 'seq') {
    diags.error(node.loc, path, `must be a string or a list of strings, got ${describe(node)}`)
    return
  }
  node.items.forEach((item, i) => {
    if (item.kind !== 'scalar' || (typeof item.value !== 'string' && typeof item.value !== 'number')) {
      diags.error(item.loc, joinPath(path, i), `must be a string, got ${describe(item)}`)
    }
  })
}

export function checkEnvironment({ node, path }: KeyAt, check: Check): void {
  if (node.kind === 'scalar') {
    check.diags.error(node.loc, path, `must be a mapping or a list of "KEY=value" strings, got ${describe(node)}`)
    return
  }
  const { entries, problems } = environmentEntries(node)
  for (const p of problems) check.diags.error(p.loc, joinPath(path, p.index), p.message)
  for (const entry of entries) checkEnvEntry(entry, { path, check })
}

function checkEnvEntry(entry: EnvEntry, at: { path: string; check: Check }): void {
  const { diags, ctx } = at.check
  const problem = envNameProblem(entry.key)
  if (problem) {
    diags.error(entry.keyLoc, joinPath(at.path, entry.index ?? entry.key), problem)
    return
  }
  const path = joinPath(at.path, entry.key)
  const value = entry.value
  if (value.kind !== 'scalar') {
    diags.error(value.loc, path, `must be a string, number, boolean or null, got ${describe(value)}`)
  } else if (typeof value.value === 'string' && value.value.includes('\0')) {
    diags.error(value.loc, path, 'contains a NUL character, which an environment variable cannot hold')
  } else if (value.value === null && ctx.lookup(entry.key) === undefined) {
    diags.warn(value.loc, path, `has no value and ${entry.key} is not set in the environment; it is left out`)
  } else {
    const read = referenceOf(value.value === null ? ctx.lookup(entry.key)! : String(value.value))
    if (read && 'problem' in read) diags.error(value.loc, path, read.problem)
  }
}

interface EnvFileItem {
  node: Node
  path: string
}

export function checkEnvFiles({ node, path }: KeyAt, check: Check): void {
  const items: EnvFileItem[] =
    node.kind === 'seq' ? node.items.map((item, i) => ({ node: item, path: joinPath(path, i) })) : [{ node, path }]
  for (const item of items) checkEnvFile(item, check)
}

function checkEnvFile(item: EnvFileItem, check: Check): void {
  const file = envFileItemPath(item.node)
  if (file === undefined) {
    check.diags.error(
      item.node.loc,
      item.path,
      `must be a path or a mapping with "path" and "required", got ${describe(item.node)}`
    )
    return
  }
  const required = item.node.kind === 'map' ? checkEnvFileLong(item, check) : true
  const loaded = check.ctx.envFiles.get(path.resolve(check.ctx.baseDir, file))
  if (loaded && !loaded.problem) checkEnvFileReferences(loaded, { path: item.path, check })
  if (!loaded?.problem) return
  if (loaded.problem === 'file not found' && !required) return
  const hint =
    loaded.problem === 'file not found'
      ? ' (paths are relative to the first compose file; set "required: false" if it is optional)'
      : ''
  check.diags.error(item.node.loc, item.path, `env file ${quote(loaded.display)}: ${loaded.problem}${hint}`)
}

/** A value that looks like a reference must be a valid one; reported at its line in the env file. */
function checkEnvFileReferences(file: EnvFile, at: { path: string; check: Check }): void {
  for (const entry of file.entries) {
    const value = entry.value ?? at.check.ctx.lookup(entry.key)
    const read = value === undefined ? undefined : referenceOf(value)
    if (read && 'problem' in read) {
      const loc = { file: file.display, line: entry.line, column: entry.column }
      at.check.diags.error(loc, joinPath(at.path, entry.key), read.problem)
    }
  }
}

/** Checks `{path, required}`; returns whether the file is required. */
function checkEnvFileLong(item: EnvFileItem, check: Check): boolean {
  const map = item.node as MapNode
  for (const entry of map.entries) {
    if (entry.key !== 'path' && entry.key !== 'required') {
      check.diags.error(
        entry.keyLoc,
        joinPath(item.path, entry.key),
        'is not an env_file key; expected "path" or "required"'
      )
    }
  }
  const required = valueOf(map, 'required')
  if (required === undefined) return true
  const value = booleanOf(required)
  if (value === undefined)
    check.diags.error(required.loc, joinPath(item.path, 'required'), `must be true or false, got ${describe(required)}`)
  return value ?? true
}

interface UsedPort {
  path: string
  target: number
}

/** Each item, no host port published twice to different targets; then the container ports (container-ports.ts). */
export function checkPorts(at: KeyAt, check: Check): void {
  const { node, path } = at
  if (node.kind !== 'seq') {
    check.diags.error(node.loc, path, `must be a list of ports, got ${describe(node)}`)
    return
  }
  const used = new Map<string, UsedPort>()
  node.items.forEach((item, i) => checkPort({ item, path: joinPath(path, i), used }, check))
  checkContainerPorts(at, check)
}

function checkPort(at: { item: Node; path: string; used: Map<string, UsedPort> }, check: Check): void {
  const result = parsePort(at.item)
  if ('problem' in result) {
    const { key, message } = result.problem
    check.diags.error(
      portProblemLoc(at.item, result.problem),
      key !== undefined ? joinPath(at.path, key) : at.path,
      message
    )
    return
  }
  for (const m of result.mappings) {
    const hostPort = `${m.hostIp ? `${m.hostIp}:` : ''}${m.published}/${m.protocol}`
    const first = at.used.get(hostPort)
    if (first === undefined) at.used.set(hostPort, { path: at.path, target: m.target })
    else if (first.target !== m.target) {
      check.diags.error(at.item.loc, at.path, `published port ${hostPort} is already used by ${first.path}`)
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

export function checkExpose({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'seq') {
    diags.error(node.loc, path, `must be a list of ports, got ${describe(node)}`)
    return
  }
  node.items.forEach((item, i) => {
    const result = parseExpose(item)
    if ('problem' in result) diags.error(item.loc, joinPath(path, i), result.problem)
  })
}

interface LocatedPorts<T> {
  values: T[]
  items: Array<{ loc: SourceLocation; path: string }>
}

/** Every value of a list of ports, each with the item it came from; undefined if an item is invalid. */
function locatedPorts<T>(
  list: { node: Node | undefined; path: string },
  parse: (item: Node) => T[] | undefined
): LocatedPorts<T> | undefined {
  const located: LocatedPorts<T> = { values: [], items: [] }
  if (list.node === undefined) return located
  if (list.node.kind !== 'seq') return undefined
  for (const [i, item] of list.node.items.entries()) {
    const values = parse(item)
    if (values === undefined) return undefined
    for (const value of values) {
      located.values.push(value)
      located.items.push({ loc: item.loc, path: joinPath(list.path, i) })
    }
  }
  return located
}

/** A warning for each container port other services cannot reach because a `ports` mapping holds its host port. */
function checkContainerPorts(at: KeyAt, { diags }: Check): void {
  const ports = locatedPorts(at, (item) => {
    const parsed = parsePort(item)
    return 'mappings' in parsed ? parsed.mappings : undefined
  })
  const expose = locatedPorts(
    { node: valueOf(at.parent, 'expose'), path: joinPath(at.parentPath, 'expose') },
    (item) => {
      const parsed = parseExpose(item)
      return 'ports' in parsed ? parsed.ports : undefined
    }
  )
  if (!ports || !expose) return
  for (const c of containerPorts({ ports: ports.values, expose: expose.values }).conflicts) {
    const where = (c.source === 'target' ? ports : expose).items[c.index]!
    const what = c.source === 'target' ? 'its target port' : 'exposed port'
    diags.warn(
      where.loc,
      where.path,
      `${what} ${c.port}/${c.protocol} is not published on the instance for other services: ${holderText(c, ports)}`
    )
  }
}

function holderText(c: HostPortConflict, ports: LocatedPorts<PortMapping>): string {
  const port = `${c.port}/${c.protocol}`
  if (typeof c.heldBy !== 'number') return `the instance's ${c.heldBy.instance} uses host port ${port}`
  const holder = ports.values[c.heldBy]!
  const path = ports.items[c.heldBy]!.path
  return holder.target === c.port
    ? `${path} binds host port ${port} to ${holder.hostIp ?? ''} only`
    : `${path} already uses host port ${port}`
}

export function checkMapping({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'map') diags.error(node.loc, path, `must be a mapping, got ${describe(node)}`)
}

function checkCount({ node, path }: KeyAt, { diags }: Check): number | undefined {
  const value = integerOf(node)
  if (value === undefined) diags.error(node.loc, path, `must be an integer, got ${describe(node)}`)
  else if (value < 0) diags.error(node.loc, path, `${value} is less than 0`)
  else return value
  return undefined
}

export function checkReplicas(at: KeyAt, check: Check): void {
  const value = checkCount(at, check)
  if (value !== undefined && value > MAX_REPLICAS) {
    check.diags.error(
      at.node.loc,
      at.path,
      `${value} is more than ${MAX_REPLICAS}, the limit per service: each replica is its own EC2 instance, so more is most likely a mistake`
    )
  }
}

/** `deploy.replicas` when it is valid (its default when absent), for the check of `preemptible`. */
function validReplicas(deploy: MapNode): number | undefined {
  const node = valueOf(deploy, 'replicas')
  if (node === undefined) return DEFAULT_REPLICAS
  const value = integerOf(node)
  return value !== undefined && value >= 0 && value <= MAX_REPLICAS ? value : undefined
}

export function checkPreemptible(at: KeyAt, check: Check): void {
  const value = checkCount(at, check)
  const replicas = validReplicas(at.parent)
  if (value !== undefined && replicas !== undefined && value > replicas) {
    check.diags.error(at.node.loc, at.path, `${value} is more than replicas (${replicas})`)
  }
}

export function checkSize({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'scalar' || typeof node.value !== 'string') {
    diags.error(node.loc, path, `must be an EC2 instance type such as "t3.micro", got ${describe(node)}`)
  } else if (!INSTANCE_TYPE.test(node.value)) {
    diags.error(node.loc, path, `${quote(node.value)} is not an EC2 instance type such as "t3.micro" (family.size)`)
  }
}

export function checkBoolean({ node, path }: KeyAt, { diags }: Check): void {
  if (booleanOf(node) === undefined) diags.error(node.loc, path, `must be true or false, got ${describe(node)}`)
}

/** `x-hyperform.health-check.path`: what the load balancer requests, as AWS takes it (at most 1024, from `/`). */
export function checkCheckPath({ node, path }: KeyAt, { diags }: Check): void {
  const value = node.kind === 'scalar' && typeof node.value === 'string' ? node.value : undefined
  if (value === undefined || !value.startsWith('/') || value.length > 1024 || /\s/.test(value))
    diags.error(node.loc, path, `must be a URL path starting with "/" (at most 1024 characters), got ${describe(node)}`)
}

/** `x-hyperform.health-check.codes`: HTTP codes from 200 to 499, as "200", "200,302" or "200-399". */
export function checkCheckCodes({ node, path }: KeyAt, { diags }: Check): void {
  const value = node.kind === 'scalar' && node.value !== null ? String(node.value) : ''
  const parts = value.split(',').map((p) => p.trim().split('-'))
  const code = (text: string | undefined): number | undefined =>
    text !== undefined && /^\d{3}$/.test(text) && Number(text) >= 200 && Number(text) <= 499 ? Number(text) : undefined
  const ok =
    value !== '' &&
    parts.every((range) => {
      const [from, to] = [code(range[0]), code(range[1] ?? range[0])]
      return range.length <= 2 && from !== undefined && to !== undefined && from <= to
    })
  if (!ok)
    diags.error(
      node.loc,
      path,
      `must be HTTP codes from 200 to 499 such as "200", "200,302" or "200-399", got ${describe(node)}`
    )
}
