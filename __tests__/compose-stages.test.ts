/**
 * The stages on their own: parse keeps positions, merge and interpolation
 * keep the location of the value that wins, so any key path can be located.
 */
import { interpolateTree } from '../src/compose/interpolate.js'
import { mergeFiles } from '../src/compose/merge.js'
import { parseYaml } from '../src/compose/parse.js'
import { locate, type MapNode, quote } from '../src/compose/tree.js'
import { sortDiagnostics } from '../src/compose/index.js'

function root(text: string, file: string): MapNode {
  const parsed = parseYaml(text, file)
  if (!parsed.root) throw new Error(JSON.stringify(parsed.diagnostics))
  return parsed.root
}

const BASE = 'services:\n  web:\n    image: nginx:${TAG}\n    deploy:\n      replicas: 2\n'
const OVERRIDE = 'services:\n  web:\n    deploy:\n        replicas: 3\n'

describe('locating key paths', () => {
  it.each([
    ['a scalar value', ['services', 'web', 'image'], { file: 'a.yaml', line: 3, column: 12 }],
    ['a mapping value', ['services', 'web', 'deploy'], { file: 'a.yaml', line: 5, column: 7 }],
    [
      'the deepest existing node of a missing path',
      ['services', 'web', 'ports', 0],
      { file: 'a.yaml', line: 3, column: 5 }
    ]
  ])('finds %s in a parsed file', (_name, path, loc) => {
    expect(locate(root(BASE, 'a.yaml'), path)).toEqual(loc)
  })

  it('follows the value that wins a merge, and keeps a mapping where it was first declared', () => {
    const merged = mergeFiles([root(BASE, 'a.yaml'), root(OVERRIDE, 'b.yaml')])!
    expect(locate(merged, ['services', 'web', 'deploy', 'replicas'])).toEqual({ file: 'b.yaml', line: 4, column: 19 })
    expect(locate(merged, ['services', 'web', 'image'])).toEqual({ file: 'a.yaml', line: 3, column: 12 })
    expect(locate(merged, ['services', 'web'])).toEqual({ file: 'a.yaml', line: 3, column: 5 })
  })

  it('keeps the location of an interpolated value and reports problems there', () => {
    const { root: interpolated, diagnostics } = interpolateTree(root(BASE, 'a.yaml'), () => undefined)
    expect(locate(interpolated, ['services', 'web', 'image'])).toEqual({ file: 'a.yaml', line: 3, column: 12 })
    expect(diagnostics.list).toEqual([
      {
        severity: 'warning',
        file: 'a.yaml',
        line: 3,
        column: 12,
        path: 'services.web.image',
        message: 'variable TAG is not set; using an empty string'
      }
    ])
  })

  it('locates list items and values behind aliases at the anchor they come from', () => {
    const text = 'x-ports: &ports\n  - "80:80"\nservices:\n  web:\n    image: nginx\n    ports: *ports\n'
    expect(locate(root(text, 'c.yaml'), ['services', 'web', 'ports', 0])).toEqual({
      file: 'c.yaml',
      line: 2,
      column: 5
    })
  })
})

describe('parsing', () => {
  it('reports a duplicate key in a mapping merged in with << no more than the YAML merge rules allow', () => {
    const text = 'x-a: &a {image: a, command: x}\nservices:\n  web:\n    <<: *a\n    image: b\n'
    const parsed = parseYaml(text, 'c.yaml')
    expect(parsed.diagnostics).toEqual([])
    expect(locate(parsed.root!, ['services', 'web', 'image'])).toEqual({ file: 'c.yaml', line: 5, column: 12 })
    expect(locate(parsed.root!, ['services', 'web', 'command'])).toEqual({ file: 'c.yaml', line: 1, column: 29 })
  })

  it('reports an alias inside the collection it refers to', () => {
    expect(
      parseYaml('a: &x [*x]\n', 'c.yaml').diagnostics.map((d) => `${d.line}:${d.column} ${d.path}: ${d.message}`)
    ).toEqual(['1:8 a[0]: alias *x refers to a mapping or list that contains it'])
  })

  it('reports an unknown YAML tag as a warning', () => {
    expect(parseYaml('a: !!weird x\n', 'c.yaml').diagnostics.map((d) => [d.severity, d.line, d.path])).toEqual([
      ['warning', 1, '(yaml)']
    ])
  })
})

describe('messages', () => {
  it('cuts a very long offending value instead of printing all of it', () => {
    expect(quote('x'.repeat(500))).toBe(`"${'x'.repeat(200)}"... (500 characters)`)
  })

  it('sorts diagnostics by compose file in merge order, then by line and column', () => {
    const d = (file: string, line: number, column: number) => ({
      severity: 'error' as const,
      file,
      line,
      column,
      path: 'p',
      message: 'm'
    })
    const sorted = sortDiagnostics(
      [d('app.env', 1, 1), d('b.yaml', 1, 1), d('a.yaml', 9, 1), d('a.yaml', 2, 7), d('a.yaml', 2, 3)],
      ['a.yaml', 'b.yaml']
    )
    expect(sorted.map((x) => `${x.file}:${x.line}:${x.column}`)).toEqual([
      'a.yaml:2:3',
      'a.yaml:2:7',
      'a.yaml:9:1',
      'b.yaml:1:1',
      'app.env:1:1'
    ])
  })
})
