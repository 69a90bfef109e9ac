/**
 * The user data script carries compose values only inside base64 blobs, and they decode byte-identical.
 * (The user data of a deployed launch template is decoded and run in security-defaults.test.ts.)
 */
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ServiceModel } from '../src/compose/model.js'
import { buildUserData, containerSpec, USER_DATA_LIMIT, userDataScript, type ContainerSpec } from '../src/userdata.js'
import { RUNTIME_DEFAULTS } from './helpers/deploy-fixtures.js'
import { runUserData } from './helpers/user-data-sandbox.js'

const dns = { resolver: '172.28.0.2', search: ['st.prj.us-east-1.internal', 'prj.us-east-1.internal'] }

function service(overrides: Partial<ServiceModel> = {}): ServiceModel {
  return {
    name: 'web',
    image: 'nginx:1.27',
    environment: {},
    ...RUNTIME_DEFAULTS,
    ports: [],
    expose: [],
    replicas: 1,
    preemptible: 0,
    public: false,
    location: { file: 'compose.yaml', line: 1, column: 1 },
    ...overrides
  }
}

const HOSTILE = [
  `it's "quoted"`,
  '$(rm -rf /)',
  '`reboot`',
  'line one\nline two\r\n',
  'EOF',
  "'; echo pwned; '",
  '${HOME} $$ \\ \\n',
  'unicode: é ü 日本語 🚀',
  '\nEOF\n#!/bin/bash\n'
]

function decodeScript(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8')
}

function blobs(script: string): string[] {
  return [...script.matchAll(/'([A-Za-z0-9+/=]+)'/g)].map((m) => Buffer.from(m[1] ?? '', 'base64').toString('utf8'))
}

function specOf(script: string): ContainerSpec {
  const json = blobs(script).find((b) => b.startsWith('{'))
  if (!json) throw new Error('no spec blob')
  return JSON.parse(json) as ContainerSpec
}

describe('user data', () => {
  const environment = Object.fromEntries(HOSTILE.map((value, i) => [`VAR_${i}`, value]))
  const hostile = service({
    environment,
    command: ['sh', '-c', HOSTILE.join(' ')],
    entrypoint: ['/bin/sh', "-c'x"],
    image: 'registry.example.com/team/app:1.0'
  })
  const script = decodeScript(buildUserData(hostile, dns))

  test('hostile environment values, command and entrypoint come back byte-identical from the spec blob', () => {
    const spec = specOf(script)
    expect(spec.environment).toEqual(environment)
    expect(spec.command).toEqual(['sh', '-c', HOSTILE.join(' ')])
    expect(spec.entrypoint).toEqual(['/bin/sh', "-c'x"])
  })

  test('no hostile value appears unencoded anywhere in the script', () => {
    for (const value of HOSTILE) expect(script).not.toContain(value)
    for (const marker of [
      '$(rm',
      '`reboot`',
      'pwned',
      '${HOME}',
      '日本語',
      '🚀',
      'quoted',
      'line one',
      'registry.example.com'
    ]) {
      expect(script).not.toContain(marker)
    }
  })

  test('outside the quoted base64 blobs the script is the same constant text for any service', () => {
    const strip = (text: string): string => text.replace(/'[A-Za-z0-9+/=]+'/g, "''")
    const plain = decodeScript(buildUserData(service(), dns))
    expect(strip(script)).toBe(strip(plain))
    expect(strip(script)).not.toMatch(/\$\(|`|<</)
  })

  test('every single quote in the script delimits a base64 blob or the constant printf format', () => {
    const quoted = [...script.matchAll(/'([^']*)'/g)].map((m) => m[1])
    for (const q of quoted) expect(q === '%s' || /^[A-Za-z0-9+/=]+$/.test(q ?? '')).toBe(true)
  })

  test('the container gets the VPC resolver, both search domains, the ports and restart always', () => {
    const spec = specOf(
      decodeScript(
        buildUserData(
          service({
            ports: [
              { target: 80, published: 8080, protocol: 'tcp' },
              { target: 53, published: 53, protocol: 'udp', hostIp: '::1' }
            ]
          }),
          dns
        )
      )
    )
    expect(spec.dns).toBe('172.28.0.2')
    expect(spec.dnsSearch).toEqual(dns.search)
    expect(spec.ports).toEqual(['8080:80/tcp', '[::1]:53:53/udp', '80:80/tcp'])
    const launcher = blobs(script).find((b) => b.includes('docker_args'))
    expect(launcher).toContain('"--restart", "always"')
    expect(launcher).toContain('"--dns-search"')
  })

  test('the launcher passes environment names with -e KEY and values only through its environment', () => {
    const launcher = blobs(script).find((b) => b.includes('docker_args')) ?? ''
    expect(launcher).toContain('args += ["-e", key]')
    expect(launcher).toContain('env.update(spec["environment"])')
    expect(launcher).not.toMatch(/shell=True|os\.system|"=" \+/)
  })

  test('the spec file and launcher are written under a root-only directory with umask 077', () => {
    expect(script).toContain('umask 077')
    expect(script).toContain('install -d -m 0700 /etc/hyperform')
    expect(script).toContain('dnf install -y docker')
    expect(script).toContain('systemctl enable --now docker')
  })

  test('user data over 16 KB is rejected with the service name', () => {
    const big = service({ environment: { BIG: 'x'.repeat(USER_DATA_LIMIT) } })
    expect(() => buildUserData(big, dns)).toThrow(
      /service "web": the instance user data is \d+ bytes; EC2 allows 16384/
    )
  })

  test('a NUL byte in a value and "=" in a name are rejected because a process environment cannot carry them', () => {
    expect(() => containerSpec(service({ environment: { A: 'x\0y' } }), dns)).toThrow(/NUL/)
    expect(() => containerSpec(service({ environment: { 'A=B': 'x' } }), dns)).toThrow(/cannot be passed/)
  })

  test('an image that would read as a docker option is rejected', () => {
    expect(() => containerSpec(service({ image: '--privileged' }), dns)).toThrow(/not an image reference/)
  })

  test('the same service gives the same script, so the launch template hash is stable', () => {
    expect(userDataScript(containerSpec(hostile, dns))).toBe(script)
  })

  test('run with bash (docker and the launcher stubbed), the script writes a spec holding every hostile value byte-identical and evaluates none of them', () => {
    const markers = mkdtempSync(path.join(tmpdir(), 'hyperform-userdata-'))
    const traps = [
      `$(touch ${markers}/a)`,
      `\`touch ${markers}/b\``,
      `'; touch ${markers}/c; '`,
      `\nEOF\ntouch ${markers}/d\nEOF\n`
    ]
    const env = { ...environment, ...Object.fromEntries(traps.map((t, i) => [`TRAP_${i}`, t])) }
    const { spec } = runUserData(
      decodeScript(buildUserData(service({ environment: env, command: ['sh', '-c', traps.join(' ')] }), dns))
    )
    expect(spec.environment).toEqual(env)
    expect(spec.command).toEqual(['sh', '-c', traps.join(' ')])
    expect(readdirSync(markers)).toEqual([])
  })
})
