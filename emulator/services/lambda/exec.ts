/**
 * Lambda execution: each function code+configuration version runs in warm
 * Node worker processes (emulator/lambda-runner.mjs), one invocation at a
 * time per worker, like Lambda execution environments. The zip is extracted
 * to <tmp>/<key>/task with <tmp>/<key>/node_modules linking to the project's
 * node_modules, so handlers resolve @aws-sdk/* through a parent folder as on
 * AWS's Node runtimes.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { lambdaRuntimeBinary } from '../../core/runtimes.js'
import { unzipSync } from 'fflate'
import { LAMBDA_CALLER_PREFIX, type LogSink } from '../../types.js'

/** What an invocation runs: a function's code and configuration at one revision. */
export interface CodeSnapshot {
  /** Unique per function code+configuration revision. */
  key: string
  functionName: string
  functionArn: string
  region: string
  zip: Uint8Array
  handler: string
  runtime: string
  env: Record<string, string>
  timeoutSec: number
  memoryMb: number
}

export type InvokeResult =
  { ok: true; payload: string } | { ok: false; errorType: string; errorMessage: string; payload: string }

interface RunnerMessage {
  type: 'ready' | 'log' | 'raw' | 'result'
  message?: string
  id?: string
  ok?: boolean
  payload?: string
  errorType?: string
  errorMessage?: string
  trace?: string[]
}

interface Worker {
  child: ChildProcess
  busy: boolean
  idleTimer?: NodeJS.Timeout
  stream: string
  ready: Promise<void>
  exited: boolean
  onResult?: (msg: RunnerMessage) => void
  onExit?: () => void
}

interface Pool {
  snapshot: CodeSnapshot
  workers: Worker[]
  /** Workers being spawned for this pool. */
  starting: number
  dir?: Promise<string>
  /** Set when the function was deleted: invocations still queued for a worker are dropped, not run on fresh workers. */
  stopped?: boolean
}

export interface ExecutorOptions {
  endpoint: () => string
  logs: () => LogSink | undefined
  /**
   * How many invocations of a function may run at once: its reserved concurrency, else what the
   * account leaves unreserved (default 2). One worker process is one execution environment.
   */
  functionLimit?: (functionArn: string) => number
  /** Worker processes in all, the account's concurrency (default 6); idle workers of other functions are stopped to make room. */
  accountLimit?: () => number
  /** An idle worker is stopped after this long, like a reclaimed execution environment (default 60 s). */
  idleTimeoutMs?: number
  /**
   * The execution role's credentials a new worker gets (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
   * AWS_SESSION_TOKEN); throws when Lambda cannot assume the role. Without it, fixed dummy credentials.
   */
  credentials?: (snapshot: CodeSnapshot) => Record<string, string>
}

const HERE = path.dirname(fileURLToPath(import.meta.url))
const RUNNER = path.resolve(HERE, '..', '..', 'lambda-runner.mjs')

/** The project's node_modules, which the extracted function sees as its runtime's. */
function projectNodeModules(): string {
  let dir = HERE
  for (;;) {
    const candidate = path.join(dir, 'node_modules')
    if (existsSync(path.join(candidate, '@aws-sdk'))) return candidate
    const parent = path.dirname(dir)
    if (parent === dir) return path.resolve(HERE, '..', '..', '..', 'node_modules')
    dir = parent
  }
}

/** Extraction folders still on disk; removed when the process exits if close() was not called. */
const TEMP_DIRS = new Set<string>()

function removeAtExit(dir: string): string {
  if (TEMP_DIRS.size === 0) {
    process.once('exit', () => TEMP_DIRS.forEach((d) => rmSync(d, { recursive: true, force: true })))
  }
  TEMP_DIRS.add(dir)
  return dir
}

/** <dir>/task holds the zip's files; <dir>/node_modules links to the project's node_modules. */
async function extractFunction(dir: string, zip: Uint8Array): Promise<string> {
  const task = path.join(dir, 'task')
  await mkdir(task, { recursive: true })
  await symlink(projectNodeModules(), path.join(dir, 'node_modules'), 'dir').catch(() => undefined)
  for (const [name, data] of Object.entries(unzipSync(zip))) {
    const target = path.join(task, name)
    if (!target.startsWith(task + path.sep)) continue
    if (name.endsWith('/')) await mkdir(target, { recursive: true })
    else {
      await mkdir(path.dirname(target), { recursive: true })
      await writeFile(target, data)
    }
  }
  return task
}

