/**
 * Wires the agent stand-in into a cloud: an instance whose user data carries the agent's two lines
 * gets an agent run when it becomes running, stopped when it shuts down, told of EC2's spot signals
 * (an interruption notice drains its container); the control routes show
 * the containers, set the image catalogue and change a running container's health.
 */
import type { Cloud } from '../types.js'
import { background } from '../core/background.js'
import { onStop, registerControlRoutes } from '../core/hooks.js'
import { ec2World, type InstanceRecord } from '../services/ec2/model.js'
import { setTargetHealthSource } from '../services/elbv2/model.js'
import { imageBehaviours, imageCatalogue } from './catalogue.js'
import { agentUserData, AgentRun, type ContainerView } from './stand-in.js'

export { imageBehaviour, imageBehaviours, type ImageBehaviour, type ImageBehaviourInput } from './catalogue.js'
export type { ContainerSpec, ContainerView } from './stand-in.js'

const runs = new WeakMap<Cloud, Map<string, AgentRun>>()

function onInstance(cloud: Cloud, byInstance: Map<string, AgentRun>, instance: InstanceRecord): void {
  const existing = byInstance.get(instance.instanceId)
  if (instance.state === 'shutting-down' || instance.state === 'terminated') {
    existing?.stop()
    return
  }
  if (instance.state !== 'running' || existing || cloud.simulation.agentStandIn === false) return
  const userData = agentUserData(instance.data.UserData)
  if (!userData) return
  const run = new AgentRun(cloud, instance, userData)
  byInstance.set(instance.instanceId, run)
  background(cloud, `agent on ${instance.instanceId}`, run.main())
}

/**
 * What a load balancer's health checks find on an instance: with an agent container, healthy while it
 * runs and is not unhealthy (no health check of its own counts as answering), unhealthy otherwise
 * (not running yet, exited, failed, unhealthy); without one, healthy while the instance runs. The
 * health check's port and path are not compared with the container's published ports.
 */
function targetHealth(cloud: Cloud, run: AgentRun | undefined, instanceId: string): 'healthy' | 'unhealthy' {
  if (!run) return ec2World(cloud).instances.get(instanceId)?.state === 'running' ? 'healthy' : 'unhealthy'
  return run.view.state === 'running' && run.view.health !== 'unhealthy' ? 'healthy' : 'unhealthy'
}

/** Starts the stand-in for one cloud, with the catalogue's first entries (options.images). */
export function startAgentStandIn(cloud: Cloud, images: unknown[] = []): void {
  imageCatalogue(cloud).set(imageBehaviours(images))
  const byInstance = new Map<string, AgentRun>()
  runs.set(cloud, byInstance)
  ec2World(cloud).stateListeners.push((instance) => onInstance(cloud, byInstance, instance))
  // the spot watch of the agent: an interruption notice drains the container, a rebalance is written
  ec2World(cloud).spotSignalListeners.push((instance, signal) => {
    const run = byInstance.get(instance.instanceId)
    if (run) background(cloud, `agent on ${instance.instanceId}: spot ${signal}`, run.spotSignal(signal))
  })
  onStop(cloud, () => {
    for (const run of byInstance.values()) run.stop()
  })
  setTargetHealthSource(cloud, (instanceId) => targetHealth(cloud, byInstance.get(instanceId), instanceId))
  const view = (run: AgentRun): ContainerView => structuredClone(run.view)
  registerControlRoutes(cloud, [
    {
      method: 'GET',
      path: /^\/_emulator\/images$/,
      handle: () => ({ status: 200, body: imageCatalogue(cloud).list() })
    },
    {
      method: 'POST',
      path: /^\/_emulator\/images$/,
      handle: (_params, body) => {
        try {
          const entries = imageBehaviours(body)
          imageCatalogue(cloud).set(entries)
          return { status: 200, body: entries }
        } catch (err) {
          return { status: 400, body: { error: err instanceof Error ? err.message : String(err) } }
        }
      }
    },
    {
      method: 'GET',
      path: /^\/_emulator\/containers$/,
      handle: () => ({ status: 200, body: [...byInstance.values()].map(view) })
    },
    {
      // {"health": "unhealthy" | "healthy"}: the running container's health changes; unhealthy after
      // the launch gate, its agent writes its line and reports the instance with SetInstanceHealth.
      method: 'POST',
      path: /^\/_emulator\/instances\/([^/]+)\/container\/health$/,
      handle: ([id], body) => {
        const run = byInstance.get(id ?? '')
        if (!run) return { status: 404, body: { error: `no agent container on instance ${id ?? ''}` } }
        const health = (body as { health?: unknown } | null)?.health
        if (health !== 'healthy' && health !== 'unhealthy')
          return { status: 400, body: { error: 'the body must be {"health": "healthy" | "unhealthy"}' } }
        if (run.view.state !== 'running')
          return { status: 409, body: { error: `the container on ${id ?? ''} is ${run.view.state}, not running` } }
        background(cloud, `agent on ${id ?? ''}: health ${health}`, run.setHealth(health))
        return { status: 200, body: view(run) }
      }
    },
    {
      method: 'GET',
      path: /^\/_emulator\/instances\/([^/]+)\/container$/,
      handle: ([id]) => {
        const run = byInstance.get(id ?? '')
        return run
          ? { status: 200, body: view(run) }
          : { status: 404, body: { error: `no agent container on instance ${id ?? ''}` } }
      }
    }
  ])
}

/** The containers the stand-in runs (tests in process). */
export function containers(cloud: Cloud): ContainerView[] {
  return [...(runs.get(cloud)?.values() ?? [])].map((r) => structuredClone(r.view))
}
