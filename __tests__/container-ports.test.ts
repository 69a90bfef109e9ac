/**
 * Container ports as compose users expect them on the VPC: other services reach a
 * service at its container ports (every `expose` port, and the target of every
 * `ports` mapping), so those are published on the instance host = container and
 * opened to the VPC CIDR. Checked on what a deploy produces from a compose file:
 * the `docker run -p` values (dockerPortArgs, what the agent configuration carries), and the security group.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatDiagnostic, loadCompose } from '../src/compose/index.js'
import type { ServiceModel } from '../src/compose/model.js'
import { containerPorts, ingressRules } from '../src/container-ports.js'
import type { IngressRule } from '../src/state.js'
import type { AgentConfig } from '../src/agent/config.js'
import { desiredFor, svc } from './helpers/deploy-fixtures.js'

const VPC = '172.28.0.0/16'
const workspaces: string[] = []

afterAll(() => {
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true })
})

async function load(service: string): Promise<{ service: ServiceModel; warnings: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'hyperform-ports-'))
  workspaces.push(dir)
  writeFileSync(join(dir, 'compose.yaml'), `services:\n  web:\n    image: nginx:1.27\n${service}`)
  const result = await loadCompose({ files: ['compose.yaml'], workspace: dir, env: {} })
  if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'))
  return { service: result.model.services[0]!, warnings: result.warnings.map(formatDiagnostic) }
}

/** What the instance runs (the agent's `docker run -p` values) and what its security group opens, as a deploy builds them. */
function deployed(service: ServiceModel): { dockerPorts: string[]; ingress: string[] } {
  const built = desiredFor({ services: [service], files: ['compose.yaml'] }).services[0]!
  const config = JSON.parse(built.configValue) as AgentConfig
  return { dockerPorts: config.ports, ingress: built.securityGroup.ingress.map(rule) }
}

function rule(r: IngressRule): string {
  return `${r.protocol} ${r.fromPort}${r.toPort === r.fromPort ? '' : `-${r.toPort}`} from ${r.cidr === VPC ? 'VPC' : r.cidr}`
}

