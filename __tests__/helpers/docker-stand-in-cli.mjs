// A stand-in for the docker CLI, for tests of the instance agent. Run as `node docker-stand-in-cli.mjs ARGS`
// (dockerStandIn() in docker-stand-in.ts makes a `docker` wrapper to put first on PATH).
//
// Each invocation appends one JSON line to $DOCKER_STANDIN_LOG: the argument vector, the global
// options (--host, --config), the command and its arguments; for `run`, the environment value it
// received for each `-e KEY` (tests assert values arrive this way; the log stays in the test's
// temporary directory); for `login --password-stdin`, the user and host and whether a password
// came on stdin (never the password in the log; like docker, it stores the credentials in
// config.json of its --config directory).
//
// $DOCKER_STANDIN_IMAGES is a JSON array of {"image", "pull": "ok"|"denied", "run": "healthy"|
// "unhealthy"|"crash", "logs": [...], "states": [...]}; unlisted images pull ok and run healthy.
// Containers live in $DOCKER_STANDIN_LOG.containers.json so `inspect`, `logs`, `stop` and `rm` see
// what `run` made. `states` scripts `inspect`: each call answers the next one (`State` fields,
// `RestartCount`, `Config`, each replacing what `run` says), the last one from then on.
import { createHash } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'

const LOG = process.env.DOCKER_STANDIN_LOG
if (!LOG) {
  process.stderr.write('docker stand-in: DOCKER_STANDIN_LOG is not set\n')
  process.exit(125)
}
const STATE = `${LOG}.containers.json`
const catalogue = JSON.parse(process.env.DOCKER_STANDIN_IMAGES || '[]')
const imageOf = (ref) => ({ pull: 'ok', run: 'healthy', logs: [], ...catalogue.find((i) => i.image === ref) })
const containers = () => (existsSync(STATE) ? JSON.parse(readFileSync(STATE, 'utf8')) : {})
const saveContainers = (all) => writeFileSync(STATE, JSON.stringify(all))

const argv = process.argv.slice(2)
const global = []
let i = 0
for (; i < argv.length; i++) {
  const a = argv[i]
  if (['--host', '-H', '--config', '--context', '-c', '--log-level', '-l'].includes(a)) global.push(a, argv[++i])
  else if (/^--(host|config|context|log-level)=/.test(a)) global.push(a)
  else if (a.startsWith('-')) global.push(a)
  else break
}
const command = argv[i]
const configDir = () => {
  const at = global.indexOf('--config')
  return at >= 0 ? global[at + 1] : process.env.DOCKER_CONFIG
}
const args = argv.slice(i + 1)
const record = { argv, global, command, args }

function fail(message, code = 1) {
  appendFileSync(LOG, JSON.stringify({ ...record, exit: code }) + '\n')
  process.stderr.write(message + '\n')
  process.exit(code)
}
function done(stdout = '') {
  appendFileSync(LOG, JSON.stringify({ ...record, exit: 0 }) + '\n')
  process.stdout.write(stdout)
  process.exit(0)
}

/** Options of `docker run` that take a value (the ones the agent may pass). */
const RUN_VALUE_OPTIONS = new Set([
  '--name',
  '--restart',
  '--stop-signal',
  '--stop-timeout',
  '--dns',
  '--dns-search',
  '-p',
  '--publish',
  '-e',
  '--env',
  '--mount',
  '-v',
  '--volume',
  '--log-driver',
  '--log-opt',
  '--entrypoint',
  '--env-file',
  '--user',
  '-u'
])

function parseRun(list) {
  const options = []
  let k = 0
  for (; k < list.length; k++) {
    const a = list[k]
    if (!a.startsWith('-')) break
    if (RUN_VALUE_OPTIONS.has(a)) options.push([a, list[++k]])
    else options.push([a])
  }
  return { options, image: list[k], rest: list.slice(k + 1) }
}

