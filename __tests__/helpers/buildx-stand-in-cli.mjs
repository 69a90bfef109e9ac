// A stand-in for the runner's docker CLI, for tests of the action's builds. Run as
// `node buildx-stand-in-cli.mjs ARGS` (buildxStandIn() in buildx-stand-in.ts puts a `docker` wrapper
// first on PATH).
//
// Each invocation appends one JSON line to $DOCKER_STANDIN_LOG: the argument vector and, for
// `login --password-stdin`, the user and host and whether a password came on stdin (never the
// password). `buildx build --push` reads its Dockerfile (from --file, `-` for stdin, or the context's),
// fails as a build does when a line of it is `RUN false` (the last lines name the step), and otherwise
// makes a manifest from what the build depends on and registers it under each --tag through ECR's own
// PutImage API (as a registry push makes the image appear), with the step's AWS credentials and
// endpoint; then it writes the pushed digest to --metadata-file as buildx does.
import { createHash } from 'node:crypto'
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ECRClient, PutImageCommand } from '@aws-sdk/client-ecr'

const LOG = process.env.DOCKER_STANDIN_LOG
if (!LOG) {
  process.stderr.write('docker stand-in: DOCKER_STANDIN_LOG is not set\n')
  process.exit(125)
}
const argv = process.argv.slice(2)
const record = (entry) => appendFileSync(LOG, JSON.stringify({ argv, ...entry }) + '\n')
const stdin = () => {
  try {
    return readFileSync(0, 'utf8')
  } catch {
    return ''
  }
}

if (argv[0] === 'login') {
  const user = argv[argv.indexOf('--username') + 1]
  const password = argv.includes('--password-stdin') ? stdin() : ''
  record({ login: { user, host: argv.at(-1), passwordFromStdin: password.length > 0 } })
  process.stdout.write('Login Succeeded\n')
  process.exit(0)
}

if (argv[0] === 'buildx' && argv[1] === 'build') {
  const values = (flag) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []))
  const context = argv.at(-1)
  const file = values('--file')[0]
  const dockerfile = file === '-' ? stdin() : readFileSync(file ?? path.join(context, 'Dockerfile'), 'utf8')
  record({ build: { context, tags: values('--tag'), platform: values('--platform')[0], args: values('--build-arg') } })
  const failing = dockerfile.split('\n').findIndex((l) => l.trim() === 'RUN false')
  if (failing >= 0) {
    process.stderr.write(
      [
        `#1 [internal] load build definition from Dockerfile`,
        `#5 [2/2] RUN false`,
        `#5 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1`,
        `Dockerfile:${failing + 1}`,
        `ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1`
      ].join('\n') + '\n'
    )
    process.exit(1)
  }
  const files = []
  const walk = (dir, rel) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name)
      if (statSync(full).isDirectory()) walk(full, `${rel}${name}/`)
      else files.push(`${rel}${name}:${createHash('sha256').update(readFileSync(full)).digest('hex')}`)
    }
  }
  walk(context, '')
  const config = createHash('sha256')
    .update(JSON.stringify({ dockerfile, files, args: values('--build-arg'), platform: values('--platform') }))
    .digest('hex')
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1469, digest: `sha256:${config}` },
    layers: [
      {
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        size: 3_000_000 + files.length,
        digest: `sha256:${createHash('sha256').update(config).digest('hex')}`
      }
    ]
  })
  for (const tag of values('--tag')) {
    const [, host, repository, name] = /^([^/]+)\/(.+):([^:/]+)$/.exec(tag) ?? []
    const region = /\.dkr\.ecr\.([a-z0-9-]+)\./.exec(host ?? '')?.[1]
    const ecr = new ECRClient({ region, maxAttempts: 5 })
    try {
      await ecr.send(new PutImageCommand({ repositoryName: repository, imageManifest: manifest, imageTag: name }))
    } catch (err) {
      if (err?.name !== 'ImageAlreadyExistsException') {
        process.stderr.write(`ERROR: failed to push ${tag}: ${err?.name}: ${err?.message}\n`)
        process.exit(1)
      }
    } finally {
      ecr.destroy()
    }
    process.stdout.write(`#9 pushing ${tag} done\n`)
  }
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`
  const metadata = values('--metadata-file')[0]
  if (metadata) writeFileSync(metadata, JSON.stringify({ 'containerimage.digest': digest }))
  process.exit(0)
}

record({})
process.stderr.write(`docker stand-in: ${argv.join(' ')}: not a command the builds run\n`)
process.exit(existsSync(LOG) ? 1 : 125)
