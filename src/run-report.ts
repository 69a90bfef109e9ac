/**
 * Turns the run's plain data (inputs, compose model, current state, plan, apply and
 * wait results) into the report the user sees. Pure: no I/O.
 */
import type { ComposeModel, ServiceModel } from './compose/model.js'
import { publicPorts } from './container-ports.js'
import type { ActionInputs, StackSource } from './inputs.js'
import { asgName, CAPACITIES, functionName, recordName, type StackScope } from './names.js'
import type { CostEstimate } from './cost.js'
import type { Interruptions } from './interruptions.js'
import type { ImageReport } from './build/index.js'
import type { ChangeLine, RunReport, ServiceReport, VolumeReport } from './report.js'
import { shortageLine } from './spot-capacity.js'
import type {
  ApplyResult,
  Change,
  CurrentState,
  DesiredService,
  DesiredState,
  Plan,
  ServiceFailure,
  WaitResult
} from './state.js'

function line(change: Change): ChangeLine {
  return { action: change.action, kind: change.kind, name: change.name, reason: change.reason }
}

/** Every change of the plan, noops included, for the plan table. */
export function changeLines(plan: Plan): ChangeLine[] {
  return plan.changes.map(line)
}

/** The changes that heal drift: differences nobody asked for. */
export function driftLines(plan: Plan): ChangeLine[] {
  return plan.changes.filter((c) => c.action !== 'noop' && c.drift === true).map(line)
}

function intendedLines(plan: Plan): ChangeLine[] {
  return plan.changes.filter((c) => c.action !== 'noop').map(line)
}

function runningIps(current: CurrentState, service: string): string[] {
  const fromInstances = current.instances
    ?.filter((i) => i.service === service && i.state === 'running' && i.privateIp)
    .map((i) => i.privateIp!)
  return (fromInstances ?? []).sort()
}

function serviceNames(model: ComposeModel | undefined, current: CurrentState): string[] {
  if (model) return model.services.map((s) => s.name)
  return [...new Set(current.asgs.map((a) => a.service))].sort()
}

/**
 * A public service's URLs: its endpoints' behind the load balancer, else its instances' own
 * addresses (those in service when the run waited, else the running ones as read).
 */
function urlsOf(args: {
  service?: ServiceModel
  desired?: DesiredService
  current: CurrentState
  waited?: WaitResult['services'][number]
}): Pick<ServiceReport, 'urls' | 'changing'> {
  const { service, desired, current, waited } = args
  if (desired && desired.endpoints.length > 0) return { urls: desired.endpoints.map((e) => e.url) }
  const ports = service ? publicPorts(service) : []
  if (ports.length === 0) return { urls: [] }
  const ips =
    waited?.publicIps ??
    (current.instances ?? [])
      .filter((i) => i.service === service?.name && i.state === 'running' && i.publicIp)
      .map((i) => i.publicIp ?? '')
      .sort()
  return { urls: ips.flatMap((ip) => ports.map((port) => `http://${ip}:${port}`)), changing: true }
}

function serviceReport(args: {
  scope: StackScope
  name: string
  model?: ComposeModel
  desired?: DesiredService
  current: CurrentState
  ready?: WaitResult
}): ServiceReport {
  const { scope, name, model, current, ready } = args
  const service = model?.services.find((s) => s.name === name)
  const waited = ready?.services.find((s) => s.service === name)
  return {
    ...urlsOf({ service, desired: args.desired, current, waited }),
    name,
    image: service?.image ?? '',
    onDemand: service ? service.replicas - service.preemptible : 0,
    spot: service?.preemptible ?? 0,
    dnsName: recordName(scope, name),
    instances: waited ? [...waited.instanceIps].sort() : runningIps(current, name),
    asgs: CAPACITIES.map((capacity) => asgName(scope, name, capacity))
  }
}

/** A failed service's lines: what failed and why, what serves now, the container's last lines. */
function failureLines(f: ServiceFailure): string[] {
  const lines = [`${f.service}: version ${f.version} failed: ${f.reason}`, `  ${f.outcome}`]
  if (f.lines.length === 0) return [...lines, '  (no container log lines)']
  return [
    ...lines,
    `  last ${f.lines.length} log line(s)${f.instance ? ` of ${f.instance}` : ''}:`,
    ...f.lines.map((l) => `    ${l}`)
  ]
}

