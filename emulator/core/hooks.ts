/** Simulation controls that a service module offers to the core (and through it to tests and the control API). */
import type { Cloud } from '../types.js'

export interface InstanceControls {
  /** Terminates an instance as if from outside (console, health check). */
  terminateInstance(instanceId: string): void
  /** Interrupts a spot instance: it goes shutting-down -> terminated. */
  spotInterrupt(instanceId: string): void
}

const controls = new WeakMap<Cloud, InstanceControls>()

export function registerInstanceControls(cloud: Cloud, c: InstanceControls): void {
  controls.set(cloud, c)
}

export function instanceControls(cloud: Cloud): InstanceControls | undefined {
  return controls.get(cloud)
}
