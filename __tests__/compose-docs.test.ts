/**
 * docs/compose.md must describe exactly the keys src/compose/support.ts decides about.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SUPPORTED, UNSUPPORTED } from '../src/compose/support.js'

const DOCS = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'compose.md'), 'utf8')

describe('docs/compose.md', () => {
  it.each(Object.entries(UNSUPPORTED))('has the row for %s with its level and reason', (key, support) => {
    expect(DOCS).toContain(`| \`${key}\` | ${support.level} | ${support.reason} |`)
  })

  it('lists no unsupported key that support.ts does not have', () => {
    const rows = [...DOCS.matchAll(/^\| `([^`]+)` \| (error|warning) \|/gm)].map((m) => m[1])
    expect(rows.sort()).toEqual(Object.keys(UNSUPPORTED).sort())
  })

  it('names every supported key', () => {
    const keys = [...SUPPORTED.top, ...SUPPORTED.service.map((k) => `services.*.${k}`), ...SUPPORTED.deploy.map((k) => `services.*.deploy.${k}`)]
    for (const key of keys) expect(DOCS).toContain(`\`${key}\``)
  })
})