function readyLines(ready: WaitResult): string[] {
  const spot = (ready.spot ?? []).map(shortageLine)
  if (ready.failures.length > 0) return [...ready.failures.flatMap(failureLines), ...spot]
  return [
    ...ready.services.map((s) => {
      const record = s.recordValues.length > 0 ? `record lists ${s.recordValues.length}` : 'no record'
      return `${s.service}: ${s.running}/${s.desired} running, ${record}${s.ready ? '' : ' (not ready)'}`
    }),
    ...spot
  ]
}

export interface ReportInput {
  inputs: ActionInputs
  source: StackSource
  model?: ComposeModel
  current: CurrentState
  plan: Plan
  applied?: ApplyResult
  ready?: WaitResult
  /** The desired state (deploy and plan): the public services' URLs. */
  desired?: DesiredState
  cost?: CostEstimate
  costBefore?: CostEstimate
  interruptions?: Interruptions
  /** The images of the services the compose file builds. */
  images?: ImageReport[]
  /** Writes made outside apply: the builds' repositories and tags, a destroy's release of the stack's images. */
  extraWrites?: number
}

/** What became of each volume: what the plan said of it, and the id apply gave a new one. */
export function volumeReports(plan: Plan, applied: ApplyResult | undefined): VolumeReport[] {
  return plan.changes.flatMap((c): VolumeReport[] => {
    if (c.kind !== 'volume') return []
    const created = applied?.applied.find((a) => a.kind === 'volume' && a.name === c.name && a.action === 'create')
    const id = c.current?.id ?? created?.id
    const state =
      c.action === 'create'
        ? applied
          ? 'created'
          : 'to create'
        : c.action === 'delete'
          ? ('snapshot' in c && c.snapshot ? 'snapshot and deleted' : 'deleted') + (applied ? '' : ' (planned)')
          : c.reason.startsWith('kept')
            ? c.reason.includes('spare slot')
              ? 'spare'
              : 'kept'
            : c.current?.instance
              ? 'in use'
              : (c.current?.state ?? '')
    return [{ service: c.service ?? '', name: c.name, ...(id ? { id } : {}), state, reason: c.reason }]
  })
}

export function buildReport(input: ReportInput): RunReport {
  const { inputs, current, plan, applied, ready } = input
  const scope = { project: inputs.project, stack: inputs.stack, region: inputs.region }
  const destroyed = inputs.command === 'destroy'
  const createdZone = applied?.applied.find((a) => a.kind === 'hosted-zone' && a.action === 'create')?.id
  const volumes = volumeReports(plan, applied)
  return {
    project: inputs.project,
    region: inputs.region,
    stack: inputs.stack,
    stackSource: input.source,
    command: inputs.command,
    hostedZoneId: destroyed ? current.zone?.id : (createdZone ?? current.zone?.id),
    lambdaFunction: functionName(scope),
    services: serviceNames(input.model, current).map((name) =>
      serviceReport({
        scope,
        name,
        model: destroyed ? undefined : input.model,
        desired: destroyed ? undefined : input.desired?.services.find((s) => s.name === name),
        current,
        ready
      })
    ),
    changes: intendedLines(plan),
    drift: driftLines(plan),
    writes: (applied?.writes ?? 0) + (input.extraWrites ?? 0),
    ...(input.cost && !destroyed ? { cost: input.cost } : {}),
    ...(input.costBefore && !destroyed ? { costBefore: input.costBefore } : {}),
    ...(input.interruptions && !destroyed ? { interruptions: input.interruptions } : {}),
    ...(volumes.length > 0 ? { volumes } : {}),
    ...(input.images?.length ? { images: input.images } : {}),
    ...(ready
      ? {
          ready: {
            ok: ready.ready,
            lines: readyLines(ready),
            ...(ready.failures.length > 0 ? { failed: ready.failures } : {}),
            ...(ready.spot?.length ? { spot: ready.spot.map(shortageLine) } : {})
          }
        }
      : {})
  }
}