describe('container ports', () => {
  test('an exposed port is published on the instance on the same number and opened to the VPC only', async () => {
    const { service } = await load('    expose: [3000, "5000/udp"]\n    deploy:\n      public: true\n')
    expect(deployed(service)).toEqual({
      dockerPorts: ['3000:3000/tcp', '5000:5000/udp'],
      ingress: ['tcp 3000 from VPC', 'udp 5000 from VPC']
    })
  })

  test('the target of a published port is also published on its own number, so other services reach web:80 as on a compose network', async () => {
    const { service, warnings } = await load('    ports: ["8000:80"]\n')
    expect(deployed(service)).toEqual({
      dockerPorts: ['8000:80/tcp', '80:80/tcp'],
      ingress: ['tcp 80 from VPC', 'tcp 8000 from VPC']
    })
    expect(warnings).toEqual([])
  })

  test('with deploy.public the published port is open to anywhere and the target port to the VPC only', async () => {
    const { service } = await load('    ports: ["8000:80"]\n    deploy:\n      public: true\n')
    expect(deployed(service).ingress).toEqual(['tcp 80 from VPC', 'tcp 8000 from 0.0.0.0/0'])
  })

  test('a port published on its own number, or exposed as well, is published and opened once, with its published-port rule', async () => {
    const { service } = await load('    ports: ["80:80", "443"]\n    expose: [80]\n    deploy:\n      public: true\n')
    expect(deployed(service)).toEqual({
      dockerPorts: ['80:80/tcp', '443:443/tcp'],
      ingress: ['tcp 80 from 0.0.0.0/0', 'tcp 443 from 0.0.0.0/0']
    })
  })

  test('several host ports to one container port publish the target once', async () => {
    const { service } = await load('    ports: ["8000:80", "8001:80"]\n')
    expect(deployed(service).dockerPorts).toEqual(['8000:80/tcp', '8001:80/tcp', '80:80/tcp'])
  })

  test('tcp and udp on one number are different host ports', async () => {
    const { service } = await load('    ports: ["7000:5000/udp", "8000:7000"]\n')
    expect(deployed(service).dockerPorts).toEqual(['7000:5000/udp', '8000:7000/tcp', '5000:5000/udp', '7000:7000/tcp'])
  })

  test('a container port on a host port of the instance itself (SSH, DNS) is not published, with a warning, so docker run does not fail', async () => {
    const { service, warnings } = await load('    ports: ["2222:22"]\n    expose: ["53/udp"]\n')
    expect(deployed(service)).toEqual({ dockerPorts: ['2222:22/tcp'], ingress: ['tcp 2222 from VPC'] })
    expect(warnings).toEqual([
      "compose.yaml:4:13 services.web.ports[0]: its target port 22/tcp is not published on the instance for other services: the instance's SSH server uses host port 22/tcp",
      "compose.yaml:5:14 services.web.expose[0]: exposed port 53/udp is not published on the instance for other services: the instance's DNS resolver uses host port 53/udp"
    ])
  })

  test('a container port whose host port another mapping uses is not published, with a warning at its file and line', async () => {
    const { service, warnings } = await load(
      '    ports:\n      - "8000:80"\n      - "80:9000"\n    expose:\n      - 8000\n      - 9000\n'
    )
    expect(deployed(service)).toEqual({
      dockerPorts: ['8000:80/tcp', '80:9000/tcp', '9000:9000/tcp'],
      ingress: ['tcp 80 from VPC', 'tcp 8000 from VPC', 'tcp 9000 from VPC']
    })
    expect(warnings).toEqual([
      'compose.yaml:5:9 services.web.ports[0]: its target port 80/tcp is not published on the instance for other services: services.web.ports[1] already uses host port 80/tcp',
      'compose.yaml:8:9 services.web.expose[0]: exposed port 8000/tcp is not published on the instance for other services: services.web.ports[0] already uses host port 8000/tcp'
    ])
  })

  test('a mapping bound to one host address keeps its host port, and the warning says so', async () => {
    const { service, warnings } = await load('    ports: ["127.0.0.1:5432:5432", "0.0.0.0:6379:6379"]\n')
    expect(deployed(service).dockerPorts).toEqual(['127.0.0.1:5432:5432/tcp', '0.0.0.0:6379:6379/tcp'])
    expect(warnings).toEqual([
      'compose.yaml:4:13 services.web.ports[0]: its target port 5432/tcp is not published on the instance for other services: services.web.ports[0] binds host port 5432/tcp to 127.0.0.1 only'
    ])
  })

  test('every host port the container publishes has an ingress rule, and every rule a published host port', () => {
    const services = [
      svc('a', {
        ports: [{ target: 80, published: 8080, protocol: 'tcp' }],
        expose: [{ port: 9000, protocol: 'udp' }]
      }),
      svc('b', {
        public: true,
        ports: [
          { target: 443, published: 443, protocol: 'tcp' },
          { target: 80, published: 8443, protocol: 'tcp', hostIp: '10.0.0.5' }
        ]
      }),
      svc('c', {
        ports: [
          { target: 80, published: 80, protocol: 'tcp' },
          { target: 81, published: 8080, protocol: 'tcp' }
        ],
        expose: [
          { port: 80, protocol: 'tcp' },
          { port: 8080, protocol: 'tcp' }
        ]
      })
    ]
    for (const s of services) {
      const published = containerPorts(s).published.map((p) => `${p.protocol}/${p.published}`)
      const opened = ingressRules(s, VPC).map((r) => `${r.protocol}/${r.fromPort}`)
      expect({ service: s.name, ports: [...new Set(published)].sort() }).toEqual({
        service: s.name,
        ports: [...new Set(opened)].sort()
      })
    }
  })
})
