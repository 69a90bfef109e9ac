#!/bin/bash
# hyperform-agent: runs this instance's one container from its service configuration, an SSM
# SecureString (the AgentConfig JSON of src/agent/config.ts) read with the instance role.
#
#   hyperform-agent start   read the configuration, resolve references, log in, pull, the volumes, docker run,
#                           then the launch gate, then (in the background) the health watch
#   hyperform-agent stop    end the watch, docker stop --time <grace> <service>, unmount the volumes
#
# Before docker run (the launch hook's heartbeats running), with `volumes` in the configuration: the
# service's EBS volumes of one replica slot are attached, given a file system when blank, mounted
# under $VOLUMES and bound into the container; with `files`, the repository files are written under
# $FILES and bound read-only (see "Volumes" below).
#
# The launch gate (when the configuration has `lifecycle`): the agent finds its Auto Scaling group
# (its instance metadata tag aws:autoscaling:groupName; without one, describe-auto-scaling-instances
# for its own instance id; in no group, it just runs) and completes
# the group's launch lifecycle hook: CONTINUE once the container is healthy (without a health
# status: once it has run settleSeconds without a restart), ABANDON when the image cannot be
# pulled, a reference or the registry cannot be read, the container exits and is not restarted or
# is restarted more than $MAX_RESTARTS times, reports unhealthy, or is not healthy within
# start_period + retries x (interval + timeout) + a margin. Heartbeats keep the hook open meanwhile.
# Before completing, one line goes to the service's stream `<service>/<instance-id>` in the stack's
# log group (`agentLog`; also when the container logs nowhere), which the action searches:
#   hyperform-agent: healthy
#   hyperform-agent: abandon: <reason>
# Then the watch (a background process left in the unit, which stays active) looks at the container
# every 10 s; when it turns unhealthy, is gone, exits for good or keeps restarting, it writes
#   hyperform-agent: unhealthy: <reason>
# and reports the instance Unhealthy to its group (set-instance-health), which replaces it.
# Beside it, the watch looks at the instance metadata every 5 s for EC2's spot signals. A spot
# interruption notice (meta-data/spot/instance-action: the reclaim two minutes away) drains the
# container, once: first the health watch stops reporting (a stopping container is no fault: reported
# Unhealthy, its group would replace the instance a second time), then the lines
#   hyperform-agent: spot interruption: stopping the container (reclaim at <time>)
#   hyperform-agent: stopped                    (or: stop failed with exit status <n>)
# around docker stop --time <grace> <service> (the stop signal was set at docker run). A rebalance
# recommendation (meta-data/events/recommendations/rebalance) stops nothing: the instance runs until
# Auto Scaling replaces it; it is only written, once:
#   hyperform-agent: rebalance recommendation
# The watch runs only after the launch gate passed (the configuration has `lifecycle`).
#
# The script is constant: the user data only writes /etc/hyperform/agent.env
# (HYPERFORM_REGION=<region>, HYPERFORM_CONFIG=<parameter name>:<version>).
# A configuration value never reaches a command line, a log line or a file other than the
# secret files: values live in shell variables, go to docker through its environment (`-e KEY`)
# and to secret files through printf (a builtin). No `set -x`, ever.
#
# JSON is read with python3: Amazon Linux 2023 ships it (dnf and cloud-init run on it), while jq is
# not in every image. It also hands docker environment names bash cannot export (compose allows
# `a.b` and `a-b`), through an execve.
#
# Overrides, for tests only: HYPERFORM_ETC (agent.env's directory), HYPERFORM_RUN (state and
# secret files), HYPERFORM_IMDS (metadata base URL; also given to the AWS CLI), HYPERFORM_AWS_ENDPOINT
# (--endpoint-url: Debian bookworm's AWS CLI 2.9 predates AWS_ENDPOINT_URL), HYPERFORM_ATTEMPTS and
# HYPERFORM_RETRY_DELAY (retries of AWS reads and pulls; first delay in seconds, doubling),
# HYPERFORM_SETTLE (whole seconds; replaces the configuration's settleSeconds), HYPERFORM_POLL (seconds
# between the gate's looks at the container, default 2), HYPERFORM_HEARTBEAT (seconds between
# lifecycle heartbeats, default 60), HYPERFORM_WATCH_INTERVAL (seconds between the watch's looks,
# default 10), HYPERFORM_WATCH_ROUNDS (the watch ends after that many looks; 0: no watch),
# HYPERFORM_SPOT_POLL (seconds between the watch's looks at the spot signals, default 5; 0: none) and
# HYPERFORM_HEALTH_MARGIN (seconds the gate waits for a health status beyond docker's own bound,
# default 30), HYPERFORM_VOLUME_WAIT (seconds to wait for a free volume, default 900; HYPERFORM_POLL
# between looks), HYPERFORM_VOLUMES and HYPERFORM_FILES (where volumes are mounted and files written),
# HYPERFORM_DEVICES (where block devices appear, default /dev), HYPERFORM_MOUNT and HYPERFORM_UMOUNT
# (the mount and umount commands).
#
# Exit codes: 2 usage or agent.env, 3 instance metadata, 4 configuration unreadable, 5 configuration
# invalid, 6 a reference unresolved, 7 registry login, 8 image pull, 9 secret files, 10 docker run,
# 11 the container not healthy at launch (the hook was abandoned), 12 the volumes not attached or
# mounted (the hook was abandoned).
set -euo pipefail
umask 077

