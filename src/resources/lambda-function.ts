/** The DNS updater function: its code (the committed zip), configuration and environment (the zone id once known). */
import { readFile } from 'node:fs/promises'
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand
} from '@aws-sdk/client-lambda'
import { errorCode, errorMessage } from '../aws/errors.js'
import { readOptional, tolerate, type Aws } from '../aws/send.js'
import { canonicalJson } from '../json.js'
import { functionName } from '../names.js'
import type { CurrentState, DesiredState } from '../state.js'
import { othersExist } from './project-drift.js'
import type { KindOps, ReadContext, Removal, Upsert } from './kind.js'

export interface DesiredFunction {
  name: string
  roleName: string
  runtime: string
  handler: string
  timeout: number
  memorySize: number
  zipPath: string
  codeSha256: string
  /** Environment without ZONE_ID, which comes from the zone at apply time. */
  environment: Record<string, string>
  tags: Record<string, string>
}

export interface CurrentFunction {
  name: string
  arn: string
  runtime?: string
  handler?: string
  role?: string
  timeout?: number
  memorySize?: number
  codeSha256?: string
  environment: Record<string, string>
  state?: string
  lastUpdateStatus?: string
}

export type FunctionChange =
  | Upsert<'lambda-function', DesiredFunction, CurrentFunction, { codeChanged: boolean }>
  | Removal<'lambda-function', CurrentFunction>

