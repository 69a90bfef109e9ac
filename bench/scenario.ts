/**
 * One action run against the emulator, measured: the bundled action (`node dist/index.js`,
 * as GitHub runs it) with its own access key, so its calls can be told apart from the DNS
 * updater's (signed `lambda-...`) and the benchmark's own.
 */
import { performance } from 'node:perf_hooks'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Emulator } from '../emulator/server.js'
import { runAction } from '../emulator/github-runner.js'
import type { CallRecord } from '../emulator/types.js'

export const REGION = 'us-east-1'
export const PROJECT = 'prj-bench'
/** The action's access key in every benchmark run. */
export const ACTION_KEY = 'AKIABENCHACTION'
/** The benchmark's own observation calls (DNS polling) use this key. */
export const OBSERVER_KEY = 'AKIABENCHOBSERVER'

export type Command = 'deploy' | 'plan' | 'destroy'

export interface PhaseInput {
  workspace: string
  stack: string
  command: Command
  wait: boolean
  /** More inputs (volumes-on-destroy, ...). */
  inputs?: Record<string, string>
  /** More of the step's environment (a docker stand-in first on PATH). */
  env?: Record<string, string>
}

export interface PhaseFigures {
  ok: boolean
  wallMs: number
  reads: number
  writes: number
  /** Calls answered with an error (retried or not), rate limiting included. */
  errors: number
  rateLimited: number
  calls: CallRecord[]
  outputs: Record<string, string>
  /** The end of the action's output when it failed. */
  failure?: string
}

export function writeCompose(workspace: string, text: string): void {
  writeFileSync(path.join(workspace, 'compose.yaml'), text)
}

function inputs(input: PhaseInput): Record<string, string> {
  return {
    project: PROJECT,
    stack: input.stack,
    region: REGION,
    'compose-file': 'compose.yaml',
    command: input.command,
    wait: String(input.wait),
    ...input.inputs
  }
}

/**
 * The longest run of the action's calls that stand one after another (each starts after the
 * previous one ended): the round trips observed in sequence, read from the call log.
 */
export function observedChain(calls: CallRecord[]): number {
  const spans = calls.map((c) => ({ start: c.time, end: c.time + c.durationMs })).sort((a, b) => a.end - b.end)
  let chain = 0
  let lastEnd = -Infinity
  for (const span of spans) {
    if (span.start < lastEnd) continue
    chain += 1
    lastEnd = span.end
  }
  return chain
}

export const actionCalls = (calls: CallRecord[]): CallRecord[] => calls.filter((c) => c.caller === ACTION_KEY)

/** Runs the action once; the emulator's call log is reset first and read after. */
export async function runPhase(emu: Emulator, input: PhaseInput): Promise<PhaseFigures> {
  emu.resetCalls()
  const started = performance.now()
  const run = await runAction({
    inputs: inputs(input),
    workspace: input.workspace,
    env: { ...input.env, AWS_ENDPOINT_URL: emu.endpoint, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: ACTION_KEY },
    compileCache: false // GitHub starts every run cold
  })
  const wallMs = performance.now() - started
  const calls = actionCalls(emu.calls())
  const ok = run.code === 0
  return {
    ok,
    wallMs,
    reads: calls.filter((c) => c.kind === 'read' && !c.rateLimited).length,
    writes: calls.filter((c) => c.kind === 'write' && !c.rateLimited).length,
    errors: calls.filter((c) => c.errorCode !== undefined).length,
    rateLimited: calls.filter((c) => c.rateLimited).length,
    calls,
    outputs: run.outputs,
    ...(ok ? {} : { failure: `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-15).join('\n') })
  }
}
