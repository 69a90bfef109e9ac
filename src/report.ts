/**
 * Everything the run tells the user: annotations, the plan table, step outputs
 * and the job summary. Environment values never reach any of them.
 */
import * as core from '@actions/core'
import { formatDiagnostic, type Diagnostic } from './compose/model.js'
import { denialsMarkdown, explainDenial, findDenials } from './aws/denied.js'
import { costChangeLine, HOURS_PER_MONTH, priceSourceLine, usd, type CostEstimate } from './cost.js'
import { INTERRUPTION_WINDOW_DAYS, type Interruptions } from './interruptions.js'
import type { ServiceFailure } from './state.js'
import type { ImageReport } from './build/index.js'

/** One line of a plan as the report shows it (a structural view of the engine's Change). */
export interface ChangeLine {
  action: string
  kind: string
  name: string
  reason: string
}

/** One EBS volume of the stack, as the run left it. */
export interface VolumeReport {
  service: string
  /** `<service>/<volume>/<slot>` */
  name: string
  id?: string
  /** created, in use, available, spare, kept, deleted, snapshot and deleted. */
  state: string
  reason: string
}

export interface ServiceReport {
  name: string
  image: string
  onDemand: number
  spot: number
  dnsName: string
  /** Private IPs of the running instances (as the DNS record should list them). */
  instances: string[]
  asgs: string[]
  /**
   * Where users reach a public service: its https URLs behind the load balancer, or (without a domain)
   * http://<public-ip>:<port> of each instance, which change when instances are replaced (`changing`).
   */
  urls: string[]
  changing?: boolean
}

export interface RunReport {
  project: string
  region: string
  stack: string
  stackSource: string
  command: string
  hostedZoneId?: string
  lambdaFunction: string
  services: ServiceReport[]
  /** Changes applied (or, for plan, planned); noops excluded. */
  changes: ChangeLine[]
  /** Differences nobody asked for: what was changed behind the action's back. */
  drift: ChangeLine[]
  writes: number
  /** Wait outcome, when the run waited; `failed`: the services whose rollout failed. */
  ready?: { ok: boolean; lines: string[]; failed?: ServiceFailure[]; spot?: string[] }
  /** What the stack's instances (and its share of the load balancer) cost: as deployed, or for plan as planned. */
  cost?: CostEstimate
  /** plan: what the stack costs now, before the deploy it plans. */
  costBefore?: CostEstimate
  /** Spot interruptions per service in the last days, from the DNS updater's log. */
  interruptions?: Interruptions
  /** The stack's volumes (named compose volumes), when it has any. */
  volumes?: VolumeReport[]
  /** The images of the services the compose file builds: built by this run, found in the registry, or to build. */
  images?: ImageReport[]
}

/** Summaries are capped at 1 MiB per step; keep well under it. */
const SUMMARY_LIMIT = 900 * 1024

export function annotate(diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    const properties = { file: d.file, startLine: d.line, startColumn: d.column, title: d.path }
    if (d.severity === 'error') core.error(formatDiagnostic(d), properties)
    else core.warning(formatDiagnostic(d), properties)
  }
}

function pad(cells: string[], widths: number[]): string {
  return cells
    .map((cell, i) => cell.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd()
}

/** The plan as an aligned text table, one line per resource, noops included. */
export function planTable(changes: readonly ChangeLine[]): string[] {
  const rows = changes.map((c) => [c.action, c.kind, c.name, c.reason])
  const header = ['ACTION', 'KIND', 'NAME', 'REASON']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  return [pad(header, widths), ...rows.map((r) => pad(r, widths))]
}

export function printPlan(changes: readonly ChangeLine[]): void {
  const counts = new Map<string, number>()
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1)
  const tally = [...counts].map(([action, n]) => `${n} ${action}`).join(', ') || 'nothing'
  core.startGroup(`Plan: ${tally}`)
  for (const line of planTable(changes)) core.info(line)
  core.endGroup()
}

