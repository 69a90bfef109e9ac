/**
 * `environment` in its two forms, list (`KEY=VAL`, `KEY`) and map
 * (`KEY: VAL`, `KEY:`), read as one list of located entries.
 */
import type { SourceLocation } from './model.js'
import { describe, type Entry, type MapNode, type Node, scalar } from './tree.js'

/** POSIX-style names: what a shell can export and every image can read. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export function envNameProblem(name: string): string | undefined {
  if (ENV_NAME.test(name)) return undefined
  return `${JSON.stringify(name)} is not a valid environment variable name (letters, digits and underscores, not starting with a digit)`
}

export interface EnvItemProblem {
  loc: SourceLocation
  index: number
  message: string
}

/** An entry of the list form knows its index, for messages about the item itself. */
export type EnvEntry = Entry & { index?: number }

export interface EnvEntries {
  entries: EnvEntry[]
  problems: EnvItemProblem[]
}

/** Entries of a list or map `environment`; a list item `KEY` alone has a null value. */
export function environmentEntries(node: Node): EnvEntries {
  if (node.kind === 'map') return { entries: node.entries, problems: [] }
  if (node.kind !== 'seq') return { entries: [], problems: [] }
  const result: EnvEntries = { entries: [], problems: [] }
  node.items.forEach((item, index) => {
    if (item.kind === 'scalar' && typeof item.value === 'string')
      result.entries.push({ ...listEntry(item.value, item.loc), index })
    else
      result.problems.push({
        loc: item.loc,
        index,
        message: `must be a string "KEY=value" or "KEY", got ${describe(item)}`
      })
  })
  return result
}

function listEntry(text: string, loc: SourceLocation): Entry {
  const eq = text.indexOf('=')
  if (eq < 0) return { key: text, keyLoc: loc, value: scalar(null, loc) }
  return { key: text.slice(0, eq), keyLoc: loc, value: scalar(text.slice(eq + 1), loc) }
}

/** The map form of an `environment`, later duplicates winning; undefined if an item is not a string. */
export function environmentMap(node: Node): MapNode | undefined {
  const { entries, problems } = environmentEntries(node)
  if (problems.length > 0 || (node.kind !== 'map' && node.kind !== 'seq')) return undefined
  const byKey = new Map<string, Entry>()
  for (const entry of entries) {
    byKey.delete(entry.key)
    byKey.set(entry.key, entry)
  }
  return { kind: 'map', entries: [...byKey.values()], loc: node.loc }
}
