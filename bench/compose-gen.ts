/**
 * Generated compose files for the benchmarks: N services with a deterministic mix of
 * replicas and preemptible (spot) counts, published ports and environment entries.
 */

export interface GeneratedService {
  name: string
  image: string
  replicas: number
  preemptible: number
  ports: string[]
  environment: Record<string, string>
}

export interface GenerateOptions {
  services: number
  /** Services whose image tag is bumped (the one-image-changed redeploy). */
  bumpImages?: string[]
  /** The same replicas and spot count for every service (the storm: 5 replicas, all spot) instead of the mix. */
  sizing?: { replicas: number; preemptible: number }
}

const IMAGES = ['nginx', 'redis', 'httpd', 'memcached', 'traefik/whoami']

export function serviceName(index: number): string {
  return `svc-${String(index + 1).padStart(3, '0')}`
}

/** Replicas cycle 1, 2, 3, 1, ...; preemptible cycles 0 .. replicas so every mix occurs. */
function sizing(index: number): { replicas: number; preemptible: number } {
  const replicas = (index % 3) + 1
  return { replicas, preemptible: Math.floor(index / 3) % (replicas + 1) }
}

export function generateServices(options: GenerateOptions): GeneratedService[] {
  const bumped = new Set(options.bumpImages ?? [])
  return Array.from({ length: options.services }, (_, index) => {
    const name = serviceName(index)
    const base = IMAGES[index % IMAGES.length] ?? 'nginx'
    const ports = index % 2 === 0 ? [`${8000 + index}:80`] : [`${9000 + index}:8080`, '9100']
    const environment: Record<string, string> = {
      SERVICE_NAME: name,
      UPSTREAM: `${serviceName((index + 1) % options.services)}:80`,
      LOG_LEVEL: index % 2 === 0 ? 'info' : 'debug'
    }
    return {
      name,
      image: `${base}:${bumped.has(name) ? '2.0' : '1.0'}`,
      ...(options.sizing ?? sizing(index)),
      ports,
      environment
    }
  })
}

function serviceYaml(s: GeneratedService): string {
  const lines = [
    `  ${s.name}:`,
    `    image: ${s.image}`,
    '    deploy:',
    `      replicas: ${s.replicas}`,
    `      preemptible: ${s.preemptible}`,
    '    ports:',
    ...s.ports.map((p) => `      - "${p}"`),
    '    environment:',
    ...Object.entries(s.environment).map(([k, v]) => `      ${k}: "${v}"`)
  ]
  return lines.join('\n')
}

/** The compose file text for `options`. */
export function generateCompose(options: GenerateOptions): string {
  return `services:\n${generateServices(options).map(serviceYaml).join('\n')}\n`
}

/** Instances the generated file asks for in all, and how many of them are spot. */
export function instanceCounts(services: GeneratedService[]): { instances: number; spot: number } {
  return {
    instances: services.reduce((n, s) => n + s.replicas, 0),
    spot: services.reduce((n, s) => n + s.preemptible, 0)
  }
}
