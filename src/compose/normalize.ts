/**
 * Stage 5: the validated tree as the typed ComposeModel. Only called when
 * validation found no errors, so it reads values without re-checking them.
 */
import * as path from 'node:path'
import type { EnvFile } from './envfile.js'
import { envFileItemPath } from './envfile.js'
import { environmentEntries } from './environment.js'
import type { Lookup } from './interpolate.js'
import type { ComposeModel, ExposedPort, PortMapping, ServiceModel } from './model.js'
import { parseExpose, parsePort } from './ports.js'
import { shellSplit } from './shlex.js'
import { type Entry, isMap, isSeq, type MapNode, type Node, valueOf } from './tree.js'
import { booleanOf, DEFAULT_REPLICAS, envValueOf, integerOf, stringOf } from './values.js'

export interface NormalizeContext {
  lookup: Lookup
  envFiles: ReadonlyMap<string, EnvFile>
  baseDir: string
  files: string[]
}

export function normalize(root: MapNode, ctx: NormalizeContext): ComposeModel {
  const services = valueOf(root, 'services') as MapNode
  const model: ComposeModel = {
    services: services.entries.map((entry) => normalizeService(entry, ctx)).sort((a, b) => compare(a.name, b.name)),
    files: [...ctx.files]
  }
  const name = stringOf(valueOf(root, 'name'))
  return name === undefined ? model : { name, ...model }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function normalizeService(entry: Entry, ctx: NormalizeContext): ServiceModel {
  const service = entry.value as MapNode
  const deploy = valueOf(service, 'deploy')
  const field = (key: string): Node | undefined => (isMap(deploy) ? valueOf(deploy, key) : undefined)
  const model: ServiceModel = {
    name: entry.key,
    image: stringOf(valueOf(service, 'image'))!,
    environment: environment(service, ctx),
    ports: ports(valueOf(service, 'ports')),
    expose: expose(valueOf(service, 'expose')),
    replicas: integerOf(field('replicas')) ?? DEFAULT_REPLICAS,
    preemptible: integerOf(field('preemptible')) ?? 0,
    public: booleanOf(field('public')) ?? false,
    location: entry.keyLoc
  }
  const command = execForm(valueOf(service, 'command'))
  const entrypoint = execForm(valueOf(service, 'entrypoint'))
  const size = stringOf(field('size'))
  return {
    ...model,
    ...(command ? { command } : {}),
    ...(entrypoint ? { entrypoint } : {}),
    ...(size ? { size } : {})
  }
}

/** A string split shell-style, or a list as it is; undefined when not set (or null). */
export function execForm(node: Node | undefined): string[] | undefined {
  if (node === undefined || node.kind === 'map') return undefined
  if (node.kind === 'seq') return node.items.map((item) => String(item.kind === 'scalar' ? item.value : ''))
  if (typeof node.value !== 'string') return undefined
  const split = shellSplit(node.value)
  return 'words' in split ? split.words : undefined
}

function ports(node: Node | undefined): PortMapping[] {
  const result: PortMapping[] = []
  for (const item of isSeq(node) ? node.items : []) {
    const parsed = parsePort(item)
    if ('mappings' in parsed) for (const m of parsed.mappings) if (!result.some((r) => samePort(r, m))) result.push(m)
  }
  return result
}

function samePort(a: PortMapping, b: PortMapping): boolean {
  return a.target === b.target && a.published === b.published && a.protocol === b.protocol && a.hostIp === b.hostIp
}

function expose(node: Node | undefined): ExposedPort[] {
  const result: ExposedPort[] = []
  for (const item of isSeq(node) ? node.items : []) {
    const parsed = parseExpose(item)
    if ('ports' in parsed) for (const p of parsed.ports) if (!result.some((r) => r.port === p.port && r.protocol === p.protocol)) result.push(p)
  }
  return result
}

/** env_file values in order, then `environment` on top; a key without a value comes from the environment. */
function environment(service: MapNode, ctx: NormalizeContext): Record<string, string> {
  const values = new Map<string, string>()
  const set = (key: string, value: string | undefined): void => {
    if (value === undefined) values.delete(key)
    else values.set(key, value)
  }
  for (const file of envFiles(service, ctx)) {
    for (const e of file.entries) set(e.key, e.value ?? ctx.lookup(e.key))
  }
  const env = valueOf(service, 'environment')
  for (const e of env ? environmentEntries(env).entries : []) set(e.key, envValueOf(e.value) ?? ctx.lookup(e.key))
  return Object.fromEntries([...values.entries()].sort(([a], [b]) => compare(a, b)))
}

function envFiles(service: MapNode, ctx: NormalizeContext): EnvFile[] {
  const node = valueOf(service, 'env_file')
  const items = node === undefined ? [] : node.kind === 'seq' ? node.items : [node]
  const files: EnvFile[] = []
  for (const item of items) {
    const file = envFileItemPath(item)
    const loaded = file === undefined ? undefined : ctx.envFiles.get(path.resolve(ctx.baseDir, file))
    if (loaded && !loaded.problem) files.push(loaded)
  }
  return files
}