switch (command) {
  case 'login': {
    const user = args[args.indexOf('--username') + 1] ?? args[args.indexOf('-u') + 1]
    const host = args.filter((a, n) => !a.startsWith('-') && !['--username', '-u'].includes(args[n - 1])).at(-1)
    let password = ''
    if (args.includes('--password-stdin')) password = readFileSync(0, 'utf8').replace(/\n$/, '')
    record.login = { user, host, passwordFromStdin: password.length > 0 }
    if (!password) fail('Error: Cannot perform an interactive login from a non TTY device')
    // As docker does: the credentials go to config.json in the client configuration directory.
    const dir = configDir()
    if (dir) {
      const file = `${dir}/config.json`
      const config = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {}
      config.auths = { ...config.auths, [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } }
      mkdirSync(dir, { recursive: true })
      writeFileSync(file, JSON.stringify(config), { mode: 0o600 })
    }
    done('Login Succeeded\n')
    break
  }
  case 'pull': {
    const ref = args.filter((a) => !a.startsWith('-')).at(-1)
    if (imageOf(ref).pull === 'denied') {
      const repo = ref.replace(/[:@].*$/, '')
      fail(
        `Error response from daemon: pull access denied for ${repo}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`
      )
    }
    done(`${ref}\n`)
    break
  }
  case 'run': {
    const parsed = parseRun(args)
    record.run = parsed
    // The value each `-e KEY` took from this process's environment (null when absent).
    record.env = Object.fromEntries(
      parsed.options
        .filter(([o, v]) => (o === '-e' || o === '--env') && !v.includes('='))
        .map(([, key]) => [key, process.env[key] ?? null])
    )
    const name = parsed.options.find(([o]) => o === '--name')?.[1] ?? `c${Date.now()}`
    const all = containers()
    if (all[name])
      fail(`docker: Error response from daemon: Conflict. The container name "/${name}" is already in use.`)
    const id = createHash('sha256').update(`${name}:${Date.now()}:${Math.random()}`).digest('hex')
    all[name] = { id, image: parsed.image, state: imageOf(parsed.image).run }
    saveContainers(all)
    done(`${id}\n`)
    break
  }
  case 'inspect': {
    const all = containers()
    const name = args.at(-1)
    const c = all[name]
    if (!c) fail(`Error: No such object: ${name}`)
    const running = c.state !== 'crash' && c.state !== 'stopped'
    let view = {
      State: {
        Status: running ? 'running' : 'exited',
        Running: running,
        Restarting: false,
        ExitCode: c.state === 'crash' ? 1 : 0,
        ...(c.state === 'healthy' || c.state === 'unhealthy' ? { Health: { Status: c.state, Log: [] } } : {})
      },
      RestartCount: 0
    }
    // A scripted image answers its states in turn (the last one again and again), until stopped.
    const states = imageOf(c.image).states
    if (states?.length && c.state !== 'stopped') {
      const n = c.inspected ?? 0
      c.inspected = n + 1
      saveContainers(all)
      const scripted = states[Math.min(n, states.length - 1)]
      view = { ...view, ...scripted, State: scripted.State ?? view.State }
    }
    done(JSON.stringify([{ Id: c.id, Name: `/${name}`, Config: { Image: c.image }, ...view }]) + '\n')
    break
  }
  case 'logs': {
    const c = containers()[args.at(-1)]
    if (!c) fail(`Error response from daemon: No such container: ${args.at(-1)}`)
    done(
      imageOf(c.image)
        .logs.map((l) => `${l}\n`)
        .join('')
    )
    break
  }
  case 'stop': {
    const all = containers()
    const name = args.at(-1)
    if (all[name]) all[name].state = 'stopped'
    saveContainers(all)
    done(`${name}\n`)
    break
  }
  case 'rm': {
    const all = containers()
    const names = args.filter((a) => !a.startsWith('-'))
    const missing = names.filter((n) => !all[n])
    for (const n of names) delete all[n]
    saveContainers(all)
    if (missing.length && !args.includes('-f') && !args.includes('--force'))
      fail(`Error response from daemon: No such container: ${missing[0]}`)
    done(names.map((n) => `${n}\n`).join(''))
    break
  }
  default:
    fail(`docker stand-in: unsupported command ${JSON.stringify(command)}`, 125)
}
