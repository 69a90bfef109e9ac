/**
 * The located tree: a plain copy of the YAML document in which every node
 * and every key remembers where it was written. Merge and interpolation
 * produce new trees that keep the locations of the values that win, so any
 * key path can be traced back to file, line and column.
 */
import type { Diagnostic, Severity, SourceLocation } from './model.js'

export type ScalarValue = string | number | boolean | null

export interface ScalarNode {
  kind: 'scalar'
  value: ScalarValue
  loc: SourceLocation
  /** A number as written: a file mode `0440` is octal to Compose (YAML 1.1) but decimal to YAML 1.2. */
  source?: string
  /** The value came out of `${VAR}` interpolation, so it may hold a secret: messages do not quote it. */
  interpolated?: boolean
}

export interface SeqNode {
  kind: 'seq'
  items: Node[]
  loc: SourceLocation
}

export interface Entry {
  key: string
  keyLoc: SourceLocation
  value: Node
}

export interface MapNode {
  kind: 'map'
  entries: Entry[]
  loc: SourceLocation
}

export type Node = ScalarNode | SeqNode | MapNode

export type PathPart = string | number

export function scalar(value: ScalarValue, loc: SourceLocation): ScalarNode {
  return { kind: 'scalar', value, loc }
}

export function entryOf(map: MapNode, key: string): Entry | undefined {
  return map.entries.find((e) => e.key === key)
}

export function valueOf(map: MapNode, key: string): Node | undefined {
  return entryOf(map, key)?.value
}

export function isMap(node: Node | undefined): node is MapNode {
  return node?.kind === 'map'
}

export function isSeq(node: Node | undefined): node is SeqNode {
  return node?.kind === 'seq'
}

export function isScalar(node: Node | undefined): node is ScalarNode {
  return node?.kind === 'scalar'
}

/** `services.web.ports[0]`: dotted keys, bracketed list indexes. */
export function joinPath(base: string, part: PathPart): string {
  if (typeof part === 'number') return `${base}[${part}]`
  return base === '' ? part : `${base}.${part}`
}

/** The location of the value at `path`, or of the deepest node on the way. */
export function locate(root: MapNode, path: readonly PathPart[]): SourceLocation {
  let node: Node = root
  for (const part of path) {
    const next = childOf(node, part)
    if (!next) break
    node = next
  }
  return node.loc
}

function childOf(node: Node, part: PathPart): Node | undefined {
  if (node.kind === 'map' && typeof part === 'string') return valueOf(node, part)
  if (node.kind === 'seq' && typeof part === 'number') return node.items[part]
  return undefined
}

/** How a value reads in a message: `string "abc"`, `number 2.5`, `a list`. */
export function describe(node: Node): string {
  if (node.kind === 'map') return 'a mapping'
  if (node.kind === 'seq') return 'a list'
  const v = node.value
  if (v === null) return 'null'
  if (typeof v === 'string') return `string ${quote(v)}`
  return `${typeof v} ${String(v)}`
}

/** Longer values are cut in messages, so that a stray blob does not flood the log. */
export const QUOTE_LIMIT = 200

/** A value quoted for a message, JSON-style so that control characters stay visible. */
export function quote(value: string): string {
  if (value.length <= QUOTE_LIMIT) return JSON.stringify(value)
  return `${JSON.stringify(value.slice(0, QUOTE_LIMIT))}... (${value.length} characters)`
}

export interface DiagnosticInput {
  loc: SourceLocation
  path: string
  message: string
  severity?: Severity
}

export function diagnostic(input: DiagnosticInput): Diagnostic {
  const { file, line, column } = input.loc
  return { severity: input.severity ?? 'error', file, line, column, path: input.path, message: input.message }
}

/** Collects diagnostics while a stage walks the tree. */
export class Diagnostics {
  readonly list: Diagnostic[] = []

  error(loc: SourceLocation, path: string, message: string): void {
    this.list.push(diagnostic({ loc, path, message }))
  }

  warn(loc: SourceLocation, path: string, message: string): void {
    this.list.push(diagnostic({ loc, path, message, severity: 'warning' }))
  }

  add(items: readonly Diagnostic[]): void {
    this.list.push(...items)
  }

  get errors(): Diagnostic[] {
    return this.list.filter((d) => d.severity === 'error')
  }

  get warnings(): Diagnostic[] {
    return this.list.filter((d) => d.severity === 'warning')
  }
}

/** Scalars as environment strings: numbers and booleans as written, null as undefined. */
export function scalarText(value: ScalarValue): string | undefined {
  if (value === null) return undefined
  return String(value)
}
