/**
 * The emulator core: an HTTP server on 127.0.0.1 that routes AWS requests by the SigV4
 * credential scope to service modules, applies faults and rate limits, records every call,
 * and serves the control API under /_emulator/.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import type {
  CallRecord,
  Cloud,
  EmulatorOptions,
  EmulatorRequest,
  EmulatorResponse,
  FaultSettings,
  ServiceModule,
  SpotPool
} from './types.js'
import { createCloud } from './core/cloud.js'
import type { CoreCloud, GatedCall, PauseHandle } from './core/cloud.js'
import { handleControl, stateDump } from './core/control.js'
import { setSpotCapacity } from './core/spot-capacity.js'
import { dispatch } from './core/dispatch.js'
import type { DispatchContext } from './core/dispatch.js'
import { instanceControls, rawRoute, runStopHandlers } from './core/hooks.js'
import { RateLimiter } from './core/rate-limits.js'
import { identify } from './core/routing.js'
import { createServiceModules } from './services/index.js'
import { startAgentStandIn } from './agent/index.js'

export type { EmulatorOptions } from './types.js'
export type { GatedCall, PauseHandle } from './core/cloud.js'

export interface Emulator {
  /** Base URL, e.g. http://127.0.0.1:4566 (set it as the SDK's endpoint / AWS_ENDPOINT_URL). */
  readonly endpoint: string
  readonly port: number
  readonly cloud: Cloud
  readonly accountId: string
  /** Every AWS call so far, in arrival order. */
  calls(): CallRecord[]
  resetCalls(): void
  /** Resolves when no tracked background work (launches, terminations, deliveries, invocations) remains. */
  waitIdle(): Promise<void>
  /** Terminates an instance from outside (its ASG replaces it). */
  terminateInstance(instanceId: string): void
  /** Interrupts a spot instance: the interruption warning now, the reclaim (shutting-down -> terminated; its ASG replaces it) after spotReclaimDelayMs. */
  spotInterrupt(instanceId: string): void
  /** Sends a spot instance a rebalance recommendation (event, IMDS; Capacity Rebalancing replaces it). */
  rebalance(instanceId: string): void
  /** Changes fault settings; returns the settings now in force. */
  setFaults(partial: Partial<FaultSettings>): FaultSettings
  /** Removes or gives back spot capacity (as POST /_emulator/spot-capacity); answers the pools without capacity. */
  spotCapacity(request: SpotPool & { available: boolean }): SpotPool[]
  /** A JSON-able dump of every module's state (as GET /_emulator/state). */
  state(): Record<string, unknown>
  /**
   * Calls `listener` with every AWS call as it is recorded: after the call took effect, before its
   * response is sent (the `call` event of `cloud.bus`). Returns a function that unsubscribes.
   */
  onCall(listener: (call: CallRecord) => void): () => void
  /**
   * Holds every AWS call that `holds` matches (default: all) at the door, unhandled and unrecorded,
   * until `resume()`; `waiting()` lists the callers (access key ids) of the calls held so far.
   * Tests use it to line two runs up at the same point (e.g. both about to make their first write).
   */
  pause(holds?: (call: GatedCall) => boolean): PauseHandle
  stop(): Promise<void>
}

const STOP_GRACE_MS = 5000

interface CoreContext extends DispatchContext {
  modules: Map<string, ServiceModule>
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value
  }
  return out
}

function send(res: ServerResponse, response: EmulatorResponse): void {
  const body = response.body ?? ''
  const headers: Record<string, string | number> = { 'x-amzn-requestid': randomUUID(), ...response.headers }
  headers['content-length'] = Buffer.byteLength(body)
  res.writeHead(response.status, headers)
  res.end(body)
}

function unknownService(service: string | undefined): EmulatorResponse {
  return {
    status: 400,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ __type: 'UnknownService', message: `emulator does not serve service '${service ?? '?'}'` })
  }
}

async function route(ctx: CoreContext, req: IncomingMessage): Promise<EmulatorResponse> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  const body = await readBody(req)
  const path = decodeURIComponent(url.pathname)
  const method = (req.method ?? 'GET').toUpperCase()
  const headers = lowerHeaders(req)
  const raw = path.startsWith('/_emulator/') ? rawRoute(ctx.cloud, path) : undefined
  if (raw) return raw.handle({ method, path, headers, body })
  if (path.startsWith('/_emulator/')) return handleControl(ctx, { method, path, body, query: url.searchParams })
  const who = identify(path, url.searchParams, headers, body)
  const module = who.service ? ctx.modules.get(who.service) : undefined
  if (!module || !who.service) return unknownService(who.service)
  const request: EmulatorRequest = {
    service: who.service,
    region: who.region,
    method,
    path,
    query: url.searchParams,
    headers,
    body
  }
  return dispatch(ctx, module, request, who.accessKeyId)
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

function createHandle(ctx: CoreContext, server: Server, port: number): Emulator {
  const cloud: CoreCloud = ctx.cloud
  const controls = (): NonNullable<ReturnType<typeof instanceControls>> => {
    const c = instanceControls(cloud)
    if (!c) throw new Error('the EC2 module registered no instance controls')
    return c
  }
  return {
    endpoint: cloud.endpoint(),
    port,
    cloud,
    accountId: cloud.accountId,
    calls: () => [...cloud.calls],
    resetCalls: () => {
      cloud.calls.length = 0
    },
    waitIdle: () => cloud.waitIdle(),
    terminateInstance: (id) => controls().terminateInstance(id),
    spotInterrupt: (id) => controls().spotInterrupt(id),
    rebalance: (id) => controls().rebalance(id),
    setFaults: (partial) => cloud.setFaults(partial),
    spotCapacity: (request) => setSpotCapacity(cloud.faults, request),
    state: () => stateDump(ctx),
    pause: (holds) => cloud.pause(holds),
    onCall: (listener) => {
      cloud.bus.on('call', listener)
      return () => cloud.bus.off('call', listener)
    },
    stop: async () => {
      runStopHandlers(cloud)
      // let background work (launches, deliveries, invocations calling back into the server) finish first
      await Promise.race([cloud.waitIdle(), new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref())])
      await close(server)
    }
  }
}

/** Starts an emulator on 127.0.0.1 (port 0 = a free port). */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const cloud = createCloud(options)
  const host = options.host ?? '127.0.0.1'
  const ctx: CoreContext = {
    cloud,
    modules: createServiceModules(cloud),
    verbose: options.verbose ?? false,
    ...(options.rateLimits ? { limiter: new RateLimiter() } : {})
  }
  startAgentStandIn(cloud, options.images)
  const server = createServer((req, res) => {
    route(ctx, req).then(
      (response) => send(res, response),
      (err: unknown) => send(res, { status: 500, body: String(err) })
    )
  })
  server.keepAliveTimeout = 60_000
  const port = await listen(server, options.port ?? 0, host)
  cloud.setEndpoint(`http://${host.includes(':') ? `[${host}]` : host}:${port}`)
  return createHandle(ctx, server, port)
}
