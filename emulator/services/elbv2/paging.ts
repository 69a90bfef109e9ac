/** Marker paging of the Describe* operations (PageSize 1..400, the marker an opaque position). */
import { elbError } from './errors.js'

export function page<T>(
  list: T[],
  marker: string | undefined,
  pageSize: number | undefined
): { items: T[]; next?: string } {
  const size = pageSize ?? 400
  if (!Number.isInteger(size) || size < 1 || size > 400)
    throw elbError(
      'ValidationError',
      `1 validation error detected: Value '${size}' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and 400`
    )
  let start = 0
  if (marker !== undefined) {
    const decoded = Number(Buffer.from(marker, 'base64').toString('utf8').replace(/^p:/, ''))
    if (!Number.isInteger(decoded) || decoded < 0) throw elbError('ValidationError', 'The marker is not valid')
    start = decoded
  }
  const items = list.slice(start, start + size)
  const next = start + size < list.length ? Buffer.from(`p:${start + size}`).toString('base64') : undefined
  return next === undefined ? { items } : { items, next }
}