/** The `urls` output: service -> its URL, or its URLs when it has several (ports, or instance addresses). */
export function urlsOutput(report: RunReport): Record<string, string | string[]> {
  return Object.fromEntries(
    report.services
      .filter((s) => s.urls.length > 0)
      .map((s) => [s.name, s.urls.length === 1 && !s.changing ? (s.urls[0] ?? '') : s.urls])
  )
}

/** Markdown lines of the services' URLs (clickable), first in the summary and the preview comment. */
export function urlLines(report: RunReport): string[] {
  return report.services.flatMap((s) =>
    s.urls.length === 0
      ? []
      : [
          `- **${escapeCell(s.name)}**: ${s.urls.map((u) => `[${u}](${u})`).join(', ')}` +
            (s.changing ? ' (instance addresses: they change when instances are replaced)' : '')
        ]
  )
}

export function outputs(report: RunReport): Record<string, string> {
  const dnsNames = Object.fromEntries(report.services.map((s) => [s.name, s.dnsName]))
  return {
    'dns-names': JSON.stringify(dnsNames),
    urls: JSON.stringify(urlsOutput(report)),
    'hosted-zone-id': report.hostedZoneId ?? '',
    stack: report.stack,
    'lambda-function': report.lambdaFunction,
    changes: String(report.changes.length),
    'drift-detected': String(report.drift.length > 0),
    summary: JSON.stringify(report)
  }
}

export function setOutputs(report: RunReport): void {
  for (const [name, value] of Object.entries(outputs(report))) core.setOutput(name, value)
}

function escapeCell(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

function markdownTable(header: string[], rows: string[][]): string {
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(escapeCell).join(' | ')} |`)
  return lines.join('\n')
}

/** A code fence longer than any run of backticks in the lines, so no log line can close it. */
function fenced(lines: string[]): string {
  const longest = Math.max(2, ...lines.map((l) => Math.max(0, ...[...l.matchAll(/`+/g)].map((m) => m[0].length))))
  const fence = '`'.repeat(longest + 1)
  return [fence, ...lines, fence].join('\n')
}

/** One failed service: which, which version, what happened, what serves now, the container's last lines. */
export function failureMarkdown(f: ServiceFailure): string {
  const head = `**${escapeCell(f.service)}** \`${f.version}\` failed: ${escapeCell(f.reason)}. ${escapeCell(f.outcome)}.`
  if (f.lines.length === 0) return `${head}\n\nNo container log lines.`
  return `${head}\n\nLast ${f.lines.length} log line(s)${f.instance ? ` of ${f.instance}` : ''}:\n\n${fenced(f.lines)}`
}

/** The cost table: per service and in total, an hour, the saving of spot, a month. */
export function costMarkdown(cost: CostEstimate, before?: CostEstimate): string {
  const rows = cost.services.map((s) => [
    s.service,
    String(s.onDemand),
    String(s.spot),
    `${usd(s.hourly, true)}`,
    s.saving > 0 ? usd(s.saving, true) : '-',
    usd(s.hourly * HOURS_PER_MONTH)
  ])
  if (cost.loadBalancer)
    rows.push([
      `load balancer (1/${cost.loadBalancer.stacks})`,
      '',
      '',
      usd(cost.loadBalancer.hourly, true),
      '-',
      usd(cost.loadBalancer.hourly * HOURS_PER_MONTH)
    ])
  rows.push([
    '**total**',
    String(cost.services.reduce((n, s) => n + s.onDemand, 0)),
    String(cost.services.reduce((n, s) => n + s.spot, 0)),
    usd(cost.hourly, true),
    cost.saving.hourly > 0 ? usd(cost.saving.hourly, true) : '-',
    usd(cost.monthly)
  ])
  const lines = [
    markdownTable(['service', 'on-demand', 'spot', 'per hour', 'spot saves per hour', 'per month'], rows),
    ...(before ? [`Plan: ${costChangeLine(before, cost)}.`] : []),
    `Spot saves ${usd(cost.saving.monthly)} a month against every instance on demand. ${priceSourceLine(cost)} Storage, data transfer and load balancer capacity units are not counted.`,
    ...cost.notes.map((n) => `- ${n}`)
  ]
  return lines.join('\n\n')
}

