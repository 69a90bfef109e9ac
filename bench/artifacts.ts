/**
 * The shipped artifacts: bundle sizes, and the action's start-up time (how long
 * `node dist/index.js` takes to fail on a missing required input) next to `node -e 0`, both on
 * the Node GitHub runs the action with.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { actionBinary } from '../emulator/core/runtimes.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const ACTION_BUNDLE = path.join(ROOT, 'dist', 'index.js')
export const LAMBDA_ZIP = path.join(ROOT, 'dist', 'lambda', 'update-r53-record.zip')

export interface ArtifactFigures {
  actionBytes: number
  lambdaZipBytes: number
  runs: number
  /** Median ms for `node dist/index.js` to exit on a missing required input. */
  actionStartMs: number
  /** Median ms for `node -e 0` in the same run. */
  nodeStartMs: number
  /** The action's exit code in those runs (expected: 1, input error). */
  actionExitCode: number
}

function timeNode(args: string[], cwd: string): Promise<{ ms: number; code: number }> {
  const env = { PATH: process.env.PATH ?? '', HOME: cwd, GITHUB_WORKSPACE: cwd, AWS_EC2_METADATA_DISABLED: 'true' }
  const started = performance.now()
  const child = spawn(actionBinary(), args, { cwd, env, stdio: 'ignore' })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ ms: performance.now() - started, code: code ?? 1 }))
  })
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return NaN
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Alternates the two commands `runs` times each so that machine load hits both alike. */
export async function artifactFigures(runs = 9): Promise<ArtifactFigures> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-start-'))
  const action: number[] = []
  const node: number[] = []
  let actionExitCode = 0
  await timeNode(['-e', '0'], cwd) // warm the file cache
  await timeNode([ACTION_BUNDLE], cwd)
  for (let i = 0; i < runs; i += 1) {
    node.push((await timeNode(['-e', '0'], cwd)).ms)
    const run = await timeNode([ACTION_BUNDLE], cwd)
    action.push(run.ms)
    actionExitCode = run.code
  }
  return {
    actionBytes: statSync(ACTION_BUNDLE).size,
    lambdaZipBytes: statSync(LAMBDA_ZIP).size,
    runs,
    actionStartMs: median(action),
    nodeStartMs: median(node),
    actionExitCode
  }
}
