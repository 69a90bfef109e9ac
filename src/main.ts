/**
 * The action's run: inputs, compose, desired state, current state, plan,
 * apply, outputs. Orchestration only; each step lives in its own module.
 */
import * as core from '@actions/core'
import { loadCompose } from './compose/index.js'
import type { ComposeModel } from './compose/model.js'
import {
  readEventPayload,
  readInputs,
  resolveStack,
  InputError,
  type ActionInputs,
  type InputsDraft,
  type StackSource
} from './inputs.js'
import { hostProblem, publicHost, scopeProblems, type StackScope } from './names.js'
import { publicPorts } from './container-ports.js'
import {
  commentMarker,
  decideCommand,
  forkProblem,
  pullRequestEvent,
  upsertComment,
  type PullRequestEvent
} from './github.js'
import { createClients } from './aws/clients.js'
import { imageProblems } from './aws/images.js'
import { launchesInto, outboundReport, resolveNetwork, withSubnetZones } from './aws/network.js'
import { findPublicZone } from './aws/public-zone.js'
import { Aws } from './aws/send.js'
import { buildDesired, statefulSpotWarnings } from './desired.js'
import { releaseStackImages, resolveImages } from './build/index.js'
import { platformProblems } from './build/plan.js'
import { readCurrent } from './current.js'
import { diff, destroyPlan } from './plan.js'
import type { CurrentState, DesiredState, Plan } from './state.js'
import { errorMessage } from './aws/errors.js'
import { readPrices } from './aws/prices.js'
import { readInterruptions } from './interruptions.js'
import { costChangeLine, currentFleet, desiredFleet, estimateCost, pricedTypes, type CostEstimate } from './cost.js'
import { applyPlan } from './apply.js'
import { waitForStack, type Rollout } from './wait.js'
import { shortageLine } from './spot-capacity.js'
import { lambdaCode } from './lambda-code.js'
import { annotate, fail, previewComment, printPlan, setOutputs, writeSummary, type RunReport } from './report.js'
import { buildReport, changeLines, driftLines } from './run-report.js'
import { readContainerLogs } from './container-logs.js'

interface Prepared {
  inputs: ActionInputs
  source: StackSource
  scope: StackScope
  model?: ComposeModel
  event?: PullRequestEvent
  /** Hides secret values in what the run quotes from containers. */
  mask: (line: string) => string
}

/**
 * Loads and validates the compose file(s); annotates every problem and throws if any is an error.
 * A destroy whose stack is known needs no compose file: its problems are only warnings then.
 */
async function loadModel(draft: InputsDraft, stackKnown: boolean): Promise<ComposeModel | undefined> {
  const result = await loadCompose({ files: draft.composeFiles, workspace: draft.workspace, env: process.env })
  annotate(result.warnings)
  if (result.ok) return result.model
  // destroy and logs need only the stack's name: a compose problem (a secret's variable unset in a logs step) is a warning
  if ((draft.command === 'destroy' || draft.command === 'logs') && stackKnown) {
    annotate(result.errors.map((d) => ({ ...d, severity: 'warning' as const })))
    return undefined
  }
  annotate(result.errors)
  throw new Error(`${result.errors.length} error(s) in ${draft.composeFiles.join(', ')}; nothing was changed in AWS`)
}

/**
 * Environment and inline secret values, masked in the job log (a second line of defence: the action
 * never prints them) and returned, so that what the action quotes elsewhere (a failed container's log
 * lines in the job summary and the preview comment) hides them too. A value that is part of a name the
 * log has to show (project, stack, service, image) is public already; masking it would only turn those
 * names into *** (the seed example's `wordpress` user).
 */
