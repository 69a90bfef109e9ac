/**
 * The instance user data: a constant bash script that installs the hyperform
 * agent (agent/agent.sh) as a systemd unit and names, in /etc/hyperform/agent.env,
 * the region and the SSM SecureString parameter (name:version) holding the
 * service's configuration (agent/config.ts). No compose value is in it: the
 * agent reads them with the instance role. Only those two lines vary, so a
 * launch template changes when the configuration version or the agent does.
 * Pure.
 */
import { AGENT_SCRIPT_GZIP_BASE64 } from './agent/script.js'
import { regionProblem } from './names.js'

/** EC2's limit on user data, before base64. */
export const USER_DATA_LIMIT = 16 * 1024

export const AGENT_ENV_PATH = '/etc/hyperform/agent.env'
export const AGENT_PATH = '/usr/local/sbin/hyperform-agent'
export const AGENT_UNIT = 'hyperform-agent.service'

export interface UserDataInput {
  region: string
  /** The service's configuration parameter and the version the instance runs. */
  config: { name: string; version: number }
}

/**
 * oneshot + RemainAfterExit: the unit is "active" while the container is managed, and ExecStop
 * (docker stop with the compose grace period) runs at shutdown. Restart covers a start that
 * fails for a while (instance role not yet usable, registry unreachable).
 */
export const AGENT_UNIT_TEXT = `[Unit]
Description=hyperform agent: runs this instance's service container
After=docker.service network-online.target
Requires=docker.service
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${AGENT_PATH} start
ExecStop=${AGENT_PATH} stop
Restart=on-failure
RestartSec=30
TimeoutStartSec=30min
TimeoutStopSec=30min

[Install]
WantedBy=multi-user.target
`

// SSM's alphabet for names: nothing a heredoc line or a shell could misread.
const PARAMETER_NAME = /^\/[A-Za-z0-9_.\-/]+$/

/** The two lines of agent.env; the emulator's agent stand-in reads them from the user data too. */
export function agentEnv(input: UserDataInput): string {
  const { region, config } = input
  if (regionProblem(region)) throw new Error(`user data: ${JSON.stringify(region)} is not a region`)
  if (!PARAMETER_NAME.test(config.name)) {
    throw new Error(`user data: ${JSON.stringify(config.name)} is not an SSM parameter name`)
  }
  if (!Number.isSafeInteger(config.version) || config.version < 1) {
    throw new Error(`user data: parameter version ${config.version} is not a positive integer`)
  }
  return `HYPERFORM_REGION=${region}\nHYPERFORM_CONFIG=${config.name}:${config.version}\n`
}

/** The script; constant text except the two agent.env lines. */
export function userDataScript(input: UserDataInput): string {
  return [
    '#!/bin/bash',
    '# hyperform-action: installs the hyperform agent, which reads this service configuration from SSM',
    '# with the instance role and runs its container.',
    'set -euo pipefail',
    'umask 022',
    'install -d -m 0755 /etc/hyperform',
    `cat > ${AGENT_ENV_PATH} <<'HYPERFORM_AGENT_ENV'`,
    agentEnv(input) + 'HYPERFORM_AGENT_ENV',
    `cat > /etc/systemd/system/${AGENT_UNIT} <<'HYPERFORM_AGENT_UNIT'`,
    AGENT_UNIT_TEXT + 'HYPERFORM_AGENT_UNIT',
    `printf '%s' '${AGENT_SCRIPT_GZIP_BASE64}' | base64 -d | gzip -d > ${AGENT_PATH}.new`,
    `chmod 0755 ${AGENT_PATH}.new`,
    `mv -f ${AGENT_PATH}.new ${AGENT_PATH}`,
    'if ! command -v docker >/dev/null 2>&1; then dnf install -y docker; fi',
    'systemctl enable --now docker',
    'systemctl daemon-reload',
    // --no-block: cloud-init finishes while the agent starts (and retries) on its own.
    `systemctl enable --now --no-block ${AGENT_UNIT}`,
    ''
  ].join('\n')
}

/** The launch template's UserData (base64). */
export function buildUserData(input: UserDataInput): string {
  const script = userDataScript(input)
  const size = Buffer.byteLength(script, 'utf8')
  // Only the agent can grow it; a test keeps the margin.
  if (size > USER_DATA_LIMIT) throw new Error(`the instance user data is ${size} bytes; EC2 allows ${USER_DATA_LIMIT}`)
  return Buffer.from(script, 'utf8').toString('base64')
}
