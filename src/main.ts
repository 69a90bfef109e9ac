/**
 * The action's run: inputs, compose, desired state, current state, plan,
 * apply, outputs. Orchestration only; each step lives in its own module.
 */
import * as core from '@actions/core'
import { loadCompose } from './compose/index.js'
import type { ComposeModel } from './compose/model.js'
import { readInputs, resolveStack, InputError, type ActionInputs, type InputsDraft } from './inputs.js'
import { scopeProblems, type StackScope } from './names.js'
import { createClients } from './aws/clients.js'
import { resolveNetwork } from './aws/network.js'
import { buildDesired } from './desired.js'
import { readCurrent } from './current.js'
import { diff, destroyPlan } from './plan.js'
import { applyPlan } from './apply.js'
import { waitForStack } from './wait.js'
import { lambdaCode } from './lambda-code.js'
import { annotate, fail, printPlan, setOutputs, writeSummary } from './report.js'
import { buildReport, changeLines, driftLines } from './summary.js'

/** Loads and validates the compose file(s); annotates every problem and throws if any is an error. */
async function loadModel(draft: InputsDraft): Promise<ComposeModel | undefined> {
  const result = await loadCompose({ files: draft.composeFiles, workspace: draft.workspace, env: process.env })
  annotate(result.warnings)
  if (result.ok) return result.model
  const missingForDestroy = draft.command === 'destroy' && draft.composeDefaulted && draft.stack !== undefined
  if (missingForDestroy) return undefined
  annotate(result.errors)
  throw new Error(`${result.errors.length} error(s) in ${draft.composeFiles.join(', ')}; nothing was changed in AWS`)
}

/** Masks environment values in the job log, as a second line of defence: the action never prints them. */
function maskEnvironment(model: ComposeModel | undefined): void {
  for (const service of model?.services ?? []) {
    for (const value of Object.values(service.environment)) {
      for (const line of value.split('\n')) if (line.trim().length >= 6) core.setSecret(line)
    }
  }
}

function checkScope(inputs: ActionInputs, model: ComposeModel | undefined): StackScope {
  const scope = { project: inputs.project, stack: inputs.stack, region: inputs.region }
  const problems = scopeProblems(scope, model?.services.map((s) => s.name) ?? [])
  if (problems.length > 0) throw new InputError(problems)
  return scope
}

export async function run(): Promise<void> {
  try {
    const draft = readInputs()
    const model = await loadModel(draft)
    maskEnvironment(model)
    const { inputs, source } = resolveStack(draft, model?.name)
    const scope = checkScope(inputs, model)
    core.info(`hyperform ${inputs.command}: project ${scope.project}, stack ${scope.stack} (${source}), region ${scope.region}`)

    const clients = createClients({ region: inputs.region })
    const deploying = model !== undefined && inputs.command !== 'destroy'
    const [current, network] = await Promise.all([
      readCurrent(clients, scope),
      deploying ? resolveNetwork(clients, inputs) : undefined
    ])
    const desired = deploying && network ? buildDesired({ inputs, model, network, lambdaCode: lambdaCode() }) : undefined
    const plan = desired ? diff(desired, current) : destroyPlan(current, scope)
    printPlan(changeLines(plan))

    const applied = inputs.command === 'plan' ? undefined : await applyPlan(plan, { clients, desired, log: core.info })
    const ready = desired && inputs.command === 'deploy' && inputs.wait
      ? await waitForStack({ clients, desired, timeoutSeconds: inputs.waitTimeout, log: core.info })
      : undefined

    const report = buildReport({ inputs, source, model, current, plan, applied, ready })
    setOutputs(report)
    await writeSummary(report)
    if (driftLines(plan).length > 0) core.warning(`drift: ${driftLines(plan).length} resource(s) had changed outside this action; ${inputs.command === 'plan' ? 'a deploy heals them' : 'healed'}`)
    if (ready && !ready.ok) throw new Error(`stack not ready after ${inputs.waitTimeout}s: ${ready.pending.join('; ')}`)
  } catch (error) {
    fail(error)
  }
}