/** Interruptions per service, or a line saying there were none (only for stacks with spot instances). */
export function interruptionsMarkdown(report: Pick<RunReport, 'interruptions' | 'services'>): string | undefined {
  const found = report.interruptions
  if (!found || (found.services.length === 0 && !report.services.some((s) => s.spot > 0))) return undefined
  const since = found.since.slice(0, 16).replace('T', ' ')
  if (found.services.length === 0) return `None since ${since} UTC.`
  return [
    markdownTable(
      ['service', 'interruption warnings', 'rebalance recommendations', 'reclaimed'],
      found.services.map((s) => [s.service, String(s.warnings), String(s.rebalances), String(s.reclaims)])
    ),
    `Since ${since} UTC, as the DNS updater logged them.`
  ].join('\n\n')
}

/** The job summary as markdown: services, drift, changes, readiness. */
export function summaryMarkdown(report: RunReport): string {
  const title = `hyperform ${report.command}: ${report.project} / ${report.stack} (${report.region})`
  const services = markdownTable(
    ['service', 'image', 'on-demand', 'spot', 'DNS name', 'instances', 'groups'],
    report.services.map((s) => [
      s.name,
      s.image,
      String(s.onDemand),
      String(s.spot),
      s.dnsName,
      s.instances.join(', ') || '-',
      s.asgs.join(', ')
    ])
  )
  const changeRows = (list: ChangeLine[]): string[][] => list.map((c) => [c.action, c.kind, c.name, c.reason])
  const urls = urlLines(report)
  const parts = [`## ${title}`, ...(urls.length > 0 ? ['### URLs', urls.join('\n')] : []), services]
  if (report.drift.length > 0)
    parts.push(
      '### Drift (changed outside this action, healed by deploy)',
      markdownTable(['action', 'kind', 'name', 'reason'], changeRows(report.drift))
    )
  parts.push(
    `### Changes (${report.changes.length}, ${report.writes} write calls)`,
    report.changes.length > 0
      ? markdownTable(['action', 'kind', 'name', 'reason'], changeRows(report.changes))
      : 'Nothing to change.'
  )
  if (report.images?.length)
    parts.push(
      '### Images',
      markdownTable(
        ['services', 'image', 'digest', 'size', 'build', 'why'],
        report.images.map((i) => [
          i.services.join(', '),
          `${i.repository}:${i.tag}`,
          i.digest ?? '-',
          i.sizeBytes !== undefined ? `${(i.sizeBytes / 1e6).toFixed(1)} MB` : '-',
          i.state === 'built' ? `built in ${i.seconds ?? 0} s` : i.state,
          i.reason
        ])
      )
    )
  if (report.volumes?.length)
    parts.push(
      '### Volumes',
      markdownTable(
        ['volume', 'id', 'state', 'detail'],
        report.volumes.map((v) => [v.name, v.id ?? '-', v.state, v.reason])
      )
    )
  if (report.cost) parts.push('### Cost (estimate)', costMarkdown(report.cost, report.costBefore))
  const interrupted = interruptionsMarkdown(report)
  if (interrupted) parts.push(`### Spot interruptions (last ${INTERRUPTION_WINDOW_DAYS} days)`, interrupted)
  if (report.ready?.failed?.length) {
    parts.push('### Failed rollouts', ...report.ready.failed.map(failureMarkdown))
    if (report.ready.spot?.length) parts.push('### Spot capacity', report.ready.spot.map((l) => `- ${l}`).join('\n'))
  } else if (report.ready)
    parts.push(`### ${report.ready.ok ? 'Ready' : 'Not ready'}`, report.ready.lines.map((l) => `- ${l}`).join('\n'))
  const text = parts.join('\n\n') + '\n'
  return text.length <= SUMMARY_LIMIT
    ? text
    : `${text.slice(0, SUMMARY_LIMIT)}\n\n(summary cut at ${SUMMARY_LIMIT} characters)\n`
}

