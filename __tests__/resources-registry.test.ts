/** The registry of resource kinds: dependency order, removal order, completeness, and the README's copy of it. */
import { readFileSync } from 'node:fs'
import { KINDS, KIND_ORDER, REMOVAL_ORDER, kindTable } from '../src/resources/index.js'
import { hostedZone } from '../src/resources/hosted-zone.js'
import type { KindOps } from '../src/resources/kind.js'

describe('the registry of resource kinds', () => {
  test('lists every kind after the kinds it depends on, so apply can walk it in order', () => {
    for (const [index, kind] of KIND_ORDER.entries()) {
      for (const dep of KINDS[kind].dependsOn) expect(KIND_ORDER.indexOf(dep)).toBeLessThan(index)
    }
  })

  test('removes groups before templates and security groups, records after them, and the zone last', () => {
    const at = (kind: (typeof KIND_ORDER)[number]): number => REMOVAL_ORDER.indexOf(kind)
    expect(REMOVAL_ORDER).toHaveLength(KIND_ORDER.length)
    expect(at('event-rule')).toBeLessThan(at('auto-scaling-group'))
    expect(at('auto-scaling-group')).toBeLessThan(at('launch-template'))
    expect(at('launch-template')).toBeLessThan(at('security-group'))
    expect(at('security-group')).toBeLessThan(at('dns-record'))
    expect(at('dns-record')).toBeLessThan(at('lambda-function'))
    expect(REMOVAL_ORDER.at(-1)).toBe('hosted-zone')
  })

  test('names each kind under its own key', () => {
    for (const kind of KIND_ORDER) expect(KINDS[kind].kind).toBe(kind)
  })

  test('makes a kind without remove, or a registry without a row, a compile error', () => {
    // @ts-expect-error a kind must say how it is removed
    const incomplete: KindOps<'hosted-zone'> = { ...hostedZone, remove: undefined }
    const { 'dns-record': _dropped, ...rest } = KINDS
    // @ts-expect-error every kind needs its row
    const partial: typeof KINDS = rest
    expect(incomplete.kind).toBe('hosted-zone')
    expect(Object.keys(partial)).not.toContain('dns-record')
  })

  test('is drawn in the README as it is', () => {
    const readme = readFileSync('README.md', 'utf8')
    const block = /<!-- kinds:start -->\n([\s\S]*?)\n<!-- kinds:end -->/.exec(readme)?.[1]
    expect(block).toBe(kindTable())
  })
})
