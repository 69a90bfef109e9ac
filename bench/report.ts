/** The benchmark's printed tables, its targets with PASS/FAIL, and the JSON written next to them. */
import type { ArtifactFigures } from './artifacts.js'
import { LATENCY_MS, type PhaseRow } from './deploys.js'
import type { DnsFigures } from './dns.js'
import type { RateLimitFigures } from './rate-limit.js'

export interface Results {
  startedAt: string
  durationS: number
  machine: { node: string; actionNode: string; platform: string; cpus: number; loadAverage: number[] }
  repeats: number
  deploys: PhaseRow[]
  dns: Omit<DnsFigures, 'waitedDeploy'> & {
    waitedDeploy: { services: number; ok: boolean; wallMs: number; reads: number; writes: number }
  }
  artifacts: ArtifactFigures
  rateLimited: RateLimitFigures
  targets: Target[]
}

export interface Target {
  name: string
  limit: string
  actual: string
  pass: boolean
}

const ms = (n: number): string => (Number.isFinite(n) ? String(Math.round(n)) : 'n/a')
const one = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a')
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

export function deployTable(rows: PhaseRow[]): string {
  const header = [
    'services',
    'phase',
    'reads',
    'writes',
    'calls/service',
    'ms @0',
    `ms @${LATENCY_MS}`,
    'depth',
    'chain'
  ]
  return table(
    header,
    rows.map((r) => [
      String(r.services),
      r.ok ? r.phase : `${r.phase} (FAILED)`,
      String(r.reads),
      String(r.writes),
      one(r.callsPerService),
      ms(r.ms0),
      ms(r.ms50),
      one(r.depth),
      String(r.chain)
    ])
  )
}

export function dnsTable(d: Results['dns']): string {
  return table(
    ['DNS updater', 'value'],
    [
      [
        'stack',
        `${d.services} services, deployed with wait: true in ${ms(d.waitedDeploy.wallMs)} ms (${d.waitedDeploy.reads} reads, ${d.waitedDeploy.writes} writes)`
      ],
      ['spot interruptions', String(d.interruptions)],
      ['state-change events matched', String(d.events)],
      ['Lambda API calls', `${d.lambdaCalls} (${d.callsPerEvent.toFixed(2)} per event)`],
      [
        'running -> IP in record (p50 / p95 / max)',
        `${ms(d.addMs.p50)} / ${ms(d.addMs.p95)} / ${ms(d.addMs.max)} ms over ${d.addMs.count}`
      ],
      [
        'shutting-down -> IP out of record (p50 / p95 / max)',
        `${ms(d.removeMs.p50)} / ${ms(d.removeMs.p95)} / ${ms(d.removeMs.max)} ms over ${d.removeMs.count}`
      ],
      ['not seen within 20 s', String(d.missed)]
    ]
  )
}

export function artifactTable(a: ArtifactFigures): string {
  return table(
    ['artifact', 'value'],
    [
      ['dist/index.js', mb(a.actionBytes)],
      ['dist/lambda/update-r53-record.zip', kb(a.lambdaZipBytes)],
      [
        `start-up: node dist/index.js, missing input (median of ${a.runs}, exit ${a.actionExitCode})`,
        `${ms(a.actionStartMs)} ms`
      ],
      [`start-up: node -e 0 (median of ${a.runs})`, `${ms(a.nodeStartMs)} ms`]
    ]
  )
}

export function rateLimitTable(r: RateLimitFigures): string {
  const top = r.buckets
    .slice(0, 5)
    .map((b) => `${b.bucket} ${b.calls} calls (burst ${b.burst}, ${b.rate}/s) -> ${b.seconds.toFixed(1)} s`)
  return table(
    ['rate limits on', 'value'],
    [
      [`${r.services}-service fresh deploy`, `${ms(r.wallMs)} ms, ${r.ok ? 'succeeded' : 'FAILED'}`],
      ['lower bound from the buckets alone', `${ms(r.boundMs)} ms`],
      ['calls through / throttled attempts', `${r.calls} / ${r.throttled}`],
      ['busiest buckets', top.join('; ')]
    ]
  )
}

function target(name: string, limit: string, actual: string, pass: boolean): Target {
  return { name, limit, actual, pass }
}

function deployTargets(rows: PhaseRow[]): Target[] {
  const out: Target[] = []
  for (const r of rows.filter((x) => x.phase === 'no-op redeploy')) {
    out.push(target(`no-op redeploy writes, ${r.services} services`, '0', String(r.writes), r.ok && r.writes === 0))
  }
  const noop100 = rows.find((r) => r.phase === 'no-op redeploy' && r.services === 100)
  if (noop100)
    out.push(
      target('no-op redeploy reads, 100 services', '<= 12', String(noop100.reads), noop100.ok && noop100.reads <= 12)
    )
  for (const r of rows.filter((x) => x.phase === 'fresh deploy')) {
    // a 0 ms run slower than the 50 ms one was CPU-bound: its depth measures nothing, so it cannot pass
    const valid = r.depth > 0
    const actual = `${one(r.depth)}${valid ? '' : ' (not measured: the 0 ms run was CPU-bound)'}, chain ${r.chain}`
    out.push(target(`fresh deploy depth, ${r.services} services`, '<= 12', actual, r.ok && valid && r.depth <= 12))
  }
  return out
}

export function targets(results: Omit<Results, 'targets'>): Target[] {
  const a = results.artifacts
  return [
    ...deployTargets(results.deploys),
    target('DNS updater calls per event', '<= 3', results.dns.callsPerEvent.toFixed(2), results.dns.callsPerEvent <= 3),
    target('dist/index.js size', '<= 3 MB', mb(a.actionBytes), a.actionBytes <= 3 * 1024 * 1024),
    target('Lambda zip size', '<= 20 KB', kb(a.lambdaZipBytes), a.lambdaZipBytes <= 20 * 1024),
    target(
      'rate-limited 100-service deploy finishes',
      'succeeds',
      results.rateLimited.ok ? 'succeeded' : 'failed',
      results.rateLimited.ok
    )
  ]
}

export function targetTable(list: Target[]): string {
  return table(
    ['target', 'limit', 'actual', 'result'],
    list.map((t) => [t.name, t.limit, t.actual, t.pass ? 'PASS' : 'FAIL'])
  )
}

export function render(results: Results): string {
  const m = results.machine
  return [
    `hyperform-action benchmarks, ${results.startedAt}; node ${m.node} (the action on ${m.actionNode}), ${m.platform}, ${m.cpus} CPUs, load average ${m.loadAverage.map((n) => n.toFixed(1)).join(' ')}`,
    '',
    `Deploys (the bundled action against the in-process emulator, wait: false so that the time is the action's own round trips;`,
    `counts are the action's calls only; times are the fastest of ${results.repeats} runs; depth = (ms @${LATENCY_MS} - ms @0) / ${LATENCY_MS};`,
    `chain = the longest run of the action's calls one after another in the ${LATENCY_MS} ms call log)`,
    '',
    deployTable(results.deploys),
    '',
    dnsTable(results.dns),
    '',
    artifactTable(results.artifacts),
    '',
    rateLimitTable(results.rateLimited),
    '',
    targetTable(results.targets),
    '',
    `Finished in ${results.durationS.toFixed(0)} s.`
  ].join('\n')
}
