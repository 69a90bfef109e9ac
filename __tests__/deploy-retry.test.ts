/** The engine's own retries and concurrency bound. */
import { createLimiter } from '../src/aws/limit.js'
import { HyperformError, isThrottle, wrap } from '../src/aws/errors.js'
import { backoff, withRetry } from '../src/aws/retry.js'

const named = (name: string): Error => Object.assign(new Error(name), { name })
const timing = { baseDelayMs: 1, maxDelayMs: 4 }

describe('withRetry', () => {
  test('retries the named eventual-consistency error until the call succeeds', async () => {
    let calls = 0
    const value = await withRetry(
      async () => {
        calls += 1
        if (calls < 3) throw named('InvalidGroup.NotFound')
        return 'ok'
      },
      { timing, budgetMs: 1000, retryable: (e) => (e as Error).name === 'InvalidGroup.NotFound' }
    )
    expect([value, calls]).toEqual(['ok', 3])
  })

  test('does not retry an error it was not told about', async () => {
    let calls = 0
    const run = withRetry(
      async () => {
        calls += 1
        throw named('AccessDenied')
      },
      { timing, budgetMs: 1000, retryable: () => false }
    )
    await expect(run).rejects.toThrow('AccessDenied')
    expect(calls).toBe(1)
  })

  test('always retries throttling, and gives up with the last error once the time budget is spent', async () => {
    let calls = 0
    const run = withRetry(
      async () => {
        calls += 1
        throw named('RequestLimitExceeded')
      },
      { timing: { baseDelayMs: 5, maxDelayMs: 10 }, budgetMs: 60, retryable: () => false }
    )
    await expect(run).rejects.toThrow('RequestLimitExceeded')
    // every wait is at least half the base delay (2.5 ms), so a 60 ms budget allows at most 24 retries
    expect(calls).toBeGreaterThan(2)
    expect(calls).toBeLessThanOrEqual(25)
  })

  test('backoff grows exponentially with jitter and never exceeds its cap', () => {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const delay = backoff(attempt, { baseDelayMs: 100, maxDelayMs: 2000 })
      const cap = Math.min(2000, 100 * 2 ** attempt)
      expect(delay).toBeGreaterThanOrEqual(cap / 2)
      expect(delay).toBeLessThanOrEqual(cap)
    }
  })

  test('throttling codes of every service are recognised', () => {
    for (const name of [
      'Throttling',
      'ThrottlingException',
      'RequestLimitExceeded',
      'TooManyRequestsException',
      'PriorRequestNotComplete'
    ]) {
      expect(isThrottle(named(name))).toBe(true)
    }
    expect(isThrottle(named('InvalidChangeBatch'))).toBe(false)
  })
})

test('a wrapped error says what was being done, keeps the original as cause and its name as code', () => {
  const original = named('InvalidParameterValue')
  const error = wrap('creating launch template hyperform-a-b-c', original)
  expect(error).toBeInstanceOf(HyperformError)
  expect(error.message).toBe('creating launch template hyperform-a-b-c: InvalidParameterValue')
  expect(error.cause).toBe(original)
  expect(error.code).toBe('InvalidParameterValue')
})

test('the limiter never runs more than its size at once and runs every task', async () => {
  const limit = createLimiter(3)
  let running = 0
  let peak = 0
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      limit(async () => {
        running += 1
        peak = Math.max(peak, running)
        await new Promise((r) => setTimeout(r, 2))
        running -= 1
        return i
      })
    )
  )
  expect(peak).toBe(3)
  expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i))
})

test('a failing task releases its slot', async () => {
  const limit = createLimiter(1)
  await expect(limit(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
  await expect(limit(() => Promise.resolve('next'))).resolves.toBe('next')
})
