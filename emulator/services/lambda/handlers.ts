/** Lambda's operations, one row each: functions, permissions, tags and invocation of their uploaded code. */
import { createHash, randomUUID } from 'node:crypto'
import { unzipSync } from 'fflate'
import type {
  AddPermissionRequest,
  AddPermissionResponse,
  CreateFunctionRequest,
  DeleteFunctionRequest,
  DeleteFunctionResponse,
  Environment,
  FunctionConfiguration,
  GetFunctionConfigurationRequest,
  GetFunctionRequest,
  GetFunctionResponse,
  GetPolicyRequest,
  GetPolicyResponse,
  InvocationRequest,
  InvocationResponse,
  ListFunctionsResponse,
  ListTagsRequest,
  ListTagsResponse,
  RemovePermissionRequest,
  TagResourceRequest,
  UntagResourceRequest,
  UpdateFunctionCodeRequest,
  UpdateFunctionConfigurationRequest
} from '@aws-sdk/client-lambda'
import type { Cloud } from '../../types.js'
import type { RestContext, RestHandler } from '../../protocols/rest.js'
import { concurrencyHandlers } from './concurrency.js'
import { lambdaError } from './errors.js'
import { esmHandlers } from './esm.js'
import { queueAsync } from './invoke.js'
import {
  configuration,
  count,
  fnKey,
  functionArn,
  liveSnapshot,
  parseFunctionRef,
  snapshot,
  type Fn,
  type FnConfig,
  type LambdaState
} from './model.js'
import { buildStatement, policyDocument } from './policy.js'

/** Runtimes that can no longer be used to create functions (nodejs20.x blocked since 2026-08-31). */
const BLOCKED_RUNTIMES =
  /^(nodejs(\d|1\d|20)\.x|nodejs|nodejs4\.3(-edge)?|python2\.7|python3\.[6-9]|dotnetcore\d\.\d|dotnet6|ruby2\.\d|ruby3\.2|java8|go1\.x|provided)$/
const KNOWN_RUNTIMES = /^(nodejs\d+\.x|python3\.\d+|java\d+(\.al2)?|dotnet\d+|ruby3\.\d|provided(\.al2|\.al2023)?)$/
const RESERVED_ENV =
  /^(_HANDLER|_X_AMZN_TRACE_ID|AWS_DEFAULT_REGION|AWS_REGION|AWS_EXECUTION_ENV|AWS_LAMBDA_[A-Z_]+|AWS_ACCESS_KEY|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR)$/
const PENDING =
  'The operation cannot be performed at this time. The function is currently in the following state: Pending'

function decodeZip(zip: Uint8Array | undefined): Uint8Array {
  if (!zip || zip.byteLength === 0)
    throw lambdaError('InvalidParameterValueException', 'Please provide a source for function code.')
  try {
    unzipSync(zip)
  } catch {
    throw lambdaError(
      'InvalidParameterValueException',
      'Could not unzip uploaded file. Please check your file, then try to upload again.'
    )
  }
  return zip
}

function checkRole(cloud: Cloud, roleArn: string): void {
  const role = [...cloud.shared.roles.values()].find((r) => r.arn === roleArn)
  const cannot = lambdaError(
    'InvalidParameterValueException',
    'The role defined for the function cannot be assumed by Lambda.'
  )
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
    throw lambdaError(
      'InvalidParameterValueException',
      `Value ${runtime ?? 'null'} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set`
    )
  }
  if (BLOCKED_RUNTIMES.test(runtime)) {
    throw lambdaError(
      'InvalidParameterValueException',
      `The runtime parameter of ${runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.`
    )
  }
  return runtime
}

function sha256(zip: Uint8Array): string {
  return createHash('sha256').update(zip).digest('base64')
}

function envVariables(environment: Environment | undefined): Record<string, string> | undefined {
  if (environment === undefined) return undefined
  const vars = environment.Variables ?? {}
  const reserved = Object.keys(vars).filter((k) => RESERVED_ENV.test(k))
  if (reserved.length > 0) {
    throw lambdaError(
      'InvalidParameterValueException',
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`
    )
  }
  return { ...vars }
}

function checkFunctionName(name: string): string {
  if (!/^[a-zA-Z0-9-_]{1,64}$/.test(name)) {
    throw lambdaError(
      'ValidationException',
      `1 validation error detected: Value '${name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length less than or equal to 64`
    )
  }
  return name
}

