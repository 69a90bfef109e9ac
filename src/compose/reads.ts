/**
 * Reading validated values into the model, one reader per key of the table
 * in keys.ts. Normalisation only runs when validation found no error, so
 * these read without re-checking.
 */
import * as path from 'node:path'
import { type EnvFile, envFileItemPath } from './envfile.js'
import { environmentEntries } from './environment.js'
import type { StageContext } from './keys.js'
import type { ExposedPort, PortMapping, Reference } from './model.js'
import { parseExpose, parsePort } from './ports.js'
import { referenceOf } from './references.js'
import { shellSplit } from './shlex.js'
import { isSeq, type MapNode, type Node, valueOf } from './tree.js'
import { envValueOf } from './values.js'

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** A string split shell-style, or a list as it is; undefined when not set (or null). */
export function execForm(node: Node | undefined): string[] | undefined {
  if (node === undefined || node.kind === 'map') return undefined
  if (node.kind === 'seq') return node.items.map((item) => String(item.kind === 'scalar' ? item.value : ''))
  if (typeof node.value !== 'string') return undefined
  const split = shellSplit(node.value)
  return 'words' in split ? split.words : undefined
}

/** Every mapping of every item, ranges expanded, identical mappings once. */
export function portsOf(node: Node | undefined): PortMapping[] {
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

export function exposeOf(node: Node | undefined): ExposedPort[] {
  const result: ExposedPort[] = []
  for (const item of isSeq(node) ? node.items : []) {
    const parsed = parseExpose(item)
    if ('ports' in parsed)
      for (const p of parsed.ports)
        if (!result.some((r) => r.port === p.port && r.protocol === p.protocol)) result.push(p)
  }
  return result
}

/** env_file values in order, then `environment` on top; a key without a value comes from the environment. */
export function environmentOf(service: MapNode, ctx: StageContext): Record<string, string> {
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

/** Literal values and references (`ssm:/name`, a secret's ARN), which the instance resolves. */
export function splitReferences(values: Record<string, string>): {
  environment: Record<string, string>
  environmentFrom: Record<string, Reference>
} {
  const environment: Record<string, string> = {}
  const environmentFrom: Record<string, Reference> = {}
  for (const [key, value] of Object.entries(values)) {
    const read = referenceOf(value)
    if (read && 'reference' in read) environmentFrom[key] = read.reference
    else environment[key] = value
  }
  return { environment, environmentFrom }
}

function envFiles(service: MapNode, ctx: StageContext): EnvFile[] {
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
