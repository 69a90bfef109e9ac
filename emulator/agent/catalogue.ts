/**
 * The image catalogue: what pulling and running each image does in the emulator, since no image
 * really runs. Set by `EmulatorOptions.images` (CLI `--images FILE`) and `POST /_emulator/images`;
 * an unlisted image pulls, runs healthy and logs `<image> started`.
 */
import type { Cloud } from '../types.js'

export type PullOutcome = 'ok' | 'denied'
/** healthy / unhealthy: keeps running with that health; crash: exits (code 1) right after its lines. */
export type RunOutcome = 'healthy' | 'unhealthy' | 'crash'

export interface ImageBehaviour {
  image: string
  pull: PullOutcome
  run: RunOutcome
  /** What the container writes to stdout each time it starts. */
  logs: string[]
}

/** The input form: everything but `image` optional. */
export interface ImageBehaviourInput {
  image: string
  pull?: PullOutcome
  run?: RunOutcome
  logs?: string[]
}

const PULLS: readonly string[] = ['ok', 'denied']
const RUNS: readonly string[] = ['healthy', 'unhealthy', 'crash']
const KEYS: readonly string[] = ['image', 'pull', 'run', 'logs']

/** The behaviour an input describes, with defaults; throws an Error whose message says what is wrong. */
export function imageBehaviour(input: unknown): ImageBehaviour {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new Error('an image entry must be an object {"image", "pull"?, "run"?, "logs"?}')
  const entry = input as Record<string, unknown>
  const unknownKey = Object.keys(entry).find((k) => !KEYS.includes(k))
  if (unknownKey !== undefined) throw new Error(`unknown key "${unknownKey}" (allowed: ${KEYS.join(', ')})`)
  const { image, pull = 'ok', run = 'healthy', logs } = entry
  if (typeof image !== 'string' || image.trim() === '' || /\s/.test(image))
    throw new Error('"image" must be a non-empty image reference without spaces')
  if (typeof pull !== 'string' || !PULLS.includes(pull))
    throw new Error(`"pull" of ${image} must be one of ${PULLS.join(', ')}`)
  if (typeof run !== 'string' || !RUNS.includes(run))
    throw new Error(`"run" of ${image} must be one of ${RUNS.join(', ')}`)
  if (logs !== undefined && (!Array.isArray(logs) || logs.some((l) => typeof l !== 'string')))
    throw new Error(`"logs" of ${image} must be an array of strings`)
  return {
    image,
    pull: pull as PullOutcome,
    run: run as RunOutcome,
    logs: logs === undefined ? [`${image} started`] : [...(logs as string[])]
  }
}

/** One entry or an array of them, all validated before any is used. */
export function imageBehaviours(input: unknown): ImageBehaviour[] {
  const list = Array.isArray(input) ? input : [input]
  return list.map((entry, i) => {
    try {
      return imageBehaviour(entry)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      throw new Error(Array.isArray(input) ? `entry ${i}: ${message}` : message, { cause: err })
    }
  })
}

export class ImageCatalogue {
  private readonly entries = new Map<string, ImageBehaviour>()

  /** A later entry for the same image replaces the earlier one. */
  set(behaviours: ImageBehaviour[]): void {
    for (const b of behaviours) this.entries.set(b.image, b)
  }

  /** The listed behaviour, or the default one for an unlisted image. */
  get(image: string): ImageBehaviour {
    return this.entries.get(image) ?? imageBehaviour({ image })
  }

  list(): ImageBehaviour[] {
    return [...this.entries.values()]
  }
}

const catalogues = new WeakMap<Cloud, ImageCatalogue>()

export function imageCatalogue(cloud: Cloud): ImageCatalogue {
  let c = catalogues.get(cloud)
  if (!c) {
    c = new ImageCatalogue()
    catalogues.set(cloud, c)
  }
  return c
}
