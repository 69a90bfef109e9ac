/** Lambda (REST-JSON, signing name lambda): functions, permissions and invocation of their uploaded code. */
import { createHash, randomUUID } from 'node:crypto'
import { unzipSync } from 'fflate'
import { type Cloud, type EmulatorRequest, type EmulatorResponse, type FunctionInvoker, type LogSink, type ServiceModule } from '../../types.js'
import { matchRoute, type RestRoute } from '../../protocols/rest-routes.js'
import { jsonBody, restJson, restJsonError } from '../../protocols/rest-json.js'
import { num, obj, str } from '../../protocols/json-rpc.js'
import { onStop } from '../../core/hooks.js'
import { LambdaExecutor, type CodeSnapshot, type InvokeResult } from './exec.js'
import { allowsInvoke, buildStatement, policyDocument, type PolicyStatement } from './policy.js'
import { LAMBDA_ERRORS, lambdaError } from './errors.js'

const F = '/2015-03-31/functions'
const ROUTES: RestRoute[] = [
  { method: 'POST', pattern: F, operation: 'CreateFunction' },
  { method: 'GET', pattern: F, operation: 'ListFunctions' },
  { method: 'GET', pattern: `${F}/{FunctionName}`, operation: 'GetFunction' },
  { method: 'DELETE', pattern: `${F}/{FunctionName}`, operation: 'DeleteFunction' },
  { method: 'GET', pattern: `${F}/{FunctionName}/configuration`, operation: 'GetFunctionConfiguration' },
  { method: 'PUT', pattern: `${F}/{FunctionName}/configuration`, operation: 'UpdateFunctionConfiguration' },
  { method: 'PUT', pattern: `${F}/{FunctionName}/code`, operation: 'UpdateFunctionCode' },
  { method: 'POST', pattern: `${F}/{FunctionName}/policy`, operation: 'AddPermission' },
  { method: 'GET', pattern: `${F}/{FunctionName}/policy`, operation: 'GetPolicy' },
  { method: 'DELETE', pattern: `${F}/{FunctionName}/policy/{StatementId}`, operation: 'RemovePermission' },
  { method: 'POST', pattern: `${F}/{FunctionName}/invocations`, operation: 'Invoke' },
  { method: 'POST', pattern: '/2017-03-31/tags/{Resource}', operation: 'TagResource' },
  { method: 'GET', pattern: '/2017-03-31/tags/{Resource}', operation: 'ListTags' },
  { method: 'DELETE', pattern: '/2017-03-31/tags/{Resource}', operation: 'UntagResource' }
]

/** Runtimes that can no longer be used to create functions (nodejs20.x blocked since 2026-08-31). */
const BLOCKED_RUNTIMES = /^(nodejs(\d|1\d|20)\.x|nodejs|nodejs4\.3(-edge)?|python2\.7|python3\.[6-9]|dotnetcore\d\.\d|dotnet6|ruby2\.\d|ruby3\.2|java8|go1\.x|provided)$/
const KNOWN_RUNTIMES = /^(nodejs\d+\.x|python3\.\d+|java\d+(\.al2)?|dotnet\d+|ruby3\.\d|provided(\.al2|\.al2023)?)$/
const ASYNC_RETRY_DELAYS_MS = [200, 400]

interface FnConfig {
  role: string
  runtime: string
  handler: string
  description: string
  timeout: number
  memorySize: number
  env: Record<string, string>
  architectures: string[]
}

interface Fn {
  name: string
  region: string
  arn: string
  config: FnConfig
  zip: Uint8Array
  codeSha256: string
  activeAt: number
  updateDoneAt: number
  /** What invocations run while an update is in progress. */
  previous?: CodeSnapshot
  revisionId: string
  lastModified: number
  policy: PolicyStatement[]
  /** Invocations run (sync and async, retries included) and how many of them failed. */
  stats: { invocations: number; errors: number }
  tags: Record<string, string>
}

interface State {
  functions: Map<string, Fn>
  executor: LambdaExecutor
}

interface Ctx {
  cloud: Cloud
  state: State
  req: EmulatorRequest
  params: Record<string, string>
}

type Handler = (ctx: Ctx) => EmulatorResponse | Promise<EmulatorResponse>

function lambdaTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000')
}

function functionArn(cloud: Cloud, region: string, name: string): string {
  return `arn:aws:lambda:${region}:${cloud.accountId}:function:${name}`
}

