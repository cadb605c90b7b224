#!/bin/bash
# The official image's tool of the same name, which docker-compose.yml's health check runs.
exec java -Xmx128m -cp '/opt/kafka/libs/*' org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
