/**
 * The deploy matrix: for each generated compose size, a fresh deploy, a no-op redeploy,
 * a one-image-changed redeploy and a destroy, once with no injected latency and once with
 * LATENCY_MS per call; all with `wait: false`, so the time is the action's own round trips.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { median } from './artifacts.js'
import { generateCompose, serviceName } from './compose-gen.js'
import { observedChain, runPhase, writeCompose, type PhaseFigures, type PhaseInput } from './scenario.js'

export const LATENCY_MS = 50
export const PHASES = ['fresh deploy', 'no-op redeploy', 'no-op plan', 'one image changed', 'destroy'] as const
export type PhaseName = (typeof PHASES)[number]

export interface PhaseRow {
  services: number
  phase: PhaseName
  reads: number
  writes: number
  callsPerService: number
  ms0: number
  ms50: number
  /** (ms50 - ms0) / LATENCY_MS */
  depth: number
  /** The longest run of the action's calls one after another in the call log at LATENCY_MS (median of the repeats). */
  chain: number
  /** The action's reads by operation (first 0 ms run). */
  readsByOperation: Record<string, number>
  ok: boolean
  errors: number
  failure?: string
}

type Progress = (line: string) => void

function workspaceFor(services: number): string {
  return mkdtempSync(path.join(tmpdir(), `hyperform-bench-${services}-`))
}

/** Runs one phase with `latencyMs` injected for the action's run only, then lets background work settle. */
async function timedPhase(emu: Emulator, input: PhaseInput, latencyMs: number): Promise<PhaseFigures> {
  emu.setFaults({ latencyMs })
  try {
    return await runPhase(emu, input)
  } finally {
    emu.setFaults({ latencyMs: 0 })
    await emu.waitIdle()
  }
}

/**
 * Instances go running a while after their group is created, so that the DNS updater's
 * invocations (worker processes) mostly run after the action's measured run, not during it.
 */
const LAUNCH_DELAY_MS = 1500

/** The four phases against a fresh emulator at one latency. */
async function phasesAt(services: number, latencyMs: number, log: Progress): Promise<Map<PhaseName, PhaseFigures>> {
  const emu = await startEmulator({ simulation: { launchDelayMs: LAUNCH_DELAY_MS } })
  const workspace = workspaceFor(services)
  const stack = `st-bench-${services}`
  const out = new Map<PhaseName, PhaseFigures>()
  const base = { workspace, stack, wait: false }
  try {
    writeCompose(workspace, generateCompose({ services }))
    const steps: Array<[PhaseName, () => void, PhaseInput]> = [
      ['fresh deploy', () => undefined, { ...base, command: 'deploy' }],
      ['no-op redeploy', () => undefined, { ...base, command: 'deploy' }],
      // a plan verifies every resource (instance roles, profiles, configurations, records, instances)
      ['no-op plan', () => undefined, { ...base, command: 'plan' }],
      [
        'one image changed',
        () => writeCompose(workspace, generateCompose({ services, bumpImages: [serviceName(0)] })),
        { ...base, command: 'deploy' }
      ],
      ['destroy', () => undefined, { ...base, command: 'destroy' }]
    ]
    for (const [name, prepare, input] of steps) {
      prepare()
      const figures = await timedPhase(emu, input, latencyMs)
      log(
        `  ${services} services, ${latencyMs} ms: ${name} ${Math.round(figures.wallMs)} ms${figures.ok ? '' : ' FAILED'}`
      )
      out.set(name, figures)
    }
  } finally {
    await emu.stop()
  }
  return out
}

function countReads(calls: PhaseFigures['calls']): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const c of calls.filter((x) => x.kind === 'read' && !x.rateLimited))
    counts[c.operation] = (counts[c.operation] ?? 0) + 1
  return counts
}

const fastest = (runs: PhaseFigures[]): number => Math.min(...runs.map((r) => r.wallMs))

function row(services: number, phase: PhaseName, at: { zero: PhaseFigures[]; slow: PhaseFigures[] }): PhaseRow {
  const first = at.zero[0]
  const all = [...at.zero, ...at.slow]
  const ms0 = at.zero.length > 0 ? fastest(at.zero) : NaN
  const ms50 = at.slow.length > 0 ? fastest(at.slow) : NaN
  const calls = (first?.reads ?? 0) + (first?.writes ?? 0)
  const failure = all.find((r) => r.failure)?.failure
  return {
    services,
    phase,
    reads: first?.reads ?? 0,
    writes: first?.writes ?? 0,
    callsPerService: calls / services,
    ms0,
    ms50,
    depth: (ms50 - ms0) / LATENCY_MS,
    chain: median(at.slow.map((r) => observedChain(r.calls))),
    readsByOperation: countReads(first?.calls ?? []),
    ok: all.length > 0 && all.every((r) => r.ok),
    errors: first?.errors ?? 0,
    ...(failure ? { failure } : {})
  }
}

/**
 * Every phase at every size, `repeats` times at each latency (alternating, so that machine
 * load hits both alike): counts from the first 0 ms run, times the fastest of the repeats.
 */
export async function deployMatrix(sizes: number[], options: { repeats: number; log: Progress }): Promise<PhaseRow[]> {
  const rows: PhaseRow[] = []
  for (const services of sizes) {
    const zero: Array<Map<PhaseName, PhaseFigures>> = []
    const slow: Array<Map<PhaseName, PhaseFigures>> = []
    for (let i = 0; i < options.repeats; i += 1) {
      zero.push(await phasesAt(services, 0, options.log))
      slow.push(await phasesAt(services, LATENCY_MS, options.log))
    }
    const pick = (runs: Array<Map<PhaseName, PhaseFigures>>, phase: PhaseName): PhaseFigures[] =>
      runs.map((m) => m.get(phase)).filter((f): f is PhaseFigures => f !== undefined)
    for (const phase of PHASES) rows.push(row(services, phase, { zero: pick(zero, phase), slow: pick(slow, phase) }))
  }
  return rows
}