/** FunctionName as a name, a full ARN or a partial ARN (123456789012:function:name). */
function parseFunctionRef(ref: string, defaultRegion: string): { name: string; region: string } {
  const m = /^(?:arn:aws[a-z-]*:lambda:([a-z0-9-]+):)?(?:\d{12}:)?(?:function:)?([a-zA-Z0-9-_]+)(?::[$\w-]+)?$/.exec(ref)
  if (!m?.[2]) throw lambdaError('ValidationException', `1 validation error detected: Value '${ref}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern`)
  return { name: m[2], region: m[1] ?? defaultRegion }
}

function findFn(ctx: Ctx): Fn {
  const { name, region } = parseFunctionRef(ctx.params.FunctionName ?? '', ctx.req.region)
  const fn = ctx.state.functions.get(`${region}/${name}`)
  if (!fn) throw lambdaError('ResourceNotFoundException', `Function not found: ${functionArn(ctx.cloud, region, name)}`)
  return fn
}

function stateOf(fn: Fn): { State: string; StateReason?: string; StateReasonCode?: string } {
  if (Date.now() < fn.activeAt) return { State: 'Pending', StateReason: 'The function is being created.', StateReasonCode: 'Creating' }
  return { State: 'Active' }
}

function updateStatus(fn: Fn): Record<string, string> {
  if (Date.now() < fn.updateDoneAt) return { LastUpdateStatus: 'InProgress', LastUpdateStatusReason: 'The function is being updated.', LastUpdateStatusReasonCode: 'Updating' }
  return { LastUpdateStatus: 'Successful' }
}

function configuration(fn: Fn): Record<string, unknown> {
  const c = fn.config
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: c.runtime,
    Role: c.role,
    Handler: c.handler,
    CodeSize: fn.zip.byteLength,
    Description: c.description,
    Timeout: c.timeout,
    MemorySize: c.memorySize,
    LastModified: lambdaTime(fn.lastModified),
    CodeSha256: fn.codeSha256,
    Version: '$LATEST',
    Environment: { Variables: c.env },
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: fn.revisionId,
    ...stateOf(fn),
    ...updateStatus(fn),
    PackageType: 'Zip',
    Architectures: c.architectures,
    EphemeralStorage: { Size: 512 },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${fn.name}` }
  }
}

function decodeZip(value: unknown): Uint8Array {
  if (typeof value !== 'string' || value === '') throw lambdaError('InvalidParameterValueException', 'Please provide a source for function code.')
  const zip = new Uint8Array(Buffer.from(value, 'base64'))
  try {
    unzipSync(zip)
  } catch {
    throw lambdaError('InvalidParameterValueException', 'Could not unzip uploaded file. Please check your file, then try to upload again.')
  }
  return zip
}

function checkRole(cloud: Cloud, roleArn: string): void {
  const role = [...cloud.shared.roles.values()].find((r) => r.arn === roleArn)
  const cannot = lambdaError('InvalidParameterValueException', 'The role defined for the function cannot be assumed by Lambda.')
  if (!role) throw cannot
  if (Date.now() - role.createdAt < cloud.faults.rolePropagationSeconds * 1000) throw cannot
  let trust = role.assumeRolePolicyDocument
  try {
    trust = decodeURIComponent(trust)
  } catch {
    // already decoded
  }
  if (!trust.includes('lambda.amazonaws.com')) throw cannot
}

function checkRuntime(runtime: string | undefined): string {
  if (!runtime || !KNOWN_RUNTIMES.test(runtime)) {
    throw lambdaError('InvalidParameterValueException', `Value ${runtime ?? 'null'} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set`)
  }
  if (BLOCKED_RUNTIMES.test(runtime)) {
    throw lambdaError('InvalidParameterValueException', `The runtime parameter of ${runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.`)
  }
  return runtime
}

function sha256(zip: Uint8Array): string {
  return createHash('sha256').update(zip).digest('base64')
}

const RESERVED_ENV = /^(_HANDLER|_X_AMZN_TRACE_ID|AWS_DEFAULT_REGION|AWS_REGION|AWS_EXECUTION_ENV|AWS_LAMBDA_[A-Z_]+|AWS_ACCESS_KEY|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR)$/

function envVariables(body: Record<string, unknown>): Record<string, string> | undefined {
  if (!('Environment' in body)) return undefined
  const vars = obj(obj(body.Environment).Variables)
  const reserved = Object.keys(vars).filter((k) => RESERVED_ENV.test(k))
  if (reserved.length > 0) {
    throw lambdaError('InvalidParameterValueException', `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`)
  }
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)]))
}

function snapshot(fn: Fn): CodeSnapshot {
  return {
    key: `${fn.region}-${fn.name}-${fn.revisionId}`,
    functionName: fn.name,
    functionArn: fn.arn,
    region: fn.region,
    zip: fn.zip,
    handler: fn.config.handler,
    runtime: fn.config.runtime,
    env: fn.config.env,
    timeoutSec: fn.config.timeout,
    memoryMb: fn.config.memorySize
  }
}

function liveSnapshot(fn: Fn): CodeSnapshot {
  return Date.now() < fn.updateDoneAt && fn.previous ? fn.previous : snapshot(fn)
}

function checkFunctionName(name: string): string {
  if (!/^[a-zA-Z0-9-_]{1,64}$/.test(name)) {
    throw lambdaError('ValidationException', `1 validation error detected: Value '${name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length less than or equal to 64`)
  }
  return name
}