/** The function's environment once the zone id is known (lambda/handler.ts lists these). */
export function functionEnvironment(base: Record<string, string>, zoneId: string): Record<string, string> {
  return { ...base, ZONE_ID: zoneId.replace(/^\/hostedzone\//, '') }
}

/** GetFunction, once per read (the zone read takes the zone id from its environment). */
export function readFunction(ctx: ReadContext): Promise<CurrentFunction | undefined> {
  const name = functionName(ctx.scope)
  return ctx.once('function', async () => {
    const out = await readOptional(`reading function ${name}`, ['ResourceNotFoundException'], () =>
      ctx.aws.send(new GetFunctionCommand({ FunctionName: name }))
    )
    const c = out?.Configuration
    if (!c) return undefined
    return {
      name,
      arn: c.FunctionArn ?? '',
      runtime: c.Runtime,
      handler: c.Handler,
      role: c.Role,
      timeout: c.Timeout,
      memorySize: c.MemorySize,
      codeSha256: c.CodeSha256,
      environment: { ...(c.Environment?.Variables ?? {}) },
      state: c.State,
      lastUpdateStatus: c.LastUpdateStatus
    }
  })
}

function functionFields(desired: DesiredState, current: CurrentState): string[] {
  const want = desired.project.function
  const have = current.function
  if (!have) return []
  const { accountId, partition } = current
  const roleArn = accountId && partition ? `arn:${partition}:iam::${accountId}:role/${want.roleName}` : undefined
  const env = current.zone ? functionEnvironment(want.environment, current.zone.id) : undefined
  const checks: Array<[string, boolean]> = [
    ['runtime', have.runtime === want.runtime],
    ['handler', have.handler === want.handler],
    ['role', roleArn !== undefined && have.role === roleArn],
    ['timeout', have.timeout === want.timeout],
    ['memorySize', have.memorySize === want.memorySize],
    ['environment', env !== undefined && canonicalJson(env) === canonicalJson(have.environment)]
  ]
  return checks.filter(([, ok]) => !ok).map(([field]) => field)
}

/** Runtime, handler, role, timeout and memory are the action's own constants: changed with the same code, by hand. */
const FIXED_FUNCTION_FIELDS = new Set(['runtime', 'handler', 'role', 'timeout', 'memorySize'])

const roleNotReady = (err: unknown): boolean =>
  errorCode(err) === 'InvalidParameterValueException' && /assume|role/i.test(errorMessage(err))
/** An update still running (ResourceConflictException), not "already exists". */
export const busy = (err: unknown): boolean =>
  errorCode(err) === 'ResourceConflictException' && !/already exist/i.test(errorMessage(err))

interface FunctionArgs {
  fn: DesiredFunction
  roleArn: string
  zoneId: string
}

function configuration(args: FunctionArgs) {
  return {
    FunctionName: args.fn.name,
    Runtime: args.fn.runtime as never,
    Handler: args.fn.handler,
    Role: args.roleArn,
    Timeout: args.fn.timeout,
    MemorySize: args.fn.memorySize,
    Environment: { Variables: functionEnvironment(args.fn.environment, args.zoneId) }
  }
}

async function readZip(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (err) {
    throw new Error(`reading the DNS updater bundle ${path}: ${errorMessage(err)}`, { cause: err })
  }
}

async function updateFunction(aws: Aws, args: FunctionArgs & { config: boolean; code: boolean }): Promise<string> {
  let arn = ''
  if (args.config) {
    const out = await aws.retryOn(
      (err) => busy(err) || roleNotReady(err),
      () => aws.send(new UpdateFunctionConfigurationCommand(configuration(args))),
      aws.timing.rolePropagationMs
    )
    arn = out.FunctionArn ?? ''
  }
  if (args.code) {
    const zip = await readZip(args.fn.zipPath)
    const out = await aws.retryOn(busy, () =>
      aws.send(new UpdateFunctionCodeCommand({ FunctionName: args.fn.name, ZipFile: zip }))
    )
    arn = out.FunctionArn ?? arn
  }
  return arn
}

/** Creates the function (retrying while the new role is not assumable yet) or adopts an existing one. */
async function createFunction(aws: Aws, args: FunctionArgs): Promise<string> {
  const zip = await readZip(args.fn.zipPath)
  try {
    const create = new CreateFunctionCommand({ ...configuration(args), Code: { ZipFile: zip }, Tags: args.fn.tags })
    const out = await aws.retryOn(roleNotReady, () => aws.send(create), aws.timing.rolePropagationMs)
    return out.FunctionArn ?? ''
  } catch (err) {
    if (errorCode(err) !== 'ResourceConflictException') throw err
    const existing = await aws.send(new GetFunctionCommand({ FunctionName: args.fn.name }))
    const code = existing.Configuration?.CodeSha256 !== args.fn.codeSha256
    return (await updateFunction(aws, { ...args, config: true, code })) || (existing.Configuration?.FunctionArn ?? '')
  }
}

export const lambdaFunction: KindOps<'lambda-function'> = {
  kind: 'lambda-function',
  noun: 'function',
  level: 'project',
  dependsOn: ['hosted-zone', 'iam-role', 'log-group'],
  removeAfter: [
    'lambda-permission',
    'event-source-mapping',
    'event-rule',
    'auto-scaling-group',
    'launch-template',
    'security-group',
    'dns-record'
  ],
  async read(ctx) {
    return { function: await readFunction(ctx) }
  },
  diff({ desired, current }) {
    const fn = desired.project.function
    const base = { kind: 'lambda-function' as const, name: fn.name, desired: fn, current: current.function }
    if (!current.function)
      return [
        {
          ...base,
          action: 'create',
          reason: `not found; ${fn.runtime}`,
          codeChanged: true,
          drift: othersExist(current, 'function')
        }
      ]
    const fields = functionFields(desired, current)
    const codeChanged = current.function.codeSha256 !== fn.codeSha256
    if (codeChanged) fields.push('code')
    if (fields.length === 0) return [{ ...base, action: 'noop', reason: 'up to date', codeChanged: false }]
    const reason =
      codeChanged && fields.length === 1 ? 'code changed (SHA-256 differs)' : `${fields.join(', ')} changed`
    const drift = !codeChanged && fields.some((f) => FIXED_FUNCTION_FIELDS.has(f))
    return [{ ...base, action: 'update', reason, fields, codeChanged, drift }]
  },
  removals({ current, destroy }) {
    return destroy && current.function
      ? [
          {
            kind: 'lambda-function',
            action: 'delete',
            name: current.function.name,
            reason: '',
            current: current.function
          }
        ]
      : []
  },
  async apply(change, { e, need }) {
    if (change.action === 'noop') return change.current?.arn ?? ''
    const [roleArn, zoneId] = await Promise.all([need('iam-role'), need('hosted-zone'), need('log-group')])
    const args = { fn: change.desired, roleArn, zoneId: zoneId ?? '' }
    const config = (change.fields ?? []).some((f) => f !== 'code')
    const arn =
      change.action === 'create'
        ? await createFunction(e, args)
        : (await updateFunction(e, { ...args, config, code: change.codeChanged })) || change.current?.arn || ''
    e.done({ kind: 'lambda-function', action: change.action, name: change.name, id: arn })
    return arn
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      if (change.current)
        await tolerate(['ResourceNotFoundException'], () =>
          e.retryOn(['ResourceConflictException'], () =>
            e.send(new DeleteFunctionCommand({ FunctionName: change.name }))
          )
        )
      e.done({ kind: 'lambda-function', action: 'delete', name: change.name })
    }
  }
}
