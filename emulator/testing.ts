/** Helpers for tests and benchmarks that point real SDK clients at an emulator. */
import type { Emulator } from './server.js'

export interface SdkTestConfig {
  endpoint: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  maxAttempts: number
}

/** Client config for an SDK v3 client talking to the emulator with dummy credentials. */
export function sdkConfig(emulator: Pick<Emulator, 'endpoint'>, overrides: Partial<SdkTestConfig> = {}): SdkTestConfig {
  return {
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAEMULATORTEST', secretAccessKey: 'emulator' },
    maxAttempts: 1,
    ...overrides
  }
}

/** Polls until check() returns a value that is not undefined, or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
