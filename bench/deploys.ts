/**
 * The deploy matrix: for each generated compose size, a fresh deploy, a no-op redeploy,
 * a one-image-changed redeploy and a destroy, once with no injected latency and once with
 * LATENCY_MS per call; all with `wait: false`, so the time is the action's own round trips.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { generateCompose, serviceName } from './compose-gen.js'
import { runPhase, writeCompose, type PhaseFigures, type PhaseInput } from './scenario.js'

export const LATENCY_MS = 50
export const PHASES = ['fresh deploy', 'no-op redeploy', 'one image changed', 'destroy'] as const
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

/** The four phases against a fresh emulator at one latency. */
async function phasesAt(services: number, latencyMs: number, log: Progress): Promise<Map<PhaseName, PhaseFigures>> {
  const emu = await startEmulator()
  const workspace = workspaceFor(services)
  const stack = `st-bench-${services}`
  const out = new Map<PhaseName, PhaseFigures>()
  const base = { workspace, stack, wait: false }
  try {
    writeCompose(workspace, generateCompose({ services }))
    const steps: Array<[PhaseName, () => void, PhaseInput]> = [
      ['fresh deploy', () => undefined, { ...base, command: 'deploy' }],
      ['no-op redeploy', () => undefined, { ...base, command: 'deploy' }],
      ['one image changed', () => writeCompose(workspace, generateCompose({ services, bumpImages: [serviceName(0)] })), { ...base, command: 'deploy' }],
      ['destroy', () => undefined, { ...base, command: 'destroy' }]
    ]
    for (const [name, prepare, input] of steps) {
      prepare()
      const figures = await timedPhase(emu, input, latencyMs)
      log(`  ${services} services, ${latencyMs} ms: ${name} ${Math.round(figures.wallMs)} ms${figures.ok ? '' : ' FAILED'}`)
      out.set(name, figures)
    }
  } finally {
    await emu.stop()
  }
  return out
}

function row(services: number, phase: PhaseName, at: { zero?: PhaseFigures; slow?: PhaseFigures }): PhaseRow {
  const zero = at.zero
  const slow = at.slow
  const ok = (zero?.ok ?? false) && (slow?.ok ?? false)
  const ms0 = zero?.wallMs ?? NaN
  const ms50 = slow?.wallMs ?? NaN
  const calls = (zero?.reads ?? 0) + (zero?.writes ?? 0)
  const failure = zero?.failure ?? slow?.failure
  return {
    services,
    phase,
    reads: zero?.reads ?? 0,
    writes: zero?.writes ?? 0,
    callsPerService: calls / services,
    ms0,
    ms50,
    depth: (ms50 - ms0) / LATENCY_MS,
    ok,
    errors: zero?.errors ?? 0,
    ...(failure ? { failure } : {})
  }
}

/** Every phase at every size: counts from the 0 ms run, times from both. */
export async function deployMatrix(sizes: number[], log: Progress): Promise<PhaseRow[]> {
  const rows: PhaseRow[] = []
  for (const services of sizes) {
    const zero = await phasesAt(services, 0, log)
    const slow = await phasesAt(services, LATENCY_MS, log)
    for (const phase of PHASES) rows.push(row(services, phase, { zero: zero.get(phase), slow: slow.get(phase) }))
  }
  return rows
}

/** The fresh deploy with `wait: true` (instances running, records written) at one size, 0 ms latency. */
export async function waitedDeploy(services: number, log: Progress): Promise<{ services: number; figures: PhaseFigures }> {
  const emu = await startEmulator()
  const workspace = workspaceFor(services)
  try {
    writeCompose(workspace, generateCompose({ services }))
    const figures = await runPhase(emu, { workspace, stack: `st-wait-${services}`, command: 'deploy', wait: true })
    log(`  ${services} services, wait: true: ${Math.round(figures.wallMs)} ms${figures.ok ? '' : ' FAILED'}`)
    return { services, figures }
  } finally {
    await emu.stop()
  }
}
