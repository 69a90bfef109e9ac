/**
 * Stage 4: check the merged, interpolated tree against the key table
 * (keys.ts). Collects every problem (never stops at the first) with the
 * location of the offending value; key problems point at the key; a missing
 * required key points at the key of the mapping that lacks it.
 */
import {
  childrenOf,
  type Check,
  type ChildKey,
  isExtension,
  type KeyAt,
  patternOf,
  ruleOf,
  type StageContext
} from './keys.js'
import type { Diagnostic, SourceLocation } from './model.js'
import { Diagnostics, type Entry, joinPath, type MapNode } from './tree.js'

export type ValidateContext = StageContext

/** The action's extension key, in a service and in a top-level secret. */
export const HYPERFORM = 'x-hyperform'

export function validate(root: MapNode, ctx: ValidateContext): Diagnostic[] {
  const check: Check = { diags: new Diagnostics(), ctx }
  checkMapping(root, { pattern: '', path: '', keyLoc: root.loc }, check)
  return check.diags.list
}

interface MappingAt {
  pattern: string
  path: string
  /** Where a key missing from this mapping is reported. */
  keyLoc: SourceLocation
}

/**
 * A mapping's keys first (unknown and unsupported ones), then each supported
 * key in table order: missing when required, else its value, and the
 * mapping under it when the table goes deeper.
 */
function checkMapping(map: MapNode, at: MappingAt, check: Check): void {
  const children = childrenOf(at.pattern)
  for (const entry of map.entries) checkKey(entry, { map, at, children, check })
  for (const child of children) {
    if (child.rule.level !== 'supported') continue
    const entries = child.key === '*' ? map.entries : map.entries.filter((e) => e.key === child.key)
    const required = entries.length === 0 ? child.rule.required?.(map) : undefined
    if (required) check.diags.error(at.keyLoc, joinPath(at.path, child.key), required)
    for (const entry of entries) checkValue(keyAt(entry, map, at), child, check)
  }
}

function keyAt(entry: Entry, parent: MapNode, at: MappingAt): KeyAt {
  return {
    key: entry.key,
    keyLoc: entry.keyLoc,
    node: entry.value,
    path: joinPath(at.path, entry.key),
    parent,
    parentPath: at.path
  }
}

function checkValue(at: KeyAt, child: ChildKey, check: Check): void {
  if (child.rule.level !== 'supported') return
  child.rule.validate?.(at, check)
  if (at.node.kind === 'map' && childrenOf(child.pattern).length > 0) {
    checkMapping(at.node, { pattern: child.pattern, path: at.path, keyLoc: at.keyLoc }, check)
  }
}

function checkKey(
  entry: Entry,
  scope: { map: MapNode; at: MappingAt; children: readonly ChildKey[]; check: Check }
): void {
  // The action's own extension has only the keys of the table, so that a typo is caught.
  const own = scope.at.pattern.endsWith(`.${HYPERFORM}`)
  // `x-*` is an extension, except where every key is a name (`services.*`): there it is a service.
  if (isExtension(entry.key) && !own && !scope.children.some((c) => c.key === '*')) return
  const pattern = patternOf(scope.at.pattern, entry.key)
  const rule = pattern === undefined ? undefined : ruleOf(pattern)
  const at = keyAt(entry, scope.map, scope.at)
  const { diags } = scope.check
  if (rule === undefined && own) {
    const expected = scope.children.map((c) => `"${c.key}"`).join(', ')
    diags.error(entry.keyLoc, at.path, `not a setting of ${HYPERFORM} here; expected ${expected}`)
  } else if (rule === undefined)
    diags.error(entry.keyLoc, at.path, `not a Compose key${suggestion(entry.key, scope.children)}`)
  else if (rule.level === 'supported') return
  else if (rule.report) rule.report(at, scope.check)
  else if (rule.level === 'error') diags.error(entry.keyLoc, at.path, `not supported: ${rule.reason}`)
  else diags.warn(entry.keyLoc, at.path, `ignored: ${rule.reason}`)
}

function suggestion(key: string, children: readonly ChildKey[]): string {
  const close = children.find((c) => c.rule.level === 'supported' && c.key !== '*' && distance(c.key, key) <= 2)
  return close ? `; did you mean "${close.key}"?` : ''
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