/** The configuration CreateFunction asks for, validated (runtime, role, environment). */
function newConfig(cloud: Cloud, input: CreateFunctionRequest): FnConfig {
  const runtime = checkRuntime(input.Runtime)
  const role = input.Role ?? ''
  checkRole(cloud, role)
  return {
    role,
    runtime,
    handler: input.Handler ?? 'index.handler',
    description: input.Description ?? '',
    timeout: input.Timeout ?? 3,
    memorySize: input.MemorySize ?? 128,
    env: envVariables(input.Environment) ?? {},
    architectures: input.Architectures ?? ['x86_64']
  }
}

function assertUpdatable(fn: Fn, revisionId: string | undefined): void {
  if (Date.now() < fn.activeAt) throw lambdaError('ResourceConflictException', PENDING)
  if (Date.now() < fn.updateDoneAt) {
    throw lambdaError(
      'ResourceConflictException',
      `The operation cannot be performed at this time. An update is in progress for resource: ${fn.arn}`
    )
  }
  if (revisionId && revisionId !== fn.revisionId) {
    throw lambdaError(
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id'
    )
  }
}

function startUpdate(cloud: Cloud, fn: Fn): void {
  fn.previous = snapshot(fn)
  const now = Date.now()
  fn.updateDoneAt = now + Math.max(1, cloud.simulation.functionPendingMs)
  fn.lastModified = now
  fn.revisionId = randomUUID()
}

function invocationPayload(payload: Uint8Array | undefined): string {
  const text = payload === undefined || payload.byteLength === 0 ? '{}' : Buffer.from(payload).toString('utf8')
  try {
    JSON.parse(text)
  } catch {
    throw lambdaError(
      'InvalidRequestContentException',
      'Could not parse request body into json: Could not parse payload into json'
    )
  }
  return text
}

