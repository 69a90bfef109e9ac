/** An HTTP server that records every request and answers 500: proof that nothing was called. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Recorder {
  endpoint: string
  requests: { method: string; url: string; target?: string }[]
  close(): Promise<void>
}

export async function startRecorder(): Promise<Recorder> {
  const requests: Recorder['requests'] = []
  const server: Server = createServer((req, res) => {
    req.resume()
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      target: req.headers['x-amz-target'] as string | undefined
    })
    res.writeHead(500, { 'content-type': 'text/plain' }).end('recorder: no AWS here')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}
