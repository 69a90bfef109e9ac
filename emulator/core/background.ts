/** Fire-and-forget simulation work: tracked for waitIdle, errors logged instead of crashing the process. */
import type { Cloud } from '../types.js'

export function background(cloud: Cloud, what: string, work: Promise<unknown>): void {
  void cloud.track(work).catch((err: unknown) => {
    console.error(`emulator: background ${what} failed:`, err)
  })
}

/** Calls a listener, logging what it throws so one faulty listener cannot stop the simulation. */
export function safely(what: string, fn: () => void): void {
  try {
    fn()
  } catch (err) {
    console.error(`emulator: ${what} listener failed:`, err)
  }
}