export function handlers(cloud: Cloud, state: LambdaState): Record<string, RestHandler> {
  const find = (ref: string | undefined, ctx: RestContext): Fn => {
    const { name, region } = parseFunctionRef(ref ?? '', ctx.region)
    const fn = state.functions.get(fnKey(region, name))
    if (!fn) throw lambdaError('ResourceNotFoundException', `Function not found: ${functionArn(cloud, region, name)}`)
    return fn
  }
  const byArn = (arn: string | undefined): Fn => {
    const fn = [...state.functions.values()].find((f) => f.arn === arn)
    if (!fn) throw lambdaError('ResourceNotFoundException', `Function not found: ${arn ?? ''}`)
    return fn
  }
  return {
    ...concurrencyHandlers(cloud, state, find),
    ...esmHandlers(cloud, state, find),
    CreateFunction: (input: CreateFunctionRequest, ctx: RestContext): FunctionConfiguration => {
      const name = checkFunctionName(input.FunctionName ?? '')
      const key = fnKey(ctx.region, name)
      if (state.functions.has(key)) throw lambdaError('ResourceConflictException', `Function already exist: ${name}`)
      const config = newConfig(cloud, input)
      const zip = decodeZip(input.Code?.ZipFile)
      const now = Date.now()
      const fn: Fn = {
        name,
        region: ctx.region,
        arn: functionArn(cloud, ctx.region, name),
        config,
        zip,
        codeSha256: sha256(zip),
        activeAt: now + cloud.simulation.functionPendingMs,
        updateDoneAt: 0,
        revisionId: randomUUID(),
        lastModified: now,
        policy: [],
        stats: { invocations: 0, errors: 0 },
        tags: { ...input.Tags }
      }
      state.functions.set(key, fn)
      return configuration(fn)
    },
    ListFunctions: (_input: unknown, ctx: RestContext): ListFunctionsResponse => ({
      Functions: [...state.functions.values()].filter((f) => f.region === ctx.region).map(configuration)
    }),
    GetFunction: (input: GetFunctionRequest, ctx: RestContext): GetFunctionResponse => {
      const fn = find(input.FunctionName, ctx)
      const code = { RepositoryType: 'S3', Location: `${cloud.endpoint()}/_emulator/lambda-code/${fn.name}` }
      const concurrency =
        fn.reservedConcurrency === undefined
          ? {}
          : { Concurrency: { ReservedConcurrentExecutions: fn.reservedConcurrency } }
      return { Configuration: configuration(fn), Code: code, Tags: fn.tags, ...concurrency }
    },
    GetFunctionConfiguration: (input: GetFunctionConfigurationRequest, ctx: RestContext) =>
      configuration(find(input.FunctionName, ctx)),
    DeleteFunction: (input: DeleteFunctionRequest, ctx: RestContext): DeleteFunctionResponse => {
      const fn = find(input.FunctionName, ctx)
      state.functions.delete(fnKey(fn.region, fn.name))
      state.executor.stopFunction(fn.arn)
      return { StatusCode: 204 }
    },
    UpdateFunctionConfiguration: (
      input: UpdateFunctionConfigurationRequest,
      ctx: RestContext
    ): FunctionConfiguration => {
      const fn = find(input.FunctionName, ctx)
      assertUpdatable(fn, input.RevisionId)
      if (input.Role !== undefined) checkRole(cloud, input.Role)
      if (input.Runtime !== undefined && input.Runtime !== fn.config.runtime) checkRuntime(input.Runtime)
      const env = envVariables(input.Environment)
      startUpdate(cloud, fn)
      const c = fn.config
      fn.config = {
        ...c,
        role: input.Role ?? c.role,
        runtime: input.Runtime ?? c.runtime,
        handler: input.Handler ?? c.handler,
        description: input.Description ?? c.description,
        timeout: input.Timeout ?? c.timeout,
        memorySize: input.MemorySize ?? c.memorySize,
        env: env ?? c.env
      }
      return configuration(fn)
    },
    UpdateFunctionCode: (input: UpdateFunctionCodeRequest, ctx: RestContext): FunctionConfiguration => {
      const fn = find(input.FunctionName, ctx)
      assertUpdatable(fn, input.RevisionId)
      const zip = decodeZip(input.ZipFile)
      startUpdate(cloud, fn)
      fn.zip = zip
      fn.codeSha256 = sha256(zip)
      return configuration(fn)
    },
    AddPermission: (input: AddPermissionRequest, ctx: RestContext): AddPermissionResponse => {
      const fn = find(input.FunctionName, ctx)
      const statementId = input.StatementId ?? ''
      if (fn.policy.some((s) => s.Sid === statementId)) {
        throw lambdaError(
          'ResourceConflictException',
          'The statement id (sid) provided already exists. Please choose a new statement id, or remove the existing statement.'
        )
      }
      const statement = buildStatement(
        {
          statementId,
          action: input.Action ?? '',
          principal: input.Principal ?? '',
          sourceArn: input.SourceArn,
          sourceAccount: input.SourceAccount
        },
        fn.arn
      )
      fn.policy.push(statement)
      return { Statement: JSON.stringify(statement) }
    },
    GetPolicy: (input: GetPolicyRequest, ctx: RestContext): GetPolicyResponse => {
      const fn = find(input.FunctionName, ctx)
      if (fn.policy.length === 0)
        throw lambdaError('ResourceNotFoundException', 'The resource you requested does not exist.')
      return { Policy: policyDocument(fn.policy), RevisionId: fn.revisionId }
    },
    RemovePermission: (input: RemovePermissionRequest, ctx: RestContext) => {
      const fn = find(input.FunctionName, ctx)
      const sid = input.StatementId ?? ''
      const before = fn.policy.length
      fn.policy = fn.policy.filter((s) => s.Sid !== sid)
      if (fn.policy.length === before)
        throw lambdaError('ResourceNotFoundException', `Statement ${sid} is not found in resource policy.`)
    },
    TagResource: (input: TagResourceRequest) => {
      Object.assign(byArn(input.Resource).tags, input.Tags)
    },
    UntagResource: (input: UntagResourceRequest) => {
      const fn = byArn(input.Resource)
      for (const k of input.TagKeys ?? []) delete fn.tags[k]
    },
    ListTags: (input: ListTagsRequest): ListTagsResponse => ({ Tags: byArn(input.Resource).tags }),
    Invoke: async (input: InvocationRequest, ctx: RestContext): Promise<InvocationResponse> => {
      const fn = find(input.FunctionName, ctx)
      const payload = invocationPayload(input.Payload)
      const type = input.InvocationType ?? 'RequestResponse'
      if (type === 'DryRun') return { StatusCode: 204 }
      if (type === 'Event') {
        queueAsync(cloud, state, fn, payload)
        return { StatusCode: 202 }
      }
      if (Date.now() < fn.activeAt) throw lambdaError('ResourceConflictException', PENDING)
      if (fn.reservedConcurrency === 0)
        throw Object.assign(lambdaError('TooManyRequestsException', 'Rate Exceeded.'), {
          reason: 'ReservedFunctionConcurrentInvocationLimitExceeded'
        })
      const result = count(fn, await state.executor.invoke(liveSnapshot(fn), payload))
      return {
        StatusCode: 200,
        ExecutedVersion: '$LATEST',
        ...(result.ok ? {} : { FunctionError: 'Unhandled' }),
        Payload: new Uint8Array(Buffer.from(result.payload))
      }
    }
  }
}
