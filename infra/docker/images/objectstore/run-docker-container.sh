#!/bin/bash
# Writes S3Proxy's properties from the S3PROXY_* and JCLOUDS_* variables the official image
# takes (those set and not empty), the credential from S3PROXY_CREDENTIAL_FILE when it is set,
# then runs S3Proxy in the foreground. The properties file holds the credential: mode 0600.
set -euo pipefail
if [ -n "${S3PROXY_CREDENTIAL_FILE:-}" ]; then
  S3PROXY_CREDENTIAL="$(cat "$S3PROXY_CREDENTIAL_FILE")"
fi
: "${S3PROXY_CREDENTIAL:?set S3PROXY_CREDENTIAL_FILE (or S3PROXY_CREDENTIAL)}"
mkdir -p "$JCLOUDS_FILESYSTEM_BASEDIR"
properties=/tmp/s3proxy.properties
umask 077
: > "$properties"
setting() {
  if [ -n "${2:-}" ]; then printf '%s=%s\n' "$1" "${2//\\/\\\\}" >> "$properties"; fi
}
setting s3proxy.endpoint "${S3PROXY_ENDPOINT:-}"
setting s3proxy.virtual-host "${S3PROXY_VIRTUALHOST:-}"
setting s3proxy.authorization "${S3PROXY_AUTHORIZATION:-}"
setting s3proxy.identity "${S3PROXY_IDENTITY:-}"
setting s3proxy.credential "$S3PROXY_CREDENTIAL"
setting s3proxy.cors-allow-all "${S3PROXY_CORS_ALLOW_ALL:-}"
setting s3proxy.cors-allow-origins "${S3PROXY_CORS_ALLOW_ORIGINS:-}"
setting s3proxy.cors-allow-methods "${S3PROXY_CORS_ALLOW_METHODS:-}"
setting s3proxy.cors-allow-headers "${S3PROXY_CORS_ALLOW_HEADERS:-}"
setting s3proxy.cors-exposed-headers "${S3PROXY_CORS_EXPOSED_HEADERS:-}"
setting s3proxy.ignore-unknown-headers "${S3PROXY_IGNORE_UNKNOWN_HEADERS:-}"
setting s3proxy.v4-max-non-chunked-request-size "${S3PROXY_V4_MAX_NON_CHUNKED_REQ_SIZE:-134217728}"
setting s3proxy.maximum-timeskew "${S3PROXY_MAXIMUM_TIMESKEW:-}"
setting jclouds.provider "${JCLOUDS_PROVIDER:-}"
setting jclouds.endpoint "${JCLOUDS_ENDPOINT:-}"
setting jclouds.region "${JCLOUDS_REGION:-}"
setting jclouds.regions "${JCLOUDS_REGIONS:-}"
setting jclouds.identity "${JCLOUDS_IDENTITY:-}"
setting jclouds.credential "${JCLOUDS_CREDENTIAL:-}"
setting jclouds.filesystem.basedir "$JCLOUDS_FILESYSTEM_BASEDIR"
unset S3PROXY_CREDENTIAL JCLOUDS_CREDENTIAL
exec java ${S3PROXY_JAVA_OPTS:--Xms64m -Xmx256m} -DLOG_LEVEL="${LOG_LEVEL:-info}" \
  -jar /opt/s3proxy/s3proxy.jar --properties "$properties"