/** The configuration CreateFunction asks for, validated (runtime, role, environment). */
function newConfig(cloud: Cloud, body: Record<string, unknown>): FnConfig {
  const runtime = checkRuntime(str(body, 'Runtime'))
  const role = str(body, 'Role') ?? ''
  checkRole(cloud, role)
  return {
    role,
    runtime,
    handler: str(body, 'Handler') ?? 'index.handler',
    description: str(body, 'Description') ?? '',
    timeout: num(body, 'Timeout') ?? 3,
    memorySize: num(body, 'MemorySize') ?? 128,
    env: envVariables(body) ?? {},
    architectures: Array.isArray(body.Architectures) ? body.Architectures.map(String) : ['x86_64']
  }
}

const createFunction: Handler = (ctx) => {
  const body = jsonBody(ctx.req)
  const name = checkFunctionName(str(body, 'FunctionName') ?? '')
  const region = ctx.req.region
  const key = `${region}/${name}`
  if (ctx.state.functions.has(key)) throw lambdaError('ResourceConflictException', `Function already exist: ${name}`)
  const config = newConfig(ctx.cloud, body)
  const zip = decodeZip(obj(body.Code).ZipFile)
  const now = Date.now()
  const fn: Fn = {
    name,
    region,
    arn: functionArn(ctx.cloud, region, name),
    config,
    zip,
    codeSha256: sha256(zip),
    activeAt: now + ctx.cloud.simulation.functionPendingMs,
    updateDoneAt: 0,
    revisionId: randomUUID(),
    lastModified: now,
    policy: [],
    stats: { invocations: 0, errors: 0 },
    tags: Object.fromEntries(Object.entries(obj(body.Tags)).map(([k, v]) => [k, String(v)]))
  }
  ctx.state.functions.set(key, fn)
  return restJson(201, configuration(fn))
}

function assertUpdatable(ctx: Ctx, fn: Fn): void {
  if (Date.now() < fn.activeAt) {
    throw lambdaError('ResourceConflictException', `The operation cannot be performed at this time. The function is currently in the following state: Pending`)
  }
  if (Date.now() < fn.updateDoneAt) {
    throw lambdaError('ResourceConflictException', `The operation cannot be performed at this time. An update is in progress for resource: ${fn.arn}`)
  }
  const revision = str(jsonBody(ctx.req), 'RevisionId')
  if (revision && revision !== fn.revisionId) {
    throw lambdaError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id')
  }
}

function startUpdate(ctx: Ctx, fn: Fn): void {
  fn.previous = snapshot(fn)
  const now = Date.now()
  fn.updateDoneAt = now + Math.max(1, ctx.cloud.simulation.functionPendingMs)
  fn.lastModified = now
  fn.revisionId = randomUUID()
}

const updateFunctionConfiguration: Handler = (ctx) => {
  const fn = findFn(ctx)
  assertUpdatable(ctx, fn)
  const body = jsonBody(ctx.req)
  const role = str(body, 'Role')
  if (role !== undefined) checkRole(ctx.cloud, role)
  const runtime = str(body, 'Runtime')
  if (runtime !== undefined && runtime !== fn.config.runtime) checkRuntime(runtime)
  const env = envVariables(body)
  startUpdate(ctx, fn)
  const c = fn.config
  fn.config = {
    ...c,
    role: role ?? c.role,
    runtime: runtime ?? c.runtime,
    handler: str(body, 'Handler') ?? c.handler,
    description: str(body, 'Description') ?? c.description,
    timeout: num(body, 'Timeout') ?? c.timeout,
    memorySize: num(body, 'MemorySize') ?? c.memorySize,
    env: env ?? c.env
  }
  return restJson(200, configuration(fn))
}

