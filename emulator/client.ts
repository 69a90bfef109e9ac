/** A small client for the control API, for tests and the demo when the emulator runs out of process. */
import type { ContainerView, ImageBehaviour, ImageBehaviourInput } from './agent/index.js'
import type { QueuedError } from './core/cloud.js'
import type { SpotPriceSetting } from './services/ec2/spot-prices.js'
import type { VolumeView } from './services/ec2/volumes.js'
import type { CallRecord, ErrorCodes, FaultSettings, SimulationSettings, SpotPool } from './types.js'

/** One spot price row, as the control API answers it. */
export interface SpotPriceRow {
  AvailabilityZone: string
  InstanceType: string
  ProductDescription: string
  SpotPrice: string
  /** ISO 8601. */
  Timestamp: string
}

export type { SpotPriceSetting } from './services/ec2/spot-prices.js'
export type { VolumeView } from './services/ec2/volumes.js'

export class EmulatorClient {
  readonly endpoint: string

  constructor(endpoint: string) {
    this.endpoint = endpoint.replace(/\/$/, '')
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.endpoint}/_emulator/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`emulator control ${method} ${path}: ${res.status} ${text}`)
    return JSON.parse(text) as T
  }

  calls(): Promise<CallRecord[]> {
    return this.request('GET', 'calls')
  }

  async resetCalls(): Promise<void> {
    await this.request('POST', 'calls/reset')
  }

  async waitIdle(): Promise<void> {
    await this.request('POST', 'idle')
  }

  async terminateInstance(instanceId: string): Promise<void> {
    await this.request('POST', `instances/${encodeURIComponent(instanceId)}/terminate`)
  }

  async spotInterrupt(instanceId: string): Promise<void> {
    await this.request('POST', `instances/${encodeURIComponent(instanceId)}/spot-interrupt`)
  }

  /** Sends a spot instance an EC2 instance rebalance recommendation (event, IMDS, Capacity Rebalancing). */
  async rebalance(instanceId: string): Promise<void> {
    await this.request('POST', `instances/${encodeURIComponent(instanceId)}/rebalance`)
  }

  faults(): Promise<FaultSettings> {
    return this.request('GET', 'faults')
  }

  setFaults(partial: Partial<FaultSettings>): Promise<FaultSettings> {
    return this.request('POST', 'faults', partial)
  }

  /**
   * Removes spot capacity from the pools named (`available: false`; a field left out matches any pool) or
   * gives it back (`available: true`; with no field, every pool). Answers the pools without capacity.
   */
  async spotCapacity(request: SpotPool & { available: boolean }): Promise<SpotPool[]> {
    return (await this.request<{ pools: SpotPool[] }>('POST', 'spot-capacity', request)).pools
  }

  simulation(): Promise<SimulationSettings> {
    return this.request('GET', 'simulation')
  }

  /** Changes simulation settings (timings and limits); returns the settings now in force. */
  setSimulation(partial: Partial<SimulationSettings>): Promise<SimulationSettings> {
    return this.request('POST', 'simulation', partial)
  }

  /** Schedule rules with their next fire on the schedule clock. */
  schedules(): Promise<
    {
      name: string
      region: string
      arn: string
      scheduleExpression: string
      state: string
      nextFire?: string
      clock?: string
    }[]
  > {
    return this.request('GET', 'schedules')
  }

  /** Fires an ENABLED schedule rule now; answers how many targets accepted the Scheduled Event. */
  fireSchedule(rule: string, region = 'us-east-1'): Promise<{ rule: string; deliveries: number }> {
    return this.request('POST', `schedules/${encodeURIComponent(rule)}/fire?region=${encodeURIComponent(region)}`)
  }

  /** Per rule ARN: TriggeredRules, Invocations and FailedInvocations (targets that refused, e.g. no queue policy). */
  eventMetrics(): Promise<Record<string, { TriggeredRules: number; Invocations: number; FailedInvocations: number }>> {
    return this.request('GET', 'events/metrics')
  }

  state(): Promise<Record<string, unknown>> {
    return this.request('GET', 'state')
  }

  /** Every error code each service can return, with its HTTP status, by signing name. */
  errorCodes(): Promise<Record<string, ErrorCodes>> {
    return this.request('GET', 'errors')
  }

  /**
   * Sets a spot pool's price from now on (DescribeSpotPriceHistory's latest row for it): both Linux product
   * descriptions unless one is named; the region defaults to the zone's. Answers the pool's new rows.
   */
  setSpotPrice(setting: SpotPriceSetting): Promise<SpotPriceRow[]> {
    return this.request('POST', 'spot-prices', setting)
  }

  /** The latest spot price of every pool of a region (or of one instance type there). */
  spotPrices(region = 'us-east-1', instanceType?: string): Promise<SpotPriceRow[]> {
    const query = new URLSearchParams({ region, ...(instanceType ? { instanceType } : {}) })
    return this.request('GET', `spot-prices?${query.toString()}`)
  }

  /** Every EBS volume (all regions) with its state, attachment and data. */
  volumes(): Promise<VolumeView[]> {
    return this.request('GET', 'volumes')
  }

  /** One EBS volume with its state, attachment and data (404 when there is no such volume). */
  volume(volumeId: string): Promise<VolumeView> {
    return this.request('GET', `volumes/${encodeURIComponent(volumeId)}`)
  }

  /** Sets one key of a volume's data (`null` removes it); answers the volume. */
  setVolumeData(volumeId: string, key: string, value: string | null): Promise<VolumeView> {
    return this.request('POST', `volumes/${encodeURIComponent(volumeId)}/data`, { key, value })
  }

  /** Makes the next call of an operation answer with one of its service's error codes (tests). */
  async queueError(error: QueuedError): Promise<void> {
    await this.request('POST', 'errors', error)
  }

  /** The agent stand-in's image catalogue (listed images only). */
  images(): Promise<ImageBehaviour[]> {
    return this.request('GET', 'images')
  }

  /** Adds or replaces catalogue entries; answers them with their defaults filled in. */
  setImages(entries: ImageBehaviourInput | ImageBehaviourInput[]): Promise<ImageBehaviour[]> {
    return this.request('POST', 'images', entries)
  }

  /** The container the agent stand-in runs on an instance (404 when the instance has none). */
  container(instanceId: string): Promise<ContainerView> {
    return this.request('GET', `instances/${encodeURIComponent(instanceId)}/container`)
  }

  /** Makes the running container on an instance unhealthy (or healthy again); then waitIdle to see the agent's report. */
  setContainerHealth(instanceId: string, health: 'healthy' | 'unhealthy'): Promise<ContainerView> {
    return this.request('POST', `instances/${encodeURIComponent(instanceId)}/container/health`, { health })
  }

  containers(): Promise<ContainerView[]> {
    return this.request('GET', 'containers')
  }

  async healthy(): Promise<boolean> {
    try {
      await this.request('GET', 'health')
      return true
    } catch {
      return false
    }
  }
}
