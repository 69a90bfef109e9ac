/**
 * The "Guarantees" section (README.md) names a
 * test for every line: each named file exists and holds a test of exactly that name.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './helpers/reliability.js'

function section(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const start = readme.search(/^## Guarantees$/m)
  if (start < 0) throw new Error('README.md has no "## Guarantees" section')
  const rest = readme.slice(start + 1)
  const end = rest.search(/^## /m)
  return end >= 0 ? rest.slice(0, end) : rest
}

/** `file`: "name", "name" ... -> pairs. */
function references(text: string): Array<{ line: string; file: string; name: string }> {
  const refs: Array<{ line: string; file: string; name: string }> = []
  for (const line of text.split('\n').filter((l) => l.startsWith('- '))) {
    const m = /`(__tests__\/[^`]+\.test\.ts)`[^:]*:\s*(.*)$/.exec(line)
    if (!m) continue
    for (const n of (m[2] ?? '').matchAll(/"((?:[^"\\]|\\.)*)"/g))
      refs.push({ line, file: m[1] ?? '', name: (n[1] ?? '').replace(/\\"/g, '"') })
  }
  return refs
}

describe('the Guarantees section', () => {
  const text = section()
  const lines = text.split('\n').filter((l) => l.startsWith('- '))

  test('every guarantee names the test file and the test that back it', () => {
    expect(lines.length).toBeGreaterThanOrEqual(10)
    expect(lines.filter((l) => references(l).length === 0)).toEqual([])
  })

  test('every named test exists under that name in that file', () => {
    const missing = references(text).filter((r) => {
      const file = path.join(ROOT, r.file)
      return (
        !existsSync(file) ||
        (!readFileSync(file, 'utf8').includes(r.name.replace(/"/g, '\\"')) &&
          !readFileSync(file, 'utf8').includes(r.name))
      )
    })
    expect(missing.map((r) => `${r.file}: ${r.name}`)).toEqual([])
  })
})