ETC=${HYPERFORM_ETC:-/etc/hyperform}
# /run is a tmpfs: secret files and the registry login never touch a disk.
RUN=${HYPERFORM_RUN:-/run/hyperform}
IMDS=${HYPERFORM_IMDS:-http://169.254.169.254}
ATTEMPTS=${HYPERFORM_ATTEMPTS:-8}
DELAY=${HYPERFORM_RETRY_DELAY:-2}
POLL=${HYPERFORM_POLL:-2}
HEARTBEAT=${HYPERFORM_HEARTBEAT:-60}
WATCH_INTERVAL=${HYPERFORM_WATCH_INTERVAL:-10}
WATCH_ROUNDS=${HYPERFORM_WATCH_ROUNDS:--1}
SPOT_POLL=${HYPERFORM_SPOT_POLL:-5}
HEALTH_MARGIN=${HYPERFORM_HEALTH_MARGIN:-30}
VOLUME_WAIT=${HYPERFORM_VOLUME_WAIT:-900}
VOLUMES=${HYPERFORM_VOLUMES:-/var/lib/hyperform/volumes}
FILES=${HYPERFORM_FILES:-/var/lib/hyperform/files}
DEVICES=${HYPERFORM_DEVICES:-/dev}
MOUNT=${HYPERFORM_MOUNT:-mount}
UMOUNT=${HYPERFORM_UMOUNT:-umount}
# More restarts than this while starting (or within 5 minutes, watched) is a crash loop.
MAX_RESTARTS=3
# Explicit daemon socket and client config: neither DOCKER_HOST nor DOCKER_CONFIG nor HOME steers docker.
DOCKER_GLOBAL=(--host unix:///var/run/docker.sock --config "$RUN/docker")

log() { printf 'hyperform-agent: %s\n' "$*" >&2; }
die() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

# Resolved once, before any environment is handed to docker: a compose variable named PATH
# cannot choose the binary.
DOCKER=$(command -v docker) || die 2 "docker is not installed"
PYTHON=$(command -v python3) || die 2 "python3 is not installed"
AWS=$(command -v aws) || die 2 "the AWS CLI is not installed"

# AWS CLI v2 would page its output through less. UTF-8 whatever the locale (systemd sets none),
# for the CLI's output and the JSON helpers alike.
export AWS_PAGER='' PYTHONIOENCODING=utf-8
aws() {
  local endpoint=()
  if [[ -n ${HYPERFORM_AWS_ENDPOINT:-} ]]; then endpoint=(--endpoint-url "$HYPERFORM_AWS_ENDPOINT"); fi
  "$AWS" "${endpoint[@]}" "$@"
}

docker() { "$DOCKER" "${DOCKER_GLOBAL[@]}" "$@"; }

# retry <what> <command...>: up to $ATTEMPTS tries with doubling delays (capped at 30 s). The
# command's stderr (AWS and docker messages name resources, never values) goes to the journal.
retry() {
  local what=$1 attempt=1 delay=$DELAY
  shift
  until "$@"; do
    if ((attempt >= ATTEMPTS)); then
      log "$what failed after $attempt attempts"
      return 1
    fi
    log "$what failed (attempt $attempt of $ATTEMPTS), retrying in ${delay}s"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

# agent.env is parsed, not sourced: only the two known keys are read.
read_agent_env() {
  local file="$ETC/agent.env" line
  [[ -r $file ]] || die 2 "$file is missing"
  REGION='' CONFIG=''
  while IFS= read -r line || [[ -n $line ]]; do
    case $line in
      HYPERFORM_REGION=*) REGION=${line#HYPERFORM_REGION=} ;;
      HYPERFORM_CONFIG=*) CONFIG=${line#HYPERFORM_CONFIG=} ;;
    esac
  done <"$file"
  [[ $REGION =~ ^[a-z0-9-]+$ ]] || die 2 "$file: HYPERFORM_REGION is missing or malformed"
  [[ $CONFIG =~ ^[A-Za-z0-9_./-]+:[0-9]+$ ]] || die 2 "$file: HYPERFORM_CONFIG is not <parameter name>:<version>"
}

# IMDSv2; the token goes to curl on stdin (-H @-), not on its command line.
imds_get() {
  printf 'X-aws-ec2-metadata-token: %s\n' "$IMDS_TOKEN" |
    curl -fsS --connect-timeout 2 --max-time 5 -H @- "$IMDS/latest/$1"
}
imds_token() {
  IMDS_TOKEN=$(curl -fsS --connect-timeout 2 --max-time 5 -X PUT \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS/latest/api/token")
}
read_identity() {
  imds_token || return 1
  INSTANCE_ID=$(imds_get meta-data/instance-id) || return 1
  [[ $INSTANCE_ID =~ ^[A-Za-z0-9-]+$ ]]
}

# Prints the JSON string on stdin and a "." (so trailing newlines survive $(...)). Fails, without
# printing the input, when it is not a string or holds a NUL (no process environment carries one).
read -r -d '' PY_STRING <<'PY' || true
import json, sys
text = sys.stdin.read()
if not text:
    sys.exit(1)  # the AWS CLI failed and said why
try:
    value = json.loads(text)
except ValueError:
    sys.exit("not JSON")
if not isinstance(value, str):
    sys.exit("not a string")
if "\0" in value:
    sys.exit("holds a NUL byte")
sys.stdout.write(value + ".")
PY

# Reads the AgentConfig JSON on stdin; prints NUL-terminated records (a tag, then its fields) and
# a final END, or names the faulty field and exits 1 (nothing printed on stdout then).
read -r -d '' PY_PLAN <<'PY' || true
import json, re, sys

def fail(message):
    sys.stderr.write("hyperform-agent: configuration: " + message + "\n")
    sys.exit(1)

try:
    c = json.load(sys.stdin)
except ValueError:
    fail("not JSON")
if not isinstance(c, dict):
    fail("not an object")
if c.get("version") != 1:
    fail("version is not 1 (this agent reads version 1)")
out = []

def text(value, field, pattern=None):
    if not isinstance(value, str):
        fail(field + " is not a string")
    if "\0" in value:
        fail(field + " holds a NUL byte, which neither a process environment nor this agent carries")
    if pattern and not re.fullmatch(pattern, value):
        fail(field + " is malformed")
    return value

def texts(value, field, pattern=None):
    if not isinstance(value, list):
        fail(field + " is not a list")
    return [text(v, field, pattern) for v in value]

def emit(*fields):
    out.extend(fields)

def reference(value, field):
    if not isinstance(value, dict) or len(value) != 1:
        fail(field + " is not a reference")
    kind, ref = next(iter(value.items()))
    if kind not in ("ssm", "secret"):
        fail(field + " is not an ssm or secret reference")
    text(ref, field, r"[^\s]+")
    # An ARN names its region; a plain parameter name is in the instance's region.
    parts = ref.split(":")
    region = parts[3] if ref.startswith("arn:") and len(parts) > 3 else ""
    return kind, ref, region

NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
emit("S", text(c.get("service"), "service", NAME))
image = text(c.get("image"), "image", r"[^\s-][^\s]*")
emit("I", image)
registry = c.get("registry")
if registry is not None:
    if not isinstance(registry, dict):
        fail("registry is not an object")
    emit("R", text(registry.get("host"), "registry.host", r"[A-Za-z0-9.-]+(:[0-9]+)?"),
         text(registry.get("region"), "registry.region", r"[a-z0-9-]+"))
emit("P", text(c.get("restart"), "restart", r"no|always|unless-stopped|on-failure(:[0-9]+)?"))
emit("G", text(c.get("stopSignal"), "stopSignal", r"(SIG)?[A-Z0-9+-]+|[0-9]+"))
grace = c.get("stopGracePeriod")
if not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
    fail("stopGracePeriod is not a whole number of seconds")
emit("T", str(grace))
emit("D", text(c.get("dns"), "dns", r"[0-9a-fA-F.:]+"))
for domain in texts(c.get("dnsSearch"), "dnsSearch", r"[A-Za-z0-9._-]+"):
    emit("N", domain)
for port in texts(c.get("ports"), "ports", r"[^\s-][^\s]*"):
    emit("O", port)
environment = c.get("environment")
environment_from = c.get("environmentFrom")
if not isinstance(environment, dict) or not isinstance(environment_from, dict):
    fail("environment and environmentFrom must be objects")
for key in list(environment) + list(environment_from):
    if key == "" or "=" in key or "\0" in key:
        fail("environment variable name " + json.dumps(key) + " cannot be passed to a process")
for key, value in environment.items():
    emit("E", key, text(value, "the value of environment variable " + key))
for key, value in environment_from.items():
    if key in environment:
        fail("environment variable " + key + " is given both inline and by reference")
    emit("F", key, *reference(value, "environmentFrom." + key))
secrets = c.get("secrets")
if not isinstance(secrets, list):
    fail("secrets is not a list")
names = set()
for s in secrets:
    if not isinstance(s, dict):
        fail("a secret is not an object")
    # Compose's alphabet for secret names; the name is a file name in the agent's directory.
    name = text(s.get("name"), "a secret's name", r"[A-Za-z0-9._-]+")
    if name in (".", ".."):
        fail("a secret's name is malformed")
    if name in names:
        fail("secret " + name + " is given twice")
    names.add(name)
    field = "secret " + name
    # --mount is comma-separated: a target with a comma or a quote could add options.
    target = text(s.get("target"), field + " target", r"/[^,\"\n]*")
    mode = text(s.get("mode"), field + " mode", r"0?[0-7]{3}")
    # Absent: the file stays root's, as compose's default (0) says.
    uid = text(s.get("uid", ""), field + " uid", r"[0-9]*")
    gid = text(s.get("gid", ""), field + " gid", r"[0-9]*")
    if ("value" in s) == ("from" in s):
        fail(field + " needs exactly one of value and from")
    if "value" in s:
        emit("X", name, target, mode, uid, gid, "value", text(s["value"], field + " value"), "")
    else:
        emit("X", name, target, mode, uid, gid, *reference(s["from"], field + " from"))
logging = c.get("logging")
if not isinstance(logging, dict):
    fail("logging is not an object")
if logging.get("driver") == "awslogs":
    emit("L", text(logging.get("group"), "logging.group", r"[A-Za-z0-9_./#-]+"),
         text(logging.get("region"), "logging.region", r"[a-z0-9-]+"),
         text(logging.get("streamPrefix"), "logging.streamPrefix", r"[^:*\n]+"))
    options = logging.get("options")
    if not isinstance(options, dict):
        fail("logging.options is not an object")
    for key, value in options.items():
        text(key, "logging option name", r"[a-z0-9-]+")
        if key in ("awslogs-region", "awslogs-group", "awslogs-stream"):
            fail("logging option " + key + " is set by the agent")
        emit("Q", key, text(value, "logging option " + key))
elif logging.get("driver") != "none":
    fail("logging.driver is neither awslogs nor none")
health = c.get("healthcheck")
if health is not None:
    if not isinstance(health, dict):
        fail("healthcheck is not an object")
    # docker refuses --no-healthcheck beside any --health-* flag: disabled means nothing else.
    if health.get("disable") is True or health.get("test") == ["NONE"]:
        emit("H", "--no-healthcheck")
    else:
        test = health.get("test")
        if test is not None:
            test = texts(test, "healthcheck.test")
            if len(test) == 2 and test[0] == "CMD-SHELL" and test[1].strip():
                command = test[1]
            elif len(test) >= 2 and test[0] == "CMD":
                # docker run has no flag for the exec form: its arguments become one command for the
                # container's shell, each single-quoted (a ' as '\''), so that quotes, $ and `...`
                # reach the program as they are. The image needs /bin/sh, as for CMD-SHELL.
                command = " ".join("'" + arg.replace("'", "'\\''") + "'" for arg in test[1:])
            else:
                fail("healthcheck.test is neither [\"CMD\", ...] nor [\"CMD-SHELL\", command]")
            # One argument, flag=value: a command starting with "-" stays the flag's value.
            emit("H", "--health-cmd=" + command)
        for field, flag in (("intervalMs", "interval"), ("timeoutMs", "timeout"),
                            ("startPeriodMs", "start-period"), ("startIntervalMs", "start-interval")):
            value = health.get(field)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                fail("healthcheck." + field + " is not a whole number of milliseconds")
            emit("H", "--health-" + flag + "=" + str(value) + "ms")
        retries = health.get("retries")
        if retries is not None:
            if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
                fail("healthcheck.retries is not a whole number")
            emit("H", "--health-retries=" + str(retries))
rest = texts(c.get("command", []), "command")
entrypoint = c.get("entrypoint")
if entrypoint is not None:
    entrypoint = texts(entrypoint, "entrypoint")
    emit("Y", entrypoint[0] if entrypoint else "")
    rest = entrypoint[1:] + rest
for arg in rest:
    emit("C", arg)
lifecycle = c.get("lifecycle")
if lifecycle is not None:
    if not isinstance(lifecycle, dict):
        fail("lifecycle is not an object")
    settle = lifecycle.get("settleSeconds")
    if not isinstance(settle, int) or isinstance(settle, bool) or settle < 0:
        fail("lifecycle.settleSeconds is not a whole number of seconds")
    emit("K", text(lifecycle.get("hook"), "lifecycle.hook", r"[A-Za-z0-9_/-]{1,255}"), str(settle))
agent_log = c.get("agentLog")
if agent_log is not None:
    if not isinstance(agent_log, dict):
        fail("agentLog is not an object")
    emit("A", text(agent_log.get("group"), "agentLog.group", r"[A-Za-z0-9_./#-]+"),
         text(agent_log.get("region"), "agentLog.region", r"[a-z0-9-]+"),
         text(agent_log.get("streamPrefix"), "agentLog.streamPrefix", r"[^:*\n]+"))
# docker -v is colon-separated: no colon in a target
TARGET = r"/[^:,\n]*"
volumes = c.get("volumes")
if volumes is not None:
    mounts = volumes.get("mounts") if isinstance(volumes, dict) else None
    # one device name each, /dev/sdf to /dev/sdp
    if not isinstance(mounts, list) or not 0 < len(mounts) < 12 or not all(isinstance(m, dict) for m in mounts):
        fail("volumes is not an object with 1 to 11 mounts")
    emit("V", *(text(volumes.get(k), "volumes." + k, NAME) for k in ("project", "stack", "zone")))
    for m in mounts:
        emit("M", text(m.get("name"), "volume name", NAME), text(m.get("target"), "volume target", TARGET),
             ":ro" if m.get("readOnly") is True else "")
files = c.get("files", [])
if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
    fail("files is not a list of objects")
for f in files:
    emit("W", *(text(f.get(k), "file " + k, p) for k, p in (("target", TARGET), ("mode", r"0?[0-7]{3}"), ("content", r"[A-Za-z0-9+/=]*"))))
emit("END")
sys.stdout.write("".join(field + "\0" for field in out))
PY

# Reads the configuration parameter (retrying: a new instance role may not be usable for some
# seconds) into CONFIG_JSON.
read_config() {
  local out
  fetch_config() {
    out=$(aws ssm get-parameter --region "$REGION" --with-decryption --name "$CONFIG" \
      --query Parameter.Value --output json | "$PYTHON" -c "$PY_STRING")
  }
  retry "reading configuration parameter $CONFIG" fetch_config || die 4 "cannot read configuration parameter $CONFIG"
  CONFIG_JSON=${out%.}
}

# Fills the variables below from the configuration (arrays keep their order).
parse_config() {
  SERVICE='' IMAGE='' REGISTRY_HOST='' REGISTRY_REGION='' RESTART='' STOP_SIGNAL='' GRACE='' DNS=''
  LOG_GROUP='' LOG_REGION='' LOG_PREFIX='' ENTRYPOINT_SET=0 ENTRYPOINT='' HOOK='' SETTLE=''
  AGENT_LOG_GROUP='' AGENT_LOG_REGION='' AGENT_LOG_PREFIX=''
  SEARCH=() PORTS=() ENV_KEYS=() ENV_VALUES=() FROM_KEYS=() FROM_KINDS=() FROM_REFS=() FROM_REGIONS=()
  SECRET_NAMES=() SECRET_TARGETS=() SECRET_MODES=() SECRET_UIDS=() SECRET_GIDS=() SECRET_KINDS=()
  SECRET_REFS=() SECRET_REGIONS=() LOG_OPTIONS=() HEALTH=() REST=()
  VOL_PROJECT='' VOL_STACK='' VOL_ZONE='' VOL_NAMES=() VOL_TARGETS=() VOL_RO=() FILE_TARGETS=() FILE_MODES=() FILE_DATA=()
  local tag a b c d e f g h ended=0
  # Empty IFS: read keeps leading and trailing blanks and newlines of every value.
  local IFS=
  while read -r -d '' tag; do
    case $tag in
      S) read -r -d '' SERVICE ;;
      I) read -r -d '' IMAGE ;;
      R) read -r -d '' REGISTRY_HOST && read -r -d '' REGISTRY_REGION ;;
      P) read -r -d '' RESTART ;;
      G) read -r -d '' STOP_SIGNAL ;;
      T) read -r -d '' GRACE ;;
      D) read -r -d '' DNS ;;
      N) read -r -d '' a && SEARCH+=("$a") ;;
      O) read -r -d '' a && PORTS+=("$a") ;;
      E) read -r -d '' a && read -r -d '' b && ENV_KEYS+=("$a") && ENV_VALUES+=("$b") ;;
      F)
        read -r -d '' a && read -r -d '' b && read -r -d '' c && read -r -d '' d
        FROM_KEYS+=("$a") FROM_KINDS+=("$b") FROM_REFS+=("$c") FROM_REGIONS+=("$d")
        ;;
      X)
        read -r -d '' a && read -r -d '' b && read -r -d '' c && read -r -d '' d && read -r -d '' e
        read -r -d '' f && read -r -d '' g && read -r -d '' h
        SECRET_NAMES+=("$a") SECRET_TARGETS+=("$b") SECRET_MODES+=("$c") SECRET_UIDS+=("$d")
        SECRET_GIDS+=("$e") SECRET_KINDS+=("$f") SECRET_REFS+=("$g") SECRET_REGIONS+=("$h")
        ;;
      L) read -r -d '' LOG_GROUP && read -r -d '' LOG_REGION && read -r -d '' LOG_PREFIX ;;
      Q) read -r -d '' a && read -r -d '' b && LOG_OPTIONS+=(--log-opt "$a=$b") ;;
      H) read -r -d '' a && HEALTH+=("$a") ;;
      Y) ENTRYPOINT_SET=1 && read -r -d '' ENTRYPOINT ;;
      C) read -r -d '' a && REST+=("$a") ;;
      K) read -r -d '' HOOK && read -r -d '' SETTLE ;;
      A) read -r -d '' AGENT_LOG_GROUP && read -r -d '' AGENT_LOG_REGION && read -r -d '' AGENT_LOG_PREFIX ;;
      V) read -r -d '' VOL_PROJECT && read -r -d '' VOL_STACK && read -r -d '' VOL_ZONE ;;
      M) read -r -d '' a && read -r -d '' b && read -r -d '' c && VOL_NAMES+=("$a") VOL_TARGETS+=("$b") VOL_RO+=("$c") ;;
      W) read -r -d '' a && read -r -d '' b && read -r -d '' c && FILE_TARGETS+=("$a") FILE_MODES+=("$b") FILE_DATA+=("$c") ;;
      END) ended=1 ;;
      *) die 5 "configuration: unexpected record" ;;
    esac
  done < <(printf '%s' "$CONFIG_JSON" | "$PYTHON" -c "$PY_PLAN")
  ((ended)) || die 5 "configuration parameter $CONFIG is not a valid agent configuration"
}

