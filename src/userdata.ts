/**
 * The instance user data: a bash script made only of constant text plus
 * base64 blobs inside single quotes (the base64 alphabet has no character a
 * shell interprets there). Every compose value travels inside the service
 * spec blob, is decoded to a root-only JSON file, and is read by a constant
 * Python launcher that runs `docker run` with an argv list (no shell) and
 * passes environment values through its own environment (`-e KEY`), so a
 * value never reaches a shell, a command line or a log. Pure.
 */
import type { ServiceModel } from './compose/model.js'
import { dockerPortArgs } from './container-ports.js'

/** EC2's limit on user data, before base64. */
export const USER_DATA_LIMIT = 16 * 1024

export const SPEC_PATH = '/etc/hyperform/service.json'
export const LAUNCHER_PATH = '/etc/hyperform/launch.py'

/** What the launcher reads. */
export interface ContainerSpec {
  name: string
  image: string
  command?: string[]
  entrypoint?: string[]
  /** docker -p arguments, [ip:]published:target/protocol: the ports mappings, then container ports for other services (container-ports.ts). */
  ports: string[]
  dns: string
  dnsSearch: string[]
  environment: Record<string, string>
}

const LAUNCHER = `import json
import os
import subprocess
import sys
import time

# Absolute path and explicit socket: a compose variable named PATH or DOCKER_HOST must not steer the CLI.
DOCKER = "/usr/bin/docker"
SOCKET = "unix:///var/run/docker.sock"

def docker_args(spec):
    args = [DOCKER, "-H", SOCKET, "run", "-d", "--restart", "always", "--name", spec["name"], "--dns", spec["dns"]]
    for domain in spec["dnsSearch"]:
        args += ["--dns-search", domain]
    for port in spec["ports"]:
        args += ["-p", port]
    for key in spec["environment"]:
        args += ["-e", key]
    rest = list(spec.get("command") or [])
    entrypoint = spec.get("entrypoint")
    if entrypoint is not None:
        args += ["--entrypoint", entrypoint[0] if entrypoint else ""]
        rest = list(entrypoint[1:]) + rest
    return args + [spec["image"]] + rest


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    env = dict(os.environ)
    env.update(spec["environment"])
    subprocess.run([DOCKER, "-H", SOCKET, "rm", "-f", spec["name"]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    for _ in range(30):
        if subprocess.run(docker_args(spec), env=env, stdout=subprocess.DEVNULL, check=False).returncode == 0:
            return 0
        time.sleep(10)
    return 1


sys.exit(main())
`

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64')
}

function checkEnvironment(service: string, environment: Record<string, string>): void {
  for (const [key, value] of Object.entries(environment)) {
    if (key === '' || key.includes('=') || key.includes('\0')) {
      throw new Error(
        `service "${service}": environment variable name ${JSON.stringify(key)} cannot be passed to a process (empty, "=" or NUL)`
      )
    }
    if (value.includes('\0')) {
      throw new Error(
        `service "${service}": the value of environment variable ${key} contains a NUL byte, which a process environment cannot carry`
      )
    }
  }
}

export function containerSpec(service: ServiceModel, dns: { resolver: string; search: string[] }): ContainerSpec {
  if (service.image.startsWith('-') || service.image.trim() === '') {
    throw new Error(`service "${service.name}": image ${JSON.stringify(service.image)} is not an image reference`)
  }
  checkEnvironment(service.name, service.environment)
  const spec: ContainerSpec = {
    name: service.name,
    image: service.image,
    ports: dockerPortArgs(service),
    dns: dns.resolver,
    dnsSearch: [...dns.search],
    environment: { ...service.environment }
  }
  if (service.command) spec.command = [...service.command]
  if (service.entrypoint) spec.entrypoint = [...service.entrypoint]
  return spec
}

/** The script; constant text except the two quoted base64 blobs. */
export function userDataScript(spec: ContainerSpec): string {
  return [
    '#!/bin/bash',
    '# hyperform-action: runs the container of this service under Docker.',
    '# Compose values are only inside the base64 blobs; they are decoded to files, never evaluated.',
    'set -euo pipefail',
    'umask 077',
    'install -d -m 0700 /etc/hyperform',
    `printf '%s' '${b64(JSON.stringify(spec))}' | base64 -d > ${SPEC_PATH}`,
    `printf '%s' '${b64(LAUNCHER)}' | base64 -d > ${LAUNCHER_PATH}`,
    'if ! command -v docker >/dev/null 2>&1; then dnf install -y docker; fi',
    'systemctl enable --now docker',
    `exec python3 ${LAUNCHER_PATH} ${SPEC_PATH}`,
    ''
  ].join('\n')
}

/** The launch template's UserData (base64), or an error naming the service when it is over 16 KB. */
export function buildUserData(service: ServiceModel, dns: { resolver: string; search: string[] }): string {
  const script = userDataScript(containerSpec(service, dns))
  const size = Buffer.byteLength(script, 'utf8')
  if (size > USER_DATA_LIMIT) {
    throw new Error(
      `service "${service.name}": the instance user data is ${size} bytes; EC2 allows ${USER_DATA_LIMIT}. ` +
        'Shorten its environment, command or entrypoint.'
    )
  }
  return b64(script)
}