function maskEnvironment(model: ComposeModel | undefined, names: string[]): string[] {
  const shown = [...names, ...(model?.services ?? []).flatMap((s) => [s.name, s.image])]
  const masked: string[] = []
  for (const service of model?.services ?? []) {
    const secrets = service.secrets.flatMap((s) => (s.value === undefined ? [] : [s.value]))
    for (const value of [...Object.values(service.environment), ...secrets]) {
      for (const line of value.split('\n')) {
        if (line.trim().length >= 6 && !shown.some((name) => name.includes(line))) {
          core.setSecret(line)
          masked.push(line)
        }
      }
    }
  }
  return masked
}

/** Replaces every masked value in a line with ***, longest first. */
function masker(values: string[]): (line: string) => string {
  const sorted = [...new Set(values)].sort((a, b) => b.length - a.length)
  return (line) => sorted.reduce((text, value) => text.split(value).join('***'), line)
}

function checkScope(inputs: ActionInputs, model: ComposeModel | undefined): StackScope {
  const scope = { project: inputs.project, stack: inputs.stack, region: inputs.region }
  const problems = scopeProblems(scope, model?.services.map((s) => s.name) ?? [])
  const { domain } = inputs
  for (const service of domain ? (model?.services ?? []) : []) {
    const ports = publicPorts(service)
    for (const port of ports) {
      const problem = hostProblem(publicHost(scope, domain ?? '', service.name, ports.length > 1 ? port : undefined))
      if (problem) problems.push(`service "${service.name}": ${problem}`)
    }
  }
  if (model) problems.push(...platformProblems(model, inputs.instanceType))
  if (problems.length > 0) throw new InputError(problems)
  return scope
}

/** Everything that can be known without AWS; any problem stops the run before the first call. */
async function prepare(): Promise<Prepared | undefined> {
  const draft = readInputs()
  const event = pullRequestEvent(readEventPayload(), process.env)
  const decision = decideCommand({ command: draft.command, explicit: draft.commandExplicit, event })
  if (decision.skip) {
    core.info(`Nothing to do: ${decision.skip}.`)
    return undefined
  }
  const fork = decision.command === 'destroy' ? undefined : forkProblem(event, draft.allowForks)
  if (fork) throw new InputError([fork])
  const model = await loadModel(
    { ...draft, command: decision.command },
    draft.stack !== undefined || event !== undefined
  )
  const resolved = resolveStack({ ...draft, command: decision.command }, model?.name)
  const { source } = resolved
  // A closed pull request's preview takes its volumes with it; any other destroy keeps them unless told.
  const closed = decision.command === 'destroy' && !draft.commandExplicit && event?.action === 'closed'
  const inputs = { ...resolved.inputs, volumesOnDestroy: draft.volumesOnDestroy ?? (closed ? 'delete' : 'keep') }
  const masked = maskEnvironment(model, [inputs.project, inputs.stack])
  core.info(
    `hyperform ${inputs.command} (${decision.reason}): project ${inputs.project}, stack ${inputs.stack} (from ${source}), region ${inputs.region}`
  )
  return { inputs, source, scope: checkScope(inputs, model), model, event, mask: masker(masked) }
}

/** The groups the plan rolls to a new version (its instance refreshes). */
function rollouts(plan: Plan): Rollout[] {
  return plan.changes.flatMap((c) =>
    c.kind === 'instance-refresh' && c.action === 'create' && 'desired' in c && c.service
      ? [{ service: c.service, ...c.desired }]
      : []
  )
}

/**
 * What the stack costs as planned (and for plan, as it runs now): prices read while apply and the wait
 * run. An estimate never fails the run: a failure to read is a warning.
 */
async function estimateCosts(
  aws: Aws,
  desired: DesiredState,
  current: CurrentState,
  withBefore: boolean
): Promise<{ after: CostEstimate; before?: CostEstimate } | undefined> {
  const after = desiredFleet(desired, current)
  const before = withBefore ? currentFleet(current) : undefined
  try {
    const book = await readPrices(aws, {
      region: desired.scope.region,
      ...pricedTypes(before ? [after, before] : [after]),
      ...(after.zones ? { zones: after.zones } : {}),
      loadBalancer: after.loadBalancer !== undefined || before?.loadBalancer !== undefined
    })
    return { after: estimateCost(after, book), ...(before ? { before: estimateCost(before, book) } : {}) }
  } catch (err) {
    core.warning(`cost estimate: ${errorMessage(err)}`)
    return undefined
  }
}

