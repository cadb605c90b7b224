#!/bin/bash
# Writes server.properties from the KAFKA_* environment as the official image does
# (strip KAFKA_, lower-case, '___' -> '-', '__' -> '_', '_' -> '.'), formats the storage on
# first start, then runs the broker in the foreground.
set -euo pipefail
config=/opt/kafka/config/server.properties
: > "$config"
while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_VERSION) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key="${name#KAFKA_}"
  key="${key,,}"
  key="${key//___/-}"
  key="${key//__/@}"
  key="${key//_/.}"
  key="${key//@/_}"
  printf '%s=%s\n' "$key" "$value" >> "$config"
done < <(env)
log_dirs="${KAFKA_LOG_DIRS%%,*}"
mkdir -p "$log_dirs"
if [ ! -f "$log_dirs/meta.properties" ]; then
  java -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format --ignore-formatted \
    "--cluster-id=${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$config"
fi
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g} -XX:+UseG1GC ${KAFKA_OPTS:-} \
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties \
  -cp '/opt/kafka/libs/*' kafka.Kafka "$config"
