/** A small concurrency limiter: at most `size` tasks run at once, the rest queue in order. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>

export function createLimiter(size: number): Limiter {
  const max = Math.max(1, Math.floor(size))
  let running = 0
  const queue: Array<() => void> = []
  const next = (): void => {
    running -= 1
    queue.shift()?.()
  }
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = (): void => {
        running += 1
        task().then(resolve, reject).finally(next)
      }
      if (running < max) start()
      else queue.push(start)
    })
}
