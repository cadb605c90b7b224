# One image for the three services (and the infra init step); compose picks the command.
# TypeScript runs as is on Node 24 (type stripping): the services need no build step; the
# web client is built by Vite into web/dist.
# NODE_IMAGE: the local stand-in (./chat docker:images) where no image registry is reachable.
ARG NODE_IMAGE=node:24-slim
FROM ${NODE_IMAGE}
WORKDIR /app
COPY package.json package-lock.json ./
COPY platform/package.json platform/
COPY schemas/package.json schemas/
COPY command-service/package.json command-service/
COPY projector/package.json projector/
COPY query-service/package.json query-service/
COPY infra/package.json infra/
COPY test/package.json test/
COPY bench/package.json bench/
COPY web/package.json web/
# kafkajs's fix (patches/), applied by patch-package after the install.
COPY patches/ patches/
RUN npm ci --no-audit --no-fund
COPY . .
# The browser client, which the query service serves at its origin from web/dist.
RUN npm run --silent build -w @chat/web
ENV NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning HOST=0.0.0.0
# Where the compose stacks keep the instances' shared secret: a new volume mounted here takes
# this folder's owner, so init (as node) can write the secret into it.
RUN mkdir -p /run/chat && chown node:node /run/chat && chmod 700 /run/chat
USER node