async function execute(prepared: Prepared): Promise<RunReport> {
  const { inputs, scope, model } = prepared
  const clients = createClients({ region: inputs.region })
  const deploying = model !== undefined && inputs.command !== 'destroy'
  // A plan, or a deploy that waits, also reads the records, the zone's SOA and the instances (one call each): the
  // wait judges readiness from them, and a record that does not list the running instances is drift.
  const instanceLevel = deploying && (inputs.command === 'plan' || inputs.wait)
  // They (and a destroy) also verify the instance roles, profiles and configurations (current.ts: verify).
  const reads = instanceLevel ? { records: true, instances: true, verify: true } : { verify: !deploying }
  const aws = new Aws(clients)
  // With a domain and a public service: its zone must be public (checked before any write), and the load
  // balancer takes a subnet in each of two zones.
  // With a domain, its zone is read even when no service is public: what a stack had there is found and removed.
  const front = deploying && model?.services.some((s) => s.public) ? inputs.domain : undefined
  const publicZone = deploying && inputs.domain ? await findPublicZone(aws, inputs.domain) : undefined
  // A service with volumes runs in their zone: the subnets' zones are read, and the volumes.
  const mounts = deploying && (model?.services ?? []).some((s) => (s.volumes ?? []).length > 0)
  const builds = deploying && (model?.services ?? []).some((s) => s.build)
  const [current, network, images] = await Promise.all([
    readCurrent(aws, scope, {
      ...reads,
      publicZone,
      destroy: inputs.command === 'destroy',
      volumes: mounts,
      images: builds
    }),
    deploying ? resolveNetwork(aws, inputs).then((n) => (front || mounts ? withSubnetZones(aws, n) : n)) : undefined,
    deploying && model ? imageProblems(aws, inputs, model) : []
  ])
  if (images.length > 0) throw new InputError(images)
  // Built images first: a failed build stops the run before anything of the stack changes.
  const built =
    builds && model
      ? await resolveImages({
          clients,
          scope,
          model,
          current,
          instanceType: inputs.instanceType,
          dryRun: inputs.command === 'plan',
          imagesKept: inputs.imagesKept,
          ...(process.env.GITHUB_SHA ? { commit: process.env.GITHUB_SHA } : {}),
          log: core.info,
          group: (title, lines) => {
            core.startGroup(title)
            for (const line of lines) core.info(line)
            core.endGroup()
          },
          secret: core.setSecret
        })
      : undefined
  const desired =
    model && network
      ? buildDesired({ inputs, model, network, lambdaCode: lambdaCode(), publicZone, ...(built ? { built } : {}) })
      : undefined
  const plan = desired
    ? diff(desired, current)
    : destroyPlan(current, scope, { volumesOnDestroy: inputs.volumesOnDestroy })
  for (const line of desired ? statefulSpotWarnings(desired) : []) core.warning(line)
  // Volumes that stay without a replica to use them (spare slots, a removed service, a destroy that keeps them).
  for (const c of plan.changes)
    if (c.kind === 'volume' && c.action === 'noop' && c.reason.startsWith('kept'))
      core.warning(`volume ${c.name}: ${c.reason}`)
  printPlan(changeLines(plan))
  const drift = driftLines(plan)
  if (drift.length > 0)
    core.warning(
      `drift: ${drift.length} resource(s) changed outside this action; ${inputs.command === 'plan' ? 'a deploy heals them' : 'healing them'}`
    )
  if (network && launchesInto(plan)) {
    const outbound = await outboundReport(aws, network)
    for (const warning of outbound.warnings) core.warning(warning)
    if (outbound.errors.length > 0) throw new InputError(outbound.errors)
  }
  const costs = desired ? estimateCosts(aws, desired, current, inputs.command === 'plan') : undefined
  const interruptions = desired
    ? readInterruptions(aws, scope).catch((err: unknown) => {
        core.warning(`spot interruptions: ${errorMessage(err)}`)
        return undefined
      })
    : undefined
  const since = Date.now()
  const applied = inputs.command === 'plan' ? undefined : await applyPlan(plan, { clients, desired, log: core.info })
  const released = inputs.command === 'destroy' ? await releaseStackImages(aws, current) : 0
  // Nothing written: the stack is as read, so the wait judges that first (no extra calls on a no-op).
  const seen =
    applied?.writes === 0 && current.instances && current.recordsRead
      ? { zoneId: current.zone?.id, asgs: current.asgs, instances: current.instances, records: current.records }
      : undefined
  const ready =
    desired && inputs.command === 'deploy' && inputs.wait
      ? await waitForStack({
          clients,
          desired,
          timeoutSeconds: inputs.waitTimeout,
          log: core.info,
          seen,
          rollouts: rollouts(plan),
          since,
          previous: current.launchTemplates,
          mask: prepared.mask,
          spotFallback: inputs.spotFallback
        })
      : undefined
  for (const shortage of ready?.spot ?? []) core.warning(shortageLine(shortage))
  const cost = await costs
  if (cost?.before) core.info(costChangeLine(cost.before, cost.after))
  return buildReport({
    inputs,
    source: prepared.source,
    model,
    current,
    plan,
    applied,
    ready,
    desired,
    cost: cost?.after,
    costBefore: cost?.before,
    interruptions: await interruptions,
    ...(built ? { images: built.reports } : {}),
    extraWrites: (built?.writes ?? 0) + released
  })
}

