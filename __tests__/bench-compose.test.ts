/**
 * The benchmark's compose generator: its files load with the action's own loader and
 * ask for what the generator says (services, replicas, spot counts, ports, environment).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { generateCompose, generateServices, instanceCounts, serviceName } from '../bench/compose-gen.js'
import { loadCompose } from '../src/compose/index.js'
import type { ComposeModel } from '../src/compose/index.js'

async function load(text: string): Promise<ComposeModel> {
  const workspace = mkdtempSync(path.join(tmpdir(), 'bench-compose-'))
  writeFileSync(path.join(workspace, 'compose.yaml'), text)
  const result = await loadCompose({ files: ['compose.yaml'], workspace, env: {} })
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'))
  expect(result.warnings).toEqual([])
  return result.model
}

describe('bench compose generator', () => {
  it.each([1, 10, 100])('%i services load with the intended counts', async (services) => {
    const model = await load(generateCompose({ services }))
    const expected = generateServices({ services })
    expect(model.services.map((s) => s.name)).toEqual(expected.map((s) => s.name))
    const counts = instanceCounts(expected)
    expect(model.services.reduce((n, s) => n + s.replicas, 0)).toBe(counts.instances)
    expect(model.services.reduce((n, s) => n + s.preemptible, 0)).toBe(counts.spot)
    for (const s of model.services) {
      const want = expected.find((e) => e.name === s.name)
      expect(s.image).toBe(want?.image)
      expect(s.preemptible).toBeLessThanOrEqual(s.replicas)
      expect(s.ports.length).toBe(want?.ports.length)
      expect(s.environment).toEqual(want?.environment)
    }
  })

  it('mixes replicas and spot counts', () => {
    const services = generateServices({ services: 10 })
    expect(new Set(services.map((s) => s.replicas))).toEqual(new Set([1, 2, 3]))
    expect(services.some((s) => s.preemptible === 0)).toBe(true)
    expect(services.some((s) => s.preemptible > 0 && s.preemptible < s.replicas)).toBe(true)
    expect(services.some((s) => s.preemptible > 0 && s.preemptible === s.replicas)).toBe(true)
  })

  it('gives every service the same sizing when asked (the storm: 5 replicas, all spot)', async () => {
    const sizing = { replicas: 5, preemptible: 5 }
    const model = await load(generateCompose({ services: 8, sizing }))
    expect(model.services).toHaveLength(8)
    for (const s of model.services) {
      expect(s.replicas).toBe(5)
      expect(s.preemptible).toBe(5)
    }
    expect(instanceCounts(generateServices({ services: 8, sizing }))).toEqual({ instances: 40, spot: 40 })
  })

  it('bumps only the named images', async () => {
    const before = await load(generateCompose({ services: 10 }))
    const after = await load(generateCompose({ services: 10, bumpImages: [serviceName(0)] }))
    const changed = after.services.filter((s, i) => s.image !== before.services[i]?.image).map((s) => s.name)
    expect(changed).toEqual([serviceName(0)])
  })
})
