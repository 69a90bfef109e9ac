/** The control API under /_emulator/: plain JSON over HTTP for tests, the demo and the CLI. */
import { AwsError } from '../types.js'
import type { EmulatorResponse, FaultSettings, ServiceModule, SimulationSettings, SpotPool } from '../types.js'
import { setSpotCapacity } from './spot-capacity.js'
import type { CoreCloud, QueuedError } from './cloud.js'
import { controlRoutes, instanceControls } from './hooks.js'

export interface ControlContext {
  cloud: CoreCloud
  modules: Map<string, ServiceModule>
}

function json(status: number, value: unknown): EmulatorResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) }
}

/** A JSON dump of every module's state. */
export function stateDump(ctx: ControlContext): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, module] of ctx.modules) {
    if (module.state) out[name] = module.state()
  }
  return out
}

function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8').trim()
  return text ? JSON.parse(text) : {}
}

function instanceRoute(ctx: ControlContext, id: string, action: string): EmulatorResponse {
  const controls = instanceControls(ctx.cloud)
  if (!controls) return json(501, { error: 'no EC2 module' })
  if (action === 'terminate') controls.terminateInstance(id)
  else if (action === 'spot-interrupt') controls.spotInterrupt(id)
  else if (action === 'rebalance') controls.rebalance(id)
  else return json(404, { error: `unknown instance action ${action}` })
  return json(200, { instanceId: id, action })
}

/** Test hook: the next call of an operation answers with one of its service's listed error codes. */
function queueError(ctx: ControlContext, e: Partial<QueuedError>): EmulatorResponse {
  const module = ctx.modules.get(e.service ?? '')
  if (!module) return json(400, { error: `unknown service ${String(e.service)}` })
  if (!e.operation || !e.code || !(e.code in module.errors)) {
    return json(400, {
      error: `${String(e.code)} is not an error code of ${module.signingName}`,
      codes: Object.keys(module.errors)
    })
  }
  const error: QueuedError = {
    service: module.signingName,
    operation: e.operation,
    code: e.code,
    ...(e.message ? { message: e.message } : {})
  }
  ctx.cloud.queueError(error)
  return json(200, error)
}

type Route = (ctx: ControlContext, body: Buffer) => Promise<EmulatorResponse> | EmulatorResponse

const ROUTES: Record<string, Route> = {
  'GET /_emulator/calls': (ctx) => json(200, ctx.cloud.calls),
  'POST /_emulator/calls/reset': (ctx) => {
    ctx.cloud.calls.length = 0
    return json(200, { ok: true })
  },
  'POST /_emulator/idle': async (ctx) => {
    await ctx.cloud.waitIdle()
    return json(200, { idle: true })
  },
  'GET /_emulator/faults': (ctx) => json(200, ctx.cloud.faults),
  'POST /_emulator/faults': (ctx, body) => json(200, ctx.cloud.setFaults(parseJson(body) as Partial<FaultSettings>)),
  'POST /_emulator/spot-capacity': (ctx, body) =>
    json(200, { pools: setSpotCapacity(ctx.cloud.faults, parseJson(body) as SpotPool & { available?: boolean }) }),
  'GET /_emulator/simulation': (ctx) => json(200, ctx.cloud.simulation),
  'POST /_emulator/simulation': (ctx, body) =>
    json(200, Object.assign(ctx.cloud.simulation, parseJson(body) as Partial<SimulationSettings>)),
  'GET /_emulator/state': (ctx) => json(200, stateDump(ctx)),
  'GET /_emulator/errors': (ctx) =>
    json(200, Object.fromEntries([...ctx.modules].map(([name, m]) => [name, m.errors]))),
  'POST /_emulator/errors': (ctx, body) => queueError(ctx, parseJson(body) as Partial<QueuedError>),
  'GET /_emulator/health': () => json(200, { ok: true })
}

export async function handleControl(
  ctx: ControlContext,
  req: { method: string; path: string; body: Buffer; query?: URLSearchParams }
): Promise<EmulatorResponse> {
  try {
    const route = ROUTES[`${req.method} ${req.path.replace(/\/$/, '')}`]
    if (route) return await route(ctx, req.body)
    const m = /^\/_emulator\/instances\/([^/]+)\/([^/]+)$/.exec(req.path)
    if (req.method === 'POST' && m) return instanceRoute(ctx, decodeURIComponent(m[1] ?? ''), m[2] ?? '')
    for (const r of controlRoutes(ctx.cloud)) {
      const match = r.method === req.method ? r.path.exec(req.path.replace(/\/$/, '')) : null
      if (!match) continue
      const out = r.handle(
        match.slice(1).map((p) => decodeURIComponent(p ?? '')),
        parseJson(req.body),
        req.query ?? new URLSearchParams()
      )
      return json(out.status, out.body)
    }
    return json(404, { error: `no control route ${req.method} ${req.path}` })
  } catch (err) {
    if (err instanceof AwsError) return json(err.status, { error: err.code, message: err.message })
    return json(400, { error: String(err) })
  }
}