async function publish(prepared: Prepared, report: RunReport): Promise<void> {
  setOutputs(report)
  await writeSummary(report)
  const { event, inputs } = prepared
  if (event && inputs.githubToken) {
    const target = {
      token: inputs.githubToken,
      apiUrl: process.env.GITHUB_API_URL ?? 'https://api.github.com',
      repository: event.repository,
      number: event.number
    }
    const done = await upsertComment(target, {
      marker: commentMarker(inputs.project, inputs.stack),
      body: previewComment(report)
    })
    core.info(`Pull request #${event.number}: comment ${done}.`)
  }
  if (report.ready && !report.ready.ok)
    throw new Error(
      report.ready.failed
        ? `stack ${inputs.stack}: rollout failed:\n${report.ready.lines.join('\n')}`
        : `stack ${inputs.stack} not ready after ${inputs.waitTimeout}s:\n${report.ready.lines.join('\n')}`
    )
}

/** `command: logs`: the containers' last lines, a group per container in the job log. */
async function printLogs(prepared: Prepared): Promise<void> {
  const { inputs, scope } = prepared
  const aws = new Aws(createClients({ region: inputs.region }))
  const logs = await readContainerLogs(aws, scope, { lines: inputs.lines, service: inputs.service })
  if (logs.length === 0)
    core.info(`No container has logged in stack ${inputs.stack}${inputs.service ? ` for ${inputs.service}` : ''} yet.`)
  for (const log of logs) {
    core.startGroup(`${log.service} on ${log.instance}: last ${log.lines.length} line(s)`)
    for (const line of log.lines) core.info(line)
    core.endGroup()
  }
}

export async function run(): Promise<void> {
  try {
    const prepared = await prepare()
    if (!prepared) return
    if (prepared.inputs.command === 'logs') return await printLogs(prepared)
    const report = await execute(prepared)
    await publish(prepared, report)
  } catch (error) {
    await fail(error)
  }
}