export async function writeSummary(report: RunReport): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  await core.summary.addRaw(summaryMarkdown(report)).write()
}

/**
 * Fails the step; an error with `.problems` prints each one as its own annotation. An AWS
 * access denial also says which permission the role lacks, in an annotation of its own, in the
 * failure message and in the job summary, and points at docs/deployer-policy.json (or, for an
 * action only the public endpoints need, docs/deployer-policy-public-endpoints.json).
 */
export async function fail(error: unknown): Promise<void> {
  const problems = (error as { problems?: unknown }).problems
  if (Array.isArray(problems)) for (const p of problems) core.error(String(p))
  const denials = findDenials(error)
  const explained = denials.map((d) => explainDenial(d))
  for (const [i, d] of denials.entries())
    core.error(explained[i] ?? '', { title: `Missing AWS permission: ${d.action ?? d.code}` })
  if (denials.length > 0 && process.env.GITHUB_STEP_SUMMARY) {
    await core.summary
      .addRaw(denialsMarkdown(denials))
      .write()
      .catch((err: unknown) =>
        core.warning(`could not write the job summary: ${err instanceof Error ? err.message : String(err)}`)
      )
  }
  const message = error instanceof Error ? error.message : String(error)
  const cause =
    error instanceof Error && error.cause instanceof Error
      ? `\n  caused by ${error.cause.name}: ${error.cause.message}`
      : ''
  const why = explained.length > 0 ? `\n${explained.join('\n')}` : ''
  core.setFailed(`${message}${cause}${why}`)
}

/** The preview's cost, a day at a time (a preview lives days, not months). */
export function costPerDay(cost: CostEstimate): string {
  const saving = cost.saving.hourly > 0 ? ` (spot saves ${usd(cost.saving.hourly * 24)} a day)` : ''
  return `Cost: about ${usd(cost.hourly * 24)} a day${saving}.`
}

/** The pull request comment: services, DNS names, counts and the last change. */
export function previewComment(report: RunReport, at: Date = new Date()): string {
  const when = at.toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
  if (report.command === 'destroy') {
    return `### Preview stack \`${report.stack}\` destroyed\n\nEverything of stack \`${report.stack}\` in project \`${report.project}\` (${report.region}) was removed at ${when} (${report.changes.length} changes).\n`
  }
  const rows = report.services.map((s) => [s.name, `\`${s.dnsName}\``, String(s.onDemand), String(s.spot), s.image])
  const last =
    report.changes.length > 0
      ? `${report.changes.length} changes: ${report.changes
          .slice(0, 5)
          .map((c) => `${c.action} ${c.kind} ${c.name}`)
          .join(', ')}${report.changes.length > 5 ? ', ...' : ''}`
      : 'no changes'
  const failed = report.ready?.failed ?? []
  // The preview's address first: what a reviewer clicks.
  const first = report.services.find((s) => s.urls.length > 0 && !s.changing)?.urls[0]
  const urls = urlLines(report)
  return (
    [
      ...(first ? [`**[${first}](${first})**`] : []),
      ...(urls.length > 0 ? [urls.join('\n')] : []),
      `### Preview stack \`${report.stack}\` (${report.project}, ${report.region})`,
      markdownTable(['service', 'DNS name', 'on-demand', 'spot', 'image'], rows),
      `Last ${report.command} ${when}: ${last}.${report.drift.length > 0 ? ` Drift healed: ${report.drift.length}.` : ''}`,
      ...(report.cost ? [costPerDay(report.cost)] : []),
      ...(failed.length > 0 ? ['#### Failed rollouts', ...failed.map(failureMarkdown)] : [])
    ].join('\n\n') + '\n'
  )
}
