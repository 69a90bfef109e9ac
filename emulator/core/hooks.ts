/** Simulation controls that a service module offers to the core (and through it to tests and the control API). */
import type { Cloud, EmulatorResponse } from '../types.js'

export interface InstanceControls {
  /** Terminates an instance as if from outside (console, health check). */
  terminateInstance(instanceId: string): void
  /** Interrupts a spot instance: the interruption warning now, shutting-down -> terminated after spotReclaimDelayMs. */
  spotInterrupt(instanceId: string): void
  /** Sends a spot instance an EC2 instance rebalance recommendation. */
  rebalance(instanceId: string): void
}

const controls = new WeakMap<Cloud, InstanceControls>()

export function registerInstanceControls(cloud: Cloud, c: InstanceControls): void {
  controls.set(cloud, c)
}

export function instanceControls(cloud: Cloud): InstanceControls | undefined {
  return controls.get(cloud)
}

const stopHandlers = new WeakMap<Cloud, (() => void)[]>()

/** Registers cleanup (timers that are not tracked work) to run when the emulator stops. */
export function onStop(cloud: Cloud, handler: () => void): void {
  const list = stopHandlers.get(cloud) ?? []
  list.push(handler)
  stopHandlers.set(cloud, list)
}

export function runStopHandlers(cloud: Cloud): void {
  for (const handler of stopHandlers.get(cloud) ?? []) handler()
  stopHandlers.delete(cloud)
}

/** A control API route a service module offers (e.g. POST /_emulator/schedules/<rule>/fire). */
export interface ModuleControlRoute {
  method: 'GET' | 'POST'
  /** Matched against the whole path; its groups are passed to handle, URI-decoded. */
  path: RegExp
  handle(params: string[], body: unknown, query: URLSearchParams): { status: number; body: unknown }
}

const moduleRoutes = new WeakMap<Cloud, ModuleControlRoute[]>()

export function registerControlRoutes(cloud: Cloud, routes: ModuleControlRoute[]): void {
  moduleRoutes.set(cloud, [...(moduleRoutes.get(cloud) ?? []), ...routes])
}

export function controlRoutes(cloud: Cloud): ModuleControlRoute[] {
  return moduleRoutes.get(cloud) ?? []
}

/** A raw HTTP route under /_emulator/ a module serves itself (status, headers and body as it likes): the IMDS. */
export interface RawRoute {
  /** Matched against the start of the path. */
  prefix: string
  handle(req: { method: string; path: string; headers: Record<string, string>; body: Buffer }): EmulatorResponse
}

const rawRoutes = new WeakMap<Cloud, RawRoute[]>()

export function registerRawRoutes(cloud: Cloud, routes: RawRoute[]): void {
  rawRoutes.set(cloud, [...(rawRoutes.get(cloud) ?? []), ...routes])
}

export function rawRoute(cloud: Cloud, path: string): RawRoute | undefined {
  return rawRoutes.get(cloud)?.find((r) => path.startsWith(r.prefix))
}