function streamName(): string {
  const d = new Date()
  const day = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`
}

/** An invocation of a function whose reserved concurrency is 0: Lambda throttles every one. */
export class Throttled extends Error {
  constructor(functionName: string) {
    super(`Rate Exceeded. ${functionName} has a reserved concurrency of 0.`)
    this.name = 'Throttled'
  }
}

export class LambdaExecutor {
  private readonly pools = new Map<string, Pool>()
  /** Invocations waiting for a worker (woken whenever one is released). */
  private waiting: (() => void)[] = []
  private starting = 0
  private base?: Promise<string>
  private closed = false
  private draining = false
  private inflight = 0
  /** Invocations running now and the most that ever ran at once, by function ARN. */
  private readonly running = new Map<string, { now: number; peak: number }>()

  constructor(private readonly options: ExecutorOptions) {}

  /** False once the emulator is stopping: new invocations are refused. */
  get accepting(): boolean {
    return !this.closed && !this.draining
  }

  async invoke(snapshot: CodeSnapshot, payload: string): Promise<InvokeResult> {
    if (!this.accepting) throw new Error('emulator stopped')
    this.inflight += 1
    try {
      this.retireStale(snapshot)
      const pool = this.poolFor(snapshot)
      const worker = await this.acquire(pool)
      const running = this.running.get(snapshot.functionArn) ?? { now: 0, peak: 0 }
      this.running.set(snapshot.functionArn, running)
      running.now += 1
      running.peak = Math.max(running.peak, running.now)
      try {
        return await this.run(worker, snapshot, payload)
      } finally {
        running.now -= 1
        this.release(pool, worker)
      }
    } finally {
      this.inflight -= 1
      if (this.draining && this.inflight === 0) void this.close()
    }
  }

  /** Limits changed (reserved concurrency, account limit): let waiting invocations look again. */
  limitsChanged(): void {
    this.wake()
  }

  /** Invocations of the function running now, and the most that ran at once so far. */
  concurrency(functionArn: string): { running: number; peak: number } {
    const r = this.running.get(functionArn)
    return { running: r?.now ?? 0, peak: r?.peak ?? 0 }
  }

  /** Refuse new invocations and close once the running ones have finished (the emulator is stopping). */
  drain(): void {
    this.draining = true
    if (this.inflight === 0) void this.close()
  }

  /** Stop every worker of a function (deleted) or all workers. */
  stopFunction(functionArn: string): void {
    for (const [key, pool] of this.pools) {
      if (pool.snapshot.functionArn !== functionArn) continue
      pool.stopped = true
      pool.workers.forEach((w) => this.kill(w))
      this.pools.delete(key)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.wake()
    for (const pool of this.pools.values()) pool.workers.forEach((w) => this.kill(w))
    this.pools.clear()
    const base = await this.base?.catch(() => undefined)
    if (base) {
      await rm(base, { recursive: true, force: true })
      TEMP_DIRS.delete(base)
    }
  }

  private retireStale(snapshot: CodeSnapshot): void {
    for (const [key, pool] of this.pools) {
      if (pool.snapshot.functionArn !== snapshot.functionArn || key === snapshot.key) continue
      pool.workers.filter((w) => !w.busy).forEach((w) => this.kill(w))
      pool.workers = pool.workers.filter((w) => w.busy)
      if (pool.workers.length === 0) this.pools.delete(key)
    }
  }

  private poolFor(snapshot: CodeSnapshot): Pool {
    let pool = this.pools.get(snapshot.key)
    if (!pool) {
      pool = { snapshot, workers: [], starting: 0 }
      this.pools.set(snapshot.key, pool)
    }
    return pool
  }

  private liveWorkers(): number {
    let n = this.starting
    for (const pool of this.pools.values()) n += pool.workers.filter((w) => !w.exited).length
    return n
  }

  /** Make room under the total cap by stopping an idle worker of another revision or function. */
  private evictIdle(except: Pool): boolean {
    for (const pool of this.pools.values()) {
      if (pool === except) continue
      const idle = pool.workers.find((w) => !w.busy && !w.exited)
      if (idle) {
        this.kill(idle)
        pool.workers = pool.workers.filter((w) => w !== idle)
        return true
      }
    }
    return false
  }

  /** Executions of one function (every revision) running or starting now. */
  private functionBusy(functionArn: string): number {
    let n = 0
    for (const pool of this.pools.values()) {
      if (pool.snapshot.functionArn === functionArn)
        n += pool.starting + pool.workers.filter((w) => w.busy && !w.exited).length
    }
    return n
  }

  /** Executions of every function running or starting now. */
  private totalBusy(): number {
    let n = this.starting
    for (const pool of this.pools.values()) n += pool.workers.filter((w) => w.busy && !w.exited).length
    return n
  }

  /** Whether one more execution of the pool's function fits its limit and the account's (a lowered limit holds at once). */
  private hasRoom(pool: Pool): boolean {
    const limit = this.options.functionLimit?.(pool.snapshot.functionArn) ?? 2
    return (
      this.functionBusy(pool.snapshot.functionArn) < limit && this.totalBusy() < (this.options.accountLimit?.() ?? 6)
    )
  }

  private canSpawn(pool: Pool): boolean {
    return this.liveWorkers() < (this.options.accountLimit?.() ?? 6) || this.evictIdle(pool)
  }

  private async acquire(pool: Pool): Promise<Worker> {
    for (;;) {
      if (this.closed) throw new Error('emulator stopped')
      if (this.options.functionLimit?.(pool.snapshot.functionArn) === 0) throw new Throttled(pool.snapshot.functionName)
      if (pool.stopped) throw new Error(`function ${pool.snapshot.functionName} was deleted`)
      pool.workers = pool.workers.filter((w) => !w.exited)
      if (this.hasRoom(pool)) {
        const idle = pool.workers.find((w) => !w.busy)
        if (idle) {
          clearTimeout(idle.idleTimer)
          idle.busy = true
          return idle
        }
        if (this.canSpawn(pool)) return this.spawnBusy(pool)
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    }
  }

  private async spawnBusy(pool: Pool): Promise<Worker> {
    pool.starting += 1
    this.starting += 1
    try {
      const worker = await this.spawn(pool)
      worker.busy = true
      pool.workers.push(worker)
      return worker
    } finally {
      pool.starting -= 1
      this.starting -= 1
    }
  }

  private release(pool: Pool, worker: Worker): void {
    worker.busy = false
    const stale = this.pools.get(pool.snapshot.key) !== pool
    if (stale) this.kill(worker)
    else {
      worker.idleTimer = setTimeout(() => {
        if (worker.busy) return
        this.kill(worker)
        pool.workers = pool.workers.filter((w) => w !== worker)
      }, this.options.idleTimeoutMs ?? 60_000)
      worker.idleTimer.unref()
    }
    this.wake()
  }

  private wake(): void {
    this.waiting.splice(0).forEach((resolve) => resolve())
  }

  private extract(pool: Pool): Promise<string> {
    pool.dir ??= (async () => {
      this.base ??= mkdtemp(path.join(tmpdir(), 'hyperform-lambda-')).then(removeAtExit)
      const dir = path.join(await this.base, pool.snapshot.key.replace(/[^A-Za-z0-9_-]/g, '_'))
      return extractFunction(dir, pool.snapshot.zip)
    })()
    return pool.dir
  }

  private environment(snapshot: CodeSnapshot, task: string, stream: string): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      ...snapshot.env,
      AWS_REGION: snapshot.region,
      AWS_DEFAULT_REGION: snapshot.region,
      AWS_ACCESS_KEY_ID: `${LAMBDA_CALLER_PREFIX}${snapshot.functionName}`,
      AWS_SECRET_ACCESS_KEY: 'emulator-secret',
      AWS_SESSION_TOKEN: 'emulator-session',
      ...this.options.credentials?.(snapshot),
      AWS_ENDPOINT_URL: this.options.endpoint(),
      AWS_CONFIG_FILE: path.join(task, '.no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(task, '.no-aws-credentials'),
      AWS_LAMBDA_FUNCTION_NAME: snapshot.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(snapshot.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${snapshot.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: stream,
      AWS_EXECUTION_ENV: `AWS_Lambda_${snapshot.runtime}`,
      LAMBDA_TASK_ROOT: task,
      _HANDLER: snapshot.handler,
      NODE_NO_WARNINGS: '1'
    }
  }

  private async spawn(pool: Pool): Promise<Worker> {
    const task = await this.extract(pool)
    const stream = streamName()
    const child = fork(RUNNER, [], {
      execPath: lambdaRuntimeBinary(pool.snapshot.runtime, (line) => this.writeLogs(pool.snapshot, stream, [line])),
      cwd: task,
      env: this.environment(pool.snapshot, task, stream),
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json'
    })
    let markReady: () => void = () => undefined
    const worker: Worker = {
      child,
      busy: false,
      stream,
      exited: false,
      ready: new Promise<void>((r) => (markReady = r))
    }
    const ended = (): void => {
      worker.exited = true
      markReady()
      worker.onExit?.()
      this.wake()
    }
    this.wire(worker, { log: (text) => this.writeLogs(pool.snapshot, stream, [text]), ready: () => markReady(), ended })
    await worker.ready
    return worker
  }

  /** Route a worker's output to its log stream and its messages to the invocation waiting on it. */
  private wire(worker: Worker, on: { log: (text: string) => void; ready: () => void; ended: () => void }): void {
    const { child } = worker
    child.stdout?.on('data', lineSplitter(on.log))
    child.stderr?.on('data', lineSplitter(on.log))
    const raw = lineSplitter(on.log)
    child.on('message', (msg: RunnerMessage) => {
      if (msg.type === 'ready') on.ready()
      else if (msg.type === 'log' && msg.message !== undefined) on.log(msg.message)
      else if (msg.type === 'raw' && msg.message !== undefined) raw(Buffer.from(msg.message))
      else if (msg.type === 'result') worker.onResult?.(msg)
    })
    child.on('error', (err) => {
      on.log(`emulator: the Lambda worker failed: ${err.message}`)
      on.ended()
    })
    child.on('exit', on.ended)
    // workers must not keep the emulator's process alive (close() stops them when the core calls it)
    child.unref()
    for (const handle of [child.stdout, child.stderr, (child as unknown as { channel?: unknown }).channel]) {
      ;(handle as { unref?: () => void } | null | undefined)?.unref?.()
    }
  }

  /** Each message is one log event (a console call, a raw output line, or a START/END/REPORT line). */
  private writeLogs(snapshot: CodeSnapshot, stream: string, messages: string[]): void {
    const now = Date.now()
    const events = messages.map((m) => m.replace(/\n$/, '')).filter((m) => m.trim() !== '')
    if (events.length === 0) return
    this.options.logs()?.append(
      { region: snapshot.region, group: `/aws/lambda/${snapshot.functionName}`, stream },
      events.map((message) => ({ timestamp: now, message }))
    )
  }

  private run(worker: Worker, snapshot: CodeSnapshot, payload: string): Promise<InvokeResult> {
    const requestId = randomUUID()
    const started = Date.now()
    const log = (line: string): void => this.writeLogs(snapshot, worker.stream, [line])
    log(`START RequestId: ${requestId} Version: $LATEST`)
    return new Promise<InvokeResult>((resolve) => {
      const finish = (result: InvokeResult): void => {
        clearTimeout(timer)
        worker.onResult = undefined
        worker.onExit = undefined
        const ms = Date.now() - started
        log(`END RequestId: ${requestId}`)
        log(
          `REPORT RequestId: ${requestId}\tDuration: ${ms.toFixed(2)} ms\tBilled Duration: ${Math.max(1, ms)} ms\tMemory Size: ${snapshot.memoryMb} MB\tMax Memory Used: 64 MB`
        )
        resolve(result)
      }
      const timer = setTimeout(() => {
        const message = `${new Date().toISOString()} ${requestId} Task timed out after ${snapshot.timeoutSec.toFixed(2)} seconds`
        log(message)
        this.kill(worker)
        finish(failure('Sandbox.Timedout', message))
      }, snapshot.timeoutSec * 1000)
      worker.onResult = (msg) =>
        finish(
          msg.ok
            ? { ok: true, payload: msg.payload ?? 'null' }
            : failure(msg.errorType ?? 'Error', msg.errorMessage ?? '', msg.trace)
        )
      worker.onExit = () =>
        finish(
          failure(
            'Runtime.ExitError',
            `RequestId: ${requestId} Error: Runtime exited with error: exit status ${worker.child.exitCode ?? 'signal'}`
          )
        )
      if (worker.exited) {
        worker.onExit()
        return
      }
      worker.child.send({
        type: 'invoke',
        id: requestId,
        requestId,
        payload,
        functionArn: snapshot.functionArn,
        timeoutMs: snapshot.timeoutSec * 1000
      })
    })
  }

  private kill(worker: Worker): void {
    clearTimeout(worker.idleTimer)
    if (!worker.exited) worker.child.kill('SIGKILL')
    worker.exited = true
  }
}

/** Raw stdout/stderr output becomes one log event per line. */
function lineSplitter(emit: (line: string) => void): (chunk: Buffer) => void {
  let pending = ''
  return (chunk) => {
    pending += chunk.toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    lines.forEach(emit)
  }
}

function failure(errorType: string, errorMessage: string, trace?: string[]): InvokeResult {
  const body: Record<string, unknown> = { errorType, errorMessage }
  if (trace && trace.length > 0) body.trace = trace
  return { ok: false, errorType, errorMessage, payload: JSON.stringify(body) }
}
