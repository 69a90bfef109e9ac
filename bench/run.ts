/**
 * `npm run bench`: runs the bundled action (dist/index.js) against an in-process emulator
 * and prints deploy, DNS updater, artifact and rate-limit figures with the targets, and
 * writes the same figures to bench/results.json.
 *
 * Environment: BENCH_REPEATS (runs per size and latency, default 3), BENCH_SIZES
 * (comma-separated service counts, default 1,10,100; the targets name 100),
 * BENCH_STORM_SIZES (services of 5 spot replicas in the reclaim storm, one run each,
 * default 5,20,40; the targets name 200 instances), BENCH_STORM_DEPLOY (services of the
 * deploy timed with and without the largest storm, default 100; 0 skips it), BENCH_ROLLOUTS
 * (failed rollouts measured, alternately a crashing and a never-healthy version, default 4).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, platform } from 'node:os'
import { fileURLToPath } from 'node:url'
import { actionBinary } from '../emulator/core/runtimes.js'
import { ACTION_BUNDLE, artifactFigures } from './artifacts.js'
import { deployMatrix } from './deploys.js'
import { dnsBench, warningBench } from './dns.js'
import { endpointBench } from './endpoints.js'
import { volumeBench } from './volumes.js'
import { buildBench } from './builds.js'
import { rateLimitedDeploy } from './rate-limit.js'
import { rolloutBench } from './rollouts.js'
import { render, targets, type Results } from './report.js'
import { stormBench } from './storm.js'

const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url))

function envNumbers(name: string, fallback: number[]): number[] {
  const raw = process.env[name]
  if (!raw) return fallback
  const values = raw.split(',').map((v) => Number(v.trim()))
  if (values.some((v) => !Number.isInteger(v) || v < 1))
    throw new Error(`${name}="${raw}": positive whole numbers, comma-separated`)
  return values
}

function envCount(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw.trim())
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}="${raw}": a whole number (0 skips)`)
  return value
}

/** EC2 reclaims two minutes after its warning; 20 s keeps the bench short and still far beyond the warning's handling. */
const WARNING_RECLAIM_MS = 20_000

const began = Date.now()
const progress = (line: string): void => {
  process.stderr.write(`[${String(Math.round((Date.now() - began) / 1000)).padStart(3)} s] ${line}\n`)
}

async function collect(): Promise<Omit<Results, 'targets' | 'durationS' | 'startedAt'>> {
  const sizes = envNumbers('BENCH_SIZES', [1, 10, 100])
  const repeats = envNumbers('BENCH_REPEATS', [3])[0] ?? 3
  const actionNode = execFileSync(actionBinary(), ['--version'], { encoding: 'utf8' }).trim()
  const machine = {
    node: process.version,
    actionNode,
    platform: platform(),
    cpus: cpus().length,
    loadAverage: loadavg()
  }
  progress('artifacts and start-up ...')
  const artifacts = await artifactFigures()
  progress('deploys ...')
  const deploys = await deployMatrix(sizes, { repeats, log: progress })
  progress('DNS updater churn ...')
  const { waitedDeploy, ...dns } = await dnsBench({ services: 10, interruptions: 50, intervalMs: 300 }, progress)
  const waited = {
    services: dns.services,
    ok: waitedDeploy.ok,
    wallMs: waitedDeploy.wallMs,
    reads: waitedDeploy.reads,
    writes: waitedDeploy.writes
  }
  progress('spot interruption warnings ...')
  const warnings = await warningBench(
    { services: 10, interruptions: 50, intervalMs: 300, reclaimDelayMs: WARNING_RECLAIM_MS },
    progress
  )
  progress('rate-limited deploy ...')
  const rateLimited = await rateLimitedDeploy(Math.max(...sizes), progress)
  progress('reclaim storm ...')
  const storm = await stormBench(
    { sizes: envNumbers('BENCH_STORM_SIZES', [5, 20, 40]), concurrentServices: envCount('BENCH_STORM_DEPLOY', 100) },
    progress
  )
  progress('failed rollouts ...')
  const rollouts = await rolloutBench(envCount('BENCH_ROLLOUTS', 4), progress)
  progress('public endpoints ...')
  const endpoints = await endpointBench(progress)
  progress('named volumes ...')
  const volumes = await volumeBench(progress)
  progress('images from source ...')
  const builds = await buildBench(progress)
  return {
    machine,
    repeats,
    artifacts,
    deploys,
    dns: { ...dns, waitedDeploy: waited },
    rateLimited,
    storm,
    rollouts,
    endpoints,
    warnings,
    volumes,
    builds
  }
}

async function main(): Promise<void> {
  if (!existsSync(ACTION_BUNDLE)) throw new Error('dist/index.js is missing: run npm run bundle')
  const started = Date.now()
  const startedAt = new Date(started).toISOString()
  const figures = await collect()
  const partial = { startedAt, durationS: (Date.now() - started) / 1000, ...figures }
  const results: Results = { ...partial, targets: targets(partial) }
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`)
  console.log(render(results))
  console.log(
    `\nFigures written to bench/results.json. Timings are from one machine under whatever load it had; compare runs on the same machine.`
  )
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error)
  process.exit(1)
})