# resolve <kind> <reference> <region> <variable>: the SSM parameter's or secret's value.
resolve() {
  local kind=$1 ref=$2 region=${3:-$REGION} out
  fetch_value() {
    if [[ $kind == ssm ]]; then
      out=$(aws ssm get-parameter --region "$region" --with-decryption --name "$ref" \
        --query Parameter.Value --output json | "$PYTHON" -c "$PY_STRING")
    else
      # --output json, not text: the value comes back byte for byte, trailing newlines included.
      out=$(aws secretsmanager get-secret-value --region "$region" --secret-id "$ref" \
        --query SecretString --output json | "$PYTHON" -c "$PY_STRING")
    fi
  }
  retry "reading $ref" fetch_value || return 1
  printf -v "$4" '%s' "${out%.}"
}

resolve_references() {
  local i value
  for i in "${!FROM_KEYS[@]}"; do
    resolve "${FROM_KINDS[i]}" "${FROM_REFS[i]}" "${FROM_REGIONS[i]}" value ||
      fail_launch 6 "environment variable ${FROM_KEYS[i]}: cannot read ${FROM_REFS[i]}"
    ENV_KEYS+=("${FROM_KEYS[i]}") ENV_VALUES+=("$value")
  done
  SECRET_VALUES=()
  for i in "${!SECRET_NAMES[@]}"; do
    if [[ ${SECRET_KINDS[i]} == value ]]; then
      SECRET_VALUES+=("${SECRET_REFS[i]}")
    else
      resolve "${SECRET_KINDS[i]}" "${SECRET_REFS[i]}" "${SECRET_REGIONS[i]}" value ||
        fail_launch 6 "secret ${SECRET_NAMES[i]}: cannot read ${SECRET_REFS[i]}"
      SECRET_VALUES+=("$value")
    fi
  done
}