const updateFunctionCode: Handler = (ctx) => {
  const fn = findFn(ctx)
  assertUpdatable(ctx, fn)
  const zip = decodeZip(jsonBody(ctx.req).ZipFile)
  startUpdate(ctx, fn)
  fn.zip = zip
  fn.codeSha256 = sha256(zip)
  return restJson(200, configuration(fn))
}

const getFunction: Handler = (ctx) => {
  const fn = findFn(ctx)
  const code = { RepositoryType: 'S3', Location: `${ctx.cloud.endpoint()}/_emulator/lambda-code/${fn.name}` }
  return restJson(200, { Configuration: configuration(fn), Code: code, Tags: fn.tags })
}

const deleteFunction: Handler = (ctx) => {
  const fn = findFn(ctx)
  ctx.state.functions.delete(`${fn.region}/${fn.name}`)
  ctx.state.executor.stopFunction(fn.arn)
  return { status: 204, headers: { 'x-amzn-requestid': randomUUID() } }
}

const listFunctions: Handler = (ctx) => {
  const fns = [...ctx.state.functions.values()].filter((f) => f.region === ctx.req.region)
  return restJson(200, { Functions: fns.map(configuration) })
}

const addPermission: Handler = (ctx) => {
  const fn = findFn(ctx)
  const body = jsonBody(ctx.req)
  const statementId = str(body, 'StatementId') ?? ''
  if (fn.policy.some((s) => s.Sid === statementId)) {
    throw lambdaError('ResourceConflictException', 'The statement id (sid) provided already exists. Please choose a new statement id, or remove the existing statement.')
  }
  const statement = buildStatement(
    { statementId, action: str(body, 'Action') ?? '', principal: str(body, 'Principal') ?? '', sourceArn: str(body, 'SourceArn'), sourceAccount: str(body, 'SourceAccount') },
    fn.arn
  )
  fn.policy.push(statement)
  return restJson(201, { Statement: JSON.stringify(statement) })
}

const getPolicy: Handler = (ctx) => {
  const fn = findFn(ctx)
  if (fn.policy.length === 0) throw lambdaError('ResourceNotFoundException', 'The resource you requested does not exist.')
  return restJson(200, { Policy: policyDocument(fn.policy), RevisionId: fn.revisionId })
}

const removePermission: Handler = (ctx) => {
  const fn = findFn(ctx)
  const sid = ctx.params.StatementId ?? ''
  const before = fn.policy.length
  fn.policy = fn.policy.filter((s) => s.Sid !== sid)
  if (fn.policy.length === before) throw lambdaError('ResourceNotFoundException', `Statement ${sid} is not found in resource policy.`)
  return { status: 204, headers: { 'x-amzn-requestid': randomUUID() } }
}

function fnByArn(ctx: Ctx): Fn {
  const arn = ctx.params.Resource ?? ''
  const fn = [...ctx.state.functions.values()].find((f) => f.arn === arn)
  if (!fn) throw lambdaError('ResourceNotFoundException', `Function not found: ${arn}`)
  return fn
}

const tagResource: Handler = (ctx) => {
  const fn = fnByArn(ctx)
  for (const [k, v] of Object.entries(obj(jsonBody(ctx.req).Tags))) fn.tags[k] = String(v)
  return { status: 204, headers: { 'x-amzn-requestid': randomUUID() } }
}

const untagResource: Handler = (ctx) => {
  const fn = fnByArn(ctx)
  for (const k of ctx.req.query.getAll('tagKeys')) delete fn.tags[k]
  return { status: 204, headers: { 'x-amzn-requestid': randomUUID() } }
}

const listTags: Handler = (ctx) => restJson(200, { Tags: fnByArn(ctx).tags })

const invoke: Handler = async (ctx) => {
  const fn = findFn(ctx)
  const payload = ctx.req.body.length === 0 ? '{}' : ctx.req.body.toString('utf8')
  try {
    JSON.parse(payload)
  } catch {
    throw lambdaError('InvalidRequestContentException', 'Could not parse request body into json: Could not parse payload into json')
  }
  const type = ctx.req.headers['x-amz-invocation-type'] ?? 'RequestResponse'
  if (type === 'DryRun') return { status: 204, headers: { 'x-amzn-requestid': randomUUID() } }
  if (type === 'Event') {
    queueAsync(ctx.cloud, ctx.state, fn, payload)
    return { status: 202, headers: { 'x-amzn-requestid': randomUUID() } }
  }
  if (Date.now() < fn.activeAt) {
    throw lambdaError('ResourceConflictException', 'The operation cannot be performed at this time. The function is currently in the following state: Pending')
  }
  const result = count(fn, await ctx.state.executor.invoke(liveSnapshot(fn), payload))
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': randomUUID() }
  if (!result.ok) headers['x-amz-function-error'] = 'Unhandled'
  return { status: 200, headers, body: result.payload }
}

