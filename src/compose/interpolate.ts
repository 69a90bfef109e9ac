/**
 * Stage 2: variable interpolation in values (never in keys), as the Compose
 * Specification defines it: `${VAR}`, `$VAR`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
 * `${VAR:+replacement}`, `${VAR+replacement}`, nesting inside the word
 * (`${A:-${B}}`), and `$$` for a literal `$`. Each file is interpolated on its
 * own, before the files are merged, as Compose does.
 */
import { Diagnostics, joinPath, type MapNode, type Node, quote, type ScalarNode } from './tree.js'

export type Lookup = (name: string) => string | undefined

type Op = ':-' | '-' | ':?' | '?' | ':+' | '+'
const OPS: readonly Op[] = [':-', ':?', ':+', '-', '?', '+']
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/

type Part = { text: string } | { name: string; op?: Op; word?: Part[] }

class InterpolationError extends Error {}

export interface Interpolated {
  value?: string
  error?: string
  /** Variables used without a default and not set. */
  unset: string[]
}

/** Interpolates one string; never throws. */
export function interpolateString(text: string, lookup: Lookup): Interpolated {
  const unset: string[] = []
  try {
    const parts = parseTemplate(text)
    return { value: evaluate(parts, { lookup, unset }), unset }
  } catch (error) {
    if (error instanceof InterpolationError) return { error: error.message, unset }
    throw error
  }
}

export function parseTemplate(text: string): Part[] {
  const [parts, end] = parseParts(text, 0, false)
  if (end !== text.length) throw new InterpolationError(`invalid interpolation in ${quote(text)}: unexpected "}"`)
  return parts
}

function parseParts(text: string, start: number, inBrace: boolean): [Part[], number] {
  const parts: Part[] = []
  let i = start
  let literal = ''
  while (i < text.length && !(inBrace && text[i] === '}')) {
    if (text[i] !== '$') {
      literal += text[i++]
      continue
    }
    const [part, next] = parseDollar(text, i)
    if ('text' in part) literal += part.text
    else {
      if (literal) parts.push({ text: literal })
      literal = ''
      parts.push(part)
    }
    i = next
  }
  if (literal) parts.push({ text: literal })
  return [parts, i]
}

/** `text[i]` is `$`. */
function parseDollar(text: string, i: number): [Part, number] {
  const next = text[i + 1]
  if (next === '$') return [{ text: '$' }, i + 2]
  if (next === '{') return parseBraced(text, i)
  const name = NAME.exec(text.slice(i + 1))?.[0]
  if (name) return [{ name }, i + 1 + name.length]
  return [{ text: '$' }, i + 1]
}

function parseBraced(text: string, i: number): [Part, number] {
  const nameStart = i + 2
  const name = NAME.exec(text.slice(nameStart))?.[0]
  if (!name) throw invalid(text, nameStart >= text.length ? unclosed() : '"${" must be followed by a variable name')
  const after = nameStart + name.length
  if (text[after] === '}') return [{ name }, after + 1]
  if (after >= text.length) throw invalid(text, unclosed())
  const op = OPS.find((o) => text.startsWith(o, after))
  if (!op) throw invalid(text, `unsupported modifier ${quote(text[after]!)} after ${name} (supported: :- - :? ? :+ +)`)
  const [word, end] = parseParts(text, after + op.length, true)
  if (text[end] !== '}') throw invalid(text, unclosed())
  return [{ name, op, word }, end + 1]
}

function unclosed(): string {
  return '"${" is not closed by "}"'
}

function invalid(text: string, why: string): InterpolationError {
  return new InterpolationError(`invalid interpolation in ${quote(text)}: ${why}`)
}

interface EvalContext {
  lookup: Lookup
  unset: string[]
}

function evaluate(parts: readonly Part[], ctx: EvalContext): string {
  return parts.map((part) => ('text' in part ? part.text : substitute(part, ctx))).join('')
}

function substitute(part: { name: string; op?: Op; word?: Part[] }, ctx: EvalContext): string {
  const value = ctx.lookup(part.name)
  const word = (): string => evaluate(part.word ?? [], ctx)
  const set = value !== undefined
  const nonEmpty = set && value !== ''
  switch (part.op) {
    case undefined:
      if (!set) ctx.unset.push(part.name)
      return value ?? ''
    case ':-':
      return nonEmpty ? value : word()
    case '-':
      return set ? value : word()
    case ':?':
      return nonEmpty ? value : required(part.name, word())
    case '?':
      return set ? value : required(part.name, word())
    case ':+':
      return nonEmpty ? word() : ''
    case '+':
      return set ? word() : ''
  }
}

function required(name: string, message: string): never {
  const suffix = message === '' ? '' : `: ${message}`
  throw new InterpolationError(`required variable ${name} is missing a value${suffix}`)
}

/** Interpolates every string value of the tree; keys stay as written. */
export function interpolateTree(root: MapNode, lookup: Lookup): { root: MapNode; diagnostics: Diagnostics } {
  const diags = new Diagnostics()
  const walk = (node: Node, path: string): Node => {
    if (node.kind === 'map')
      return { ...node, entries: node.entries.map((e) => ({ ...e, value: walk(e.value, joinPath(path, e.key)) })) }
    if (node.kind === 'seq') return { ...node, items: node.items.map((item, i) => walk(item, joinPath(path, i))) }
    return interpolateScalar(node, { path, lookup, diags })
  }
  return { root: walk(root, '') as MapNode, diagnostics: diags }
}

function interpolateScalar(node: ScalarNode, ctx: { path: string; lookup: Lookup; diags: Diagnostics }): ScalarNode {
  if (typeof node.value !== 'string' || !node.value.includes('$')) return node
  const result = interpolateString(node.value, ctx.lookup)
  for (const name of new Set(result.unset)) ctx.diags.warn(node.loc, ctx.path, unsetMessage(name))
  if (result.error !== undefined) {
    ctx.diags.error(node.loc, ctx.path, result.error)
    return node
  }
  const value = result.value ?? ''
  return value === node.value ? node : { ...node, value, interpolated: true }
}

export function unsetMessage(name: string): string {
  return `variable ${name} is not set; using an empty string`
}