registry_login() {
  [[ -n $REGISTRY_HOST ]] || return 0
  login() {
    local password
    password=$(aws ecr get-login-password --region "$REGISTRY_REGION") || return 1
    printf '%s\n' "$password" | docker login --username AWS --password-stdin "$REGISTRY_HOST" >/dev/null
  }
  retry "logging in to $REGISTRY_HOST" login || fail_launch 7 "cannot log in to registry $REGISTRY_HOST"
}

# Root-only directory; each file gets the compose mode and owner and is bind-mounted read-only.
write_secrets() {
  local dir="$RUN/secrets" i file
  MOUNTS=()
  # Called in a `||` list, where set -e does not apply: every step checks its own status.
  rm -rf "$dir" && install -d -m 0700 "$dir" || return 1
  for i in "${!SECRET_NAMES[@]}"; do
    file="$dir/${SECRET_NAMES[i]}"
    printf '%s' "${SECRET_VALUES[i]}" >"$file" || return 1
    if [[ -n ${SECRET_UIDS[i]} ]]; then chown "${SECRET_UIDS[i]}" "$file" || return 1; fi
    if [[ -n ${SECRET_GIDS[i]} ]]; then chgrp "${SECRET_GIDS[i]}" "$file" || return 1; fi
    chmod "${SECRET_MODES[i]}" "$file" || return 1
    MOUNTS+=(--mount "type=bind,source=$file,target=${SECRET_TARGETS[i]},readonly")
  done
}

