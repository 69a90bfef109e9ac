#!/bin/bash
# hyperform-agent: runs this instance's one container from its service configuration, an SSM
# SecureString (the AgentConfig JSON of src/agent/config.ts) read with the instance role.
#
#   hyperform-agent start   read the configuration, resolve references, log in, pull, docker run
#   hyperform-agent stop    docker stop --time <grace> <service>
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
# HYPERFORM_RETRY_DELAY (retries of AWS reads and pulls; first delay in seconds, doubling).
#
# Exit codes: 2 usage or agent.env, 3 instance metadata, 4 configuration unreadable, 5 configuration
# invalid, 6 a reference unresolved, 7 registry login, 8 image pull, 9 secret files, 10 docker run.
set -euo pipefail
umask 077

ETC=${HYPERFORM_ETC:-/etc/hyperform}
# /run is a tmpfs: secret files and the registry login never touch a disk.
RUN=${HYPERFORM_RUN:-/run/hyperform}
IMDS=${HYPERFORM_IMDS:-http://169.254.169.254}
ATTEMPTS=${HYPERFORM_ATTEMPTS:-8}
DELAY=${HYPERFORM_RETRY_DELAY:-2}
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
read_identity() {
  IMDS_TOKEN=$(curl -fsS --connect-timeout 2 --max-time 5 -X PUT \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS/latest/api/token") || return 1
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
  LOG_GROUP='' LOG_REGION='' LOG_PREFIX='' ENTRYPOINT_SET=0 ENTRYPOINT=''
  SEARCH=() PORTS=() ENV_KEYS=() ENV_VALUES=() FROM_KEYS=() FROM_KINDS=() FROM_REFS=() FROM_REGIONS=()
  SECRET_NAMES=() SECRET_TARGETS=() SECRET_MODES=() SECRET_UIDS=() SECRET_GIDS=() SECRET_KINDS=()
  SECRET_REFS=() SECRET_REGIONS=() LOG_OPTIONS=() HEALTH=() REST=()
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
      die 6 "environment variable ${FROM_KEYS[i]}: cannot read ${FROM_REFS[i]}"
    ENV_KEYS+=("${FROM_KEYS[i]}") ENV_VALUES+=("$value")
  done
  SECRET_VALUES=()
  for i in "${!SECRET_NAMES[@]}"; do
    if [[ ${SECRET_KINDS[i]} == value ]]; then
      SECRET_VALUES+=("${SECRET_REFS[i]}")
    else
      resolve "${SECRET_KINDS[i]}" "${SECRET_REFS[i]}" "${SECRET_REGIONS[i]}" value ||
        die 6 "secret ${SECRET_NAMES[i]}: cannot read ${SECRET_REFS[i]}"
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
  retry "logging in to $REGISTRY_HOST" login || die 7 "cannot log in to registry $REGISTRY_HOST"
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

# What `stop` needs, without a configuration read at shutdown: names and a number, no values.
write_state() {
  printf 'SERVICE=%s\nGRACE=%s\n' "$SERVICE" "$GRACE" >"$RUN/state.tmp"
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

start() {
  read_agent_env
  # The trailing slash: the botocore of AWS CLI 2.9 (Debian bookworm) appends "latest/..." as is.
  if [[ -n ${HYPERFORM_IMDS:-} ]]; then export AWS_EC2_METADATA_SERVICE_ENDPOINT="$HYPERFORM_IMDS/"; fi
  retry "reading the instance identity from $IMDS" read_identity || die 3 "instance metadata unavailable"
  install -d -m 0700 "$RUN" "$RUN/docker"
  read_config
  parse_config
  log "service $SERVICE on $INSTANCE_ID, configuration $CONFIG"
  resolve_references
  registry_login
  pull() { docker pull --quiet "$IMAGE" >/dev/null; }
  retry "pulling $IMAGE" pull || die 8 "cannot pull image $IMAGE"
  docker rm -f "$SERVICE" >/dev/null 2>&1 || true
  write_secrets || die 9 "cannot write the secret files"
  write_state
  run_container >/dev/null || die 10 "docker run failed for service $SERVICE"
  log "container $SERVICE started"
}

stop() {
  local line service='' grace=''
  [[ -r $RUN/state ]] || { log "no container was started"; return 0; }
  while IFS= read -r line; do
    case $line in
      SERVICE=*) service=${line#SERVICE=} ;;
      GRACE=*) grace=${line#GRACE=} ;;
    esac
  done <"$RUN/state"
  [[ -n $service && $grace =~ ^[0-9]+$ ]] || die 2 "$RUN/state is malformed"
  # The stop signal was set at docker run; docker sends SIGKILL after the grace period.
  docker stop --time "$grace" "$service" >/dev/null
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) die 2 "usage: hyperform-agent start|stop" ;;
esac
