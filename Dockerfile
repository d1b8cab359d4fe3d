# The broker image. Multi-stage; nothing is pulled from a registry:
#  - GO_IMAGE is the host's Go toolchain imported as a local image by
#    hack/images.sh (tar of GOROOT | docker import), there being no golang
#    image to pull;
#  - the build stage is the locally made debian:bookworm-slim;
#  - the final stage is FROM scratch: the static binary (CGO_ENABLED=0), CA
#    certificates, a passwd entry for the non-root user 1001.
# Build: hack/images.sh (make images).
ARG GO_IMAGE=openstack-service-broker/go-toolchain:latest
FROM ${GO_IMAGE} AS go

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=go /go /usr/local/go
ENV PATH=/usr/local/go/bin:$PATH GOPATH=/root/go CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local
# hack/images.sh serves the host's module cache here (see host_goproxy);
# go.sum still verifies every module, so the checksum database is not asked.
ARG GOPROXY=http://127.0.0.1:38081
WORKDIR /src
# Dependencies in their own layer: rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN GOPROXY=$GOPROXY GOSUMDB=off go mod download
COPY . .
ARG BROKER_PKG=./cmd/broker
ARG VERSION=dev
RUN GOPROXY=off go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/usr/bin/broker "$BROKER_PKG" \
 && ln -s broker /out/usr/bin/asbd \
 && mkdir -p /out/etc/ssl/certs /out/etc/ansible-service-broker /out/tmp /out/var/lib/broker \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nbroker:x:1001:0:broker:/var/lib/broker:/sbin/nologin\n' >/out/etc/passwd \
 && printf 'root:x:0:\n' >/out/etc/group \
 && chmod 1777 /out/tmp && chown -R 1001:0 /out/var/lib/broker

FROM scratch
LABEL org.opencontainers.image.title="openstack-service-broker" \
      org.opencontainers.image.description="Open Service Broker for Ansible Playbook Bundles (Automation Broker drop-in)"
COPY --from=build /out/ /
ENV HOME=/var/lib/broker SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 1001
WORKDIR /var/lib/broker
# asbd (Automation Broker's binary name) is a symlink to broker; like
# Automation Broker's entrypoint it reads BROKER_CONFIG when -c is not given
# (default /etc/ansible-service-broker/config.yaml).
ENTRYPOINT ["/usr/bin/asbd"]