# Repository files: decoded into a root-only directory (not a secret: on disk), each bound read-only.
write_files() {
  local i f
  rm -rf "$FILES" && install -d -m 0700 "$FILES" || return 1
  for i in "${!FILE_TARGETS[@]}"; do
    f=$FILES/$i
    printf '%s' "${FILE_DATA[i]}" | base64 -d | gunzip >"$f" && chmod "${FILE_MODES[i]}" "$f" || return 1
    MOUNTS+=(-v "$f:${FILE_TARGETS[i]}:ro")
  done
}

# --- Volumes -------------------------------------------------------------------------------------
# One EBS volume per replica slot and compose volume, in the configuration's zone, tagged with the
# service's project, stack and name, the compose volume's name and the slot. The instance claims a
# slot by attaching the first mount's volume of the lowest free slot: AttachVolume is the lock (an
# instance that lost the race is refused with VolumeInUse or IncorrectState and tries the next).
# Then the same slot's volume of every other mount. A volume in use by another instance (a dying
# one) is waited for, never detached: termination releases it. Exit 12 (abandoned) when none
# comes free within $VOLUME_WAIT s or an attach is refused otherwise.

# vol_rows <name> [slot]: the lines "<slot> <id> <state> <instance> <attachment state>" of the
# service's volumes of that name in its zone, by slot (None for no attachment).
vol_rows() {
  local t=Name=tag:hyperform:
  aws ec2 describe-volumes --region "$REGION" --filters "Name=availability-zone,Values=$VOL_ZONE" \
    "${t}project,Values=$VOL_PROJECT" "${t}stack,Values=$VOL_STACK" "${t}service,Values=$SERVICE" \
    "${t}volume,Values=$1" ${2:+"${t}slot,Values=$2"} --output text --query \
    "Volumes[].[Tags[?Key=='hyperform:slot']|[0].Value,VolumeId,State,Attachments[0].InstanceId,Attachments[0].State]" |
    sort -n
}

# take <mount index>: attaches its volume as /dev/sd<f, g, ...> and waits for the block device (Nitro:
# the NVMe device named by the volume id; else the device name, or its xvd form); sets DEV. The first
# mount takes the lowest free slot (sets SLOT), the others SLOT's volume. Once attached (here: also by
# an earlier run of the agent), only the slot's volume is looked at: DescribeVolumes may lag.
take() {
  local n=${VOL_NAMES[$1]} l=${LETTERS:$1:1} end=$((SECONDS + VOLUME_WAIT)) rows mine slot id state owner att d out
  while :; do
    rows=$(retry "describing volumes $n" vol_rows "$n" "$SLOT") || fail_launch 12 "cannot describe volumes $n"
    mine=$(awk -v i="$INSTANCE_ID" '$4 == i' <<<"$rows")
    if [[ -n $mine ]]; then
      read -r SLOT id state owner att <<<"$mine"
      VOL_IDS[$1]=$id
      for d in "$DEVICES/disk/by-id/nvme-Amazon_Elastic_Block_Store_${id/-/}" "$DEVICES/sd$l" "$DEVICES/xvd$l"; do
        if [[ $att == attached && -e $d ]]; then DEV=$d && return 0; fi
      done
    else
      while read -r slot id state owner att; do
        [[ $state == available ]] || continue
        if out=$(aws ec2 attach-volume --region "$REGION" --volume-id "$id" --instance-id "$INSTANCE_ID" \
          --device "/dev/sd$l" 2>&1); then
          SLOT=$slot
          continue 2
        fi
        [[ $out == *VolumeInUse* || $out == *IncorrectState* ]] ||
          fail_launch 12 "cannot attach volume $id ($n of $SERVICE): $(one_line "$out")"
      done <<<"$rows"
    fi
    ((SECONDS < end)) || fail_launch 12 "no free volume $n of $SERVICE in $VOL_ZONE after ${VOLUME_WAIT}s"
    sleep "$POLL"
  done
}