function count(fn: Fn, result: InvokeResult): InvokeResult {
  fn.stats.invocations += 1
  if (!result.ok) fn.stats.errors += 1
  return result
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Async invocation: wait until Active, run, retry twice on error like Lambda (with short delays). */
function queueAsync(cloud: Cloud, state: State, fn: Fn, payload: string): void {
  const key = `${fn.region}/${fn.name}`
  const work = async (): Promise<void> => {
    for (let attempt = 0; attempt <= ASYNC_RETRY_DELAYS_MS.length; attempt++) {
      const current = state.functions.get(key)
      if (!current || !state.executor.accepting) return
      const wait = current.activeAt - Date.now()
      if (wait > 0) await sleep(wait)
      const result = await state.executor
        .invoke(liveSnapshot(current), payload)
        .then((r) => count(current, r))
        .catch(() => undefined)
      if (result?.ok) return
      const delay = ASYNC_RETRY_DELAYS_MS[attempt]
      if (delay === undefined) return
      await sleep(delay)
    }
  }
  void cloud.track(work())
}

const HANDLERS: Record<string, Handler> = {
  CreateFunction: createFunction,
  ListFunctions: listFunctions,
  GetFunction: getFunction,
  GetFunctionConfiguration: (ctx) => restJson(200, configuration(findFn(ctx))),
  DeleteFunction: deleteFunction,
  UpdateFunctionConfiguration: updateFunctionConfiguration,
  UpdateFunctionCode: updateFunctionCode,
  AddPermission: addPermission,
  GetPolicy: getPolicy,
  RemovePermission: removePermission,
  Invoke: invoke,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTags: listTags
}

function route(req: EmulatorRequest): { operation: string; params: Record<string, string> } {
  const match = matchRoute(ROUTES, req.method, req.path)
  if (!match) throw lambdaError('UnknownOperationException', `The emulator's Lambda does not implement ${req.method} ${req.path}`)
  return match
}

function invoker(cloud: Cloud, state: State): FunctionInvoker {
  const byArn = (arn: string): Fn | undefined => {
    const { name, region } = parseFunctionRef(arn, '')
    return state.functions.get(`${region}/${name}`)
  }
  return {
    allows(arn, principal, sourceArn) {
      const fn = byArn(arn)
      return fn !== undefined && allowsInvoke(fn.policy, principal, sourceArn)
    },
    invokeAsync(arn, payload) {
      const fn = byArn(arn)
      if (fn) queueAsync(cloud, state, fn, payload)
    }
  }
}

/**
 * Where the executor writes function output. A missing log group is created (a convenience: AWS
 * needs logs:CreateLogGroup on the execution role) only while the function exists: the last lines
 * of an invocation that outlives DeleteFunction must not bring back a log group deleted after it.
 */
function functionLogs(cloud: Cloud, state: State): LogSink | undefined {
  const sink = cloud.shared.logs
  if (!sink) return undefined
  return {
    append(target, events, options) {
      const name = target.group.replace(/^\/aws\/lambda\//, '')
      const exists = state.functions.has(`${target.region}/${name}`)
      sink.append(target, events, { createGroup: exists && options?.createGroup !== false })
    }
  }
}

export function createLambda(cloud: Cloud): ServiceModule {
  const state: State = {
    functions: new Map(),
    executor: new LambdaExecutor({ endpoint: () => cloud.endpoint(), logs: () => functionLogs(cloud, state) })
  }
  cloud.shared.functions = invoker(cloud, state)
  // the core runs stop handlers before it waits for background work: finish running invocations, take no new ones
  onStop(cloud, () => state.executor.drain())
  return {
    signingName: 'lambda',
    throttleCode: 'TooManyRequestsException',
    errors: LAMBDA_ERRORS,
    serverErrorCode: 'ServiceException',
    operation: (req) => route(req).operation,
    async handle(operation, req) {
      const handler = HANDLERS[operation]
      if (!handler) throw lambdaError('UnknownOperationException', `Unknown operation ${operation}`)
      return handler({ cloud, state, req, params: route(req).params })
    },
    error: (err) => restJsonError(err, err.code === 'TooManyRequestsException' ? { retryAfterSeconds: '1', Reason: 'CallerRateLimitExceeded' } : {}),
    state: () => [...state.functions.values()].map((f) => ({ ...configuration(f), policy: f.policy, ...f.stats })),
    close: () => state.executor.close()
  }
}
