/**
 * docs/compose.md must describe exactly the keys of the key table (src/compose/keys.ts):
 * the supported ones, the ones it refuses or ignores with their reasons, and the merge rules.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { COMPOSE_KEYS, type KeyRule, type UnsupportedKey } from '../src/compose/keys.js'

const DOCS = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'compose.md'), 'utf8')
const KEYS = Object.entries(COMPOSE_KEYS)
const UNSUPPORTED = KEYS.filter((e): e is [string, UnsupportedKey] => e[1].level !== 'supported')
const SUPPORTED = KEYS.filter(([, rule]) => rule.level === 'supported').map(([key]) => key)

function section(title: string): string {
  const start = DOCS.indexOf(`\n## ${title}\n`)
  if (start < 0) throw new Error(`docs/compose.md has no section "${title}"`)
  const end = DOCS.indexOf('\n## ', start + 1)
  return DOCS.slice(start, end < 0 ? undefined : end)
}

function mergeOf(rule: KeyRule): string | undefined {
  return rule.level === 'supported' ? rule.merge : undefined
}

describe('docs/compose.md', () => {
  it.each(UNSUPPORTED)('has the row for %s with its level and reason', (key, support) => {
    expect(DOCS).toContain(`| \`${key}\` | ${support.level} | ${support.reason} |`)
  })

  it('lists no unsupported key that the key table does not have', () => {
    const rows = [...DOCS.matchAll(/^\| `([^`]+)` \| (error|warning) \|/gm)].map((m) => m[1])
    expect(rows.sort()).toEqual(UNSUPPORTED.map(([key]) => key).sort())
  })

  it('names every supported key in the table of supported keys, and no other', () => {
    const table = section('Supported keys')
    for (const key of SUPPORTED.filter((k) => !k.endsWith('.*'))) expect(table).toContain(`\`${key}\``)
    const named = [...table.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((m) =>
      [...m[1]!.matchAll(/`([^`]+)`/g)].map((k) => k[1]!)
    )
    expect(named.filter((k) => k !== 'x-*' && !SUPPORTED.includes(k))).toEqual([])
  })

  it('gives each key with a merge rule of its own that rule, and no other key one', () => {
    const rows = [...section('Merging several files').matchAll(/^\| `([^`]+)` \| (\w+) \|/gm)].map((m) => [
      m[1]!,
      m[2]!
    ])
    const rules = KEYS.filter(([, rule]) => mergeOf(rule) !== undefined).map(([key, rule]) => [key, mergeOf(rule)!])
    expect(rows.sort()).toEqual(rules.sort())
  })
})