# A file system only on a blank volume (blkid: 2, nothing found; no other failure licenses mkfs). The
# container gets the directory data/ of the mount: not lost+found, which initdb and mysqld refuse to
# find in their data directory.
mount_volumes() {
  local i d s
  ((${#VOL_NAMES[@]})) || return 0
  LETTERS=fghijklmnop SLOT='' VOL_IDS=()
  # its own zone (the configuration's, unless the groups launched it elsewhere): volumes attach only there
  VOL_ZONE=$(imds_get meta-data/placement/availability-zone) || fail_launch 12 "cannot read the instance's zone"
  for i in "${!VOL_NAMES[@]}"; do
    take "$i"
    d=$VOLUMES/${VOL_NAMES[i]} s=0
    blkid -p "$DEV" >/dev/null || s=$?
    if ((s == 2)); then mkfs.ext4 -q -L "${VOL_NAMES[i]:0:16}" "$DEV" </dev/null && s=0; fi
    ((s == 0)) && install -d -m 0700 "$d" && { mountpoint -q "$d" || "$MOUNT" "$DEV" "$d"; } &&
      install -d -m 0755 "$d/data" || fail_launch 12 "cannot mount volume ${VOL_IDS[i]} ($DEV)"
    MOUNTS+=(-v "$d/data:${VOL_TARGETS[i]}${VOL_RO[i]}")
  done
}

# What `stop` needs, without a configuration read at shutdown: names and a number, no values.
write_state() {
  local i
  {
    printf 'SERVICE=%s\nGRACE=%s\n' "$SERVICE" "$GRACE"
    for i in "${VOL_NAMES[@]}"; do printf 'VOLUME=%s\n' "$i"; done
  } >"$RUN/state.tmp"
  mv -f "$RUN/state.tmp" "$RUN/state"
}

# docker gets the environment values through execve's environment, never through argv:
# the NUL-separated KEY, VALUE pairs arrive on the helper's stdin.
read -r -d '' PY_EXEC <<'PY' || true
import os, sys
fields = sys.stdin.buffer.read().split(b"\0")[:-1]
env = dict(os.environb)
for i in range(0, len(fields), 2):
    env[fields[i]] = fields[i + 1]
os.execve(sys.argv[1], sys.argv[1:], env)
PY

run_container() {
  local args=(run -d --name "$SERVICE" --restart "$RESTART" --stop-signal "$STOP_SIGNAL" --stop-timeout "$GRACE"
    --dns "$DNS") i
  for i in "${SEARCH[@]}"; do args+=(--dns-search "$i"); done
  for i in "${PORTS[@]}"; do args+=(-p "$i"); done
  for i in "${ENV_KEYS[@]}"; do args+=(-e "$i"); done
  args+=("${MOUNTS[@]}")
  if [[ -n $LOG_GROUP ]]; then
    args+=(--log-driver awslogs --log-opt "awslogs-region=$LOG_REGION" --log-opt "awslogs-group=$LOG_GROUP"
      --log-opt "awslogs-stream=$LOG_PREFIX/$INSTANCE_ID" "${LOG_OPTIONS[@]}")
  else
    args+=(--log-driver none)
  fi
  args+=("${HEALTH[@]}")
  if ((ENTRYPOINT_SET)); then args+=(--entrypoint "$ENTRYPOINT"); fi
  args+=("$IMAGE" "${REST[@]}")
  for i in "${!ENV_KEYS[@]}"; do printf '%s\0%s\0' "${ENV_KEYS[i]}" "${ENV_VALUES[i]}"; done |
    "$PYTHON" -c "$PY_EXEC" "$DOCKER" "${DOCKER_GLOBAL[@]}" "${args[@]}"
}

# --- The launch gate and the watch -------------------------------------------------------------

# A message on one line, at most 300 characters (docker's and AWS's messages, a health output).
one_line() {
  local text=${1//[$'\t\r\n']/ }
  printf '%s' "${text:0:300}"
}

# The JSON events of one put-log-events call: the message (argv 1), now.
read -r -d '' PY_EVENT <<'PY' || true
import json, sys, time
print(json.dumps([{"timestamp": int(time.time() * 1000), "message": sys.argv[1]}]))
PY

# agent_line <text>: "hyperform-agent: <text>" to the journal and to the service's stream
# <prefix>/<instance-id> (created if need be, as the awslogs driver does). A failure is logged only.
agent_line() {
  local stream out events
  log "$1"
  [[ -n $AGENT_LOG_GROUP ]] || return 0
  stream="$AGENT_LOG_PREFIX/$INSTANCE_ID"
  events=$("$PYTHON" -c "$PY_EVENT" "hyperform-agent: $1") || return 0
  put() {
    out=$(aws logs put-log-events --region "$AGENT_LOG_REGION" --log-group-name "$AGENT_LOG_GROUP" \
      --log-stream-name "$stream" --log-events "$events" 2>&1 >/dev/null)
  }
  # The awslogs driver has usually made the stream; otherwise (logging none, a failed start) it is made here.
  put && return 0
  if [[ $out == *ResourceNotFoundException* ]]; then
    if ! out=$(aws logs create-log-stream --region "$AGENT_LOG_REGION" --log-group-name "$AGENT_LOG_GROUP" \
      --log-stream-name "$stream" 2>&1) && [[ $out != *ResourceAlreadyExistsException* ]]; then
      log "cannot create log stream $stream in $AGENT_LOG_GROUP: $(one_line "$out")"
      return 0
    fi
    put && return 0
  fi
  log "cannot write to log stream $stream in $AGENT_LOG_GROUP: $(one_line "$out")"
}

# GROUP: this instance's Auto Scaling group, or empty (no gate configured, in no group, or the
# lookup failed: then the hook is left to its timeout and its default result). NO_GROUP=1: in none.
# First the instance's tag aws:autoscaling:groupName from the instance metadata (served when the
# launch template enables InstanceMetadataTags, as the action's do): no API call, so a storm of
# replacements does not spend the account's Auto Scaling request rate on it. Without it (a 404:
# tags not enabled, or no such tag) the Auto Scaling API is asked.
find_group() {
  GROUP='' NO_GROUP=0
  [[ -n $HOOK ]] || return 0
  local out=''
  if out=$(imds_get meta-data/tags/instance/aws:autoscaling:groupName 2>/dev/null) &&
    [[ $out =~ ^[A-Za-z0-9_.:/-]+$ ]]; then
    GROUP=$out
    log "instance $INSTANCE_ID is in Auto Scaling group $GROUP (instance metadata tag; launch hook $HOOK)"
    return 0
  fi
  out=''
  lookup() {
    out=$(aws autoscaling describe-auto-scaling-instances --region "$REGION" --instance-ids "$INSTANCE_ID" \
      --query 'AutoScalingInstances[0].AutoScalingGroupName' --output text)
  }
  if ! retry "finding the Auto Scaling group of $INSTANCE_ID" lookup; then
    log "cannot find the Auto Scaling group of $INSTANCE_ID: its launch hook is not completed"
    return 0
  fi
  out=$(one_line "$out")
  if [[ -z $out || $out == None ]]; then
    NO_GROUP=1
    log "instance $INSTANCE_ID is in no Auto Scaling group: no launch hook to complete, the container just runs"
    return 0
  fi
  GROUP=$out
  log "instance $INSTANCE_ID is in Auto Scaling group $GROUP (launch hook $HOOK)"
}

# complete_hook CONTINUE|ABANDON; a failure is logged, never fatal.
complete_hook() {
  [[ -n $GROUP ]] || return 0
  if retry "completing launch hook $HOOK of $GROUP with $1" aws autoscaling complete-lifecycle-action \
    --region "$REGION" --lifecycle-hook-name "$HOOK" --auto-scaling-group-name "$GROUP" \
    --lifecycle-action-result "$1" --instance-id "$INSTANCE_ID" >/dev/null; then
    log "launch hook $HOOK of $GROUP completed with $1"
  fi
}

# Heartbeats every $HEARTBEAT s while the instance is pulled and started, so the hook does not time out.
HEARTBEAT_PID=''
start_heartbeats() {
  [[ -n $GROUP ]] || return 0
  (
    sleeper=''
    trap 'kill $sleeper 2>/dev/null; exit 0' TERM
    while :; do
      sleep "$HEARTBEAT" &
      sleeper=$!
      wait "$sleeper" || true
      aws autoscaling record-lifecycle-action-heartbeat --region "$REGION" --lifecycle-hook-name "$HOOK" \
        --auto-scaling-group-name "$GROUP" --instance-id "$INSTANCE_ID" >/dev/null ||
        log "recording a heartbeat of launch hook $HOOK failed"
    done
  ) </dev/null &
  HEARTBEAT_PID=$!
}
stop_heartbeats() {
  [[ -n $HEARTBEAT_PID ]] || return 0
  kill "$HEARTBEAT_PID" 2>/dev/null || true
  wait "$HEARTBEAT_PID" 2>/dev/null || true
  HEARTBEAT_PID=''
}

# abandon <reason>: the line the action looks for, then ABANDON (the instance will not serve).
abandon() {
  stop_heartbeats
  [[ -n $HOOK ]] || return 0
  agent_line "abandon: $1"
  complete_hook ABANDON
}

# fail_launch <exit code> <reason>: abandon the launch, then exit.
fail_launch() {
  abandon "$2"
  die "$1" "$2"
}

# Reads `docker inspect` JSON on stdin; prints NUL-terminated: status (running, restarting, exited,
# ...), health (starting, healthy, unhealthy, none), restart count, exit code, the seconds the
# health check may take to report healthy (0 without one; argv 1 is the margin added), the last
# health check output, on one line.
read -r -d '' PY_STATE <<'PY' || true
import json, sys
margin = float(sys.argv[1])
try:
    c = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
if isinstance(c, list):
    c = c[0] if c else None
if not isinstance(c, dict):
    sys.exit(1)
s = c.get("State") or {}
status = "restarting" if s.get("Restarting") else str(s.get("Status") or ("running" if s.get("Running") else "exited"))
h = s.get("Health")
health, output, deadline = "none", "", 0
if isinstance(h, dict):
    health = str(h.get("Status") or "starting")
    log = h.get("Log") or []
    if log and isinstance(log[-1], dict):
        output = " ".join(str(log[-1].get("Output") or "").split())[:200]
    # docker's defaults: interval 30 s, timeout 30 s, no start period, 3 retries; nanoseconds
    hc = (c.get("Config") or {}).get("Healthcheck") or {}
    seconds = lambda key, default: (hc.get(key) or 0) / 1e9 or default
    deadline = seconds("StartPeriod", 0) + (hc.get("Retries") or 3) * (seconds("Interval", 30) + seconds("Timeout", 30)) + margin
fields = [status, health, str(int(c.get("RestartCount") or 0)), str(int(s.get("ExitCode") or 0)), str(int(deadline)), output]
sys.stdout.write("".join(f.replace("\0", "") + "\0" for f in fields))
PY

# Fills C_STATUS C_HEALTH C_RESTARTS C_EXIT C_DEADLINE C_OUTPUT; fails when there is no container.
inspect_container() {
  local json IFS=
  json=$(docker inspect --type container "$SERVICE" 2>/dev/null) || return 1
  {
    read -r -d '' C_STATUS && read -r -d '' C_HEALTH && read -r -d '' C_RESTARTS && read -r -d '' C_EXIT &&
      read -r -d '' C_DEADLINE && read -r -d '' C_OUTPUT
  } < <(printf '%s' "$json" | "$PYTHON" -c "$PY_STATE" "$HEALTH_MARGIN") || return 1
  [[ $C_RESTARTS =~ ^[0-9]+$ && $C_EXIT =~ ^-?[0-9]+$ && $C_DEADLINE =~ ^[0-9]+$ ]]
}

exit_reason() {
  local reason="container exited with code $C_EXIT"
  if ((C_RESTARTS > 0)); then reason+=" after $C_RESTARTS restarts"; fi
  printf '%s' "$reason"
}

# Milliseconds since the epoch (bash 5's EPOCHREALTIME; its separator follows the locale).
now_ms() {
  local t=${EPOCHREALTIME//[.,]/}
  printf '%s' "${t:0:${#t}-3}"
}

# Sets REASON empty when the container became healthy, else why it did not.
gate() {
  local began since restarts=0 settle elapsed limit
  began=$(now_ms) since=$began
  settle=${HYPERFORM_SETTLE:-$SETTLE}
  [[ $settle =~ ^[0-9]+$ ]] || settle=10
  settle=$((settle * 1000))
  REASON=''
  while :; do
    if ! inspect_container; then
      REASON='container is gone'
      return 0
    fi
    case $C_HEALTH in
      healthy) return 0 ;;
      unhealthy)
        REASON="unhealthy${C_OUTPUT:+: $C_OUTPUT}"
        return 0
        ;;
    esac
    if [[ $C_STATUS == exited || $C_STATUS == dead ]] || ((C_RESTARTS > MAX_RESTARTS)); then
      REASON=$(exit_reason)
      return 0
    fi
    if ((C_RESTARTS != restarts)); then restarts=$C_RESTARTS since=$(now_ms); fi
    elapsed=$(($(now_ms) - began))
    if [[ $C_HEALTH == none ]]; then
      if [[ $C_STATUS == running ]] && (($(now_ms) - since >= settle)); then return 0; fi
      limit=$((settle + 120000))
    else
      limit=$((C_DEADLINE * 1000))
    fi
    if ((elapsed > limit)); then
      REASON="not healthy after $((elapsed / 1000))s"
      return 0
    fi
    sleep "$POLL"
  done
}

# Reports the instance unhealthy to its group (not waiting for a health check grace period); the
# call names the instance only, so it is made even when the group lookup failed.
report_unhealthy() {
  if ((NO_GROUP)); then
    log "instance $INSTANCE_ID is in no Auto Scaling group: no health to report"
    return 0
  fi
  retry "reporting $INSTANCE_ID unhealthy" aws autoscaling set-instance-health --region "$REGION" \
    --instance-id "$INSTANCE_ID" --health-status Unhealthy --no-should-respect-grace-period >/dev/null || true
}

# The spot watch, beside the health watch: every $SPOT_POLL s, the two spot signals in the instance
# metadata. DRAINING (a file) tells the health watch that the container is being stopped on purpose.
DRAINING=$RUN/draining

# The interruption notice ($1): the health watch told first, the line, then the container stopped with
# its grace period (its stop signal was set at docker run). Once: the spot watch ends after it.
drain() {
  local at=unknown out status=0
  # {"action": "terminate", "time": "2026-01-01T00:02:00Z"}: the time, when it reads as one
  if [[ $1 =~ \"time\"[[:space:]]*:[[:space:]]*\"([0-9A-Za-z:.+-]{1,40})\" ]]; then at=${BASH_REMATCH[1]}; fi
  printf '%s\n' "$at" >"$DRAINING"
  agent_line "spot interruption: stopping the container (reclaim at $at)"
  out=$(docker stop --time "$GRACE" "$SERVICE" 2>&1 >/dev/null) || status=$?
  if ((status == 0)); then
    agent_line stopped
  else
    log "docker stop: $(one_line "$out")"
    agent_line "stop failed with exit status $status"
  fi
}

# An item is absent (404, curl fails) until EC2 sends its signal. The session token lasts 6 hours:
# renewed every hour.
spot_watch() {
  local sleeper='' rebalanced=0 renewed=$SECONDS notice
  trap 'kill $sleeper 2>/dev/null; exit 0' TERM
  while :; do
    sleep "$SPOT_POLL" &
    sleeper=$!
    wait "$sleeper" || true
    if ((SECONDS - renewed > 3600)) && imds_token; then renewed=$SECONDS; fi
    if notice=$(imds_get meta-data/spot/instance-action 2>/dev/null); then
      drain "$notice"
      return 0
    fi
    if ((!rebalanced)) && imds_get meta-data/events/recommendations/rebalance >/dev/null 2>&1; then
      rebalanced=1
      agent_line "rebalance recommendation"
    fi
  done
}

# The watch: every $WATCH_INTERVAL s, the container's state; the first fault is reported, then it
# ends. The spot watch runs beside it; once that drains the container, the watch ends quietly.
watch() {
  local rounds=$WATCH_ROUNDS window=$SECONDS base=$C_RESTARTS reason sleeper='' spotter=''
  trap 'kill $sleeper $spotter 2>/dev/null; exit 0' TERM
  if [[ $SPOT_POLL != 0 ]]; then
    spot_watch &
    spotter=$!
  fi
  while ((rounds != 0)); do
    if ((rounds > 0)); then rounds=$((rounds - 1)); fi
    sleep "$WATCH_INTERVAL" &
    sleeper=$!
    wait "$sleeper" || true
    reason=''
    if ! inspect_container; then
      reason='container is gone'
    elif [[ $C_HEALTH == unhealthy ]]; then
      reason="health check failing${C_OUTPUT:+: $C_OUTPUT}"
    elif [[ $C_STATUS == exited || $C_STATUS == dead ]]; then
      reason=$(exit_reason)
    elif ((C_RESTARTS - base > MAX_RESTARTS)); then
      reason="container keeps restarting: $(exit_reason)"
    elif ((SECONDS - window > 300)); then
      window=$SECONDS base=$C_RESTARTS
    fi
    # Draining (the spot watch writes DRAINING before docker stop): the container stops on purpose.
    if [[ -e $DRAINING ]]; then break; fi
    if [[ -n $reason ]]; then
      agent_line "unhealthy: $reason"
      report_unhealthy
      break
    fi
  done
  # The spot watch finishes its drain, or ends with the watch (a fault reported, the rounds over).
  if [[ -n $spotter && ! -e $DRAINING ]]; then kill "$spotter" 2>/dev/null || true; fi
  wait
}

start_watch() {
  ((WATCH_ROUNDS != 0)) || return 0
  (
    printf '%s\n' "$BASHPID" >"$RUN/watch.pid"
    watch
    rm -f "$RUN/watch.pid"
  ) </dev/null &
}

start() {
  read_agent_env
  # The trailing slash: the botocore of AWS CLI 2.9 (Debian bookworm) appends "latest/..." as is.
  if [[ -n ${HYPERFORM_IMDS:-} ]]; then export AWS_EC2_METADATA_SERVICE_ENDPOINT="$HYPERFORM_IMDS/"; fi
  retry "reading the instance identity from $IMDS" read_identity || die 3 "instance metadata unavailable"
  install -d -m 0700 "$RUN" "$RUN/docker"
  read_config
  parse_config
  log "service $SERVICE on $INSTANCE_ID, configuration $CONFIG"
  find_group
  trap stop_heartbeats EXIT
  start_heartbeats
  resolve_references
  registry_login
  pull() {
    if ! docker pull --quiet "$IMAGE" 2>"$RUN/pull.err" >/dev/null; then
      cat "$RUN/pull.err" >&2
      return 1
    fi
  }
  if ! retry "pulling $IMAGE" pull; then
    abandon "pull failed: $(one_line "$(tail -n 1 "$RUN/pull.err")")"
    die 8 "cannot pull image $IMAGE"
  fi
  docker rm -f "$SERVICE" >/dev/null 2>&1 || true
  write_secrets || fail_launch 9 "cannot write the secret files"
  write_files || fail_launch 9 "cannot write the repository files"
  mount_volumes
  write_state
  run_container >/dev/null || fail_launch 10 "docker run failed for service $SERVICE"
  log "container $SERVICE started"
  [[ -n $HOOK ]] || return 0
  gate
  stop_heartbeats
  if [[ -n $REASON ]]; then
    abandon "$REASON"
    die 11 "container $SERVICE is not healthy: $REASON"
  fi
  agent_line healthy
  complete_hook CONTINUE
  rm -f "$DRAINING"
  start_watch
}

stop() {
  local line service='' grace='' watcher='' volumes=() v status=0
  # The watch first: a container stopped on purpose is not a fault to report.
  if [[ -r $RUN/watch.pid ]]; then
    watcher=$(<"$RUN/watch.pid")
    if [[ $watcher =~ ^[0-9]+$ ]]; then kill "$watcher" 2>/dev/null || true; fi
    rm -f "$RUN/watch.pid"
  fi
  [[ -r $RUN/state ]] || { log "no container was started"; return 0; }
  while IFS= read -r line; do
    case $line in
      SERVICE=*) service=${line#SERVICE=} ;;
      GRACE=*) grace=${line#GRACE=} ;;
      VOLUME=*) volumes+=("${line#VOLUME=}") ;;
    esac
  done <"$RUN/state"
  [[ -n $service && $grace =~ ^[0-9]+$ ]] || die 2 "$RUN/state is malformed"
  # The stop signal was set at docker run; docker sends SIGKILL after the grace period.
  docker stop --time "$grace" "$service" >/dev/null || status=$?
  # No DetachVolume: the instance's termination releases its volumes.
  for v in "${volumes[@]}"; do "$UMOUNT" "$VOLUMES/$v" || log "cannot unmount $VOLUMES/$v"; done
  return "$status"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) die 2 "usage: hyperform-agent start|stop" ;;
esac
