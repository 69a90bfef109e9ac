/**
 * Stage 3: merge several compose files in order, like `docker compose -f a -f b`.
 * Each key merges by its rule in the key table (keys.ts): `ports` and
 * `expose` are concatenated without repeating identical entries, `command`
 * and `entrypoint` replaced, `environment` merged by key, `env_file`
 * concatenated. Any other key: mappings merge recursively, lists are
 * concatenated and later scalars win. Every node keeps the location of the
 * value that wins; a mapping keeps the location where it was first declared.
 * An empty key (`services:` with nothing under it) adds nothing to a mapping.
 */
import { environmentMap } from './environment.js'
import { type MergeRule, ruleAt } from './keys.js'
import { configItemTarget } from './configs.js'
import { itemTarget } from './secrets.js'
import { type Entry, type MapNode, type Node, type SeqNode, valueOf } from './tree.js'
import { mountTarget } from './volumes.js'

/** The path in the container of an item of the lists merged by target, by the list's key. */
const TARGETS: Record<string, (item: Node) => string | undefined> = {
  secrets: itemTarget,
  volumes: mountTarget,
  configs: configItemTarget
}

/** Merges the roots in order; the first is the base. */
export function mergeFiles(roots: readonly MapNode[]): MapNode | undefined {
  const [first, ...rest] = roots
  if (!first) return undefined
  return rest.reduce<MapNode>((base, over) => mergeMaps(base, over, []), first)
}

function mergeMaps(base: MapNode, over: MapNode, path: readonly string[]): MapNode {
  const entries: Entry[] = base.entries.map((e) => ({ ...e }))
  for (const entry of over.entries) {
    const existing = entries.find((e) => e.key === entry.key)
    if (!existing) entries.push(entry)
    else existing.value = mergeValue(existing.value, entry.value, [...path, entry.key])
  }
  return { kind: 'map', entries, loc: base.loc }
}

function mergeValue(base: Node, over: Node, path: readonly string[]): Node {
  switch (ruleFor(path)) {
    case 'replace':
      return over
    case 'environment':
      return mergeEnvironment(base, over)
    case 'unique':
      return base.kind === 'seq' && over.kind === 'seq' ? concat(base, over, true) : over
    case 'list':
      return concat(asList(base), asList(over), false)
    case 'target':
      return base.kind === 'seq' && over.kind === 'seq'
        ? byTarget(base, over, TARGETS[path.at(-1)!] ?? itemTarget)
        : over
    case 'logging':
      return mergeLogging(base, over, path)
    case 'build':
      return mergeBuild(base, over, path)
    default:
      return mergeGeneric(base, over, path)
  }
}

function mergeGeneric(base: Node, over: Node, path: readonly string[]): Node {
  if (base.kind === 'map' && over.kind === 'scalar' && over.value === null) return base
  if (base.kind === 'map' && over.kind === 'map') return mergeMaps(base, over, path)
  if (base.kind === 'seq' && over.kind === 'seq') return concat(base, over, false)
  return over
}

function ruleFor(path: readonly string[]): MergeRule | undefined {
  const rule = ruleAt(path)
  return rule?.level === 'supported' ? rule.merge : undefined
}

function concat(base: SeqNode, over: SeqNode, unique: boolean): SeqNode {
  const items = [...base.items]
  for (const item of over.items) {
    if (!unique || !items.some((existing) => sameValue(existing, item))) items.push(item)
  }
  return { kind: 'seq', items, loc: base.loc }
}

/** Compose merges service secrets, volumes and configs by their path in the container: a later item replaces an earlier one in place. */
function byTarget(base: SeqNode, over: SeqNode, itemTarget: (item: Node) => string | undefined): SeqNode {
  const items = [...base.items]
  for (const item of over.items) {
    const target = itemTarget(item)
    const i = target === undefined ? -1 : items.findIndex((existing) => itemTarget(existing) === target)
    if (i < 0) items.push(item)
    else items[i] = item
  }
  return { kind: 'seq', items, loc: base.loc }
}

/** As compose-go: options merge only when both name the same driver, or one names none. */
function mergeLogging(base: Node, over: Node, path: readonly string[]): Node {
  if (base.kind !== 'map' || over.kind !== 'map') return mergeGeneric(base, over, path)
  const a = valueOf(base, 'driver')
  const b = valueOf(over, 'driver')
  const same = !a || !b || (a.kind === 'scalar' && b.kind === 'scalar' && a.value === b.value)
  return same ? mergeMaps(base, over, path) : over
}

/** As compose-go: `build: ./app` is `{context: ./app}`, so that a later file's mapping keeps the context. */
function mergeBuild(base: Node, over: Node, path: readonly string[]): Node {
  const long = (node: Node): Node =>
    node.kind === 'scalar' && typeof node.value === 'string'
      ? { kind: 'map', entries: [{ key: 'context', keyLoc: node.loc, value: node }], loc: node.loc }
      : node
  if (base.kind === 'scalar' && over.kind === 'scalar') return over
  return mergeGeneric(long(base), long(over), path)
}

/** `env_file: a.env` is the list `[a.env]`. */
function asList(node: Node): SeqNode {
  return node.kind === 'seq' ? node : { kind: 'seq', items: [node], loc: node.loc }
}

function mergeEnvironment(base: Node, over: Node): Node {
  const a = environmentMap(base)
  const b = environmentMap(over)
  if (!a || !b) return over
  return mergeMaps(a, b, ['environment'])
}

/** Equal content, wherever it was written. */
export function sameValue(a: Node, b: Node): boolean {
  if (a.kind === 'scalar' && b.kind === 'scalar') return a.value === b.value
  if (a.kind === 'seq' && b.kind === 'seq') {
    return a.items.length === b.items.length && a.items.every((item, i) => sameValue(item, b.items[i]!))
  }
  if (a.kind === 'map' && b.kind === 'map') {
    return a.entries.length === b.entries.length && a.entries.every((e) => sameEntry(e, b.entries))
  }
  return false
}

function sameEntry(entry: Entry, others: readonly Entry[]): boolean {
  const other = others.find((o) => o.key === entry.key)
  return other !== undefined && sameValue(entry.value, other.value)
}
