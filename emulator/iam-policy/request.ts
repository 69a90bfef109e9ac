/**
 * A read-only view of one AWS request for authorization: its parameters however the protocol
 * carries them (query form, JSON body, REST path), and the state of the resources it names
 * (tags, ARNs) as the service modules dump it. Nothing here changes a module's state.
 */
import type { EmulatorRequest, ServiceModule } from '../types.js'

export interface RequestView {
  service: string
  operation: string
  region: string
  account: string
  partition: string
  /** A query-form parameter (query protocols), e.g. `RoleName`, `InstanceId.1`. */
  param(name: string): string | undefined
  /** The values of a query list: `InstanceId.1`, `InstanceId.2`, ... for prefix `InstanceId.` (also `X.member.N`). */
  params(prefix: string): string[]
  /** The JSON body (JSON and REST-JSON protocols), {} when absent. */
  json(): Record<string, unknown>
  /** The raw body as text (REST-XML). */
  text(): string
  /** The URL path, decoded. */
  path: string
  /** A module's state dump (GET /_emulator/state), read once per request. */
  state(service: string): unknown
}

function formParams(req: EmulatorRequest): URLSearchParams {
  const params = new URLSearchParams(req.query)
  const type = req.headers['content-type'] ?? ''
  if (type.startsWith('application/x-www-form-urlencoded'))
    for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) params.append(k, v)
  return params
}

export function requestView(
  req: EmulatorRequest,
  operation: string,
  account: string,
  modules: ReadonlyMap<string, ServiceModule>
): RequestView {
  let form: URLSearchParams | undefined
  let body: Record<string, unknown> | undefined
  const states = new Map<string, unknown>()
  const params = (): URLSearchParams => (form ??= formParams(req))
  return {
    service: req.service,
    operation,
    region: req.region,
    account,
    partition: 'aws',
    path: req.path,
    text: () => req.body.toString('utf8'),
    param: (name) => params().get(name) ?? undefined,
    params: (prefix) =>
      [...params().entries()]
        .filter(([k]) => k.startsWith(prefix) && /^(member\.)?\d+$/.test(k.slice(prefix.length)))
        .sort(([a], [b]) => Number(/\d+$/.exec(a)?.[0]) - Number(/\d+$/.exec(b)?.[0]))
        .map(([, v]) => v),
    json: () => {
      if (!body) {
        try {
          const parsed: unknown = JSON.parse(req.body.toString('utf8') || '{}')
          body = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {}
        } catch {
          body = {}
        }
      }
      return body
    },
    state: (service) => {
      if (!states.has(service)) states.set(service, modules.get(service)?.state?.())
      return states.get(service)
    }
  }
}
